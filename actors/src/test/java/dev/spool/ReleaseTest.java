package dev.spool;

import static dev.spool.Await.failure;
import static dev.spool.Await.result;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.SpoolException.Code;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Per-message release: a message every consumer has committed past (outside retention) stops
 * counting toward depth, bytes, the queue's bounds and the global threshold at once, not when a
 * whole segment can go; and {@code drop-oldest} never refuses a batch for length.
 */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class ReleaseTest {

  @JUnit5TestKit
  ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  private static final AtomicInteger QUEUES = new AtomicInteger();
  private static final int KIB = 1024;

  private Spool spool(long threshold) {
    return Spool.create(testKit.system(), SpoolSettings.create(testKit.system()).withMemoryThresholdBytes(threshold));
  }

  private static String queue(Spool spool, QueueSettings settings) {
    String q = "release-" + QUEUES.incrementAndGet();
    result(spool.createQueue(q, settings));
    return q;
  }

  private static List<Message> messages(int n, int size) {
    return IntStream.range(0, n).mapToObj(i -> Message.of("t", new byte[size])).toList();
  }

  private static long sizeOf(int payload) {
    return Message.of("t", new byte[payload]).appended(1, 0, "p").sizeBytes();
  }

  /** Reads and acknowledges everything there is; how many. */
  private static long drain(QueueConsumer c) {
    long read = 0;
    for (List<Delivery> got = result(c.readBatch(500)); !got.isEmpty(); got = result(c.readBatch(500))) {
      result(c.acknowledgeBatch(got));
      read += got.size();
    }
    return read;
  }

  @Test
  void aBoundedRejectQueueAcceptsAgainAsSoonAsItsMessagesAreAcknowledged() {
    Spool spool = spool(0);
    String q = queue(spool, QueueSettings.defaults().withMaxLength(10));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c"));
    result(c.ready());
    QueuePublisher publisher = spool.createPublisher(q, "p");
    result(publisher.publishAll(messages(10, KIB)));
    failure(publisher.publish(Message.of("t", new byte[KIB])), Code.QueueFull);
    failure(publisher.publishAll(messages(11, KIB)), Code.MessageTooLarge); // never fits: waiting would not help

    List<Delivery> first = result(c.readBatch(4));
    result(c.acknowledgeBatch(first));
    assertEquals(6, result(spool.queueStats(q)).depth(), "acknowledged messages stop counting at once");
    result(publisher.publishAll(messages(4, KIB)));
    failure(publisher.publish(Message.of("t", new byte[KIB])), Code.QueueFull);

    assertEquals(10, drain(c));
    assertEquals(15, result(publisher.publish(Message.of("t", new byte[KIB]))), "no GC needed first");
    for (int round = 0; round < 5; round++) { // a bound far below a segment recovers again and again
      assertEquals(1, drain(c));
      result(publisher.publishAll(messages(10, KIB)));
      failure(publisher.publish(Message.of("t", new byte[KIB])), Code.QueueFull);
      assertEquals(10, drain(c));
      result(publisher.publish(Message.of("t", new byte[KIB])));
    }
  }

  @Test
  void depthIsZeroOnceEveryConsumerHasAcknowledged() {
    Spool spool = spool(0);
    String q = queue(spool, QueueSettings.defaults());
    QueueConsumer explicit = spool.createConsumer(q, ConsumerSettings.named("explicit"));
    QueueConsumer none = spool.createConsumer(q, ConsumerSettings.named("none").ackMode(AckMode.NONE).prefetch(500));
    result(explicit.ready());
    result(none.ready());
    QueuePublisher publisher = spool.createPublisher(q, "p");
    for (int i = 0; i < 1848 / 88; i++) {
      result(publisher.publishAll(messages(88, KIB)));
    }
    assertEquals(1848, drain(explicit));
    QueueStats half = result(spool.queueStats(q));
    assertEquals(1848, half.depth(), "the other consumer has read nothing yet");

    long read = 0;
    for (List<Delivery> got = result(none.readBatch(300)); !got.isEmpty(); got = result(none.readBatch(300))) {
      read += got.size();
      QueueStats during = result(spool.queueStats(q));
      assertEquals(1848 - read, during.depth(), "released per message as the last consumer passes");
      assertEquals(read + 1, during.firstSequence());
      assertEquals((1848 - read) * sizeOf(KIB), during.bytes());
    }
    assertEquals(1848, read);
    QueueStats done = result(spool.queueStats(q));
    assertEquals(0, done.depth());
    assertEquals(0, done.bytes());
    assertEquals(1849, done.firstSequence());
    assertEquals(1848, done.lastSequence());
    String gone = failure(spool.messageTrace(q, 1), Code.SequenceOutOfRange).getMessage();
    assertTrue(gone.contains("released") && gone.contains("retains nothing; the next message gets 1849"), gone);
    MemoryStats memory = result(spool.memoryStats());
    assertEquals(List.of(new MemoryStats.QueueMemory(q, 0, 0)),
        memory.queues().stream().filter(m -> m.queue().equals(q)).toList());
  }

  @Test
  void retentionKeepsAcknowledgedMessagesAndAQueueWithoutConsumersKeepsEverything() {
    Spool spool = spool(0);
    String retained = queue(spool, QueueSettings.defaults().withRetention(Duration.ofHours(1)));
    QueueConsumer c = spool.createConsumer(retained, ConsumerSettings.named("c"));
    result(c.ready());
    result(spool.createPublisher(retained, "p").publishAll(messages(100, KIB)));
    assertEquals(100, drain(c));
    result(spool.collectGarbage());
    assertEquals(100, result(spool.queueStats(retained)).depth(), "within retention: kept for replay");

    String unread = queue(spool, QueueSettings.defaults());
    result(spool.createPublisher(unread, "p").publishAll(messages(100, KIB)));
    result(spool.collectGarbage());
    assertEquals(100, result(spool.queueStats(unread)).depth());
    QueueConsumer late = spool.createConsumer(unread, ConsumerSettings.named("late"));
    assertEquals(1, result(late.read()).orElseThrow().sequence());
  }

  @Test
  void releasedMessagesStopCountingTowardTheGlobalThreshold() {
    long one = sizeOf(KIB);
    Spool spool = spool(100 * one + one / 2);
    String q = queue(spool, QueueSettings.defaults());
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c"));
    result(c.ready());
    QueuePublisher publisher = spool.createPublisher(q, "p");
    result(publisher.publishAll(messages(100, KIB)));
    failure(publisher.publish(Message.of("t", new byte[KIB])), Code.QueueFull);
    result(c.acknowledgeBatch(result(c.readBatch(30))));
    assertEquals(70 * one, result(spool.memoryStats()).totalBytes());
    result(publisher.publishAll(messages(30, KIB)));
  }

  @ParameterizedTest
  @ValueSource(ints = {50, 200, 1000})
  void dropOldestKeepsExactlyTheNewestOfBatchesOfAnySize(int batch) {
    Spool spool = spool(0);
    TestProbe<SpoolEvent> events = Events.probe(testKit);
    String q = queue(spool, QueueSettings.defaults().withMaxLength(100).withOverflow(Overflow.DROP_OLDEST));
    QueueConsumer a = spool.createConsumer(q, ConsumerSettings.named("a"));
    QueueConsumer b = spool.createConsumer(q, ConsumerSettings.named("b").ackMode(AckMode.NONE));
    result(a.ready());
    result(b.ready());
    QueuePublisher publisher = spool.createPublisher(q, "p");
    List<Long> sequences = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      sequences.addAll(result(publisher.publishAll(messages(batch, KIB))));
    }
    int published = 3 * batch;
    int kept = Math.min(100, published);
    long dropped = published - kept;
    assertEquals(LongList.range(1, published), sequences, "every message got its sequence, the dropped ones too");
    QueueStats stats = result(spool.queueStats(q));
    assertEquals(kept, stats.depth());
    assertEquals(kept * sizeOf(KIB), stats.bytes());
    assertEquals(dropped, stats.dropped());

    java.util.Map<String, Long> told = new java.util.HashMap<>(java.util.Map.of("a", 0L, "b", 0L));
    while (told.get("a") < dropped || told.get("b") < dropped) {
      SpoolEvent.MessagesDropped e = Events.next(events, SpoolEvent.MessagesDropped.class, d -> d.queue().equals(q));
      told.merge(e.consumer(), e.count(), Long::sum);
    }
    assertEquals(java.util.Map.of("a", dropped, "b", dropped), told, "each is told exactly how many were dropped");
    for (QueueConsumer c : List.of(a, b)) {
      assertEquals(dropped, result(c.info()).counters().dropped());
      List<Long> got = new ArrayList<>();
      for (List<Delivery> d = result(c.readBatch(500)); !d.isEmpty(); d = result(c.readBatch(500))) {
        d.forEach(x -> got.add(x.sequence()));
        result(c.acknowledgeBatch(d));
      }
      assertEquals(LongList.range(dropped + 1, published), got, "exactly the newest, in order");
    }
  }

  @Test
  void dropOldestByBytesKeepsTheNewestThatFitAndRefusesOnlyAMessageThatNeverCan() {
    Spool spool = spool(0);
    long one = sizeOf(KIB);
    String q = queue(spool, QueueSettings.defaults().withMaxBytes(10 * one).withOverflow(Overflow.DROP_OLDEST));
    QueuePublisher publisher = spool.createPublisher(q, "p");
    result(publisher.publishAll(messages(5, KIB)));
    List<Long> sequences = result(publisher.publishAll(messages(25, KIB)));
    assertEquals(LongList.range(6, 30), sequences);
    QueueStats stats = result(spool.queueStats(q));
    assertEquals(10, stats.depth(), stats.toString());
    assertEquals(20, stats.dropped());
    assertEquals(21, result(spool.browse(q, 0, 100)).get(0).sequence());

    failure(publisher.publishAll(List.of(Message.of("t", new byte[KIB]), Message.of("t", new byte[11 * KIB]))),
        Code.MessageTooLarge);
    QueueStats after = result(spool.queueStats(q));
    assertEquals(10, after.depth(), "nothing evicted for a message that can never fit");
    assertEquals(30, after.lastSequence());
    assertEquals(20, after.dropped());
  }

  @Test
  void aBatchThatEvictsItsOwnQueueTakesNothingFromOtherQueuesUnderTheThreshold() {
    long one = sizeOf(KIB);
    Spool spool = spool(0);
    String other = queue(spool, QueueSettings.defaults().withOverflow(Overflow.DROP_OLDEST));
    result(spool.createPublisher(other, "p").publishAll(messages(100, KIB)));
    String small = queue(spool, QueueSettings.defaults().withMaxLength(10).withOverflow(Overflow.DROP_OLDEST));
    QueuePublisher publisher = spool.createPublisher(small, "p");
    result(publisher.publishAll(messages(10, KIB)));
    result(spool.setMemoryThresholdBytes(result(spool.memoryStats()).totalBytes() + 30 * one));
    for (int batch : new int[] {50, 5, 200}) {
      result(publisher.publishAll(messages(batch, KIB)));
    }
    assertEquals(10, result(spool.queueStats(small)).depth());
    assertEquals(100, result(spool.queueStats(other)).depth(), "the other queue lost nothing");
    assertEquals(0, result(spool.queueStats(other)).dropped());
    assertTrue(result(spool.memoryStats()).totalBytes() <= result(spool.memoryStats()).thresholdBytes());
    assertTrue(!result(spool.memoryStats()).underPressure(), "the threshold was never reached");
  }

  @Test
  void depthAlwaysEqualsTheUnreleasedMessagesWhilePublishingAckingAndCollecting() throws Exception {
    Spool spool = spool(0);
    String q = queue(spool, QueueSettings.defaults());
    int perProducer = 3_000;
    int producers = 3;
    List<QueueConsumer> consumers = List.of(
        spool.createConsumer(q, ConsumerSettings.named("explicit").prefetch(200)),
        spool.createConsumer(q, ConsumerSettings.named("none").ackMode(AckMode.NONE).prefetch(300)),
        spool.createConsumer(q, ConsumerSettings.named("slow").prefetch(50)));
    consumers.forEach(c -> result(c.ready()));
    long one = sizeOf(KIB);
    AtomicBoolean running = new AtomicBoolean(true);
    List<String> violations = java.util.Collections.synchronizedList(new ArrayList<>());

    List<CompletableFuture<Void>> work = new ArrayList<>();
    for (int p = 0; p < producers; p++) {
      QueuePublisher publisher = spool.createPublisher(q, String.valueOf((char) ('a' + p))); // sized as "p"
      work.add(CompletableFuture.runAsync(() -> {
        for (int i = 0; i < perProducer / 30; i++) {
          result(publisher.publishAll(messages(30, KIB)));
        }
      }));
    }
    for (QueueConsumer c : consumers) {
      work.add(CompletableFuture.runAsync(() -> {
        long read = 0;
        while (read < (long) producers * perProducer) {
          List<Delivery> got = result(c.readBatch(c.name().equals("slow") ? 7 : 100, Duration.ofMillis(50)));
          if (!got.isEmpty() && !c.name().equals("none")) {
            result(c.acknowledgeBatch(got));
          }
          read += got.size();
        }
      }));
    }
    AtomicInteger samples = new AtomicInteger();
    CompletableFuture<Void> checker = CompletableFuture.runAsync(() -> {
      while (running.get()) {
        samples.incrementAndGet();
        long committedBefore = minCommitted(consumers);
        QueueStats s = result(spool.queueStats(q));
        long committedAfter = minCommitted(consumers); // positions only grow: the truth lies between
        long unreleased = s.lastSequence() - s.firstSequence() + 1;
        if (s.depth() != unreleased || s.bytes() != s.depth() * one) {
          violations.add("depth " + s.depth() + " bytes " + s.bytes() + " for sequences " + s.firstSequence() + ".."
              + s.lastSequence());
        }
        if (s.firstSequence() - 1 < committedBefore || s.firstSequence() - 1 > committedAfter) {
          violations.add("released below " + s.firstSequence() + " while every consumer had committed "
              + committedBefore + " (before) to " + committedAfter + " (after)");
        }
        result(spool.collectGarbage());
      }
    });
    CompletableFuture.allOf(work.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);
    running.set(false);
    checker.get(30, TimeUnit.SECONDS);
    assertEquals(List.of(), violations);
    assertTrue(samples.get() >= 10, "the invariant was sampled while the work ran: " + samples.get() + " times");
    QueueStats end = result(spool.queueStats(q));
    assertEquals(0, end.depth());
    assertEquals(0, end.bytes());
    assertEquals((long) producers * perProducer + 1, end.firstSequence());
    assertTrue(result(spool.memoryStats()).totalBytes() >= 0);
  }

  private static long minCommitted(List<QueueConsumer> consumers) {
    return consumers.stream().mapToLong(c -> result(c.info()).committed()).min().orElseThrow();
  }

  /** Expected sequence lists. */
  private static final class LongList {
    static List<Long> range(long first, long last) {
      List<Long> out = new ArrayList<>();
      for (long s = first; s <= last; s++) {
        out.add(s);
      }
      return out;
    }
  }
}
