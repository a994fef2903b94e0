package dev.spool.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.http.TestServer;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The console's files and the event stream's ticket: the page, its scripts and Chart.js are served
 * with the strict CSP, and {@code GET /api/v1/events} alone takes a single-use ticket instead of
 * the Authorization header, which no other route accepts.
 */
class ConsoleRoutesTest {

  private static TestServer server;

  @BeforeAll
  static void start() {
    server = TestServer.start();
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
  }

  @Test
  void thePageLoadsOnlyItsOwnScriptsUnderTheStrictPolicy() {
    TestServer.Response page = server.send("GET", "/", null, null);
    assertEquals(200, page.status());
    assertTrue(page.body().contains("src=\"/console/app.js\""), page.body());
    assertFalse(page.body().matches("(?s).*<script>.*"), "no inline script: the CSP forbids it");
    assertTrue(page.header("Content-Security-Policy").startsWith("default-src 'self'"));

    for (String file : new String[] {"/console/app.js", "/console/api.js", "/console/dom.js", "/console/vendor/chart.umd.js"}) {
      TestServer.Response js = server.send("GET", file, null, null);
      assertEquals(200, js.status(), file);
      assertTrue(js.header("Content-Type").contains("javascript"), file + ": " + js.header("Content-Type"));
    }
    assertTrue(server.send("GET", "/console/vendor/chart.umd.js", null, null).body().contains("Chart.js v4.4.1"),
        "the WebJar's version and ApiRoutes.CHART_JS agree");
    assertEquals(200, server.send("GET", "/console/console.css", null, null).status());
    assertEquals(404, server.send("GET", "/console/missing.js", null, null).status());
  }

  @Test
  void aTicketOpensTheEventStreamOnce() throws Exception {
    assertEquals(401, server.send("POST", "/api/v1/events/ticket", null, null).status());
    TestServer.Response issued = server.send("POST", "/api/v1/events/ticket", TestServer.VIEWER, null);
    assertEquals(200, issued.status(), issued.body());
    String ticket = issued.json().path("ticket").asText();
    assertEquals(30_000, issued.json().path("expiresInMs").asLong());

    HttpResponse<InputStream> stream = openEvents("?ticket=" + ticket);
    try (InputStream body = stream.body()) {
      assertEquals(200, stream.statusCode());
      assertTrue(stream.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
    }

    TestServer.Response again = server.send("GET", "/api/v1/events?ticket=" + ticket, null, null);
    assertEquals(401, again.status(), "a ticket is used up by the first connection");
    assertTrue(again.json().path("message").asText().contains("POST /api/v1/events/ticket"), again.body());
    assertEquals(401, server.send("GET", "/api/v1/events?ticket=made-up", null, null).status());
  }

  @Test
  void noOtherRouteTakesATicketOrATokenInTheQuery() {
    String ticket = server.send("POST", "/api/v1/events/ticket", TestServer.ADMIN, null).json().path("ticket").asText();
    assertEquals(401, server.send("GET", "/api/v1/queues?ticket=" + ticket, null, null).status());
    assertEquals(401, server.send("GET", "/api/v1/events?token=" + TestServer.ADMIN, null, null).status());
    assertEquals(401, server.send("GET", "/api/v1/events?access_token=" + TestServer.ADMIN, null, null).status());
  }

  @Test
  void theStreamStillTakesTheBearerHeader() throws Exception {
    HttpResponse<InputStream> stream = server.client.send(HttpRequest.newBuilder(server.uri("/api/v1/events"))
        .header("Authorization", "Bearer " + TestServer.VIEWER).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofInputStream());
    try (InputStream body = stream.body()) {
      assertEquals(200, stream.statusCode());
    }
  }

  private static HttpResponse<InputStream> openEvents(String query) throws Exception {
    // The answer arrives with its headers; the body is an endless stream, closed unread.
    return server.client.send(HttpRequest.newBuilder(server.uri("/api/v1/events" + query))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofInputStream());
  }
}
