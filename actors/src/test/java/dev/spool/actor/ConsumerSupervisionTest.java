package dev.spool.actor;

import static dev.spool.Await.result;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.spool.ConsumerInfo;
import dev.spool.ConsumerSettings;
import dev.spool.Delivery;
import dev.spool.Message;
import dev.spool.QueueConsumer;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import dev.spool.SpoolEvent;
import dev.spool.Subscription;
import dev.spool.Events;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
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
 * A consumer actor that fails is restarted by its queue with cursor, committed position, in-flight
 * set and handler subscriptions intact. The failure is injected with the package-private
 * {@link ConsumerActor.Fail} command, which is why this test lives in the actor package.
 */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class ConsumerSupervisionTest {

  @JUnit5TestKit
  ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  private void crash(Spool spool, String queue, String consumer) {
    spool.queueManager().tell(new QueueManager.ToQueue(queue,
        new QueueActor.ToConsumer(consumer, new ConsumerActor.Fail("supervision test"))));
  }

  private TestProbe<SpoolEvent> events() {
    return Events.probe(testKit);
  }

  private static SpoolEvent.ConsumerRestarted restarted(TestProbe<SpoolEvent> probe, String queue) {
    return Events.next(probe, SpoolEvent.ConsumerRestarted.class, r -> r.queue().equals(queue));
  }

  @Test
  void aConsumerKilledByAnInjectedFailureResumesExactlyWhereItWas() {
    Spool spool = Spool.create(testKit.system());
    String q = "supervised-1";
    result(spool.createQueue(q, QueueSettings.defaults()));
    result(spool.createPublisher(q, "p").publishAll(
        IntStream.rangeClosed(1, 10).mapToObj(i -> Message.text("t", "m" + i)).toList()));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c"));
    List<Delivery> firstFive = result(c.readBatch(5));
    assertEquals(5, firstFive.size());
    assertEquals(2, result(c.acknowledgeBatch(firstFive.subList(0, 2))));
    ConsumerInfo before = result(c.info());
    assertEquals(6, before.cursor());
    assertEquals(2, before.committed());
    assertEquals(3, before.inFlight());

    TestProbe<SpoolEvent> probe = events();
    crash(spool, q, "c");
    SpoolEvent.ConsumerRestarted event = restarted(probe, q);
    assertEquals("c", event.consumer());
    assertEquals(1, event.restarts());

    ConsumerInfo after = result(c.info());
    assertEquals(before.cursor(), after.cursor());
    assertEquals(before.committed(), after.committed());
    assertEquals(before.inFlight(), after.inFlight());
    assertEquals(before.counters().acked(), after.counters().acked());
    // The in-flight set survived: its deliveries can still be acknowledged, once.
    assertEquals(3, result(c.acknowledgeBatch(firstFive.subList(2, 5))));
    assertEquals(0, result(c.acknowledgeBatch(firstFive)));
    List<Delivery> rest = result(c.readBatch(10));
    assertEquals(List.of(6L, 7L, 8L, 9L, 10L), rest.stream().map(Delivery::sequence).toList());
    assertEquals(5, result(c.acknowledgeBatch(rest)));
    assertEquals(0, result(c.info()).lag());
  }

  @Test
  void aHandlerSubscriptionKeepsRunningAcrossARestartAndLosesNothing() throws Exception {
    Spool spool = Spool.create(testKit.system());
    String q = "supervised-2";
    result(spool.createQueue(q, QueueSettings.defaults()));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("h"));
    Set<Long> handled = ConcurrentHashMap.newKeySet();
    Subscription s = c.subscribe(d -> {
      handled.add(d.sequence());
      return CompletableFuture.completedFuture(Done.getInstance());
    }, 4);
    result(s.ready());
    var publisher = spool.createPublisher(q, "p");
    TestProbe<SpoolEvent> probe = events();
    for (int round = 0; round < 5; round++) {
      result(publisher.publishAll(IntStream.rangeClosed(1, 200).mapToObj(i -> Message.text("t", "x")).toList()));
      crash(spool, q, "h");
    }
    for (int i = 0; i < 5; i++) {
      restarted(probe, q);
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    while (result(c.info()).lag() > 0 && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    ConsumerInfo info = result(c.info());
    assertEquals(0, info.lag());
    assertEquals(1000, handled.size(), "every message handled");
    assertEquals(1000, info.counters().acked(), "each acknowledged once");
    assertEquals(1, info.subscribers(), "the handler is still attached");
  }
}
