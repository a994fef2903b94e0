package dev.spool.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@code /api/v1/queues}: every route's success and the error statuses it lists. */
class QueueRoutesTest {

  private static final AtomicInteger NAMES = new AtomicInteger();
  private static TestServer server;

  @BeforeAll
  static void start() {
    server = TestServer.start();
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
  }

  private static String fresh() {
    return "q-" + NAMES.incrementAndGet();
  }

  @Test
  void createIsIdempotentForEqualSettingsAndConflictsForOthers() {
    String q = fresh();
    String settings = "{\"ttl\":\"PT10M\",\"maxLength\":1000,\"overflow\":\"drop-oldest\",\"retention\":\"PT1H\","
        + "\"deadLetter\":{\"queue\":\"" + q + "-dlq\",\"maxDeliveries\":5},\"dedupWindow\":\"PT2M\"}";
    TestServer.Response created = server.put("/api/v1/queues/" + q, settings);
    assertEquals(201, created.status(), created.body());
    JsonNode s = created.json().path("settings");
    assertEquals("PT10M", s.path("ttl").asText());
    assertEquals(1000, s.path("maxLength").asLong());
    assertEquals("drop-oldest", s.path("overflow").asText());
    assertEquals(q + "-dlq", s.path("deadLetter").path("queue").asText());
    assertEquals(5, s.path("deadLetter").path("maxDeliveries").asInt());

    assertEquals(200, server.put("/api/v1/queues/" + q, settings).status());
    TestServer.Response conflict = server.put("/api/v1/queues/" + q, "{\"maxLength\":5}");
    assertEquals(409, conflict.status());
    assertEquals("QueueAlreadyExists", conflict.error());
  }

  @Test
  void anEmptyBodyOrEmptyObjectCreatesWithDefaults() {
    String q = fresh();
    TestServer.Response r = server.send("PUT", "/api/v1/queues/" + q, TestServer.ADMIN, null);
    assertEquals(201, r.status(), r.body());
    assertEquals("transient", r.json().path("settings").path("durability").asText());
    assertEquals(200, server.put("/api/v1/queues/" + q, "{}").status());
  }

  @Test
  void getListAndDeleteAQueue() {
    String q = fresh();
    server.put("/api/v1/queues/" + q, "{}");
    server.post("/api/v1/queues/" + q + "/messages", "{\"type\":\"t\",\"payload\":\"hello\"}");

    TestServer.Response one = server.get("/api/v1/queues/" + q);
    assertEquals(200, one.status());
    JsonNode stats = one.json().path("stats");
    for (String field : new String[] {"lastSequence", "firstSequence", "depth", "bytes", "published", "delivered",
        "acked", "redelivered", "expired", "dropped", "deadLettered", "publishRate", "deliverRate", "consumers"}) {
      assertTrue(stats.has(field), "stats." + field);
    }
    assertEquals(1, stats.path("lastSequence").asLong());
    assertEquals(1, stats.path("depth").asLong());

    TestServer.Response all = server.get("/api/v1/queues");
    assertEquals(200, all.status());
    assertTrue(all.json().findValuesAsText("name").contains(q));

    assertEquals(204, server.delete("/api/v1/queues/" + q).status());
    assertEquals("QueueNotFound", server.get("/api/v1/queues/" + q).error());
    assertEquals(404, server.delete("/api/v1/queues/" + q).status());
  }

  @Test
  void badNamesAndSettingsAre400NamingTheProblem() {
    TestServer.Response badName = server.put("/api/v1/queues/$events", "{}");
    assertEquals(400, badName.status());
    assertEquals("InvalidName", badName.error());
    assertEquals(400, server.get("/api/v1/queues/" + "x".repeat(129)).status());

    String q = fresh();
    TestServer.Response unknown = server.put("/api/v1/queues/" + q, "{\"maxLenght\":5}");
    assertEquals(400, unknown.status());
    assertEquals("InvalidConfiguration", unknown.error());
    assertTrue(unknown.json().path("message").asText().contains("maxLenght"), unknown.body());

    TestServer.Response wrongType = server.put("/api/v1/queues/" + q, "{\"maxLength\":\"5\"}");
    assertEquals(400, wrongType.status());
    assertTrue(wrongType.json().path("message").asText().contains("maxLength"), wrongType.body());

    TestServer.Response badDuration = server.put("/api/v1/queues/" + q, "{\"ttl\":\"ten minutes\"}");
    assertEquals(400, badDuration.status());
    assertTrue(badDuration.json().path("message").asText().contains("ttl"), badDuration.body());

    for (String[] bad : new String[][] {
        {"{\"maxLength\":-1}", "maxLength"},
        {"{\"maxBytes\":-1}", "maxBytes"},
        {"{\"retention\":\"-PT1S\"}", "retention"},
        {"{\"ttl\":\"PT0S\"}", "ttl"},
        {"{\"deadLetter\":{\"queue\":\"dlq\",\"maxDeliveries\":0}}", "deadLetter.maxDeliveries"}}) {
      TestServer.Response r = server.put("/api/v1/queues/" + q, bad[0]);
      assertEquals(400, r.status(), bad[0] + " -> " + r.body());
      assertEquals("InvalidConfiguration", r.error(), bad[0] + " -> " + r.body());
      assertTrue(r.json().path("message").asText().contains("'" + bad[1] + "'"), bad[0] + " -> " + r.body());
    }

    TestServer.Response badEnum = server.put("/api/v1/queues/" + q, "{\"overflow\":\"explode\"}");
    assertEquals(400, badEnum.status());
    assertTrue(badEnum.json().path("message").asText().contains("overflow"));

    TestServer.Response malformed = server.put("/api/v1/queues/" + q, "{\"ttl\":");
    assertEquals(400, malformed.status());
    assertTrue(malformed.json().path("message").asText().startsWith("malformed JSON"), malformed.body());

    TestServer.Response nullBody = server.put("/api/v1/queues/" + q, "null");
    assertEquals(400, nullBody.status(), nullBody.body());

    // None of these created the queue.
    assertEquals(404, server.get("/api/v1/queues/" + q).status());
  }

  @Test
  void redriveMovesDeadLetteredMessagesBack() throws Exception {
    String q = fresh();
    String dlq = q + "-dlq";
    server.put("/api/v1/queues/" + dlq, "{}");
    server.put("/api/v1/queues/" + q, "{\"deadLetter\":{\"queue\":\"" + dlq + "\",\"maxDeliveries\":1}}");
    server.put("/api/v1/queues/" + q + "/consumers/c", "{}");
    server.post("/api/v1/queues/" + q + "/messages", "{\"messages\":[{\"payload\":\"a\"},{\"payload\":\"b\"}]}");
    JsonNode read = server.post("/api/v1/queues/" + q + "/consumers/c/read?max=10", null).json();
    assertEquals(2, read.path("deliveries").size());
    assertEquals(200, server.post("/api/v1/queues/" + q + "/consumers/c/nack",
        "{\"sequences\":[1,2],\"requeue\":false}").status());
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(
        () -> server.get("/api/v1/queues/" + dlq).json().path("stats").path("depth").asLong() == 2);

    TestServer.Response moved = server.post("/api/v1/queues/" + dlq + "/redrive", "{\"from\":1,\"to\":1}");
    assertEquals(200, moved.status(), moved.body());
    assertEquals(1, moved.json().path("moved").asLong());
    TestServer.Response rest = server.post("/api/v1/queues/" + dlq + "/redrive", null);
    assertEquals(1, rest.json().path("moved").asLong());
    assertEquals(4, server.get("/api/v1/queues/" + q).json().path("stats").path("lastSequence").asLong());

    TestServer.Response empty = server.post("/api/v1/queues/" + dlq + "/redrive", "{\"from\":5,\"to\":2}");
    assertEquals(400, empty.status(), empty.body());
    assertTrue(empty.json().path("message").asText().contains("from 5 is after to 2"), empty.body());
    TestServer.Response zero = server.post("/api/v1/queues/" + dlq + "/redrive", "{\"from\":0}");
    assertEquals(400, zero.status(), zero.body());
    assertTrue(zero.json().path("message").asText().contains("'from'"), zero.body());
    assertEquals(404, server.post("/api/v1/queues/" + fresh() + "/redrive", "{}").status());
  }
}
