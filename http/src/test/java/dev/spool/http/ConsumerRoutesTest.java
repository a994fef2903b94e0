package dev.spool.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import com.typesafe.config.ConfigFactory;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@code /api/v1/queues/{q}/consumers}: every route's success and the error statuses it lists. */
class ConsumerRoutesTest {

  private static final AtomicInteger NAMES = new AtomicInteger();
  private static TestServer server;

  @BeforeAll
  static void start() {
    // A short long-poll cap, so that the cap can be seen working quickly.
    server = TestServer.start(ConfigFactory.parseString("spool.consumer.max-read-wait = 1s").withFallback(TestServer.tokens()));
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
  }

  private static String queue(int messages) {
    String q = "c-" + NAMES.incrementAndGet();
    assertEquals(201, server.put("/api/v1/queues/" + q, "{}").status());
    for (int i = 1; i <= messages; i++) {
      server.post("/api/v1/queues/" + q + "/messages", "{\"type\":\"t" + (i % 2) + "\",\"payload\":\"m" + i + "\"}");
    }
    return q;
  }

  private static JsonNode read(String base, String query) {
    TestServer.Response r = server.post(base + "/read" + query, null);
    assertEquals(200, r.status(), r.body());
    return r.json().path("deliveries");
  }

  @Test
  void createIsIdempotentForEqualSettingsAndConflictsForOthers() {
    String q = queue(0);
    String base = "/api/v1/queues/" + q + "/consumers/billing";
    String settings = "{\"startAt\":\"earliest\",\"ackMode\":\"explicit\",\"prefetch\":10,\"ackTimeout\":\"PT30S\","
        + "\"maxDeliveries\":5,\"filter\":{\"type\":\"t1\",\"headers\":{\"region\":\"eu\"}}}";
    TestServer.Response created = server.put(base, settings);
    assertEquals(201, created.status(), created.body());
    JsonNode c = created.json();
    assertEquals("billing", c.path("name").asText());
    assertEquals(10, c.path("prefetch").asInt());
    assertEquals("t1", c.path("settings").path("filter").path("type").asText());
    assertEquals(200, server.put(base, settings).status());
    TestServer.Response conflict = server.put(base, "{\"prefetch\":11}");
    assertEquals(409, conflict.status());
    assertEquals("ConsumerAlreadyExists", conflict.error());
  }

  @Test
  void badConsumerSettingsAre400NamingTheFieldAndCreateNothing() {
    String q = queue(0);
    String base = "/api/v1/queues/" + q + "/consumers/";
    String[][] cases = {
        {"{\"startAt\":\"yesterday\"}", "startAt"},
        {"{\"ackMode\":\"sometimes\"}", "ackMode"},
        {"{\"prefetch\":0}", "prefetch"},
        {"{\"prefetch\":\"10\"}", "prefetch"},
        {"{\"ackTimeout\":\"30\"}", "ackTimeout"},
        {"{\"filter\":{\"kind\":\"x\"}}", "filter.kind"},
        {"{\"backoff\":{\"initial\":\"PT1S\"}}", "backoff"},
        {"{\"prefetch\":1.5}", "prefetch"},
        // The engine's own rules, with the field at fault named.
        {"{\"maxDeliveries\":0}", "maxDeliveries"},
        {"{\"inactiveTimeout\":\"PT0S\"}", "inactiveTimeout"},
        {"{\"backoff\":{\"initial\":\"PT2S\",\"max\":\"PT1S\",\"multiplier\":2,\"jitter\":0}}", "backoff"},
        {"{\"filter\":{\"expression\":\"type == \"}}", "filter.expression"},
        {"{\"filter\":{\"expression\":\"colour == 'red'\"}}", "filter.expression"},
        {"{\"filter\":{\"expression\":\"\"}}", "filter.expression"},
    };
    for (String[] bad : cases) {
      TestServer.Response r = server.put(base + "x", bad[0]);
      assertEquals(400, r.status(), bad[0] + " -> " + r.body());
      assertEquals("InvalidConfiguration", r.error(), bad[0] + " -> " + r.body());
      assertTrue(r.json().path("message").asText().contains("'" + bad[1] + "'"), bad[0] + " -> " + r.body());
    }
    assertEquals("[]", server.get(base.substring(0, base.length() - 1)).json().toString());
    assertEquals("InvalidName", server.put(base + "$x", "{}").error());
    assertEquals("QueueNotFound", server.put("/api/v1/queues/nowhere/consumers/x", "{}").error());
  }

  @Test
  void aFilterExpressionSelectsByHeadersAndJsonFieldsAndABadOneNamesItsPosition() {
    String q = queue(0);
    String pad = "x".repeat(1024);
    for (int i = 0; i < 12; i++) {
      server.post("/api/v1/queues/" + q + "/messages", "{\"type\":\"order.created\",\"contentType\":\"application/json\","
          + "\"headers\":{\"region\":\"" + (i % 3 == 0 ? "uk" : i % 3 == 1 ? "eu" : "us") + "\"},"
          + "\"payload\":\"{\\\"total\\\":" + (i * 10) + ",\\\"pad\\\":\\\"" + pad + "\\\"}\"}");
    }
    String base = "/api/v1/queues/" + q + "/consumers/";
    String expression = "headers['region'] in ['eu', 'uk'] && payload.total >= 50";
    TestServer.Response created = server.put(base + "big", "{\"filter\":{\"expression\":\"" + expression + "\"}}");
    assertEquals(201, created.status(), created.body());
    assertEquals(expression, created.json().path("settings").path("filter").path("expression").asText());
    JsonNode got = read(base + "big", "?max=20&wait=PT1S");
    List<Integer> sequences = new java.util.ArrayList<>();
    got.forEach(d -> sequences.add(d.path("sequence").asInt()));
    assertEquals(List.of(7, 8, 10, 11), sequences, "i = 6, 7, 9, 10: eu or uk, total 50 or more");
    assertEquals(200, server.put(base + "big", "{\"filter\":{\"expression\":\"" + expression + "\"}}").status(),
        "declaring it again with the same expression changes nothing");
    assertEquals(409, server.put(base + "big", "{\"filter\":{\"expression\":\"payload.total >= 50\"}}").status());

    TestServer.Response bad = server.put(base + "bad", "{\"filter\":{\"expression\":\"payload.total >= \"}}");
    assertEquals(400, bad.status());
    assertTrue(bad.json().path("message").asText().contains("at line 1, column 18"), bad.body());
    assertEquals(404, server.get(base + "bad").status(), "nothing created");
  }

  @Test
  void anExclusiveConsumerLetsPullReadsWaitWhileAStreamHoldsIt() {
    String q = queue(3);
    String base = "/api/v1/queues/" + q + "/consumers/single";
    TestServer.Response created = server.put(base, "{\"exclusive\":true}");
    assertEquals(201, created.status(), created.body());
    assertTrue(created.json().path("settings").path("exclusive").asBoolean());
    assertEquals(409, server.put(base, "{}").status(), "exclusive is part of the settings");
    assertEquals(400, server.put(base + "-x", "{\"exclusive\":\"yes\"}").status());
    assertEquals(3, read(base, "?max=10").size(), "with no subscriber attached, a pull read receives");
    assertTrue(server.get("/api/v1/queues/" + q + "/consumers/plain").status() == 404);
    assertTrue(!server.put("/api/v1/queues/" + q + "/consumers/plain", "{}").json().path("settings").has("exclusive"),
        "not shown when off");
  }

  @Test
  void listGetAndDelete() {
    String q = queue(3);
    server.put("/api/v1/queues/" + q + "/consumers/a", "{}");
    server.put("/api/v1/queues/" + q + "/consumers/b", "{\"startAt\":\"latest\"}");
    JsonNode list = server.get("/api/v1/queues/" + q + "/consumers").json();
    assertEquals("[a, b]", list.findValuesAsText("name").toString());
    JsonNode a = server.get("/api/v1/queues/" + q + "/consumers/a").json();
    for (String field : new String[] {"name", "cursor", "committed", "lag", "lagAgeMs", "inFlight", "prefetch",
        "deliveryState", "paused", "lastActivity", "delivered", "acked", "nacked", "expired", "dropped",
        "deadLettered", "subscribers"}) {
      assertTrue(a.has(field), field);
    }
    assertEquals(3, a.path("lag").asLong());
    assertEquals("no-subscribers", a.path("deliveryState").asText());
    assertEquals(0, server.get("/api/v1/queues/" + q + "/consumers/b").json().path("lag").asLong());

    assertEquals(204, server.delete("/api/v1/queues/" + q + "/consumers/a").status());
    TestServer.Response gone = server.get("/api/v1/queues/" + q + "/consumers/a");
    assertEquals(404, gone.status());
    assertEquals("ConsumerNotFound", gone.error());
    assertEquals(404, server.delete("/api/v1/queues/" + q + "/consumers/a").status());
    assertEquals(404, server.get("/api/v1/queues/nowhere/consumers").status());
  }

  @Test
  void readAckAndNack() {
    String q = queue(4);
    String base = "/api/v1/queues/" + q + "/consumers/w";
    server.put(base, "{\"backoff\":{\"initial\":\"PT0S\",\"max\":\"PT0S\",\"multiplier\":1.0,\"jitter\":0.0}}");

    JsonNode first = read(base, "?max=3");
    assertEquals(3, first.size());
    assertEquals(1, first.get(0).path("sequence").asLong());
    assertEquals(1, first.get(0).path("attempt").asInt());
    assertEquals("m1", first.get(0).path("message").path("payload").asText());

    TestServer.Response acked = server.post(base + "/ack", "{\"sequences\":[1,2,99]}");
    assertEquals(200, acked.status(), acked.body());
    assertEquals(2, acked.json().path("acked").asInt());
    assertEquals("[99]", acked.json().path("unknown").toString());
    assertEquals(0, server.post(base + "/ack", "{\"sequences\":[1]}").json().path("acked").asInt());

    TestServer.Response nacked = server.post(base + "/nack", "{\"sequences\":[3,1,99],\"requeue\":true}");
    assertEquals(200, nacked.status(), nacked.body());
    assertEquals(1, nacked.json().path("nacked").asInt(), "only 3 was in flight: 1 is acked, 99 unknown");
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5)).untilAsserted(() -> {
      JsonNode again = read(base, "?max=10");
      assertEquals(3, again.get(0).path("sequence").asLong());
      assertEquals(2, again.get(0).path("attempt").asInt());
    });

    TestServer.Response upTo = server.post(base + "/ack", "{\"upTo\":4}");
    assertEquals(200, upTo.status());
    assertEquals(0, server.get(base).json().path("lag").asLong());

    assertEquals(400, server.post(base + "/ack", "{}").status());
    assertEquals(400, server.post(base + "/ack", "{\"sequences\":[1],\"upTo\":2}").status());
    assertEquals(400, server.post(base + "/ack", "{\"upTo\":-5}").status(), "a sequence starts at 1");
    assertEquals(400, server.post(base + "/ack", "{\"upTo\":0}").status());
    assertEquals(400, server.post(base + "/ack", "{\"sequences\":[\"1\"]}").status());
    assertEquals(400, server.post(base + "/nack", "{\"requeue\":true}").status());
    TestServer.Response zero = server.post(base + "/read?max=0", null);
    assertEquals(400, zero.status());
    assertTrue(zero.body().contains("query parameter 'max': read max must be between 1 and"), zero.body());
    TestServer.Response huge = server.post(base + "/read?max=2147483647", null);
    assertEquals(400, huge.status());
    assertTrue(huge.body().contains("query parameter 'max': read max must be between 1 and"), huge.body());
    TestServer.Response negative = server.post(base + "/read?wait=-PT1S", null);
    assertEquals(400, negative.status());
    assertTrue(negative.body().contains("query parameter 'wait': read wait must not be negative"), negative.body());
    assertTrue(server.post(base + "/read?max=x", null).body().contains("query parameter 'max' must be a whole number"));
    assertEquals(400, server.post(base + "/read?wait=5", null).status());
    assertEquals(404, server.post("/api/v1/queues/" + q + "/consumers/nobody/read", null).status());
    assertEquals(404, server.post("/api/v1/queues/" + q + "/consumers/nobody/ack", "{\"upTo\":1}").status());
  }

  @Test
  void aLongPollReturnsWhenAMessageArrivesAndItsWaitIsCapped() throws Exception {
    String q = queue(0);
    String base = "/api/v1/queues/" + q + "/consumers/lp";
    server.put(base, "{}");

    long start = System.nanoTime();
    assertEquals(0, read(base, "?wait=PT1H").size());
    long waitedMs = (System.nanoTime() - start) / 1_000_000;
    assertTrue(waitedMs >= 900 && waitedMs < 5_000, "waited " + waitedMs + " ms for a 1 s cap");

    CompletableFuture<JsonNode> parked = CompletableFuture.supplyAsync(() -> read(base, "?wait=PT1S"));
    Thread.sleep(200);
    server.post("/api/v1/queues/" + q + "/messages", "{\"payload\":\"late\"}");
    JsonNode got = parked.get(10, TimeUnit.SECONDS);
    assertEquals(1, got.size());
    assertEquals("late", got.get(0).path("message").path("payload").asText());
  }

  @Test
  void seekPauseAndResume() {
    String q = queue(5);
    String base = "/api/v1/queues/" + q + "/consumers/s";
    server.put(base, "{}");

    TestServer.Response paused = server.post(base + "/pause", null);
    assertEquals(200, paused.status());
    assertEquals("paused", paused.json().path("deliveryState").asText());
    assertTrue(paused.json().path("paused").asBoolean());
    assertEquals(0, read(base, "").size());

    TestServer.Response resumed = server.post(base + "/resume", null);
    assertEquals(200, resumed.status());
    assertEquals(false, resumed.json().path("paused").asBoolean());

    TestServer.Response sought = server.post(base + "/seek", "{\"to\":\"sequence:4\"}");
    assertEquals(200, sought.status(), sought.body());
    assertEquals(4, sought.json().path("cursor").asLong());
    assertEquals(4, read(base, "").get(0).path("sequence").asLong());
    assertEquals(6, server.post(base + "/seek", "{\"to\":\"latest\"}").json().path("cursor").asLong());

    assertEquals(400, server.post(base + "/seek", "{\"to\":\"sequence:0\"}").status());
    assertEquals(400, server.post(base + "/seek", "{}").status());
    assertEquals(404, server.post("/api/v1/queues/" + q + "/consumers/none/pause", null).status());
    assertEquals(404, server.post("/api/v1/queues/" + q + "/consumers/none/resume", null).status());
    assertEquals(404, server.post("/api/v1/queues/" + q + "/consumers/none/seek", "{\"to\":\"earliest\"}").status());
  }
}
