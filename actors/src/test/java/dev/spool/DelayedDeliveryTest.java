package dev.spool;

import static dev.spool.Await.failure;
import static dev.spool.Await.result;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Delayed delivery under {@link ManualTime} and a {@link ManualClock}: a message is invisible to
 * consumers until its delivery time, the due messages behind it flow, and the consumer's own timer
 * delivers it the moment it is due.
 */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class DelayedDeliveryTest {

  @JUnit5TestKit
  ActorTestKit testKit = new JUnit5TestKitBuilder()
      .withCustomConfig(ManualClock.testKitConfig())
      .build();

  private static final AtomicInteger QUEUES = new AtomicInteger();
  private static final String KIB = "x".repeat(1024);
  private final ManualClock clock = new ManualClock();

  private Spool spool() {
    return clock.spool(testKit.system());
  }

  private void timePasses(Duration d) {
    clock.timePasses(testKit.system(), d);
  }

  private static String queue(Spool spool, QueueSettings settings) {
    String q = "delayed-" + QUEUES.incrementAndGet();
    result(spool.createQueue(q, settings));
    return q;
  }

  private static Message kib(String label) {
    return Message.text("t", label + ":" + KIB);
  }

  private static List<Long> sequences(List<Delivery> deliveries) {
    return deliveries.stream().map(Delivery::sequence).toList();
  }

  @Test
  void aDelayedMessageIsDeliveredExactlyWhenDueAndTheDueOnesBehindItFlow() {
    Spool spool = spool();
    String q = queue(spool, QueueSettings.defaults());
    QueuePublisher p = spool.createPublisher(q, "p");
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c"));
    TestProbe<Delivery> subscriber = testKit.createTestProbe();
    result(c.subscribe(subscriber.ref()));

    result(p.publish(kib("delayed").withDelay(Duration.ofSeconds(10))));
    result(p.publishAll(List.of(kib("a"), kib("b"))));
    assertEquals(List.of(2L, 3L), List.of(subscriber.receiveMessage().sequence(),
        subscriber.receiveMessage().sequence()), "the due messages behind the delayed one are not blocked");
    subscriber.expectNoMessage(Duration.ofMillis(100));

    timePasses(Duration.ofMillis(9_999));
    subscriber.expectNoMessage(Duration.ofMillis(100));
    timePasses(Duration.ofMillis(1));
    Delivery due = subscriber.receiveMessage();
    assertEquals(1L, due.sequence());
    assertEquals(1, due.attempt());
    assertTrue(due.message().payloadAsString().startsWith("delayed:"));
    assertEquals(Instant.ofEpochMilli(clock.millis()), due.message().deliverAt().orElseThrow(),
        "the delay became a delivery time at append");
    ConsumerInfo info = result(c.info());
    assertEquals(0, info.counters().redelivered(), "a delayed message's first delivery is not a redelivery");
  }

  @Test
  void withNothingHeldBackLagIsLastSequenceMinusCommittedAsTheContractDefinesIt() {
    Spool spool = spool();
    String q = queue(spool, QueueSettings.defaults());
    QueuePublisher p = spool.createPublisher(q, "p");
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c"));
    result(p.publishAll(List.of(kib("a"), kib("b"), kib("c"))));
    List<Delivery> read = result(c.readBatch(3));
    result(c.acknowledgeBatch(read.subList(1, 3)));
    ConsumerInfo info = result(c.info());
    assertEquals(0, info.committed());
    assertEquals(3, info.lag(), "acknowledged out of order above committed still counts: last − committed");

    result(p.publish(kib("later").withDelay(Duration.ofSeconds(30))));
    result(p.publish(kib("d")));
    result(c.acknowledgeBatch(List.of(read.get(0))));
    result(c.acknowledgeBatch(result(c.readBatch(10))));
    ConsumerInfo holding = result(c.info());
    assertEquals(3, holding.committed(), "the set-aside message holds committed");
    assertEquals(0, holding.lag(), "but lag leaves out it, not due, and what was acknowledged above it");
  }

  @Test
  void aDeliveryTimeInThePastDeliversAtOnceAndPullReadsSeeOnlyDueMessages() {
    Spool spool = spool();
    String q = queue(spool, QueueSettings.defaults());
    QueuePublisher p = spool.createPublisher(q, "p");
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c"));
    result(p.publishAll(List.of(
        kib("past").withDeliverAt(clock.instant().minusSeconds(60)),
        kib("at").withDeliverAt(clock.instant().plusSeconds(30)),
        kib("now"))));
    List<Delivery> first = result(c.readBatch(10));
    assertEquals(List.of(1L, 3L), sequences(first));
    assertTrue(first.get(0).message().deliverAt().isEmpty(), "a time already past is stored as none");
    result(c.acknowledgeBatch(first));
    assertEquals(1, result(c.info()).committed(), "the set-aside message holds the committed position");

    timePasses(Duration.ofSeconds(30));
    List<Delivery> afterwards = result(c.readBatch(10));
    assertEquals(List.of(2L), sequences(afterwards));
    result(c.acknowledgeBatch(afterwards));
    assertEquals(3, result(c.info()).committed());
  }

  @Test
  void aLongPollIsAnsweredWhenTheDelayedMessageFallsDue() {
    Spool spool = spool();
    String q = queue(spool, QueueSettings.defaults());
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c"));
    result(spool.createPublisher(q, "p").publish(kib("delayed").withDelay(Duration.ofSeconds(5))));
    var read = c.readBatch(10, Duration.ofSeconds(30));
    result(c.info());
    timePasses(Duration.ofSeconds(5));
    assertEquals(List.of(1L), sequences(result(read)));
  }

  @Test
  void lagCountsANotDueMessageOnlyOnceItIsDue() {
    Spool spool = spool();
    String q = queue(spool, QueueSettings.defaults());
    QueuePublisher p = spool.createPublisher(q, "p");
    QueueConsumer reading = spool.createConsumer(q, ConsumerSettings.named("reading"));
    QueueConsumer idle = spool.createConsumer(q, ConsumerSettings.named("idle"));
    result(p.publishAll(List.of(kib("due"), kib("due2"), kib("delayed").withDelay(Duration.ofMinutes(1)))));

    result(reading.acknowledgeBatch(result(reading.readBatch(10))));
    ConsumerInfo info = result(reading.info());
    assertEquals(0, info.lag(), "the one message left is not due");
    assertEquals(2, info.committed());
    assertEquals(DeliveryState.CAUGHT_UP, info.deliveryState());
    assertEquals(2, result(idle.info()).lag(), "a consumer that did not read yet: its not-due message is not lag");
    LagStats stats = result(spool.lagStatistics());
    assertEquals(2, stats.maxLag());

    timePasses(Duration.ofMinutes(1));
    assertEquals(1, result(reading.info()).lag());
    assertEquals(3, result(idle.info()).lag());
  }

  @Test
  void lagLeavesOutWhatWasAcknowledgedAboveANotDueMessage() {
    Spool spool = spool();
    String q = queue(spool, QueueSettings.defaults());
    QueuePublisher p = spool.createPublisher(q, "p");
    QueueConsumer reading = spool.createConsumer(q, ConsumerSettings.named("reading"));
    QueueConsumer idle = spool.createConsumer(q, ConsumerSettings.named("idle"));
    List<Message> messages = new ArrayList<>();
    for (int i = 0; i < 12; i++) {
      messages.add(i % 3 == 0 ? kib("delayed" + i).withDelay(Duration.ofMinutes(10)) : kib("now" + i));
    }
    result(p.publishAll(messages));
    List<Delivery> got = result(reading.readBatch(100));
    assertEquals(8, got.size());
    timePasses(Duration.ofSeconds(30));
    result(reading.acknowledgeBatch(got));

    ConsumerInfo info = result(reading.info());
    assertEquals(0, info.committed(), "the first, not due, holds it");
    assertEquals(0, info.lag(), "all it has not acknowledged is not due");
    assertEquals(0, info.lagAgeMs(), "nor is any due message waiting");
    assertEquals(DeliveryState.CAUGHT_UP, info.deliveryState());
    assertEquals(8, result(idle.info()).lag());
    assertEquals(8, result(spool.lagStatistics()).maxLag());

    result(p.publishAll(List.of(kib("more"), kib("more"))));
    timePasses(Duration.ofSeconds(5));
    List<Delivery> more = result(reading.readBatch(100));
    ConsumerInfo inFlight = result(reading.info());
    assertEquals(2, inFlight.lag(), "delivered, not acknowledged yet");
    assertEquals(5_000, inFlight.lagAgeMs(), "their age, not the older not-due message's");
    result(reading.acknowledgeBatch(more));
    assertEquals(0, result(reading.info()).lag(), "steady traffic acknowledged does not grow it");

    timePasses(Duration.ofMinutes(10));
    ConsumerInfo due = result(reading.info());
    assertEquals(4, due.lag(), "the delayed ones, once due");
    assertEquals(Duration.ofSeconds(635).toMillis(), due.lagAgeMs(), "the age of the oldest of them, from its append");
    assertEquals(14, result(idle.info()).lag());
  }

  @Test
  void acknowledgingAMessageSetAsideIsUnknownAndChangesNothing() {
    Spool spool = spool();
    String q = queue(spool, QueueSettings.defaults());
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c"));
    result(spool.createPublisher(q, "p").publishAll(List.of(kib("delayed").withDelay(Duration.ofMinutes(1)),
        kib("now"))));
    List<Delivery> got = result(c.readBatch(10));
    assertEquals(List.of(2L), sequences(got));
    assertEquals(new AckResult(0, List.of(), List.of(1L)), result(c.acknowledgeSequences(List.of(1L))),
        "never delivered");
    result(c.acknowledgeBatch(got));
    assertEquals(0, result(c.info()).committed());
    timePasses(Duration.ofMinutes(1));
    List<Delivery> due = result(c.readBatch(10));
    assertEquals(List.of(1L), sequences(due), "still delivered once due");
    assertEquals(1, due.get(0).attempt());
  }

  @Test
  void healthCountsOnlyDueMessagesAsWaitingForAConsumerThatNeverRead() {
    Spool spool = spool();
    String q = queue(spool, QueueSettings.defaults());
    result(spool.createConsumer(q, ConsumerSettings.named("c")).ready());
    QueuePublisher p = spool.createPublisher(q, "p");
    for (int i = 0; i < 3; i++) {
      result(p.publish(kib("delayed" + i).withDelay(Duration.ofMinutes(10))));
    }
    result(p.publish(kib("now")));
    QueueHealth.ConsumerHealth c = result(spool.queueHealth(q)).consumers().get(0);
    assertEquals("1 message waiting; nothing read yet, no subscriber attached", c.reason());
  }

  @Test
  void aMessageThatExpiresBeforeItIsDueIsExpiredNotDelivered() {
    Spool spool = spool();
    String q = queue(spool, QueueSettings.defaults());
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c"));
    result(spool.createPublisher(q, "p").publishAll(List.of(
        kib("expires").withTtl(Duration.ofSeconds(2)).withDelay(Duration.ofSeconds(10)),
        kib("stays").withDelay(Duration.ofSeconds(10)))));
    assertEquals(List.of(), result(c.readBatch(10)));

    timePasses(Duration.ofSeconds(3)); // the janitor's ticks expire it
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertEquals(1, result(c.info()).counters().expired()));
    timePasses(Duration.ofSeconds(7));
    List<Delivery> got = result(c.readBatch(10));
    assertEquals(List.of(2L), sequences(got));
    assertEquals(1, result(c.info()).counters().expired());
  }

  @Test
  void aNotDueMessageIsRetainedWhileTheMessagesAroundItAreFreed() {
    Spool spool = spool();
    String q = queue(spool, QueueSettings.defaults());
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c"));
    QueuePublisher p = spool.createPublisher(q, "p");
    result(p.publish(kib("delayed").withDelay(Duration.ofMinutes(10))));
    result(p.publishAll(IntStream.range(0, 3000).mapToObj(i -> kib("n" + i)).toList()));
    int got = 0;
    while (got < 3000) {
      List<Delivery> batch = result(c.readBatch(1000));
      got += batch.size();
      result(c.acknowledgeBatch(batch));
    }
    result(spool.collectGarbage());
    assertEquals(3001, result(spool.queueInfo(q)).stats().depth(), "nothing past the not-due message is freed");
    timePasses(Duration.ofMinutes(10));
    List<Delivery> last = result(c.readBatch(10));
    assertEquals(List.of(1L), sequences(last));
    assertEquals(("delayed:" + KIB).length(), last.get(0).message().payload().length);
  }

  @Test
  void aNackedDelayedMessageIsRedeliveredAfterItsBackoff() {
    Spool spool = spool();
    String q = queue(spool, QueueSettings.defaults());
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c")
        .backoff(Backoff.exponential(Duration.ofSeconds(1), Duration.ofSeconds(1), 1.0, 0.0)));
    result(spool.createPublisher(q, "p").publish(kib("delayed").withDelay(Duration.ofSeconds(5))));
    assertEquals(List.of(), result(c.readBatch(10)));
    timePasses(Duration.ofSeconds(5));
    Delivery first = result(c.readBatch(10)).get(0);
    result(c.nack(first, true));
    timePasses(Duration.ofSeconds(1));
    result(c.info());
    Delivery again = result(c.readBatch(10)).get(0);
    assertEquals(1L, again.sequence());
    assertEquals(2, again.attempt());
  }

  @Test
  void aDelayedMessageIsAccountedForItsOwnEnvelope() {
    Message plain = kib("a").appended(1, clock.millis(), "p");
    Message delayed = kib("a").withDelay(Duration.ofMinutes(1)).appended(1, clock.millis(), "p");
    assertEquals(plain.sizeBytes() + Message.DELIVERY_TIME_BYTES, delayed.sizeBytes());
    assertEquals(plain.contentBytes(), delayed.contentBytes(), "not counted against max-message-bytes");
    Spool spool = spool();
    String q = queue(spool, QueueSettings.defaults());
    QueuePublisher p = spool.createPublisher(q, "p");
    result(p.publish(kib("a")));
    long one = result(spool.queueInfo(q)).stats().bytes();
    result(p.publish(kib("a").withDelay(Duration.ofMinutes(1))));
    assertEquals(2 * one + Message.DELIVERY_TIME_BYTES, result(spool.queueInfo(q)).stats().bytes());
  }

  @Test
  void badDelaysAreRefusedAndNothingIsPublished() {
    Spool spool = spool();
    String q = queue(spool, QueueSettings.defaults());
    QueuePublisher p = spool.createPublisher(q, "p");
    assertEquals(SpoolException.Code.InvalidConfiguration, assertThrows(SpoolException.class,
        () -> kib("x").withDelay(Duration.ofSeconds(-1))).code());
    assertEquals(SpoolException.Code.InvalidConfiguration, assertThrows(SpoolException.class,
        () -> kib("x").withDeliverAt(null)).code());
    // Past spool.scheduling.max-delay (7 days): the whole batch is refused.
    failure(p.publishAll(List.of(kib("ok"), kib("far").withDelay(Duration.ofDays(7).plusSeconds(1)))),
        SpoolException.Code.InvalidConfiguration);
    failure(p.publish(kib("far").withDeliverAt(clock.instant().plus(Duration.ofDays(8)))),
        SpoolException.Code.InvalidConfiguration);
    assertEquals(0, result(spool.queueInfo(q)).stats().depth());
    assertEquals(1L, result(p.publish(kib("ok").withDelay(Duration.ofDays(7)))), "the maximum itself is accepted");
  }

  @Test
  void manyProducersAndConsumersGetEveryDelayedMessageOnceWhenDue() {
    Spool spool = spool();
    String q = queue(spool, QueueSettings.defaults());
    Set<Long> delivered = ConcurrentHashMap.newKeySet();
    AtomicInteger early = new AtomicInteger();
    AtomicInteger duplicates = new AtomicInteger();
    List<Subscription> subscriptions = new ArrayList<>();
    List<QueueConsumer> consumers = new ArrayList<>();
    Instant start = clock.instant();
    for (int i = 0; i < 3; i++) {
      QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c" + i).prefetch(64));
      consumers.add(c);
      subscriptions.add(c.subscribe(d -> {
        if (d.message().deliverAt().map(at -> at.isAfter(clock.instant())).orElse(false)) {
          early.incrementAndGet();
        }
        if (d.consumer().equals("c0") && !delivered.add(d.sequence())) {
          duplicates.incrementAndGet();
        }
        return CompletableFuture.completedFuture(Done.getInstance());
      }, 4));
    }
    subscriptions.forEach(s -> result(s.ready()));
    List<CompletableFuture<List<Long>>> publishes = new ArrayList<>();
    for (int producer = 0; producer < 4; producer++) {
      QueuePublisher p = spool.createPublisher(q, "p" + producer);
      int n = producer;
      publishes.add(CompletableFuture.supplyAsync(() -> result(p.publishAll(IntStream.range(0, 250)
          .mapToObj(i -> kib(n + "-" + i).withDeliverAt(start.plusSeconds(1 + (i % 5)))).toList()))));
    }
    publishes.forEach(CompletableFuture::join);
    assertEquals(0, delivered.size(), "nothing is due yet");
    for (int second = 1; second <= 5; second++) {
      timePasses(Duration.ofSeconds(1));
      int expected = 200 * second;
      await().atMost(Duration.ofSeconds(30)).until(() -> delivered.size() == expected);
    }
    assertEquals(0, early.get(), "no message was delivered before its time");
    assertEquals(0, duplicates.get());
    for (QueueConsumer c : consumers) {
      await().atMost(Duration.ofSeconds(30)).until(() -> result(c.info()).counters().delivered() == 1000);
      await().atMost(Duration.ofSeconds(30)).until(() -> result(c.info()).committed() == 1000);
    }
    assertEquals(new TreeSet<>(LongRange.of(1, 1000)), new TreeSet<>(delivered));
  }

  @Test
  void pastTheSetAsideBoundTheCursorWaitsAtTheNextNotDueMessage() {
    Spool spool = Spool.create(testKit.system(), SpoolSettings.create(testKit.system()).withClock(clock)
        .withScheduling(new SpoolSettings.Scheduling(Duration.ofDays(7), 2, 256)));
    String q = queue(spool, QueueSettings.defaults());
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c"));
    result(spool.createPublisher(q, "p").publishAll(List.of(
        kib("d1").withDelay(Duration.ofSeconds(30)),
        kib("d2").withDelay(Duration.ofSeconds(20)),
        kib("d3").withDelay(Duration.ofSeconds(10)),
        kib("now"))));
    assertEquals(List.of(), result(c.readBatch(10)), "two set aside; the third holds the cursor, and 4 behind it");
    timePasses(Duration.ofSeconds(10));
    assertEquals(List.of(3L, 4L), sequences(result(c.readBatch(10))));
    timePasses(Duration.ofSeconds(10));
    assertEquals(List.of(2L), sequences(result(c.readBatch(10))));
    timePasses(Duration.ofSeconds(10));
    assertEquals(List.of(1L), sequences(result(c.readBatch(10))));
  }

  @Test
  void eachPartitionOfAPartitionedQueueHoldsBackItsOwnDelayedMessages() {
    Spool spool = spool();
    String q = queue(spool, QueueSettings.defaults().withPartitions(3));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c"));
    List<Message> batch = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      Message m = kib("k" + i).withKey("key-" + i);
      batch.add(i % 2 == 0 ? m.withDelay(Duration.ofSeconds(20)) : m);
    }
    result(spool.createPublisher(q, "p").publishAll(batch));
    List<Delivery> now = new ArrayList<>();
    for (int i = 0; i < 5 && now.size() < 15; i++) {
      now.addAll(result(c.readBatch(100)));
    }
    assertEquals(15, now.size());
    assertTrue(now.stream().allMatch(d -> d.message().deliverAt().isEmpty()), "only the undelayed ones");
    result(c.acknowledgeBatch(now));
    assertEquals(List.of(), result(c.readBatch(100)));
    timePasses(Duration.ofSeconds(20));
    List<Delivery> afterwards = new ArrayList<>();
    for (int i = 0; i < 5 && afterwards.size() < 15; i++) {
      afterwards.addAll(result(c.readBatch(100)));
    }
    assertEquals(15, afterwards.size());
    assertTrue(afterwards.stream().allMatch(d -> d.message().deliverAt().isPresent()));
  }

  /** Sequences {@code from} to {@code to}. */
  private static final class LongRange {
    static List<Long> of(long from, long to) {
      List<Long> out = new ArrayList<>();
      for (long s = from; s <= to; s++) {
        out.add(s);
      }
      return out;
    }
  }
}
