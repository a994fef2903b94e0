package dev.spool.examples.shop;

import dev.spool.Spool;
import java.time.Duration;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/** Runs the shop on an actor system of its own with Spool on it: {@code mvn -B compile exec:java}. */
public final class Main {

  private Main() {}

  public static void main(String[] args) {
    ActorSystem<Shop.Command> system = ActorSystem.create(Behaviors.setup(context ->
        Shop.create(Spool.create(context.getSystem()).queueManager(), Map.of("widget", 10, "gadget", 2))), "shop");
    ActorRef<Shop.Command> shop = system;
    for (String order : new String[] {"widget:3", "gadget:1", "gadget:5"}) {
      String[] parts = order.split(":");
      long sequence = AskPattern.<Shop.Command, Long>askWithStatus(shop,
          replyTo -> new Shop.Order(new OrderDesk.PlaceOrder(parts[0], Integer.parseInt(parts[1]), replyTo)),
          Duration.ofSeconds(5), system.scheduler()).toCompletableFuture().join();
      System.out.println("order " + order + " is message " + sequence);
    }
    system.terminate();
  }
}
