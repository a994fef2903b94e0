package dev.spool.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code POST /consumers/stale/cleanup} with an {@code idle} time, on a server whose
 * {@code spool.janitor.stale-after} keeps its default (5 min), so that only the body's idle time
 * can make a consumer idle for seconds stale.
 */
class StaleCleanupRoutesTest {

  private static TestServer server;

  @BeforeAll
  static void start() {
    server = TestServer.start();
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
  }

  private static String kibMessages(int n) {
    String payload = "x".repeat(1024);
    StringBuilder body = new StringBuilder("{\"messages\":[");
    for (int i = 0; i < n; i++) {
      body.append(i == 0 ? "" : ",").append("{\"type\":\"t\",\"payload\":\"").append(payload).append("\"}");
    }
    return body.append("]}").toString();
  }

  private static int status(String consumer) {
    return server.get("/api/v1/queues/idle-q/consumers/" + consumer).status();
  }

  @Test
  void cleanupWithAnIdleTimeRemovesWhatDetectionListedAndBadInputRemovesNothing() {
    assertEquals(201, server.put("/api/v1/queues/idle-q", "{}").status());
    assertEquals(201, server.put("/api/v1/queues/idle-q/consumers/laggard", "{}").status());
    assertEquals(201, server.put("/api/v1/queues/idle-q/consumers/halfway", "{\"prefetch\":200}").status());
    assertEquals(201, server.post("/api/v1/queues/idle-q/messages", kibMessages(200)).status());
    assertEquals(100, server.post("/api/v1/queues/idle-q/consumers/halfway/read?max=100", null).json()
        .path("deliveries").size());
    assertEquals(100, server.post("/api/v1/queues/idle-q/consumers/halfway/ack", "{\"upTo\":100}").json()
        .path("acked").asInt());

    Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      JsonNode stale = server.get("/api/v1/consumers/stale?idle=PT2S").json();
      assertTrue(stale.toString().contains("\"consumer\":\"laggard\",\"lag\":200"), stale.toString());
    });

    TestServer.Response listedWithoutIdle = server.get("/api/v1/consumers/stale");
    assertEquals(0, listedWithoutIdle.json().size(), "listing and cleanup share the default idle: " + listedWithoutIdle.body());
    TestServer.Response withoutIdle = server.post("/api/v1/consumers/stale/cleanup", "{\"lagThreshold\":150}");
    assertEquals(200, withoutIdle.status(), withoutIdle.body());
    assertEquals(0, withoutIdle.json().path("removed").asInt(), "stale-after (5 min) has not passed");
    assertEquals(200, status("laggard"));

    for (String bad : new String[] {
        "{\"lagThreshold\":150,\"idle\":\"soon\"}",
        "{\"lagThreshold\":150,\"idle\":\"-PT1S\"}",
        "{\"lagThreshold\":150,\"idle\":1}",
        "{\"lagThreshold\":150,\"idle\":true}",
        "{\"lagThreshold\":150,\"idle\":{\"seconds\":1}}",
        "{\"lagThreshold\":-1,\"idle\":\"PT1S\"}",
        "{\"lagThreshold\":\"150\",\"idle\":\"PT1S\"}"}) {
      TestServer.Response r = server.post("/api/v1/consumers/stale/cleanup", bad);
      assertEquals(400, r.status(), bad + " -> " + r.body());
      assertEquals("InvalidConfiguration", r.json().path("error").asText(), r.body());
      String field = bad.contains("-1") || bad.contains("\"150\"") ? "lagThreshold" : "idle";
      assertTrue(r.json().path("message").asText().contains("'" + field + "'"), bad + " -> " + r.body());
      assertEquals(200, status("laggard"), "refused: nothing removed");
    }
    String tooLong = "PT9999999999999H"; // a valid duration past what milliseconds can count
    TestServer.Response listed = server.get("/api/v1/consumers/stale?idle=" + tooLong);
    assertEquals(400, listed.status(), listed.body());
    TestServer.Response cleaned = server.post("/api/v1/consumers/stale/cleanup",
        "{\"lagThreshold\":150,\"idle\":\"" + tooLong + "\"}");
    assertEquals(400, cleaned.status(), cleaned.body());
    assertTrue(cleaned.json().path("message").asText().contains("too long"), cleaned.body());
    assertEquals(200, status("laggard"), "refused: nothing removed");

    TestServer.Response cleanup = server.post("/api/v1/consumers/stale/cleanup",
        "{\"lagThreshold\":150,\"idle\":\"PT1S\"}");
    assertEquals(200, cleanup.status(), cleanup.body());
    assertEquals(1, cleanup.json().path("removed").asInt(), cleanup.body());
    var named = cleanup.json().path("consumers").get(0);
    assertEquals("laggard", named.path("consumer").asText(), cleanup.body());
    assertTrue(named.path("lag").asLong() > 150, cleanup.body());
    assertEquals(0, withoutIdle.json().path("consumers").size());
    assertEquals(404, status("laggard"));
    assertEquals(200, status("halfway"), "stale too, but its lag (100) is under the threshold");
  }
}
