package dev.spool;

import static dev.spool.Await.failure;
import static dev.spool.Await.result;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.SpoolException.Code;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class PublishAndReadTest {

  @JUnit5TestKit
  ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  private static final AtomicInteger QUEUES = new AtomicInteger();

  private Spool spool() {
    return Spool.create(testKit.system());
  }

  private String newQueue(Spool spool) {
    String name = "q-" + QUEUES.incrementAndGet();
    result(spool.createQueue(name, QueueSettings.defaults()));
    return name;
  }

  private static List<Message> texts(int n) {
    return IntStream.rangeClosed(1, n).mapToObj(i -> Message.text("t", "m" + i)).toList();
  }

  @Test
  void publishAssignsConsecutiveSequencesAndConsumersReadThemInOrder() {
    Spool spool = spool();
    String q = newQueue(spool);
    QueuePublisher p = spool.createPublisher(q, "p1");
    assertEquals(1L, result(p.publish(Message.text("order.created", "hello"))));
    assertEquals(List.of(2L, 3L, 4L), result(p.publishAll(texts(3))));

    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c"));
    List<Delivery> got = result(c.readBatch(10));
    assertEquals(List.of(1L, 2L, 3L, 4L), got.stream().map(Delivery::sequence).toList());
    Delivery first = got.get(0);
    assertEquals("hello", first.message().payloadAsString());
    assertEquals("order.created", first.message().type());
    assertEquals("p1", first.message().producerId());
    assertEquals(1, first.attempt());
    assertEquals("c", first.consumer());
    assertTrue(first.message().timestamp() > 0);

    assertEquals(4, result(c.acknowledgeBatch(got)));
    ConsumerInfo info = result(c.info());
    assertEquals(4, info.committed());
    assertEquals(0, info.lag());
    assertEquals(DeliveryState.CAUGHT_UP, info.deliveryState());
    assertEquals(4, info.counters().acked());
  }

  @Test
  void consumersAreIndependentAndShareTheSameMessageObjects() {
    Spool spool = spool();
    String q = newQueue(spool);
    result(spool.createPublisher(q, "p").publishAll(texts(5)));
    QueueConsumer a = spool.createConsumer(q, ConsumerSettings.named("a"));
    QueueConsumer b = spool.createConsumer(q, ConsumerSettings.named("b"));
    List<Delivery> fromA = result(a.readBatch(10));
    List<Delivery> fromB = result(b.readBatch(10));
    assertEquals(5, fromA.size());
    assertEquals(5, fromB.size());
    for (int i = 0; i < 5; i++) {
      // fan-out without copying: both consumers hold the very same immutable message
      assertTrue(fromA.get(i).message() == fromB.get(i).message());
    }
  }

  @Test
  void startPositionsEarliestLatestSequenceAndTime() throws Exception {
    Spool spool = spool();
    String q = newQueue(spool);
    QueuePublisher p = spool.createPublisher(q, "p");
    result(p.publishAll(texts(1000)));

    QueueConsumer earliest = spool.createConsumer(q, ConsumerSettings.named("e").startAt(StartPosition.earliest()).prefetch(2000));
    QueueConsumer latest = spool.createConsumer(q, ConsumerSettings.named("l").startAt(StartPosition.latest()));
    QueueConsumer from500 = spool.createConsumer(q, ConsumerSettings.named("s").startAt(StartPosition.sequence(500)).prefetch(2000));

    List<Delivery> all = result(earliest.readBatch(5000));
    assertEquals(1000, all.size());
    assertEquals(1, all.get(0).sequence());
    assertEquals(1000, all.get(999).sequence());
    assertEquals(List.of(), result(latest.readBatch(5000)));
    List<Delivery> tail = result(from500.readBatch(5000));
    assertEquals(501, tail.size());
    assertEquals(500, tail.get(0).sequence());

    Thread.sleep(5);
    Instant cut = Instant.now();
    Thread.sleep(5);
    result(p.publishAll(texts(3)));
    QueueConsumer byTime = spool.createConsumer(q, ConsumerSettings.named("t").startAt(StartPosition.time(cut)));
    assertEquals(List.of(1001L, 1002L, 1003L), result(byTime.readBatch(10)).stream().map(Delivery::sequence).toList());
    // latest sees only what came after it was created
    assertEquals(3, result(latest.readBatch(10)).size());
  }

  @Test
  void startingPastTheEndIsRefusedAndCreatesNothing() {
    Spool spool = spool();
    String q = newQueue(spool);
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("far").startAt(StartPosition.sequence(50)));
    failure(c.ready(), Code.SequenceOutOfRange);
    failure(c.readBatch(1), Code.SequenceOutOfRange);
    assertEquals(List.of(), result(spool.listConsumers(q)));
  }

  @Test
  void duplicateProducerIdsAreAppendedOnceWithinTheWindow() {
    Spool spool = spool();
    String q = newQueue(spool);
    QueuePublisher p = spool.createPublisher(q, "p");
    UUID id = UUID.randomUUID();
    long first = result(p.publish(Message.text("t", "once").withId(id)));
    long again = result(p.publish(Message.text("t", "once").withId(id)));
    assertEquals(first, again);
    // the same id twice inside one batch, next to a fresh message
    UUID other = UUID.randomUUID();
    List<Long> batch = result(p.publishAll(List.of(
        Message.text("t", "x").withId(other), Message.text("t", "y"), Message.text("t", "x").withId(other))));
    assertEquals(batch.get(0), batch.get(2));
    assertEquals(batch.get(0) + 1, batch.get(1));
    QueueStats stats = result(spool.queueStats(q));
    assertEquals(3, stats.published());
    assertEquals(2, stats.duplicates());
    assertEquals(3, stats.depth());
  }

  @Test
  void filtersSkipOtherTypesAndHeadersAndCountThemCommitted() {
    Spool spool = spool();
    String q = newQueue(spool);
    result(spool.createPublisher(q, "p").publishAll(List.of(
        Message.text("order.created", "1").withHeader("region", "eu"),
        Message.text("order.paid", "2").withHeader("region", "eu"),
        Message.text("order.created", "3").withHeader("region", "us"),
        Message.text("order.created", "4").withHeader("region", "eu"))));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("eu-created")
        .filter(MessageFilter.type("order.created").header("region", "eu")));
    List<Delivery> got = result(c.readBatch(10));
    assertEquals(List.of("1", "4"), got.stream().map(d -> d.message().payloadAsString()).toList());
    result(c.acknowledgeBatch(got));
    ConsumerInfo info = result(c.info());
    assertEquals(4, info.committed());
    assertEquals(0, info.lag());
    assertEquals(2, info.counters().filtered());
  }

  @Test
  void acksAreIdempotentAndUnknownSequencesAreReportedNotFailures() {
    Spool spool = spool();
    String q = newQueue(spool);
    result(spool.createPublisher(q, "p").publishAll(texts(3)));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c"));
    List<Delivery> got = result(c.readBatch(2));
    assertEquals(1, result(c.acknowledge(got.get(0))));
    assertEquals(0, result(c.acknowledge(got.get(0))), "acking twice acks nothing new");
    AckResult r = result(c.acknowledgeSequences(List.of(1L, 2L, 3L, 99L)));
    assertEquals(1, r.acked());
    assertEquals(List.of(1L), r.alreadyAcked());
    assertEquals(List.of(3L, 99L), r.unknown(), "3 was never delivered, 99 never existed");
    ConsumerInfo info = result(c.info());
    assertEquals(2, info.committed());
    assertEquals(1, info.lag());
  }

  @Test
  void acknowledgeUpToSettlesEverythingDeliveredBelowIt() {
    Spool spool = spool();
    String q = newQueue(spool);
    result(spool.createPublisher(q, "p").publishAll(texts(10)));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c"));
    result(c.readBatch(6));
    assertEquals(4, result(c.acknowledgeUpTo(4)));
    assertEquals(2, result(c.acknowledgeUpTo(100)), "only delivered sequences are acknowledged");
    ConsumerInfo info = result(c.info());
    assertEquals(6, info.committed());
    assertEquals(4, info.lag());
  }

  @Test
  void ackModeNoneCommitsOnDelivery() {
    Spool spool = spool();
    String q = newQueue(spool);
    result(spool.createPublisher(q, "p").publishAll(texts(5)));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c").ackMode(AckMode.NONE).prefetch(2));
    assertEquals(5, result(c.readBatch(10)).size(), "pull reads in none mode are not bounded by in-flight acks");
    ConsumerInfo info = result(c.info());
    assertEquals(5, info.committed());
    assertEquals(0, info.lag());
    assertEquals(0, info.inFlight());
  }

  @Test
  void prefetchBoundsPullReadsInExplicitMode() {
    Spool spool = spool();
    String q = newQueue(spool);
    result(spool.createPublisher(q, "p").publishAll(texts(10)));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c").prefetch(3));
    List<Delivery> first = result(c.readBatch(10));
    assertEquals(3, first.size());
    assertEquals(List.of(), result(c.readBatch(10)));
    assertEquals(DeliveryState.CREDIT_EXHAUSTED, result(c.info()).deliveryState());
    result(c.acknowledge(first.get(0)));
    assertEquals(List.of(4L), result(c.readBatch(10)).stream().map(Delivery::sequence).toList());
  }

  @Test
  void seekMovesTheCursorAndDropsInFlight() {
    Spool spool = spool();
    String q = newQueue(spool);
    result(spool.createPublisher(q, "p").publishAll(texts(10)));
    result(spool.createConsumer(q, ConsumerSettings.named("holder")).ready()); // keeps 1..10 from being released
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c"));
    result(c.readBatch(5));
    result(c.seek(StartPosition.sequence(8)));
    ConsumerInfo info = result(c.info());
    assertEquals(0, info.inFlight());
    assertEquals(7, info.committed());
    assertEquals(List.of(8L, 9L, 10L), result(c.readBatch(10)).stream().map(Delivery::sequence).toList());
    result(c.seek(StartPosition.earliest()));
    assertEquals(1, result(c.readBatch(1)).get(0).sequence());
    result(c.seek(StartPosition.latest()));
    assertEquals(List.of(), result(c.readBatch(10)));
    failure(c.seek(StartPosition.sequence(500)), Code.SequenceOutOfRange);
  }

  @Test
  void pausedConsumerDeliversNothingAndKeepsItsPosition() {
    Spool spool = spool();
    String q = newQueue(spool);
    result(spool.createPublisher(q, "p").publishAll(texts(3)));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c"));
    result(c.pause());
    assertEquals(List.of(), result(c.readBatch(10)));
    assertEquals(DeliveryState.PAUSED, result(c.info()).deliveryState());
    result(c.resume());
    assertEquals(3, result(c.readBatch(10)).size());
  }

  @Test
  void nackWithRequeueRedeliversWithTheNextAttempt() {
    Spool spool = spool();
    String q = newQueue(spool);
    result(spool.createPublisher(q, "p").publishAll(texts(2)));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c")
        .backoff(dev.spool.Backoff.exponential(Duration.ofMillis(10), Duration.ofMillis(10), 1.0, 0.0)));
    List<Delivery> got = result(c.readBatch(2));
    result(c.nack(got.get(0), true));
    List<Delivery> again = result(c.readBatch(5, Duration.ofSeconds(5)));
    assertEquals(1, again.size());
    assertEquals(1, again.get(0).sequence());
    assertEquals(2, again.get(0).attempt());
    ConsumerInfo info = result(c.info());
    assertEquals(1, info.counters().nacked());
    assertEquals(1, info.counters().redelivered());
  }

  @Test
  void nackWithoutRequeueGivesUpAndCounts() {
    Spool spool = spool();
    String q = newQueue(spool);
    result(spool.createPublisher(q, "p").publishAll(texts(2)));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c"));
    List<Delivery> got = result(c.readBatch(2));
    result(c.nack(got.get(0), false));
    result(c.acknowledge(got.get(1)));
    ConsumerInfo info = result(c.info());
    assertEquals(2, info.committed());
    assertEquals(1, info.counters().dropped());
    assertEquals(1, result(spool.queueStats(q)).dropped());
  }

  @Test
  void lagIsExactAndLagStatisticsCoverEveryConsumer() {
    Spool spool = spool();
    String q = newQueue(spool);
    result(spool.createPublisher(q, "p").publishAll(texts(100)));
    QueueConsumer a = spool.createConsumer(q, ConsumerSettings.named("a"));
    QueueConsumer b = spool.createConsumer(q, ConsumerSettings.named("b"));
    result(a.acknowledgeBatch(result(a.readBatch(40))));
    result(b.ready());
    assertEquals(60L, result(spool.consumerLag(q, "a")));
    assertEquals(100L, result(spool.consumerLag(q, "b")));
    ConsumerInfo bInfo = result(spool.consumerInfo(q, "b"));
    assertTrue(bInfo.lagAgeMs() >= 0);
    assertEquals(DeliveryState.NO_SUBSCRIBERS, bInfo.deliveryState());
    var stats = result(spool.lagStatistics());
    var mine = stats.consumers().stream().filter(l -> l.queue().equals(q)).toList();
    assertEquals(2, mine.size());
    assertTrue(stats.maxLag() >= 100);
  }

  @Test
  void garbageCollectionReleasesOnlyWhatTheSlowestConsumerAcknowledged() {
    Spool spool = spool();
    String q = newQueue(spool);
    int segment = spool.settings().segmentSize();
    QueuePublisher p = spool.createPublisher(q, "p");
    QueueConsumer fast = spool.createConsumer(q, ConsumerSettings.named("fast").prefetch(100_000));
    QueueConsumer slow = spool.createConsumer(q, ConsumerSettings.named("slow").prefetch(100_000));
    List<Message> batch = texts(segment);
    for (int i = 0; i < 3; i++) {
      result(p.publishAll(batch));
    }
    assertEquals(3L * segment, result(spool.queueStats(q)).depth());
    result(fast.acknowledgeBatch(result(fast.readBatch(3 * segment))));
    // the slow consumer has acknowledged nothing: nothing may be freed
    QueueStats held = result(spool.queueStats(q));
    assertEquals(3L * segment, held.depth());
    assertEquals(3, held.segments());

    result(slow.acknowledgeBatch(result(slow.readBatch(segment + 10))));
    QueueStats s = result(spool.queueStats(q));
    assertEquals(2L * segment - 10, s.depth(), "exactly what both acknowledged was released");
    assertEquals(2, s.segments(), "the first segment's slots were freed whole");
    assertEquals(segment + 11, s.firstSequence());
    // everything not yet acknowledged by the slow consumer is still there for it
    List<Delivery> rest = result(slow.readBatch(3 * segment));
    assertEquals(2 * segment - 10, rest.size());
    assertEquals(segment + 11, rest.get(0).sequence());
  }

  @Test
  void aQueueWithNoConsumersKeepsItsMessagesForALaterEarliestConsumer() {
    Spool spool = spool();
    String q = newQueue(spool);
    result(spool.createPublisher(q, "p").publishAll(texts(3000)));
    assertEquals(3000, result(spool.queueStats(q)).depth());
    QueueConsumer late = spool.createConsumer(q, ConsumerSettings.named("late").prefetch(5000));
    assertEquals(3000, result(late.readBatch(5000)).size());
  }

  @Test
  void deletedConsumerCanBeCreatedAgainFromScratch() {
    Spool spool = spool();
    String q = newQueue(spool);
    result(spool.createPublisher(q, "p").publishAll(texts(3)));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c"));
    result(c.acknowledgeBatch(result(c.readBatch(3))));
    result(spool.deleteConsumer(q, "c"));
    failure(spool.consumerInfo(q, "c"), Code.ConsumerNotFound);
    QueueConsumer again = spool.createConsumer(q, ConsumerSettings.named("c"));
    assertEquals(3, result(again.readBatch(3)).size(), "a new consumer starts from its start position");
  }

  @Test
  void deletingAQueueRemovesItAndItsConsumers() {
    Spool spool = spool();
    String q = newQueue(spool);
    result(spool.createConsumer(q, ConsumerSettings.named("c")).ready());
    result(spool.deleteQueue(q));
    failure(spool.queueStats(q), Code.QueueNotFound);
    failure(spool.consumerInfo(q, "c"), Code.QueueNotFound);
    failure(spool.deleteQueue(q), Code.QueueNotFound);
    // and the name is free again
    assertEquals(0, result(spool.createQueue(q, QueueSettings.defaults())).stats().depth());
  }

  @Test
  void theDefaultQueueAlwaysExistsForTheSimpleModel() {
    Spool spool = spool();
    QueuePublisher p = spool.createPublisher("svc");
    QueueConsumer worker = spool.createConsumer("worker-" + QUEUES.incrementAndGet());
    long seq = result(p.publish(Message.text("job", "do it")));
    List<Delivery> got = result(worker.readBatch(10_000));
    assertTrue(got.stream().anyMatch(d -> d.sequence() == seq));
    failure(spool.deleteQueue("default"), Code.InvalidConfiguration);
    List<String> names = new ArrayList<>();
    result(spool.listQueues()).forEach(i -> names.add(i.name()));
    assertTrue(names.contains("default"));
  }
}
