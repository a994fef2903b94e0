package dev.spool.engine;

import static dev.spool.engine.Await.result;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.spool.Backoff;
import dev.spool.ConsumerSettings;
import dev.spool.Delivery;
import dev.spool.Message;
import dev.spool.MessageTrace;
import dev.spool.QueueConsumer;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import dev.spool.SpoolEvent;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Per-message delivery traces and GroupCompleted. */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class TraceAndGroupsTest {

  @JUnit5TestKit
  ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  private static final AtomicInteger QUEUES = new AtomicInteger();

  private static List<String> events(MessageTrace trace, String consumer) {
    return trace.entries().stream()
        .filter(e -> consumer == null ? e.consumer() == null : consumer.equals(e.consumer()))
        .map(e -> e.event() + (e.attempt() > 0 ? "#" + e.attempt() : ""))
        .toList();
  }

  @Test
  void aMessageTraceShowsEachDeliveryAttemptAndItsOutcomePerConsumer() {
    Spool spool = Spool.create(testKit.system());
    String q = "trace-" + QUEUES.incrementAndGet();
    result(spool.createQueue(q, QueueSettings.defaults()));
    long seq = result(spool.createPublisher(q, "p").publish(Message.text("t", "x")));
    Backoff fast = Backoff.exponential(Duration.ofMillis(1), Duration.ofMillis(5), 2.0, 0);
    QueueConsumer a = spool.createConsumer(q, ConsumerSettings.named("a").backoff(fast));
    QueueConsumer b = spool.createConsumer(q, ConsumerSettings.named("b"));
    result(b.ready());

    Delivery first = result(a.read()).orElseThrow();
    result(a.nack(first, true));
    Delivery second = result(a.readBatch(1, Duration.ofSeconds(5))).get(0);
    assertEquals(2, second.attempt());
    MessageTrace inFlight = result(spool.messageTrace(q, seq));
    assertEquals(List.of("delivered#1", "nacked#1", "delivered#2", "in-flight#2"), events(inFlight, "a"));
    result(a.acknowledge(second));

    MessageTrace trace = result(spool.messageTrace(q, seq));
    assertEquals(seq, trace.message().sequence());
    assertEquals(List.of("appended"), events(trace, null));
    assertEquals("appended", trace.entries().get(0).event(), "appended comes first");
    assertEquals(List.of("delivered#1", "nacked#1", "delivered#2", "acked"), events(trace, "a"));
    assertEquals(List.of("pending"), events(trace, "b"), "b has not read it yet");
    MessageTrace.Entry delivered = trace.entries().stream().filter(e -> e.event().equals("delivered")).findFirst()
        .orElseThrow();
    assertEquals("pull", delivered.subscriber());
    assertNotNull(delivered.at());
    assertNull(trace.entries().stream().filter(e -> e.event().equals("pending")).findFirst().orElseThrow().at());
  }

  @Test
  void groupCompletedComesWhenAConsumerHasAcknowledgedEveryMemberOfAGroup() {
    Spool spool = Spool.create(testKit.system());
    String q = "groups-" + QUEUES.incrementAndGet();
    result(spool.createQueue(q, QueueSettings.defaults()));
    TestProbe<SpoolEvent> probe = Events.probe(testKit);
    List<Message> batch = List.of(
        Message.text("t", "g1-a").withHeader("group-id", "g1").withHeader("group-size", "3"),
        Message.text("t", "g2-a").withHeader("group-id", "g2").withHeader("group-size", "2"),
        Message.text("t", "g1-b").withHeader("group-id", "g1"),
        Message.text("t", "loose"),
        Message.text("t", "g1-c").withHeader("group-id", "g1"),
        Message.text("t", "g2-b").withHeader("group-id", "g2"));
    result(spool.createPublisher(q, "p").publishAll(batch));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c"));
    List<Delivery> all = result(c.readBatch(10));
    assertEquals(6, all.size());
    // Acknowledge g1's last two members and g2's second first: no group is complete yet.
    result(c.acknowledgeBatch(List.of(all.get(2), all.get(4), all.get(5), all.get(3))));
    probe.expectNoMessage(Duration.ofMillis(200));
    result(c.acknowledge(all.get(0))); // completes g1
    SpoolEvent.GroupCompleted g1 = Events.next(probe, SpoolEvent.GroupCompleted.class, e -> e.queue().equals(q));
    assertEquals("g1", g1.groupId());
    assertEquals(3, g1.groupSize());
    assertEquals("c", g1.consumer());
    assertEquals(0, result(c.acknowledge(all.get(0))), "acknowledging again counts nothing");
    result(c.acknowledgeUpTo(all.get(1).sequence())); // completes g2
    SpoolEvent.GroupCompleted g2 = Events.next(probe, SpoolEvent.GroupCompleted.class, e -> e.queue().equals(q));
    assertEquals("g2", g2.groupId());
    await().until(() -> result(c.info()).lag() == 0);
  }
}
