package dev.spool.http;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A W3C {@code traceparent} on publish stays with each message: in deliveries, in the message's
 * trace and in its dead-letter copy, so a distributed trace spans the queue.
 */
class TraceContextTest {

  private static final String PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  private static TestServer server;

  @BeforeAll
  static void start() {
    server = TestServer.start();
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
  }

  private static TestServer.Response publish(String queue, String body, String traceparent, String tracestate) {
    HttpRequest.Builder b = HttpRequest.newBuilder(server.uri("/api/v1/queues/" + queue + "/messages"))
        .header("Authorization", "Bearer " + TestServer.ADMIN).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body));
    if (traceparent != null) {
      b.header("traceparent", traceparent);
    }
    if (tracestate != null) {
      b.header("tracestate", tracestate);
    }
    return server.send(b.build());
  }

  @Test
  void theTraceContextTravelsWithTheMessageToConsumersTracesAndDeadLetters() {
    assertEquals(201, server.put("/api/v1/queues/traced-dlq", "{}").status());
    assertEquals(201, server.put("/api/v1/queues/traced", "{\"deadLetter\":{\"queue\":\"traced-dlq\","
        + "\"maxDeliveries\":1}}").status());
    assertEquals(201, server.put("/api/v1/queues/traced/consumers/c", "{}").status());
    String own = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    TestServer.Response published = publish("traced", "{\"messages\":[{\"payload\":\"" + "x".repeat(1024) + "\"},"
        + "{\"payload\":\"y\",\"headers\":{\"traceparent\":\"" + own + "\"}}]}", PARENT, "vendor=abc");
    assertEquals(201, published.status(), published.body());

    JsonNode read = server.post("/api/v1/queues/traced/consumers/c/read?max=2", null).json().path("deliveries");
    assertEquals(PARENT, read.get(0).path("message").path("headers").path("traceparent").asText(), read.toString());
    assertEquals("vendor=abc", read.get(0).path("message").path("headers").path("tracestate").asText());
    assertEquals(own, read.get(1).path("message").path("headers").path("traceparent").asText(),
        "a message's own trace context wins over the request's");

    JsonNode trace = server.get("/api/v1/queues/traced/messages/1").json();
    assertTrue(trace.toString().contains(PARENT), trace.toString());

    assertEquals(200, server.post("/api/v1/queues/traced/consumers/c/nack",
        "{\"sequences\":[1],\"requeue\":false}").status());
    await().atMost(Duration.ofSeconds(10)).until(() -> server.get("/api/v1/queues/traced-dlq").json().path("stats")
        .path("depth").asLong() == 1);
    JsonNode deadLetter = server.get("/api/v1/queues/traced-dlq/messages").json().get(0);
    assertEquals(PARENT, deadLetter.path("headers").path("traceparent").asText(), deadLetter.toString());
  }

  @Test
  void aMalformedTraceContextIsRefusedAndPublishesNothing() {
    assertEquals(201, server.put("/api/v1/queues/untraced", "{}").status());
    for (String bad : List.of("00-xyz", "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01")) {
      TestServer.Response r = publish("untraced", "{\"payload\":\"x\"}", bad, null);
      assertEquals(400, r.status(), bad + ": " + r.body());
      assertTrue(r.body().contains("traceparent"), r.body());
    }
    assertEquals(400, publish("untraced", "{\"payload\":\"x\"}", null, "vendor=abc").status(),
        "a tracestate alone belongs to no trace");
    assertEquals(0, server.get("/api/v1/queues/untraced").json().path("stats").path("depth").asLong());
  }
}
