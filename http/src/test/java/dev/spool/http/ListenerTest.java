package dev.spool.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * The listener under connection floods, on real loopback sockets: idle connections and slowloris
 * clients must not keep health checks out, a stalled head gets 408, one client address cannot take
 * every connection, and the API works again once the flood is gone. Other 127.x addresses stand in
 * for other clients.
 */
class ListenerTest {

  private static final String QUEUE_BODY = "{\"payload\":\"" + "p".repeat(1024) + "\"}";

  /** The head of a request that never completes: a slowloris client adds one header line at a time. */
  private static final String SLOW_HEAD = "GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n";

  @Test
  void twoThousandIdleConnectionsAndASlowlorisDoNotKeepHealthOut() throws Exception {
    int flood = 2000;
    long fdLimit = fdLimit();
    // Both ends of every connection live in this JVM: two descriptors per connection, plus the JVM's own.
    org.junit.jupiter.api.Assumptions.assumeTrue(fdLimit < 0 || fdLimit > 2L * flood + 1000,
        "the open-file limit (" + fdLimit + ") is too low for " + flood + " connections");
    try (TestServer server = TestServer.start(ConfigFactory.parseString(
            "spool.http.connections { header-timeout = 3s }").withFallback(TestServer.tokens()));
        Flood idle = new Flood()) {
      int port = server.binding.port();
      long floodStart = System.nanoTime();
      // Ten addresses of 200 each: under the per-client limit, so that the global bound is what holds.
      for (int i = 0; i < flood; i++) {
        idle.add(RawHttp.connect("127.0.0." + (10 + i % 10), port));
      }
      System.out.println(flood + " idle connections opened in "
          + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - floodStart) + " ms");
      RawHttp slowloris = idle.add(RawHttp.connect("127.0.0.9", port));
      slowloris.write(SLOW_HEAD);
      long slowStart = System.nanoTime();
      CompletableFuture<RawHttp.Response> slowAnswer = CompletableFuture.supplyAsync(() -> trickle(slowloris));
      // The slowloris came last: once its head is being read, the server has taken in the whole flood
      // (the kernel's accept queue is first come, first served).
      Awaitility.await().atMost(Duration.ofSeconds(30))
          .until(() -> server.binding.openConnections(ConnectionGuard.Phase.HEAD) == 1);

      // Each probe on a new connection, while the flood is held and the slowloris trickles.
      List<Long> probeMillis = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        long start = System.nanoTime();
        try (RawHttp probe = RawHttp.connect(port)) {
          probe.socket.setSoTimeout(1000);
          RawHttp.Response live = probe.get("/health/live", null);
          assertEquals(200, live.status(), live.body());
        }
        probeMillis.add(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
      }
      System.out.println("health under a flood of " + flood + " idle connections: " + probeMillis + " ms");
      assertTrue(probeMillis.stream().allMatch(ms -> ms < 1000), probeMillis.toString());

      RawHttp.Response timedOut = slowAnswer.get(10, TimeUnit.SECONDS);
      long slowMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - slowStart);
      System.out.println("slowloris answered " + timedOut.status() + " after " + slowMillis + " ms");
      assertEquals(408, timedOut.status(), timedOut.body());
      assertEquals("close", timedOut.header("Connection"));
      assertEquals("DENY", timedOut.header("X-Frame-Options"));
      assertTrue(TestServer.JSON.readTree(timedOut.body()).path("error").asText().equals("RequestTimeout"));
      assertTrue(slowMillis >= 2500 && slowMillis < 5000, "408 after " + slowMillis + " ms, header-timeout 3 s");
      assertEquals("FIN", slowloris.awaitEnd());

      assertTrue(server.binding.openConnections() <= 1024 + 32, "open: " + server.binding.openConnections());
      idle.close();
      Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> server.binding.openConnections() == 0);

      // The flood gone, the API as usual.
      assertEquals(201, server.put("/api/v1/queues/after-flood", "{}").status());
      assertEquals(201, server.post("/api/v1/queues/after-flood/messages", QUEUE_BODY).status());
      assertEquals(1, server.get("/api/v1/queues/after-flood").json().path("stats").path("lastSequence").asLong());
    }
  }

  @Test
  void withNoIdleConnectionToReplaceANewOneServesHealthOnly() throws Exception {
    try (TestServer server = TestServer.start(ConfigFactory.parseString(
            "spool.http.connections { max = 4, health-reserve = 2, header-timeout = 5s }")
            .withFallback(TestServer.tokens()));
        Flood busy = new Flood()) {
      int port = server.binding.port();
      // Four heads in progress: busy, so none is replaced.
      for (int i = 0; i < 4; i++) {
        busy.add(RawHttp.connect("127.0.0." + (20 + i), port)).write(SLOW_HEAD);
      }
      Awaitility.await().atMost(Duration.ofSeconds(5))
          .until(() -> server.binding.openConnections(ConnectionGuard.Phase.HEAD) == 4);

      try (RawHttp health = RawHttp.connect(port)) {
        RawHttp.Response live = health.get("/health/live", null);
        assertEquals(200, live.status());
        assertEquals("close", live.header("Connection"), "a reserve connection serves one request");
        assertEquals("FIN", health.awaitEnd());
      }
      try (RawHttp api = RawHttp.connect(port)) {
        RawHttp.Response refused = api.get("/api/v1/queues", TestServer.ADMIN);
        assertEquals(503, refused.status(), refused.body());
        assertEquals("TooManyConnections", TestServer.JSON.readTree(refused.body()).path("error").asText());
        assertEquals("1", refused.header("Retry-After"));
        assertEquals("nosniff", refused.header("X-Content-Type-Options"));
        assertEquals("FIN", api.awaitEnd());
      }
      // A reserve connection that sends nothing makes room for the next one rather than keeping it out.
      RawHttp silent1 = busy.add(RawHttp.connect(port));
      RawHttp silent2 = busy.add(RawHttp.connect(port));
      Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> server.binding.openConnections() == 6);
      try (RawHttp health = RawHttp.connect(port)) {
        assertEquals(200, health.get("/health/live", null).status());
      }
      assertEquals("FIN", silent1.awaitEnd(), "the oldest silent reserve connection was replaced");
      assertNotEquals("RESET", silent2.awaitEnd());
    }
  }

  @Test
  void pastTheReserveANewConnectionClosesAtOnce() throws Exception {
    try (TestServer server = TestServer.start(ConfigFactory.parseString(
            "spool.http.connections { max = 2, health-reserve = 0 }").withFallback(TestServer.tokens()));
        Flood busy = new Flood()) {
      for (int i = 0; i < 2; i++) {
        busy.add(RawHttp.connect("127.0.0." + (40 + i), server.binding.port())).write(SLOW_HEAD);
      }
      Awaitility.await().atMost(Duration.ofSeconds(5))
          .until(() -> server.binding.openConnections(ConnectionGuard.Phase.HEAD) == 2);
      try (RawHttp third = RawHttp.connect(server.binding.port())) {
        third.socket.setSoTimeout(2000);
        String end = third.awaitEnd();
        assertTrue(end.equals("FIN") || end.equals("RESET"), end);
      }
      assertEquals(2, server.binding.openConnections());
    }
  }

  @Test
  void oneClientAddressCannotTakeEveryConnection() throws Exception {
    try (TestServer server = TestServer.start(ConfigFactory.parseString(
            "spool.http.connections { per-client = 4 }").withFallback(TestServer.tokens()));
        Flood own = new Flood()) {
      int port = server.binding.port();
      for (int i = 0; i < 4; i++) {
        own.add(RawHttp.connect("127.0.0.30", port));
      }
      Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> server.binding.openConnections() == 4);
      try (RawHttp fifth = RawHttp.connect("127.0.0.30", port)) {
        RawHttp.Response refused = fifth.get("/api/v1/queues", TestServer.ADMIN);
        assertEquals(429, refused.status(), refused.body());
        assertEquals("TooManyConnections", TestServer.JSON.readTree(refused.body()).path("error").asText());
        assertTrue(refused.body().contains("4 connections"), refused.body());
        assertEquals("close", refused.header("Connection"));
        assertEquals("FIN", fifth.awaitEnd());
      }
      try (RawHttp probe = RawHttp.connect("127.0.0.30", port)) {
        assertEquals(200, probe.get("/health/live", null).status(), "health still answers that address");
      }
      // Another address is not affected.
      try (RawHttp other = RawHttp.connect("127.0.0.31", port)) {
        assertEquals(200, other.get("/api/v1/queues", TestServer.ADMIN).status());
      }
      own.close();
      Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> server.binding.openConnections() == 0);
      try (RawHttp again = RawHttp.connect("127.0.0.30", port)) {
        assertEquals(200, again.get("/api/v1/queues", TestServer.ADMIN).status());
        assertEquals(200, again.get("/api/v1/queues", TestServer.ADMIN).status(), "kept alive");
      }
    }
  }

  @Test
  void idleKeptAliveConnectionsCloseQuietlyAndBusyOnesStay() throws Exception {
    try (TestServer server = TestServer.start(ConfigFactory.parseString(
            "spool.http.connections { idle-timeout = 1s, header-timeout = 1s }").withFallback(TestServer.tokens()))) {
      server.put("/api/v1/queues/idle", "{}");
      server.put("/api/v1/queues/idle/consumers/c", "{}");
      try (RawHttp idle = RawHttp.connect(server.binding.port());
          RawHttp silent = RawHttp.connect(server.binding.port())) {
        assertEquals(200, idle.get("/health/live", null).status());
        long start = System.nanoTime();
        assertEquals("FIN", idle.awaitEnd(), "closed without a response");
        long idleMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTrue(idleMillis >= 800 && idleMillis < 3000, "idle close after " + idleMillis + " ms");
        assertEquals("FIN", silent.awaitEnd(), "a connection that never sends a byte closes at the header timeout");

      }
      // A long-poll of 3 s outlasts both timeouts: it is busy, not idle.
      try (RawHttp polling = RawHttp.connect(server.binding.port())) {
        RawHttp.Response read = polling.exchange("POST", "/api/v1/queues/idle/consumers/c/read?wait=PT3S",
            TestServer.ADMIN, null);
        assertEquals(200, read.status(), read.body());
      }
    }
  }

  /** Adds header lines one byte every 200 ms until the server answers; the answer. */
  private static RawHttp.Response trickle(RawHttp client) {
    CompletableFuture<RawHttp.Response> answer = CompletableFuture.supplyAsync(() -> {
      try {
        return client.read();
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    });
    try {
      byte[] filler = "X-Slow: 1\r\n".getBytes(StandardCharsets.US_ASCII);
      for (int i = 0; i < 100 && !answer.isDone(); i++) {
        client.write(new byte[] {filler[i % filler.length]});
        Thread.sleep(200);
      }
    } catch (IOException closedByServer) {
      // expected once the 408 went out
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return answer.join();
  }

  /** The process's open-file limit, or -1 if unknown. */
  private static long fdLimit() {
    try {
      Process p = new ProcessBuilder("sh", "-c", "ulimit -n").start();
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        String line = r.readLine();
        return line == null || line.equals("unlimited") ? -1 : Long.parseLong(line.trim());
      }
    } catch (IOException | NumberFormatException e) {
      return -1;
    }
  }

  /** Client connections closed together at the end. */
  private static final class Flood implements AutoCloseable {
    private final List<RawHttp> connections = new ArrayList<>();

    RawHttp add(RawHttp connection) {
      connections.add(connection);
      return connection;
    }

    @Override
    public void close() {
      for (RawHttp c : connections) {
        try {
          c.close();
        } catch (IOException ignored) {
          // closing anyway
        }
      }
      connections.clear();
    }
  }
}
