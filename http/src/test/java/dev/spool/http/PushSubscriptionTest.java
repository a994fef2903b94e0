package dev.spool.http;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Push consumers against a real receiver on loopback: CloudEvents headers and signatures, the retry
 * policy, permanent failures, the bound on requests in flight, a receiver that goes away and comes
 * back, a restart of the service, and endpoints refused at creation.
 */
class PushSubscriptionTest {

  private static final String FILLER = "x".repeat(1000); // 1 KiB messages, as users send them

  private static TestServer server;

  /** Loopback is listed explicitly (refused by default), plain http allowed, breakers quick to retry. */
  static Config config() {
    return ConfigFactory.parseString("""
        spool.push.allowed-hosts = ["127.0.0.1"]
        spool.push.allow-http = on
        spool.handler.breaker.reset-timeout = 200ms
        spool.handler.breaker.max-reset-timeout = 1s
        """).withFallback(TestServer.tokens());
  }

  @BeforeAll
  static void start() {
    server = TestServer.start(config());
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
  }

  private static String pushConsumer(String endpoint, int maxOutstanding, int maxRetries, String extra) {
    return "{\"push\":{\"endpoint\":\"" + endpoint + "\",\"ackDeadline\":\"PT2S\",\"maxOutstanding\":" + maxOutstanding
        + ",\"retry\":{\"maxRetries\":" + maxRetries + ",\"initialDelay\":\"PT0.1S\",\"maxDelay\":\"PT0.4S\","
        + "\"multiplier\":2}" + extra + "}}";
  }

  private static void publish(String queue, String body, String key) {
    publish(queue, body, key, null);
  }

  private static void publish(String queue, String body, String key, String id) {
    TestServer.Response r = server.post("/api/v1/queues/" + queue + "/messages", "{\"type\":\"order.created\","
        + (key == null ? "" : "\"key\":\"" + key + "\",") + (id == null ? "" : "\"id\":\"" + id + "\",")
        + "\"headers\":{\"region\":\"eu\",\"traceparent\":\"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\"},"
        + "\"contentType\":\"text/plain\",\"payload\":\"" + body + "\"}");
    assertEquals(201, r.status(), r.body());
  }

  static boolean verifies(PushReceiver.Received r, String secret) throws Exception {
    String header = r.header(PushSender.SIGNATURE_HEADER);
    assertNotNull(header, "signed");
    String t = header.substring(2, header.indexOf(','));
    String v1 = header.substring(header.indexOf("v1=") + 3);
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    String expected = HexFormat.of().formatHex(mac.doFinal((t + "." + r.body()).getBytes(StandardCharsets.UTF_8)));
    return expected.equals(v1);
  }

  @Test
  void eachMessageIsPushedOnceAsACloudEventSignedWithTheSecretGivenAtCreation() throws Exception {
    try (PushReceiver receiver = PushReceiver.start(body -> PushReceiver.Answer.ok())) {
      assertEquals(201, server.put("/api/v1/queues/push-orders", "{}").status());
      TestServer.Response created = server.put("/api/v1/queues/push-orders/consumers/hook",
          pushConsumer(receiver.endpoint("/hooks/orders"), 4, 3, ""));
      assertEquals(201, created.status(), created.body());
      String secret = created.json().path("secret").asText();
      assertTrue(secret.length() >= 40, "a secret is returned once: " + created.body());
      JsonNode push = created.json().path("settings").path("push");
      assertEquals(receiver.endpoint("/hooks/orders"), push.path("endpoint").asText());
      assertEquals(3, push.path("retry").path("maxRetries").asInt());
      assertEquals(4, push.path("maxOutstanding").asInt());
      assertEquals("[422]", push.path("permanentStatuses").toString());

      TestServer.Response again = server.put("/api/v1/queues/push-orders/consumers/hook",
          pushConsumer(receiver.endpoint("/hooks/orders"), 4, 3, ""));
      assertEquals(200, again.status(), "declaring it again changes nothing: " + again.body());
      assertFalse(again.json().has("secret"), "the secret is never shown again");
      TestServer.Response shown = server.post("/api/v1/queues/push-orders/consumers/hook/push/secret", null);
      assertEquals(200, shown.status(), shown.body());
      assertEquals(secret, shown.json().path("secret").asText(), "an administrator may see it again");
      assertEquals(403, server.send("POST", "/api/v1/queues/push-orders/consumers/hook/push/secret",
          TestServer.CONSUMER, null).status(), "no one else");

      int n = 60;
      List<String> ids = new java.util.ArrayList<>();
      long publishedFrom = System.currentTimeMillis();
      for (int i = 0; i < n; i++) {
        ids.add(java.util.UUID.randomUUID().toString());
        publish("push-orders", "order-" + i + "-" + FILLER, i % 2 == 0 ? "customer-" + i : null, ids.get(i));
      }
      long publishedTo = System.currentTimeMillis();
      await().atMost(Duration.ofSeconds(30)).until(() -> receiver.received().size() >= n
          && server.get("/api/v1/queues/push-orders/consumers/hook").json().path("lag").asLong() == 0);
      for (int i = 0; i < n; i++) {
        String body = "order-" + i + "-" + FILLER;
        List<PushReceiver.Received> got = receiver.receivedFor(body);
        assertEquals(1, got.size(), "pushed once: order-" + i);
        PushReceiver.Received r = got.get(0);
        assertEquals("1.0", r.header("ce-specversion"));
        assertEquals(ids.get(i), r.header("ce-id"));
        assertEquals("order.created", r.header("ce-type"));
        assertEquals("/spool/queues/push-orders", r.header("ce-source"));
        long time = Instant.parse(r.header("ce-time")).toEpochMilli();
        assertTrue(time >= publishedFrom && time <= publishedTo, "ce-time is when it was appended: " + time);
        assertEquals(i % 2 == 0 ? "customer-" + i : null, r.header("ce-subject"));
        assertEquals(String.valueOf(i + 1), r.header("ce-spoolsequence"));
        assertEquals("1", r.header("ce-spoolattempt"));
        assertEquals("eu", r.header("spool-header-region"));
        assertEquals("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", r.header("traceparent"));
        assertTrue(r.header("content-type").startsWith("text/plain"), r.header("content-type"));
        assertTrue(verifies(r, secret), "the signature verifies with the secret: order-" + i);
        assertFalse(verifies(r, secret + "x"), "and not with another");
      }
      JsonNode state = server.get("/api/v1/queues/push-orders/consumers/hook").json();
      assertTrue(state.path("push").path("active").asBoolean(), state.toString());
      assertEquals(n, state.path("push").path("succeeded").asLong(), state.toString());
      assertEquals(0, state.path("push").path("inFlight").asInt());
      assertFalse(state.has("secret"));
      assertTrue(receiver.mostAtOnce() <= 4, "in flight at most maxOutstanding: " + receiver.mostAtOnce());
      String metrics = server.get("/metrics").body();
      assertTrue(metrics.contains("spool_consumer_push_requests_total{consumer=\"hook\",outcome=\"succeeded\","
          + "queue=\"push-orders\"} " + n + ".0"), metrics.lines().filter(l -> l.contains("push")).toList().toString());
    }
  }

  @Test
  void retriesFollowThePolicyPermanentAnswersDeadLetterAtOnceAndInFlightStaysBounded() {
    ConcurrentHashMap<String, Integer> seen = new ConcurrentHashMap<>();
    try (PushReceiver receiver = PushReceiver.start(body -> {
      int attempt = seen.merge(body, 1, Integer::sum);
      if (body.startsWith("twice-")) {
        return new PushReceiver.Answer(attempt <= 2 ? 503 : 200, 0);
      }
      if (body.startsWith("always-")) {
        return new PushReceiver.Answer(500, 0);
      }
      if (body.startsWith("never-")) {
        return new PushReceiver.Answer(422, 0);
      }
      if (body.startsWith("slow-")) {
        return new PushReceiver.Answer(200, 150);
      }
      return PushReceiver.Answer.ok();
    })) {
      assertEquals(201, server.put("/api/v1/queues/push-dlq", "{}").status());
      assertEquals(201, server.put("/api/v1/queues/push-mixed", "{\"deadLetter\":{\"queue\":\"push-dlq\","
          + "\"maxDeliveries\":10}}").status());
      TestServer.Response created = server.put("/api/v1/queues/push-mixed/consumers/hook",
          pushConsumer(receiver.endpoint("/in"), 5, 2, ""));
      assertEquals(201, created.status(), created.body());
      assertEquals(3, created.json().path("settings").path("maxDeliveries").asInt(), "maxRetries 2: 3 deliveries");

      List<String> kinds = List.of("twice", "always", "never", "slow", "fine");
      int perKind = 6;
      for (int i = 0; i < perKind; i++) {
        for (String kind : kinds) {
          publish("push-mixed", kind + "-" + i + "-" + FILLER, null);
        }
      }
      await().atMost(Duration.ofSeconds(60)).until(() ->
          server.get("/api/v1/queues/push-mixed/consumers/hook").json().path("lag").asLong() == 0);

      for (int i = 0; i < perKind; i++) {
        String twice = "twice-" + i + "-" + FILLER;
        assertEquals(3, receiver.attempts(twice), "failed twice, then acknowledged");
        List<PushReceiver.Received> tries = receiver.receivedFor(twice);
        assertEquals(List.of("1", "2", "3"), tries.stream().map(r -> r.header("ce-spoolattempt")).toList());
        long firstGap = Duration.ofNanos(tries.get(1).atNanos() - tries.get(0).atNanos()).toMillis();
        long secondGap = Duration.ofNanos(tries.get(2).atNanos() - tries.get(1).atNanos()).toMillis();
        assertTrue(firstGap >= 90, "the first retry waits initialDelay (100 ms): " + firstGap);
        assertTrue(secondGap >= 190, "the second waits initialDelay * multiplier (200 ms): " + secondGap);
        assertEquals(3, receiver.attempts("always-" + i + "-" + FILLER), "1 + maxRetries attempts");
        assertEquals(1, receiver.attempts("never-" + i + "-" + FILLER), "a permanent answer is not retried");
        assertEquals(1, receiver.attempts("slow-" + i + "-" + FILLER));
        assertEquals(1, receiver.attempts("fine-" + i + "-" + FILLER));
      }
      assertTrue(receiver.mostAtOnce() <= 5, "in flight at most maxOutstanding: " + receiver.mostAtOnce());

      JsonNode dead = server.get("/api/v1/queues/push-dlq/messages?from=1&limit=100").json();
      assertEquals(2 * perKind, dead.size(), dead.toString());
      Set<String> reasons = new java.util.TreeSet<>();
      for (JsonNode d : dead) {
        String body = d.path("payload").asText();
        String reason = d.path("headers").path("x-death-reason").asText();
        reasons.add(body.substring(0, body.indexOf('-')) + ":" + reason);
        assertTrue(d.path("headers").path("x-death-error").asText().contains(body.startsWith("never") ? "422" : "500"),
            d.path("headers").toString());
      }
      assertEquals(Set.of("always:max-deliveries", "never:permanent"), reasons);
      JsonNode state = server.get("/api/v1/queues/push-mixed/consumers/hook").json().path("push");
      assertEquals(perKind, state.path("permanent").asLong(), state.toString());
      assertEquals(perKind * 2 + perKind * 3, state.path("failed").asLong(), state.toString());
      assertTrue(state.path("lastError").asText().startsWith("answered"), state.toString());
    }
  }

  @Test
  void aReceiverThatGoesAwayAndComesBackGetsEverythingAfter() {
    try (PushReceiver receiver = PushReceiver.start(body -> PushReceiver.Answer.ok())) {
      assertEquals(201, server.put("/api/v1/queues/push-away", "{}").status());
      assertEquals(201, server.put("/api/v1/queues/push-away/consumers/hook",
          pushConsumer(receiver.endpoint("/in"), 8, 1000, "")).status());
      publish("push-away", "before-" + FILLER, null);
      await().atMost(Duration.ofSeconds(10)).until(() -> receiver.attempts("before-" + FILLER) == 1);

      receiver.stop();
      int n = 40;
      for (int i = 0; i < n; i++) {
        publish("push-away", "while-away-" + i + "-" + FILLER, null);
      }
      await().atMost(Duration.ofSeconds(20)).until(() -> !server.get("/api/v1/queues/push-away/consumers/hook").json()
          .path("breaker").asText().equals("closed"));
      JsonNode away = server.get("/api/v1/queues/push-away/consumers/hook").json();
      String lastError = away.path("push").path("lastError").asText();
      assertTrue(lastError.startsWith("failed") || lastError.startsWith("timed out"), away.toString());
      assertEquals(n, away.path("lag").asLong(), "nothing acknowledged while it is away");

      receiver.restart();
      await().atMost(Duration.ofSeconds(30)).until(() ->
          server.get("/api/v1/queues/push-away/consumers/hook").json().path("lag").asLong() == 0);
      for (int i = 0; i < n; i++) {
        assertTrue(receiver.attempts("while-away-" + i + "-" + FILLER) >= 1, "delivered after its return: " + i);
      }
      assertEquals(0, server.get("/api/v1/queues/push-away/consumers/hook").json().path("deadLettered").asLong(-1),
          "retried until the receiver was back, none given up");
    }
  }

  @Test
  void endpointsAndPoliciesAreCheckedWhenTheConsumerIsCreated() {
    assertEquals(201, server.put("/api/v1/queues/push-bad", "{}").status());
    String[][] cases = {
        {"{\"push\":{}}", "push.endpoint"},
        {"{\"push\":{\"endpoint\":\"ftp://127.0.0.1/x\"}}", "https"},
        {"{\"push\":{\"endpoint\":\"http://user:pw@127.0.0.1/x\"}}", "credentials"},
        {"{\"push\":{\"endpoint\":\"not a url\"}}", "push.endpoint"},
        {"{\"push\":{\"endpoint\":\"http://10.1.2.3/x\"}}", "allowed-hosts"},
        {"{\"push\":{\"endpoint\":\"http://169.254.169.254/latest/meta-data\"}}", "allowed-hosts"},
        {"{\"push\":{\"endpoint\":\"http://[::1]:9/x\"}}", "allowed-hosts"},
        {"{\"push\":{\"endpoint\":\"http://internal.example/x\"}}", "allowed-hosts"},
        {"{\"push\":{\"endpoint\":\"http://127.0.0.1/x\",\"batchSize\":10}}", "push.batchSize"},
        {"{\"push\":{\"endpoint\":\"https://example.com:99999/x\"}}", "port"},
        {"{\"push\":{\"endpoint\":\"https://example.com:0/x\"}}", "port"},
        {"{\"push\":{\"endpoint\":\"http://localhost:8080/x\"}}", "allowed-hosts"},
        {"{\"push\":{\"endpoint\":\"http://127.0.0.1/x\",\"maxOutstanding\":0}}", "push.maxOutstanding"},
        {"{\"push\":{\"endpoint\":\"http://127.0.0.1/x\",\"maxOutstanding\":5000}}", "push.maxOutstanding"},
        {"{\"push\":{\"endpoint\":\"http://127.0.0.1/x\",\"ackDeadline\":\"PT0.1S\"}}", "push.ackDeadline"},
        {"{\"push\":{\"endpoint\":\"http://127.0.0.1/x\",\"ackDeadline\":\"soon\"}}", "push.ackDeadline"},
        {"{\"push\":{\"endpoint\":\"http://127.0.0.1/x\",\"permanentStatuses\":[200]}}", "push.permanentStatuses"},
        {"{\"push\":{\"endpoint\":\"http://127.0.0.1/x\",\"retry\":{\"maxRetries\":-1}}}", "push.retry.maxRetries"},
        {"{\"push\":{\"endpoint\":\"http://127.0.0.1/x\",\"retry\":{\"multiplier\":0.5}}}", "push.retry"},
        {"{\"maxDeliveries\":2,\"push\":{\"endpoint\":\"http://127.0.0.1/x\",\"retry\":{\"maxRetries\":5}}}",
            "disagrees"},
        {"{\"prefetch\":2,\"push\":{\"endpoint\":\"http://127.0.0.1/x\",\"maxOutstanding\":10}}", "prefetch"},
        {"{\"ackMode\":\"none\",\"push\":{\"endpoint\":\"http://127.0.0.1/x\"}}", "ackMode"},
    };
    for (String[] c : cases) {
      TestServer.Response r = server.put("/api/v1/queues/push-bad/consumers/hook", c[0]);
      assertEquals(400, r.status(), c[0] + " -> " + r.body());
      assertEquals("InvalidConfiguration", r.error(), r.body());
      assertTrue(r.body().contains(c[1]), c[0] + " -> " + r.body());
    }
    assertEquals(404, server.get("/api/v1/queues/push-bad/consumers/hook").status(), "nothing was created");
  }

  @Test
  void aRestartOfTheServiceResumesPushesWithTheSameSecret() throws Exception {
    Path data = Files.createTempDirectory("spool-push-restart");
    Config durable = ConfigFactory.parseString("spool.persistence.journal-plugin = \"spool.journal.sqlite.journal\"\n"
        + "spool.persistence.snapshot-plugin = \"spool.journal.sqlite.snapshot-store\"\n"
        + "spool.journal.sqlite.path = \"" + data.resolve("journal/spool.db") + "\"").withFallback(config());
    try (PushReceiver receiver = PushReceiver.start(body -> PushReceiver.Answer.ok())) {
      TestServer first = TestServer.start(durable, data);
      String secret;
      int n = 30;
      try {
        assertEquals(201, first.put("/api/v1/queues/push-durable", "{\"durability\":\"persistent\"}").status());
        receiver.stop(); // nothing can be pushed before the restart
        TestServer.Response created = first.put("/api/v1/queues/push-durable/consumers/hook",
            pushConsumer(receiver.endpoint("/in"), 4, 1000, ""));
        assertEquals(201, created.status(), created.body());
        secret = created.json().path("secret").asText();
        for (int i = 0; i < n; i++) {
          assertEquals(201, first.post("/api/v1/queues/push-durable/messages",
              "{\"payload\":\"durable-" + i + "-" + FILLER + "\"}").status());
        }
      } finally {
        first.stopKeepingData();
      }
      receiver.restart();
      try (TestServer second = TestServer.start(durable, data)) {
        await().atMost(Duration.ofSeconds(30)).until(() ->
            second.get("/api/v1/queues/push-durable/consumers/hook").json().path("lag").asLong() == 0);
        for (int i = 0; i < n; i++) {
          List<PushReceiver.Received> got = receiver.receivedFor("durable-" + i + "-" + FILLER);
          assertFalse(got.isEmpty(), "pushed after the restart: " + i);
          assertTrue(verifies(got.get(got.size() - 1), secret), "signed with the secret given before the restart");
        }
        Set<String> ids = receiver.received().stream().map(r -> r.header("ce-id")).collect(Collectors.toSet());
        assertEquals(n, ids.size(), "one CloudEvents id per message, across retries");
      }
    }
  }
  @Test
  void aPushConsumerIsExportedAndImportedAsDeclaredAndDeclaredInHocon() throws Exception {
    assertEquals(201, server.put("/api/v1/queues/push-defs", "{}").status());
    assertEquals(201, server.put("/api/v1/queues/push-defs/consumers/hook",
        pushConsumer("http://127.0.0.1:9/in", 3, 4, ",\"permanentStatuses\":[409,422]")).status());
    JsonNode document = server.get("/api/v1/definitions").json();
    JsonNode exported = null;
    for (JsonNode c : document.path("consumers")) {
      if (c.path("queue").asText().equals("push-defs")) {
        exported = c;
      }
    }
    assertNotNull(exported, document.toString());
    JsonNode push = exported.path("settings").path("push");
    assertEquals("http://127.0.0.1:9/in", push.path("endpoint").asText());
    assertEquals(4, push.path("retry").path("maxRetries").asInt());
    assertEquals("PT0.1S", push.path("retry").path("initialDelay").asText());
    assertEquals("[409,422]", push.path("permanentStatuses").toString());
    assertFalse(exported.toString().contains("nonce") || exported.toString().contains("secret"), exported.toString());

    TestServer.Response report = server.post("/api/v1/definitions",
        "{\"consumers\":[" + exported + "]}");
    assertEquals(200, report.status(), report.body());
    assertEquals("consumer hook of queue push-defs", report.json().path("unchanged").get(0).asText(), report.body());
    TestServer.Response bad = server.post("/api/v1/definitions", "{\"consumers\":[" + exported + ","
        + "{\"queue\":\"push-defs\",\"name\":\"bad\",\"settings\":{\"push\":{\"endpoint\":\"ftp://x/y\"}}}]}");
    assertEquals(400, bad.status(), bad.body());
    assertTrue(bad.body().contains("consumer 'bad' of queue 'push-defs'"), "the error names the definition: " + bad.body());

    Config declared = ConfigFactory.parseString("""
        spool.definitions {
          queues = [{name = push-declared}]
          consumers = [{queue = push-declared, name = hook, settings {
            push {endpoint = "http://127.0.0.1:9/in", ackDeadline = 5s, maxOutstanding = 2,
                  retry {maxRetries = 3, initialDelay = 250ms, maxDelay = 2s, multiplier = 3}}}}]
        }
        """).withFallback(config());
    try (TestServer withDefinitions = TestServer.start(declared)) {
      await().atMost(Duration.ofSeconds(10)).until(() ->
          withDefinitions.get("/api/v1/queues/push-declared/consumers/hook").status() == 200);
      JsonNode settings = withDefinitions.get("/api/v1/queues/push-declared/consumers/hook").json().path("settings");
      assertEquals("PT5S", settings.path("push").path("ackDeadline").asText(), settings.toString());
      assertEquals("PT0.25S", settings.path("push").path("retry").path("initialDelay").asText());
      assertEquals(4, settings.path("maxDeliveries").asInt());
      assertEquals(2, settings.path("prefetch").asInt(), "prefetch follows maxOutstanding when unset");
      TestServer.Response secret = withDefinitions.post("/api/v1/queues/push-declared/consumers/hook/push/secret",
          null);
      assertEquals(200, secret.status(), "a declared push consumer's secret, which nobody saw: " + secret.body());
      assertTrue(secret.json().path("secret").asText().length() >= 40);
      assertEquals(201, withDefinitions.put("/api/v1/queues/push-declared/consumers/pulled", "{}").status());
      assertEquals(400, withDefinitions.post("/api/v1/queues/push-declared/consumers/pulled/push/secret", null)
          .status(), "a consumer that does not push has no secret");
    }
  }
  @Test
  void aReceiverSlowerThanTheAckDeadlineFailsThePushAndItIsRetriedThenDeadLettered() {
    try (PushReceiver receiver = PushReceiver.start(body -> new PushReceiver.Answer(200, 1500))) {
      assertEquals(201, server.put("/api/v1/queues/push-slow-dlq", "{}").status());
      assertEquals(201, server.put("/api/v1/queues/push-slow", "{\"deadLetter\":{\"queue\":\"push-slow-dlq\"}}")
          .status());
      assertEquals(201, server.put("/api/v1/queues/push-slow/consumers/hook", "{\"push\":{\"endpoint\":\""
          + receiver.endpoint("/in") + "\",\"ackDeadline\":\"PT1S\",\"retry\":{\"maxRetries\":1,"
          + "\"initialDelay\":\"PT0.1S\"}}}").status());
      publish("push-slow", "too-slow-" + FILLER, null);
      await().atMost(Duration.ofSeconds(20)).until(() ->
          server.get("/api/v1/queues/push-slow-dlq/messages?from=1&limit=10").json().size() == 1);
      JsonNode dead = server.get("/api/v1/queues/push-slow-dlq/messages?from=1&limit=10").json().get(0);
      assertEquals("max-deliveries", dead.path("headers").path("x-death-reason").asText(), dead.toString());
      assertEquals(2, receiver.attempts("too-slow-" + FILLER), "the first attempt and one retry");
      JsonNode push = server.get("/api/v1/queues/push-slow/consumers/hook").json().path("push");
      assertTrue(push.path("lastError").asText().startsWith("timed out"), push.toString());
      assertEquals(0, push.path("succeeded").asLong(), "a late 200 does not count");
    }
  }
  @Test
  void aPartitionedQueuesPushConsumerPushesFromEveryPartitionUnderOneSecret() throws Exception {
    try (PushReceiver receiver = PushReceiver.start(body -> PushReceiver.Answer.ok())) {
      assertEquals(201, server.put("/api/v1/queues/push-parts", "{\"partitions\":3}").status());
      TestServer.Response created = server.put("/api/v1/queues/push-parts/consumers/hook",
          pushConsumer(receiver.endpoint("/in"), 2, 3, ""));
      assertEquals(201, created.status(), created.body());
      String secret = created.json().path("secret").asText();
      int n = 45;
      for (int i = 0; i < n; i++) {
        publish("push-parts", "part-" + i + "-" + FILLER, "key-" + (i % 9));
      }
      await().atMost(Duration.ofSeconds(30)).until(() -> receiver.received().size() >= n
          && server.get("/api/v1/queues/push-parts/consumers/hook").json().path("lag").asLong() == 0);
      for (PushReceiver.Received r : receiver.received()) {
        assertTrue(verifies(r, secret), "every partition signs with the consumer's one secret");
        assertEquals("/spool/queues/push-parts", r.header("ce-source"));
      }
      assertEquals(n, receiver.received().stream().map(r -> r.header("ce-id")).distinct().count());
      JsonNode push = server.get("/api/v1/queues/push-parts/consumers/hook").json().path("push");
      assertEquals(n, push.path("succeeded").asLong(), "the partitions' pushes summed: " + push);
      assertTrue(receiver.mostAtOnce() <= 6, "maxOutstanding per partition: " + receiver.mostAtOnce());
    }
  }
  @Test
  void requestsThatWaitedPastTheirDeadlineForAnUnreachableReceiverAreNeverDeliveredLate() throws Exception {
    try (PushReceiver receiver = PushReceiver.start(body -> PushReceiver.Answer.ok())) {
      receiver.stop();
      assertEquals(201, server.put("/api/v1/queues/push-late-dlq", "{}").status());
      assertEquals(201, server.put("/api/v1/queues/push-late", "{\"deadLetter\":{\"queue\":\"push-late-dlq\"}}")
          .status());
      assertEquals(201, server.put("/api/v1/queues/push-late/consumers/hook", "{\"push\":{\"endpoint\":\""
          + receiver.endpoint("/in") + "\",\"ackDeadline\":\"PT2S\",\"maxOutstanding\":1,\"retry\":"
          + "{\"maxRetries\":2,\"initialDelay\":\"PT1S\",\"maxDelay\":\"PT1S\"}}}").status());
      int n = 9;
      for (int i = 0; i < n; i++) {
        publish("push-late", "late-" + i + "-" + FILLER, null);
      }
      await().atMost(Duration.ofSeconds(60)).until(() ->
          server.get("/api/v1/queues/push-late-dlq/messages?from=1&limit=20").json().size() == n);
      receiver.restart();
      Thread.sleep(5000); // the pool reconnects within its 2 s backoff: what it still held would go now
      assertEquals(List.of(), receiver.received().stream().map(PushReceiver.Received::body).toList(),
          "nothing already given up on reaches the receiver");
    }
  }
}
