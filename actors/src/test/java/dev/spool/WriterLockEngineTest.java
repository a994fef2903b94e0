package dev.spool;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spool.actor.QueueManager;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The engine, embedded, with a writer lock on the test PostgreSQL ({@code SPOOL_TEST_POSTGRES_URL};
 * skipped without it) over its SQLite journal: durable queues wait for the lock while another
 * holds it (transient ones serve), and a lock taken over stops every queue at once.
 */
class WriterLockEngineTest {

  private static final String URL = System.getenv("SPOOL_TEST_POSTGRES_URL");
  private static final String USER = "spool";
  private static final String PASSWORD = "spool";

  @TempDir
  Path dir;
  private String name;
  private Spool spool;
  private Connection other;

  @BeforeEach
  void needsPostgres() {
    Assumptions.assumeTrue(URL != null && !URL.isBlank(), "SPOOL_TEST_POSTGRES_URL is not set: skipped");
    name = "writer-lock-engine-" + UUID.randomUUID();
  }

  @AfterEach
  void stop() throws Exception {
    if (spool != null) {
      get(spool.shutdown());
    }
    if (other != null) {
      other.close();
    }
  }

  private Config config() {
    Map<String, Object> settings = new HashMap<>(Map.of(
        "spool.journal.sqlite.path", dir.resolve("spool.db").toString(),
        "spool.persistence.journal-plugin", "spool.journal.sqlite.journal",
        "spool.persistence.snapshot-plugin", "spool.journal.sqlite.snapshot-store",
        "spool.persistence.writer-lock.database", "postgres",
        "spool.persistence.writer-lock.url", URL,
        "spool.persistence.writer-lock.user", USER,
        "spool.persistence.writer-lock.password", PASSWORD,
        "spool.persistence.writer-lock.name", name,
        "spool.persistence.writer-lock.check-interval", "300ms"));
    return ConfigFactory.parseMap(settings).withFallback(ConfigFactory.load());
  }

  private long key() {
    return dev.spool.durable.WriterLockSettings.create(config(), "spool").key();
  }

  private static <T> T get(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private static boolean grab(Connection c, long key) throws SQLException {
    try (PreparedStatement s = c.prepareStatement("SELECT pg_try_advisory_lock(?)")) {
      s.setLong(1, key);
      try (ResultSet r = s.executeQuery()) {
        r.next();
        return r.getBoolean(1);
      }
    }
  }

  @Test
  void durableQueuesWaitForTheLockWhileTransientOnesServe() throws Exception {
    other = DriverManager.getConnection(URL, USER, PASSWORD);
    assertTrue(grab(other, key()));
    spool = Spool.start(config());
    await().atMost(Duration.ofSeconds(10)).until(() -> String.valueOf(get(spool.health()).problems().get(0).detail())
        .contains("held by"));
    ExecutionException refused = assertThrows(ExecutionException.class, () -> get(spool.createQueue("orders",
        QueueSettings.defaults().withDurability(Durability.PERSISTENT))));
    assertInstanceOf(SpoolException.JournalUnavailable.class, refused.getCause());
    get(spool.createPublisher("default", "shop").publish(Message.of("order", new byte[1024])));

    other.close();
    get(spool.ready());
    get(spool.createQueue("orders", QueueSettings.defaults().withDurability(Durability.PERSISTENT)));
    assertTrue(get(spool.health()).healthy());
  }

  @Test
  void aLockTakenOverStopsEveryQueueAtOnce() throws Exception {
    spool = Spool.start(config());
    get(spool.ready());
    get(spool.createQueue("orders", QueueSettings.defaults().withDurability(Durability.PERSISTENT)));
    QueuePublisher publisher = spool.createPublisher("orders", "shop");
    get(publisher.publish(Message.of("order", new byte[1024])));
    ActorRef<QueueManager.Command> manager = SpoolExtension.ID.apply(spool.system()).manager;
    TestProbe<Object> watcher = TestProbe.create(spool.system());

    other = DriverManager.getConnection(URL, USER, PASSWORD);
    int holder;
    try (PreparedStatement s = other.prepareStatement("SELECT pid FROM pg_locks WHERE locktype = 'advisory'"
        + " AND granted AND objsubid = 1 AND classid::bigint = ? AND objid::bigint = ?")) {
      s.setLong(1, key() >>> 32);
      s.setLong(2, key() & 0xFFFF_FFFFL);
      try (ResultSet r = s.executeQuery()) {
        assertTrue(r.next());
        holder = r.getInt(1);
      }
    }
    try (Statement s = other.createStatement()) {
      s.execute("SELECT pg_terminate_backend(" + holder + ")");
    }
    await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(5)).until(() -> grab(other, key()));

    SpoolException reason = get(spool.writerLockLost());
    assertInstanceOf(SpoolException.DatabaseInUse.class, reason);
    watcher.expectTerminated(manager, Duration.ofSeconds(5));
    ExecutionException after = assertThrows(ExecutionException.class,
        () -> get(spool.queueInfo("orders")));
    assertEquals(SpoolException.Code.ShuttingDown, ((SpoolException) after.getCause()).code());
    assertFalse(spool.system().getWhenTerminated().toCompletableFuture().isDone(),
        "the embedding application's system is its own to stop");
  }
}
