package dev.spool.app;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spool.Durability;
import dev.spool.JournalHealth;
import dev.spool.Message;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import dev.spool.SpoolException;
import dev.spool.durable.WriterLockSettings;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The service on a PostgreSQL journal with its writer lock: nothing durable is read or written
 * until the lock is held (readiness says why, durable queues are refused), a lock another node
 * keeps refuses the start, and a lock taken over stops the service. Needs
 * {@code SPOOL_TEST_POSTGRES_URL}; skipped otherwise. Each test has a registry and lock name of its own.
 */
class WriterLockServiceTest {

  private static final String URL = System.getenv("SPOOL_TEST_POSTGRES_URL");
  private static final String USER = env("SPOOL_TEST_POSTGRES_USER", "spool");
  private static final String PASSWORD = env("SPOOL_TEST_POSTGRES_PASSWORD", "spool");

  @TempDir
  Path dir;
  private String name;
  private final List<Spool> spools = new ArrayList<>();
  private final List<Connection> connections = new ArrayList<>();

  private static String env(String name, String otherwise) {
    String v = System.getenv(name);
    return v == null || v.isBlank() ? otherwise : v;
  }

  @BeforeEach
  void needsPostgres() {
    Assumptions.assumeTrue(URL != null && !URL.isBlank(), "SPOOL_TEST_POSTGRES_URL is not set: skipped");
    name = "wl" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
  }

  @AfterEach
  void stop() throws Exception {
    for (Spool spool : spools) {
      spool.shutdown().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
    for (Connection c : connections) {
      c.close();
    }
  }

  private Config config(Duration waitAtStart) {
    Map<String, Object> overrides = new HashMap<>(Map.of(
        "spool.data-dir", dir.toString(),
        "spool.http.port", 0,
        "spool.journal.database", "postgres",
        "pekko-persistence-jdbc.shared-databases.postgres.db.url", URL,
        "pekko-persistence-jdbc.shared-databases.postgres.db.user", USER,
        "pekko-persistence-jdbc.shared-databases.postgres.db.password", PASSWORD,
        "spool.persistence.registry", name,
        "spool.persistence.writer-lock.check-interval", "500ms",
        "spool.persistence.writer-lock.wait-at-start", waitAtStart.toMillis() + "ms"));
    return ConfigFactory.load(ConfigFactory.parseMap(overrides)
        .withFallback(ConfigFactory.parseResourcesAnySyntax("application")));
  }

  private Main.Service start(Config config) {
    JournalSchema.ensure(config);
    Main.Service service = Main.init(config);
    spools.add(service.spool());
    return service;
  }

  private long key(Config config) {
    return WriterLockSettings.create(config, name).key();
  }

  /** Another node holding the lock: a plain session of this test. */
  private Connection holdLock(long key) throws SQLException {
    Connection c = DriverManager.getConnection(URL, USER, PASSWORD);
    connections.add(c);
    try (PreparedStatement s = c.prepareStatement("SELECT pg_try_advisory_lock(?)")) {
      s.setLong(1, key);
      try (ResultSet r = s.executeQuery()) {
        r.next();
        assertTrue(r.getBoolean(1), "the test holds the lock");
      }
    }
    return c;
  }

  private static <T> T get(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private static HttpResponse<String> ready(Main.Service service) throws Exception {
    return HttpClient.newHttpClient().send(HttpRequest.newBuilder(
            URI.create("http://127.0.0.1:" + service.http().port() + "/health/ready")).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static QueueSettings persistent() {
    return QueueSettings.defaults().withDurability(Durability.PERSISTENT);
  }

  @Test
  void nothingDurableStartsUntilTheLockIsHeld() throws Exception {
    Config config = config(Duration.ofSeconds(60));
    Connection other = holdLock(key(config));
    Main.Service service = start(config);
    Spool spool = service.spool();

    await().atMost(Duration.ofSeconds(10)).until(() -> {
      JournalHealth h = get(spool.health());
      return !h.healthy() && String.valueOf(h.problems().get(0).detail()).contains("held by");
    });
    HttpResponse<String> notReady = ready(service);
    assertEquals(503, notReady.statusCode());
    assertTrue(notReady.body().contains("waiting for the writer lock"), notReady.body());
    ExecutionException refused = assertThrows(ExecutionException.class,
        () -> get(spool.createQueue("orders", persistent())));
    SpoolException e = assertInstanceOf(SpoolException.JournalUnavailable.class, refused.getCause());
    assertTrue(e.getMessage().contains("writer lock"), e.getMessage());
    assertFalse(spool.ready().toCompletableFuture().isDone(), "not ready while another holds the lock");

    other.close(); // the other node stops
    get(spool.ready());
    await().atMost(Duration.ofSeconds(10)).until(() -> get(spool.health()).healthy());
    assertEquals(200, ready(service).statusCode());
    get(spool.createQueue("orders", persistent()));
    get(spool.createPublisher("orders", "shop").publish(Message.of("order", new byte[1024])));
    assertFalse(spool.writerLockLost().toCompletableFuture().isDone());
  }

  @Test
  void aLockHeldForAllOfTheWaitRefusesTheStartAndStopsTheService() throws Exception {
    Config config = config(Duration.ofSeconds(1));
    holdLock(key(config));
    Main.Service service = start(config);
    SpoolException reason = get(service.spool().writerLockLost());
    assertInstanceOf(SpoolException.DatabaseInUse.class, reason);
    assertTrue(reason.getMessage().contains("is in use by another Spool") && reason.getMessage().contains("'"),
        reason.getMessage());
    get(service.spool().system().getWhenTerminated()); // the service shut itself down
  }

  @Test
  void aLockTakenOverWhileRunningStopsTheEngineAndTheService() throws Exception {
    Config config = config(Duration.ofSeconds(30));
    Main.Service service = start(config);
    Spool spool = service.spool();
    get(spool.ready());
    get(spool.createQueue("orders", persistent()));
    long key = key(config);
    int holder;
    try (Connection c = DriverManager.getConnection(URL, USER, PASSWORD);
        PreparedStatement s = c.prepareStatement("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            + " AND objsubid = 1 AND classid::bigint = ? AND objid::bigint = ?")) {
      s.setLong(1, key >>> 32);
      s.setLong(2, key & 0xFFFF_FFFFL);
      try (ResultSet r = s.executeQuery()) {
        assertTrue(r.next(), "the engine holds the lock");
        holder = r.getInt(1);
      }
    }
    Connection other = DriverManager.getConnection(URL, USER, PASSWORD);
    connections.add(other);
    try (Statement s = other.createStatement()) {
      s.execute("SELECT pg_terminate_backend(" + holder + ")");
    }
    await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(5)).until(() -> {
      try (PreparedStatement s = other.prepareStatement("SELECT pg_try_advisory_lock(?)")) {
        s.setLong(1, key);
        try (ResultSet r = s.executeQuery()) {
          r.next();
          return r.getBoolean(1);
        }
      }
    });
    SpoolException reason = get(spool.writerLockLost());
    assertTrue(reason.getMessage().contains("was taken by"), reason.getMessage());
    get(spool.system().getWhenTerminated());
    ExecutionException after = assertThrows(ExecutionException.class,
        () -> get(spool.createPublisher("orders", "shop").publish(Message.of("order", new byte[1024]))));
    assertInstanceOf(SpoolException.class, after.getCause());
  }
}
