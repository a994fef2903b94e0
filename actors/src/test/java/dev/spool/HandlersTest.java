package dev.spool;

import static dev.spool.Await.failure;
import static dev.spool.Await.result;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.SpoolException.Code;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Supervised handlers: poison messages to the dead-letter queue and back by redrive, the circuit
 * breaker, competing handler subscriptions, timeouts and bad input.
 */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class HandlersTest {

  @JUnit5TestKit
  ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  private static final AtomicInteger QUEUES = new AtomicInteger();

  private static final Backoff FAST = Backoff.exponential(Duration.ofMillis(1), Duration.ofMillis(20), 2.0, 0.2);

  private static String payload(Delivery d) {
    return new String(d.message().payload(), StandardCharsets.UTF_8);
  }

  private static List<Message> messages(int n, java.util.function.IntFunction<String> text) {
    return IntStream.rangeClosed(1, n).mapToObj(i -> Message.text("t", text.apply(i))).toList();
  }

  @Test
  void poisonMessagesAreDeadLetteredAfterExactlyMaxDeliveriesAndRedriveDeliversThemOnceMore() {
    Spool spool = Spool.create(testKit.system());
    String q = "poison-" + QUEUES.incrementAndGet();
    String dlq = q + "-dlq";
    TestProbe<SpoolEvent> events = Events.probe(testKit);
    result(spool.createQueue(q, QueueSettings.defaults().withDeadLetter(dlq, 3)
        .withRetention(Duration.ofHours(1))));
    int total = 10_000;
    // every hundredth message is poison: 100 of them
    List<Message> batch = messages(total, i -> (i % 100 == 0 ? "poison-" : "ok-") + i);
    for (int i = 0; i < total; i += 1000) {
      result(spool.createPublisher(q, "p").publishAll(batch.subList(i, i + 1000)));
    }
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("worker").prefetch(200).backoff(FAST));
    Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
    Map<String, AtomicInteger> successes = new ConcurrentHashMap<>();
    AtomicBoolean fixed = new AtomicBoolean();
    // The breaker is tested on its own below; here it must not pause the healthy messages.
    HandlerSettings lenient = spool.settings().handler().withBreaker(100_000, Duration.ofSeconds(1),
        Duration.ofSeconds(1));
    Subscription subscription = c.subscribe(d -> {
      String p = payload(d);
      calls.computeIfAbsent(p, k -> new AtomicInteger()).incrementAndGet();
      if (p.startsWith("poison") && !fixed.get()) {
        throw new IllegalStateException("cannot process " + d.sequence());
      }
      successes.computeIfAbsent(p, k -> new AtomicInteger()).incrementAndGet();
      return CompletableFuture.completedFuture(Done.getInstance());
    }, 8, lenient);
    result(subscription.ready());

    await().atMost(Duration.ofSeconds(60)).until(() -> result(spool.consumerInfo(q, "worker")).lag() == 0);
    ConsumerInfo info = result(spool.consumerInfo(q, "worker"));
    assertEquals(9_900, info.counters().acked());
    assertEquals(100, info.counters().deadLettered());
    assertEquals(300, info.counters().errors(), "three failed attempts per poison message");
    assertEquals(0, info.counters().dropped());
    assertEquals(9_900, successes.size());
    successes.forEach((p, n) -> assertEquals(1, n.get(), p + " acked exactly once"));
    calls.forEach((p, n) -> assertEquals(p.startsWith("poison") ? 3 : 1, n.get(), "calls of " + p));

    List<Message> dead = result(spool.browse(dlq, 1, 1000));
    assertEquals(100, dead.size());
    Set<String> deadPayloads = new HashSet<>();
    for (Message m : dead) {
      Map<String, String> h = m.headers();
      String original = m.payloadAsString();
      assertTrue(original.startsWith("poison-"), original);
      deadPayloads.add(original);
      assertEquals(q, h.get("x-death-queue"));
      assertEquals("worker", h.get("x-death-consumer"));
      assertEquals("max-deliveries", h.get("x-death-reason"));
      assertEquals("3", h.get("x-death-count"));
      assertEquals(original.substring("poison-".length()), h.get("x-death-sequence"));
      String history = h.get("x-death-history");
      assertEquals(3, history.split("; ").length, history);
      assertTrue(history.contains("IllegalStateException: cannot process"), history);
    }
    assertEquals(100, deadPayloads.size());
    List<SpoolEvent.DeadLettered> dlEvents = Events.next(events, SpoolEvent.DeadLettered.class,
        e -> e.queue().equals(q), 100);
    assertEquals(100, dlEvents.stream().map(SpoolEvent.DeadLettered::sequence).distinct().count());
    assertEquals(100, result(spool.queueStats(q)).deadLettered());

    // Fixed handler: redrive delivers every poison message again, once.
    fixed.set(true);
    assertEquals(100L, result(spool.redrive(dlq)));
    await().atMost(Duration.ofSeconds(30)).until(() -> result(spool.consumerInfo(q, "worker")).lag() == 0);
    assertEquals(0, result(spool.queueStats(dlq)).depth(), "redriven messages left the dead-letter queue");
    assertEquals(10_000, successes.size());
    successes.forEach((p, n) -> assertEquals(1, n.get(), p + " handled successfully exactly once"));
    List<Message> redriven = result(spool.browse(q, 10_001, 1000));
    assertEquals(100, redriven.size());
    redriven.forEach(m -> assertNull(m.headers().get("x-death-queue"), "x-death headers are gone"));
    assertEquals(0L, result(spool.redrive(dlq)), "nothing left to redrive");
    result(subscription.cancel());
  }

  @Test
  void aFailingHandlerOpensTheBreakerWhichPausesCallsThenClosesAndNothingIsLost() {
    Spool spool = Spool.create(testKit.system());
    String q = "breaker-" + QUEUES.incrementAndGet();
    TestProbe<SpoolEvent> events = Events.probe(testKit);
    result(spool.createQueue(q, QueueSettings.defaults()));
    int total = 200;
    result(spool.createPublisher(q, "p").publishAll(messages(total, i -> "m" + i)));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("fragile").backoff(FAST));
    long failUntil = System.nanoTime() + Duration.ofSeconds(5).toNanos();
    AtomicInteger calls = new AtomicInteger();
    Set<Long> handled = ConcurrentHashMap.newKeySet();
    HandlerSettings breaker = spool.settings().handler().withBreaker(5, Duration.ofSeconds(1), Duration.ofSeconds(2));
    Subscription subscription = c.subscribe(d -> {
      calls.incrementAndGet();
      if (System.nanoTime() < failUntil) {
        throw new IllegalStateException("downstream is down");
      }
      handled.add(d.sequence());
      return CompletableFuture.completedFuture(Done.getInstance());
    }, 4, breaker);
    result(subscription.ready());

    SpoolEvent.BreakerOpened opened = Events.next(events, SpoolEvent.BreakerOpened.class, e -> e.queue().equals(q));
    assertEquals("fragile", opened.consumer());
    assertTrue(opened.failures() >= 5, "opened after " + opened.failures() + " failures");
    sleep(150); // calls started before it opened finish
    int whileOpen = calls.get();
    ConsumerInfo info = result(spool.consumerInfo(q, "fragile"));
    assertEquals(BreakerState.OPEN, info.breaker());
    assertEquals(DeliveryState.BREAKER_OPEN, info.deliveryState());
    sleep(500);
    assertEquals(whileOpen, calls.get(), "no handler call while the breaker is open");

    Events.next(events, SpoolEvent.BreakerClosed.class, e -> e.queue().equals(q));
    await().atMost(Duration.ofSeconds(30)).until(() -> result(spool.consumerInfo(q, "fragile")).lag() == 0);
    Set<Long> all = new HashSet<>();
    all.addAll(sequences(total));
    assertEquals(all, handled, "every message was eventually handled");
    ConsumerInfo done = result(spool.consumerInfo(q, "fragile"));
    assertEquals(total, done.counters().acked());
    assertEquals(BreakerState.CLOSED, done.breaker());
    assertTrue(done.counters().errors() > 0);
    result(subscription.cancel());
  }

  @Test
  void aPermanentFailureDeadLettersAtOnceWithItsReasonAndLeavesTheBreakerClosed() {
    Spool spool = Spool.create(testKit.system());
    String q = "permanent-" + QUEUES.incrementAndGet();
    String dlq = q + "-dlq";
    result(spool.createQueue(q, QueueSettings.defaults().withDeadLetter(dlq, 5).withRetention(Duration.ofHours(1))));
    int total = 1000;
    String kib = "x".repeat(1024);
    // Every tenth message is invalid for good; every seventh (not tenth) fails once, then succeeds.
    result(spool.createPublisher(q, "p").publishAll(messages(total, i -> i + ":" + kib)));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("validator").prefetch(100).backoff(FAST));
    Map<Long, AtomicInteger> calls = new ConcurrentHashMap<>();
    Set<Long> handled = ConcurrentHashMap.newKeySet();
    // A breaker that 5 failures in a row would open: a hundred permanent failures must not.
    HandlerSettings breaker = spool.settings().handler().withBreaker(5, Duration.ofSeconds(30), Duration.ofSeconds(30));
    Subscription subscription = c.subscribe(d -> {
      long n = Long.parseLong(payload(d).substring(0, payload(d).indexOf(':')));
      int call = calls.computeIfAbsent(n, k -> new AtomicInteger()).incrementAndGet();
      if (n % 10 == 0) {
        return n % 20 == 0
            ? CompletableFuture.failedFuture(new IllegalStateException("wrapped", new PermanentFailure("invalid " + n)))
            : CompletableFuture.failedFuture(new PermanentFailure("invalid " + n));
      }
      if (n % 7 == 0 && call == 1) {
        throw new IllegalStateException("transient");
      }
      handled.add(n);
      return CompletableFuture.completedFuture(Done.getInstance());
    }, 8, breaker);
    result(subscription.ready());

    await().atMost(Duration.ofSeconds(30)).until(() -> result(spool.consumerInfo(q, "validator")).lag() == 0);
    ConsumerInfo info = result(spool.consumerInfo(q, "validator"));
    assertEquals(BreakerState.CLOSED, info.breaker(), "the message was at fault, not the handler");
    assertEquals(total - total / 10, info.counters().acked());
    assertEquals(total / 10, info.counters().deadLettered());
    assertEquals(total - total / 10, handled.size());
    for (long n = 10; n <= total; n += 10) {
      assertEquals(1, calls.get(n).get(), "a permanent failure is never retried: " + n);
    }
    assertEquals(2, calls.get(7L).get(), "other failures are retried");

    List<Message> dead = result(spool.browse(dlq, 1, total));
    assertEquals(total / 10, dead.size());
    for (Message m : dead) {
      long n = Long.parseLong(m.payloadAsString().substring(0, m.payloadAsString().indexOf(':')));
      assertEquals("permanent", m.headers().get("x-death-reason"));
      assertEquals("1", m.headers().get("x-death-count"));
      assertEquals("PermanentFailure: invalid " + n, m.headers().get("x-death-error"));
      assertTrue(m.headers().get("x-death-history").contains("permanent PermanentFailure: invalid " + n),
          m.headers().get("x-death-history"));
    }
    result(subscription.cancel());
  }

  @Test
  void aPermanentFailureWithoutADeadLetterQueueDropsTheMessage() {
    Spool spool = Spool.create(testKit.system());
    String q = "permanent-drop-" + QUEUES.incrementAndGet();
    result(spool.createQueue(q, QueueSettings.defaults()));
    result(spool.createPublisher(q, "p").publishAll(messages(3, i -> "m" + i)));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c").maxDeliveries(5).backoff(FAST));
    AtomicInteger calls = new AtomicInteger();
    Subscription subscription = c.subscribe(d -> {
      calls.incrementAndGet();
      if (payload(d).equals("m2")) {
        throw new PermanentFailure("not ours");
      }
      return CompletableFuture.completedFuture(Done.getInstance());
    }, 1);
    result(subscription.ready());
    await().atMost(Duration.ofSeconds(10)).until(() -> result(spool.consumerInfo(q, "c")).lag() == 0);
    assertEquals(3, calls.get(), "each message called once");
    ConsumerInfo info = result(spool.consumerInfo(q, "c"));
    assertEquals(2, info.counters().acked());
    assertEquals(1, info.counters().dropped() + info.counters().deadLettered());
    result(subscription.cancel());
  }

  private static List<Long> sequences(int n) {
    List<Long> out = new ArrayList<>();
    for (long i = 1; i <= n; i++) {
      out.add(i);
    }
    return out;
  }

  @Test
  void competingHandlerSubscriptionsSplitTheMessagesWithNoneTwiceAndNoneLost() {
    Spool spool = Spool.create(testKit.system());
    String q = "compete-" + QUEUES.incrementAndGet();
    result(spool.createQueue(q, QueueSettings.defaults()));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("pool").prefetch(300));
    List<Set<Long>> seen = List.of(ConcurrentHashMap.newKeySet(), ConcurrentHashMap.newKeySet(),
        ConcurrentHashMap.newKeySet());
    AtomicInteger calls = new AtomicInteger();
    List<Subscription> subscriptions = new ArrayList<>();
    for (Set<Long> mine : seen) {
      Subscription s = c.subscribe(d -> {
        calls.incrementAndGet();
        mine.add(d.sequence());
        return CompletableFuture.completedFuture(Done.getInstance());
      }, 4);
      result(s.ready());
      subscriptions.add(s);
    }
    int total = 30_000;
    List<CompletionStage<List<Long>>> publishes = new ArrayList<>();
    for (int p = 0; p < 3; p++) { // three producers at once
      List<Message> batch = messages(total / 3, i -> "m" + i);
      var publisher = spool.createPublisher(q, "p" + p);
      publishes.add(CompletableFuture.supplyAsync(() -> {
        List<Long> out = new ArrayList<>();
        for (int i = 0; i < batch.size(); i += 500) {
          out.addAll(result(publisher.publishAll(batch.subList(i, i + 500))));
        }
        return out;
      }));
    }
    publishes.forEach(Await::result);
    await().atMost(Duration.ofSeconds(60)).until(() -> result(spool.consumerInfo(q, "pool")).lag() == 0);
    Set<Long> union = new HashSet<>();
    for (Set<Long> mine : seen) {
      assertFalse(mine.isEmpty(), "every subscription got a share");
      union.addAll(mine);
    }
    assertEquals(total, union.size(), "none lost");
    assertEquals(total, calls.get(), "none delivered twice");
    assertEquals(total, seen.get(0).size() + seen.get(1).size() + seen.get(2).size());
    assertEquals(total, result(spool.consumerInfo(q, "pool")).counters().acked());
    subscriptions.forEach(s -> result(s.cancel()));
    assertEquals(0, result(spool.consumerInfo(q, "pool")).subscribers());
  }

  @Test
  void aHandlerThatTimesOutOrReturnsAFailedStageIsRetriedAndCounted() {
    Spool spool = Spool.create(testKit.system());
    String q = "timeouts-" + QUEUES.incrementAndGet();
    result(spool.createQueue(q, QueueSettings.defaults()));
    result(spool.createPublisher(q, "p").publishAll(messages(2, i -> "m" + i)));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("slow").backoff(FAST));
    Map<Long, AtomicInteger> attempts = new ConcurrentHashMap<>();
    Subscription s = c.subscribe(d -> {
      int n = attempts.computeIfAbsent(d.sequence(), k -> new AtomicInteger()).incrementAndGet();
      if (n == 1 && d.sequence() == 1) {
        return new CompletableFuture<>(); // never completes: times out
      }
      if (n == 1) {
        return CompletableFuture.failedFuture(new RuntimeException("failed stage"));
      }
      assertEquals(2, d.attempt(), "the retry is attempt 2");
      return CompletableFuture.completedFuture(Done.getInstance());
    }, 2, spool.settings().handler().withTimeout(Duration.ofMillis(300)));
    result(s.ready());
    await().atMost(Duration.ofSeconds(10)).until(() -> result(spool.consumerInfo(q, "slow")).lag() == 0);
    ConsumerInfo info = result(spool.consumerInfo(q, "slow"));
    assertEquals(2, info.counters().errors());
    assertEquals(2, info.counters().acked());
    assertEquals(2, info.counters().redelivered());
    assertEquals(2, attempts.get(1L).get());
    assertEquals(2, attempts.get(2L).get());
  }

  @Test
  void rejectedMessagesGoToTheDeadLetterQueueAndAreKeptWhileItIsMissing() {
    Spool spool = Spool.create(testKit.system());
    String q = "reject-" + QUEUES.incrementAndGet();
    String dlq = q + "-dlq";
    result(spool.createQueue(q, QueueSettings.defaults().withDeadLetter(dlq)));
    assertEquals(10, result(spool.queueInfo(q)).settings().deadLetter().maxDeliveries(), "the default storm guard");
    assertTrue(result(spool.listQueues()).stream().anyMatch(i -> i.name().equals(dlq)),
        "a missing dead-letter queue is created with the queue");
    result(spool.createPublisher(q, "p").publishAll(messages(2, i -> "m" + i)));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("picky").backoff(FAST));

    Delivery first = result(c.read()).orElseThrow();
    result(c.nack(first, false));
    await().until(() -> result(spool.queueStats(dlq)).depth() == 1);
    Message dead = result(spool.browse(dlq, 1, 10)).get(0);
    assertEquals("rejected", dead.headers().get("x-death-reason"));
    assertEquals("1", dead.headers().get("x-death-count"));
    assertEquals("m1", dead.payloadAsString());
    assertEquals(first.message().contentType(), dead.contentType());

    // With its dead-letter queue gone, a rejected message is kept and comes back, not lost.
    result(spool.deleteQueue(dlq));
    Delivery second = result(c.read()).orElseThrow();
    result(c.nack(second, false));
    Delivery again = result(c.readBatch(1, Duration.ofSeconds(5))).get(0);
    assertEquals(second.sequence(), again.sequence());
    assertEquals(2, again.attempt());
    assertEquals(1, result(spool.consumerInfo(q, "picky")).lag());
    result(spool.createQueue(dlq, QueueSettings.defaults()));
    result(c.nack(again, false));
    await().until(() -> result(spool.queueStats(dlq)).depth() == 1);
    assertEquals("m2", result(spool.browse(dlq, 1, 10)).get(0).payloadAsString());
    await().until(() -> result(spool.consumerInfo(q, "picky")).lag() == 0);
    assertEquals(2, result(spool.consumerInfo(q, "picky")).counters().deadLettered());
  }

  @Test
  void withoutADeadLetterQueueAGivenUpMessageIsDroppedAndCounted() {
    Spool spool = Spool.create(testKit.system());
    String q = "no-dlq-" + QUEUES.incrementAndGet();
    result(spool.createQueue(q, QueueSettings.defaults()));
    result(spool.createPublisher(q, "p").publish(Message.text("t", "x")));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c").maxDeliveries(1));
    result(c.nack(result(c.read()).orElseThrow(), true));
    ConsumerInfo info = result(spool.consumerInfo(q, "c"));
    assertEquals(1, info.counters().dropped());
    assertEquals(0, info.lag());
  }

  @Test
  void badHandlerSubscriptionsAndRedrivesAreRefusedAndChangeNothing() {
    Spool spool = Spool.create(testKit.system());
    String q = "bad-handlers-" + QUEUES.incrementAndGet();
    result(spool.createQueue(q, QueueSettings.defaults()));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c").prefetch(10));
    java.util.function.Function<Delivery, CompletionStage<Done>> ok =
        d -> CompletableFuture.completedFuture(Done.getInstance());
    failure(c.subscribe(ok, 0).ready(), Code.InvalidConfiguration);
    failure(c.subscribe(ok, 11).ready(), Code.InvalidConfiguration);
    failure(c.subscribe(null, 1).ready(), Code.InvalidConfiguration);
    failure(c.subscribe(ok, 1, spool.settings().handler().withDispatcher("no.such.dispatcher")).ready(),
        Code.InvalidConfiguration);
    assertEquals(0, result(c.info()).subscribers());
    failure(spool.redrive(q, 5, 4), Code.InvalidConfiguration);
    failure(spool.redrive("no-such-queue-" + QUEUES.incrementAndGet()), Code.QueueNotFound);
    assertEquals(0L, result(spool.redrive(q)), "a queue without dead-lettered messages has nothing to move");
    failure(spool.browse(q, 1, 0), Code.InvalidConfiguration);
    failure(spool.messageTrace(q, 1), Code.SequenceOutOfRange);
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
