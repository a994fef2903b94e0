package dev.spool.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Publishing with {@code priority}, {@code deliverAt} and {@code delay}, and queues with {@code maxPriority}. */
class SchedulingRoutesTest {

  private static final AtomicInteger NAMES = new AtomicInteger();
  private static final String KIB = "x".repeat(1024);
  private static TestServer server;

  @BeforeAll
  static void start() {
    server = TestServer.start(ConfigFactory.parseString("spool.consumer.max-read-wait = 5s")
        .withFallback(TestServer.tokens()));
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
  }

  private static String queue(String settings) {
    String q = "s-" + NAMES.incrementAndGet();
    TestServer.Response r = server.put("/api/v1/queues/" + q, settings);
    assertEquals(201, r.status(), r.body());
    return q;
  }

  private static JsonNode read(String q, String consumer, String query) {
    TestServer.Response r = server.post("/api/v1/queues/" + q + "/consumers/" + consumer + "/read" + query, null);
    assertEquals(200, r.status(), r.body());
    return r.json().path("deliveries");
  }

  private static List<Long> sequences(JsonNode deliveries) {
    List<Long> out = new ArrayList<>();
    deliveries.forEach(d -> out.add(d.path("sequence").asLong()));
    return out;
  }

  private static String message(String fields) {
    return "{\"payload\":\"" + KIB + "\"" + (fields.isEmpty() ? "" : "," + fields) + "}";
  }

  @Test
  void aQueueWithMaxPriorityDeliversTheHighestFirstAndShowsItsSettingAndTheMessagesPriorities() {
    String q = queue("{\"maxPriority\":9}");
    assertEquals(9, server.get("/api/v1/queues/" + q).json().path("settings").path("maxPriority").asInt());
    assertEquals(201, server.put("/api/v1/queues/" + q + "/consumers/c", "{}").status());
    TestServer.Response published = server.post("/api/v1/queues/" + q + "/messages", "{\"messages\":["
        + message("\"priority\":1") + "," + message("") + "," + message("\"priority\":9") + ","
        + message("\"priority\":1") + "]}");
    assertEquals(201, published.status(), published.body());

    JsonNode got = read(q, "c", "?max=10");
    assertEquals(List.of(3L, 1L, 4L, 2L), sequences(got));
    assertEquals(9, got.get(0).path("message").path("priority").asInt());
    assertFalse(got.get(3).path("message").has("priority"), "priority 0 is left out, as the default");

    // The same settings again are idempotent; the maximum is part of them.
    assertEquals(200, server.put("/api/v1/queues/" + q, "{\"maxPriority\":9}").status());
    assertEquals(409, server.put("/api/v1/queues/" + q, "{\"maxPriority\":3}").status());
  }

  @Test
  void aQueueWithoutMaxPriorityDeliversInSequenceOrder() {
    String q = queue("{}");
    assertEquals(0, server.get("/api/v1/queues/" + q).json().path("settings").path("maxPriority").asInt());
    server.put("/api/v1/queues/" + q + "/consumers/c", "{}");
    server.post("/api/v1/queues/" + q + "/messages", "{\"messages\":[" + message("") + ","
        + message("\"priority\":9") + "]}");
    assertEquals(List.of(1L, 2L), sequences(read(q, "c", "?max=10")));
  }

  @Test
  void aDelayedMessageIsDeliveredWhenDueAndItsTimeIsShown() {
    String q = queue("{}");
    server.put("/api/v1/queues/" + q + "/consumers/c", "{}");
    TestServer.Response published = server.post("/api/v1/queues/" + q + "/messages", "{\"messages\":["
        + message("\"delay\":\"PT1S\"") + "," + message("") + ","
        + message("\"deliverAt\":\"2020-01-01T00:00:00Z\"") + "]}");
    assertEquals(201, published.status(), published.body());
    JsonNode browsed = server.get("/api/v1/queues/" + q + "/messages?from=1&limit=10").json();
    JsonNode delayed = browsed.get(0);
    assertEquals(delayed.path("timestamp").asLong() + 1000, delayed.path("deliverAt").asLong());
    assertFalse(browsed.get(2).has("deliverAt"), "a time already past is none");

    assertEquals(List.of(2L, 3L), sequences(read(q, "c", "?max=10")), "the due messages are not held up");
    List<Long> afterwards = new ArrayList<>();
    long until = System.currentTimeMillis() + 10_000;
    while (afterwards.isEmpty() && System.currentTimeMillis() < until) {
      afterwards.addAll(sequences(read(q, "c", "?max=10&wait=PT5S")));
    }
    assertEquals(List.of(1L), afterwards);
    assertTrue(System.currentTimeMillis() >= delayed.path("deliverAt").asLong(), "not before its time");
  }

  @Test
  void deliverAtIsTakenInTheEpochMillisecondsViewsShowItIn() {
    String q = queue("{}");
    long at = System.currentTimeMillis() + 60_000;
    TestServer.Response published = server.post("/api/v1/queues/" + q + "/messages", message("\"deliverAt\":" + at));
    assertEquals(201, published.status(), published.body());
    JsonNode browsed = server.get("/api/v1/queues/" + q + "/messages?from=1&limit=1").json().get(0);
    assertEquals(at, browsed.path("deliverAt").asLong(), "what a view shows can be posted back");
  }

  @Test
  void badPrioritiesDelaysAndMaximaAre400AndAppendNothing() {
    String q = queue("{}");
    String path = "/api/v1/queues/" + q + "/messages";
    String far = Instant.now().plusSeconds(8 * 86_400).toString();
    String[][] cases = {
        {message("\"priority\":10"), "priority"},
        {message("\"priority\":-1"), "priority"},
        {message("\"delay\":\"-PT1S\""), "delay"},
        {message("\"delay\":\"soon\""), "delay"},
        {message("\"delay\":\"P8D\""), "max-delay"},
        {message("\"deliverAt\":\"" + far + "\""), "max-delay"},
        {message("\"deliverAt\":\"tomorrow\""), "deliverAt"},
        {message("\"deliverAt\":-5"), "deliverAt"},
        {message("\"priority\":99999999999"), "field 'priority' is out of range"},
        {message("\"deliverAt\":true"), "deliverAt"},
        {message("\"deliverAt\":\"2030-01-01T00:00:00Z\",\"delay\":\"PT1S\""), "delay"},
        {"{\"messages\":[" + message("") + "," + message("\"priority\":12") + "]}", "messages[1].priority"},
        {"{\"messages\":[" + message("") + "],\"delay\":\"PT1S\"}", "messages"},
    };
    for (String[] c : cases) {
      TestServer.Response r = server.post(path, c[0]);
      assertEquals(400, r.status(), c[1] + " -> " + r.body());
      assertEquals("InvalidConfiguration", r.error(), r.body());
      assertTrue(r.json().path("message").asText().contains(c[1]), c[1] + " -> " + r.body());
    }
    assertEquals(0, server.get("/api/v1/queues/" + q).json().path("stats").path("lastSequence").asLong());

    TestServer.Response badMax = server.put("/api/v1/queues/s-bad-" + NAMES.incrementAndGet(), "{\"maxPriority\":10}");
    assertEquals(400, badMax.status());
    assertTrue(badMax.json().path("message").asText().contains("maxPriority"), badMax.body());
  }

  @Test
  void aQueueDeclaredInHoconWithMaxPriorityKeepsItAndExportsIt() throws Exception {
    try (TestServer declared = TestServer.start(ConfigFactory.parseString("""
        spool.definitions.queues = [{name = ranked, settings {maxPriority = 4}}]
        """).withFallback(TestServer.tokens()))) {
      org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
          .until(() -> declared.get("/api/v1/queues/ranked").status() == 200);
      assertEquals(4, declared.get("/api/v1/queues/ranked").json().path("settings").path("maxPriority").asInt());
      JsonNode exported = declared.get("/api/v1/definitions").json();
      JsonNode ranked = null;
      for (JsonNode q : exported.path("queues")) {
        if (q.path("name").asText().equals("ranked")) {
          ranked = q;
        }
      }
      assertEquals(4, ranked.path("settings").path("maxPriority").asInt(), exported.toString());
      // Importing the export again changes nothing: the maximum is part of the queue's settings.
      TestServer.Response again = declared.post("/api/v1/definitions", exported.toString());
      assertEquals(200, again.status(), again.body());
    }
  }
}
