package dev.spool.examples.shop;

import dev.spool.Message;
import dev.spool.actor.QueueActor;
import dev.spool.actor.QueueManager;
import java.time.Duration;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.pattern.StatusReply;

/** Takes orders and publishes each to the {@code orders} queue through Spool's actor protocol. */
public final class OrderDesk extends AbstractBehavior<OrderDesk.Command> {

  public interface Command {}

  /** An order: answered with its sequence in {@code orders} once Spool holds it. */
  public record PlaceOrder(String sku, int quantity, ActorRef<StatusReply<Long>> replyTo) implements Command {}

  private record Published(List<Long> sequences, Throwable failure, ActorRef<StatusReply<Long>> replyTo)
      implements Command {}

  /** Replies of generic types need their class spelled out for the ask. */
  @SuppressWarnings("unchecked")
  private static final Class<List<Long>> SEQUENCES = (Class<List<Long>>) (Class<?>) List.class;

  private final ActorRef<QueueManager.Command> spool;

  private OrderDesk(ActorContext<Command> context, ActorRef<QueueManager.Command> spool) {
    super(context);
    this.spool = spool;
  }

  public static Behavior<Command> create(ActorRef<QueueManager.Command> spool) {
    return Behaviors.setup(context -> new OrderDesk(context, spool));
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(PlaceOrder.class, this::onPlaceOrder)
        .onMessage(Published.class, this::onPublished)
        .build();
  }

  private Behavior<Command> onPlaceOrder(PlaceOrder order) {
    Message message = Message.text("order.placed", order.sku() + ":" + order.quantity()).withKey(order.sku());
    // Every Spool command carries an ActorRef<StatusReply<T>>; askWithStatus adapts the reply to our protocol.
    getContext().<QueueManager.Command, List<Long>>askWithStatus(SEQUENCES, spool, Duration.ofSeconds(5),
        replyTo -> new QueueManager.ToQueue(Shop.ORDERS, new QueueActor.Publish("order-desk", List.of(message), replyTo)),
        (sequences, failure) -> new Published(sequences, failure, order.replyTo()));
    return this;
  }

  private Behavior<Command> onPublished(Published published) {
    published.replyTo().tell(published.failure() == null
        ? StatusReply.success(published.sequences().get(0))
        : StatusReply.error(published.failure()));
    return this;
  }
}
