package dev.spool.examples.shop;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.spool.SpoolEvent;
import dev.spool.testkit.ConsumerProbe;
import dev.spool.testkit.SpoolTestKit;
import dev.spool.testkit.SpoolTestKitExtension;
import java.time.Duration;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(SpoolTestKitExtension.class)
class ShopTest {

  private static long place(SpoolTestKit kit, ActorRef<Shop.Command> shop, String sku, int quantity) {
    return kit.result(AskPattern.<Shop.Command, Long>askWithStatus(shop,
        replyTo -> new Shop.Order(new OrderDesk.PlaceOrder(sku, quantity, replyTo)),
        Duration.ofSeconds(5), kit.system().scheduler()));
  }

  private static Map<String, Integer> reserved(SpoolTestKit kit, ActorRef<Shop.Command> shop) {
    return kit.result(AskPattern.<Shop.Command, Map<String, Integer>>ask(shop,
        replyTo -> new Shop.Reserved(new Warehouse.GetReserved(replyTo)), Duration.ofSeconds(5), kit.system().scheduler()));
  }

  @Test
  void ordersInStockAreReservedAndAcknowledgedAndTheRestDeadLettered(SpoolTestKit kit) {
    ActorRef<Shop.Command> shop = kit.system().systemActorOf(
        Shop.create(kit.spool().queueManager(), Map.of("widget", 10, "gadget", 2)), "shop", Props.empty());

    assertEquals(1, place(kit, shop, "widget", 3));
    assertEquals(2, place(kit, shop, "gadget", 2));
    assertEquals(3, place(kit, shop, "gadget", 1)); // none left
    assertEquals(4, place(kit, shop, "widget", 7));

    ConsumerProbe warehouse = kit.consumer(Shop.ORDERS, Warehouse.CONSUMER);
    warehouse.awaitAcknowledged(1, 2, 4);
    SpoolEvent.DeadLettered refused = warehouse.awaitDeadLettered(3).get(0);
    assertEquals("rejected", refused.reason());
    assertEquals(Shop.DEAD_LETTERS, refused.deadLetterQueue());
    assertEquals("gadget:1", warehouse.deadLetterCopies().get(0).payloadAsString());
    assertEquals(Map.of("widget", 10, "gadget", 2), reserved(kit, shop));
  }
}
