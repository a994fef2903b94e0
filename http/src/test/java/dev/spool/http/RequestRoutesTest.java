package dev.spool.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@code POST /api/v1/queues/{q}/requests}: a request answered by a consumer over HTTP, timeouts, bad input. */
class RequestRoutesTest {

  private static TestServer server;

  @BeforeAll
  static void start() {
    server = TestServer.start();
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
  }

  @Test
  void aRequestIsAnsweredByAConsumerThatPublishesToItsReplyQueue() throws Exception {
    server.put("/api/v1/queues/orders-rpc", "{}");
    server.put("/api/v1/queues/orders-rpc/consumers/service", "{}");
    String kib = "q".repeat(1024);
    CompletableFuture<TestServer.Response> asked = CompletableFuture.supplyAsync(() -> server.send("POST",
        "/api/v1/queues/orders-rpc/requests?timeout=PT20S", TestServer.PRODUCER,
        "{\"type\":\"price.asked\",\"payload\":\"" + kib + "\"}"));

    JsonNode request = null;
    for (int i = 0; i < 20 && request == null; i++) {
      JsonNode read = server.post("/api/v1/queues/orders-rpc/consumers/service/read?max=1&wait=PT1S", null).json()
          .path("deliveries");
      request = read.size() == 1 ? read.get(0) : null;
    }
    assertTrue(request != null, "the request was published");
    JsonNode headers = request.path("message").path("headers");
    String replyTo = headers.path("reply-to").asText();
    String correlationId = headers.path("correlation-id").asText();
    assertTrue(replyTo.startsWith("reply-"), headers.toString());
    TestServer.Response replied = server.post("/api/v1/queues/" + replyTo + "/messages",
        "{\"type\":\"price\",\"payload\":\"42\",\"headers\":{\"correlation-id\":\"" + correlationId + "\"}}");
    assertEquals(201, replied.status(), replied.body());

    TestServer.Response answer = asked.get(30, TimeUnit.SECONDS);
    assertEquals(200, answer.status(), answer.body());
    assertEquals("42", answer.json().path("payload").asText());
    assertEquals("price", answer.json().path("type").asText());
    assertEquals("admin", answer.json().path("producerId").asText(), "who replied");
  }

  @Test
  void aRequestNobodyAnswersTimesOutAndBadRequestsAreRefused() {
    server.put("/api/v1/queues/orders-silent", "{}");
    TestServer.Response timedOut = server.send("POST", "/api/v1/queues/orders-silent/requests?timeout=PT0.3S",
        TestServer.PRODUCER, "{\"payload\":\"anyone?\"}");
    assertEquals(503, timedOut.status(), timedOut.body());
    assertEquals("Timeout", timedOut.error());

    for (String query : new String[] {"?timeout=soon", "?timeout=PT0S", "?timeout=-PT1S", "?timeout=PT24H"}) {
      TestServer.Response bad = server.send("POST", "/api/v1/queues/orders-silent/requests" + query,
          TestServer.PRODUCER, "{\"payload\":\"x\"}");
      assertEquals(400, bad.status(), query + " -> " + bad.body());
    }
    TestServer.Response batch = server.send("POST", "/api/v1/queues/orders-silent/requests", TestServer.PRODUCER,
        "{\"messages\":[{\"payload\":\"a\"},{\"payload\":\"b\"}]}");
    assertEquals(400, batch.status(), batch.body());
    assertTrue(batch.body().contains("a request is one message"), batch.body());
    assertEquals(403, server.send("POST", "/api/v1/queues/orders-silent/requests", TestServer.VIEWER,
        "{\"payload\":\"x\"}").status());
    assertEquals(403, server.send("POST", "/api/v1/queues/audit/requests", TestServer.PRODUCER,
        "{\"payload\":\"x\"}").status(), "the producer's patterns apply");
  }
}
