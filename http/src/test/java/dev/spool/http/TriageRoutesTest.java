package dev.spool.http;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What the console triages with, through the API: history, queue and service health with alarms,
 * browse and search with paging, and the redrive of a selection; each with its bad input.
 */
class TriageRoutesTest {

  private static final AtomicInteger NAMES = new AtomicInteger();
  private static TestServer server;
  private static final String KIB = "x".repeat(1024);

  @BeforeAll
  static void start() {
    // A sample every second kept for a minute, and a consumer stuck after 3 s, so that a test sees them soon.
    server = TestServer.start(com.typesafe.config.ConfigFactory.parseString("spool.history.interval = 1s\n"
            + "spool.history.retain = 1m\nspool.health.stuck-after = 3s\nspool.health.lagging-after = 2s")
        .withFallback(TestServer.tokens()));
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
  }

  private static String queue(String body) {
    String q = "t-" + NAMES.incrementAndGet();
    assertEquals(201, server.put("/api/v1/queues/" + q, body).status());
    return q;
  }

  /** {@code n} 1 KiB text messages: type {@code type-(i%3)}, every 10th keyed, even ones with a region header. */
  private static void publish(String q, int from, int n) {
    StringBuilder batch = new StringBuilder("{\"messages\":[");
    for (int i = from; i < from + n; i++) {
      batch.append(i == from ? "" : ",").append("{\"type\":\"type-").append(i % 3).append('"')
          .append(i % 10 == 0 ? ",\"key\":\"k-" + i + "\"" : "")
          .append(i % 2 == 0 ? ",\"headers\":{\"region\":\"" + (i % 4 == 0 ? "eu" : "us") + "\"}" : "")
          .append(",\"payload\":\"").append(KIB).append("\"}");
    }
    TestServer.Response r = server.post("/api/v1/queues/" + q + "/messages", batch.append("]}").toString());
    assertEquals(201, r.status(), r.body());
  }

  private static List<Long> sequences(JsonNode page) {
    List<Long> out = new ArrayList<>();
    page.path("messages").forEach(m -> out.add(m.path("sequence").asLong()));
    return out;
  }

  @Test
  void historyIsSampledEverySecondAndReadSinceAGivenTime() {
    String q = queue("{}");
    assertEquals(201, server.put("/api/v1/queues/" + q + "/consumers/c", "{\"startAt\":\"earliest\"}").status());
    publish(q, 0, 100);
    await().atMost(Duration.ofSeconds(10)).until(() -> server.get("/api/v1/queues/" + q + "/history").json()
        .path("samples").size() >= 3);
    JsonNode h = server.get("/api/v1/queues/" + q + "/history").json();
    assertEquals(1000, h.path("intervalMs").asLong());
    assertEquals(60_000, h.path("retainMs").asLong());
    JsonNode last = h.path("samples").get(h.path("samples").size() - 1);
    assertEquals(100, last.path("depth").asLong());
    assertTrue(last.path("bytes").asLong() >= 100 * 1024, last.toString());
    assertEquals("c", h.path("consumers").get(0).path("consumer").asText());
    assertEquals(100, h.path("consumers").get(0).path("samples").get(0).path("lag").asLong());

    long at = h.path("samples").get(1).path("at").asLong();
    JsonNode newer = server.get("/api/v1/queues/" + q + "/history?after=" + at).json();
    newer.path("samples").forEach(s -> assertTrue(s.path("at").asLong() > at));
    assertEquals(h.path("samples").size() - 2, newer.path("samples").size());

    assertEquals(400, server.get("/api/v1/queues/" + q + "/history?after=-1").status());
    assertEquals(400, server.get("/api/v1/queues/" + q + "/history?after=soon").status());
    assertEquals(404, server.get("/api/v1/queues/no-such/history").status());
    assertEquals(200, server.send("GET", "/api/v1/queues/" + q + "/history", TestServer.VIEWER, null).status());
    assertEquals(403, server.send("GET", "/api/v1/queues/" + q + "/history", TestServer.CONSUMER, null).status(),
        "a token for orders-* does not read another queue's history");
  }

  @Test
  void anUnreadConsumerIsStuckWithItsReasonAndRefusedPublishesRaiseAnAlarm() {
    String q = queue("{}");
    assertEquals(201, server.put("/api/v1/queues/" + q + "/consumers/idle", "{\"startAt\":\"earliest\"}").status());
    publish(q, 0, 20);
    await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
      JsonNode health = server.get("/api/v1/queues/" + q + "/health").json();
      assertEquals("stuck", health.path("status").asText(), health.toString());
    });
    JsonNode health = server.get("/api/v1/queues/" + q + "/health").json();
    JsonNode idle = health.path("consumers").get(0);
    assertEquals("idle", idle.path("consumer").asText());
    assertEquals("stuck", idle.path("status").asText());
    assertTrue(idle.path("reason").asText().startsWith("20 messages waiting and nothing acknowledged for 3 s: nothing"
        + " is reading"), idle.toString());
    assertEquals("steady", idle.path("lagTrend").asText());

    String full = queue("{\"maxLength\":5,\"overflow\":\"reject\"}");
    publish(full, 0, 5);
    for (int i = 0; i < 3; i++) {
      assertEquals(429, server.post("/api/v1/queues/" + full + "/messages", "{\"payload\":\"x\"}").status());
    }
    String dlq = queue("{}");
    String source = queue("{\"deadLetter\":{\"queue\":\"" + dlq + "\",\"maxDeliveries\":2}}");
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      JsonNode all = server.get("/api/v1/health").json();
      assertTrue(all.path("alarms").toString().contains("\"3 messages published to " + full + " refused in the last 5 min"
          + " (QueueFull)\""), all.path("alarms").toString());
    });
    JsonNode all = server.get("/api/v1/health").json();
    JsonNode fullHealth = null;
    JsonNode dlqHealth = null;
    for (JsonNode x : all.path("queues")) {
      fullHealth = x.path("queue").asText().equals(full) ? x : fullHealth;
      dlqHealth = x.path("queue").asText().equals(dlq) ? x : dlqHealth;
    }
    assertEquals("full", fullHealth.path("status").asText());
    assertTrue(fullHealth.path("reason").asText().startsWith("full: 5 of at most 5 messages retained; 3 messages"
        + " refused"), fullHealth.toString());
    assertEquals("[\"" + source + "\"]", dlqHealth.path("deadLetterFor").toString());
    assertEquals(200, server.send("GET", "/api/v1/health", TestServer.VIEWER, null).status());
    assertEquals(404, server.get("/api/v1/queues/no-such/health").status());
  }

  @Test
  void browsePagesBothWaysAndSearchesWithBoundedScans() {
    String q = queue("{}");
    String before = Instant.now().minusSeconds(1).toString();
    publish(q, 0, 250);
    JsonNode first = server.get("/api/v1/queues/" + q + "/browse?limit=100").json();
    assertEquals(100, first.path("messages").size());
    assertEquals(1, sequences(first).get(0));
    assertEquals(101, first.path("next").asLong());
    assertFalse(first.hasNonNull("previous"), "nothing before the first");
    assertEquals(KIB, first.path("messages").get(0).path("payload").asText());

    JsonNode newest = server.get("/api/v1/queues/" + q + "/browse?direction=backward&limit=100").json();
    assertEquals(151, sequences(newest).get(0));
    assertEquals(250, sequences(newest).get(99));
    assertFalse(newest.hasNonNull("next"), "nothing after the newest");
    JsonNode older = server.get("/api/v1/queues/" + q + "/browse?direction=backward&limit=100&from="
        + newest.path("previous").asLong()).json();
    assertEquals(51, sequences(older).get(0));

    assertEquals(List.of(121L), sequences(server.get("/api/v1/queues/" + q + "/browse?key=k-120").json()));
    JsonNode eu = server.get("/api/v1/queues/" + q + "/browse?type=type-0&header=region:eu&limit=1000").json();
    assertTrue(sequences(eu).stream().allMatch(s -> (s - 1) % 12 == 0), eu.toString());
    assertEquals(21, eu.path("messages").size());
    assertTrue(eu.path("complete").asBoolean());
    JsonNode anyRegion = server.get("/api/v1/queues/" + q + "/browse?header=region&limit=3").json();
    assertEquals(List.of(1L, 3L, 5L), sequences(anyRegion));
    assertEquals(250, server.get("/api/v1/queues/" + q + "/browse?limit=1000&since=" + before).json()
        .path("messages").size());
    assertEquals(0, server.get("/api/v1/queues/" + q + "/browse?until=" + before).json().path("messages").size());

    JsonNode pastTheEnd = server.get("/api/v1/queues/" + q + "/browse?from=300000").json();
    assertEquals(0, pastTheEnd.path("messages").size());
    assertEquals(250, pastTheEnd.path("previous").asLong(), "a page past the end leads back to the newest");

    for (String bad : List.of("limit=0", "limit=1001", "from=-1", "direction=sideways", "since=yesterday",
        "header=:eu", "since=2026-12-02T00:00:00Z&until=2026-12-01T00:00:00Z", "header=a:1&header=a:2", "key=",
        "type=", "limit=5&limit=6")) {
      TestServer.Response r = server.get("/api/v1/queues/" + q + "/browse?" + bad);
      assertEquals(400, r.status(), bad + ": " + r.body());
      assertFalse(r.error().isBlank());
    }
    assertEquals(404, server.get("/api/v1/queues/no-such/browse").status());

    String partitioned = queue("{\"partitions\":2}");
    TestServer.Response refused = server.get("/api/v1/queues/" + partitioned + "/browse");
    assertEquals(400, refused.status());
    assertTrue(refused.body().contains(partitioned + "#0"), refused.body());
    assertEquals(200, server.get("/api/v1/queues/" + partitioned + "%230/browse").status());
  }

  @Test
  void aSelectionOfDeadLettersIsRedrivenWithItsCount() {
    String dlq = queue("{}");
    String source = queue("{\"deadLetter\":{\"queue\":\"" + dlq + "\",\"maxDeliveries\":1}}");
    assertEquals(201, server.put("/api/v1/queues/" + source + "/consumers/c", "{\"startAt\":\"earliest\"}").status());
    publish(source, 0, 10);
    JsonNode read = server.post("/api/v1/queues/" + source + "/consumers/c/read?max=10", null).json();
    StringBuilder seqs = new StringBuilder();
    read.path("deliveries").forEach(d -> seqs.append(seqs.length() == 0 ? "" : ",").append(d.path("sequence")));
    assertEquals(200, server.post("/api/v1/queues/" + source + "/consumers/c/nack",
        "{\"sequences\":[" + seqs + "],\"requeue\":false}").status());
    await().atMost(Duration.ofSeconds(10)).until(() -> server.get("/api/v1/queues/" + dlq).json().path("stats")
        .path("depth").asLong() == 10);

    JsonNode reasons = server.get("/api/v1/queues/" + dlq + "/headers/x-death-reason").json();
    assertEquals(10, reasons.path("values").path("rejected").asLong(), reasons.toString());
    assertTrue(reasons.path("complete").asBoolean());
    assertEquals(10, server.get("/api/v1/queues/" + dlq + "/headers/x-death-queue").json().path("values").path(source)
        .asLong());
    assertEquals(404, server.get("/api/v1/queues/no-such/headers/x-death-reason").status());
    assertEquals(400, server.get("/api/v1/queues/" + dlq + "/headers/" + "h".repeat(257)).status());

    for (String bad : List.of("{\"sequences\":[]}", "{\"sequences\":[0]}", "{\"sequences\":[1],\"from\":1}",
        "{\"sequences\":\"all\"}", "{\"sequences\":null}", "{\"sequences\":[null]}")) {
      assertEquals(400, server.post("/api/v1/queues/" + dlq + "/redrive", bad).status(), bad);
    }
    assertEquals(10, server.get("/api/v1/queues/" + dlq).json().path("stats").path("depth").asLong(),
        "refused redrives moved nothing");
    TestServer.Response moved = server.post("/api/v1/queues/" + dlq + "/redrive", "{\"sequences\":[2,3,9]}");
    assertEquals(200, moved.status(), moved.body());
    assertEquals(3, moved.json().path("moved").asLong());
    assertEquals(7, server.get("/api/v1/queues/" + dlq).json().path("stats").path("depth").asLong());
    assertEquals(403, server.send("POST", "/api/v1/queues/" + dlq + "/redrive", TestServer.VIEWER,
        "{\"sequences\":[1]}").status());
  }

  @Test
  void aRedriveIntoAFullSourceAsksToRetryAndAHealthNamesOnlyTheSourcesItsReaderMaySee() {
    String dlq = "orders-dlq-" + NAMES.incrementAndGet();
    assertEquals(201, server.put("/api/v1/queues/" + dlq, "{}").status());
    String source = queue("{\"deadLetter\":{\"queue\":\"" + dlq + "\",\"maxDeliveries\":1},\"maxLength\":5,"
        + "\"overflow\":\"reject\"}");
    assertEquals(201, server.put("/api/v1/queues/" + source + "/consumers/c", "{\"startAt\":\"earliest\"}").status());
    publish(source, 0, 5);
    assertEquals(5, server.post("/api/v1/queues/" + source + "/consumers/c/read?max=5", null).json()
        .path("deliveries").size());
    assertEquals(200, server.post("/api/v1/queues/" + source + "/consumers/c/nack",
        "{\"sequences\":[1,2,3],\"requeue\":false}").status());
    await().atMost(Duration.ofSeconds(10)).until(() -> server.get("/api/v1/queues/" + dlq).json().path("stats")
        .path("depth").asLong() == 3);
    publish(source, 5, 3); // the source is full again: its 5 places are taken
    TestServer.Response full = server.post("/api/v1/queues/" + dlq + "/redrive", "{\"sequences\":[1,2]}");
    assertEquals(429, full.status(), full.body());
    assertEquals("QueueFull", full.error());
    assertEquals(3, server.get("/api/v1/queues/" + dlq).json().path("stats").path("depth").asLong());

    // orders-* readers see the dead-letter queue's health, not the name of a source they may not read.
    JsonNode seen = server.send("GET", "/api/v1/queues/" + dlq + "/health", TestServer.CONSUMER, null).json();
    assertEquals("[]", seen.path("deadLetterFor").toString(), seen.toString());
    assertEquals("[\"" + source + "\"]", server.get("/api/v1/queues/" + dlq + "/health").json().path("deadLetterFor")
        .toString());
  }

  @Test
  void aPurgeEmptiesTheQueueForAdminsOnly() {
    String q = queue("{}");
    assertEquals(201, server.put("/api/v1/queues/" + q + "/consumers/c", "{\"startAt\":\"earliest\"}").status());
    publish(q, 0, 120);
    assertEquals(403, server.send("DELETE", "/api/v1/queues/" + q + "/messages", TestServer.VIEWER, null).status());
    assertEquals(120, server.get("/api/v1/queues/" + q).json().path("stats").path("depth").asLong());
    TestServer.Response purged = server.delete("/api/v1/queues/" + q + "/messages");
    assertEquals(200, purged.status(), purged.body());
    assertEquals(120, purged.json().path("purged").asLong());
    assertEquals(0, server.get("/api/v1/queues/" + q).json().path("stats").path("depth").asLong());
    assertEquals(0, server.get("/api/v1/queues/" + q + "/consumers/c").json().path("lag").asLong());
    assertEquals(404, server.delete("/api/v1/queues/no-such/messages").status());
  }
}
