package dev.spool.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.Backoff;
import dev.spool.ConsumerSettings;
import dev.spool.Delivery;
import dev.spool.Message;
import dev.spool.QueueConsumer;
import dev.spool.SpoolEvent;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SpoolTestKitTest {

  private static final String KIB = "x".repeat(1024);

  private final SpoolTestKit kit = SpoolTestKit.create();

  @AfterEach
  void close() {
    kit.close();
  }

  @Test
  void timePassesMovesTheEnginesClockAndFiresItsTimersAtOnce() {
    String q = SpoolTestKit.uniqueName("orders");
    kit.createQueue(q);
    long published = kit.publishText(q, "order.created", KIB).get(0);
    assertEquals(ManualClock.START, kit.clock().instant());
    assertEquals(ManualClock.START.toEpochMilli(), kit.awaitMessages(q, 1).get(0).timestamp(),
        "the engine stamps appends with the kit's clock");

    QueueConsumer c = kit.spool().createConsumer(q, ConsumerSettings.named("billing")
        .backoff(Backoff.exponential(Duration.ofSeconds(2), Duration.ofSeconds(60), 2.0, 0.0)));
    Delivery first = kit.result(c.readBatch(1)).get(0);
    kit.result(c.nack(first, true));

    kit.timePasses(Duration.ofMillis(1900));
    kit.consumer(q, "billing").info(); // the consumer has handled the tick before it is read
    assertEquals(List.of(), kit.result(c.readBatch(1)), "no redelivery before the backoff ends");
    kit.timePasses(Duration.ofMillis(200));
    kit.consumer(q, "billing").info();
    Delivery again = kit.result(c.readBatch(1)).get(0);
    assertEquals(published, again.sequence());
    assertEquals(2, again.attempt());
    assertEquals(ManualClock.START.plusMillis(2100), kit.clock().instant());
  }

  @Test
  void awaitMessagesBrowsesWhatAQueueHoldsWithoutAConsumer() {
    String q = SpoolTestKit.uniqueName("out");
    kit.createQueue(q);
    kit.publishText(q, "t", "a", "b", "c");
    List<Message> messages = kit.awaitMessages(q, 2);
    assertEquals(List.of("a", "b"), messages.stream().map(Message::payloadAsString).toList());
    assertEquals(0, kit.result(kit.spool().listConsumers(q)).size(), "browsing created no consumer");
    assertThrows(AssertionError.class, () -> kit.withAwaitTimeout(Duration.ofMillis(200)).awaitMessages(q, 4));
  }

  @Test
  void receiveReadsAndAcknowledgesThroughItsOwnConsumer() {
    String q = SpoolTestKit.uniqueName("out");
    kit.createQueue(q);
    kit.publish(q, Message.text("t", KIB).withKey("k1"), Message.text("t", "y".repeat(64 * 1024)));
    List<Delivery> received = kit.receive(q, "reader", 2);
    assertEquals(List.of(1L, 2L), received.stream().map(Delivery::sequence).toList());
    assertEquals(64 * 1024, received.get(1).message().payload().length);
    assertEquals(2, kit.consumer(q, "reader").awaitCaughtUp().counters().acked());
  }

  @Test
  void theConsumerProbeTellsAcknowledgedFromDeliveredOnly() {
    String q = SpoolTestKit.uniqueName("orders");
    kit.createQueue(q);
    kit.publishText(q, "t", KIB, KIB, KIB);
    QueueConsumer c = kit.spool().createConsumer(q, ConsumerSettings.named("billing"));
    List<Delivery> batch = kit.result(c.readBatch(3));
    kit.result(c.acknowledge(batch.get(1)));

    ConsumerProbe probe = kit.consumer(q, "billing");
    probe.awaitAcknowledged(2).assertNotAcknowledged(1).assertNotAcknowledged(3);
    assertEquals(List.of(1), probe.deliveryAttempts(1));
    assertThrows(AssertionError.class, () -> kit.withAwaitTimeout(Duration.ofMillis(200)).consumer(q, "billing")
        .awaitAcknowledged(1));

    kit.result(c.acknowledgeBatch(batch));
    kit.result(kit.spool().collectGarbage());
    assertTrue(probe.trace(1).isEmpty(), "released once acknowledged");
    probe.awaitAcknowledged(1, 2, 3).assertNothingDeadLettered();
  }

  @Test
  void anAwaitNamesWhatItLastSaw() {
    String q = SpoolTestKit.uniqueName("orders");
    kit.createQueue(q);
    kit.publishText(q, "t", KIB);
    kit.spool().createConsumer(q, ConsumerSettings.named("idle"));
    AssertionError failure = assertThrows(AssertionError.class,
        () -> kit.withAwaitTimeout(Duration.ofMillis(200)).consumer(q, "idle").awaitAcknowledgedCount(1));
    assertTrue(failure.getMessage().contains("acked=0"), failure.getMessage());
  }

  @Test
  void eventsAreRecordedFromTheStart() {
    String q = SpoolTestKit.uniqueName("orders");
    kit.createQueue(q);
    SpoolEvent.QueueCreated created = kit.awaitEvent(SpoolEvent.QueueCreated.class, e -> e.queue().equals(q));
    assertEquals(q, created.queue());
  }

  @Test
  void aRealTimeKitRunsOnTheSystemClockAndRefusesToMoveTime() {
    try (SpoolTestKit real = SpoolTestKit.realTime()) {
      assertFalse(real.isManualTime());
      assertFalse(real.clock() instanceof ManualClock);
      assertThrows(IllegalStateException.class, () -> real.timePasses(Duration.ofSeconds(1)));
      String q = SpoolTestKit.uniqueName("orders");
      real.createQueue(q);
      QueueConsumer c = real.spool().createConsumer(q, ConsumerSettings.named("c"));
      // A long-poll that ends by its own timer: only real time ends it.
      assertEquals(List.of(), real.result(c.readBatch(10, Duration.ofMillis(100))));
    }
  }
}
