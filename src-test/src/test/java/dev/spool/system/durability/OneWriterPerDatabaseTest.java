package dev.spool.system.durability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.spool.app.Main;
import dev.spool.http.Authenticator;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * One writer per PostgreSQL database, with the service as operators run it ({@link Main} in child
 * JVMs of 256 MB): a second service on the first one's database is refused (exit 1, one ERROR line
 * naming the first), and once the first is killed with SIGKILL, a new one starts at once and serves
 * the durable queue with every confirmed message. Needs {@code SPOOL_TEST_POSTGRES_URL} (see
 * {@link KillNinePostgresTest}); skipped otherwise. Its registry (and so its lock) has a name of its
 * own, so that it meets no other test on the same database.
 */
class OneWriterPerDatabaseTest {

  private static final String TOKEN = "writer-lock-admin-token-0123456789";
  private static final int MESSAGES = 300;
  private static final int ACKED = 100;
  private static final ObjectMapper JSON = new ObjectMapper();

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final List<Process> children = new ArrayList<>();
  private Path dir;
  private String registry;

  @BeforeEach
  void needsPostgres() throws IOException {
    Assumptions.assumeTrue(KillNinePostgresTest.URL != null && !KillNinePostgresTest.URL.isBlank(),
        "SPOOL_TEST_POSTGRES_URL is not set: skipped");
    dir = Files.createDirectories(Path.of("target", "writer-lock", "run-" + System.currentTimeMillis())
        .toAbsolutePath());
    registry = "wl" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    Files.writeString(dir.resolve("spool.conf"), "spool.http.auth.tokens = [{name = \"admin\", sha256 = \""
        + Authenticator.sha256Hex(TOKEN) + "\", roles = [admin], queues = [\"*\"]}]\n");
  }

  @AfterEach
  void killChildren() throws InterruptedException {
    for (Process p : children) {
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void aSecondServiceIsRefusedAndTakesOverOnceTheFirstIsKilled() throws Exception {
    int portA = freePort();
    Process a = start("a", portA);
    awaitReady(portA, a);
    assertEquals(201, send(portA, "PUT", "/api/v1/queues/orders", "{\"durability\":\"persistent\"}").statusCode());
    assertEquals(201, send(portA, "PUT", "/api/v1/queues/orders/consumers/audit", "{\"startAt\":\"earliest\"}")
        .statusCode());
    for (int b = 0; b < MESSAGES / 50; b++) {
      StringBuilder body = new StringBuilder("{\"messages\":[");
      for (int i = 0; i < 50; i++) {
        body.append(i == 0 ? "" : ",").append("{\"type\":\"order.created\",\"payload\":\"")
            .append(payload(b * 50 + i + 1)).append("\"}");
      }
      HttpResponse<String> published = send(portA, "POST", "/api/v1/queues/orders/messages", body + "]}");
      assertEquals(201, published.statusCode(), published.body()); // confirmed: journaled
    }
    assertEquals(ACKED, read(portA, ACKED).size());

    // A second service on the same database: not ready while it waits, then exit 1 naming the first.
    int portB = freePort();
    long startedB = System.nanoTime();
    Process b = start("b", portB);
    boolean sawWaiting = false;
    while (b.isAlive() && System.nanoTime() - startedB < TimeUnit.SECONDS.toNanos(45)) {
      try {
        HttpResponse<String> ready = http.send(HttpRequest.newBuilder(uri(portB, "/health/ready")).build(),
            HttpResponse.BodyHandlers.ofString());
        assertEquals(503, ready.statusCode(), "a refused service is never ready: " + ready.body());
        sawWaiting |= ready.body().contains("waiting for the writer lock");
      } catch (IOException notListeningYet) {
        // starting, or gone
      }
      Thread.sleep(200);
    }
    assertTrue(b.waitFor(5, TimeUnit.SECONDS), "the second service ends by itself");
    assertEquals(1, b.exitValue(), console("b").toString());
    assertTrue(sawWaiting, "its readiness said why it waits");
    List<String> errors = Files.readAllLines(console("b"), StandardCharsets.UTF_8).stream()
        .filter(line -> line.contains(" ERROR ")).toList();
    assertEquals(1, errors.size(), "one ERROR line: " + errors);
    assertTrue(errors.get(0).contains("is in use by another Spool") && errors.get(0).contains("pid " + a.pid() + " "),
        errors.get(0));
    assertTrue(a.isAlive());
    assertEquals(200, send(portA, "GET", "/health/ready", null).statusCode(), "the first serves on");

    // kill -9 of the first: its session ends with the process, and a new service takes over at once.
    a.destroyForcibly();
    assertTrue(a.waitFor(10, TimeUnit.SECONDS));
    int portC = freePort();
    long startedC = System.nanoTime();
    Process c = start("c", portC);
    awaitReady(portC, c);
    System.out.println("writer lock: the new service was ready " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime()
        - startedC) + " ms after its start, following a kill -9 of the holder");
    List<Long> rest = read(portC, MESSAGES - ACKED);
    assertEquals(new TreeSet<>(rest).first(), ACKED + 1L, "resumes after the confirmed ack");
    assertEquals(MESSAGES - ACKED, new TreeSet<>(rest).size(), "every confirmed message, once");
    assertEquals((long) MESSAGES, new TreeSet<>(rest).last());
    assertFalse(Files.readString(console("c"), StandardCharsets.UTF_8).contains(" ERROR "), console("c").toString());
  }

  /** Reads and acknowledges until {@code count} deliveries came, checking every payload. */
  private List<Long> read(int port, int count) throws Exception {
    List<Long> seen = new ArrayList<>();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (seen.size() < count && System.nanoTime() < deadline) {
      HttpResponse<String> r = send(port, "POST", "/api/v1/queues/orders/consumers/audit/read?max="
          + (count - seen.size()) + "&wait=PT1S", null);
      assertEquals(200, r.statusCode(), r.body());
      List<Long> batch = new ArrayList<>();
      for (JsonNode d : JSON.readTree(r.body()).path("deliveries")) {
        long seq = d.path("sequence").asLong();
        assertEquals(payload(seq), d.path("message").path("payload").asText(), "message " + seq);
        seen.add(seq);
        batch.add(seq);
      }
      if (!batch.isEmpty()) {
        HttpResponse<String> acked = send(port, "POST", "/api/v1/queues/orders/consumers/audit/ack",
            "{\"sequences\":" + batch + "}");
        assertEquals(200, acked.statusCode(), acked.body()); // confirmed: journaled
      }
    }
    return seen;
  }

  /** A 1 KiB text payload that names its sequence. */
  private static String payload(long n) {
    String head = "order-" + n + "-";
    return head + "x".repeat(1024 - head.length());
  }

  private Process start(String name, int port) throws IOException {
    String db = "-Dpekko-persistence-jdbc.shared-databases.postgres.db.";
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
        "-Dconfig.file=" + dir.resolve("spool.conf"),
        "-Dspool.data-dir=" + dir.resolve("data-" + name),
        "-Dspool.http.port=" + port,
        "-Dspool.journal.database=postgres",
        db + "url=" + KillNinePostgresTest.URL, db + "user=" + KillNinePostgresTest.USER,
        db + "password=" + KillNinePostgresTest.PASSWORD,
        "-Dspool.persistence.registry=" + registry,
        "-Dspool.persistence.writer-lock.wait-at-start=5s",
        "-cp", System.getProperty("java.class.path"), Main.class.getName()));
    Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
        .redirectOutput(console(name).toFile()).start();
    children.add(p);
    return p;
  }

  private Path console(String name) {
    return dir.resolve(name + ".log");
  }

  private void awaitReady(int port, Process p) {
    Awaitility.await().atMost(Duration.ofSeconds(40)).pollInterval(Duration.ofMillis(200)).until(() -> {
      assertTrue(p.isAlive(), "the service ended");
      try {
        return http.send(HttpRequest.newBuilder(uri(port, "/health/ready")).build(),
            HttpResponse.BodyHandlers.ofString()).statusCode() == 200;
      } catch (IOException notYet) {
        return false;
      }
    });
  }

  private HttpResponse<String> send(int port, String method, String path, String body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(uri(port, path)).timeout(Duration.ofSeconds(30))
        .header("Authorization", "Bearer " + TOKEN);
    if (body != null) {
      b.header("Content-Type", "application/json");
    }
    b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static URI uri(int port, String path) {
    return URI.create("http://127.0.0.1:" + port + path);
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
