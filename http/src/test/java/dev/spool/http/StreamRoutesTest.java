package dev.spool.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Server-Sent Events: Spool's events, and a consumer's deliveries bounded by its prefetch. */
class StreamRoutesTest {

  private static TestServer server;

  @BeforeAll
  static void start() {
    // Frequent heartbeats: a client that hung up is noticed at the next write.
    server = TestServer.start(com.typesafe.config.ConfigFactory.parseString("spool.http.sse-heartbeat = 300ms")
        .withFallback(TestServer.tokens()));
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
  }

  /** An open event stream whose lines are collected in the background. */
  record Stream(HttpResponse<InputStream> response, List<String> lines, CompletableFuture<Void> ended)
      implements AutoCloseable {
    static Stream open(String path, String token) throws Exception {
      HttpRequest request = HttpRequest.newBuilder(server.uri(path)).header("Authorization", "Bearer " + token).build();
      HttpResponse<InputStream> response = server.client.send(request, HttpResponse.BodyHandlers.ofInputStream());
      List<String> lines = new CopyOnWriteArrayList<>();
      CompletableFuture<Void> ended = CompletableFuture.runAsync(() -> {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
          for (String line = in.readLine(); line != null; line = in.readLine()) {
            lines.add(line);
          }
        } catch (java.io.IOException closed) {
          // the test closed the stream
        }
      });
      return new Stream(response, lines, ended);
    }

    /** The data of every complete event of type {@code event}; fields of an event end at a blank line. */
    List<String> data(String event) {
      List<String> out = new java.util.ArrayList<>();
      String type = null;
      String data = null;
      for (String line : lines) {
        if (line.isEmpty()) {
          if (event.equals(type) && data != null) {
            out.add(data);
          }
          type = null;
          data = null;
        } else if (line.startsWith("event:")) {
          type = line.substring("event:".length());
        } else if (line.startsWith("data:")) {
          data = line.substring("data:".length());
        }
      }
      return out;
    }

    @Override
    public void close() throws java.io.IOException {
      response.body().close();
    }
  }

  @Test
  void eventsStreamAsServerSentEvents() throws Exception {
    try (Stream events = Stream.open("/api/v1/events", TestServer.VIEWER)) {
      assertEquals(200, events.response().statusCode());
      assertTrue(events.response().headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
      AtomicInteger n = new AtomicInteger();
      // The listener attaches as the response starts; creating queues until one is seen rules out a race.
      Awaitility.await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
        server.put("/api/v1/queues/ev-" + n.incrementAndGet(), "{\"ttl\":\"PT1M\"}");
        assertTrue(events.data("QueueCreated").stream().anyMatch(d -> d.contains("\"queue\":\"ev-")));
      });
      JsonNode created = TestServer.JSON.readTree(events.data("QueueCreated").get(0));
      assertEquals("PT1M", created.path("settings").path("ttl").asText());
      assertTrue(created.path("at").asText().contains("T"));
    }
    assertEquals(401, server.send("GET", "/api/v1/events", null, null).status());
    assertEquals(403, server.send("GET", "/api/v1/events", TestServer.PRODUCER, null).status());
  }

  @Test
  void heartbeatsAreCommentLinesNotEmptyEvents() throws Exception {
    try (Stream events = Stream.open("/api/v1/events", TestServer.VIEWER)) {
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> events.lines().stream().filter(":"::equals)
          .count() >= 2);
      List<String> lines = List.copyOf(events.lines());
      assertTrue(lines.stream().noneMatch(l -> l.equals("data:") || l.equals("data: ")),
          "no event with empty data, which EventSource would hand over as a message: " + lines);
    }
  }

  @Test
  void anEventOfSeveralLinesIsSentAsOneDataLineEach() {
    assertEquals("event:e\ndata:{\ndata:  \"a\"\ndata:}\n\n", EventStreams.encode(
        org.apache.pekko.http.javadsl.model.sse.ServerSentEvent.create("{\n \"a\"\n}", "e")).utf8String(),
        "a line starting with a space keeps it: the client drops only the one after the colon");
  }

  @Test
  void aConsumerStreamHoldsAtMostPrefetchUnacknowledgedDeliveries() throws Exception {
    server.put("/api/v1/queues/orders-stream", "{}");
    server.put("/api/v1/queues/orders-stream/consumers/pushed", "{\"prefetch\":2}");
    server.post("/api/v1/queues/orders-stream/messages", "{\"messages\":[{\"payload\":\"1\"},{\"payload\":\"2\"},"
        + "{\"payload\":\"3\"},{\"payload\":\"4\"},{\"payload\":\"5\"}]}");

    try (Stream stream = Stream.open("/api/v1/queues/orders-stream/consumers/pushed/stream", TestServer.CONSUMER)) {
      assertEquals(200, stream.response().statusCode());
      Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> stream.data("delivery").size() == 2);
      Thread.sleep(500);
      assertEquals(2, stream.data("delivery").size(), "credit is the prefetch: nothing more until an ack");
      JsonNode first = TestServer.JSON.readTree(stream.data("delivery").get(0));
      assertEquals(1, first.path("sequence").asLong());
      assertEquals("1", first.path("message").path("payload").asText());
      assertTrue(stream.lines().contains("id:1"));

      server.send("POST", "/api/v1/queues/orders-stream/consumers/pushed/ack", TestServer.CONSUMER,
          "{\"sequences\":[1,2]}");
      Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> stream.data("delivery").size() == 4);
      assertEquals(2, server.get("/api/v1/queues/orders-stream/consumers/pushed").json().path("inFlight").asInt());
    }
    // Disconnected: what the stream held unacknowledged goes back to be delivered again.
    Awaitility.await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
        assertEquals(0, server.get("/api/v1/queues/orders-stream/consumers/pushed").json().path("inFlight").asInt()));
    JsonNode again = server.post("/api/v1/queues/orders-stream/consumers/pushed/read?max=10", null).json();
    assertEquals(3, again.path("deliveries").get(0).path("sequence").asLong());

    assertEquals(404, server.get("/api/v1/queues/orders-stream/consumers/nobody/stream").status());
    assertEquals(403, server.send("GET", "/api/v1/queues/orders-stream/consumers/pushed/stream", TestServer.VIEWER,
        null).status());
  }

  @Test
  void stoppingTheServerEndsOpenStreams() throws Exception {
    try (TestServer own = TestServer.start()) {
      HttpRequest request = HttpRequest.newBuilder(own.uri("/api/v1/events"))
          .header("Authorization", "Bearer " + TestServer.ADMIN).build();
      HttpResponse<java.util.stream.Stream<String>> response =
          own.client.send(request, HttpResponse.BodyHandlers.ofLines());
      CompletableFuture<Long> lines = CompletableFuture.supplyAsync(() -> response.body().count());
      own.binding.terminate().toCompletableFuture().get(20, TimeUnit.SECONDS);
      lines.get(10, TimeUnit.SECONDS);
      assertTrue(lines.isDone());
    }
  }
}
