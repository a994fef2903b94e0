package dev.spool.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.swagger.v3.parser.OpenAPIV3Parser;
import io.swagger.v3.parser.core.models.ParseOptions;
import io.swagger.v3.parser.core.models.SwaggerParseResult;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code GET /api/v1/openapi.json} describes the whole API: every contract route, and only routes
 * that exist, in a document Swagger's parser reads without a message, precise where clients and
 * generators look (operation ids, declared tags, security, headers, event streams).
 */
class OpenApiTest {

  /** Every route of http-api.md, as "METHOD path" with OpenAPI's parameter names. */
  private static final Set<String> CONTRACT = Set.of(
      "GET /api/v1/queues",
      "PUT /api/v1/queues/{queue}",
      "GET /api/v1/queues/{queue}",
      "DELETE /api/v1/queues/{queue}",
      "POST /api/v1/queues/{queue}/redrive",
      "POST /api/v1/queues/{queue}/messages",
      "GET /api/v1/queues/{queue}/messages",
      "DELETE /api/v1/queues/{queue}/messages",
      "GET /api/v1/queues/{queue}/messages/{sequence}",
      "GET /api/v1/queues/{queue}/browse",
      "GET /api/v1/queues/{queue}/headers/{header}",
      "GET /api/v1/queues/{queue}/history",
      "GET /api/v1/queues/{queue}/health",
      "GET /api/v1/health",
      "GET /api/v1/definitions",
      "POST /api/v1/definitions",
      "GET /api/v1/queues/{queue}/consumers",
      "PUT /api/v1/queues/{queue}/consumers/{consumer}",
      "GET /api/v1/queues/{queue}/consumers/{consumer}",
      "DELETE /api/v1/queues/{queue}/consumers/{consumer}",
      "POST /api/v1/queues/{queue}/consumers/{consumer}/read",
      "POST /api/v1/queues/{queue}/consumers/{consumer}/ack",
      "POST /api/v1/queues/{queue}/consumers/{consumer}/nack",
      "POST /api/v1/queues/{queue}/consumers/{consumer}/seek",
      "POST /api/v1/queues/{queue}/consumers/{consumer}/pause",
      "POST /api/v1/queues/{queue}/consumers/{consumer}/resume",
      "GET /api/v1/queues/{queue}/consumers/{consumer}/stream",
      "GET /api/v1/stats/memory",
      "PUT /api/v1/stats/memory/threshold",
      "POST /api/v1/gc",
      "GET /api/v1/stats/lag",
      "GET /api/v1/consumers/stale",
      "POST /api/v1/consumers/stale/cleanup",
      "GET /api/v1/events",
      "GET /api/v1/cluster",
      "GET /health/live",
      "GET /health/ready",
      "GET /metrics",
      "GET /",
      "GET /api/v1/openapi.json");

  private static TestServer server;
  private static JsonNode doc;

  @BeforeAll
  static void start() {
    server = TestServer.start();
    TestServer.Response r = server.send("GET", "/api/v1/openapi.json", null, null);
    assertEquals(200, r.status());
    doc = r.json();
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
  }

  private static Set<String> documented() {
    Set<String> routes = new TreeSet<>();
    for (Map.Entry<String, JsonNode> path : doc.path("paths").properties()) {
      for (Iterator<String> methods = path.getValue().fieldNames(); methods.hasNext(); ) {
        String method = methods.next();
        if (!method.equals("parameters")) {
          routes.add(method.toUpperCase() + " " + path.getKey());
        }
      }
    }
    return routes;
  }

  @Test
  void everyContractRouteIsDocumented() {
    assertEquals("3.0.3", doc.path("openapi").asText());
    Set<String> missing = new TreeSet<>(CONTRACT);
    missing.removeAll(documented());
    assertEquals(Set.of(), missing);
  }

  @Test
  void everyDocumentedRouteExistsOnTheServer() throws Exception {
    List<String> absent = new ArrayList<>();
    for (String route : documented()) {
      String method = route.substring(0, route.indexOf(' '));
      // A queue that does not exist (until the PUT creates it): the route answers, if only with
      // QueueNotFound, but never with "no such route".
      String path = route.substring(route.indexOf(' ') + 1)
          .replace("{queue}", "openapi-absent").replace("{consumer}", "c").replace("{sequence}", "1")
          .replace("{header}", "x-death-reason");
      HttpRequest.Builder b = HttpRequest.newBuilder(server.uri(path))
          .header("Authorization", "Bearer " + TestServer.ADMIN).header("Content-Type", "application/json");
      String body = method.equals("GET") || method.equals("DELETE") ? null
          : path.endsWith("/ack") || path.endsWith("/nack") ? "{\"sequences\":[1]}"
          : path.endsWith("/seek") ? "{\"to\":\"earliest\"}"
          : path.endsWith("/threshold") ? "{\"bytes\":0}"
          : path.endsWith("/messages") ? "{\"payload\":\"p\"}" : "{}";
      b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
      // Streams never end by themselves: the status and headers are enough.
      HttpResponse<InputStream> r = server.client.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
      String text;
      try (InputStream in = r.body()) {
        text = r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream")
            ? "" : new String(in.readAllBytes());
      }
      if (r.statusCode() == 405 || text.contains("\"error\":\"NotFound\"") || r.statusCode() >= 500) {
        absent.add(route + " -> " + r.statusCode() + " " + text);
      }
    }
    assertEquals(List.of(), absent);
  }

  @Test
  void swaggersParserReadsTheDocumentWithoutAMessage() {
    ParseOptions options = new ParseOptions();
    options.setResolve(true);
    SwaggerParseResult result = new OpenAPIV3Parser().readContents(doc.toString(), null, options);
    assertEquals(List.of(), result.getMessages());
    assertNotNull(result.getOpenAPI());
    assertEquals("Spool", result.getOpenAPI().getInfo().getTitle());
  }

  @Test
  void everyOperationHasAUniqueIdAndDeclaredTags() {
    Set<String> declared = new TreeSet<>();
    for (JsonNode tag : doc.path("tags")) {
      assertTrue(tag.path("description").asText().length() > 10, "tag " + tag + " says what it groups");
      declared.add(tag.path("name").asText());
    }
    Set<String> ids = new TreeSet<>();
    List<String> problems = new ArrayList<>();
    forEachOperation((route, op) -> {
      String id = op.path("operationId").asText();
      if (id.isEmpty() || !ids.add(id)) {
        problems.add(route + ": operationId '" + id + "' missing or taken");
      }
      if (op.path("tags").isEmpty()) {
        problems.add(route + ": no tag");
      }
      op.path("tags").forEach(tag -> {
        if (!declared.contains(tag.asText())) {
          problems.add(route + ": tag " + tag + " not declared");
        }
      });
    });
    assertEquals(List.of(), problems);
  }

  /** The ticket opens the event stream only: no other operation may list its scheme. */
  @Test
  void theEventTicketIsASchemeOfTheEventStreamAlone() {
    JsonNode scheme = doc.at("/components/securitySchemes/eventTicket");
    assertEquals("apiKey", scheme.path("type").asText());
    assertEquals("query", scheme.path("in").asText());
    assertEquals("ticket", scheme.path("name").asText());
    List<String> using = new ArrayList<>();
    forEachOperation((route, op) -> op.path("security").forEach(requirement -> {
      if (requirement.has("eventTicket")) {
        using.add(route);
      }
    }));
    assertEquals(List.of("GET /api/v1/events"), using);
    assertEquals("[{\"bearer\":[]},{\"eventTicket\":[]}]", doc.at("/paths/~1api~1v1~1events/get/security").toString());
  }

  /** Every 401 names its scheme and every 429 says when to retry, as Errors sends them. */
  @Test
  void challengesAndRetryHintsAreDeclaredHeaders() {
    List<String> problems = new ArrayList<>();
    forEachOperation((route, op) -> op.path("responses").properties().forEach(status -> {
      JsonNode response = resolve(status.getValue());
      String required = switch (status.getKey()) {
        case "401" -> "WWW-Authenticate";
        case "429" -> "Retry-After";
        default -> null;
      };
      if (required != null && !response.at("/headers/" + required + "/required").asBoolean()) {
        problems.add(route + " " + status.getKey() + ": no required " + required + " header");
      }
      // Readiness answers its own 503 (a Health), never with Retry-After; every error 503 may carry it.
      if (status.getKey().equals("503") && status.getValue().has("$ref")
          && !response.at("/headers/Retry-After").isObject()) {
        problems.add(route + " 503: Retry-After not declared");
      }
    }));
    assertEquals(List.of(), problems);
  }

  /** Both streams are strings of Server-Sent Events, with every event's data schema named. */
  @Test
  void eventStreamsAreTypedAsServerSentEvents() {
    for (String pointer : List.of("/paths/~1api~1v1~1events/get/responses/200/content",
        "/paths/~1api~1v1~1queues~1{queue}~1consumers~1{consumer}~1stream/get/responses/200/content")) {
      JsonNode content = doc.at(pointer);
      assertEquals(List.of("text/event-stream"), iterate(content.fieldNames()), pointer);
      JsonNode stream = content.path("text/event-stream");
      assertEquals("string", stream.at("/schema/type").asText(), pointer);
      assertTrue(stream.path("x-events").has("end"), pointer);
      stream.path("x-events")
          .forEach(ref -> assertTrue(resolve(ref).path("properties").isObject(), pointer + " " + ref));
    }
    assertTrue(doc.at("/paths/~1api~1v1~1events/get/responses/200/content/text~1event-stream/x-events")
        .has("QueueCreated"));
    assertTrue(doc.at("/paths/~1api~1v1~1queues~1{queue}~1consumers~1{consumer}~1stream/get/responses/200/content/"
        + "text~1event-stream/x-events").has("delivery"));
  }

  private static void forEachOperation(java.util.function.BiConsumer<String, JsonNode> action) {
    for (Map.Entry<String, JsonNode> path : doc.path("paths").properties()) {
      for (Map.Entry<String, JsonNode> op : path.getValue().properties()) {
        if (!op.getKey().equals("parameters")) {
          action.accept(op.getKey().toUpperCase() + " " + path.getKey(), op.getValue());
        }
      }
    }
  }

  /** {@code node}, or what its {@code $ref} (within this document) points at. */
  private static JsonNode resolve(JsonNode node) {
    String ref = node.path("$ref").asText();
    return ref.isEmpty() ? node : doc.at(ref.substring(1));
  }

  private static List<String> iterate(Iterator<String> names) {
    List<String> out = new ArrayList<>();
    names.forEachRemaining(out::add);
    return out;
  }
}
