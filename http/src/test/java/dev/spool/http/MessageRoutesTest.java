package dev.spool.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@code /api/v1/queues/{q}/messages}: publish, browse, trace, and their errors. */
class MessageRoutesTest {

  private static final AtomicInteger NAMES = new AtomicInteger();
  private static TestServer server;

  @BeforeAll
  static void start() {
    // Small segments, so that acknowledged messages are freed after a few (memory is freed in whole
    // segments); no janitor tick during a test, so that only the test's own collection frees them.
    server = TestServer.start(com.typesafe.config.ConfigFactory.parseString("spool.segment-size = 16\n"
            + "spool.janitor.interval = 1h")
        .withFallback(TestServer.tokens()));
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
  }

  private static String queue() {
    String q = "m-" + NAMES.incrementAndGet();
    assertEquals(201, server.put("/api/v1/queues/" + q, "{}").status());
    return q;
  }

  @Test
  void publishOneAndABatchThenBrowseThemBack() {
    String q = queue();
    String id = UUID.randomUUID().toString();
    TestServer.Response one = server.post("/api/v1/queues/" + q + "/messages",
        "{\"type\":\"order.created\",\"key\":\"c-7\",\"headers\":{\"correlation-id\":\"x1\"},"
            + "\"contentType\":\"application/json\",\"payload\":\"{\\\"id\\\":7}\",\"id\":\"" + id + "\",\"ttl\":\"PT30S\"}");
    assertEquals(201, one.status(), one.body());
    assertEquals("[1]", one.json().path("sequences").toString());

    String binary = Base64.getEncoder().encodeToString(new byte[] {0, (byte) 0xff, 7});
    TestServer.Response batch = server.post("/api/v1/queues/" + q + "/messages",
        "{\"messages\":[{\"type\":\"a\",\"payload\":\"text\"},{\"type\":\"b\",\"payloadBase64\":\"" + binary + "\"}]}");
    assertEquals(201, batch.status(), batch.body());
    assertEquals("[2,3]", batch.json().path("sequences").toString());

    TestServer.Response browse = server.get("/api/v1/queues/" + q + "/messages?from=1&limit=10");
    assertEquals(200, browse.status());
    JsonNode all = browse.json();
    assertEquals(3, all.size());
    JsonNode first = all.get(0);
    assertEquals(1, first.path("sequence").asLong());
    assertEquals(id, first.path("id").asText());
    assertEquals("order.created", first.path("type").asText());
    assertEquals("c-7", first.path("key").asText());
    assertEquals("x1", first.path("headers").path("correlation-id").asText());
    assertEquals("{\"id\":7}", first.path("payload").asText());
    assertEquals("admin", first.path("producerId").asText());
    assertTrue(first.path("timestamp").asLong() > 0);
    assertTrue(first.path("expiresAt").asLong() > first.path("timestamp").asLong());
    assertEquals("text", all.get(1).path("payload").asText());
    assertFalse(all.get(2).has("payload"));
    assertEquals(binary, all.get(2).path("payloadBase64").asText());

    assertEquals(2, server.get("/api/v1/queues/" + q + "/messages?from=2").json().size());
    assertEquals(1, server.get("/api/v1/queues/" + q + "/messages?limit=1").json().size());
  }

  @Test
  void republishingAnIdWithinTheDedupWindowReturnsTheOriginalSequence() {
    String q = queue();
    String body = "{\"payload\":\"once\",\"id\":\"" + UUID.randomUUID() + "\"}";
    assertEquals("[1]", server.post("/api/v1/queues/" + q + "/messages", body).json().path("sequences").toString());
    assertEquals("[1]", server.post("/api/v1/queues/" + q + "/messages", body).json().path("sequences").toString());
    assertEquals(1, server.get("/api/v1/queues/" + q).json().path("stats").path("depth").asLong());
  }

  @Test
  void aMessageComesWithItsTraceAndIs404OnceFreed() {
    String q = queue();
    server.put("/api/v1/queues/" + q + "/consumers/c", "{}");
    server.post("/api/v1/queues/" + q + "/messages", "{\"payload\":\"p\"}");
    server.post("/api/v1/queues/" + q + "/consumers/c/read", null);
    server.post("/api/v1/queues/" + q + "/consumers/c/ack", "{\"sequences\":[1]}");
    server.post("/api/v1/queues/" + q + "/messages", "{\"messages\":[" + "{},".repeat(15) + "{}]}");

    TestServer.Response trace = server.get("/api/v1/queues/" + q + "/messages/1");
    assertEquals(200, trace.status(), trace.body());
    assertEquals("p", trace.json().path("message").path("payload").asText());
    assertEquals("[appended, delivered, acked]", trace.json().path("trace").findValuesAsText("event").toString());

    server.put("/api/v1/queues/" + q + "/consumers/late", "{\"startAt\":\"latest\"}");
    TestServer.Response withLate = server.get("/api/v1/queues/" + q + "/messages/1");
    assertEquals("[appended, delivered, acked, before-start]",
        withLate.json().path("trace").findValuesAsText("event").toString(), withLate.body());
    com.fasterxml.jackson.databind.JsonNode beforeStart = withLate.json().path("trace").get(3);
    assertEquals("late", beforeStart.path("consumer").asText());
    assertTrue(beforeStart.path("at").isMissingNode() || beforeStart.path("at").isNull(), beforeStart.toString());
    assertTrue(withLate.json().path("trace").get(1).path("at").isTextual(), "a delivery has its time");
    server.delete("/api/v1/queues/" + q + "/consumers/late");

    server.post("/api/v1/queues/" + q + "/consumers/c/read?max=100", null);
    server.post("/api/v1/queues/" + q + "/consumers/c/ack", "{\"upTo\":17}");
    TestServer.Response gc = server.post("/api/v1/gc", null);
    assertEquals(200, gc.status());
    assertTrue(gc.json().path("freed").isNumber());
    TestServer.Response freed = server.get("/api/v1/queues/" + q + "/messages/1");
    assertEquals(404, freed.status());
    assertEquals("SequenceOutOfRange", freed.error());
    assertEquals(400, server.get("/api/v1/queues/" + q + "/messages/first").status());
  }

  @Test
  void badMessagesAre400AndAppendNothing() {
    String q = queue();
    String path = "/api/v1/queues/" + q + "/messages";
    String[][] cases = {
        {"{\"payload\":\"a\",\"payloadBase64\":\"YQ==\"}", "payloadBase64"},
        {"{\"payloadBase64\":\"***\"}", "payloadBase64"},
        {"{\"id\":\"not-a-uuid\"}", "id"},
        {"{\"ttl\":\"soon\"}", "ttl"},
        {"{\"headers\":{\"a\":1}}", "headers.a"},
        {"{\"type\":7}", "type"},
        {"{\"colour\":\"red\"}", "colour"},
        {"{\"messages\":[]}", "messages"},
        {"{\"messages\":[{\"payload\":\"ok\"},{\"id\":\"bad\"}]}", "messages[1].id"},
        {"{\"messages\":[{\"payload\":\"ok\"}],\"type\":\"x\"}", "messages"},
        {"[1,2]", "body"},
        {"{\"payload\":\"a\"} trailing", "JSON"},
    };
    for (String[] c : cases) {
      TestServer.Response r = server.post(path, c[0]);
      assertEquals(400, r.status(), c[0] + " -> " + r.body());
      assertTrue(r.json().path("message").asText().contains(c[1]), c[0] + " -> " + r.body());
    }
    assertEquals(0, server.get("/api/v1/queues/" + q).json().path("stats").path("lastSequence").asLong());
  }

  @Test
  void publishingToAMissingQueueIs404AndAFullQueueIs429WithRetryAfter() {
    TestServer.Response missing = server.post("/api/v1/queues/nowhere-" + NAMES.incrementAndGet() + "/messages",
        "{\"payload\":\"x\"}");
    assertEquals(404, missing.status());
    assertEquals("QueueNotFound", missing.error());

    String q = "m-full-" + NAMES.incrementAndGet();
    server.put("/api/v1/queues/" + q, "{\"maxLength\":1}");
    assertEquals(201, server.post("/api/v1/queues/" + q + "/messages", "{\"payload\":\"x\"}").status());
    TestServer.Response full = server.post("/api/v1/queues/" + q + "/messages", "{\"payload\":\"y\"}");
    assertEquals(429, full.status());
    assertEquals("QueueFull", full.error());
    assertEquals("1", full.header("Retry-After"));
  }

  @Test
  void browseQueryValuesAreChecked() {
    String q = queue();
    assertEquals(400, server.get("/api/v1/queues/" + q + "/messages?from=0").status());
    assertEquals(400, server.get("/api/v1/queues/" + q + "/messages?limit=abc").status());
    assertEquals(400, server.get("/api/v1/queues/" + q + "/messages?limit=100000").status());
    assertEquals(404, server.get("/api/v1/queues/nowhere/messages").status());
  }

  @Test
  void aTextPayloadWithABinaryContentTypeComesBackAsBase64() {
    String q = queue();
    server.post("/api/v1/queues/" + q + "/messages", "{\"payload\":\"héllo\",\"contentType\":\"application/octet-stream\"}");
    JsonNode m = server.get("/api/v1/queues/" + q + "/messages").json().get(0);
    assertEquals("héllo", new String(Base64.getDecoder().decode(m.path("payloadBase64").asText()), StandardCharsets.UTF_8));
  }
}
