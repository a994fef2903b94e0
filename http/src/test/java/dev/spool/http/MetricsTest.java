package dev.spool.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code /metrics} as operators alert on it: states as state sets, limits, refused publishes by
 * reason, request latency per route template with bounded labels, the build; checked by Prometheus'
 * own {@code promtool} where it is installed (Debian's {@code prometheus} package, which {@code .ci/run}
 * installs), and the alert rules shipped in {@code docs/} checked and unit-tested by it too.
 */
class MetricsTest {

  private static final Path PROMTOOL = Path.of("/usr/bin/promtool");
  /** Surefire runs in the module's directory. */
  private static final Path DOCS = Path.of("..", "docs", "prometheus");
  private static TestServer server;

  @BeforeAll
  static void start() {
    // Pekko's in-memory test journal: durable queues' writes are timed without a database.
    server = TestServer.start(TestServer.tokens()
        .withFallback(com.typesafe.config.ConfigFactory.parseString(
            "spool.persistence.journal-plugin = \"pekko.persistence.testkit.journal\"\n"
                + "spool.persistence.snapshot-plugin = \"pekko.persistence.testkit.snapshotstore.pluginid\""))
        .withFallback(org.apache.pekko.persistence.testkit.PersistenceTestKitPlugin.config())
        .withFallback(org.apache.pekko.persistence.testkit.PersistenceTestKitSnapshotPlugin.config()));
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
  }

  private static String scrape() {
    TestServer.Response r = server.send("GET", "/metrics", TestServer.VIEWER, null);
    assertEquals(200, r.status());
    assertEquals("text/plain; version=0.0.4; charset=UTF-8", r.header("Content-Type"));
    return r.body();
  }

  private static double value(String text, String series) {
    Matcher m = Pattern.compile("^" + Pattern.quote(series) + " (\\S+)$", Pattern.MULTILINE).matcher(text);
    assertTrue(m.find(), series + " not in:\n" + text);
    return Double.parseDouble(m.group(1));
  }

  @Test
  void statesLimitsRefusalsAndTheBuildAreExposed() {
    assertEquals(201, server.put("/api/v1/queues/capped", "{\"maxLength\":3,\"overflow\":\"reject\",\"ttl\":\"PT10M\"}")
        .status());
    assertEquals(201, server.put("/api/v1/queues/capped/consumers/reader", "{\"prefetch\":5}").status());
    String kib = "x".repeat(1024);
    for (int i = 0; i < 3; i++) {
      assertEquals(201, server.post("/api/v1/queues/capped/messages", "{\"payload\":\"" + kib + "\"}").status());
    }
    assertEquals(429, server.post("/api/v1/queues/capped/messages", "{\"payload\":\"" + kib + "\"}").status());
    assertEquals(429, server.post("/api/v1/queues/capped/messages", "{\"payload\":\"" + kib + "\"}").status());
    assertEquals(403, server.send("POST", "/api/v1/queues/capped/messages", TestServer.VIEWER, "{\"payload\":\"x\"}")
        .status());
    assertEquals(401, server.send("POST", "/api/v1/queues/capped/messages", "wrong", "{\"payload\":\"x\"}")
        .status());
    assertEquals(200, server.post("/api/v1/queues/capped/consumers/reader/pause", null).status());

    String text = scrape();
    assertEquals(3, value(text, "spool_queue_max_length{queue=\"capped\"}"));
    assertEquals(600, value(text, "spool_queue_ttl_seconds{queue=\"capped\"}"));
    assertEquals(1, value(text, "spool_queue_first_sequence{queue=\"capped\"}"));
    assertTrue(value(text, "spool_queue_oldest_message_age_seconds{queue=\"capped\"}") >= 0);
    assertEquals(2, value(text, "spool_queue_refused_total{queue=\"capped\"}"));
    assertEquals(1, value(text, "spool_queue_health{queue=\"capped\",status=\"full\"}"));
    assertEquals(0, value(text, "spool_queue_health{queue=\"capped\",status=\"ok\"}"));
    assertEquals(1, value(text, "spool_consumer_health{consumer=\"reader\",queue=\"capped\",status=\"paused\"}"));
    assertEquals(1, value(text, "spool_consumer_delivery_state{consumer=\"reader\",queue=\"capped\",state=\"paused\"}"));
    assertEquals(0, value(text,
        "spool_consumer_delivery_state{consumer=\"reader\",queue=\"capped\",state=\"delivering\"}"));
    assertEquals(1, value(text, "spool_consumer_breaker_state{consumer=\"reader\",queue=\"capped\",state=\"none\"}"));
    assertEquals(5, value(text, "spool_consumer_prefetch{consumer=\"reader\",queue=\"capped\"}"));
    assertEquals(0, value(text, "spool_consumer_subscribers{consumer=\"reader\",queue=\"capped\"}"));
    assertTrue(value(text, "spool_consumer_idle_seconds{consumer=\"reader\",queue=\"capped\"}") >= 0);
    assertEquals(2, value(text, "spool_publish_refused_total{reason=\"queue-full\"}"));
    assertEquals(1, value(text, "spool_publish_refused_total{reason=\"forbidden\"}"));
    assertEquals(1, value(text, "spool_publish_refused_total{reason=\"unauthorized\"}"));
    assertTrue(text.contains("spool_build_info{java=\""), text);
    assertTrue(text.contains("spool_journal_recovery_seconds_count"), text);
    // Every queue samples itself every 5 s (the default interval): the histories then take some heap.
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(20))
        .until(() -> value(scrape(), "spool_history_bytes") > 0);
    // The messages were published a moment ago, the consumer last acted then: both ages grow from there.
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> {
      String later = scrape();
      return value(later, "spool_queue_oldest_message_age_seconds{queue=\"capped\"}") >= 0.2
          && value(later, "spool_consumer_idle_seconds{consumer=\"reader\",queue=\"capped\"}") >= 0.2;
    });
    assertEquals(0, value(text, "spool_queue_oldest_message_age_seconds{queue=\"default\"}"),
        "a queue that retains nothing has no oldest message");
    assertFalse(text.contains("_rate{"), "no gauges of rates: PromQL's rate() over the counters is the convention");
    assertTrue(value(text, "spool_http_server_requests_seconds_count{method=\"POST\","
        + "route=\"/api/v1/queues/{queue}/messages\",status=\"201\"}") >= 3);
    assertTrue(text.contains("spool_http_server_requests_seconds_bucket{method=\"POST\","
        + "route=\"/api/v1/queues/{queue}/messages\",status=\"429\",le=\""), "a latency histogram per route");
  }

  @Test
  void deadLettersAreCountedByReason() {
    assertEquals(201, server.put("/api/v1/queues/dl-target", "{}").status());
    assertEquals(201, server.put("/api/v1/queues/dl-source", "{\"deadLetter\":{\"queue\":\"dl-target\","
        + "\"maxDeliveries\":1}}").status());
    assertEquals(201, server.put("/api/v1/queues/dl-source/consumers/c", "{}").status());
    assertEquals(201, server.post("/api/v1/queues/dl-source/messages", "{\"messages\":[{},{}]}").status());
    assertEquals(2, server.post("/api/v1/queues/dl-source/consumers/c/read?max=2", null).json().path("deliveries")
        .size());
    assertEquals(200, server.post("/api/v1/queues/dl-source/consumers/c/nack", "{\"sequences\":[1,2],"
        + "\"requeue\":false}").status());
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10)).until(() -> scrape()
        .contains("spool_queue_dead_lettered_total{queue=\"dl-source\",reason=\"rejected\"} 2.0"));
  }

  @Test
  void journalWritesOfDurableQueuesAreTimed() {
    assertEquals(201, server.put("/api/v1/queues/timed", "{\"durability\":\"persistent\"}").status());
    for (int i = 0; i < 5; i++) {
      assertEquals(201, server.post("/api/v1/queues/timed/messages", "{\"payload\":\"" + "x".repeat(1024) + "\"}")
          .status());
    }
    String text = scrape();
    assertTrue(value(text, "spool_journal_write_seconds_count") >= 5, "each publish waited for a journal write");
    assertTrue(text.contains("spool_journal_write_seconds_bucket{le=\""), "a latency histogram");
  }

  @Test
  void clientChosenNamesNeverBecomeLabelValuesOfTheRequestMetrics() {
    for (int i = 0; i < 20; i++) {
      server.get("/api/v1/queues/made-up-" + i + "/consumers/also-made-up-" + i);
      server.get("/no/such/path/" + i);
    }
    String text = scrape();
    assertFalse(text.contains("made-up-"), "a queue or consumer name in a path is a template parameter");
    assertFalse(text.contains("/no/such/path"), "unknown paths are counted as other");
    assertTrue(text.contains("route=\"/api/v1/queues/{queue}/consumers/{consumer}\",status=\"404\""), text);
    assertTrue(text.contains("route=\"other\""), text);
  }

  @Test
  void routeTemplatesNameEveryRouteAndNothingElse() {
    assertEquals("/api/v1/queues", RouteTemplates.of("/api/v1/queues"));
    assertEquals("/api/v1/queues/{queue}", RouteTemplates.of("/api/v1/queues/orders"));
    assertEquals("/api/v1/queues/{queue}/consumers/{consumer}/read",
        RouteTemplates.of("/api/v1/queues/orders/consumers/billing/read"));
    assertEquals("other", RouteTemplates.of("/api/v1/queues/orders/consumers/billing/steal"));
    assertEquals("/api/v1/queues/{queue}/messages/{sequence}", RouteTemplates.of("/api/v1/queues/o/messages/7"));
    assertEquals("/api/v1/queues/{queue}/headers/{header}", RouteTemplates.of("/api/v1/queues/o/headers/x"));
    assertEquals("/api/v1/consumers/stale/cleanup", RouteTemplates.of("/api/v1/consumers/stale/cleanup"));
    assertEquals("other", RouteTemplates.of("/api/v1/anything-" + System.nanoTime()));
    assertEquals("/console/{file}", RouteTemplates.of("/console/app.js"));
    assertEquals("/health/ready", RouteTemplates.of("/health/ready"));
    assertEquals("/api/v1/whoami", RouteTemplates.of("/api/v1/whoami"));
    assertEquals("/api/v1/queues/{queue}/requests", RouteTemplates.of("/api/v1/queues/o/requests"));
  }

  @Test
  void theShippedDashboardAndAlertsUseOnlyMetricsTheServiceExposes() throws IOException {
    server.put("/api/v1/queues/shipped", "{}");
    server.put("/api/v1/queues/shipped/consumers/c", "{}");
    server.post("/api/v1/queues/shipped/messages", "{\"payload\":\"x\"}");
    String text = scrape();
    List<String> missing = new ArrayList<>();
    for (Path file : List.of(DOCS.resolve("spool-alerts.yml"), Path.of("..", "docs", "grafana", "spool-dashboard.json"))) {
      Matcher m = Pattern.compile("\\bspool_[a-z_]+").matcher(Files.readString(file));
      while (m.find()) {
        if (!Pattern.compile("^" + m.group() + "[{ ]", Pattern.MULTILINE).matcher(text).find()) {
          missing.add(file.getFileName() + ": " + m.group());
        }
      }
    }
    assertEquals(List.of(), missing);
  }

  @Test
  void promtoolAcceptsTheScrapeAndTheAlertRules() throws Exception {
    assumeTrue(Files.isExecutable(PROMTOOL), "promtool checks skipped: install Debian's prometheus package for "
        + PROMTOOL);
    server.put("/api/v1/queues/linted", "{}");
    server.put("/api/v1/queues/linted/consumers/c", "{}");
    Path scraped = Files.createTempFile("spool-metrics", ".prom");
    try {
      Files.writeString(scraped, scrape());
      run(List.of(PROMTOOL.toString(), "check", "metrics"), scraped);
    } finally {
      Files.deleteIfExists(scraped);
    }
    run(List.of(PROMTOOL.toString(), "check", "rules", DOCS.resolve("spool-alerts.yml").toString()), null);
    run(List.of(PROMTOOL.toString(), "test", "rules", DOCS.resolve("spool-alerts.test.yml").toString()), null);
  }

  /** Runs {@code command} (with {@code stdin} as its input, if not null); fails with its output unless it exits 0. */
  private static void run(List<String> command, Path stdin) throws IOException, InterruptedException {
    ProcessBuilder b = new ProcessBuilder(new ArrayList<>(command)).redirectErrorStream(true);
    if (stdin != null) {
      b.redirectInput(stdin.toFile());
    }
    Process p = b.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "promtool did not finish");
    assertEquals(0, p.exitValue(), String.join(" ", command) + ":\n" + out);
  }
}
