package dev.spool.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spool.ConsumerSettings;
import dev.spool.Delivery;
import dev.spool.Durability;
import dev.spool.Message;
import dev.spool.QueueConsumer;
import dev.spool.QueuePublisher;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Durable queues on the SQLite journal end to end: an engine publishes 1 KiB messages through
 * enough writes for several snapshots and event deletions, a consumer acknowledges some, and a new
 * engine on the same file finds exactly what was retained and where the consumer stood.
 */
class SqliteDurableQueueTest {

  static Config config(Path file, int snapshotEvery) {
    return ConfigFactory.parseMap(Map.of(
            "spool.journal.sqlite.path", file.toString(),
            "spool.persistence.journal-plugin", "spool.journal.sqlite.journal",
            "spool.persistence.snapshot-plugin", "spool.journal.sqlite.snapshot-store",
            "spool.persistence.snapshot-every", snapshotEvery))
        .withFallback(ConfigFactory.load());
  }

  private static <T> T get(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  @Test
  void whatWasConfirmedSurvivesARestartThroughSnapshotsAndDeletions(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("journal").resolve("spool.db");
    byte[] payload = new byte[1024];
    Arrays.fill(payload, (byte) 'x');
    Spool first = Spool.start(config(file, 5));
    get(first.createQueue("orders", QueueSettings.defaults().withDurability(Durability.PERSISTENT)));
    QueuePublisher publisher = first.createPublisher("orders", "shop");
    List<Long> sequences = new ArrayList<>();
    for (int batch = 0; batch < 40; batch++) {
      List<Message> messages = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        messages.add(Message.of("order", payload));
      }
      sequences.addAll(get(publisher.publishAll(messages)));
    }
    QueueConsumer reader = first.createConsumer("orders", ConsumerSettings.named("billing").prefetch(100));
    int acked = 0;
    while (acked < 150) {
      for (Delivery d : get(reader.readBatch(50, Duration.ofSeconds(5)))) {
        get(reader.acknowledge(d));
        acked++;
      }
    }
    get(first.shutdown());

    try (Connection c = SqliteStore.connect(file); Statement s = c.createStatement()) {
      assertTrue(count(s, "SELECT count(*) FROM snapshot") >= 1, "snapshots were written");
      assertTrue(count(s, "SELECT count(*) FROM journal") < 40, "events before the snapshots were deleted");
    }

    Spool second = Spool.start(config(file, 5));
    get(second.ready());
    List<Message> retained = get(second.browse("orders", 1, 1000));
    assertEquals(sequences, retained.stream().map(Message::sequence).toList());
    assertTrue(retained.stream().allMatch(m -> Arrays.equals(payload, m.payload())));
    QueueConsumer again = second.createConsumer("orders", ConsumerSettings.named("billing").prefetch(100));
    List<Delivery> next = get(again.readBatch(1, Duration.ofSeconds(5)));
    assertEquals(sequences.get(150), next.get(0).sequence(), "the consumer goes on after what it acknowledged");
    get(second.shutdown());
  }

  private static long count(Statement s, String sql) throws Exception {
    try (ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
