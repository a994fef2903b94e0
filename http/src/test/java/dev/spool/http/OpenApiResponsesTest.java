package dev.spool.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A representative flow through the whole API, every answer checked against the OpenAPI document
 * Spool serves ({@link OpenApiContract}): queues, publishing one message and a batch, browsing and
 * searching, a trace, reading, acknowledging and nacking, consumers, persistent and partitioned
 * queues, dead letters, health, history, header counts, stats, alarms, definitions with a conflict,
 * both event streams, and the errors 400, 401, 403, 404, 409, 413, 415 and 429. A status the
 * operation does not document, a missing header or a field outside its schema fails, and so does a
 * request the server took that the document would refuse.
 */
class OpenApiResponsesTest {

  private static final String QUEUE = "/api/v1/queues/orders-contract";
  private static final String CONSUMER = QUEUE + "/consumers/billing";
  private static final String TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

  private final OpenApiContract contract = OpenApiContract.shipped();
  private TestServer server;
  /** One thread per stream followed (two at most), so a stream never holds a pool's thread. */
  private final ExecutorService readers = Executors.newCachedThreadPool();

  /** The embedded SQLite journal of the persistent queues. */
  @TempDir
  Path journal;

  @Test
  void everyResponseOfTheFlowIsTheDocumentsAnswer() throws Exception {
    List<String[]> events = new CopyOnWriteArrayList<>();
    CompletableFuture<Void> eventStream;
    // Quick heartbeats and history samples: the streams show them, and alarms come from the samples.
    // Persistent queues need the embedded journal; k1 (32 zero bytes) encrypts one of them.
    try (TestServer s = TestServer.start(ConfigFactory.parseString("spool.http.sse-heartbeat = 200ms\n"
        + "spool.janitor.interval = 100ms\nspool.history.interval = 100ms\n"
        + "spool.persistence.journal-plugin = \"spool.journal.sqlite.journal\"\n"
        + "spool.persistence.snapshot-plugin = \"spool.journal.sqlite.snapshot-store\"\n"
        + "spool.journal.sqlite.path = \"" + journal.resolve("spool.db") + "\"\n"
        + "spool.encryption.keys.k1 = \"" + "A".repeat(43) + "=\"").withFallback(TestServer.tokens()))) {
      server = s;
      String ticket = expect(200, "POST", "/api/v1/events/ticket", TestServer.VIEWER, null).json()
          .path("ticket").asText();
      eventStream = follow("/api/v1/events?ticket=" + ticket, null, events, 0);
      // Idle, the stream sends heartbeats: it is open once one arrived.
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> events.stream().anyMatch(e -> e[1] == null));

      queuesAndConsumers();
      messages();
      reading();
      storageAndPartitions();
      operations();
      errors();

      Awaitility.await().atMost(Duration.ofSeconds(10))
          .until(() -> events.stream().anyMatch(e -> "DeadLettered".equals(e[0])));
      List<String[]> deliveries = new CopyOnWriteArrayList<>();
      expect(200, "POST", CONSUMER + "/seek", TestServer.CONSUMER, "{\"to\":\"earliest\"}");
      follow(CONSUMER + "/stream", TestServer.CONSUMER, deliveries, 1).get(30, TimeUnit.SECONDS);

      expect(204, "DELETE", CONSUMER, TestServer.ADMIN, null);
      expect(204, "DELETE", QUEUE, TestServer.ADMIN, null);
      for (String[] d : deliveries) {
        if (d[1] != null) {
          contract.checkEvent("/api/v1/queues/{queue}/consumers/{consumer}/stream", String.valueOf(d[0]), d[1]);
        }
      }
      assertTrue(deliveries.stream().anyMatch(d -> "delivery".equals(d[0])));
    }
    // The server's stop ends the event stream with its end event.
    eventStream.get(30, TimeUnit.SECONDS);
    for (String[] e : events) {
      if (e[1] != null) {
        contract.checkEvent("/api/v1/events", String.valueOf(e[0]), e[1]);
      }
    }
    assertTrue(events.stream().anyMatch(e -> "QueueCreated".equals(e[0])), "events seen: " + events.size());
    assertEquals("end", events.get(events.size() - 1)[0]);
    assertEquals(List.of(), contract.violations());
  }

  @AfterEach
  void stopReaders() {
    readers.shutdownNow();
  }

  private void queuesAndConsumers() {
    expect(201, "PUT", "/api/v1/queues/orders-contract-dlq", TestServer.ADMIN, "{}");
    String settings = "{\"durability\":\"transient\",\"ttl\":\"PT1H\",\"retention\":\"PT0S\",\"dedupWindow\":\"PT5M\","
        + "\"maxLength\":1000,\"overflow\":\"reject\","
        + "\"deadLetter\":{\"queue\":\"orders-contract-dlq\",\"maxDeliveries\":3}}";
    expect(201, "PUT", QUEUE, TestServer.ADMIN, settings);
    expect(200, "PUT", QUEUE, TestServer.ADMIN, settings);
    expect(200, "GET", "/api/v1/queues", TestServer.VIEWER, null);
    expect(200, "GET", QUEUE, TestServer.VIEWER, null);
    String consumer = "{\"prefetch\":10,\"ackTimeout\":\"PT30S\",\"maxDeliveries\":5,\"inactiveTimeout\":\"PT24H\","
        + "\"backoff\":{\"initial\":\"PT0.1S\",\"max\":\"PT1S\",\"multiplier\":2.0,\"jitter\":0.1}}";
    expect(201, "PUT", CONSUMER, TestServer.CONSUMER, consumer);
    expect(200, "PUT", CONSUMER, TestServer.CONSUMER, consumer);
    expect(201, "PUT", QUEUE + "/consumers/audit", TestServer.CONSUMER,
        "{\"startAt\":\"latest\",\"ackMode\":\"none\","
            + "\"filter\":{\"type\":\"order.created\",\"headers\":{\"region\":\"eu\"}}}");
    expect(200, "GET", QUEUE + "/consumers", TestServer.VIEWER, null);
    expect(200, "GET", CONSUMER, TestServer.VIEWER, null);
  }

  private void messages() {
    HttpRequest traced = HttpRequest.newBuilder(server.uri(QUEUE + "/messages"))
        .header("Authorization", "Bearer " + TestServer.PRODUCER).header("Content-Type", "application/json")
        .header("traceparent", TRACEPARENT)
        .POST(HttpRequest.BodyPublishers.ofString(
            "{\"type\":\"order.created\",\"key\":\"k1\",\"headers\":{\"region\":\"eu\"},\"payload\":\"one\"}"))
        .build();
    TestServer.Response one = server.send(traced);
    contract.check("POST", QUEUE + "/messages", one);
    assertEquals(201, one.status(), one.body());
    expect(201, "POST", QUEUE + "/messages", TestServer.PRODUCER, "{\"messages\":["
        + "{\"type\":\"order.created\",\"headers\":{\"region\":\"us\"},\"payload\":\"two\"},"
        + "{\"type\":\"order.paid\",\"contentType\":\"application/octet-stream\",\"payloadBase64\":\"AAEC\"},"
        + "{\"type\":\"order.paid\",\"id\":\"0b7e5f6e-3a59-4f9a-9d0c-6a4f0a0c2a11\",\"ttl\":\"PT10M\","
        + "\"contentType\":\"application/json\",\"payload\":\"{\\\"total\\\":3}\"}]}");
    expect(200, "GET", QUEUE + "/messages?from=1&limit=10", TestServer.VIEWER, null);
    expect(200, "GET", QUEUE + "/browse", TestServer.VIEWER, null);
    expect(200, "GET", QUEUE + "/browse?direction=backward&limit=2", TestServer.VIEWER, null);
    expect(200, "GET", QUEUE + "/browse?type=order.created&header=region:eu&since=0", TestServer.VIEWER, null);
    expect(200, "GET", QUEUE + "/headers/region", TestServer.VIEWER, null);
    expect(200, "GET", QUEUE + "/messages/1", TestServer.VIEWER, null);
  }

  private void reading() {
    TestServer.Response read = expect(200, "POST", CONSUMER + "/read?max=3&wait=PT1S", TestServer.CONSUMER, null);
    assertEquals(3, read.json().path("deliveries").size(), read.body());
    expect(200, "POST", CONSUMER + "/ack", TestServer.CONSUMER, "{\"sequences\":[1,1,99]}");
    expect(200, "POST", CONSUMER + "/ack", TestServer.CONSUMER, "{\"upTo\":1}");
    expect(200, "POST", CONSUMER + "/nack", TestServer.CONSUMER, "{\"sequences\":[2],\"requeue\":false}");
    expect(200, "POST", CONSUMER + "/nack", TestServer.CONSUMER, "{\"sequences\":[3]}");
    expect(200, "GET", QUEUE + "/messages/2", TestServer.VIEWER, null);
    expect(200, "GET", QUEUE + "/messages/3", TestServer.VIEWER, null);
    expect(200, "POST", CONSUMER + "/pause", TestServer.CONSUMER, null);
    expect(200, "POST", CONSUMER + "/resume", TestServer.CONSUMER, null);
    expect(200, "GET", CONSUMER, TestServer.VIEWER, null);
  }

  /** A persistent, encrypted queue, a partitioned one read partition by partition, and the dead letters. */
  private void storageAndPartitions() {
    expect(201, "PUT", "/api/v1/queues/orders-durable", TestServer.ADMIN,
        "{\"durability\":\"persistent\",\"compression\":\"zstd\",\"retention\":\"P1D\","
            + "\"encryption\":{\"keyId\":\"k1\"}}");
    expect(201, "POST", "/api/v1/queues/orders-durable/messages", TestServer.PRODUCER, "{\"payload\":\"kept\"}");
    expect(200, "GET", "/api/v1/queues/orders-durable/messages/1", TestServer.VIEWER, null);
    expect(201, "PUT", "/api/v1/queues/orders-parted", TestServer.ADMIN, "{\"partitions\":2}");
    expect(201, "POST", "/api/v1/queues/orders-parted/messages", TestServer.PRODUCER,
        "{\"messages\":[{\"key\":\"a\",\"payload\":\"1\"},{\"key\":\"b\",\"payload\":\"2\"}]}");
    expect(200, "GET", "/api/v1/queues/orders-parted", TestServer.VIEWER, null);
    expect(200, "GET", "/api/v1/queues/orders-parted%230", TestServer.VIEWER, null);
    expect(200, "GET", "/api/v1/queues/orders-parted%231/browse", TestServer.VIEWER, null);
    expect(200, "GET", "/api/v1/queues/orders-parted/health", TestServer.VIEWER, null);
    expect(200, "GET", "/api/v1/queues/orders-parted/history", TestServer.VIEWER, null);
    expect(200, "GET", "/api/v1/queues/orders-contract-dlq/messages/1", TestServer.VIEWER, null);
    expect(200, "GET", "/api/v1/queues/orders-contract-dlq/headers/x-death-reason", TestServer.VIEWER, null);
    expect(200, "GET", "/api/v1/queues/orders-contract-dlq/health", TestServer.VIEWER, null);
  }

  private void operations() {
    expect(200, "GET", QUEUE + "/health", TestServer.VIEWER, null);
    expect(200, "GET", QUEUE + "/history", TestServer.VIEWER, null);
    expect(200, "GET", QUEUE + "/history?after=0", TestServer.VIEWER, null);
    expect(200, "GET", "/api/v1/health", TestServer.VIEWER, null);
    expect(200, "GET", "/api/v1/stats/memory", TestServer.VIEWER, null);
    expect(200, "GET", "/api/v1/stats/lag", TestServer.VIEWER, null);
    expect(200, "PUT", "/api/v1/stats/memory/threshold", TestServer.ADMIN, "{\"bytes\":0}");
    expect(200, "POST", "/api/v1/gc", TestServer.ADMIN, null);
    expect(200, "GET", "/api/v1/consumers/stale?idle=PT0S", TestServer.VIEWER, null);
    expect(200, "POST", "/api/v1/consumers/stale/cleanup", TestServer.ADMIN,
        "{\"lagThreshold\":1000000,\"idle\":\"PT24H\"}");
    expect(200, "GET", "/api/v1/cluster", TestServer.VIEWER, null);
    expect(200, "GET", "/api/v1/whoami", TestServer.PRODUCER, null);
    String definitions = expect(200, "GET", "/api/v1/definitions", TestServer.ADMIN, null).body();
    expect(200, "POST", "/api/v1/definitions", TestServer.ADMIN, definitions);
    expect(200, "POST", "/api/v1/queues/orders-contract-dlq/redrive", TestServer.ADMIN, "{\"from\":1,\"to\":10}");
    expect(200, "GET", "/health/live", null, null);
    expect(200, "GET", "/health/ready", null, null);
    expect(200, "GET", "/metrics", TestServer.VIEWER, null);
    expect(200, "GET", "/api/v1/openapi.json", null, null);
  }

  private void errors() {
    TestServer.Response anonymous = expect(401, "GET", "/api/v1/queues", null, null);
    assertEquals("Bearer realm=\"spool\"", anonymous.header("WWW-Authenticate"));
    expect(401, "GET", "/api/v1/queues", "not-a-token", null);
    expect(401, "GET", "/api/v1/events?ticket=used-or-never-issued", null, null);
    expect(403, "PUT", "/api/v1/queues/orders-forbidden", TestServer.VIEWER, "{}");
    expect(403, "DELETE", CONSUMER, TestServer.CONSUMER, null);
    expect(404, "GET", "/api/v1/queues/orders-absent", TestServer.VIEWER, null);
    expect(404, "GET", QUEUE + "/consumers/absent", TestServer.VIEWER, null);
    expect(404, "GET", QUEUE + "/messages/999", TestServer.VIEWER, null);
    expect(404, "POST", "/api/v1/queues/orders-absent/messages", TestServer.PRODUCER, "{\"payload\":\"x\"}");
    expect(409, "PUT", QUEUE, TestServer.ADMIN, "{\"maxLength\":5}");
    expect(409, "PUT", CONSUMER, TestServer.CONSUMER, "{\"prefetch\":11}");
    expect(400, "PUT", "/api/v1/queues/orders-bad-ttl", TestServer.ADMIN, "{\"ttl\":\"30 seconds\"}");
    expect(400, "PUT", "/api/v1/queues/orders-bad-field", TestServer.ADMIN, "{\"maxlength\":5}");
    expect(400, "POST", CONSUMER + "/ack", TestServer.CONSUMER, "{\"sequences\":[1],\"upTo\":2}");
    expect(400, "POST", CONSUMER + "/read?max=0", TestServer.CONSUMER, null);
    expect(400, "GET", QUEUE + "/browse?direction=sideways", TestServer.VIEWER, null);
    expect(400, "POST", QUEUE + "/messages", TestServer.PRODUCER, "");

    expect(201, "PUT", "/api/v1/queues/orders-small", TestServer.ADMIN, "{\"maxLength\":1,\"maxBytes\":1000}");
    expect(413, "POST", "/api/v1/queues/orders-small/messages", TestServer.PRODUCER,
        "{\"payload\":\"" + "x".repeat(2000) + "\"}");
    expect(201, "POST", "/api/v1/queues/orders-small/messages", TestServer.PRODUCER, "{\"payload\":\"first\"}");
    TestServer.Response full = expect(429, "POST", "/api/v1/queues/orders-small/messages", TestServer.PRODUCER,
        "{\"payload\":\"second\"}");
    assertNotNull(full.header("Retry-After"));
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> expect(200, "GET", "/api/v1/health",
        TestServer.VIEWER, null).body().contains("\"kind\":\"refused\""));
    TestServer.Response conflict = expect(200, "POST", "/api/v1/definitions", TestServer.ADMIN,
        "{\"queues\":[{\"name\":\"orders-small\",\"settings\":{\"maxLength\":2}}]}");
    assertEquals(1, conflict.json().path("refused").size(), conflict.body());

    HttpRequest notJson = HttpRequest.newBuilder(server.uri(QUEUE + "/messages"))
        .header("Authorization", "Bearer " + TestServer.PRODUCER).header("Content-Type", "text/plain")
        .POST(HttpRequest.BodyPublishers.ofString("hello")).build();
    TestServer.Response unsupported = server.send(notJson);
    contract.check("POST", QUEUE + "/messages", unsupported);
    assertEquals(415, unsupported.status(), unsupported.body());
  }

  /**
   * Sends the request, checks its answer (and, if it was taken, the request) against the document,
   * and expects {@code status}.
   */
  private TestServer.Response expect(int status, String method, String target, String token, String body) {
    TestServer.Response r = server.send(method, target, token, body);
    contract.check(method, target, r);
    if (r.status() < 300) {
      contract.checkAccepted(method, target, token, body);
    }
    assertEquals(status, r.status(), method + " " + target + ": " + r.body());
    return r;
  }

  /**
   * Follows a Server-Sent Event stream in the background, adding each event as {name, data} and
   * each heartbeat (no name, empty data) as {null, null}; once {@code stopAfter} named events
   * (0: never) arrived, it hangs up.
   */
  private CompletableFuture<Void> follow(String target, String token, List<String[]> events, int stopAfter) {
    HttpRequest.Builder b = HttpRequest.newBuilder(server.uri(target)).GET();
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    // Read on a thread of its own: thenAccept on an answer already in would read an endless stream on
    // the test's thread, and the test would never go on.
    return server.client.sendAsync(b.build(), HttpResponse.BodyHandlers.ofInputStream()).thenAcceptAsync(response -> {
      assertEquals(200, response.statusCode(), target);
      assertTrue(response.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"), target);
      try (InputStream in = response.body();
          BufferedReader lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
        String name = null;
        List<String> data = new ArrayList<>();
        int named = 0;
        for (String line = lines.readLine(); line != null; line = lines.readLine()) {
          if (line.startsWith("event:")) {
            name = line.substring("event:".length()).trim();
          } else if (line.startsWith("data:")) {
            data.add(line.substring("data:".length()).trim());
          } else if (line.isEmpty() && name == null && String.join("", data).isEmpty()) {
            events.add(new String[] {null, null});
            data.clear();
          } else if (line.isEmpty()) {
            events.add(new String[] {name, String.join("\n", data)});
            name = null;
            data.clear();
            if (events.get(events.size() - 1)[0] != null && ++named == stopAfter) {
              return;
            }
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }, readers);
  }
}
