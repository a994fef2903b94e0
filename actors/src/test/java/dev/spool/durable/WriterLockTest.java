package dev.spool.durable;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spool.SpoolException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The writer lock against a real PostgreSQL ({@code SPOOL_TEST_POSTGRES_URL}; skipped without it):
 * who may hold it together, what a refused node is told, and how it behaves when its connection or
 * the database goes away. Each test has a lock name of its own, so it meets no other test's lock.
 */
class WriterLockTest {

  private static final String URL = System.getenv("SPOOL_TEST_POSTGRES_URL");
  private static final String USER = env("SPOOL_TEST_POSTGRES_USER", "spool");
  private static final String PASSWORD = env("SPOOL_TEST_POSTGRES_PASSWORD", "spool");

  private final List<WriterLock> locks = new ArrayList<>();
  private final List<AutoCloseable> others = new ArrayList<>();
  private String name;

  private static String env(String name, String otherwise) {
    String v = System.getenv(name);
    return v == null || v.isBlank() ? otherwise : v;
  }

  @BeforeEach
  void needsPostgres() {
    Assumptions.assumeTrue(URL != null && !URL.isBlank(), "SPOOL_TEST_POSTGRES_URL is not set: skipped");
    name = "writer-lock-test-" + UUID.randomUUID();
  }

  @AfterEach
  void closeAll() throws Exception {
    locks.forEach(WriterLock::close);
    for (AutoCloseable c : others) {
      c.close();
    }
  }

  private WriterLockSettings settings(String url, String mode, Duration waitAtStart) {
    Config config = ConfigFactory.parseMap(Map.of(
            "spool.persistence.writer-lock.database", "postgres",
            "spool.persistence.writer-lock.url", url,
            "spool.persistence.writer-lock.user", USER,
            "spool.persistence.writer-lock.password", PASSWORD,
            "spool.persistence.writer-lock.mode", mode,
            "spool.persistence.writer-lock.name", name,
            "spool.persistence.writer-lock.check-interval", "500ms",
            "spool.persistence.writer-lock.wait-at-start", waitAtStart.toMillis() + "ms"))
        .withFallback(ConfigFactory.defaultReference()).resolve();
    return WriterLockSettings.create(config, "spool");
  }

  private WriterLock start(String mode, Duration waitAtStart) {
    return start(URL, mode, waitAtStart);
  }

  private WriterLock start(String url, String mode, Duration waitAtStart) {
    WriterLock lock = WriterLock.start(settings(url, mode, waitAtStart));
    locks.add(lock);
    return lock;
  }

  private static void held(WriterLock lock) throws Exception {
    lock.held().toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  private static SpoolException refused(WriterLock lock) throws Exception {
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> lock.held().toCompletableFuture().get(20, TimeUnit.SECONDS));
    return assertInstanceOf(SpoolException.DatabaseInUse.class, e.getCause());
  }

  private Connection connect() throws SQLException {
    Connection c = DriverManager.getConnection(URL, USER, PASSWORD);
    others.add(c);
    return c;
  }

  /** The database sessions holding {@code lock}'s key. */
  private List<Integer> holders(WriterLock lock) throws SQLException {
    try (Connection c = DriverManager.getConnection(URL, USER, PASSWORD);
        PreparedStatement s = c.prepareStatement("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            + " AND objsubid = 1 AND classid::bigint = ? AND objid::bigint = ? ORDER BY pid")) {
      s.setLong(1, lock.key() >>> 32);
      s.setLong(2, lock.key() & 0xFFFF_FFFFL);
      List<Integer> pids = new ArrayList<>();
      try (ResultSet r = s.executeQuery()) {
        while (r.next()) {
          pids.add(r.getInt(1));
        }
      }
      return pids;
    }
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

  private static void terminate(int pid) throws SQLException {
    try (Connection c = DriverManager.getConnection(URL, USER, PASSWORD);
        Statement s = c.createStatement()) {
      s.execute("SELECT pg_terminate_backend(" + pid + ")");
    }
  }

  @Test
  void anExclusiveHolderRefusesAnotherExclusiveOneNamingItself() throws Exception {
    WriterLock first = start("exclusive", Duration.ofSeconds(1));
    held(first);
    int holder = holders(first).get(0);
    WriterLock second = start("exclusive", Duration.ofSeconds(1));
    SpoolException refusal = refused(second);
    String text = refusal.getMessage();
    assertTrue(text.contains("database session " + holder + " "), text);
    assertTrue(text.contains("pid " + ProcessHandle.current().pid()) && text.contains("exclusive"), text);
    assertTrue(text.contains("is in use by another Spool") && text.contains("spool.persistence.writer-lock"), text);
    assertFalse(text.contains(PASSWORD + "@") || text.contains("password="), text);
    assertEquals(List.of(holder), holders(first), "the first holds it alone");
    assertNull(first.status());
  }

  @Test
  void clusterMembersShareIt() throws Exception {
    WriterLock a = start("shared", Duration.ofSeconds(1));
    WriterLock b = start("shared", Duration.ofSeconds(1));
    held(a);
    held(b);
    assertEquals(2, holders(a).size());
  }

  @Test
  void aStandaloneNodeIsRefusedWhileAMemberHoldsItShared() throws Exception {
    WriterLock member = start("shared", Duration.ofSeconds(1));
    held(member);
    String text = refused(start("exclusive", Duration.ofSeconds(1))).getMessage();
    assertTrue(text.contains("shared"), text);
  }

  @Test
  void aMemberIsRefusedWhileAStandaloneNodeHoldsIt() throws Exception {
    WriterLock standalone = start("exclusive", Duration.ofSeconds(1));
    held(standalone);
    String text = refused(start("shared", Duration.ofSeconds(1))).getMessage();
    assertTrue(text.contains("exclusive"), text);
  }

  @Test
  void closingReleasesItToAWaitingNode() throws Exception {
    WriterLock first = start("exclusive", Duration.ofSeconds(1));
    held(first);
    WriterLock second = start("exclusive", Duration.ofSeconds(20));
    await().atMost(Duration.ofSeconds(10)).until(() -> second.status() != null && second.status().contains("held by"));
    assertFalse(second.held().toCompletableFuture().isDone(), "it waits");
    first.close();
    held(second);
    assertEquals(1, holders(second).size());
  }

  @Test
  void aLostConnectionIsReplacedAndTheLockTakenAgain() throws Exception {
    WriterLock lock = start("exclusive", Duration.ofSeconds(1));
    held(lock);
    int before = holders(lock).get(0);
    terminate(before);
    await().atMost(Duration.ofSeconds(10)).until(() -> {
      List<Integer> now = holders(lock);
      return now.size() == 1 && now.get(0) != before;
    });
    assertFalse(lock.lost().toCompletableFuture().isDone(), "nobody else took it");
    assertNull(lock.status());
  }

  @Test
  void anotherNodeTakingItWhileTheConnectionWasLostIsReported() throws Exception {
    WriterLock lock = start("exclusive", Duration.ofSeconds(1));
    held(lock);
    int before = holders(lock).get(0);
    Connection other = connect();
    terminate(before);
    // the server frees the lock as the terminated session ends, moments later; the other takes it first
    await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(5)).until(() -> grab(other, lock.key()));
    SpoolException reason = lock.lost().toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertInstanceOf(SpoolException.DatabaseInUse.class, reason);
    assertTrue(reason.getMessage().contains("was taken by") && reason.getMessage().contains("stops writing"),
        reason.getMessage());
    assertEquals(1, holders(lock).size(), "only the other holds it");
  }

  @Test
  void anEarlierSessionOfItsOwnIsEndedNotTakenForAnotherNode() throws Exception {
    WriterLock lock = start("exclusive", Duration.ofSeconds(1));
    held(lock);
    int before = holders(lock).get(0);
    // What a connection that timed out here while the server kept its session looks like: a session
    // with this lock's name holding it.
    java.util.Properties props = new java.util.Properties();
    props.setProperty("user", USER);
    props.setProperty("password", PASSWORD);
    props.setProperty("ApplicationName", lock.applicationNameForTests());
    Connection stale = DriverManager.getConnection(URL, props);
    others.add(stale);
    terminate(before);
    await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(5)).until(() -> grab(stale, lock.key()));
    int stalePid;
    try (Statement s = stale.createStatement(); ResultSet r = s.executeQuery("SELECT pg_backend_pid()")) {
      r.next();
      stalePid = r.getInt(1);
    }
    await().atMost(Duration.ofSeconds(10)).until(() -> {
      List<Integer> now = holders(lock);
      return now.size() == 1 && now.get(0) != before && now.get(0) != stalePid;
    });
    assertFalse(lock.lost().toCompletableFuture().isDone(), "its own session is not another node");
    assertThrows(SQLException.class, () -> grab(stale, lock.key()), "the stale session was ended");
  }

  @Test
  void aDatabaseDownAtStartIsWaitedForUntilItAnswers() throws Exception {
    int port;
    try (ServerSocket free = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = free.getLocalPort();
    }
    java.net.URI target = java.net.URI.create(URL.substring("jdbc:".length()));
    String viaPort = "jdbc:postgresql://127.0.0.1:" + port + target.getPath();
    // A short wait-at-start: a database that is down must not count against it.
    WriterLock lock = start(viaPort, "exclusive", Duration.ofMillis(200));
    await().atMost(Duration.ofSeconds(10)).until(() -> lock.status() != null
        && lock.status().contains("cannot be reached"));
    Thread.sleep(1_000); // several tries, all refused, longer than wait-at-start
    assertFalse(lock.held().toCompletableFuture().isDone(), "still trying");
    others.add(new Forwarder(port, target.getHost(), target.getPort()));
    held(lock);
    assertEquals(1, holders(lock).size());
  }

  @Test
  void badSettingsAreRefusedNamingTheSetting() {
    Config reference = ConfigFactory.defaultReference();
    SpoolException noUrl = assertThrows(SpoolException.InvalidConfiguration.class, () -> WriterLockSettings.create(
        ConfigFactory.parseString("spool.persistence.writer-lock.database = postgres").withFallback(reference)
            .resolve(), "spool"));
    assertTrue(noUrl.getMessage().contains("spool.persistence.writer-lock.url"), noUrl.getMessage());
    SpoolException mode = assertThrows(SpoolException.InvalidConfiguration.class, () -> WriterLockSettings.create(
        ConfigFactory.parseString("spool.persistence.writer-lock { database = postgres, url = \"" + URL
            + "\", mode = solo }").withFallback(reference).resolve(), "spool"));
    assertTrue(mode.getMessage().contains("mode is 'solo'"), mode.getMessage());
    SpoolException notPostgres = assertThrows(SpoolException.InvalidConfiguration.class,
        () -> WriterLockSettings.create(ConfigFactory.parseString("spool.persistence.writer-lock { database = postgres,"
            + " url = \"jdbc:h2:mem:x?password=secret\" }").withFallback(reference).resolve(), "spool"));
    assertFalse(notPostgres.getMessage().contains("secret"), notPostgres.getMessage());
    SpoolException database = assertThrows(SpoolException.InvalidConfiguration.class,
        () -> WriterLockSettings.create(ConfigFactory.parseString("spool.persistence.writer-lock.database = oracle")
            .withFallback(reference).resolve(), "spool"));
    assertTrue(database.getMessage().contains("writer-lock.database is 'oracle'"), database.getMessage());
    SpoolException interval = assertThrows(SpoolException.InvalidConfiguration.class,
        () -> WriterLockSettings.create(ConfigFactory.parseString("spool.persistence.writer-lock.check-interval = 0s")
            .withFallback(reference).resolve(), "spool"));
    assertTrue(interval.getMessage().contains("check-interval"), interval.getMessage());
  }

  @Test
  void theKeyIsDerivedFromTheNameTheRegistryByDefault() {
    Config reference = ConfigFactory.defaultReference();
    WriterLockSettings byDefault = WriterLockSettings.create(reference, "spool");
    assertFalse(byDefault.enabled(), "off unless configured");
    assertEquals(7096548397574023925L, byDefault.key(), "the documented key of the name spool");
    assertNotEquals(byDefault.key(), WriterLockSettings.create(reference, "other").key());
  }

  @Test
  void itsSessionNamesItsHolder() throws Exception {
    WriterLock lock = start("exclusive", Duration.ofSeconds(1));
    held(lock);
    try (Connection c = connect(); Statement s = c.createStatement();
        ResultSet r = s.executeQuery("SELECT application_name FROM pg_stat_activity WHERE pid = "
            + holders(lock).get(0))) {
      assertTrue(r.next());
      String applicationName = r.getString(1);
      assertTrue(applicationName.startsWith("spool ") && applicationName.contains("pid " + ProcessHandle.current().pid()),
          applicationName);
    }
  }

  /** Forwards a loopback port to the database: a database that comes up there. */
  private static final class Forwarder implements AutoCloseable {
    private final ServerSocket server;
    private final List<Socket> sockets = new java.util.concurrent.CopyOnWriteArrayList<>();

    Forwarder(int port, String host, int targetPort) throws IOException {
      server = new ServerSocket(port, 50, InetAddress.getLoopbackAddress());
      Thread t = new Thread(() -> {
        while (!server.isClosed()) {
          try {
            Socket client = server.accept();
            Socket upstream = new Socket(host, targetPort);
            sockets.add(client);
            sockets.add(upstream);
            pump(client, upstream);
            pump(upstream, client);
          } catch (IOException e) {
            return;
          }
        }
      }, "forwarder");
      t.setDaemon(true);
      t.start();
    }

    private static void pump(Socket from, Socket to) {
      CompletableFuture.runAsync(() -> {
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
          in.transferTo(out);
        } catch (IOException e) {
          // one side closed
        }
      }, r -> {
        Thread t = new Thread(r, "forwarder-pump");
        t.setDaemon(true);
        t.start();
      });
    }

    @Override
    public void close() throws IOException {
      server.close();
      for (Socket s : sockets) {
        s.close();
      }
    }
  }
}
