package dev.spool.examples.billing;

import dev.spool.ConsumerSettings;
import dev.spool.Delivery;
import dev.spool.Message;
import dev.spool.QueueConsumer;
import dev.spool.QueuePublisher;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import dev.spool.Subscription;
import java.nio.charset.StandardCharsets;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;

/**
 * Takes orders and charges them, through Spool's {@code CompletionStage} API: {@link #placeOrder}
 * publishes to {@code orders}; a handler subscription on the consumer {@code billing} charges each
 * order. A charge that fails is retried after a backoff; after three attempts the order goes to the
 * dead-letter queue {@code orders-dlq}, where an operator can look at it and redrive it.
 */
public final class BillingService {

  public static final String ORDERS = "orders";
  public static final String DEAD_LETTERS = "orders-dlq";
  public static final String CONSUMER = "billing";
  /** Attempts before an order is dead-lettered. */
  public static final int MAX_ATTEMPTS = 3;

  private final PaymentGateway gateway;
  private final QueuePublisher publisher;
  private final Subscription subscription;

  private BillingService(Spool spool, PaymentGateway gateway) {
    this.gateway = gateway;
    this.publisher = spool.createPublisher(ORDERS, "checkout");
    QueueConsumer billing = spool.createConsumer(ORDERS, ConsumerSettings.named(CONSUMER).prefetch(64));
    // At most 8 charges at once; Spool runs them on its handler pool, apart from the actors.
    this.subscription = billing.subscribe(this::charge, 8);
  }

  /** Creates the queues (idempotently) and starts charging; completes once the handler is attached. */
  public static CompletionStage<BillingService> start(Spool spool, PaymentGateway gateway) {
    return spool.createQueue(ORDERS, QueueSettings.defaults().withDeadLetter(DEAD_LETTERS, MAX_ATTEMPTS))
        .thenCompose(queue -> {
          BillingService service = new BillingService(spool, gateway);
          return service.subscription.ready().thenApply(id -> service);
        });
  }

  /** Publishes an order; completes with its sequence once Spool holds it. */
  public CompletionStage<Long> placeOrder(String orderId, long cents) {
    // The order id as the message id: a checkout that retries after a timeout is deduplicated.
    UUID id = UUID.nameUUIDFromBytes(orderId.getBytes(StandardCharsets.UTF_8));
    return publisher.publish(Message.text("order.created", orderId + ":" + cents).withKey(orderId).withId(id));
  }

  /**
   * The handler: a completed stage acknowledges the order; a thrown exception or a failed stage
   * nacks it, and Spool retries it after the consumer's backoff.
   */
  CompletionStage<Done> charge(Delivery delivery) {
    String[] order = delivery.message().payloadAsString().split(":");
    if (order.length != 2) {
      return CompletableFuture.failedFuture(new IllegalArgumentException("not an order: " + delivery.sequence()));
    }
    return gateway.charge(order[0], Long.parseLong(order[1]));
  }

  /** Detaches the handler; charges in flight finish first. */
  public CompletionStage<Done> stop() {
    return subscription.cancel();
  }
}
