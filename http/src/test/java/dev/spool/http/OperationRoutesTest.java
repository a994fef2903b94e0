package dev.spool.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.List;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Statistics, garbage collection, stale consumers, health and metrics. */
class OperationRoutesTest {

  private static TestServer server;

  @BeforeAll
  static void start() {
    // Consumers go stale quickly here, so that cleanup has something to remove.
    server = TestServer.start(ConfigFactory.parseString("spool.janitor.stale-after = 300ms")
        .withFallback(TestServer.tokens()));
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
  }

  @Test
  void aStandaloneServiceSaysItIsNoCluster() {
    TestServer.Response cluster = server.get("/api/v1/cluster");
    assertEquals(200, cluster.status(), cluster.body());
    assertEquals(false, cluster.json().path("enabled").asBoolean(true));
    assertEquals(0, cluster.json().path("members").size());
    assertTrue(server.get("/api/v1/queues/default").json().path("member").isMissingNode(),
        "a standalone queue names no member");
  }

  @Test
  void memoryStatsAndThreshold() {
    server.put("/api/v1/queues/mem", "{}");
    server.post("/api/v1/queues/mem/messages", "{\"payload\":\"0123456789\"}");
    TestServer.Response memory = server.get("/api/v1/stats/memory");
    assertEquals(200, memory.status());
    JsonNode m = memory.json();
    assertTrue(m.path("totalMessages").asLong() >= 1);
    assertTrue(m.path("totalBytes").asLong() >= 10);
    assertTrue(m.path("queues").findValuesAsText("queue").contains("mem"));

    TestServer.Response set = server.put("/api/v1/stats/memory/threshold", "{\"bytes\":123456789}");
    assertEquals(200, set.status(), set.body());
    assertEquals(123456789, set.json().path("thresholdBytes").asLong());
    assertEquals(123456789, server.get("/api/v1/stats/memory").json().path("thresholdBytes").asLong());

    assertEquals(400, server.put("/api/v1/stats/memory/threshold", "{\"bytes\":-1}").status());
    assertEquals(400, server.put("/api/v1/stats/memory/threshold", "{}").status());
    assertEquals(400, server.put("/api/v1/stats/memory/threshold", "{\"bytes\":\"1GB\"}").status());
    assertEquals(123456789, server.get("/api/v1/stats/memory").json().path("thresholdBytes").asLong());
  }

  @Test
  void lagStatisticsAndGarbageCollection() {
    server.put("/api/v1/queues/lag", "{}");
    server.put("/api/v1/queues/lag/consumers/slow", "{}");
    server.post("/api/v1/queues/lag/messages", "{\"messages\":[{},{},{}]}");
    TestServer.Response lag = server.get("/api/v1/stats/lag");
    assertEquals(200, lag.status());
    assertTrue(lag.json().path("maxLag").asLong() >= 3);
    assertTrue(lag.json().path("totalConsumers").asInt() >= 1);
    assertTrue(lag.json().path("consumers").toString().contains("\"consumer\":\"slow\""));

    TestServer.Response gc = server.post("/api/v1/gc", null);
    assertEquals(200, gc.status());
    assertTrue(gc.json().path("freed").asLong() >= 0);
  }

  @Test
  void staleConsumersAreListedAndCleanedUp() {
    server.put("/api/v1/queues/stale", "{}");
    server.put("/api/v1/queues/stale/consumers/idle", "{}");
    server.post("/api/v1/queues/stale/messages", "{\"messages\":[{},{}]}");

    Awaitility.await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
      JsonNode stale = server.get("/api/v1/consumers/stale?idle=PT0.2S").json();
      assertTrue(stale.toString().contains("\"consumer\":\"idle\""), stale.toString());
    });
    JsonNode entry = server.get("/api/v1/consumers/stale?idle=PT0S").json().get(0);
    assertTrue(entry.path("idleFor").asText().startsWith("PT"));
    assertEquals(400, server.get("/api/v1/consumers/stale?idle=soon").status());
    assertEquals(400, server.get("/api/v1/consumers/stale?idle=-PT1S").status());

    assertEquals(400, server.post("/api/v1/consumers/stale/cleanup", "{\"lagThreshold\":-1}").status());
    Awaitility.await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> {
      TestServer.Response cleanup = server.post("/api/v1/consumers/stale/cleanup", "{\"lagThreshold\":1}");
      assertEquals(200, cleanup.status());
      assertEquals(404, server.get("/api/v1/queues/stale/consumers/idle").status());
    });
  }

  @Test
  void healthNeedsNoTokenAndTellsReadiness() {
    TestServer.Response live = server.send("GET", "/health/live", null, null);
    assertEquals(200, live.status());
    assertEquals("live", live.json().path("status").asText());
    TestServer.Response ready = server.send("GET", "/health/ready", null, null);
    assertEquals(200, ready.status());
    assertEquals("ready", ready.json().path("status").asText());
  }

  @Test
  void metricsExposeQueuesConsumersMemoryAndTheJvm() {
    server.put("/api/v1/queues/metered", "{}");
    server.put("/api/v1/queues/metered/consumers/reader", "{}");
    server.post("/api/v1/queues/metered/messages", "{\"messages\":[{},{}]}");

    TestServer.Response scrape = server.send("GET", "/metrics", TestServer.VIEWER, null);
    assertEquals(200, scrape.status());
    assertTrue(scrape.header("Content-Type").startsWith("text/plain"));
    String text = scrape.body();
    assertTrue(text.contains("spool_queue_depth{queue=\"metered\"} 2.0"), text);
    assertTrue(text.contains("spool_queue_published_total{queue=\"metered\"} 2.0"), text);
    assertTrue(text.contains("spool_consumer_lag{consumer=\"reader\",queue=\"metered\"} 2.0"), text);
    assertTrue(text.contains("spool_consumer_acked_total{consumer=\"reader\",queue=\"metered\"}"), text);
    assertTrue(text.contains("spool_memory_retained_bytes"), text);
    assertTrue(text.contains("jvm_memory_used_bytes"), text);

    server.delete("/api/v1/queues/metered");
    String after = server.send("GET", "/metrics", TestServer.VIEWER, null).body();
    assertFalse(after.contains("queue=\"metered\""), "a deleted queue's series are gone");

    assertEquals(401, server.send("GET", "/metrics", null, null).status());
  }

  @Test
  void theAccessLogAtDebugHasMethodPathStatusAndTimeButNoQueryOrToken() {
    ch.qos.logback.classic.Logger access =
        (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger("dev.spool.http.access");
    ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> lines =
        new ch.qos.logback.core.read.ListAppender<>();
    lines.start();
    access.addAppender(lines);
    access.setLevel(ch.qos.logback.classic.Level.DEBUG);
    try {
      server.get("/api/v1/queues?secret=" + TestServer.VIEWER);
      server.send("GET", "/api/v1/queues", "wrong-" + TestServer.ADMIN, null);
    } finally {
      access.setLevel(null);
      access.detachAppender(lines);
    }
    List<String> logged = lines.list.stream().map(ch.qos.logback.classic.spi.ILoggingEvent::getFormattedMessage).toList();
    assertEquals(2, logged.size(), logged.toString());
    assertTrue(logged.get(0).matches("GET /api/v1/queues 200 \\d+ms"), logged.get(0));
    assertTrue(logged.get(1).startsWith("GET /api/v1/queues 401"), logged.get(1));
    assertTrue(logged.stream().noneMatch(l -> l.contains("token") || l.contains("secret")));
  }

  @Test
  void unknownRoutesAndMethodsAnswerInTheErrorShape() {
    TestServer.Response notFound = server.get("/api/v1/nothing-here");
    assertEquals(404, notFound.status());
    assertEquals("NotFound", notFound.error());
    TestServer.Response method = server.send("PATCH", "/api/v1/queues/x", TestServer.ADMIN, "{}");
    assertEquals(405, method.status());
    assertEquals("MethodNotAllowed", method.error());
    assertTrue(method.header("Allow").contains("PUT"), "Pekko's Allow header stays");
    assertEquals(404, server.send("GET", "/nope", null, null).status());
  }
}
