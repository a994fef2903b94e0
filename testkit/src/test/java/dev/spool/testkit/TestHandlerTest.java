package dev.spool.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.ConsumerSettings;
import dev.spool.Delivery;
import dev.spool.Message;
import dev.spool.QueueConsumer;
import dev.spool.QueueSettings;
import dev.spool.SpoolEvent;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.pekko.Done;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(SpoolTestKitExtension.class)
class TestHandlerTest {

  private static final String KIB = "x".repeat(1024);

  @Test
  void aPoisonMessageIsRetriedThenDeadLetteredWhileTheOthersAreAcknowledged(SpoolTestKit kit) {
    String q = SpoolTestKit.uniqueName("orders");
    kit.createQueue(q, QueueSettings.defaults().withDeadLetter(q + "-dlq", 3));
    ConcurrentLinkedQueue<String> charged = new ConcurrentLinkedQueue<>();
    TestHandler handler = TestHandler.around(d -> {
      charged.add(d.message().payloadAsString());
      return CompletableFuture.completedFuture(Done.getInstance());
    }).failWhen(d -> d.message().type().equals("order.poison"));
    QueueConsumer billing = kit.spool().createConsumer(q, ConsumerSettings.named("billing"));
    kit.result(billing.subscribe(handler, 2).ready());

    kit.publish(q, Message.text("order.created", "1" + KIB), Message.text("order.poison", "2" + KIB),
        Message.text("order.created", "3" + KIB));

    ConsumerProbe probe = kit.consumer(q, "billing");
    kit.timePassesUntil(Duration.ofSeconds(1), () -> probe.assertDeadLettered(2));
    probe.awaitAcknowledged(1, 3);
    // Two calls at once: the good ones may complete in either order.
    assertEquals(List.of("1" + KIB, "3" + KIB), charged.stream().sorted().toList(), "the poison never reached the handler");
    assertEquals(3, handler.injected(), "three attempts, all failed by the kit");
    assertEquals(List.of(2L, 2L, 2L), handler.failed().stream().map(Delivery::sequence).toList());
    assertEquals(List.of(1L, 3L), handler.succeeded().stream().map(Delivery::sequence).sorted().toList());

    SpoolEvent.DeadLettered dead = probe.deadLettered().get(0);
    assertEquals("max-deliveries", dead.reason());
    assertEquals(3, dead.attempts());
    Message copy = probe.deadLetterCopies().get(0);
    assertEquals("2" + KIB, copy.payloadAsString());
    assertTrue(copy.headers().get("x-death-history").contains("InjectedFailure"), copy.headers().toString());
  }

  @Test
  void failFirstAttemptsFailsEachMessageOnceThenLetsItThrough(SpoolTestKit kit) {
    String q = SpoolTestKit.uniqueName("orders");
    kit.createQueue(q);
    TestHandler handler = TestHandler.acknowledging().failFirstAttempts(1);
    kit.result(kit.spool().createConsumer(q, ConsumerSettings.named("c")).subscribe(handler, 1).ready());
    kit.publishText(q, "t", KIB, KIB);

    kit.timePassesUntil(Duration.ofSeconds(1), () -> assertEquals(2, handler.succeeded().size()));
    assertEquals(List.of(1, 1), handler.failed().stream().map(Delivery::attempt).toList());
    assertEquals(List.of(2, 2), handler.succeeded().stream().map(Delivery::attempt).toList());
    kit.consumer(q, "c").awaitCaughtUp();
  }

  @Test
  void aHangingCallIsTimedOutWhenTimePassesAndTheMessageComesBack(SpoolTestKit kit) {
    String q = SpoolTestKit.uniqueName("orders");
    kit.createQueue(q);
    TestHandler handler = TestHandler.acknowledging().hangWhen(d -> d.attempt() == 1);
    kit.result(kit.spool().createConsumer(q, ConsumerSettings.named("c").ackTimeout(Duration.ofSeconds(5)))
        .subscribe(handler, 1).ready());
    kit.publishText(q, "t", KIB);
    handler.awaitCalls(1);
    assertEquals(1, handler.deliveries(TestHandler.Outcome.RUNNING).size(), "the first call hangs");
    kit.consumer(q, "c").assertNotAcknowledged(1);

    kit.timePassesUntil(Duration.ofSeconds(6), () -> assertEquals(1, handler.succeeded().size()));
    assertEquals(2, handler.succeeded().get(0).attempt());
    kit.consumer(q, "c").awaitAcknowledged(1);
  }

  @Test
  void failNextFailsThatManyCallsThenHeals(SpoolTestKit kit) {
    String q = SpoolTestKit.uniqueName("orders");
    kit.createQueue(q);
    TestHandler handler = TestHandler.acknowledging().failNext(2);
    kit.result(kit.spool().createConsumer(q, ConsumerSettings.named("c")).subscribe(handler, 1).ready());
    kit.publishText(q, "t", KIB);
    kit.timePassesUntil(Duration.ofSeconds(1), () -> assertEquals(1, handler.succeeded().size()));
    assertEquals(List.of(1, 2), handler.failed().stream().map(Delivery::attempt).toList());
    assertEquals(3, handler.succeeded().get(0).attempt());
  }
}
