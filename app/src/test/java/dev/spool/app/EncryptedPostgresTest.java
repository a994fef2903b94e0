package dev.spool.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spool.Durability;
import dev.spool.Message;
import dev.spool.QueuePublisher;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Encryption at rest on the service's PostgreSQL journal and segment store: a raw scan of every
 * table finds no plaintext of an encrypted queue, while the same scan finds an unencrypted queue's.
 * Needs {@code SPOOL_TEST_POSTGRES_URL} (see {@code .ci/postgres}); skipped otherwise.
 */
class EncryptedPostgresTest {

  private static final String URL = System.getenv("SPOOL_TEST_POSTGRES_URL");
  private static final String SECRET = "PG-SECRET-MARKER-4c1d";
  private static final String PLAIN = "PG-PLAIN-MARKER-9e07";

  private static String env(String name, String otherwise) {
    String v = System.getenv(name);
    return v == null || v.isBlank() ? otherwise : v;
  }

  private static <T> T get(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  private static void publish(Spool spool, String queue, String marker) throws Exception {
    QueuePublisher publisher = spool.createPublisher(queue, "shop");
    for (int i = 0; i < 3_000; i += 100) {
      List<Message> batch = new ArrayList<>();
      for (int j = i; j < i + 100; j++) {
        byte[] payload = new byte[1024];
        byte[] text = ("{\"n\":" + j + ",\"note\":\"" + marker + "\"}").getBytes(StandardCharsets.UTF_8);
        System.arraycopy(text, 0, payload, 0, text.length);
        batch.add(Message.of("order", payload).withHeader("note", marker));
      }
      get(publisher.publishAll(batch));
    }
  }

  /** Rows of the journal's and segment store's tables whose bytes (any column) hold {@code marker}. */
  private static int rowsHolding(Connection c, String marker) throws Exception {
    byte[] needle = marker.getBytes(StandardCharsets.UTF_8);
    int found = 0;
    for (String table : List.of("event_journal", "snapshot", "spool_segment")) {
      try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT * FROM " + table)) {
        ResultSetMetaData meta = r.getMetaData();
        while (r.next()) {
          for (int col = 1; col <= meta.getColumnCount(); col++) {
            byte[] bytes = r.getBytes(col);
            if (bytes != null && contains(bytes, needle)) {
              found++;
            }
          }
        }
      }
    }
    return found;
  }

  private static boolean contains(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }

  @Test
  void anEncryptedQueueLeavesNoPlaintextInThePostgresTables(@TempDir Path dir) throws Exception {
    Assumptions.assumeTrue(URL != null && !URL.isBlank(), "SPOOL_TEST_POSTGRES_URL is not set: skipped");
    String user = env("SPOOL_TEST_POSTGRES_USER", "spool");
    String password = env("SPOOL_TEST_POSTGRES_PASSWORD", "spool");
    try (Connection c = DriverManager.getConnection(URL, user, password); Statement s = c.createStatement()) {
      s.execute("DROP TABLE IF EXISTS event_tag, event_journal, snapshot, spool_segment");
    }
    byte[] key = new byte[32];
    new SecureRandom().nextBytes(key);
    Map<String, Object> overrides = new HashMap<>(Map.of(
        "spool.data-dir", dir.toString(),
        "spool.http.port", 0,
        "spool.journal.database", "postgres",
        "pekko-persistence-jdbc.shared-databases.postgres.db.url", URL,
        "pekko-persistence-jdbc.shared-databases.postgres.db.user", user,
        "pekko-persistence-jdbc.shared-databases.postgres.db.password", password,
        "spool.storage.hot-bytes-per-queue", "1MiB",
        "spool.persistence.snapshot-every", 10,
        "spool.encryption.keys.k1", Base64.getEncoder().encodeToString(key)));
    Config config = ConfigFactory.load(ConfigFactory.parseMap(overrides)
        .withFallback(ConfigFactory.parseResourcesAnySyntax("application")));
    JournalSchema.ensure(config);
    Spool spool = Main.init(config).spool();
    get(spool.createQueue("secret", QueueSettings.defaults().withDurability(Durability.PERSISTENT)
        .withEncryption("k1")));
    get(spool.createQueue("plain", QueueSettings.defaults().withDurability(Durability.PERSISTENT)));
    publish(spool, "secret", SECRET);
    publish(spool, "plain", PLAIN);
    assertTrue(get(spool.queueInfo("secret")).stats().storedMessages() > 0, "segments were stored");
    get(spool.shutdown());

    try (Connection c = DriverManager.getConnection(URL, user, password)) {
      assertTrue(rowsHolding(c, PLAIN) > 0, "the scan finds the unencrypted queue's marker: it works");
      assertEquals(0, rowsHolding(c, SECRET), "no row holds the encrypted queue's marker");
    }
  }
}
