package dev.spool;

import static dev.spool.Await.result;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Push delivery to actor subscribers and streams: prefetch bounds, sharing, late joiners, detaching. */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class SubscribersTest {

  @JUnit5TestKit
  ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  private static final AtomicInteger QUEUES = new AtomicInteger();

  private String newQueue(Spool spool) {
    String q = "subs-" + QUEUES.incrementAndGet();
    result(spool.createQueue(q, QueueSettings.defaults()));
    return q;
  }

  private static List<Message> texts(int n) {
    return IntStream.rangeClosed(1, n).mapToObj(i -> Message.text("t", "m" + i)).toList();
  }

  @Test
  void anActorSubscriberNeverHoldsMoreThanPrefetchUnacked() {
    Spool spool = Spool.create(testKit.system());
    String q = newQueue(spool);
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c").prefetch(10));
    TestProbe<Delivery> probe = testKit.createTestProbe();
    result(c.subscribe(probe.getRef()));
    result(spool.createPublisher(q, "p").publishAll(texts(1000)));
    List<Delivery> first = probe.receiveSeveralMessages(10);
    probe.expectNoMessage(Duration.ofMillis(300));
    result(c.acknowledgeBatch(first.subList(0, 5)));
    List<Delivery> more = probe.receiveSeveralMessages(5);
    assertEquals(11, more.get(0).sequence());
    probe.expectNoMessage(Duration.ofMillis(300));
    assertEquals(10, result(c.info()).inFlight());
  }

  @Test
  void inAckModeNoneAcksReturnCreditToActorSubscribers() {
    Spool spool = Spool.create(testKit.system());
    String q = newQueue(spool);
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c").ackMode(AckMode.NONE).prefetch(4));
    TestProbe<Delivery> probe = testKit.createTestProbe();
    result(c.subscribe(probe.getRef()));
    result(spool.createPublisher(q, "p").publishAll(texts(100)));
    List<Delivery> first = probe.receiveSeveralMessages(4);
    probe.expectNoMessage(Duration.ofMillis(200));
    assertEquals(4, result(c.info()).committed(), "none mode commits on delivery");
    result(c.acknowledgeBatch(first));
    probe.receiveSeveralMessages(4);
  }

  @Test
  void prefetchHoldsWhateverThePublishRate() throws Exception {
    Spool spool = Spool.create(testKit.system());
    String q = newQueue(spool);
    int prefetch = 25;
    int total = 20_000;
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c").prefetch(prefetch));
    AtomicInteger held = new AtomicInteger();
    AtomicInteger maxHeld = new AtomicInteger();
    AtomicLong received = new AtomicLong();
    ActorRef<Delivery> subscriber = testKit.spawn(Behaviors.receiveMessage(d -> {
      // counted until the ack is confirmed: an upper bound of what the consumer sees in flight
      maxHeld.accumulateAndGet(held.incrementAndGet(), Math::max);
      received.incrementAndGet();
      c.acknowledge(d).thenRun(held::decrementAndGet);
      return Behaviors.same();
    }));
    result(c.subscribe(subscriber));
    List<CompletableFuture<?>> producers = new ArrayList<>();
    for (int p = 0; p < 4; p++) {
      QueuePublisher publisher = spool.createPublisher(q, "p" + p);
      producers.add(Source.range(1, total / 4).map(i -> Message.text("t", "x"))
          .runWith(publisher.sink(), testKit.system()).toCompletableFuture());
    }
    CompletableFuture.allOf(producers.toArray(CompletableFuture[]::new)).get();
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> received.get() == total);
    assertTrue(maxHeld.get() <= prefetch, "held " + maxHeld.get() + " > prefetch " + prefetch);
    assertTrue(maxHeld.get() > 1, "the subscriber was actually pipelined");
  }

  @Test
  void aStreamThatDoesNotAckReceivesExactlyPrefetch() {
    Spool spool = Spool.create(testKit.system());
    String q = newQueue(spool);
    result(spool.createPublisher(q, "p").publishAll(texts(500)));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c").prefetch(50));
    List<Delivery> got = result(c.source().takeWithin(Duration.ofMillis(700)).runWith(Sink.seq(), testKit.system()));
    assertEquals(50, got.size());
    assertEquals(50, got.get(49).sequence());
  }

  @Test
  void aLateJoiningStreamStartsAtEarliestThenFollowsLiveMessages() {
    Spool spool = Spool.create(testKit.system());
    String q = newQueue(spool);
    QueuePublisher p = spool.createPublisher(q, "p");
    result(p.publishAll(texts(2000)));
    QueueConsumer late = spool.createConsumer(q, ConsumerSettings.named("late").ackMode(AckMode.NONE)
        .startAt(StartPosition.earliest()));
    CompletionStage<List<Delivery>> all = late.source().take(2010).runWith(Sink.seq(), testKit.system());
    org.awaitility.Awaitility.await().until(() -> result(late.info()).committed() == 2000);
    result(p.publishAll(texts(10)));
    List<Delivery> got = result(all);
    for (int i = 0; i < 2010; i++) {
      assertEquals(i + 1, got.get(i).sequence());
    }
  }

  @Test
  void batchesHandOutEveryMessageInOrderWithinTheBatchBoundAndTheAcksSettleThem() {
    Spool spool = Spool.create(testKit.system());
    String q = newQueue(spool);
    QueuePublisher p = spool.createPublisher(q, "p");
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c").prefetch(1000));
    int total = 5000;
    AtomicInteger seen = new AtomicInteger();
    CompletionStage<List<List<Delivery>>> got = c.batches()
        .mapAsync(1, batch -> c.acknowledgeBatch(batch).thenApply(n -> {
          assertEquals(batch.size(), n, "each batch's deliveries were unsettled until acked");
          return batch;
        }))
        .takeWhile(batch -> seen.addAndGet(batch.size()) < total, true)
        .runWith(Sink.seq(), testKit.system());
    for (int i = 0; i < total / 500; i++) {
      result(p.publishAll(texts(500)));
    }
    List<List<Delivery>> batches = result(got);
    long expected = 1;
    for (List<Delivery> batch : batches) {
      assertFalse(batch.isEmpty(), "never an empty batch");
      assertTrue(batch.size() <= 256, "within spool.consumer.stream-batch: " + batch.size());
      for (Delivery d : batch) {
        assertEquals(expected++, d.sequence());
      }
    }
    assertEquals(total + 1, expected);
    org.awaitility.Awaitility.await().until(() -> result(c.info()).committed() == total);
  }

  @Test
  void competingStreamsOnOneConsumerSplitTheMessages() {
    Spool spool = Spool.create(testKit.system());
    String q = newQueue(spool);
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("work").prefetch(40));
    result(c.ready());
    int total = 3000;
    AtomicInteger seen = new AtomicInteger();
    List<CompletionStage<List<Delivery>>> workers = new ArrayList<>();
    for (int w = 0; w < 3; w++) {
      workers.add(c.source()
          .mapAsync(1, d -> c.acknowledge(d).thenApply(n -> d))
          .takeWhile(d -> seen.incrementAndGet() <= total, true)
          .takeWithin(Duration.ofSeconds(20))
          .runWith(Sink.seq(), testKit.system()));
    }
    result(spool.createPublisher(q, "p").publishAll(texts(total)));
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(20))
        .until(() -> result(c.info()).committed() == total);
    c.close();
    Set<Long> union = new HashSet<>();
    int sum = 0;
    for (CompletionStage<List<Delivery>> w : workers) {
      List<Delivery> mine = result(w, 25);
      assertFalse(mine.isEmpty(), "every competing stream got a share");
      mine.forEach(d -> union.add(d.sequence()));
      sum += mine.size();
    }
    assertEquals(total, union.size(), "none lost");
    assertEquals(total, sum, "none delivered to two streams");
  }

  @Test
  void whenAStreamEndsWhatItHeldUnackedIsRedelivered() {
    Spool spool = Spool.create(testKit.system());
    String q = newQueue(spool);
    result(spool.createPublisher(q, "p").publishAll(texts(10)));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c"));
    List<Delivery> taken = result(c.source().take(3).runWith(Sink.seq(), testKit.system()));
    assertEquals(List.of(1L, 2L, 3L), taken.stream().map(Delivery::sequence).toList());
    org.awaitility.Awaitility.await().until(() -> result(c.info()).subscribers() == 0);
    List<Delivery> next = result(c.readBatch(3));
    assertEquals(List.of(1L, 2L, 3L), next.stream().map(Delivery::sequence).toList());
    assertTrue(next.stream().allMatch(d -> d.attempt() == 2));
  }

  @Test
  void whenAnActorSubscriberStopsWhatItHeldIsRedelivered() {
    Spool spool = Spool.create(testKit.system());
    String q = newQueue(spool);
    result(spool.createPublisher(q, "p").publishAll(texts(3)));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c"));
    TestProbe<Delivery> probe = testKit.createTestProbe();
    result(c.subscribe(probe.getRef()));
    probe.receiveSeveralMessages(3);
    probe.stop();
    org.awaitility.Awaitility.await().until(() -> result(c.info()).subscribers() == 0);
    List<Delivery> again = result(c.readBatch(10));
    assertEquals(3, again.size());
    assertTrue(again.stream().allMatch(d -> d.attempt() == 2));
  }

  @Test
  void deletingTheConsumerCompletesItsStreamsAndCloseDetachesThem() {
    Spool spool = Spool.create(testKit.system());
    String q = newQueue(spool);
    QueueConsumer doomed = spool.createConsumer(q, ConsumerSettings.named("doomed"));
    CompletionStage<List<Delivery>> ended = doomed.source().runWith(Sink.seq(), testKit.system());
    org.awaitility.Awaitility.await().until(() -> result(doomed.info()).subscribers() == 1);
    result(spool.deleteConsumer(q, "doomed"));
    assertEquals(List.of(), result(ended));

    QueueConsumer kept = spool.createConsumer(q, ConsumerSettings.named("kept"));
    CompletionStage<List<Delivery>> closed = kept.source().runWith(Sink.seq(), testKit.system());
    org.awaitility.Awaitility.await().until(() -> result(kept.info()).subscribers() == 1);
    result(kept.close());
    assertEquals(List.of(), result(closed));
    org.awaitility.Awaitility.await().until(() -> result(kept.info()).subscribers() == 0);
  }

  @Test
  void aSourceOfAConsumerThatCouldNotBeCreatedFails() {
    Spool spool = Spool.create(testKit.system());
    String q = newQueue(spool);
    result(spool.createConsumer(q, ConsumerSettings.named("c").prefetch(5)).ready());
    QueueConsumer clash = spool.createConsumer(q, ConsumerSettings.named("c").prefetch(6));
    CompletionStage<List<Delivery>> s = clash.source().runWith(Sink.seq(), testKit.system());
    Await.failure(s, dev.spool.SpoolException.Code.ConsumerAlreadyExists);
  }
}
