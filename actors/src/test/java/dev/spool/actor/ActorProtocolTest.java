package dev.spool.actor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.AckResult;
import dev.spool.ConsumerInfo;
import dev.spool.ConsumerSettings;
import dev.spool.Created;
import dev.spool.Delivery;
import dev.spool.Message;
import dev.spool.QueueInfo;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import dev.spool.SpoolException;
import dev.spool.actor.ConsumerActor;
import dev.spool.actor.QueueActor;
import dev.spool.actor.QueueManager;
import java.time.Duration;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Actor users talk to the manager directly; every command answers with a StatusReply. */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class ActorProtocolTest {

  @JUnit5TestKit
  ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  @Test
  void theWholeFlowThroughTheManagerProtocol() {
    ActorRef<QueueManager.Command> manager = Spool.create(testKit.system()).queueManager();

    TestProbe<StatusReply<Created<QueueInfo>>> created = testKit.createTestProbe();
    manager.tell(new QueueManager.CreateQueue("proto", QueueSettings.defaults(), created.getRef()));
    assertTrue(created.receiveMessage().getValue().created());
    manager.tell(new QueueManager.CreateQueue("proto", QueueSettings.defaults(), created.getRef()));
    assertEquals(false, created.receiveMessage().getValue().created(), "second create finds it");

    TestProbe<StatusReply<List<Long>>> published = testKit.createTestProbe();
    manager.tell(new QueueManager.ToQueue("proto",
        new QueueActor.Publish("p", List.of(Message.text("t", "a"), Message.text("t", "b")), published.getRef())));
    assertEquals(List.of(1L, 2L), published.receiveMessage().getValue());

    TestProbe<StatusReply<Created<ConsumerInfo>>> consumer = testKit.createTestProbe();
    manager.tell(new QueueManager.ToQueue("proto",
        new QueueActor.CreateConsumer(ConsumerSettings.named("c"), consumer.getRef())));
    assertEquals(2, consumer.receiveMessage().getValue().value().lag());

    TestProbe<StatusReply<List<Delivery>>> read = testKit.createTestProbe();
    manager.tell(new QueueManager.ToQueue("proto", new QueueActor.ToConsumer("c",
        new ConsumerActor.Read(10, Duration.ZERO, read.getRef()))));
    assertEquals(2, read.receiveMessage().getValue().size());

    TestProbe<StatusReply<AckResult>> ack = testKit.createTestProbe();
    manager.tell(new QueueManager.ToQueue("proto", new QueueActor.ToConsumer("c",
        new ConsumerActor.AckUpTo(2, ack.getRef()))));
    assertEquals(2, ack.receiveMessage().getValue().acked());

    manager.tell(new QueueManager.ToQueue("proto", new QueueActor.ToConsumer("ghost",
        new ConsumerActor.AckUpTo(2, ack.getRef()))));
    StatusReply<AckResult> missing = ack.receiveMessage();
    assertTrue(missing.isError());
    assertEquals(SpoolException.Code.ConsumerNotFound, ((SpoolException) missing.getError()).code());
  }
}
