package dev.spool;

import static dev.spool.Await.failure;
import static dev.spool.Await.result;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.SpoolException.Code;
import java.time.Duration;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Declaring (create or find, telling which), handles on existing consumers, nack by sequence. */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class DeclareAndHandleTest {

  @JUnit5TestKit
  ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  @Test
  void declaringTellsWhetherItCreated() {
    Spool spool = Spool.create(testKit.system());
    Created<QueueInfo> first = result(spool.declareQueue("declared", QueueSettings.defaults()));
    Created<QueueInfo> again = result(spool.declareQueue("declared", QueueSettings.defaults()));
    assertTrue(first.created());
    assertFalse(again.created());
    failure(spool.declareQueue("declared", QueueSettings.defaults().withMaxLength(5)), Code.QueueAlreadyExists);
    Created<ConsumerInfo> c = result(spool.declareConsumer("declared", ConsumerSettings.named("c")));
    assertTrue(c.created());
    assertFalse(result(spool.declareConsumer("declared", ConsumerSettings.named("c"))).created());
    failure(spool.declareConsumer("declared", ConsumerSettings.named("c").prefetch(7)), Code.ConsumerAlreadyExists);
  }

  @Test
  void aHandleNeverCreatesAndNacksBySequence() {
    Spool spool = Spool.create(testKit.system());
    result(spool.createQueue("handled", QueueSettings.defaults()));
    failure(spool.consumer("handled", "nobody").info(), Code.ConsumerNotFound);
    failure(spool.consumer("no-such-queue", "nobody").info(), Code.QueueNotFound);
    assertEquals(List.of(), result(spool.listConsumers("handled")), "a handle created nothing");

    result(spool.createConsumer("handled", ConsumerSettings.named("worker")).ready());
    result(spool.createPublisher("handled", "p").publish(Message.text("t", "x")));
    QueueConsumer handle = spool.consumer("handled", "worker");
    Delivery d = result(handle.readBatch(1, Duration.ofSeconds(2))).get(0);
    result(handle.nack(List.of(d.sequence()), false)); // given up on: dropped without a dead-letter queue
    assertEquals(1, result(handle.info()).committed());
    failure(handle.nack(java.util.Arrays.asList(1L, null), true), Code.InvalidConfiguration);
  }
}
