package dev.spool.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.HttpRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Bearer tokens and roles for every route family, origins, and the security headers. */
class SecurityTest {

  private static TestServer server;

  @BeforeAll
  static void start() {
    server = TestServer.start();
    for (String q : List.of("orders-1", "billing")) {
      server.put("/api/v1/queues/" + q, "{}");
      server.put("/api/v1/queues/" + q + "/consumers/existing", "{}");
      server.post("/api/v1/queues/" + q + "/messages", "{\"payload\":\"x\"}");
    }
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
  }

  /** What a route family needs, as http-api.md ("Security") grants it. */
  enum Need { VIEW, VIEW_QUEUE, PUBLISH, CONSUME, ADMIN }

  /** One request standing for a route family; {q} is the queue. Destructive ones aim at things that do not exist. */
  record Family(String name, String method, String path, String body, Need need) {}

  private static final List<Family> FAMILIES = List.of(
      new Family("list queues", "GET", "/api/v1/queues", null, Need.VIEW),
      new Family("queue info", "GET", "/api/v1/queues/{q}", null, Need.VIEW_QUEUE),
      new Family("create queue", "PUT", "/api/v1/queues/{q}", "{}", Need.ADMIN),
      new Family("delete queue", "DELETE", "/api/v1/queues/{q}-gone", null, Need.ADMIN),
      new Family("redrive", "POST", "/api/v1/queues/{q}-gone/redrive", "{}", Need.ADMIN),
      new Family("publish", "POST", "/api/v1/queues/{q}/messages", "{\"payload\":\"m\"}", Need.PUBLISH),
      new Family("browse", "GET", "/api/v1/queues/{q}/messages", null, Need.VIEW_QUEUE),
      new Family("message trace", "GET", "/api/v1/queues/{q}/messages/1", null, Need.VIEW_QUEUE),
      new Family("list consumers", "GET", "/api/v1/queues/{q}/consumers", null, Need.VIEW_QUEUE),
      new Family("consumer info", "GET", "/api/v1/queues/{q}/consumers/existing", null, Need.VIEW_QUEUE),
      new Family("create consumer", "PUT", "/api/v1/queues/{q}/consumers/existing", "{}", Need.CONSUME),
      new Family("delete consumer", "DELETE", "/api/v1/queues/{q}/consumers/gone", null, Need.ADMIN),
      new Family("read", "POST", "/api/v1/queues/{q}/consumers/existing/read?max=1", null, Need.CONSUME),
      new Family("ack", "POST", "/api/v1/queues/{q}/consumers/existing/ack", "{\"sequences\":[]}", Need.CONSUME),
      new Family("nack", "POST", "/api/v1/queues/{q}/consumers/existing/nack", "{\"sequences\":[]}", Need.CONSUME),
      new Family("seek", "POST", "/api/v1/queues/{q}/consumers/gone/seek", "{\"to\":\"earliest\"}", Need.CONSUME),
      new Family("pause", "POST", "/api/v1/queues/{q}/consumers/gone/pause", null, Need.CONSUME),
      new Family("resume", "POST", "/api/v1/queues/{q}/consumers/gone/resume", null, Need.CONSUME),
      new Family("stream", "GET", "/api/v1/queues/{q}/consumers/gone/stream", null, Need.CONSUME),
      new Family("memory", "GET", "/api/v1/stats/memory", null, Need.VIEW),
      new Family("threshold", "PUT", "/api/v1/stats/memory/threshold", "{\"bytes\":0}", Need.ADMIN),
      new Family("lag", "GET", "/api/v1/stats/lag", null, Need.VIEW),
      new Family("gc", "POST", "/api/v1/gc", null, Need.ADMIN),
      new Family("stale", "GET", "/api/v1/consumers/stale", null, Need.VIEW),
      new Family("cleanup", "POST", "/api/v1/consumers/stale/cleanup", "{\"lagThreshold\":1000000}", Need.ADMIN),
      new Family("metrics", "GET", "/metrics", null, Need.VIEW));

  /** Which needs each role meets; producer and consumer only on {@code orders-*}. */
  private static boolean allowed(String role, Need need, boolean ordersQueue) {
    return switch (role) {
      case "admin" -> true;
      case "viewer" -> need == Need.VIEW || need == Need.VIEW_QUEUE;
      case "producer" -> ordersQueue && (need == Need.VIEW_QUEUE || need == Need.PUBLISH);
      case "consumer" -> ordersQueue && (need == Need.VIEW_QUEUE || need == Need.CONSUME);
      default -> false;
    };
  }

  @Test
  void everyRoleAgainstEveryRouteFamily() {
    Map<String, String> tokens = Map.of("admin", TestServer.ADMIN, "producer", TestServer.PRODUCER,
        "consumer", TestServer.CONSUMER, "viewer", TestServer.VIEWER);
    List<String> wrong = new ArrayList<>();
    for (String queue : List.of("orders-1", "billing")) {
      for (Family f : FAMILIES) {
        String path = f.path().replace("{q}", queue);
        for (Map.Entry<String, String> role : tokens.entrySet()) {
          int status = server.send(f.method(), path, role.getValue(), f.body()).status();
          boolean expected = allowed(role.getKey(), f.need(), queue.startsWith("orders-"));
          if (expected ? status == 401 || status == 403 || status >= 500 : status != 403) {
            wrong.add(role.getKey() + " " + f.name() + " on " + queue + ": " + status);
          }
        }
        TestServer.Response anonymous = server.send(f.method(), path, null, f.body());
        if (anonymous.status() != 401 || anonymous.header("WWW-Authenticate") == null) {
          wrong.add("no token " + f.name() + ": " + anonymous.status());
        }
        if (server.send(f.method(), path, "not-a-token", f.body()).status() != 401) {
          wrong.add("bad token " + f.name());
        }
      }
    }
    assertEquals(List.of(), wrong);
  }

  @Test
  void aProducerOfOrdersCannotTouchBilling() {
    long before = server.get("/api/v1/queues/billing").json().path("stats").path("lastSequence").asLong();
    TestServer.Response refused = server.send("POST", "/api/v1/queues/billing/messages", TestServer.PRODUCER,
        "{\"payload\":\"sneaky\"}");
    assertEquals(403, refused.status());
    assertEquals("Forbidden", refused.error());
    assertEquals(before, server.get("/api/v1/queues/billing").json().path("stats").path("lastSequence").asLong());

    TestServer.Response ok = server.send("POST", "/api/v1/queues/orders-1/messages", TestServer.PRODUCER,
        "{\"payload\":\"fine\"}");
    assertEquals(201, ok.status());
    long seq = ok.json().path("sequences").get(0).asLong();
    assertEquals("orders-producer", server.get("/api/v1/queues/orders-1/messages/" + seq).json()
        .path("message").path("producerId").asText());
  }

  @Test
  void unauthorizedAnswersCarryAChallengeAndTheErrorShape() {
    TestServer.Response r = server.send("GET", "/api/v1/queues", null, null);
    assertEquals(401, r.status());
    assertEquals("Unauthorized", r.error());
    assertTrue(r.header("WWW-Authenticate").startsWith("Bearer"));
    HttpRequest basic = HttpRequest.newBuilder(server.uri("/api/v1/queues")).header("Authorization", "Basic YTpi").build();
    assertEquals(401, server.send(basic).status());
  }

  @Test
  void stateChangingRequestsFromAForeignOriginAreRefused() {
    long before = server.get("/api/v1/queues/orders-1").json().path("stats").path("lastSequence").asLong();
    HttpRequest foreign = HttpRequest.newBuilder(server.uri("/api/v1/queues/orders-1/messages"))
        .header("Authorization", "Bearer " + TestServer.ADMIN).header("Content-Type", "application/json")
        .header("Origin", "http://evil.example")
        .POST(HttpRequest.BodyPublishers.ofString("{\"payload\":\"csrf\"}")).build();
    TestServer.Response refused = server.send(foreign);
    assertEquals(403, refused.status());
    assertEquals("Forbidden", refused.error());
    assertEquals(before, server.get("/api/v1/queues/orders-1").json().path("stats").path("lastSequence").asLong());

    HttpRequest same = HttpRequest.newBuilder(server.uri("/api/v1/queues/orders-1/messages"))
        .header("Authorization", "Bearer " + TestServer.ADMIN).header("Content-Type", "application/json")
        .header("Origin", "http://127.0.0.1:" + server.binding.port())
        .POST(HttpRequest.BodyPublishers.ofString("{\"payload\":\"ok\"}")).build();
    assertEquals(201, server.send(same).status());

    HttpRequest read = HttpRequest.newBuilder(server.uri("/api/v1/queues"))
        .header("Authorization", "Bearer " + TestServer.ADMIN).header("Origin", "http://evil.example").build();
    TestServer.Response get = server.send(read);
    assertEquals(200, get.status());
    assertNull(get.header("Access-Control-Allow-Origin"), "CORS is off");
  }

  @Test
  void everyResponseCarriesTheSecurityHeadersAndNoServerVersion() {
    for (TestServer.Response r : List.of(server.send("GET", "/", null, null), server.get("/api/v1/queues"),
        server.get("/api/v1/nothing"), server.send("GET", "/api/v1/queues", null, null))) {
      assertTrue(r.header("Content-Security-Policy").contains("frame-ancestors 'none'"));
      assertEquals("DENY", r.header("X-Frame-Options"));
      assertEquals("nosniff", r.header("X-Content-Type-Options"));
      assertEquals("no-referrer", r.header("Referrer-Policy"));
      String serverHeader = r.header("Server");
      assertTrue(serverHeader == null || !serverHeader.matches(".*\\d.*"), "Server: " + serverHeader);
    }
    TestServer.Response console = server.send("GET", "/", null, null);
    assertEquals(200, console.status());
    assertTrue(console.header("Content-Type").startsWith("text/html"));
    assertTrue(console.body().contains("/console/app.js"), "the console page: " + console.body());
  }

  @Test
  void withoutConfiguredTokensAnAdminTokenIsGeneratedOnceSavedOwnerOnlyAndPrinted() throws Exception {
    java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("spool-token");
    com.typesafe.config.Config noTokens = com.typesafe.config.ConfigFactory.parseString(
        "spool.data-dir = \"" + dir + "\"");
    String firstLine;
    String token;
    java.io.PrintStream out = System.out;
    java.io.ByteArrayOutputStream printed = new java.io.ByteArrayOutputStream();
    System.setOut(new java.io.PrintStream(printed, true, java.nio.charset.StandardCharsets.UTF_8));
    try (TestServer generated = TestServer.start(noTokens)) {
      firstLine = printed.toString(java.nio.charset.StandardCharsets.UTF_8).trim();
      java.nio.file.Path file = dir.resolve("admin-token");
      token = java.nio.file.Files.readString(file).trim();
      assertEquals(Set.of(java.nio.file.attribute.PosixFilePermission.OWNER_READ,
          java.nio.file.attribute.PosixFilePermission.OWNER_WRITE), java.nio.file.Files.getPosixFilePermissions(file));
      assertTrue(token.length() >= 40);
      assertEquals("Spool console: http://127.0.0.1:" + generated.binding.port() + "/?token=" + token, firstLine);
      assertEquals(200, generated.send("GET", "/api/v1/queues", token, null).status());
      assertEquals(401, generated.send("GET", "/api/v1/queues", TestServer.ADMIN, null).status());
    } finally {
      System.setOut(out);
    }
    printed.reset();
    System.setOut(new java.io.PrintStream(printed, true, java.nio.charset.StandardCharsets.UTF_8));
    try (TestServer again = TestServer.start(noTokens)) {
      String line = printed.toString(java.nio.charset.StandardCharsets.UTF_8).trim();
      assertEquals("Spool console: http://127.0.0.1:" + again.binding.port() + "/", line, "the token is shown once");
      assertEquals(200, again.send("GET", "/api/v1/queues", token, null).status(), "the saved token still works");
    } finally {
      System.setOut(out);
    }
  }

  @Test
  void aNonLoopbackHostWithoutTokensRefusesToStart() {
    com.typesafe.config.Config exposed = com.typesafe.config.ConfigFactory.parseString(
        "spool.http.host = \"0.0.0.0\"\nspool.http.port = 0").withFallback(com.typesafe.config.ConfigFactory.load());
    Exception e = assertThrows(Exception.class, () ->
        SpoolHttpServer.start(server.spool, exposed).toCompletableFuture().get());
    assertTrue(e.getCause() instanceof dev.spool.SpoolException.InvalidConfiguration, e.toString());
    assertTrue(e.getCause().getMessage().contains("without authentication"));
  }

  @Test
  void tokensAreNotAcceptedInTheQueryString() {
    TestServer.Response r = server.send("GET", "/api/v1/queues?token=" + TestServer.ADMIN, null, null);
    assertEquals(401, r.status());
    assertFalse(r.body().contains(TestServer.ADMIN));
    assertNotEquals(200, r.status());
  }
}
