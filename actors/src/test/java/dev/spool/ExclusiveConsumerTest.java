package dev.spool;

import static dev.spool.Await.result;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
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
 * Exclusive consumers (single active consumer): one subscriber at a time receives, the others wait
 * as hot standbys and take over, with what was in flight, in the order they attached.
 */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class ExclusiveConsumerTest {

  @JUnit5TestKit
  ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  private static final AtomicInteger QUEUES = new AtomicInteger();
  private static final String KIB = "x".repeat(1024);

  private static List<Message> messages(int n) {
    return IntStream.rangeClosed(1, n).mapToObj(i -> Message.text("t", i + ":" + KIB)).toList();
  }

  @Test
  void onlyTheFirstHandlerSubscriptionReceivesAndTheNextTakesOverWhenItGoes() {
    Spool spool = Spool.create(testKit.system());
    String q = "exclusive-" + QUEUES.incrementAndGet();
    result(spool.createQueue(q, QueueSettings.defaults()));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("single").exclusive(true).prefetch(50));
    Set<Long> first = ConcurrentHashMap.newKeySet();
    Set<Long> second = ConcurrentHashMap.newKeySet();
    Set<Long> third = ConcurrentHashMap.newKeySet();
    AtomicBoolean firstGone = new AtomicBoolean();
    AtomicInteger secondBeforeFirstWent = new AtomicInteger();
    Subscription a = c.subscribe(d -> {
      first.add(d.sequence());
      return CompletableFuture.completedFuture(Done.getInstance());
    }, 4);
    result(a.ready());
    Subscription b = c.subscribe(d -> {
      if (!firstGone.get()) {
        secondBeforeFirstWent.incrementAndGet();
      }
      second.add(d.sequence());
      return CompletableFuture.completedFuture(Done.getInstance());
    }, 4);
    result(b.ready());
    Subscription standby = c.subscribe(d -> {
      third.add(d.sequence());
      return CompletableFuture.completedFuture(Done.getInstance());
    }, 4);
    result(standby.ready());

    result(spool.createPublisher(q, "p").publishAll(messages(300)));
    await().atMost(Duration.ofSeconds(60)).until(() -> first.size() == 300);
    assertEquals(Set.of(), second, "a standby receives nothing while the first is attached");

    firstGone.set(true);
    result(a.cancel());
    result(spool.createPublisher(q, "p").publishAll(messages(300)));
    await().atMost(Duration.ofSeconds(60)).until(() -> result(spool.consumerInfo(q, "single")).lag() == 0);
    assertEquals(0, secondBeforeFirstWent.get());
    assertEquals(300, second.size(), "the next in attach order took over");
    assertEquals(Set.of(), third, "the one attached after it still waits");
    Set<Long> all = new HashSet<>(first);
    all.addAll(second);
    assertEquals(600, all.size());
    result(b.cancel());
    result(standby.cancel());
  }

  @Test
  void whatTheActiveOneHeldGoesToTheNextAndPullReadsWaitWhileOneIsAttached() throws Exception {
    Spool spool = Spool.create(testKit.system());
    String q = "exclusive-" + QUEUES.incrementAndGet();
    result(spool.createQueue(q, QueueSettings.defaults()));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("single").exclusive(true).prefetch(10)
        .ackTimeout(Duration.ofMinutes(5)));
    TestProbe<Delivery> active = testKit.createTestProbe();
    TestProbe<Delivery> standby = testKit.createTestProbe();
    result(c.subscribe(active.getRef()));
    result(c.subscribe(standby.getRef()));
    result(spool.createPublisher(q, "p").publishAll(messages(5)));
    for (int i = 1; i <= 5; i++) {
      assertEquals(i, active.receiveMessage(Duration.ofSeconds(5)).sequence());
    }
    standby.expectNoMessage(Duration.ofMillis(300));
    assertEquals(List.of(), result(c.readBatch(10, Duration.ofMillis(200))), "a pull read gets nothing meanwhile");

    // The active one goes with 5 unacknowledged: the standby gets them, as redeliveries.
    result(c.unsubscribe(active.getRef()));
    for (int i = 1; i <= 5; i++) {
      Delivery d = standby.receiveMessage(Duration.ofSeconds(5));
      assertEquals(i, d.sequence());
      assertEquals(2, d.attempt());
      result(c.acknowledge(d));
    }
    result(c.unsubscribe(standby.getRef()));
    result(spool.createPublisher(q, "p").publish(Message.text("t", "after")));
    List<Delivery> pulled = result(c.readBatch(10, Duration.ofSeconds(2)));
    assertEquals(List.of(6L), pulled.stream().map(Delivery::sequence).toList(), "with none attached, pull reads receive");
  }

  @Test
  void exclusiveIsASettingThatConflictsWhenItDiffers() {
    Spool spool = Spool.create(testKit.system());
    String q = "exclusive-" + QUEUES.incrementAndGet();
    result(spool.createQueue(q, QueueSettings.defaults()));
    result(spool.declareConsumer(q, ConsumerSettings.named("c").exclusive(true)));
    assertTrue(result(spool.consumerInfo(q, "c")).settings().exclusive());
    assertEquals(false, result(spool.declareConsumer(q, ConsumerSettings.named("c").exclusive(true))).created());
    Throwable conflict = Await.failure(spool.declareConsumer(q, ConsumerSettings.named("c")),
        SpoolException.Code.ConsumerAlreadyExists);
    assertTrue(conflict.getMessage().contains("exclusive"), conflict.getMessage());
  }
}
