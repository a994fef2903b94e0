package dev.spool.http;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The disk alarm over HTTP, with the embedded SQLite journal and a limit larger than any disk
 * (1000 TiB: a tiny disk from Spool's point of view): publishes to a persistent queue get 429
 * {@code QueueFull} saying the disk is low, a transient queue takes them, and the metrics show it.
 */
class DiskAlarmRoutesTest {

  private static final String KIB_MESSAGE = "{\"type\":\"t\",\"payload\":\"" + "x".repeat(1024) + "\"}";

  @Test
  void aDiskUnderTheLimitRefusesPersistentPublishesWith429AndShowsInTheMetrics(@TempDir Path dir) throws Exception {
    try (TestServer server = TestServer.start(ConfigFactory.parseMap(Map.of(
            "spool.journal.sqlite.path", dir.resolve("journal").resolve("spool.db").toString(),
            "spool.persistence.journal-plugin", "spool.journal.sqlite.journal",
            "spool.persistence.snapshot-plugin", "spool.journal.sqlite.snapshot-store",
            "spool.storage.disk-free-limit", "1000TiB"))
        .withFallback(TestServer.tokens()))) {
      TestServer.Response created = server.put("/api/v1/queues/orders-durable", "{\"durability\":\"persistent\"}");
      assertEquals(201, created.status(), created.body());
      assertEquals(201, server.put("/api/v1/queues/orders-clicks", "{}").status());

      await().atMost(Duration.ofSeconds(10))
          .until(() -> server.post("/api/v1/queues/orders-durable/messages", KIB_MESSAGE).status() == 429);
      TestServer.Response refused = server.post("/api/v1/queues/orders-durable/messages", KIB_MESSAGE);
      assertEquals(429, refused.status(), refused.body());
      assertEquals("QueueFull", refused.error());
      assertTrue(refused.body().contains("disk space is low"), refused.body());
      assertTrue(refused.body().contains("spool.db"), refused.body());
      assertEquals("1", refused.header("Retry-After"));

      assertEquals(201, server.post("/api/v1/queues/orders-clicks/messages", KIB_MESSAGE).status(),
          "a transient queue takes publishes");
      assertEquals(200, server.send("GET", "/health/ready", null, null).status(),
          "still ready: consumers must go on reading and acknowledging");

      String metrics = server.send("GET", "/metrics", TestServer.VIEWER, null).body();
      assertTrue(metrics.contains("spool_disk_low 1.0"), metrics);
      assertTrue(metrics.contains("spool_disk_free_limit_bytes " + (double) (1000L << 40)), metrics);
      assertTrue(metrics.contains("spool_disk_free_bytes"), metrics);
    }
  }
}
