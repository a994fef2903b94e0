package dev.spool.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Values at the edge of their types: durations past what a timer or epoch milliseconds can hold,
 * times at the end of the calendar, thousands of headers, sequences below 1. Each is a 400 that
 * names the field, changes nothing, and leaves the server healthy.
 */
class ExtremeValuesTest {

  private static TestServer server;

  @BeforeAll
  static void start() {
    server = TestServer.start();
    server.put("/api/v1/queues/orders-edge", "{}");
    server.post("/api/v1/queues/orders-edge/messages", "{\"payload\":\"one\"}");
    server.put("/api/v1/queues/orders-edge/consumers/c", "{}");
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
  }

  private static void refused(TestServer.Response r, String field) {
    assertEquals(400, r.status(), r.body());
    assertTrue(r.json().path("message").asText().contains(field), r.body());
  }

  @Test
  void durationsPastTheirBoundsAreRefused() {
    String huge = "PT9223372036854775807S";
    refused(server.put("/api/v1/queues/orders-edge/consumers/slow", "{\"ackTimeout\":\"P365D\"}"), "ackTimeout");
    refused(server.put("/api/v1/queues/orders-edge/consumers/idle", "{\"inactiveTimeout\":\"" + huge + "\"}"),
        "inactiveTimeout");
    refused(server.put("/api/v1/queues/orders-big", "{\"ttl\":\"" + huge + "\"}"), "ttl");
    refused(server.put("/api/v1/queues/orders-big", "{\"retention\":\"" + huge + "\"}"), "retention");
    refused(server.post("/api/v1/queues/orders-edge/messages", "{\"payload\":\"x\",\"ttl\":\"" + huge + "\"}"), "ttl");
    assertEquals(404, server.get("/api/v1/queues/orders-big").status(), "nothing created");
    assertEquals(1, server.get("/api/v1/queues/orders-edge").json().path("stats").path("lastSequence").asLong());
  }

  @Test
  void timesOutsideEpochMillisecondsAreRefused() {
    String far = "time:+999999999-12-31T23:59:59Z";
    refused(server.put("/api/v1/queues/orders-edge/consumers/far", "{\"startAt\":\"" + far + "\"}"), "startAt");
    refused(server.post("/api/v1/queues/orders-edge/consumers/c/seek", "{\"to\":\"" + far + "\"}"), "to");
  }

  @Test
  void tooManyHeadersAndSequencesBelowOneAreRefused() {
    StringBuilder headers = new StringBuilder();
    for (int i = 0; i < 10_000; i++) {
      headers.append(i == 0 ? "" : ",").append("\"h").append(i).append("\":\"v\"");
    }
    TestServer.Response many = server.post("/api/v1/queues/orders-edge/messages",
        "{\"payload\":\"x\",\"headers\":{" + headers + "}}");
    assertEquals(400, many.status(), many.body());
    assertTrue(many.body().contains("headers"), many.body());
    refused(server.post("/api/v1/queues/orders-edge/consumers/c/nack", "{\"sequences\":[0,-7]}"), "sequences");
    refused(server.post("/api/v1/queues/orders-edge/consumers/c/ack", "{\"sequences\":[-1]}"), "sequences");
    assertEquals(200, server.send("GET", "/health/live", null, null).status(), "still healthy");
  }
}
