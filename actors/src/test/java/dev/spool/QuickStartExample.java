package dev.spool;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The README's embedded quick start, runnable: one queue, a publisher, two independent consumers.
 * Run it with {@code mvn -q -pl actors test -Dtest=QuickStartExampleTest}, or call {@link #main}.
 */
public final class QuickStartExample {

  private QuickStartExample() {}

  public static void main(String[] args) {
    run().forEach(System.out::println);
  }

  /** Runs the quick start and returns what the consumers printed. */
  static List<String> run() {
    List<String> out = new ArrayList<>();
    // #quick-start
    Spool spool = Spool.start(ConfigFactory.load());
    spool.createQueue("orders", QueueSettings.defaults()).toCompletableFuture().join();

    QueuePublisher checkout = spool.createPublisher("orders", "checkout");
    checkout.publish(Message.text("order.created", "{\"id\":7}").withKey("c-7")).toCompletableFuture().join();

    // Two consumers, each with its own cursor: both get every message.
    QueueConsumer billing = spool.createConsumer("orders", ConsumerSettings.named("billing"));
    QueueConsumer shipping = spool.createConsumer("orders",
        ConsumerSettings.named("shipping").startAt(StartPosition.earliest()).prefetch(500));

    for (QueueConsumer consumer : List.of(billing, shipping)) {
      List<Delivery> batch = consumer.readBatch(100, Duration.ofSeconds(5)).toCompletableFuture().join();
      for (Delivery d : batch) {
        out.add(consumer.name() + " got #" + d.sequence() + " " + d.message().type() + " " + d.message().payloadAsString());
      }
      consumer.acknowledgeBatch(batch).toCompletableFuture().join(); // at-least-once: ack when done
    }
    out.add("billing lag: " + spool.consumerLag("orders", "billing").toCompletableFuture().join());
    spool.shutdown().toCompletableFuture().join();
    // #quick-start
    return out;
  }
}
