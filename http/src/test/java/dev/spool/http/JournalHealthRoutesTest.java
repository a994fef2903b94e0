package dev.spool.http;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.persistence.testkit.JournalOperation;
import org.apache.pekko.persistence.testkit.PersistenceTestKitPlugin;
import org.apache.pekko.persistence.testkit.PersistenceTestKitSnapshotPlugin;
import org.apache.pekko.persistence.testkit.ProcessingPolicy;
import org.apache.pekko.persistence.testkit.ProcessingSuccess$;
import org.apache.pekko.persistence.testkit.WriteEvents;
import org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit;
import org.junit.jupiter.api.Test;

/**
 * A durable queue whose journal write hangs: {@code /health/ready} turns 503 naming the queue and
 * why, publishes get 503 {@code JournalUnavailable} with {@code Retry-After}, and both recover
 * once the write completes.
 */
class JournalHealthRoutesTest {

  private static final String KIB = "x".repeat(1024);

  @Test
  void aStalledJournalTurnsReadinessAndPublishesGet503WithRetryAfter() throws Exception {
    try (TestServer server = TestServer.start(TestServer.tokens()
        .withFallback(ConfigFactory.parseString("""
            spool.persistence.journal-plugin = "pekko.persistence.testkit.journal"
            spool.persistence.snapshot-plugin = "pekko.persistence.testkit.snapshotstore.pluginid"
            spool.persistence.write-stall-after = 300ms
            """))
        .withFallback(PersistenceTestKitPlugin.config())
        .withFallback(PersistenceTestKitSnapshotPlugin.config()))) {
      CountDownLatch held = new CountDownLatch(1);
      AtomicBoolean holding = new AtomicBoolean();
      ProcessingPolicy<JournalOperation> holdQueueWrites = (persistenceId, operation) -> {
        if (holding.get() && held.getCount() > 0 && persistenceId.startsWith("spool-queue|orders-stalled~")
            && operation instanceof WriteEvents) {
          try {
            held.await(30, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
        return ProcessingSuccess$.MODULE$;
      };
      PersistenceTestKit.create(server.spool.system()).withPolicy(holdQueueWrites);
      try {
        TestServer.Response created = server.put("/api/v1/queues/orders-stalled", "{\"durability\":\"persistent\"}");
        assertEquals(201, created.status(), created.body());
        String message = "{\"type\":\"t\",\"payload\":\"" + KIB + "\"}";
        assertEquals(201, server.post("/api/v1/queues/orders-stalled/messages", message).status());
        assertEquals(200, server.send("GET", "/health/ready", null, null).status());

        // Not answered until the write completes: sent on its own thread.
        holding.set(true);
        CountDownLatch releaseLater = held;
        java.util.concurrent.CompletableFuture<TestServer.Response> inFlight = java.util.concurrent.CompletableFuture
            .supplyAsync(() -> server.post("/api/v1/queues/orders-stalled/messages",
                message.replace("\"t\"", "\"in-flight\"")));
        await().atMost(Duration.ofSeconds(5)).until(() -> server.send("GET", "/health/ready", null, null).status() == 503);
        TestServer.Response ready = server.send("GET", "/health/ready", null, null);
        JsonNode body = ready.json();
        assertEquals("unavailable", body.get("status").asText(), ready.body());
        JsonNode reason = body.get("reasons").get(0);
        assertEquals("orders-stalled", reason.get("queue").asText(), ready.body());
        assertEquals("write-stalled", reason.get("journal").asText(), ready.body());
        assertTrue(reason.has("detail") && reason.has("since"), ready.body());
        assertEquals(200, server.send("GET", "/health/live", null, null).status(), "alive throughout");

        TestServer.Response refused = server.post("/api/v1/queues/orders-stalled/messages", message);
        assertEquals(503, refused.status(), refused.body());
        assertEquals("JournalUnavailable", refused.error());
        assertEquals("1", refused.header("Retry-After"));

        releaseLater.countDown();
        assertEquals(201, inFlight.get(10, TimeUnit.SECONDS).status(), "the held write completed and was confirmed");
        await().atMost(Duration.ofSeconds(5)).until(() -> server.send("GET", "/health/ready", null, null).status() == 200);
        assertEquals(201, server.post("/api/v1/queues/orders-stalled/messages", message).status());
        assertEquals(3, server.get("/api/v1/queues/orders-stalled").json().get("stats").get("lastSequence").asLong(),
            "the refused publish took no sequence and was not stored");
      } finally {
        held.countDown();
        PersistenceTestKit.create(server.spool.system()).resetPolicy();
      }
    }
  }
}
