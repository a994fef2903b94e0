package dev.spool.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The edges of the API: reads while stopping, how event streams end on the wire, empty and
 * ill-formed bodies, and oversized heads. Each refusal is in the error shape with the security
 * headers, and changes nothing.
 */
class EdgesTest {

  private static TestServer server;

  @BeforeAll
  static void start() {
    server = TestServer.start();
    server.put("/api/v1/queues/orders-edges", "{}");
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
  }

  private static long lastSequence(TestServer on, String queue) {
    return on.get("/api/v1/queues/" + queue).json().path("stats").path("lastSequence").asLong();
  }

  private static void assertRefused(int status, String error, RawHttp.Response r) throws Exception {
    assertEquals(status, r.status(), r.body());
    assertEquals(error, TestServer.JSON.readTree(r.body()).path("error").asText(), r.body());
    assertEquals("DENY", r.header("X-Frame-Options"));
    assertEquals("no-store", r.header("Cache-Control"));
  }

  @Test
  void anEmptyPublishIsRefusedAndPublishesNothing() throws Exception {
    long before = lastSequence(server, "orders-edges");
    try (RawHttp c = RawHttp.connect(server.binding.port())) {
      assertRefused(400, "InvalidConfiguration",
          c.exchange("POST", "/api/v1/queues/orders-edges/messages", TestServer.PRODUCER, new byte[0]));
      // Without a Content-Type or a Content-Length, too.
      c.write("POST /api/v1/queues/orders-edges/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
          + TestServer.PRODUCER + "\r\nContent-Length: 0\r\n\r\n");
      RawHttp.Response bare = c.read();
      assertRefused(400, "InvalidConfiguration", bare);
      assertTrue(bare.body().contains("empty"), bare.body());
    }
    assertEquals(before, lastSequence(server, "orders-edges"));
    // An object is a message (with an empty payload): only no body at all is refused.
    assertEquals(201, server.send("POST", "/api/v1/queues/orders-edges/messages", TestServer.PRODUCER, "{}").status());
  }

  @Test
  void bodiesThatAreNotWellFormedUtf8OrHoldLoneSurrogatesAreRefused() throws Exception {
    long before = lastSequence(server, "orders-edges");
    byte[][] refused = {
        bytes("{\"payload\":\"a", 0xC0, 0x80, "b\"}"),               // overlong NUL
        bytes("{\"payload\":\"", 0xE0, 0x80, 0xAF, "\"}"),           // overlong '/'
        bytes("{\"payload\":\"", 0xE2, 0x82, "\"}"),                 // truncated euro sign
        bytes("{\"payload\":\"", 0xED, 0xA0, 0x80, "\"}"),           // an encoded surrogate
        bytes("{\"payload\":\"", 0xF4, 0x90, 0x80, 0x80, "\"}"),     // above U+10FFFF
        bytes("{\"payload\":\"", 0xFF, "\"}"),                       // never UTF-8
        bytes("{\"payload\":\"", 0xE2, 0x82),                        // truncated at the end
        ascii("{\"payload\":\"\\ud800\"}"),                          // a lone high surrogate
        ascii("{\"payload\":\"x\\udc00\"}"),                         // a lone low surrogate
        ascii("{\"payload\":\"\\udc00\\ud800\"}"),                   // a pair in the wrong order
        ascii("{\"type\":\"\\ud800\"}"),
        ascii("{\"headers\":{\"\\ud800\":\"v\"}}"),                  // in a header's name
        ascii("{\"messages\":[{\"payload\":\"ok\"},{\"key\":\"\\udbff\"}]}"),
    };
    try (RawHttp c = RawHttp.connect(server.binding.port())) {
      for (byte[] body : refused) {
        RawHttp.Response r = c.exchange("POST", "/api/v1/queues/orders-edges/messages", TestServer.PRODUCER, body);
        assertRefused(400, "InvalidConfiguration", r);
      }
    }
    assertEquals(before, lastSequence(server, "orders-edges"), "nothing was published");

    // Well-formed text of every width passes, and comes back as it was sent.
    String text = "a\u00e9\u20ac\ud83d\ude00";
    byte[] valid = ("{\"payload\":\"" + text + "\\ud83d\\ude00\"}").getBytes(StandardCharsets.UTF_8);
    try (RawHttp c = RawHttp.connect(server.binding.port())) {
      assertEquals(201, c.exchange("POST", "/api/v1/queues/orders-edges/messages", TestServer.PRODUCER, valid).status());
    }
    long sequence = lastSequence(server, "orders-edges");
    JsonNode stored = server.get("/api/v1/queues/orders-edges/messages?from=" + sequence + "&limit=1").json().get(0);
    assertEquals(text + "\ud83d\ude00", stored.path("payload").asText());
  }

  @Test
  void tooManyOrTooLongHeadersAre431() throws Exception {
    StringBuilder many = new StringBuilder("GET /api/v1/queues HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for (int i = 0; i < 10_000; i++) {
      many.append("X-Filler-").append(i).append(": v\r\n");
    }
    many.append("\r\n");
    try (RawHttp c = RawHttp.connect(server.binding.port())) {
      c.write(many.toString());
      assertRefused(431, "HeadersTooLarge", c.read());
    }
    try (RawHttp c = RawHttp.connect(server.binding.port())) {
      c.write("GET /api/v1/queues HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Long: " + "v".repeat(20_000) + "\r\n\r\n");
      assertRefused(431, "HeadersTooLarge", c.read());
    }
    try (RawHttp c = RawHttp.connect(server.binding.port())) {
      c.write("GET /api/v1/queues HTTP/1.1\r\nHost: 127.0.0.1\r\nX-" + "n".repeat(200) + ": v\r\n\r\n");
      assertRefused(431, "HeadersTooLarge", c.read());
    }
    // A malformed header line is still a 400, not a 431.
    try (RawHttp c = RawHttp.connect(server.binding.port())) {
      c.write("GET /api/v1/queues HTTP/1.1\r\nHost: 127.0.0.1\r\nNo colon here\r\n\r\n");
      RawHttp.Response r = c.read();
      assertEquals(400, r.status(), r.body());
    }
  }

  @Test
  void readsWhileStoppingAre503NotAnEmptyList() throws Exception {
    try (TestServer own = TestServer.start()) {
      own.put("/api/v1/queues/stopping", "{}");
      own.put("/api/v1/queues/stopping/consumers/c", "{}");
      try (RawHttp polling = RawHttp.connect(own.binding.port());
          RawHttp later = RawHttp.connect(own.binding.port())) {
        assertEquals(200, later.get("/health/live", null).status(), "a kept-alive connection from before the stop");
        // A long-poll waiting when the stop begins.
        polling.write(RawHttp.request("POST", "/api/v1/queues/stopping/consumers/c/read?wait=PT3S", TestServer.ADMIN,
            null, 0));
        CompletableFuture<RawHttp.Response> waiting = CompletableFuture.supplyAsync(() -> {
          try {
            return polling.read();
          } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        });
        // The port closes first (CoordinatedShutdown's service-unbind): connections stay, the service is stopping.
        own.binding.unbind().toCompletableFuture().get(10, TimeUnit.SECONDS);

        assertRefused(503, "ShuttingDown",
            later.exchange("POST", "/api/v1/queues/stopping/consumers/c/read", TestServer.ADMIN, null));
        assertRefused(503, "ShuttingDown",
            later.exchange("POST", "/api/v1/queues/stopping/consumers/c/read?wait=PT5S", TestServer.ADMIN, null));
        assertRefused(503, "ShuttingDown", later.get("/api/v1/queues/stopping/messages", TestServer.ADMIN));
        assertRefused(503, "ShuttingDown", later.get("/api/v1/queues/stopping/consumers/c/stream", TestServer.ADMIN));
        assertEquals(200, later.get("/api/v1/queues/stopping", TestServer.ADMIN).status(), "other reads answer");

        RawHttp.Response waited = waiting.get(20, TimeUnit.SECONDS);
        assertRefused(503, "ShuttingDown", waited);
      }
    }
  }

  @Test
  void eventStreamsEndWithAnEndEventAndAnOrderlyClose() throws Exception {
    try (TestServer own = TestServer.start(ConfigFactory.parseString("spool.http.sse-heartbeat = 300ms")
        .withFallback(TestServer.tokens()))) {
      own.put("/api/v1/queues/orders-sse", "{}");
      own.put("/api/v1/queues/orders-sse/consumers/pushed", "{}");
      try (RawHttp events = RawHttp.connect(own.binding.port());
          RawHttp deliveries = RawHttp.connect(own.binding.port())) {
        events.write(RawHttp.request("GET", "/api/v1/events", TestServer.ADMIN, null, -1));
        deliveries.write(RawHttp.request("GET", "/api/v1/queues/orders-sse/consumers/pushed/stream", TestServer.ADMIN,
            null, -1));
        CompletableFuture<RawHttp.Response> eventsEnd = readAsync(events);
        CompletableFuture<RawHttp.Response> deliveriesEnd = readAsync(deliveries);
        own.post("/api/v1/queues/orders-sse/messages", "{\"payload\":\"" + "d".repeat(1024) + "\"}");
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5))
            .until(() -> own.get("/api/v1/queues/orders-sse/consumers/pushed").json().path("inFlight").asInt() == 1);

        own.binding.terminate().toCompletableFuture().get(20, TimeUnit.SECONDS);

        for (CompletableFuture<RawHttp.Response> ended : java.util.List.of(eventsEnd, deliveriesEnd)) {
          RawHttp.Response r = ended.get(10, TimeUnit.SECONDS);
          assertEquals(200, r.status());
          assertEquals("chunked", r.header("Transfer-Encoding"));
          // The last event says why, and the chunked body ends with its terminator (read() got there).
          String body = r.body().replace("\r\n", "\n");
          assertTrue(body.endsWith("event:end\ndata:{\"reason\":\"shutdown\"}\n\n")
              || body.endsWith("data:{\"reason\":\"shutdown\"}\nevent:end\n\n"), body);
          assertTrue(r.raw().endsWith("0\r\n\r\n"), "chunked terminator");
        }
        assertTrue(deliveriesEnd.get().body().contains("event:delivery"), "the delivery came before the end");
        // Then the server closes the connection in order: FIN, not a reset.
        assertEquals("FIN", events.awaitEnd());
        assertEquals("FIN", deliveries.awaitEnd());
      }
    }
  }

  private static CompletableFuture<RawHttp.Response> readAsync(RawHttp connection) {
    return CompletableFuture.supplyAsync(() -> {
      try {
        return connection.read();
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
  }

  private static byte[] ascii(String text) {
    return text.getBytes(StandardCharsets.US_ASCII);
  }

  /** Text and raw byte values, in order. */
  private static byte[] bytes(Object... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (Object part : parts) {
      if (part instanceof String s) {
        out.writeBytes(s.getBytes(StandardCharsets.US_ASCII));
      } else {
        out.write((Integer) part);
      }
    }
    return out.toByteArray();
  }
}
