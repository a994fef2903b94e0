package dev.spool.examples.shop;

import dev.spool.Created;
import dev.spool.QueueInfo;
import dev.spool.QueueSettings;
import dev.spool.actor.QueueManager;
import java.time.Duration;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.StashBuffer;

/**
 * The shop's guardian: declares the {@code orders} queue (with its dead-letter queue) through Spool's
 * manager, then runs the {@link OrderDesk} and the {@link Warehouse} and hands them their requests.
 * Requests that come before the queue exists wait in a bounded stash.
 */
public final class Shop {

  public static final String ORDERS = "orders";
  public static final String DEAD_LETTERS = "orders-dlq";

  /** The shop's requests: an order for the desk, or a question for the warehouse. */
  public sealed interface Command permits Order, Reserved, QueueReady {}

  /** Places an order (see {@link OrderDesk.PlaceOrder}). */
  public record Order(OrderDesk.PlaceOrder order) implements Command {}

  /** Asks what is reserved (see {@link Warehouse.GetReserved}). */
  public record Reserved(Warehouse.GetReserved get) implements Command {}

  private record QueueReady(Throwable failure) implements Command {}

  /** Replies of generic types need their class spelled out for the ask. */
  @SuppressWarnings("unchecked")
  private static final Class<Created<QueueInfo>> CREATED = (Class<Created<QueueInfo>>) (Class<?>) Created.class;

  private Shop() {}

  public static Behavior<Command> create(ActorRef<QueueManager.Command> spool, Map<String, Integer> stock) {
    return Behaviors.withStash(100, stash -> Behaviors.setup(context -> {
      context.<QueueManager.Command, Created<QueueInfo>>askWithStatus(CREATED, spool, Duration.ofSeconds(5),
          replyTo -> new QueueManager.CreateQueue(ORDERS, QueueSettings.defaults().withDeadLetter(DEAD_LETTERS), replyTo),
          (created, failure) -> new QueueReady(failure));
      return starting(context, stash, spool, stock);
    }));
  }

  private static Behavior<Command> starting(ActorContext<Command> context, StashBuffer<Command> stash,
      ActorRef<QueueManager.Command> spool, Map<String, Integer> stock) {
    return Behaviors.receive(Command.class)
        .onMessage(QueueReady.class, ready -> {
          if (ready.failure() != null) {
            throw new IllegalStateException("the orders queue could not be declared", ready.failure());
          }
          ActorRef<OrderDesk.Command> desk = context.spawn(OrderDesk.create(spool), "order-desk");
          ActorRef<Warehouse.Command> warehouse = context.spawn(Warehouse.create(spool, stock), "warehouse");
          return stash.unstashAll(running(desk, warehouse));
        })
        .onAnyMessage(request -> {
          stash.stash(request); // throws StashOverflowException past 100: a shop that cannot start says so
          return Behaviors.same();
        })
        .build();
  }

  private static Behavior<Command> running(ActorRef<OrderDesk.Command> desk, ActorRef<Warehouse.Command> warehouse) {
    return Behaviors.receive(Command.class)
        .onMessage(Order.class, order -> {
          desk.tell(order.order());
          return Behaviors.same();
        })
        .onMessage(Reserved.class, reserved -> {
          warehouse.tell(reserved.get());
          return Behaviors.same();
        })
        .build();
  }
}
