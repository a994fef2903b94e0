package dev.spool.system.journal;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spool.ConsumerSettings;
import dev.spool.Delivery;
import dev.spool.Durability;
import dev.spool.Message;
import dev.spool.QueueConsumer;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import dev.spool.app.Main;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The service on PostgreSQL through a {@link TcpProxy} that the test cuts or holds: readiness
 * reports a journal that cannot write within 2 s, publishes are then refused at once with 503
 * {@code JournalUnavailable} and {@code Retry-After}, none of them is ever stored, every confirmed
 * publish is delivered, and the service starts and becomes ready without a restart when the
 * database is unreachable at first. Needs a PostgreSQL at {@code SPOOL_TEST_POSTGRES_URL} (user
 * and password {@code spool} unless {@code SPOOL_TEST_POSTGRES_USER}/{@code _PASSWORD} say
 * otherwise), which {@code .ci/postgres} starts; skipped with a message when it is not set.
 */
class JournalOutageTest {

  private static final String URL = System.getenv("SPOOL_TEST_POSTGRES_URL");
  private static final String USER = env("SPOOL_TEST_POSTGRES_USER", "spool");
  private static final String PASSWORD = env("SPOOL_TEST_POSTGRES_PASSWORD", "spool");
  private static final Pattern SEQUENCE = Pattern.compile("\"sequences\":\\[(\\d+)]");

  private static String env(String name, String otherwise) {
    String v = System.getenv(name);
    return v == null || v.isBlank() ? otherwise : v;
  }

  @BeforeEach
  void needsPostgres() {
    Assumptions.assumeTrue(URL != null && !URL.isBlank(),
        "SPOOL_TEST_POSTGRES_URL is not set: run `export SPOOL_TEST_POSTGRES_URL=$(.ci/postgres)` to run this test");
    try (Connection c = DriverManager.getConnection(URL, USER, PASSWORD)) {
      assertTrue(c.isValid(5));
    } catch (SQLException e) {
      Assumptions.abort("no PostgreSQL answers at " + URL + ": " + e.getMessage());
    }
  }

  /** The service's configuration on PostgreSQL through {@code proxy}, its durable queues listed under a fresh name. */
  private static Config config(Path dataDir, TcpProxy proxy) {
    URI db = URI.create(URL.substring("jdbc:".length()));
    String viaProxy = "jdbc:postgresql://127.0.0.1:" + proxy.port() + db.getPath();
    String pg = "pekko-persistence-jdbc.shared-databases.postgres.db.";
    return ConfigFactory.load(ConfigFactory.parseMap(Map.of(
            "spool.data-dir", dataDir.toString(),
            "spool.http.port", 0,
            "spool.journal.database", "postgres",
            pg + "url", viaProxy,
            pg + "user", USER,
            pg + "password", PASSWORD,
            "spool.persistence.registry", "outage-" + UUID.randomUUID().toString().substring(0, 8)))
        .withFallback(ConfigFactory.parseResourcesAnySyntax("application")));
  }

  private static TcpProxy proxy() throws Exception {
    URI db = URI.create(URL.substring("jdbc:".length()));
    return new TcpProxy(db.getHost(), db.getPort());
  }

  private static String kib(String label) {
    return label + "x".repeat(1024 - label.length());
  }

  /** One HTTP publish and what came of it. */
  private record Outcome(String label, int status, String error, String retryAfter, long sequence, long startedNanos,
      long tookMillis) {}

  private static Outcome publish(HttpClient client, URI base, String token, String label) {
    long started = System.nanoTime();
    try {
      HttpResponse<String> r = client.send(HttpRequest.newBuilder(base.resolve("/api/v1/queues/orders/messages"))
              .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
              .timeout(Duration.ofSeconds(20))
              .POST(HttpRequest.BodyPublishers.ofString("{\"type\":\"t\",\"payload\":\"" + kib(label) + "\"}"))
              .build(),
          HttpResponse.BodyHandlers.ofString());
      long took = (System.nanoTime() - started) / 1_000_000;
      Matcher m = SEQUENCE.matcher(r.body());
      Matcher error = Pattern.compile("\"error\":\"(\\w+)\"").matcher(r.body());
      return new Outcome(label, r.statusCode(), error.find() ? error.group(1) : null,
          r.headers().firstValue("Retry-After").orElse(null), m.find() ? Long.parseLong(m.group(1)) : -1, started, took);
    } catch (Exception e) {
      return new Outcome(label, -1, e.toString(), null, -1, started, (System.nanoTime() - started) / 1_000_000);
    }
  }

  private static HttpResponse<String> get(HttpClient client, URI uri) throws Exception {
    return client.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static void stop(Main.Service service) throws Exception {
    CoordinatedShutdown.get(service.spool().system()).runAll(CoordinatedShutdown.unknownReason())
        .toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  @Test
  void aDatabaseThatStopsAnsweringTurnsReadinessAndPublishesAreRefusedAtOnce(@TempDir Path dataDir)
      throws Exception {
    outage(dataDir, "held", TcpProxy::hold);
  }

  @Test
  void aDatabaseThatIsDownTurnsReadinessAndPublishesAreRefusedAtOnce(@TempDir Path dataDir) throws Exception {
    outage(dataDir, "cut", TcpProxy::cut);
  }

  /**
   * Two producers publish 1 KiB messages over HTTP while a probe reads readiness every 100 ms; the
   * database is made unreachable by {@code begin} for 10 s, then restored.
   */
  private void outage(Path dataDir, String how, java.util.function.Consumer<TcpProxy> begin) throws Exception {
    try (TcpProxy proxy = proxy()) {
      Main.Service service = Main.init(config(dataDir, proxy));
      Spool spool = service.spool();
      try {
        spool.ready().toCompletableFuture().get(60, TimeUnit.SECONDS);
        spool.createQueue("orders", QueueSettings.defaults().withDurability(Durability.PERSISTENT))
            .toCompletableFuture().get(30, TimeUnit.SECONDS);
        String token = Files.readString(dataDir.resolve("admin-token")).trim();
        URI base = URI.create(service.http().url());
        HttpClient client = HttpClient.newHttpClient();
        URI ready = base.resolve("/health/ready");
        await().atMost(Duration.ofSeconds(30)).until(() -> get(client, ready).statusCode() == 200);

        List<Outcome> outcomes = new CopyOnWriteArrayList<>();
        AtomicBoolean producing = new AtomicBoolean(true);
        List<Thread> producers = new ArrayList<>();
        for (int p = 0; p < 2; p++) {
          int producer = p;
          Thread t = new Thread(() -> {
            for (int i = 0; producing.get(); i++) {
              outcomes.add(publish(client, base, token, "p" + producer + "-" + i + "-"));
            }
          }, "producer-" + p);
          t.start();
          producers.add(t);
        }
        // Readiness as a probe sees it: every 100 ms, the time and the answer.
        List<long[]> probes = new CopyOnWriteArrayList<>();
        List<String> notReadyBodies = new CopyOnWriteArrayList<>();
        AtomicBoolean probing = new AtomicBoolean(true);
        Thread prober = new Thread(() -> {
          while (probing.get()) {
            try {
              HttpResponse<String> r = get(client, ready);
              probes.add(new long[] {System.nanoTime(), r.statusCode()});
              if (r.statusCode() == 503 && notReadyBodies.size() < 200) {
                notReadyBodies.add(r.body());
              }
              Thread.sleep(100);
            } catch (Exception e) {
              probes.add(new long[] {System.nanoTime(), -1});
            }
          }
        }, "prober");
        prober.start();

        Thread.sleep(2_000); // steady publishing first
        long heldAt = System.nanoTime();
        begin.accept(proxy);
        Thread.sleep(10_000);
        long restoredAt = System.nanoTime();
        proxy.restore();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
            .until(() -> probes.get(probes.size() - 1)[0] > restoredAt && probes.get(probes.size() - 1)[1] == 200);
        long readyAgainAt = probes.get(probes.size() - 1)[0];
        Thread.sleep(2_000); // publishes confirmed again
        producing.set(false);
        probing.set(false);
        for (Thread t : producers) {
          t.join(30_000);
        }
        prober.join(10_000);

        long firstNotReady = probes.stream().filter(p -> p[0] > heldAt && p[1] != 200).mapToLong(p -> p[0])
            .findFirst().orElseThrow(() -> new AssertionError("readiness never turned during the outage"));
        long turnedMillis = (firstNotReady - heldAt) / 1_000_000;
        long backMillis = (readyAgainAt - restoredAt) / 1_000_000;
        assertTrue(turnedMillis < 2_000, "readiness turned " + turnedMillis + " ms after the outage began");
        assertTrue(notReadyBodies.stream().anyMatch(b -> b.contains("\"queue\":\"orders\"")
            && (b.contains("write-stalled") || b.contains("write-failed") || b.contains("unavailable"))),
            "the 503 names the queue and why: " + notReadyBodies.get(0));

        List<Outcome> confirmed = outcomes.stream().filter(o -> o.status() == 201).toList();
        List<Outcome> refused = outcomes.stream().filter(o -> "JournalUnavailable".equals(o.error())).toList();
        List<Outcome> uncertain = outcomes.stream()
            .filter(o -> o.status() != 201 && !"JournalUnavailable".equals(o.error())).toList();
        assertFalse(refused.isEmpty(), "publishes during the outage were refused");
        refused.forEach(o -> {
          assertEquals(503, o.status());
          assertEquals("1", o.retryAfter(), "Retry-After on " + o.label());
        });
        List<Long> refusalMillis = refused.stream().map(Outcome::tookMillis).sorted().toList();
        long slowestRefusal = refusalMillis.get(refusalMillis.size() - 1);
        assertTrue(slowestRefusal < 1_000, "refusals took at most " + slowestRefusal + " ms");
        uncertain.forEach(o -> assertTrue(o.status() == 503 && "Timeout".equals(o.error()),
            "an outcome other than confirmed, refused or timed out: " + o));

        // Everything stored is delivered: every confirmed publish, never a refused one.
        Set<String> delivered = ConcurrentHashMap.newKeySet();
        QueueConsumer consumer = spool.createConsumer("orders", ConsumerSettings.named("check").prefetch(500));
        long lastSequence = spool.queueInfo("orders").toCompletableFuture().get(10, TimeUnit.SECONDS).stats()
            .lastSequence();
        long seen = 0;
        while (seen < lastSequence) {
          List<Delivery> got = consumer.readBatch(500, Duration.ofSeconds(2)).toCompletableFuture()
              .get(20, TimeUnit.SECONDS);
          if (got.isEmpty()) {
            break;
          }
          for (Delivery d : got) {
            String payload = d.message().payloadAsString();
            delivered.add(payload.substring(0, payload.indexOf('x')));
            seen = Math.max(seen, d.sequence());
          }
          consumer.acknowledgeSequences(got.stream().map(Delivery::sequence).toList()).toCompletableFuture()
              .get(20, TimeUnit.SECONDS);
        }
        Set<String> missing = new HashSet<>();
        confirmed.forEach(o -> {
          if (!delivered.contains(o.label())) {
            missing.add(o.label());
          }
        });
        assertTrue(missing.isEmpty(), "confirmed but not delivered: " + missing);
        List<String> refusedButStored = refused.stream().map(Outcome::label).filter(delivered::contains).toList();
        assertTrue(refusedButStored.isEmpty(), "refused but stored: " + refusedButStored);
        long uncertainStored = uncertain.stream().filter(o -> delivered.contains(o.label())).count();
        System.out.printf("PostgreSQL " + how + " 10 s: readiness 503 after %d ms, 200 again %d ms after the restore;"
                + " %d publishes confirmed, %d refused with JournalUnavailable (median %d ms, slowest %d ms),"
                + " %d timed out (%d of them stored after all); %d delivered%n",
            turnedMillis, backMillis, confirmed.size(), refused.size(), refusalMillis.get(refusalMillis.size() / 2),
            slowestRefusal, uncertain.size(), uncertainStored, delivered.size());
        assertTrue(confirmed.size() > 20, "publishes confirmed: " + confirmed.size());
      } finally {
        stop(service);
      }
    }
  }

  @Test
  void theServiceStartsWhileTheDatabaseIsUnreachableAndBecomesReadyWhenItAnswers(@TempDir Path dataDir)
      throws Exception {
    try (TcpProxy proxy = proxy()) {
      proxy.cut();
      long started = System.nanoTime();
      Main.Service service = Main.init(config(dataDir, proxy)); // returns, while the database is still unreachable
      long startMillis = (System.nanoTime() - started) / 1_000_000;
      try {
        HttpClient client = HttpClient.newHttpClient();
        URI base = URI.create(service.http().url());
        assertEquals(200, get(client, base.resolve("/health/live")).statusCode());
        HttpResponse<String> notReady = get(client, base.resolve("/health/ready"));
        assertEquals(503, notReady.statusCode());
        // The registry's read hangs until the journal's circuit breaker times it out (10 s), then fails:
        // either way the answer says which journal and why.
        assertTrue(notReady.body().contains("\"status\":\"recovering\"") && notReady.body().contains("\"registry\"")
            && notReady.body().matches(".*\"journal\":\"(recovering|unavailable)\".*"), notReady.body());
        assertEquals(200, get(client, base.resolve("/health/live")).statusCode(), "alive throughout");
        // The transient default queue serves meanwhile.
        Spool spool = service.spool();
        assertTrue(spool.createPublisher("p").publish(Message.text("t", kib("transient-")))
            .toCompletableFuture().get(10, TimeUnit.SECONDS) > 0);

        Thread.sleep(3_000); // several failed reads and table creations
        long restoredAt = System.nanoTime();
        proxy.restore();
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
            .until(() -> get(client, base.resolve("/health/ready")).statusCode() == 200);
        long readyMillis = (System.nanoTime() - restoredAt) / 1_000_000;
        spool.createQueue("orders", QueueSettings.defaults().withDurability(Durability.PERSISTENT))
            .toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertEquals(1L, spool.createPublisher("orders", "p").publish(Message.text("t", kib("durable-")))
            .toCompletableFuture().get(30, TimeUnit.SECONDS));
        System.out.printf("PostgreSQL unreachable at start: init returned in %d ms; ready %d ms after it answered%n",
            startMillis, readyMillis);
      } finally {
        stop(service);
      }
    }
  }
}
