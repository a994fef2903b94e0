package dev.spool.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.BreakerState;
import dev.spool.ConsumerInfo;
import dev.spool.ConsumerSettings;
import dev.spool.DeliveryState;
import dev.spool.QueueHistory;
import dev.spool.QueueStats;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A queue's history ring: deltas and rates between samples, its bound, consumers that come and go. */
class HistoryRecorderTest {

  static final long T0 = 1_700_000_000_000L;

  static QueueStats stats(long depth, long published, long delivered, long deadLettered, long dropped, long expired) {
    return stats(depth, published, delivered, deadLettered, dropped, expired, 0);
  }

  static QueueStats stats(long depth, long published, long delivered, long deadLettered, long dropped, long expired,
      long refused) {
    return new QueueStats(1, published, depth, depth * 1024, 1, published, 0, delivered, 0, 0, expired, dropped,
        deadLettered, 1, 0, 0, depth * 1024, 0, refused);
  }

  static ConsumerInfo consumer(String name, long lag, long lagAgeMs, int inFlight, long delivered, long acked,
      long nacked, long deadLettered, long errors) {
    return new ConsumerInfo("q", name, ConsumerSettings.named(name), 1, 1, lag, lag, lagAgeMs, inFlight, 0,
        DeliveryState.DELIVERING, false, Instant.ofEpochMilli(T0), 1, 0, 0, BreakerState.NONE,
        new ConsumerInfo.Counters(delivered, 0, acked, nacked, 0, 0, 0, deadLettered, errors));
  }

  @Test
  void aSampleHoldsWhatHappenedInItsIntervalAndTheRatesOverIt() {
    HistoryRecorder h = new HistoryRecorder(5_000, 3_600_000, T0);
    assertFalse(h.begin(T0 + 4_400), "not due before nine tenths of an interval");
    assertTrue(h.begin(T0 + 5_000));
    assertFalse(h.begin(T0 + 6_000), "one sample at a time");
    h.record(T0 + 5_000, stats(100, 100, 50, 2, 3, 4, 7), List.of(consumer("c", 50, 1_000, 5, 50, 40, 1, 2, 3)));
    assertTrue(h.begin(T0 + 10_000));
    h.record(T0 + 10_000, stats(80, 150, 150, 2, 13, 4, 7),
        List.of(consumer("c", 30, 2_000, 4, 150, 120, 6, 2, 3)));

    QueueHistory history = h.history("q", 0);
    assertEquals(5_000, history.intervalMs());
    assertEquals(2, history.samples().size());
    QueueHistory.Sample first = history.samples().get(0);
    // The first sample counts from when the queue (and the recorder) started: its totals start at zero with it.
    assertEquals(new QueueHistory.Sample(T0 + 5_000, 100, 100 * 1024, 5, 20.0, 10.0, 2, 3, 4, 7), first);
    QueueHistory.Sample second = history.samples().get(1);
    assertEquals(new QueueHistory.Sample(T0 + 10_000, 80, 80 * 1024, 4, 10.0, 20.0, 0, 10, 0, 0), second);

    List<QueueHistory.ConsumerSample> c = history.consumers().get(0).samples();
    assertEquals(new QueueHistory.ConsumerSample(T0 + 5_000, 50, 1_000, 5, 10.0, 8.0, 1, 2, 3, 0, 0), c.get(0));
    assertEquals(new QueueHistory.ConsumerSample(T0 + 10_000, 30, 2_000, 4, 20.0, 16.0, 5, 0, 0, 0, 0), c.get(1));
  }

  @Test
  void refusedPublishesAreCountedPerInterval() {
    HistoryRecorder h = new HistoryRecorder(1_000, 60_000, T0);
    h.begin(T0 + 1_000);
    h.record(T0 + 1_000, stats(0, 0, 0, 0, 0, 0, 0), List.of());
    h.begin(T0 + 2_000);
    h.record(T0 + 2_000, stats(0, 0, 0, 0, 0, 0, 169), List.of());
    h.begin(T0 + 3_000);
    h.record(T0 + 3_000, stats(0, 0, 0, 0, 0, 0, 170), List.of());
    assertEquals(List.of(0L, 169L, 1L), h.history("q", 0).samples().stream().map(QueueHistory.Sample::refused).toList());
  }

  @Test
  void theRingKeepsRetainOverIntervalSamplesAndForgetsRemovedConsumers() {
    HistoryRecorder h = new HistoryRecorder(5_000, 60_000, T0);
    assertEquals(12, h.capacity());
    for (int i = 1; i <= 1_000; i++) {
      long now = T0 + i * 5_000L;
      assertTrue(h.begin(now));
      List<ConsumerInfo> consumers = i < 900 ? List.of(consumer("a", i, 0, 0, i, i, 0, 0, 0),
          consumer("b", i, 0, 0, i, i, 0, 0, 0)) : List.of(consumer("a", i, 0, 0, i, i, 0, 0, 0));
      h.record(now, stats(i, i, i, 0, 0, 0), consumers);
    }
    QueueHistory history = h.history("q", 0);
    assertEquals(12, history.samples().size(), "the ring does not grow past retain / interval");
    assertEquals(T0 + 1_000 * 5_000L, history.samples().get(11).at(), "the newest is kept");
    assertEquals(T0 + 989 * 5_000L, history.samples().get(0).at(), "the oldest went first");
    assertEquals(List.of("a"), history.consumers().stream().map(QueueHistory.ConsumerHistory::consumer).toList(),
        "a removed consumer's ring goes with it");
    assertEquals(12, history.consumers().get(0).samples().size());

    QueueHistory newer = h.history("q", T0 + 998 * 5_000L);
    assertEquals(2, newer.samples().size(), "only the samples after the given time");
    assertEquals(2, newer.consumers().get(0).samples().size());
  }

  @Test
  void aSampleIsTakenAsOfItsTickAndATickALittleEarlyStillCounts() {
    HistoryRecorder h = new HistoryRecorder(1_000, 60_000, T0);
    assertTrue(h.begin(T0 + 1_000));
    h.record(T0 + 1_040, stats(0, 0, 0, 0, 0, 0), List.of()); // the consumers answered 40 ms after the tick
    assertTrue(h.begin(T0 + 1_995), "due: the last sample counts from its tick, and 5 ms early is a tick's jitter");
    h.record(T0 + 2_010, stats(0, 0, 0, 0, 0, 0), List.of());
    assertEquals(List.of(T0 + 1_000, T0 + 1_995), h.history("q", 0).samples().stream().map(QueueHistory.Sample::at)
        .toList());
  }

  /** An allowance of {@code max} samples over the recorders that share it, counting what they hold. */
  static final class Counting implements HistoryRecorder.Allowance {
    final long max;
    long held;

    Counting(long max) {
      this.max = max;
    }

    @Override
    public boolean grow() {
      if (held >= max) {
        return false;
      }
      held++;
      return true;
    }

    @Override
    public void growAnyway() {
      held++;
    }

    @Override
    public void release(long count) {
      held -= count;
    }
  }

  @Test
  void historiesGrowPastTheirLastMinuteOnlyWhileTheSharedAllowanceLasts() {
    Counting allowance = new Counting(100);
    // 1 s apart, kept 10 min: 600 samples each at most, their last minute (60) whatever the allowance.
    HistoryRecorder a = new HistoryRecorder(1_000, 600_000, T0, allowance);
    HistoryRecorder b = new HistoryRecorder(1_000, 600_000, T0, allowance);
    for (int i = 1; i <= 300; i++) {
      long now = T0 + i * 1_000L;
      a.begin(now);
      a.record(now, stats(i, i, i, 0, 0, 0), List.of(consumer("c", i, 0, 0, i, i, 0, 0, 0)));
      b.begin(now);
      b.record(now, stats(i, i, i, 0, 0, 0), List.of());
    }
    int held = a.history("a", 0).samples().size() + a.history("a", 0).consumers().get(0).samples().size()
        + b.history("b", 0).samples().size();
    assertEquals(held, allowance.held, "the allowance counts every sample held");
    assertTrue(held <= 180 + 100, "each of the three rings keeps its minute, and grows past it within the allowance: "
        + held);
    assertTrue(a.history("a", 0).samples().size() >= 60);
    assertEquals(T0 + 300_000, b.history("b", 0).samples().get(b.history("b", 0).samples().size() - 1).at(),
        "a ring at its bound still takes the newest sample");

    a.begin(T0 + 301_000);
    a.record(T0 + 301_000, stats(0, 0, 0, 0, 0, 0), List.of()); // consumer c is gone
    a.close();
    assertEquals(b.history("b", 0).samples().size(), allowance.held, "a removed consumer and a closed queue give back");
  }

  @Test
  void aSampleThatCouldNotBeTakenIsTriedAgainOnTheNextTick() {
    HistoryRecorder h = new HistoryRecorder(5_000, 60_000, T0);
    assertTrue(h.begin(T0 + 5_000));
    h.abandon();
    assertTrue(h.begin(T0 + 6_000));
  }

  @Test
  void aRetentionShorterThanTheIntervalIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> new HistoryRecorder(5_000, 1_000, T0));
    assertThrows(IllegalArgumentException.class, () -> new HistoryRecorder(0, 1_000, T0));
  }
}
