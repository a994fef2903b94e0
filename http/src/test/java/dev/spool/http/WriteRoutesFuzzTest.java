package dev.spool.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.ConfigFactory;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Random bodies, names and query values thrown at the write routes: the answer is always 2xx or
 * 4xx (never a 5xx), and a rejected request leaves every queue and consumer as it was.
 */
class WriteRoutesFuzzTest {

  private static TestServer server;

  @BeforeContainer
  static void start() {
    // Short long-polls, so that random waits cost little.
    server = TestServer.start(ConfigFactory.parseString("spool.consumer.max-read-wait = 50ms")
        .withFallback(TestServer.tokens()));
    server.put("/api/v1/queues/fz-a", "{}");
    server.put("/api/v1/queues/fz-a/consumers/c1", "{}");
    server.post("/api/v1/queues/fz-a/messages", "{\"messages\":[{\"payload\":\"1\"},{\"payload\":\"2\"},{\"payload\":\"3\"}]}");
  }

  @AfterContainer
  static void stop() throws Exception {
    server.close();
  }

  /** One request: method, path, content type (or none) and body (or none). */
  record Call(String method, String path, String contentType, String body) {}

  @Property(tries = 300, edgeCases = net.jqwik.api.EdgeCasesMode.MIXIN)
  void writeRoutesAnswer2xxOr4xxAndRejectionsChangeNothing(@ForAll("calls") Call call) {
    String before = quiescentState();
    HttpRequest.Builder b = HttpRequest.newBuilder(server.uri(call.path()))
        .header("Authorization", "Bearer " + TestServer.ADMIN);
    if (call.contentType() != null) {
      b.header("Content-Type", call.contentType());
    }
    b.method(call.method(), call.body() == null ? HttpRequest.BodyPublishers.noBody()
        : HttpRequest.BodyPublishers.ofString(call.body()));
    TestServer.Response r = server.send(b.build());

    assertTrue(r.status() >= 200 && r.status() < 500, call + " -> " + r.status() + " " + r.body());
    net.jqwik.api.statistics.Statistics.collect(r.status());
    if (r.status() >= 400) {
      JsonNode error = r.json();
      assertTrue(error.path("error").isTextual() && error.path("message").isTextual(), r.body());
      assertEquals(before, state(), call + " was rejected (" + r.body() + ") yet changed something");
    }
  }

  @Provide
  Arbitrary<Call> calls() {
    Arbitrary<String> queue = names("fz-a", "fz-b");
    Arbitrary<String> consumer = names("c1", "c2");
    Arbitrary<String> action = Arbitraries.of("read", "ack", "nack", "seek", "pause", "resume", "unknown");
    Arbitrary<String> query = Combinators.combine(Arbitraries.of("max", "wait", "from", "idle"), queryValues())
        .as((k, v) -> "?" + k + "=" + URLEncoder.encode(v, StandardCharsets.UTF_8))
        .injectNull(0.4).map(q -> q == null ? "" : q);
    // Each route with its own method, now and then another one.
    Arbitrary<Map.Entry<String, String>> route = Arbitraries.oneOf(
        queue.map(q -> Map.entry("PUT", "/api/v1/queues/" + q)),
        queue.map(q -> Map.entry("POST", "/api/v1/queues/" + q + "/messages")),
        queue.map(q -> Map.entry("POST", "/api/v1/queues/" + q + "/redrive")),
        Combinators.combine(queue, consumer).as((q, c) -> Map.entry("PUT", "/api/v1/queues/" + q + "/consumers/" + c)),
        Combinators.combine(queue, consumer, action, query).as((q, c, a, qs) ->
            Map.entry("POST", "/api/v1/queues/" + q + "/consumers/" + c + "/" + a + qs)),
        Arbitraries.just(Map.entry("POST", "/api/v1/consumers/stale/cleanup")));
    Arbitrary<String> otherMethod = Arbitraries.of("PATCH", "POST", "PUT").injectNull(0.9);
    Arbitrary<String> contentType = Arbitraries.of("application/json", "application/json", "application/json",
        "text/plain", "application/x-www-form-urlencoded").injectNull(0.1);
    return Combinators.combine(route, otherMethod, contentType, bodies().injectNull(0.1)).as((r, other, type, body) ->
        new Call(other == null ? r.getKey() : other, r.getValue(), type, body));
  }

  /** Mostly the given names, sometimes invalid or odd ones (encoded for the path). */
  private static Arbitrary<String> names(String... known) {
    return Arbitraries.frequencyOf(
        net.jqwik.api.Tuple.of(6, Arbitraries.of(known)),
        net.jqwik.api.Tuple.of(2, Arbitraries.strings().withChars("ab$ .%_-/é\u0000").ofMinLength(1).ofMaxLength(12)),
        net.jqwik.api.Tuple.of(1, Arbitraries.just("x".repeat(129))))
        .map(n -> URLEncoder.encode(n, StandardCharsets.UTF_8).replace("+", "%20"));
  }

  private static Arbitrary<String> queryValues() {
    return Arbitraries.oneOf(
        Arbitraries.strings().ofMaxLength(10),
        Arbitraries.longs().map(String::valueOf),
        Arbitraries.of("0", "-1", "1", "100", "2147483648", "PT0S", "PT0.01S", "-PT1S", "PT1H", "P1D", "1s", "",
            "P365D", "PT9223372036854775807S"));
  }

  /** Random text, random JSON values, and JSON objects mixing known fields with wrong types and unknown fields. */
  private static Arbitrary<String> bodies() {
    Arbitrary<String> field = Arbitraries.of("durability", "ttl", "maxLength", "maxBytes", "overflow", "retention",
        "deadLetter", "dedupWindow", "type", "key", "headers", "contentType", "payload", "payloadBase64", "id",
        "messages", "startAt", "ackMode", "prefetch", "ackTimeout", "maxDeliveries", "filter", "backoff",
        "sequences", "upTo", "requeue", "to", "from", "lagThreshold", "idle", "unknownField");
    Arbitrary<Object> value = Arbitraries.oneOf(
        Arbitraries.strings().ofMaxLength(8).map(s -> (Object) s),
        Arbitraries.of("transient", "persistent", "reject", "drop-oldest", "explicit", "none", "earliest", "latest",
            "sequence:2", "time:2026-01-01T00:00:00Z", "time:+999999999-12-31T23:59:59Z",
            "PT9223372036854775807S", "P365D", "P1D", "PT1H", "YQ==", "not base64", "-PT1S",
            "5ba93eb8-0e6b-4d3b-9d57-7c1f5e3b1a10").map(s -> (Object) s),
        Arbitraries.longs().between(-3, 5).map(n -> (Object) n),
        Arbitraries.of(Long.MAX_VALUE, Long.MIN_VALUE, 1.5, 1e30).map(n -> (Object) n),
        Arbitraries.of(true, false).map(x -> (Object) x),
        Arbitraries.just(null),
        Arbitraries.of(List.of(), List.of(1, 2), List.of("1"), List.of(Map.of("payload", "x")),
            List.of(Map.of("id", "bad")), Map.of(), Map.of("a", "b"), Map.of("a", 1),
            Map.of("queue", "dlq-x", "maxDeliveries", 0)).map(Object.class::cast));
    Arbitrary<String> objects = Combinators.combine(field, value).as(java.util.AbstractMap.SimpleEntry::new).list().ofMaxSize(4)
        .map(entries -> {
          ObjectNode o = TestServer.JSON.createObjectNode();
          entries.forEach(e -> o.set(e.getKey(), TestServer.JSON.valueToTree(e.getValue())));
          return o.toString();
        });
    return Arbitraries.frequencyOf(
        net.jqwik.api.Tuple.of(6, objects),
        net.jqwik.api.Tuple.of(1, Arbitraries.strings().ofMaxLength(30)),
        net.jqwik.api.Tuple.of(1, Arbitraries.of("", "{", "[]", "null", "1", "\"x\"", "{}", "{\"a\":}", "{} {}")));
  }

  /**
   * The state, once no background work (a redelivery after its backoff, an append to a dead-letter
   * queue) is changing it: two equal snapshots in a row.
   */
  private static String quiescentState() {
    String previous = state();
    for (int i = 0; i < 50; i++) {
      String now = state();
      if (now.equals(previous)) {
        return now;
      }
      previous = now;
    }
    throw new AssertionError("the state never settled");
  }

  /** Every queue's settings and figures and every consumer's position and counters, without clocks and rates. */
  private static String state() {
    StringBuilder s = new StringBuilder();
    for (JsonNode q : server.get("/api/v1/queues").json()) {
      ObjectNode queue = q.deepCopy();
      ((ObjectNode) queue.path("stats")).remove(List.of("publishRate", "deliverRate"));
      s.append(queue).append('\n');
      TestServer.Response consumers = server.get("/api/v1/queues/" + q.path("name").asText() + "/consumers");
      for (JsonNode c : consumers.json()) {
        s.append(((ObjectNode) c.deepCopy()).remove(List.of("lastActivity", "lagAgeMs", "deliveryState", "waiting")))
            .append('\n');
      }
    }
    s.append(server.get("/api/v1/stats/memory").json().path("thresholdBytes"));
    return s.toString();
  }
}
