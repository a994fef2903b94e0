package dev.spool.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spool.ConsumerSettings;
import dev.spool.Delivery;
import dev.spool.Durability;
import dev.spool.Message;
import dev.spool.QueueConsumer;
import dev.spool.QueueInfo;
import dev.spool.QueuePublisher;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A persistent queue on the embedded journal with tiered storage, end to end: its backlog goes to
 * segment rows and leaves the heap, a consumer far behind reads it back in order with exact
 * payloads, a new engine on the same file recovers it from the rows' indexes (not from the
 * journal), and deleting the queue deletes its rows.
 */
class TieredQueueTest {

  private static final int MESSAGES = 20_000;

  static Config config(Path file) {
    return ConfigFactory.parseMap(Map.of(
            "spool.journal.sqlite.path", file.toString(),
            "spool.persistence.journal-plugin", "spool.journal.sqlite.journal",
            "spool.persistence.snapshot-plugin", "spool.journal.sqlite.snapshot-store",
            "spool.storage.segment-store", "sqlite",
            // a small hot share, so that nearly all of the backlog leaves the heap
            "spool.storage.hot-bytes-per-queue", "2MiB",
            "spool.storage.cache-size", "4MiB"))
        .withFallback(ConfigFactory.load());
  }

  private static <T> T get(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  static byte[] payload(long index) {
    byte[] bytes = new byte[1024];
    new SplittableRandom(index).nextBytes(bytes);
    ByteBuffer.wrap(bytes).putLong(index);
    return bytes;
  }

  private static long rows(Path file, String table) throws Exception {
    try (Connection c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement();
        ResultSet r = s.executeQuery("SELECT count(*) FROM " + table)) {
      r.next();
      return r.getLong(1);
    }
  }

  /** Publishes messages 0 to {@code count} - 1 of 1 KiB ({@link #payload}), in batches of 250. */
  private static void publishInOrder(QueuePublisher publisher, int count) throws Exception {
    for (int i = 0; i < count; i += 250) {
      List<Message> batch = new ArrayList<>();
      for (int j = i; j < Math.min(count, i + 250); j++) {
        batch.add(Message.of("order", payload(j)));
      }
      get(publisher.publishAll(batch));
    }
  }

  /** Reads {@code count} messages in order from {@code next}, checking payloads; acknowledges them. */
  private static long readInOrder(QueueConsumer consumer, long next, long count) throws Exception {
    long end = next + count;
    while (next < end) {
      List<Delivery> got = get(consumer.readBatch((int) Math.min(500, end - next), Duration.ofSeconds(5)));
      assertTrue(!got.isEmpty(), "nothing delivered at " + next);
      for (Delivery d : got) {
        long index = ByteBuffer.wrap(d.message().payload()).getLong();
        assertEquals(next, index, "in order");
        assertArrayEquals(payload(index), d.message().payload());
        next++;
      }
      get(consumer.acknowledgeUpTo(got.get(got.size() - 1).sequence()));
    }
    return next;
  }

  @Test
  void aBacklogInSegmentRowsIsReadBackRecoveredAndDeletedWithItsQueue(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("journal").resolve("spool.db");
    Spool first = Spool.start(config(file));
    get(first.createQueue("orders", QueueSettings.defaults().withDurability(Durability.PERSISTENT)));
    QueuePublisher publisher = first.createPublisher("orders", "shop");
    publishInOrder(publisher, MESSAGES);
    QueueConsumer consumer = first.createConsumer("orders", ConsumerSettings.named("billing").prefetch(1000));
    get(consumer.ready());
    long next = readInOrder(consumer, 0, 5_000);
    get(first.shutdown());
    assertTrue(rows(file, "segment") >= MESSAGES / 1024 - 5, "sealed segments are stored: " + rows(file, "segment"));

    Spool second = Spool.start(config(file));
    get(second.ready());
    QueueInfo info = get(second.queueInfo("orders"));
    assertEquals(MESSAGES - 5_000, info.stats().depth(), "recovered from the rows and the journal");
    QueueConsumer again = second.createConsumer("orders", ConsumerSettings.named("billing").prefetch(1000));
    get(again.ready());
    next = readInOrder(again, next, MESSAGES - 5_000);
    assertEquals(MESSAGES, next);

    get(second.deleteQueue("orders"));
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      assertEquals(0, rows(file, "segment"), "a deleted queue's segments are deleted");
    });
    get(second.shutdown());
  }

  @Test
  void aReadThatAsksNotToWaitIsNeverAnsweredEmptyWhileTheBacklogIsInStoredSegments(@TempDir Path dir)
      throws Exception {
    Spool spool = Spool.start(config(dir.resolve("journal").resolve("spool.db")));
    get(spool.createQueue("backlog", QueueSettings.defaults().withDurability(Durability.PERSISTENT)));
    QueuePublisher publisher = spool.createPublisher("backlog", "shop");
    int messages = 12_000; // 1 KiB each: about ten segments beyond the 2 MiB kept in the heap
    publishInOrder(publisher, messages);
    QueueConsumer consumer = spool.createConsumer("backlog", ConsumerSettings.named("late").prefetch(1000));
    get(consumer.ready());
    long next = 0;
    int reads = 0;
    while (next < messages) {
      List<Delivery> got = get(consumer.readBatch(500, Duration.ZERO));
      reads++;
      assertTrue(!got.isEmpty(), "read " + reads + " answered nothing at " + next + " of " + messages
          + " (a reader that stops at an empty read would think it had caught up)");
      for (Delivery d : got) {
        assertEquals(next, ByteBuffer.wrap(d.message().payload()).getLong(), "in order");
        next++;
      }
      get(consumer.acknowledgeUpTo(got.get(got.size() - 1).sequence()));
    }
    long started = System.nanoTime();
    assertTrue(get(consumer.readBatch(500, Duration.ZERO)).isEmpty(), "caught up: empty");
    assertTrue(System.nanoTime() - started < 1_000_000_000L, "and at once");
    get(spool.shutdown());
  }

  @Test
  void aDamagedSegmentRowIsReportedAndNeverDelivered(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("journal").resolve("spool.db");
    Spool first = Spool.start(config(file));
    get(first.createQueue("orders", QueueSettings.defaults().withDurability(Durability.PERSISTENT)));
    QueuePublisher publisher = first.createPublisher("orders", "shop");
    publishInOrder(publisher, 5_000);
    get(first.shutdown());
    try (Connection c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + file)) {
      // one byte of segment 1 (sequences 1025 to 2048) flipped, as a bad disk would
      byte[] data;
      try (ResultSet r = c.createStatement().executeQuery("SELECT data FROM segment WHERE segment = 1")) {
        assertTrue(r.next(), "segment 1 is stored");
        data = r.getBytes(1);
      }
      data[data.length / 2] ^= 1;
      try (java.sql.PreparedStatement update = c.prepareStatement("UPDATE segment SET data = ? WHERE segment = 1")) {
        update.setBytes(1, data);
        assertEquals(1, update.executeUpdate());
      }
    }

    Spool second = Spool.start(config(file));
    List<dev.spool.SpoolEvent> events = new java.util.concurrent.CopyOnWriteArrayList<>();
    second.events().runForeach(events::add, org.apache.pekko.stream.Materializer.matFromSystem(second.system()));
    QueueConsumer consumer = second.createConsumer("orders", ConsumerSettings.named("billing").prefetch(1000));
    get(consumer.ready());
    assertEquals(1024, readInOrder(consumer, 0, 1024), "segment 0 is intact");
    assertTrue(get(consumer.readBatch(100, Duration.ofSeconds(3))).isEmpty(), "nothing of the damaged segment");
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> events.stream()
        .anyMatch(e -> e instanceof dev.spool.SpoolEvent.SegmentUnreadable u && u.segment() == 1
            && u.reason().contains("segment 1")));
    assertEquals(1025, get(consumer.info()).cursor(), "the consumer waits before the damaged segment");
    get(second.shutdown());
  }
}
