package dev.spool.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.ConsumerSettings;
import dev.spool.Delivery;
import dev.spool.Durability;
import dev.spool.Message;
import dev.spool.QueueConsumer;
import dev.spool.QueueInfo;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A persistent partitioned queue on the SQLite journal (1 KiB messages, every tenth round 64 KiB): each partition journals on its own, a
 * restarted engine brings every partition back with the consumer's cursor in each, per-key order
 * goes on where it stopped, and deleting the queue removes every partition's journal.
 */
class PartitionedDurableQueueTest {

  private static <T> T get(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  @Test
  void everyPartitionSurvivesARestartAndOrderPerKeyGoesOn(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("journal").resolve("spool.db");
    byte[] kib = new byte[1024];
    QueueSettings settings = QueueSettings.defaults().withDurability(Durability.PERSISTENT).withPartitions(6);
    Spool first = Spool.start(SqliteDurableQueueTest.config(file, 5));
    get(first.createQueue("orders", settings));
    List<Message> messages = new ArrayList<>();
    for (int n = 0; n < 40; n++) {
      for (int k = 0; k < 10; k++) {
        // Every tenth round carries 64 KiB messages, the rest 1 KiB.
        messages.add(Message.of("order", n % 10 == 0 ? new byte[64 * 1024] : kib).withKey("customer-" + k)
            .withHeader("n", Integer.toString(n)));
      }
    }
    List<Long> published = new ArrayList<>();
    for (int i = 0; i < messages.size(); i += 50) {
      published.addAll(get(first.createPublisher("orders", "shop").publishAll(messages.subList(i, i + 50))));
    }
    QueueConsumer billing = first.createConsumer("orders", ConsumerSettings.named("billing").prefetch(100));
    Map<String, Integer> last = new HashMap<>();
    int acked = 0;
    while (acked < 150) {
      List<Delivery> batch = get(billing.readBatch(Math.min(30, 150 - acked), Duration.ofSeconds(5)));
      acked += inOrder(batch, last);
      get(billing.acknowledgeBatch(batch));
    }
    get(first.shutdown());

    Spool second = Spool.start(SqliteDurableQueueTest.config(file, 5));
    get(second.ready());
    QueueInfo info = get(second.queueInfo("orders"));
    assertEquals(6, info.settings().partitions());
    assertEquals(250, info.stats().depth(), "what the only consumer acknowledged was released, in every partition");
    QueueConsumer again = second.createConsumer("orders", ConsumerSettings.named("billing").prefetch(100));
    Set<Long> rest = new HashSet<>();
    while (acked < 400) {
      List<Delivery> batch = get(again.readBatch(50, Duration.ofSeconds(5)));
      assertTrue(!batch.isEmpty(), "messages remain after " + acked);
      acked += inOrder(batch, last);
      batch.forEach(d -> rest.add(d.sequence()));
      get(again.acknowledgeBatch(batch));
    }
    assertEquals(250, rest.size(), "nothing acknowledged before the restart comes again");
    assertTrue(published.containsAll(rest), "sequences are those publish returned");
    assertEquals(0, get(again.info()).lag());

    get(second.deleteQueue("orders"));
    get(second.shutdown());
    try (Connection c = SqliteFile.connect(file); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT count(*) FROM journal WHERE persistence_id LIKE '%orders#%'")) {
      rs.next();
      assertEquals(0, rs.getLong(1), "every partition's journal is deleted with the queue");
    }
  }

  /** Checks that each key's messages come in the order published; returns how many there were. */
  private static int inOrder(List<Delivery> batch, Map<String, Integer> last) {
    for (Delivery d : batch) {
      String key = d.message().key().orElseThrow();
      int n = Integer.parseInt(d.message().headers().get("n"));
      assertEquals(last.getOrDefault(key, -1) + 1, n, "order of " + key);
      assertEquals(n % 10 == 0 ? 64 * 1024 : 1024, d.message().payload().length, "the payload of " + key + "/" + n);
      last.put(key, n);
    }
    return batch.size();
  }
}
