package dev.spool.examples.billing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.spool.Message;
import dev.spool.SpoolEvent;
import dev.spool.testkit.ConsumerProbe;
import dev.spool.testkit.SpoolTestKit;
import dev.spool.testkit.SpoolTestKitExtension;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.Done;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The service against an embedded Spool on manual time: retries and dead-lettering take no real seconds. */
@ExtendWith(SpoolTestKitExtension.class)
class BillingServiceTest {

  /** A gateway that records what it charged and refuses the orders named "declined-…". */
  private static final class FakeGateway implements PaymentGateway {
    final Map<String, Long> charged = new ConcurrentHashMap<>();
    final AtomicInteger calls = new AtomicInteger();

    @Override
    public CompletableFuture<Done> charge(String orderId, long cents) {
      calls.incrementAndGet();
      if (orderId.startsWith("declined-")) {
        return CompletableFuture.failedFuture(new IllegalStateException("card declined"));
      }
      charged.merge(orderId, cents, Long::sum);
      return CompletableFuture.completedFuture(Done.getInstance());
    }
  }

  private final FakeGateway gateway = new FakeGateway();

  @Test
  void everyOrderIsChargedOnceAndAcknowledged(SpoolTestKit kit) {
    BillingService service = kit.result(BillingService.start(kit.spool(), gateway));
    for (int i = 1; i <= 3; i++) {
      kit.result(service.placeOrder("order-" + i, 1000L * i));
    }

    kit.consumer(BillingService.ORDERS, BillingService.CONSUMER).awaitAcknowledged(1, 2, 3).assertNothingDeadLettered();
    assertEquals(Map.of("order-1", 1000L, "order-2", 2000L, "order-3", 3000L), gateway.charged);
  }

  @Test
  void aCheckoutThatRetriesIsNotChargedTwice(SpoolTestKit kit) {
    BillingService service = kit.result(BillingService.start(kit.spool(), gateway));
    long first = kit.result(service.placeOrder("order-7", 700));
    long retried = kit.result(service.placeOrder("order-7", 700));

    assertEquals(first, retried, "the same order id is the same message");
    kit.consumer(BillingService.ORDERS, BillingService.CONSUMER).awaitCaughtUp();
    assertEquals(Map.of("order-7", 700L), gateway.charged);
  }

  @Test
  void aDeclinedOrderIsRetriedThenDeadLetteredWhileTheOthersGoThrough(SpoolTestKit kit) {
    BillingService service = kit.result(BillingService.start(kit.spool(), gateway));
    kit.result(service.placeOrder("order-1", 1000));
    long declined = kit.result(service.placeOrder("declined-2", 2000));
    kit.result(service.placeOrder("order-3", 3000));

    ConsumerProbe billing = kit.consumer(BillingService.ORDERS, BillingService.CONSUMER);
    billing.awaitAcknowledged(1, 3);
    // Each retry waits out the consumer's backoff: move time a second at a time until Spool gives up.
    kit.timePassesUntil(Duration.ofSeconds(1), () -> billing.assertDeadLettered(declined));

    SpoolEvent.DeadLettered dead = billing.deadLettered().get(0);
    assertEquals(BillingService.MAX_ATTEMPTS, dead.attempts());
    assertEquals("max-deliveries", dead.reason());
    assertEquals(2 + BillingService.MAX_ATTEMPTS, gateway.calls.get(), "two charges and three attempts");
    List<Message> copies = billing.deadLetterCopies();
    assertEquals("declined-2:2000", copies.get(0).payloadAsString());
    assertEquals(Map.of("order-1", 1000L, "order-3", 3000L), gateway.charged);
  }
}
