package dev.spool.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spool.SpoolException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Comparator;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code PUT /api/v1/queues/{q}} with {@code compression} and {@code encryption}: what is accepted,
 * what is refused (400, nothing created), what the queue view shows (the key id, never the key),
 * and that both survive a restart.
 */
class QueueStorageRoutesTest {

  private static final AtomicInteger NAMES = new AtomicInteger();
  private static final String K1 = key();
  private static TestServer server;

  private static String key() {
    byte[] key = new byte[32];
    new SecureRandom().nextBytes(key);
    return Base64.getEncoder().encodeToString(key);
  }

  private static Path journalDir;

  /** The key k1 and the embedded SQLite journal in {@code dir}, so that persistent queues survive a restart. */
  private static Config config(Path dir) {
    return ConfigFactory.parseString("spool.encryption.keys.k1 = \"" + K1 + "\"\n"
        + "spool.persistence.journal-plugin = \"spool.journal.sqlite.journal\"\n"
        + "spool.persistence.snapshot-plugin = \"spool.journal.sqlite.snapshot-store\"\n"
        + "spool.journal.sqlite.path = \"" + dir.resolve("spool.db") + "\"").withFallback(TestServer.tokens());
  }

  @BeforeAll
  static void start() throws Exception {
    journalDir = Files.createTempDirectory("spool-storage-routes");
    server = TestServer.start(config(journalDir));
  }

  @AfterAll
  static void stop() throws Exception {
    try {
      server.close();
    } finally {
      delete(journalDir);
    }
  }

  private static void delete(Path dir) throws Exception {
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  private static String fresh() {
    return "stored-" + NAMES.incrementAndGet();
  }

  @Test
  void aPersistentQueueTakesCompressionAndAnEncryptionKeyIdAndShowsOnlyTheId() {
    String q = fresh();
    String body = "{\"durability\":\"persistent\",\"maxBytes\":10737418240,\"compression\":\"zstd\","
        + "\"encryption\":{\"keyId\":\"k1\"}}";
    TestServer.Response created = server.put("/api/v1/queues/" + q, body);
    assertEquals(201, created.status(), created.body());
    JsonNode s = created.json().path("settings");
    assertEquals("zstd", s.path("compression").asText());
    assertEquals("k1", s.path("encryption").path("keyId").asText());
    assertEquals(1, s.path("encryption").size(), "the id only: " + s.path("encryption"));

    TestServer.Response read = server.get("/api/v1/queues/" + q);
    assertEquals("k1", read.json().path("settings").path("encryption").path("keyId").asText());
    assertFalse(read.body().contains(K1) || server.get("/api/v1/queues").body().contains(K1));
    assertEquals(200, server.put("/api/v1/queues/" + q, body).status(), "declaring it again is idempotent");
    assertEquals(409, server.put("/api/v1/queues/" + q, body.replace("zstd", "lz4")).status());
  }

  @Test
  void compressionDefaultsToLz4ForPersistentQueuesAndIsNoneForTransientOnes() {
    String persistent = fresh();
    TestServer.Response p = server.put("/api/v1/queues/" + persistent, "{\"durability\":\"persistent\"}");
    assertEquals(201, p.status(), p.body());
    assertEquals("lz4", p.json().path("settings").path("compression").asText());
    assertTrue(p.json().path("settings").path("encryption").isMissingNode(), p.body());
    // The default, given or not, is the same queue.
    assertEquals(200, server.put("/api/v1/queues/" + persistent,
        "{\"durability\":\"persistent\",\"compression\":\"lz4\"}").status());

    String transientQueue = fresh();
    TestServer.Response t = server.put("/api/v1/queues/" + transientQueue, "{}");
    assertEquals("none", t.json().path("settings").path("compression").asText());
    assertEquals(200, server.put("/api/v1/queues/" + transientQueue, "{\"compression\":\"none\"}").status());
  }

  @Test
  void badCompressionOrEncryptionIs400NamingTheFieldAndCreatesNothing() {
    String q = fresh();
    for (String[] bad : new String[][] {
        {"{\"durability\":\"persistent\",\"compression\":\"gzip\"}", "compression", "none, lz4 or zstd"},
        {"{\"durability\":\"persistent\",\"compression\":\"\"}", "compression", "none, lz4 or zstd"},
        {"{\"compression\":\"lz4\"}", "compression", "persistent"},
        {"{\"encryption\":{\"keyId\":\"k1\"}}", "encryption.keyId", "persistent"},
        {"{\"durability\":\"persistent\",\"encryption\":{}}", "encryption.keyId", "keyId"},
        {"{\"durability\":\"persistent\",\"encryption\":{\"keyId\":\"k.1\"}}", "encryption.keyId", "keyId"},
        {"{\"durability\":\"persistent\",\"encryption\":{\"keyId\":\"k1\",\"key\":\"abc\"}}", "key", "key"},
        {"{\"durability\":\"persistent\",\"encryption\":{\"keyId\":\"k9\"}}", "k9", "spool.encryption.keys.k9"}}) {
      TestServer.Response r = server.put("/api/v1/queues/" + q, bad[0]);
      assertEquals(400, r.status(), bad[0] + " -> " + r.body());
      assertEquals("InvalidConfiguration", r.error(), bad[0] + " -> " + r.body());
      String message = r.json().path("message").asText();
      assertTrue(message.contains(bad[1]) && message.contains(bad[2]), bad[0] + " -> " + r.body());
    }
    assertEquals(404, server.get("/api/v1/queues/" + q).status());
  }

  @Test
  void compressionAndEncryptionSurviveARestart() throws Exception {
    Path dir = Files.createTempDirectory("spool-storage-restart");
    Config config = config(dir);
    try {
      try (TestServer first = TestServer.start(config)) {
        assertEquals(201, first.put("/api/v1/queues/kept", "{\"durability\":\"persistent\",\"compression\":\"zstd\","
            + "\"encryption\":{\"keyId\":\"k1\"}}").status());
        assertEquals(201, first.put("/api/v1/queues/plain", "{\"durability\":\"persistent\",\"compression\":\"none\"}")
            .status());
      }
      try (TestServer second = TestServer.start(config)) {
        JsonNode kept = second.get("/api/v1/queues/kept").json().path("settings");
        assertEquals("zstd", kept.path("compression").asText(), kept.toString());
        assertEquals("k1", kept.path("encryption").path("keyId").asText(), kept.toString());
        JsonNode plain = second.get("/api/v1/queues/plain").json().path("settings");
        assertEquals("none", plain.path("compression").asText(), plain.toString());
        assertTrue(plain.path("encryption").isMissingNode(), plain.toString());
      }
    } finally {
      delete(dir);
    }
  }

  @Test
  void aCorruptSegmentOrAMissingKeyIsA500WithItsStableCode() {
    HttpResponse corrupt =
        Errors.responseFor(new CompletionException(
            new SpoolException.SegmentCorrupt("orders-1", 12, "checksum mismatch")));
    assertEquals(500, corrupt.status().intValue());
    String body = ((HttpEntity.Strict) corrupt.entity()).getData().utf8String();
    assertTrue(body.contains("\"error\":\"SegmentCorrupt\"") && body.contains("segment 12 of queue 'orders-1'"),
        body);

    HttpResponse missing =
        Errors.response(new SpoolException.EncryptionKeyMissing("k3"));
    assertEquals(500, missing.status().intValue());
    String text = ((HttpEntity.Strict) missing.entity()).getData().utf8String();
    assertTrue(text.contains("\"error\":\"EncryptionKeyMissing\"") && text.contains("spool.encryption.keys.k3"),
        text);
  }
}
