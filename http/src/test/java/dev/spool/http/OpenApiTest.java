package dev.spool.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
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

/** {@code GET /api/v1/openapi.json} describes the whole API: every contract route, and only routes that exist. */
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
}
