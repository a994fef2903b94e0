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
import dev.spool.QueuePublisher;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Encryption at rest end to end on the embedded journal with tiered storage: nothing of an
 * encrypted queue's messages reaches the database files in plaintext (segments, journal events,
 * snapshots, the WAL), and without its key that queue alone refuses, loudly, while the others work.
 */
class EncryptedQueueTest {

  private static final String SECRET = "SECRET-MARKER-7f3a9c";
  private static final String PLAIN = "PLAIN-MARKER-51b2e0";
  private static final int MESSAGES = 3_000;

  private static String key() {
    byte[] key = new byte[32];
    new SecureRandom().nextBytes(key);
    return Base64.getEncoder().encodeToString(key);
  }

  private static Config config(Path file, Map<String, String> keys) {
    Map<String, Object> map = new HashMap<>(Map.of(
        "spool.journal.sqlite.path", file.toString(),
        "spool.persistence.journal-plugin", "spool.journal.sqlite.journal",
        "spool.persistence.snapshot-plugin", "spool.journal.sqlite.snapshot-store",
        "spool.persistence.snapshot-every", 20,
        "spool.storage.segment-store", "sqlite",
        "spool.storage.hot-bytes-per-queue", "1MiB"));
    keys.forEach((id, key) -> map.put("spool.encryption.keys." + id, key));
    return ConfigFactory.parseMap(map).withFallback(ConfigFactory.load());
  }

  private static <T> T get(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  private static byte[] payload(String marker, int i) {
    byte[] bytes = new byte[1024];
    byte[] text = ("{\"n\":" + i + ",\"note\":\"" + marker + "\"}").getBytes(StandardCharsets.UTF_8);
    System.arraycopy(text, 0, bytes, 0, text.length);
    return bytes;
  }

  private static void publish(Spool spool, String queue, String marker) throws Exception {
    QueuePublisher publisher = spool.createPublisher(queue, "shop");
    for (int i = 0; i < MESSAGES; i += 100) {
      List<Message> batch = new ArrayList<>();
      for (int j = i; j < i + 100; j++) {
        batch.add(Message.of("order." + marker, payload(marker, j)).withHeader("note", marker).withKey(marker));
      }
      get(publisher.publishAll(batch));
    }
  }

  /** How many of the files under {@code dir} hold {@code marker}. */
  private static long filesHolding(Path dir, String marker) throws Exception {
    byte[] needle = marker.getBytes(StandardCharsets.UTF_8);
    try (Stream<Path> files = Files.walk(dir)) {
      return files.filter(Files::isRegularFile).filter(f -> {
        try {
          return indexOf(Files.readAllBytes(f), needle) >= 0;
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }).count();
    }
  }

  private static int indexOf(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  @Test
  void anEncryptedQueueLeavesNoPlaintextAndWithoutItsKeyOnlyItRefuses(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("journal").resolve("spool.db");
    String k1 = key();
    Spool first = Spool.start(config(file, Map.of("k1", k1)));
    get(first.createQueue("secret", QueueSettings.defaults().withDurability(Durability.PERSISTENT)
        .withEncryption("k1")));
    get(first.createQueue("plain", QueueSettings.defaults().withDurability(Durability.PERSISTENT)));
    publish(first, "secret", SECRET);
    publish(first, "plain", PLAIN);
    QueueConsumer reader = first.createConsumer("secret", ConsumerSettings.named("billing").prefetch(500));
    List<Delivery> got = get(reader.readBatch(500, Duration.ofSeconds(5)));
    get(reader.acknowledgeUpTo(got.get(got.size() - 1).sequence()));
    get(first.shutdown());

    assertTrue(filesHolding(dir, PLAIN) > 0, "the scan finds the unencrypted queue's marker: it works");
    assertEquals(0, filesHolding(dir, SECRET), "no file holds the encrypted queue's marker");

    Spool keyless = Spool.start(config(file, Map.of()));
    try {
      get(keyless.ready());
      assertEquals(MESSAGES, get(keyless.queueInfo("plain")).stats().depth(), "the other queue works");
      get(keyless.createPublisher("plain", "shop").publish(Message.text("t", "more")));
      ExecutionException refused = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
          () -> get(keyless.createPublisher("secret", "shop").publish(Message.text("t", "x"))));
      assertTrue(refused.getCause().getMessage().contains("k1"), "the refusal names the key: "
          + refused.getCause().getMessage());
    } finally {
      get(keyless.shutdown());
    }

    Spool again = Spool.start(config(file, Map.of("k1", k1)));
    get(again.ready());
    QueueConsumer resumed = again.createConsumer("secret", ConsumerSettings.named("billing").prefetch(500));
    int read = 0;
    while (read < MESSAGES - 500) {
      List<Delivery> batch = get(resumed.readBatch(500, Duration.ofSeconds(5)));
      for (Delivery d : batch) {
        assertArrayEquals(payload(SECRET, 500 + read), d.message().payload());
        assertEquals(SECRET, d.message().headers().get("note"));
        read++;
      }
      get(resumed.acknowledgeUpTo(batch.get(batch.size() - 1).sequence()));
    }
    get(again.shutdown());
  }

  @Test
  void rotatingToANewKeyKeepsWhatTheOldOneEncryptedReadable(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("journal").resolve("spool.db");
    Map<String, String> keys = Map.of("k1", key(), "k2", key());
    QueueSettings underK1 = QueueSettings.defaults().withDurability(Durability.PERSISTENT).withEncryption("k1");
    Spool first = Spool.start(config(file, keys));
    get(first.createQueue("secret", underK1));
    publish(first, "secret", SECRET);
    get(first.createQueue("secret", underK1.withEncryption("k2"))); // rotation: same queue, new key
    assertEquals("k2", get(first.queueInfo("secret")).settings().encryptionKeyId());
    publish(first, "secret", SECRET);
    get(first.shutdown());
    assertEquals(0, filesHolding(dir, SECRET));
    try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + file);
        java.sql.ResultSet r = c.createStatement().executeQuery("SELECT DISTINCT key_id FROM segment ORDER BY 1")) {
      List<String> ids = new ArrayList<>();
      while (r.next()) {
        ids.add(r.getString(1));
      }
      assertEquals(List.of("k1", "k2"), ids, "segments sealed before and after the rotation");
    }

    Spool withoutOld = Spool.start(config(file, Map.of("k2", keys.get("k2"))));
    try {
      get(withoutOld.ready());
      ExecutionException refused = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
          () -> get(withoutOld.queueInfo("secret")));
      assertTrue(refused.getCause().getMessage().contains("k1"), refused.getCause().getMessage());
    } finally {
      get(withoutOld.shutdown());
    }
    Spool again = Spool.start(config(file, keys));
    get(again.ready());
    assertEquals("k2", get(again.queueInfo("secret")).settings().encryptionKeyId(), "the rotation was journaled");
    QueueConsumer reader = again.createConsumer("secret", ConsumerSettings.named("audit").prefetch(1000));
    for (int read = 0; read < 2 * MESSAGES; ) {
      List<Delivery> batch = get(reader.readBatch(1000, Duration.ofSeconds(5)));
      for (Delivery d : batch) {
        assertArrayEquals(payload(SECRET, read % MESSAGES), d.message().payload());
        read++;
      }
      get(reader.acknowledgeUpTo(batch.get(batch.size() - 1).sequence()));
    }
    get(again.shutdown());

  }
}
