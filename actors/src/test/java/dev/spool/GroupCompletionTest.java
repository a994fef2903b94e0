package dev.spool;

import static dev.spool.Await.result;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

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

/** GroupCompleted: when a consumer has acknowledged every member of a message group, in any order. */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class GroupCompletionTest {

  @JUnit5TestKit
  ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  private static final AtomicInteger QUEUES = new AtomicInteger();

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
