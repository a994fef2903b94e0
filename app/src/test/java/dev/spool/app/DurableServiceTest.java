package dev.spool.app;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spool.ConsumerSettings;
import dev.spool.Delivery;
import dev.spool.Durability;
import dev.spool.Message;
import dev.spool.QueueConsumer;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The service's own configuration: durable queues on the embedded SQLite journal in the data directory. */
class DurableServiceTest {

  private static <T> T get(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private static Config config(Path dir) {
    return ConfigFactory.load(ConfigFactory.parseMap(Map.of("spool.data-dir", dir.toString(), "spool.http.port", 0))
        .withFallback(ConfigFactory.parseResourcesAnySyntax("application")));
  }

  @Test
  void aDurableQueueOutlivesAGracefulRestartOfTheService(@TempDir Path dir) throws Exception {
    Spool first = Main.init(config(dir)).spool();
    get(first.createQueue("invoices", QueueSettings.defaults().withDurability(Durability.PERSISTENT)));
    List<Long> sequences = get(first.createPublisher("invoices", "billing")
        .publishAll(List.of(Message.text("invoice", "one"), Message.text("invoice", "two"))));
    QueueConsumer reader = first.createConsumer("invoices", ConsumerSettings.named("mailer"));
    Delivery d = get(reader.readBatch(1, Duration.ofSeconds(5))).get(0);
    get(reader.acknowledge(d));
    get(first.shutdown());
    assertEquals(true, Files.exists(dir.resolve("journal").resolve("spool.db")), "the journal is in the data directory");

    Spool second = Main.init(config(dir)).spool();
    get(second.ready());
    assertEquals(sequences.subList(1, 2), get(second.browse("invoices", 1, 10)).stream().map(Message::sequence).toList(),
        "the first, acknowledged by the only consumer, was released");
    List<Delivery> rest = get(second.createConsumer("invoices", ConsumerSettings.named("mailer"))
        .readBatch(10, Duration.ofSeconds(5)));
    assertEquals(List.of("two"), rest.stream().map(x -> x.message().payloadAsString()).toList());
    get(second.shutdown());
  }
}
