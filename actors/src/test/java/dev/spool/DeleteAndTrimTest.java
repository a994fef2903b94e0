package dev.spool;

import static dev.spool.Await.failure;
import static dev.spool.Await.result;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.SpoolException.Code;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Deleting chosen messages and trimming a queue: what goes stops counting at once (depth, bytes,
 * memory, every consumer's lag), a consumer never gets it (again), an ack of one it held in flight
 * is answered, and bad input changes nothing.
 */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class DeleteAndTrimTest {

  @JUnit5TestKit
  ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  private static final AtomicInteger QUEUES = new AtomicInteger();
  private static final int KIB = 1024;

  private Spool spool() {
    return Spool.create(testKit.system());
  }

  private static String queue(Spool spool, QueueSettings settings) {
    String q = "delete-" + QUEUES.incrementAndGet();
    result(spool.createQueue(q, settings));
    return q;
  }

  private static List<Long> publish(Spool spool, String q, int n) {
    return result(spool.createPublisher(q, "p").publishAll(
        IntStream.range(0, n).mapToObj(i -> Message.of("t", new byte[KIB])).toList()));
  }

  private static List<Long> sequences(List<Delivery> deliveries) {
    return deliveries.stream().map(Delivery::sequence).toList();
  }

  private static List<Long> browsed(Spool spool, String q) {
    return result(spool.browse(q, 1, 1000)).stream().map(Message::sequence).toList();
  }

  private static List<Long> range(long from, long to) {
    return LongStream.rangeClosed(from, to).boxed().toList();
  }

  @Test
  void deletesInTheMiddleFirstAndLastAndCountsOnlyWhatWasThere() {
    Spool spool = spool();
    String q = queue(spool, QueueSettings.defaults());
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c"));
    result(c.ready());
    publish(spool, q, 10);
    long one = result(spool.queueStats(q)).bytes() / 10;

    assertEquals(1, result(spool.deleteMessages(q, List.of(5L))), "in the middle");
    assertEquals(2, result(spool.deleteMessages(q, List.of(1L, 10L))), "the first and the last");
    assertEquals(0, result(spool.deleteMessages(q, List.of(5L, 11L, 0L, -3L, Long.MAX_VALUE))),
        "twice, not appended yet, out of range: nothing");
    assertEquals(1, result(spool.deleteMessages(q, List.of(7L, 7L, 7L))), "a sequence given twice counts once");

    assertEquals(List.of(2L, 3L, 4L, 6L, 8L, 9L), browsed(spool, q));
    QueueStats stats = result(spool.queueStats(q));
    assertEquals(6, stats.depth());
    assertEquals(6 * one, stats.bytes());
    assertEquals(6 * one, stats.memoryBytes(), "their memory is given back");
    assertEquals(10, stats.lastSequence(), "sequences are never reused");
    assertEquals(4, stats.dropped(), "deleted messages count as dropped, as purged ones do");
    assertEquals(6, result(c.info()).lag(), "lag counts the six left, not last − committed = 10");

    List<Delivery> got = result(c.readBatch(100));
    assertEquals(List.of(2L, 3L, 4L, 6L, 8L, 9L), sequences(got), "a deleted message is never delivered");
    result(c.acknowledgeBatch(got));
    ConsumerInfo info = result(c.info());
    assertEquals(0, info.lag());
    assertEquals(4, info.counters().dropped(), "it had not acknowledged them");
    assertEquals(0, result(spool.queueStats(q)).depth());
    assertEquals(11, result(spool.createPublisher(q, "p").publish(Message.text("t", "next"))));
  }

  @Test
  void aMessageDeletedInFlightIsWithdrawnNeverRedeliveredAndItsAckIsAnsweredAsSettled() {
    Spool spool = spool();
    String q = queue(spool, QueueSettings.defaults());
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c").ackTimeout(Duration.ofMillis(200)));
    result(c.ready());
    TestProbe<SpoolEvent> events = Events.probe(testKit);
    publish(spool, q, 3);
    assertEquals(List.of(1L, 2L, 3L), sequences(result(c.readBatch(3))));

    assertEquals(1, result(spool.deleteMessages(q, List.of(2L))));
    SpoolEvent.MessagesDropped dropped = Events.next(events, SpoolEvent.MessagesDropped.class,
        e -> e.queue().equals(q));
    assertEquals(List.of(1L, 2L, 2L), List.of(dropped.count(), dropped.firstSequence(), dropped.lastSequence()));
    assertEquals(2, result(c.info()).inFlight(), "withdrawn from flight");

    AckResult first = result(c.acknowledgeSequences(List.of(1L, 3L)));
    assertEquals(2, first.acked());
    // Past its ack deadline: a deleted message is not redelivered.
    assertEquals(List.of(), result(c.readBatch(10, Duration.ofMillis(700))));
    AckResult late = result(c.acknowledgeSequences(List.of(2L)));
    assertEquals(new AckResult(0, List.of(2L), List.of()), late, "answered like an expired one: settled already");

    ConsumerInfo info = result(c.info());
    assertEquals(3, info.committed());
    assertEquals(0, info.lag());
    assertEquals(0, info.inFlight());
    assertEquals(0, result(spool.queueStats(q)).depth());
  }

  @Test
  void lagAndDepthStayExactWithDeletionsAboveAndBelowTheCursor() {
    Spool spool = spool();
    String q = queue(spool, QueueSettings.defaults());
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c"));
    QueueConsumer idle = spool.createConsumer(q, ConsumerSettings.named("idle"));
    result(c.ready());
    result(idle.ready());
    publish(spool, q, 20);
    List<Delivery> got = result(c.readBatch(5));
    result(c.acknowledgeBatch(got.subList(0, 2)));
    result(c.acknowledgeSequences(List.of(5L))); // out of order: still counted above committed

    assertEquals(4, result(spool.deleteMessages(q, List.of(4L, 10L, 15L, 20L))));

    ConsumerInfo info = result(c.info());
    assertEquals(2, info.committed());
    assertEquals(20, info.lastSequence());
    assertEquals(14, info.lag(), "3..20 is 18, less the 4 deleted");
    assertEquals(16, result(idle.info()).lag());
    assertEquals(16, result(spool.consumerLag(q, "idle")));
    assertEquals(16, result(spool.queueStats(q)).depth(), "1 and 2 stay for idle");

    result(c.acknowledgeSequences(List.of(3L)));
    assertEquals(12, result(c.info()).lag(), "committed moves past the deleted 4: 6..20 less 10, 15, 20");
    assertEquals(List.of(6L, 7L, 8L, 9L, 11L, 12L, 13L, 14L, 16L, 17L, 18L, 19L), sequences(result(c.readBatch(100))));
  }

  @Test
  void trimsToALengthAndBelowASequence() {
    Spool spool = spool();
    String q = queue(spool, QueueSettings.defaults());
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c"));
    result(c.ready());
    publish(spool, q, 10);
    long one = result(spool.queueStats(q)).bytes() / 10;
    assertEquals(List.of(1L, 2L), sequences(result(c.readBatch(2))));

    assertEquals(4, result(spool.trim(q, 6)), "1 to 4 go, two of them in flight");
    assertEquals(range(5, 10), browsed(spool, q));
    assertEquals(6, result(c.info()).lag());
    assertEquals(0, result(c.info()).inFlight());
    assertEquals(0, result(spool.trim(q, 6)), "short enough already");
    assertEquals(2, result(spool.trimBelow(q, 7)));
    assertEquals(0, result(spool.trimBelow(q, 3)), "nothing that low is left");
    assertEquals(1, result(spool.deleteMessages(q, List.of(8L))));
    assertEquals(1, result(spool.trim(q, 2)), "7 goes; 8 was deleted already");

    QueueStats stats = result(spool.queueStats(q));
    assertEquals(2, stats.depth());
    assertEquals(2 * one, stats.bytes());
    // The log frees a removed message once its consumers have passed it: the consumer hears of the
    // removal and reports its progress after the trim has answered.
    org.awaitility.Awaitility.await("the log lets go of what was trimmed").atMost(Duration.ofSeconds(10))
        .until(() -> result(spool.queueStats(q)).firstSequence() == 9);
    assertEquals(2, result(c.info()).lag());
    assertEquals(List.of(9L, 10L), sequences(result(c.readBatch(10))));
    assertEquals(2, result(spool.trim(q, 0)), "to nothing: in flight too");
    assertEquals(0, result(spool.queueStats(q)).depth());
    assertEquals(0, result(c.info()).lag());
  }

  @Test
  void badInputIsRefusedAndChangesNothing() {
    Spool spool = spool();
    String q = queue(spool, QueueSettings.defaults());
    publish(spool, q, 3);
    List<Long> tooMany = range(1, Spool.MAX_DELETE_SELECTION + 1);

    failure(spool.deleteMessages(q, null), Code.InvalidConfiguration);
    failure(spool.deleteMessages(q, List.of()), Code.InvalidConfiguration);
    failure(spool.deleteMessages(q, Arrays.asList(1L, null)), Code.InvalidConfiguration);
    SpoolException large = failure(spool.deleteMessages(q, tooMany), Code.InvalidConfiguration);
    assertTrue(large.getMessage().contains("10000"), large.getMessage());
    failure(spool.trim(q, -1), Code.InvalidConfiguration);
    failure(spool.deleteMessages("no-such-queue", List.of(1L)), Code.QueueNotFound);
    failure(spool.trim("no-such-queue", 0), Code.QueueNotFound);
    failure(spool.trimBelow("no-such-queue", 5), Code.QueueNotFound);

    assertEquals(List.of(1L, 2L, 3L), browsed(spool, q));
    assertEquals(3, result(spool.queueStats(q)).depth());
    assertEquals(3, result(spool.deleteMessages(q, range(1, Spool.MAX_DELETE_SELECTION))), "the bound itself is taken");
  }

  @Test
  void aPartitionedQueueDeletesInEachPartitionAndTrimsBelowButNotToALength() {
    Spool spool = spool();
    String q = queue(spool, QueueSettings.defaults().withPartitions(3));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c"));
    result(c.ready());
    List<Long> published = new ArrayList<>();
    QueuePublisher p = spool.createPublisher(q, "p");
    for (int i = 0; i < 12; i++) {
      published.add(result(p.publish(Message.text("t", "m" + i).withKey("k" + i))));
    }
    List<Long> sorted = published.stream().sorted().toList();

    List<Long> deleted = List.of(sorted.get(0), sorted.get(5), sorted.get(11));
    assertEquals(3, result(spool.deleteMessages(q, List.of(sorted.get(0), sorted.get(5), sorted.get(11), -1L))));
    assertEquals(0, result(spool.deleteMessages(q, deleted)));
    assertEquals(9, result(spool.queueStats(q)).depth());
    assertEquals(9, result(c.info()).lag());

    long below = sorted.get(4);
    long trimmed = sorted.stream().filter(s -> s < below && !deleted.contains(s)).count();
    assertEquals(trimmed, result(spool.trimBelow(q, below)));
    Set<Long> left = new HashSet<>(sorted.stream().filter(s -> s >= below && !deleted.contains(s)).toList());
    assertEquals(left, new HashSet<>(browsed(spool, q)));
    SpoolException refused = failure(spool.trim(q, 2), Code.InvalidConfiguration);
    assertTrue(refused.getMessage().contains("partitioned"), refused.getMessage());
    assertEquals(left.size(), result(spool.queueStats(q)).depth(), "the refused trim changed nothing");

    List<Delivery> got = result(c.readBatch(100, Duration.ofSeconds(1)));
    assertEquals(left, new HashSet<>(sequences(got)));
    assertEquals(left.size(), result(c.info()).lag());
  }

  /**
   * Two publishers, a deleter and a consumer reading and acknowledging, on four threads: each
   * published message is delivered or deleted, none is delivered by a read made after its deletion
   * was confirmed, and in the end nothing is left and nothing counts as lag.
   */
  @Test
  void deletionsRacingPublishesAndAConsumerLoseNothingElse() throws Exception {
    Spool spool = spool();
    String q = queue(spool, QueueSettings.defaults());
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c").prefetch(200));
    result(c.ready());
    int perPublisher = 1500;
    List<Long> published = java.util.Collections.synchronizedList(new ArrayList<>());
    Map<Long, Long> deletedAt = new ConcurrentHashMap<>();
    Map<Long, Long> readStartedAt = new ConcurrentHashMap<>(); // the latest read that delivered each
    AtomicBoolean publishing = new AtomicBoolean(true);
    AtomicInteger publishersLeft = new AtomicInteger(2);
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<?>> work = new ArrayList<>();
      for (int t = 0; t < 2; t++) {
        QueuePublisher p = spool.createPublisher(q, "p" + t);
        work.add(pool.submit(() -> {
          for (int sent = 0; sent < perPublisher; sent += 10) {
            published.addAll(result(p.publishAll(IntStream.range(0, 10)
                .mapToObj(i -> Message.of("t", new byte[KIB])).toList())));
          }
          if (publishersLeft.decrementAndGet() == 0) {
            publishing.set(false);
          }
        }));
      }
      AtomicBoolean deleting = new AtomicBoolean(true);
      work.add(pool.submit(() -> {
        // Mostly among the newest messages, which the consumer may not have read yet or holds in flight.
        Random random = new Random(11);
        Set<Long> tried = new HashSet<>();
        for (int attempts = 0; attempts < 400 || publishing.get(); attempts++) {
          long s;
          synchronized (published) {
            if (published.isEmpty()) {
              continue;
            }
            int newest = Math.min(published.size(), 40);
            s = published.get(random.nextInt(10) == 0
                ? random.nextInt(published.size()) : published.size() - 1 - random.nextInt(newest));
          }
          if (tried.add(s) && result(spool.deleteMessages(q, List.of(s))) == 1) {
            deletedAt.put(s, System.nanoTime());
          }
        }
        deleting.set(false);
      }));
      work.add(pool.submit(() -> {
        // Each batch is acknowledged only after the next is read: deletions also hit messages in flight.
        List<Delivery> held = List.of();
        while (publishing.get() || deleting.get() || !held.isEmpty() || result(c.info()).lag() > 0) {
          long started = System.nanoTime();
          List<Delivery> got = result(c.readBatch(50, Duration.ofMillis(50)));
          got.forEach(d -> readStartedAt.put(d.sequence(), started));
          if (!held.isEmpty()) {
            result(c.acknowledgeBatch(held));
          }
          held = got;
        }
      }));
      for (Future<?> f : work) {
        f.get(120, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }

    assertEquals(2 * perPublisher, published.size());
    assertTrue(deletedAt.size() >= 10, "deletions took part: " + deletedAt.size());
    for (long s : published) {
      assertTrue(readStartedAt.containsKey(s) || deletedAt.containsKey(s), "sequence " + s + " was lost");
      Long deleted = deletedAt.get(s);
      Long read = readStartedAt.get(s);
      assertTrue(deleted == null || read == null || read < deleted,
          "sequence " + s + " was delivered by a read made after its deletion was confirmed");
    }
    QueueStats stats = result(spool.queueStats(q));
    assertEquals(0, stats.depth());
    assertEquals(0, stats.bytes());
    assertEquals(0, result(c.info()).lag());
  }
}
