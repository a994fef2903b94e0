package dev.spool;

import static dev.spool.Await.result;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Ack deadlines, backoff and long-poll, driven by {@link ManualTime}: no test waits for real time. */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class TimersTest {

  @JUnit5TestKit
  ActorTestKit testKit = new JUnit5TestKitBuilder()
      .withCustomConfig(ManualClock.testKitConfig())
      .build();

  private static final AtomicInteger QUEUES = new AtomicInteger();

  private ManualTime time() {
    return ManualTime.get(testKit.system());
  }

  private String queueWith(Spool spool, int messages) {
    String q = "timers-" + QUEUES.incrementAndGet();
    result(spool.createQueue(q, QueueSettings.defaults()));
    result(spool.createPublisher(q, "p").publishAll(
        IntStream.rangeClosed(1, messages).mapToObj(i -> Message.text("t", "m" + i)).toList()));
    return q;
  }

  /** Lets actors process what is in flight before time moves (ManualTime moves only the scheduler). */
  private static void settle(QueueConsumer c) {
    result(c.info());
  }

  @Test
  void unackedDeliveriesComeBackAfterTheAckTimeoutWithAttemptTwo() {
    Spool spool = Spool.create(testKit.system());
    String q = queueWith(spool, 3);
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c").ackTimeout(Duration.ofSeconds(30)));
    List<Delivery> first = result(c.readBatch(10));
    assertEquals(3, first.size());
    result(c.acknowledge(first.get(0)));

    time().timePasses(Duration.ofSeconds(29));
    settle(c);
    assertEquals(List.of(), result(c.readBatch(10)), "nothing comes back before the deadline");

    time().timePasses(Duration.ofSeconds(2));
    settle(c);
    List<Delivery> again = result(c.readBatch(10));
    assertEquals(List.of(2L, 3L), again.stream().map(Delivery::sequence).toList());
    assertTrue(again.stream().allMatch(d -> d.attempt() == 2), "redeliveries carry attempt 2");
    ConsumerInfo info = result(c.info());
    assertEquals(2, info.counters().redelivered());
    assertEquals(1, info.committed());
  }

  @Test
  void redeliveriesGoBeforeNewMessages() {
    Spool spool = Spool.create(testKit.system());
    String q = queueWith(spool, 4);
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c").prefetch(2).ackTimeout(Duration.ofSeconds(5)));
    assertEquals(List.of(1L, 2L), result(c.readBatch(10)).stream().map(Delivery::sequence).toList());
    time().timePasses(Duration.ofSeconds(6));
    settle(c);
    List<Delivery> next = result(c.readBatch(10));
    assertEquals(List.of(1L, 2L), next.stream().map(Delivery::sequence).toList());
    result(c.acknowledgeBatch(next));
    assertEquals(List.of(3L, 4L), result(c.readBatch(10)).stream().map(Delivery::sequence).toList());
  }

  @Test
  void anActorSubscriberGetsItsTimedOutDeliveriesAgain() {
    Spool spool = Spool.create(testKit.system());
    String q = queueWith(spool, 2);
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c").ackTimeout(Duration.ofSeconds(10)));
    TestProbe<Delivery> probe = testKit.createTestProbe();
    result(c.subscribe(probe.getRef()));
    assertEquals(List.of(1, 1), probe.receiveSeveralMessages(2).stream().map(Delivery::attempt).toList());
    time().timePasses(Duration.ofSeconds(11));
    List<Delivery> again = probe.receiveSeveralMessages(2);
    assertEquals(List.of(1L, 2L), again.stream().map(Delivery::sequence).toList());
    assertEquals(List.of(2, 2), again.stream().map(Delivery::attempt).toList());
  }

  @Test
  void nackWithRequeueWaitsOutTheBackoffAndShowsItInTheDeliveryState() {
    Spool spool = Spool.create(testKit.system());
    String q = queueWith(spool, 1);
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c")
        .backoff(Backoff.exponential(Duration.ofSeconds(2), Duration.ofSeconds(60), 2.0, 0.0)));
    Delivery d = result(c.readBatch(1)).get(0);
    result(c.nack(d, true));
    assertEquals(DeliveryState.BACKOFF, result(c.info()).deliveryState());
    time().timePasses(Duration.ofMillis(1900));
    settle(c);
    assertEquals(List.of(), result(c.readBatch(1)), "not before the backoff ends");
    time().timePasses(Duration.ofMillis(200));
    settle(c);
    Delivery again = result(c.readBatch(1)).get(0);
    assertEquals(2, again.attempt());

    // the second retry waits twice as long
    result(c.nack(again, true));
    time().timePasses(Duration.ofMillis(3900));
    settle(c);
    assertEquals(List.of(), result(c.readBatch(1)));
    time().timePasses(Duration.ofMillis(200));
    settle(c);
    assertEquals(3, result(c.readBatch(1)).get(0).attempt());
  }

  @Test
  void maxDeliveriesGivesUpOnAMessageThatKeepsTimingOut() {
    Spool spool = Spool.create(testKit.system());
    String q = queueWith(spool, 1);
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c").maxDeliveries(2)
        .ackTimeout(Duration.ofSeconds(1)));
    assertEquals(1, result(c.readBatch(1)).get(0).attempt());
    time().timePasses(Duration.ofMillis(1100));
    settle(c);
    assertEquals(2, result(c.readBatch(1)).get(0).attempt());
    time().timePasses(Duration.ofMillis(1100));
    settle(c);
    assertEquals(List.of(), result(c.readBatch(1)));
    ConsumerInfo info = result(c.info());
    assertEquals(1, info.counters().dropped());
    assertEquals(0, info.lag());
  }

  @Test
  void longPollReturnsAsSoonAsAMessageArrives() {
    Spool spool = Spool.create(testKit.system());
    String q = queueWith(spool, 0);
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c"));
    result(c.ready());
    CompletableFuture<List<Delivery>> parked = c.readBatch(10, Duration.ofSeconds(20)).toCompletableFuture();
    org.awaitility.Awaitility.await().until(() -> result(c.info()).parkedReads() == 1);
    assertFalse(parked.isDone());
    // no time passes at all: the append alone completes the read
    result(spool.createPublisher(q, "p").publish(Message.text("t", "now")));
    List<Delivery> got = result(parked);
    assertEquals(1, got.size());
    assertEquals("now", got.get(0).message().payloadAsString());
  }

  @Test
  void longPollReturnsEmptyWhenTheWaitEnds() {
    Spool spool = Spool.create(testKit.system());
    String q = queueWith(spool, 0);
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c"));
    result(c.ready());
    CompletableFuture<List<Delivery>> parked = c.readBatch(10, Duration.ofSeconds(5)).toCompletableFuture();
    org.awaitility.Awaitility.await().until(() -> result(c.info()).parkedReads() == 1);
    time().timePasses(Duration.ofMillis(4900));
    settle(c);
    assertFalse(parked.isDone(), "still waiting before the wait ends");
    time().timePasses(Duration.ofMillis(200));
    assertEquals(List.of(), result(parked));
    assertEquals(0, result(c.info()).parkedReads());
  }
}
