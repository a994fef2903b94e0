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
import java.nio.file.Files;
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
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Durable queues on the SQLite journal end to end: an engine publishes 1 KiB messages through
 * enough writes for several snapshots and event deletions, a consumer acknowledges some, and a new
 * engine on the same file finds exactly what was retained and where the consumer stood. And the
 * file stays bounded by what the queue retains when far more is published and acknowledged, in
 * far fewer writes than {@code snapshot-every}.
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

    try (Connection c = SqliteFile.connect(file); Statement s = c.createStatement()) {
      assertTrue(count(s, "SELECT count(*) FROM snapshot") >= 1, "snapshots were written");
      assertTrue(count(s, "SELECT count(*) FROM journal") < 40, "events before the snapshots were deleted");
    }

    Spool second = Spool.start(config(file, 5));
    get(second.ready());
    List<Message> retained = get(second.browse("orders", 1, 1000));
    assertEquals(sequences.subList(150, sequences.size()), retained.stream().map(Message::sequence).toList(),
        "what the only consumer acknowledged was released, and stays released");
    assertTrue(retained.stream().allMatch(m -> Arrays.equals(payload, m.payload())));
    QueueConsumer again = second.createConsumer("orders", ConsumerSettings.named("billing").prefetch(100));
    List<Delivery> next = get(again.readBatch(1, Duration.ofSeconds(5)));
    assertEquals(sequences.get(150), next.get(0).sequence(), "the consumer goes on after what it acknowledged");
    get(second.shutdown());
  }

  @Test
  void deletedAndTrimmedMessagesStayGoneAfterARestart(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("spool.db");
    Spool first = Spool.start(config(file, 4));
    get(first.createQueue("stream", QueueSettings.defaults().withDurability(Durability.PERSISTENT)));
    QueueConsumer group = first.createConsumer("stream", ConsumerSettings.named("group"));
    get(group.ready());
    QueuePublisher publisher = first.createPublisher("stream", "shop");
    for (int batch = 0; batch < 10; batch++) {
      List<Message> messages = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        messages.add(Message.of("entry", new byte[1024]));
      }
      get(publisher.publishAll(messages));
    }
    List<Long> deleted = List.of(20L, 40L, 41L, 99L, 100L);
    assertEquals(5, get(first.deleteMessages("stream", deleted)));
    assertEquals(10, get(first.trimBelow("stream", 11)));
    assertEquals(5, get(first.trim("stream", 80)), "11 to 15: 85 were left");
    get(first.shutdown());

    Spool second = Spool.start(config(file, 4));
    get(second.ready());
    List<Long> expected = new ArrayList<>();
    for (long s = 16; s <= 98; s++) {
      if (!deleted.contains(s)) {
        expected.add(s);
      }
    }
    assertEquals(80, expected.size());
    assertEquals(expected, get(second.browse("stream", 1, 1000)).stream().map(Message::sequence).toList());
    assertEquals(80, get(second.queueStats("stream")).depth());
    assertEquals(80, get(second.consumerLag("stream", "group")));
    assertEquals(101, get(second.createPublisher("stream", "shop").publish(Message.text("entry", "next"))),
        "the last sequence, deleted, is not reused");
    get(second.shutdown());
  }

  /**
   * A journal that lost the rows holding a queue's messages (as RecoverJournal skipping damaged
   * pages leaves it) while its consumer's position survived: the queue goes on above that
   * position, so a new message gets a sequence the consumer has not passed and is delivered.
   */
  @Test
  void aQueueWhoseJournalLostMessagesNeverReusesTheirSequences(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("journal").resolve("spool.db");
    byte[] payload = new byte[1024];
    Spool first = Spool.start(config(file, 1000));
    get(first.createQueue("orders", QueueSettings.defaults().withDurability(Durability.PERSISTENT)));
    QueuePublisher publisher = first.createPublisher("orders", "shop");
    for (int batch = 0; batch < 40; batch++) {
      List<Message> messages = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        messages.add(Message.of("order", payload));
      }
      get(publisher.publishAll(messages));
    }
    QueueConsumer reader = first.createConsumer("orders", ConsumerSettings.named("billing").prefetch(100));
    int acked = 0;
    while (acked < 150) {
      for (Delivery d : get(reader.readBatch(Math.min(50, 150 - acked), Duration.ofSeconds(5)))) {
        get(reader.acknowledge(d));
        acked++;
      }
    }
    get(first.shutdown());

    try (Connection c = SqliteFile.connect(file); Statement s = c.createStatement()) {
      // Every event that carried a batch of 1 KiB messages; the consumer's creation and positions stay.
      int lost = s.executeUpdate("DELETE FROM journal WHERE persistence_id LIKE 'spool-queue|orders~%'"
          + " AND length(payload) > 5000");
      assertEquals(40, lost, "the events holding the 400 messages");
    }

    Spool second = Spool.start(config(file, 1000));
    get(second.ready());
    long next = get(second.createPublisher("orders", "shop").publish(Message.of("order", payload)));
    assertEquals(151, next, "the first sequence above what the consumer acknowledged");
    QueueConsumer again = second.createConsumer("orders", ConsumerSettings.named("billing").prefetch(100));
    List<Delivery> delivered = get(again.readBatch(10, Duration.ofSeconds(5)));
    assertEquals(List.of(151L), delivered.stream().map(Delivery::sequence).toList(),
        "the new message reaches the consumer");
    get(second.shutdown());
  }

  @Test
  void theFileStaysBoundedWhileFarMoreIsJournaledThanRetained(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("journal").resolve("spool.db");
    long afterBytes = 8L << 20;
    // The queue frees acknowledged messages in whole segments: 16 messages (1 MiB here) rather than
    // 1024 (64 MiB), so that what it retains, and each snapshot, stays small next to 8 MiB.
    Config config = ConfigFactory.parseMap(Map.of("spool.persistence.snapshot-after-bytes", afterBytes,
            "spool.segment-size", 16))
        .withFallback(config(file, 10_000));
    byte[] payload = new byte[64 * 1024];
    ThreadLocalRandom.current().nextBytes(payload); // incompressible, like real payloads
    Spool spool = Spool.start(config);
    get(spool.createQueue("images", QueueSettings.defaults().withDurability(Durability.PERSISTENT)));
    QueuePublisher publisher = spool.createPublisher("images", "camera");
    QueueConsumer consumer = spool.createConsumer("images", ConsumerSettings.named("thumbnailer").prefetch(64));
    int batches = 100; // 100 MiB in batches of 16 x 64 KiB, far fewer writes than snapshot-every
    long largest = 0;
    for (int batch = 0; batch < batches; batch++) {
      List<Message> messages = new ArrayList<>();
      for (int i = 0; i < 16; i++) {
        messages.add(Message.of("image", payload));
      }
      get(publisher.publishAll(messages));
      int acked = 0;
      while (acked < messages.size()) {
        List<Delivery> read = get(consumer.readBatch(messages.size() - acked, Duration.ofSeconds(5)));
        get(consumer.acknowledgeBatch(read));
        acked += read.size();
      }
      largest = Math.max(largest, Files.size(file));
    }
    get(spool.shutdown());

    long journaled;
    long snapshots;
    try (Connection c = SqliteFile.connect(file); Statement s = c.createStatement()) {
      snapshots = count(s, "SELECT count(*) FROM snapshot");
      journaled = count(s, "SELECT coalesce(sum(length(payload)), 0) FROM journal");
    }
    System.out.printf("journaled %d MiB; file at most %d KiB; events left %d KiB; %d snapshots%n",
        batches * 16L * payload.length >> 20, largest >> 10, journaled >> 10, snapshots);
    assertTrue(snapshots >= 1, "snapshots were taken by bytes");
    // two intervals of events at most (the older snapshot's and the one since the newer), each a
    // little over 8 MiB; the file also holds two snapshots of about a segment and the free pages
    // not yet returned
    assertTrue(journaled <= 2 * afterBytes + (2 << 20), "events left: " + journaled);
    assertTrue(largest <= 4 * afterBytes, "the file held at most " + largest + " bytes of 100 MiB journaled");
  }

  private static long count(Statement s, String sql) throws Exception {
    try (ResultSet rs = s.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }
}
