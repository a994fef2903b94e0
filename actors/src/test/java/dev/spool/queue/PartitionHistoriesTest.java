package dev.spool.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.spool.QueueHistory;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A partitioned queue's history from its partitions': counts summed per slot, levels carried forward. */
class PartitionHistoriesTest {

  static QueueHistory.Sample sample(long at, long depth, long dropped) {
    return new QueueHistory.Sample(at, depth, depth * 1024, 0, 1, 1, 0, dropped, 0, 0);
  }

  static QueueHistory.ConsumerSample consumer(long at, long lag, long lagAgeMs, long nacked) {
    return new QueueHistory.ConsumerSample(at, lag, lagAgeMs, 0, 0, 0, nacked, 0, 0, 0, 0);
  }

  @Test
  void aPartitionThatSampledLaterDoesNotMakeTheLevelsDip() {
    // Partition 0 samples at 5.0 s and 10.0 s; partition 1 at 5.1 s only (its 10 s sample not taken yet).
    QueueHistory p0 = new QueueHistory("q#0", 5_000, 60_000, List.of(sample(5_000, 10, 2), sample(10_000, 12, 3)),
        List.of(new QueueHistory.ConsumerHistory("c", List.of(consumer(5_000, 10, 100, 1), consumer(10_000, 12, 200,
            1)))));
    QueueHistory p1 = new QueueHistory("q#1", 5_000, 60_000, List.of(sample(5_100, 20, 5)),
        List.of(new QueueHistory.ConsumerHistory("c", List.of(consumer(5_100, 20, 900, 4)))));
    QueueHistory merged = PartitionHistories.merge("q", List.of(p0, p1));

    assertEquals("q", merged.queue());
    assertEquals(List.of(5_100L, 10_000L), merged.samples().stream().map(QueueHistory.Sample::at).toList());
    assertEquals(List.of(30L, 32L), merged.samples().stream().map(QueueHistory.Sample::depth).toList(),
        "partition 1's last depth counts in the slot it has not sampled yet");
    assertEquals(List.of(7L, 3L), merged.samples().stream().map(QueueHistory.Sample::dropped).toList(),
        "counts are summed over the partitions that sampled in the slot");
    List<QueueHistory.ConsumerSample> c = merged.consumers().get(0).samples();
    assertEquals(List.of(30L, 32L), c.stream().map(QueueHistory.ConsumerSample::lag).toList());
    assertEquals(List.of(900L, 900L), c.stream().map(QueueHistory.ConsumerSample::lagAgeMs).toList(),
        "a consumer's lag age is its oldest partition's");
    assertEquals(List.of(5L, 1L), c.stream().map(QueueHistory.ConsumerSample::nacked).toList());
  }
}
