package dev.spool.examples.shop;

import dev.spool.AckResult;
import dev.spool.ConsumerInfo;
import dev.spool.ConsumerSettings;
import dev.spool.Created;
import dev.spool.Delivery;
import dev.spool.actor.ConsumerActor;
import dev.spool.actor.QueueActor;
import dev.spool.actor.QueueManager;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.pattern.StatusReply;

/**
 * Reserves stock for each order: the consumer {@code warehouse} of {@code orders}, with this actor
 * subscribed to it. An order that can be served is reserved and acknowledged; one that cannot (an
 * unknown item, or more than is in stock) is nacked without requeue, so Spool moves it to
 * {@code orders-dlq} at once.
 */
public final class Warehouse extends AbstractBehavior<Warehouse.Command> {

  public static final String CONSUMER = "warehouse";

  public interface Command {}

  /** What is reserved so far, per item. */
  public record GetReserved(ActorRef<Map<String, Integer>> replyTo) implements Command {}

  private record Delivered(Delivery delivery) implements Command {}

  private record ConsumerCreated(Throwable failure) implements Command {}

  private record Settled(Throwable failure) implements Command {}

  /** Replies of generic types need their class spelled out for the ask. */
  @SuppressWarnings("unchecked")
  private static final Class<Created<ConsumerInfo>> CREATED = (Class<Created<ConsumerInfo>>) (Class<?>) Created.class;

  private final ActorRef<QueueManager.Command> spool;
  private final Map<String, Integer> stock;
  private final Map<String, Integer> reserved = new HashMap<>();

  private Warehouse(ActorContext<Command> context, ActorRef<QueueManager.Command> spool, Map<String, Integer> stock) {
    super(context);
    this.spool = spool;
    this.stock = new HashMap<>(stock);
  }

  public static Behavior<Command> create(ActorRef<QueueManager.Command> spool, Map<String, Integer> stock) {
    return Behaviors.setup(context -> {
      Warehouse warehouse = new Warehouse(context, spool, stock);
      warehouse.subscribe();
      return warehouse;
    });
  }

  /** Creates the consumer (idempotently); once it exists, this actor subscribes to it. */
  private void subscribe() {
    getContext().<QueueManager.Command, Created<ConsumerInfo>>askWithStatus(CREATED, spool, Duration.ofSeconds(5),
        replyTo -> new QueueManager.ToQueue(Shop.ORDERS,
            new QueueActor.CreateConsumer(ConsumerSettings.named(CONSUMER).prefetch(32), replyTo)),
        (created, failure) -> new ConsumerCreated(failure));
  }

  private Behavior<Command> onConsumerCreated(ConsumerCreated created) {
    if (created.failure() != null) {
      throw new IllegalStateException("the warehouse consumer could not be created", created.failure());
    }
    // Deliveries arrive as messages of this actor; at most the consumer's prefetch are unacknowledged.
    ActorRef<Delivery> deliveries = getContext().messageAdapter(Delivery.class, Delivered::new);
    getContext().<QueueManager.Command, Done>askWithStatus(Done.class, spool, Duration.ofSeconds(5),
        replyTo -> toConsumer(new ConsumerActor.Subscribe(deliveries, replyTo)),
        (subscribed, failure) -> new Settled(failure));
    return this;
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(ConsumerCreated.class, this::onConsumerCreated)
        .onMessage(Delivered.class, this::onDelivered)
        .onMessage(GetReserved.class, this::onGetReserved)
        .onMessage(Settled.class, this::onSettled)
        .build();
  }

  private Behavior<Command> onDelivered(Delivered delivered) {
    Delivery delivery = delivered.delivery();
    String[] order = delivery.message().payloadAsString().split(":");
    String sku = order[0];
    int quantity = Integer.parseInt(order[1]);
    long sequence = delivery.sequence();
    if (stock.getOrDefault(sku, 0) >= quantity) {
      stock.merge(sku, -quantity, Integer::sum);
      reserved.merge(sku, quantity, Integer::sum);
      getContext().<QueueManager.Command, AckResult>askWithStatus(AckResult.class, spool, Duration.ofSeconds(5),
          replyTo -> toConsumer(new ConsumerActor.Ack(List.of(sequence), replyTo)),
          (acked, failure) -> new Settled(failure));
    } else {
      getContext().<QueueManager.Command, Integer>askWithStatus(Integer.class, spool, Duration.ofSeconds(5),
          replyTo -> toConsumer(new ConsumerActor.Nack(List.of(sequence), false, replyTo)),
          (nacked, failure) -> new Settled(failure));
    }
    return this;
  }

  private Behavior<Command> onGetReserved(GetReserved get) {
    get.replyTo().tell(Map.copyOf(reserved));
    return this;
  }

  private Behavior<Command> onSettled(Settled settled) {
    if (settled.failure() != null) {
      // Spool redelivers what was not acknowledged (after the ack timeout): nothing is lost, so log and go on.
      getContext().getLog().warn("Spool refused a warehouse request: {}", settled.failure().getMessage());
    }
    return this;
  }

  private static QueueManager.Command toConsumer(ConsumerActor.Command command) {
    return new QueueManager.ToQueue(Shop.ORDERS, new QueueActor.ToConsumer(CONSUMER, command));
  }
}
