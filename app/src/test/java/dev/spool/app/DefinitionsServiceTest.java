package dev.spool.app;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spool.ConsumerInfo;
import dev.spool.QueueInfo;
import dev.spool.Spool;
import dev.spool.http.Authenticator;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Definitions in {@code spool.definitions} applied at start, idempotently across a restart with a
 * changed block (a conflict refused, the rest applied), then exported, imported into a fresh
 * service and exported again to the same document; bad documents change nothing.
 */
class DefinitionsServiceTest {

  private static final String ADMIN = "definitions-admin-0123456789abcdef";
  private static final String VIEWER = "definitions-viewer-0123456789abcdef";
  private static final String CI = "definitions-ci-0123456789abcdef0123";
  private static final ObjectMapper JSON = new ObjectMapper();
  private final HttpClient client = HttpClient.newHttpClient();

  private static <T> T get(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private static Config config(Path dir, String definitions) {
    return ConfigFactory.load(ConfigFactory.parseString(definitions + "\nspool.data-dir = \"" + dir + "\"\n"
            + "spool.http.port = 0\nspool.http.auth.tokens = [{name = admin, sha256 = \"" + Authenticator.sha256Hex(ADMIN)
            + "\", roles = [admin]}, {name = viewer, sha256 = \"" + Authenticator.sha256Hex(VIEWER)
            + "\", roles = [viewer]}]")
        .withFallback(ConfigFactory.parseResourcesAnySyntax("application")));
  }

  private static final String FIRST = """
      spool.definitions {
        queues = [
          {name = orders, settings {durability = persistent, ttl = PT1H, maxLength = 1000,
            deadLetter {queue = orders-dlq, maxDeliveries = 3}}}
          {name = orders-dlq, settings {durability = persistent}}
        ]
        consumers = [
          {queue = orders, name = billing, settings {prefetch = 50}}
          {queue = orders, name = shipping, settings {startAt = latest, ackTimeout = 45s}}
        ]
        tokens = [{name = ci, sha256 = "%s", roles = [producer], queues = ["orders*"]}]
      }
      """.formatted(Authenticator.sha256Hex(CI));

  /**
   * The same, but orders' length limit changed (a conflict), a queue and a consumer added, and the
   * ci token's role changed (declared tokens are read at each start: the change takes effect).
   */
  private static final String SECOND = """
      spool.definitions {
        queues = [
          {name = orders, settings {durability = persistent, ttl = PT1H, maxLength = 2000,
            deadLetter {queue = orders-dlq, maxDeliveries = 3}}}
          {name = orders-dlq, settings {durability = persistent}}
          {name = refunds, settings {durability = persistent, overflow = reject, maxBytes = 1048576}}
        ]
        consumers = [
          {queue = orders, name = billing, settings {prefetch = 50}}
          {queue = refunds, name = ledger}
        ]
        tokens = [{name = ci, sha256 = "%s", roles = [viewer]}]
      }
      """.formatted(Authenticator.sha256Hex(CI));

  private HttpResponse<String> send(Main.Service service, String method, String path, String token, String body)
      throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + service.http().port() + path))
        .header("Authorization", "Bearer " + token).timeout(Duration.ofSeconds(30));
    if (body != null) {
      b.header("Content-Type", "application/json");
    }
    b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static List<String> names(JsonNode definitions) {
    List<String> out = new java.util.ArrayList<>();
    definitions.forEach(d -> out.add(d.path("name").asText()));
    return out;
  }

  private static List<String> queues(Spool spool) throws Exception {
    return get(spool.listQueues()).stream().map(QueueInfo::name).sorted().toList();
  }

  @Test
  void definitionsApplyAtStartSurviveAChangedRestartAndRoundTripThroughExportAndImport(@TempDir Path dir)
      throws Exception {
    Main.Service first = Main.init(config(dir.resolve("a"), FIRST));
    await().atMost(Duration.ofSeconds(30)).until(() -> queues(first.spool()).containsAll(List.of("orders", "orders-dlq"))
        && get(first.spool().listConsumers("orders")).size() == 2);
    QueueInfo orders = get(first.spool().queueInfo("orders"));
    assertEquals(1000, orders.settings().maxLength());
    assertEquals("orders-dlq", orders.settings().deadLetter().queue());
    ConsumerInfo shipping = get(first.spool().consumerInfo("orders", "shipping"));
    assertEquals(Duration.ofSeconds(45), shipping.settings().ackTimeout());
    assertEquals(201, send(first, "POST", "/api/v1/queues/orders/messages", CI, "{\"payload\":\"x\"}").statusCode());
    get(first.spool().shutdown());

    Main.Service second = Main.init(config(dir.resolve("a"), SECOND));
    await().atMost(Duration.ofSeconds(30)).until(() -> queues(second.spool()).contains("refunds")
        && get(second.spool().listConsumers("refunds")).size() == 1);
    assertEquals(1000, get(second.spool().queueInfo("orders")).settings().maxLength(),
        "a definition that conflicts with the queue as it is changes nothing");
    assertEquals(List.of("billing", "shipping"), get(second.spool().listConsumers("orders")).stream()
        .map(ConsumerInfo::name).sorted().toList(), "a consumer no longer defined is not deleted");

    assertEquals(403, send(second, "POST", "/api/v1/queues/orders/messages", CI, "{\"payload\":\"x\"}").statusCode(),
        "the token's new role applies");
    assertEquals(200, send(second, "GET", "/api/v1/queues/orders", CI, null).statusCode());

    HttpResponse<String> exported = send(second, "GET", "/api/v1/definitions", ADMIN, null);
    assertEquals(200, exported.statusCode(), exported.body());
    JsonNode document = JSON.readTree(exported.body());
    assertEquals(List.of("default", "orders", "orders-dlq", "refunds"), names(document.path("queues")),
        "every queue, the default one too");
    assertEquals(3, document.path("consumers").size());
    assertEquals(List.of("admin", "ci", "viewer"), names(document.path("tokens")), "tokens, as hashes");
    assertFalse(exported.body().contains(CI) || exported.body().contains(ADMIN), "never a token itself");
    assertEquals(403, send(second, "GET", "/api/v1/definitions", VIEWER, null).statusCode());

    Main.Service fresh = Main.init(config(dir.resolve("b"), ""));
    try {
      HttpResponse<String> imported = send(fresh, "POST", "/api/v1/definitions", ADMIN, exported.body());
      assertEquals(200, imported.statusCode(), imported.body());
      JsonNode report = JSON.readTree(imported.body());
      assertEquals(7, report.path("created").size(), report.toString());
      assertEquals(List.of("token admin", "token viewer", "queue default"),
          JSON.convertValue(report.path("unchanged"), List.class),
          "the fresh service's configured tokens and default queue were already as defined");
      assertEquals(200, send(fresh, "GET", "/api/v1/queues/orders", CI, null).statusCode(), "the imported token works");
      assertEquals(0, report.path("refused").size(), report.toString());
      assertEquals(document, JSON.readTree(send(fresh, "GET", "/api/v1/definitions", ADMIN, null).body()),
          "exported again, the imported service has the same definitions");

      JsonNode again = JSON.readTree(send(fresh, "POST", "/api/v1/definitions", ADMIN, exported.body()).body());
      assertEquals(10, again.path("unchanged").size(), "importing again changes nothing");
      assertEquals(0, again.path("created").size());

      String conflicting = "{\"queues\":[{\"name\":\"orders\",\"settings\":{\"maxLength\":5}},"
          + "{\"name\":\"returns\",\"settings\":{}}],\"consumers\":[{\"queue\":\"missing\",\"name\":\"c\"}]}";
      JsonNode partly = JSON.readTree(send(fresh, "POST", "/api/v1/definitions", ADMIN, conflicting).body());
      assertEquals("[\"queue returns\"]", partly.path("created").toString());
      assertEquals(2, partly.path("refused").size(), partly.toString());
      assertEquals("QueueAlreadyExists", partly.path("refused").get(0).path("error").asText());
      assertEquals("QueueNotFound", partly.path("refused").get(1).path("error").asText());

      List<String> before = queues(fresh.spool());
      for (String bad : List.of("{\"queues\":[{\"name\":\"a b\"}]}", "{\"queues\":[{\"name\":\"x\",\"settings\":"
              + "{\"ttl\":\"soon\"}}]}", "{\"queues\":[{\"name\":\"x\"},{\"name\":\"x\"}]}",
          "{\"consumers\":[{\"queue\":\"orders\"}]}", "{\"queues\":[{\"name\":\"x\",\"colour\":\"red\"}]}",
          "{\"queues\":[{\"name\":\"y\"},{\"name\":\"z\",\"settings\":{\"partitions\":0}}]}",
          "{\"queues\":[{\"name\":\"y1\"},{\"name\":\"x\",\"settings\":{\"deadLetter\":{\"queue\":\"x\"}}}]}", "")) {
        HttpResponse<String> refused = send(fresh, "POST", "/api/v1/definitions", ADMIN, bad);
        assertEquals(400, refused.statusCode(), bad + " -> " + refused.body());
        assertTrue(refused.body().contains("\"message\""), refused.body());
      }
      assertEquals(before, queues(fresh.spool()), "a bad document changes nothing");
      assertEquals(403, send(fresh, "POST", "/api/v1/definitions", VIEWER, exported.body()).statusCode());
    } finally {
      get(fresh.spool().shutdown());
      get(second.spool().shutdown());
    }
  }
}
