package dev.spool.durable;

import static dev.spool.Await.failure;
import static dev.spool.Await.result;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.ConsumerSettings;
import dev.spool.Delivery;
import dev.spool.Durability;
import dev.spool.Message;
import dev.spool.Overflow;
import dev.spool.QueueConsumer;
import dev.spool.QueuePublisher;
import dev.spool.QueueSettings;
import dev.spool.QueueStats;
import dev.spool.Spool;
import dev.spool.SpoolException.Code;
import dev.spool.SpoolSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Per-message release and drop-oldest batches on a durable queue: what was released stays released
 * after a restart, and a batch larger than the queue keeps its newest messages there too.
 */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class DurableReleaseTest {

  @JUnit5TestKit
  ActorTestKit testKit = new JUnit5TestKitBuilder().withCustomConfig(TestJournal.config("")).build();

  private static final AtomicInteger REGISTRIES = new AtomicInteger();

  private Spool engine(String registry) {
    SpoolSettings base = SpoolSettings.create(testKit.system());
    return Spool.create(testKit.system(), base.withPersistence(base.persistence().withRegistry(registry)));
  }

  private Spool restart(Spool spool, String registry) {
    var manager = spool.queueManager();
    result(spool.shutdown());
    testKit.createTestProbe().expectTerminated(manager, Duration.ofSeconds(10));
    Spool next = engine(registry);
    result(next.ready(), 20);
    return next;
  }

  private static List<Message> kilobytes(int n) {
    return IntStream.range(0, n).mapToObj(i -> Message.of("t", new byte[1024])).toList();
  }

  private static List<Long> sequencesOf(QueueConsumer c) {
    List<Long> got = new ArrayList<>();
    for (List<Delivery> d = result(c.readBatch(500)); !d.isEmpty(); d = result(c.readBatch(500))) {
      d.forEach(x -> got.add(x.sequence()));
      result(c.acknowledgeBatch(d));
    }
    return got;
  }

  @Test
  void aConsumedBoundedQueueAcceptsAgainAndStaysReleasedAfterARestart() {
    String registry = "release-" + REGISTRIES.incrementAndGet();
    Spool spool = engine(registry);
    result(spool.ready());
    result(spool.createQueue("bounded", QueueSettings.defaults().withDurability(Durability.PERSISTENT).withMaxLength(10)));
    QueueConsumer c = spool.createConsumer("bounded", ConsumerSettings.named("c"));
    result(c.ready());
    QueuePublisher publisher = spool.createPublisher("bounded", "p");
    result(publisher.publishAll(kilobytes(10)));
    failure(publisher.publish(Message.of("t", new byte[1024])), Code.QueueFull);
    assertEquals(10, sequencesOf(c).size());
    assertEquals(List.of(11L, 12L, 13L), result(publisher.publishAll(kilobytes(3))), "accepted with no GC first");
    QueueStats before = result(spool.queueStats("bounded"));
    assertEquals(3, before.depth());
    assertEquals(11, before.firstSequence());

    spool = restart(spool, registry);
    QueueStats after = result(spool.queueStats("bounded"));
    assertEquals(3, after.depth(), "what was released before the restart is not back");
    assertEquals(11, after.firstSequence());
    assertEquals(13, after.lastSequence());
    assertEquals(List.of(11L, 12L, 13L), sequencesOf(spool.consumer("bounded", "c")));
    assertEquals(0, result(spool.queueStats("bounded")).depth());
  }

  @Test
  void dropOldestKeepsTheNewestOfALargeBatchAcrossARestart() {
    String registry = "release-" + REGISTRIES.incrementAndGet();
    Spool spool = engine(registry);
    result(spool.ready());
    result(spool.createQueue("recent", QueueSettings.defaults().withDurability(Durability.PERSISTENT)
        .withMaxLength(100).withOverflow(Overflow.DROP_OLDEST)));
    QueueConsumer c = spool.createConsumer("recent", ConsumerSettings.named("c"));
    result(c.ready());
    QueuePublisher publisher = spool.createPublisher("recent", "p");
    result(publisher.publishAll(kilobytes(60)));
    List<Long> sequences = result(publisher.publishAll(kilobytes(200)));
    assertEquals(61, sequences.get(0));
    assertEquals(260, sequences.get(199));
    QueueStats stats = result(spool.queueStats("recent"));
    assertEquals(100, stats.depth());
    assertEquals(160, stats.dropped());
    assertEquals(160, result(c.info()).counters().dropped());

    spool = restart(spool, registry);
    assertEquals(100, result(spool.queueStats("recent")).depth());
    List<Long> expected = new ArrayList<>();
    for (long s = 161; s <= 260; s++) {
      expected.add(s);
    }
    assertEquals(expected, sequencesOf(spool.consumer("recent", "c")));
  }

  @Test
  void aDurableBatchThatEvictsItsOwnQueueTakesNothingFromOtherQueues() {
    String registry = "release-" + REGISTRIES.incrementAndGet();
    Spool spool = engine(registry);
    result(spool.ready());
    result(spool.createQueue("other", QueueSettings.defaults().withOverflow(Overflow.DROP_OLDEST)));
    result(spool.createPublisher("other", "p").publishAll(kilobytes(100)));
    result(spool.createQueue("small", QueueSettings.defaults().withDurability(Durability.PERSISTENT)
        .withMaxLength(10).withOverflow(Overflow.DROP_OLDEST)));
    QueuePublisher publisher = spool.createPublisher("small", "p");
    result(publisher.publishAll(kilobytes(10)));
    long one = result(spool.queueStats("small")).bytes() / 10;
    result(spool.setMemoryThresholdBytes(result(spool.memoryStats()).totalBytes() + 5 * one));
    for (int batch : new int[] {50, 5, 200}) {
      result(publisher.publishAll(kilobytes(batch)));
    }
    long depth = result(spool.queueStats("small")).depth();
    assertTrue(depth > 0 && depth <= 10, "the newest that fit beside the others: " + depth);
    QueueStats other = result(spool.queueStats("other"));
    assertEquals(100, other.depth(), "the other queue lost nothing");
    assertEquals(0, other.dropped());
  }
}
