package dev.spool;

import static dev.spool.Await.failure;
import static dev.spool.Await.result;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.SpoolException.Code;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The global memory threshold and per-queue bounds under {@code reject} and {@code drop-oldest}. */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class MemoryTest {

  @JUnit5TestKit
  ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  private static final long MB = 1024 * 1024;
  private static final long THRESHOLD = 50 * MB;
  private static final AtomicInteger QUEUES = new AtomicInteger();

  private Spool spool(long threshold) {
    return Spool.create(testKit.system(), SpoolSettings.create(testKit.system()).withMemoryThresholdBytes(threshold));
  }

  private static String queue(Spool spool, QueueSettings settings) {
    String q = "memory-" + QUEUES.incrementAndGet();
    result(spool.createQueue(q, settings));
    return q;
  }

  private static List<Message> kilobytes(int n) {
    return IntStream.range(0, n).mapToObj(i -> Message.of("t", new byte[1000])).toList();
  }

  /** Publishes until the first QueueFull; returns how many messages were accepted. */
  private static long publishUntilFull(QueuePublisher publisher, List<Message> batch) {
    long accepted = 0;
    while (true) {
      try {
        publisher.publishAll(batch).toCompletableFuture().join();
        accepted += batch.size();
      } catch (CompletionException e) {
        assertEquals(Code.QueueFull, ((SpoolException) e.getCause()).code(), e.getCause().getMessage());
        return accepted;
      }
    }
  }

  @Test
  void rejectKeepsRetainedBytesUnderTheThresholdAndAcceptsAgainOnceConsumersCatchUp() {
    Spool spool = spool(THRESHOLD);
    TestProbe<SpoolEvent> events = Events.probe(testKit);
    String q = queue(spool, QueueSettings.defaults());
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c").prefetch(10_000));
    result(c.ready());
    QueuePublisher publisher = spool.createPublisher(q, "p");
    List<Message> batch = kilobytes(100);
    long batchBytes = batch.stream().mapToLong(m -> m.appended(1, 0, "p").sizeBytes()).sum();

    long accepted = publishUntilFull(publisher, batch);
    MemoryStats full = result(spool.memoryStats());
    assertTrue(full.totalBytes() <= THRESHOLD, "accepted bytes never pass the threshold: " + full.totalBytes());
    assertTrue(full.totalBytes() > THRESHOLD - batchBytes, "it filled up to the threshold: " + full.totalBytes());
    assertEquals(accepted, full.totalMessages());
    assertTrue(full.underPressure());
    assertEquals(THRESHOLD, full.thresholdBytes());
    assertEquals(List.of(new MemoryStats.QueueMemory(q, accepted, full.totalBytes())),
        full.queues().stream().filter(m -> m.queue().equals(q)).toList());
    SpoolEvent.MemoryLow low = Events.next(events, SpoolEvent.MemoryLow.class, e -> e.thresholdBytes() == THRESHOLD);
    assertTrue(low.usedBytes() <= THRESHOLD);

    failure(publisher.publishAll(batch), Code.QueueFull);
    assertEquals(accepted, result(spool.queueStats(q)).depth(), "a refused publish changes nothing");
    assertTrue(result(spool.checkMemoryPressure()), "pressure is found (and garbage collection finds nothing)");
    assertEquals(accepted, result(spool.queueStats(q)).depth(), "nothing unacknowledged was freed");

    long read = 0;
    for (List<Delivery> got = result(c.readBatch(10_000)); !got.isEmpty(); got = result(c.readBatch(10_000))) {
      result(c.acknowledgeBatch(got));
      read += got.size();
    }
    assertEquals(accepted, read);
    SpoolEvent.MemoryNormal normal = Events.next(events, SpoolEvent.MemoryNormal.class,
        e -> e.thresholdBytes() == THRESHOLD);
    assertTrue(normal.usedBytes() < THRESHOLD * 0.8);
    assertEquals(accepted + 100, result(publisher.publishAll(batch)).get(99));
    assertFalse(result(spool.memoryStats()).underPressure());
    assertFalse(result(spool.checkMemoryPressure()));
  }

  @Test
  void dropOldestKeepsTheNewestAndTellsConsumersExactlyHowManyWereDropped() {
    Spool spool = spool(THRESHOLD);
    TestProbe<SpoolEvent> events = Events.probe(testKit);
    String q = queue(spool, QueueSettings.defaults().withOverflow(Overflow.DROP_OLDEST));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c").prefetch(10_000));
    result(c.ready());
    QueuePublisher publisher = spool.createPublisher(q, "p");
    List<Message> batch = kilobytes(100);
    int published = 100_000; // about twice the threshold
    for (int i = 0; i < published / 100; i++) {
      result(publisher.publishAll(batch));
    }
    MemoryStats stats = result(spool.memoryStats());
    assertTrue(stats.totalBytes() <= THRESHOLD, "retained bytes stay under the threshold: " + stats.totalBytes());
    QueueStats queue = result(spool.queueStats(q));
    long dropped = published - queue.depth();
    assertTrue(dropped > 40_000, "about half was dropped: " + dropped);
    assertEquals(dropped, queue.dropped());

    long told = 0;
    while (told < dropped) {
      told += Events.next(events, SpoolEvent.MessagesDropped.class, e -> e.queue().equals(q)).count();
    }
    assertEquals(dropped, told, "the MessagesDropped counts add up exactly");
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertEquals(dropped, result(c.info()).counters().dropped()));

    long expected = dropped + 1; // the newest are kept, in order
    for (List<Delivery> got = result(c.readBatch(10_000)); !got.isEmpty(); got = result(c.readBatch(10_000))) {
      for (Delivery d : got) {
        assertEquals(expected++, d.sequence());
      }
      result(c.acknowledgeBatch(got));
    }
    assertEquals(published + 1, expected);
  }

  @Test
  void perQueueBoundsRejectOrDropOldest() {
    Spool spool = spool(0);
    TestProbe<SpoolEvent> events = Events.probe(testKit);
    String rejecting = queue(spool, QueueSettings.defaults().withMaxLength(1000));
    QueuePublisher toRejecting = spool.createPublisher(rejecting, "p");
    result(toRejecting.publishAll(kilobytes(1000)));
    failure(toRejecting.publish(Message.text("t", "one more")), Code.QueueFull);
    assertEquals(1000, result(spool.queueStats(rejecting)).depth());

    String dropping = queue(spool, QueueSettings.defaults().withMaxLength(1000).withOverflow(Overflow.DROP_OLDEST));
    QueueConsumer c = spool.createConsumer(dropping, ConsumerSettings.named("c"));
    result(c.ready());
    QueuePublisher toDropping = spool.createPublisher(dropping, "p");
    for (int i = 0; i < 25; i++) {
      result(toDropping.publishAll(kilobytes(100)));
    }
    result(toDropping.publishAll(kilobytes(1001)));
    QueueStats stats = result(spool.queueStats(dropping));
    assertEquals(1000, stats.depth(), "a batch larger than the queue keeps its newest");
    assertEquals(2501, stats.dropped());
    long told = 0;
    while (told < 2501) {
      told += Events.next(events, SpoolEvent.MessagesDropped.class, e -> e.queue().equals(dropping)).count();
    }
    assertEquals(2501, told);
    assertEquals(2502, result(c.read()).orElseThrow().sequence());

    String byBytes = queue(spool, QueueSettings.defaults().withMaxBytes(100_000).withOverflow(Overflow.DROP_OLDEST));
    QueuePublisher toBytes = spool.createPublisher(byBytes, "p");
    for (int i = 0; i < 10; i++) {
      result(toBytes.publishAll(kilobytes(50)));
    }
    QueueStats bytes = result(spool.queueStats(byBytes));
    assertTrue(bytes.bytes() <= 100_000, "maxBytes holds: " + bytes.bytes());
    assertEquals(500, bytes.lastSequence());
  }

  @Test
  void evictionForTheQueuesOwnBoundCountsTowardTheGlobalThreshold() {
    long oneMessage = Message.of("t", new byte[1000]).appended(1, 0, "p").sizeBytes();
    Spool spool = spool(100 * oneMessage + oneMessage / 2); // full at 100 messages, not under pressure yet
    String q = queue(spool, QueueSettings.defaults().withMaxLength(100).withOverflow(Overflow.DROP_OLDEST));
    QueuePublisher publisher = spool.createPublisher(q, "p");
    result(publisher.publishAll(kilobytes(100))); // at the queue's bound, and no room for another globally
    result(publisher.publishAll(kilobytes(1)));
    QueueStats stats = result(spool.queueStats(q));
    assertEquals(1, stats.dropped(), "one eviction makes room under both limits");
    assertEquals(100, stats.depth());
  }

  @Test
  void theThresholdCanBeChangedAtRuntimeButNotMadeNegative() {
    Spool spool = spool(0);
    failure(spool.setMemoryThresholdBytes(-1), Code.InvalidConfiguration);
    assertEquals(0, result(spool.memoryStats()).thresholdBytes());
    String q = queue(spool, QueueSettings.defaults());
    result(spool.createPublisher(q, "p").publishAll(kilobytes(100)));
    // Logged under the janitor's own name, so that filtering on dev.spool catches it.
    LoggingTestKit.info("memory threshold set to 50000 bytes").withLoggerName("dev.spool.actor.Janitor")
        .expect(testKit.system(), () -> result(spool.setMemoryThresholdBytes(50_000)));
    assertTrue(result(spool.memoryStats()).underPressure(), "lowering the threshold below what is held is pressure");
    failure(spool.createPublisher(q, "p").publish(Message.text("t", "x")), Code.QueueFull);
    result(spool.setMemoryThresholdBytes(0));
    assertFalse(result(spool.memoryStats()).underPressure());
    assertEquals(101, result(spool.createPublisher(q, "p").publish(Message.text("t", "x"))));
  }
}
