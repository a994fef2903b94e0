package dev.spool.system.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.spool.system.TestServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * The whole service from outside: a queue, two consumers, 10,000 messages published in batches while
 * both consumers read and acknowledge them concurrently over HTTP; every message reaches each
 * consumer once, lag drains to 0, the figures add up, and every response is what the OpenAPI
 * document the service ships says it is ({@link OpenApiResponses}).
 */
class BlackBoxFlowTest {

  private static final int MESSAGES = 10_000;
  private static final int BATCH = 100;

  private final OpenApiResponses contract = new OpenApiResponses();

  @Test
  void tenThousandMessagesThroughTwoConsumers() throws Exception {
    try (TestServer server = TestServer.start()) {
      assertEquals(201, send(server, "PUT", "/api/v1/queues/orders-flow", TestServer.ADMIN, "{}").status());
      for (String c : List.of("billing", "shipping")) {
        assertEquals(201, send(server, "PUT", "/api/v1/queues/orders-flow/consumers/" + c, TestServer.CONSUMER,
            "{\"prefetch\":1000}").status());
      }

      List<CompletableFuture<Set<Long>>> readers = new ArrayList<>();
      for (String c : List.of("billing", "shipping")) {
        readers.add(CompletableFuture.supplyAsync(() -> readAndAck(server, c)));
      }
      List<Long> published = new ArrayList<>();
      for (int b = 0; b < MESSAGES / BATCH; b++) {
        StringBuilder body = new StringBuilder("{\"messages\":[");
        for (int i = 0; i < BATCH; i++) {
          body.append(i == 0 ? "" : ",").append("{\"type\":\"order.created\",\"payload\":\"order-")
              .append(b * BATCH + i).append("\"}");
        }
        TestServer.Response r = send(server, "POST", "/api/v1/queues/orders-flow/messages", TestServer.PRODUCER,
            body.append("]}").toString());
        assertEquals(201, r.status(), r.body());
        r.json().path("sequences").forEach(s -> published.add(s.asLong()));
      }
      assertEquals(MESSAGES, published.size());

      for (CompletableFuture<Set<Long>> reader : readers) {
        Set<Long> seen = reader.get(90, TimeUnit.SECONDS);
        assertEquals(MESSAGES, seen.size());
        assertEquals(1L, (long) ((TreeSet<Long>) seen).first());
        assertEquals(MESSAGES, (long) ((TreeSet<Long>) seen).last());
      }

      Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
        for (String c : List.of("billing", "shipping")) {
          JsonNode info = send(server, "GET", "/api/v1/queues/orders-flow/consumers/" + c, TestServer.ADMIN, null)
              .json();
          assertEquals(0, info.path("lag").asLong(), c);
          assertEquals(MESSAGES, info.path("committed").asLong(), c);
          assertEquals(MESSAGES, info.path("acked").asLong(), c);
          assertEquals(0, info.path("inFlight").asInt(), c);
        }
      });
      JsonNode stats = send(server, "GET", "/api/v1/queues/orders-flow", TestServer.ADMIN, null).json().path("stats");
      assertEquals(MESSAGES, stats.path("published").asLong());
      assertEquals(MESSAGES, stats.path("lastSequence").asLong());
      assertEquals(2L * MESSAGES, stats.path("acked").asLong());
      assertEquals(stats.path("delivered").asLong() - stats.path("redelivered").asLong(), 2L * MESSAGES);
      assertEquals(0, send(server, "GET", "/api/v1/stats/lag", TestServer.ADMIN, null).json().path("maxLag").asLong());
    }
    assertEquals(List.of(), contract.violations());
  }

  /** The response to the request, checked against the OpenAPI document. */
  private TestServer.Response send(TestServer server, String method, String path, String token, String body) {
    return contract.checked(method, path, server.send(method, path, token, body));
  }

  /** Reads and acknowledges until every message was seen; returns the distinct sequences read. */
  private Set<Long> readAndAck(TestServer server, String consumer) {
    String base = "/api/v1/queues/orders-flow/consumers/" + consumer;
    TreeSet<Long> seen = new TreeSet<>();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(80);
    while (seen.size() < MESSAGES && System.nanoTime() < deadline) {
      TestServer.Response r = send(server, "POST", base + "/read?max=500&wait=PT1S", TestServer.CONSUMER, null);
      assertEquals(200, r.status(), r.body());
      List<Long> batch = new ArrayList<>();
      for (JsonNode d : r.json().path("deliveries")) {
        long seq = d.path("sequence").asLong();
        assertEquals("order-" + (seq - 1), d.path("message").path("payload").asText());
        assertTrue(seen.add(seq), consumer + " got " + seq + " twice");
        batch.add(seq);
      }
      if (!batch.isEmpty()) {
        TestServer.Response ack = send(server, "POST", base + "/ack", TestServer.CONSUMER,
            "{\"sequences\":" + batch + "}");
        assertEquals(batch.size(), ack.json().path("acked").asInt());
      }
    }
    return seen;
  }
}
