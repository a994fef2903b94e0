package dev.spool.durable;

import dev.spool.SpoolException;
import java.net.InetAddress;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One writer per database: a PostgreSQL session-level advisory lock, held on a connection of its
 * own for as long as the engine runs, so that two Spools never write the same persistence ids (the
 * registry of durable queues, every queue's journal) in one database. A standalone node takes it
 * exclusively; cluster members take it shared (sharding keeps one writer per queue among them), so
 * that a standalone node is refused while any member holds it, and the other way round.
 *
 * <p>At start it tries until it holds the lock: a database that is down or slow is retried with
 * backoff for as long as it takes; a lock another live node holds is waited for up to
 * {@code wait-at-start} (one WARN names the holder), then {@link #held()} fails with
 * {@link SpoolException.DatabaseInUse} naming it. Once held, the connection is checked every
 * {@code check-interval}; a lost connection (which frees the lock on the server) is replaced and
 * the lock taken again, and if another node took it meanwhile, {@link #lost()} completes.
 *
 * <p>The session names its holder ({@code application_name}: host, pid, start time) so that a
 * refused node can say who holds it, and sets the server's keepalives low so that the lock of a
 * holder whose host died is freed within {@code idle + interval × count} (25 s by default), not
 * PostgreSQL's two hours.
 *
 * <p>Threading: every database call runs on one daemon thread of its own, never an actor's; the
 * stages, {@link #status()} and {@link #close()} may be used from any thread.
 */
public final class WriterLock implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(WriterLock.class);

  /** A lock call or check that takes longer counts the connection as lost: a database that stopped answering. */
  private static final Duration NETWORK_TIMEOUT = Duration.ofSeconds(10);

  /** How long {@link #close()} waits for the connection to close: a round trip, or a call under way. */
  private static final Duration CLOSE_WAIT = Duration.ofSeconds(1);

  /** PostgreSQL keeps this many bytes of {@code application_name}. */
  private static final int APPLICATION_NAME_MAX = 63;

  /** Other holders named in a refusal, at most (cluster members share the lock). */
  private static final int HOLDERS_NAMED = 3;

  private static final String HOLDERS = "SELECT a.application_name, host(a.client_addr), a.pid, a.backend_start, l.mode"
      + " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
      + " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND l.classid::bigint = ?"
      + " AND l.objid::bigint = ? AND l.pid <> pg_backend_pid()"
      + " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
      + " ORDER BY a.backend_start LIMIT " + HOLDERS_NAMED;

  private final WriterLockSettings settings;
  private final long key;
  /** The database as logs and errors name it: the URL without its query part, which may hold a password. */
  private final String database;
  private final ScheduledThreadPoolExecutor thread;
  private final CompletableFuture<Done> held = new CompletableFuture<>();
  private final CompletableFuture<SpoolException> lost = new CompletableFuture<>();
  private volatile String status;
  private volatile boolean closed;

  /** What its sessions are called: set once, on the lock's thread, at the first connection. */
  private volatile String applicationName;

  // Touched only on the lock's thread.
  private Connection connection;
  private Duration backoff;
  private String lastFailure;
  /** When another holder was first seen at start ({@code System.nanoTime()}), or -1. */
  private long refusedSince = -1;
  /** When the held lock's connection was lost, or -1. */
  private long lostSince = -1;

  private WriterLock(WriterLockSettings settings) {
    this.settings = settings;
    this.key = settings.key();
    this.database = withoutQuery(settings.url());
    this.backoff = settings.minBackoff();
    this.thread = new ScheduledThreadPoolExecutor(1, r -> {
      Thread t = new Thread(r, "spool-writer-lock");
      t.setDaemon(true); // never keeps the JVM alive
      return t;
    });
    thread.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
  }

  /** Starts taking the lock on a thread of its own; {@link #held()} completes once it is held. */
  public static WriterLock start(WriterLockSettings settings) {
    if (!settings.enabled()) {
      throw new IllegalArgumentException("the writer lock is off (spool.persistence.writer-lock.database)");
    }
    WriterLock lock = new WriterLock(settings);
    lock.thread.execute(lock::attempt);
    return lock;
  }

  /**
   * Completes once the lock is held; fails with {@link SpoolException.DatabaseInUse} when another
   * live node held it for all of {@code wait-at-start}, or with {@code ShuttingDown} when closed first.
   */
  public CompletionStage<Done> held() {
    return held.minimalCompletionStage();
  }

  /**
   * Completes, with the reason, when the lock was held and another node took it while this one's
   * connection was lost: this node must stop writing at once. Never completes otherwise.
   */
  public CompletionStage<SpoolException> lost() {
    return lost.minimalCompletionStage();
  }

  /**
   * Why the lock is not held now, for readiness: another node holds it, the database cannot be
   * reached, or it was refused or lost. {@code null} while it is held or being taken.
   */
  public String status() {
    return status;
  }

  /** The name its sessions carry ({@code application_name}), once it connected; for tests. */
  String applicationNameForTests() {
    return applicationName;
  }

  /** The lock's key (see {@link WriterLockSettings#key()}). */
  public long key() {
    return key;
  }

  // ---- on the lock's thread

  private void attempt() {
    if (closed) {
      return;
    }
    try {
      if (connection == null) {
        connection = connect();
      }
      if (tryLock()) {
        acquired();
        schedule(this::check, settings.checkInterval());
        return;
      }
      List<Holder> holders = holders();
      if (!holders.isEmpty() && holders.stream().allMatch(h -> h.applicationName().equals(applicationName))) {
        endOwnSessions(holders);
        schedule(this::attempt, settings.minBackoff());
      } else if (held.isDone()) {
        takenOver(describe(holders));
      } else {
        heldByAnother(describe(holders));
      }
    } catch (SQLException | RuntimeException e) {
      closeConnection();
      unreachable(e);
      schedule(this::attempt, backoff);
      backoff = backoff.multipliedBy(2).compareTo(settings.maxBackoff()) > 0 ? settings.maxBackoff()
          : backoff.multipliedBy(2);
    }
  }

  private void check() {
    if (closed) {
      return;
    }
    try (Statement s = connection.createStatement()) {
      s.execute("SELECT 1");
      schedule(this::check, settings.checkInterval());
    } catch (SQLException | RuntimeException e) {
      // The server frees a session's locks when the session ends: take it again at once, on a new one.
      log.warn("writer lock on {}: its connection was lost ({}); taking the lock again on a new one", database,
          oneLine(e));
      status = "the writer lock's connection to " + database + " was lost; taking it again";
      closeConnection();
      lostSince = System.nanoTime();
      backoff = settings.minBackoff();
      lastFailure = null;
      attempt();
    }
  }

  private void acquired() {
    status = null;
    backoff = settings.minBackoff();
    lastFailure = null;
    refusedSince = -1;
    if (!held.isDone()) {
      log.info("writer lock on {} taken ({}, key {}, as '{}'): {}", database, mode(), key, applicationName,
          settings.shared() ? "this cluster member writes to the database with the others"
              : "this node is the database's only writer");
      held.complete(Done.getInstance());
    } else {
      log.info("writer lock on {} taken again after {} ms without its connection", database,
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - lostSince));
    }
    lostSince = -1;
  }

  private void heldByAnother(String holders) {
    long now = System.nanoTime();
    if (refusedSince < 0) {
      refusedSince = now;
      log.warn("writer lock on {} is held by {}: waiting up to {} s for it (spool.persistence.writer-lock."
              + "wait-at-start), as a node that was killed frees it within {} s", database, holders,
          settings.waitAtStart().toSeconds(), freedWithin().toSeconds());
    }
    Duration waited = Duration.ofNanos(now - refusedSince);
    if (waited.compareTo(settings.waitAtStart()) >= 0) {
      SpoolException refusal = new SpoolException.DatabaseInUse("the database " + database + " is in use by another"
          + " Spool: " + holders + " holds its writer lock (spool.persistence.writer-lock, " + mode() + " here, key "
          + key + "), and two writers would corrupt its journal. Stop that one or give this one a database of its"
          + " own; a holder whose host died frees the lock within about " + freedWithin().toSeconds() + " s");
      status = refusal.getMessage();
      stop();
      held.completeExceptionally(refusal);
      return;
    }
    status = "waiting for the writer lock on " + database + ", held by " + holders + ", for up to "
        + settings.waitAtStart().toSeconds() + " s";
    Duration remaining = settings.waitAtStart().minus(waited);
    schedule(this::attempt, remaining.compareTo(settings.checkInterval()) < 0 ? remaining : settings.checkInterval());
  }

  private void takenOver(String holders) {
    SpoolException reason = new SpoolException.DatabaseInUse("the writer lock on " + database + " was taken by "
        + holders + " while this Spool's connection to the database was lost: two writers would corrupt the"
        + " journal, so this Spool stops writing");
    status = reason.getMessage();
    stop();
    lost.complete(reason);
  }

  private void unreachable(Exception e) {
    String failure = oneLine(e);
    status = "waiting for the writer lock on " + database + ": the database cannot be reached: " + failure;
    if (failure.equals(lastFailure)) {
      log.debug("writer lock on {}: still cannot be taken: {}", database, failure);
    } else {
      log.warn("writer lock on {}: cannot be taken yet, retrying with backoff up to {} s: {}", database,
          settings.maxBackoff().toSeconds(), failure);
    }
    lastFailure = failure;
  }

  private Connection connect() throws SQLException {
    if (applicationName == null) {
      applicationName = applicationName(); // the host's name may take a DNS lookup: here, not on the caller's thread
    }
    Properties props = new Properties();
    if (!settings.user().isEmpty()) {
      props.setProperty("user", settings.user());
    }
    if (!settings.password().isEmpty()) {
      props.setProperty("password", settings.password());
    }
    props.setProperty("ApplicationName", applicationName);
    props.setProperty("connectTimeout", String.valueOf(NETWORK_TIMEOUT.toSeconds()));
    props.setProperty("tcpKeepAlive", "true"); // this side too notices a database host that died
    Connection c = DriverManager.getConnection(settings.url(), props);
    try {
      c.setAutoCommit(true);
      c.setNetworkTimeout(Runnable::run, Math.toIntExact(NETWORK_TIMEOUT.toMillis()));
      try (Statement s = c.createStatement()) {
        // The server's probes of this session: a holder whose host died releases the lock in seconds.
        s.execute("SET tcp_keepalives_idle = " + settings.keepaliveIdle().toSeconds());
        s.execute("SET tcp_keepalives_interval = " + settings.keepaliveInterval().toSeconds());
        s.execute("SET tcp_keepalives_count = " + settings.keepaliveCount());
      }
      return c;
    } catch (SQLException | RuntimeException e) {
      c.close();
      throw e;
    }
  }

  private boolean tryLock() throws SQLException {
    String sql = settings.shared() ? "SELECT pg_try_advisory_lock_shared(?)" : "SELECT pg_try_advisory_lock(?)";
    try (PreparedStatement s = connection.prepareStatement(sql)) {
      s.setLong(1, key);
      try (ResultSet r = s.executeQuery()) {
        r.next();
        return r.getBoolean(1);
      }
    }
  }

  /** A session holding the lock, as {@code pg_locks} and {@code pg_stat_activity} show it. */
  private record Holder(int pid, String applicationName, String description) {}

  /** The other sessions holding the lock (a few). */
  private List<Holder> holders() throws SQLException {
    List<Holder> found = new ArrayList<>(HOLDERS_NAMED);
    try (PreparedStatement s = connection.prepareStatement(HOLDERS)) {
      s.setLong(1, key >>> 32);
      s.setLong(2, key & 0xFFFF_FFFFL);
      try (ResultSet r = s.executeQuery()) {
        while (r.next()) {
          String name = String.valueOf(r.getString(1));
          String address = r.getString(2);
          Timestamp since = r.getTimestamp(4);
          found.add(new Holder(r.getInt(3), name, "'" + name + "' ("
              + ("ExclusiveLock".equals(r.getString(5)) ? "exclusive" : "shared")
              + ", database session " + r.getInt(3) + " from " + (address == null ? "a local socket" : address)
              + (since == null ? "" : ", connected since " + since.toInstant().truncatedTo(ChronoUnit.SECONDS))
              + ")"));
        }
      }
    }
    return found;
  }

  private static String describe(List<Holder> holders) {
    return holders.isEmpty() ? "another session, which has just released it"
        : String.join(", ", holders.stream().map(Holder::description).toList());
  }

  /**
   * This lock's own earlier sessions, which still hold it: their connection timed out here while
   * the server still serves them (a network that stopped answering for a while). They are this
   * lock's, named uniquely, so ending them is safe, and another node is not to be blamed for them.
   */
  private void endOwnSessions(List<Holder> own) throws SQLException {
    for (Holder h : own) {
      log.warn("writer lock on {}: an earlier session of this node (database session {}) still holds it; ending it",
          database, h.pid());
      try (PreparedStatement s = connection.prepareStatement("SELECT pg_terminate_backend(?)")) {
        s.setInt(1, h.pid());
        s.execute();
      }
    }
  }

  private void schedule(Runnable task, Duration after) {
    try {
      thread.schedule(task, after.toMillis(), TimeUnit.MILLISECONDS);
    } catch (RejectedExecutionException stopped) {
      // closed meanwhile
    }
  }

  /** Gives up: the connection (and with it anything held) is closed and nothing more is tried. */
  private void stop() {
    closeConnection();
    thread.shutdown();
  }

  private void closeConnection() {
    if (connection != null) {
      try {
        connection.close();
      } catch (SQLException e) {
        log.debug("writer lock on {}: closing its connection failed: {}", database, e.getMessage());
      }
      connection = null;
    }
  }

  // ---- closing

  /**
   * Releases the lock (its connection is closed) and stops trying; waits a second at most, as the
   * release needs no wait to be safe: the process's end closes the connection too. {@link #held()} fails with {@code ShuttingDown} if it had not completed.
   */
  @Override
  public void close() {
    close(true);
  }

  /**
   * Releases the lock on its own thread without waiting for it: for an actor, which must not block.
   * The session ends moments later; whoever waits for the lock takes it then.
   */
  public void release() {
    close(false);
  }

  private void close(boolean wait) {
    if (closed) {
      return;
    }
    closed = true;
    try {
      thread.execute(() -> {
        boolean wasHeld = connection != null && held.isDone() && !held.isCompletedExceptionally()
            && !lost.isDone();
        closeConnection();
        if (wasHeld) {
          log.info("writer lock on {} released", database);
        }
      });
      thread.shutdown();
      if (wait) {
        thread.awaitTermination(CLOSE_WAIT.toMillis(), TimeUnit.MILLISECONDS);
      }
    } catch (RejectedExecutionException alreadyStopped) {
      // it gave up before: nothing is held
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    held.completeExceptionally(new SpoolException.ShuttingDown());
  }

  // ---- naming

  private String mode() {
    return settings.shared() ? "shared" : "exclusive";
  }

  /** How long after its host died a holder's lock is freed: the server's keepalive probes give up. */
  private Duration freedWithin() {
    return settings.keepaliveIdle().plus(settings.keepaliveInterval().multipliedBy(settings.keepaliveCount()));
  }

  /**
   * {@code spool 2026-11-30T21:40:12Z pid 4242 #3f2a on host}, within PostgreSQL's 63 bytes, never a
   * secret: the process's start time and pid, a token of this lock (two engines in one process are
   * two holders), and the host.
   */
  private static String applicationName() {
    ProcessHandle self = ProcessHandle.current();
    Instant started = self.info().startInstant().orElse(Instant.now()).truncatedTo(ChronoUnit.SECONDS);
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (java.io.IOException e) {
      host = System.getenv().getOrDefault("HOSTNAME", "unknown host");
    }
    String token = String.format("%04x", ThreadLocalRandom.current().nextInt(0x10000));
    String name = ("spool " + started + " pid " + self.pid() + " #" + token + " on " + host)
        .replaceAll("[^\\x20-\\x7e]", "?");
    return name.length() > APPLICATION_NAME_MAX ? name.substring(0, APPLICATION_NAME_MAX) : name;
  }

  /** A JDBC URL without its query part, where a password may be. */
  static String withoutQuery(String url) {
    int q = url.indexOf('?');
    return q < 0 ? url : url.substring(0, q);
  }

  private static String oneLine(Throwable t) {
    String text = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    return text.replaceAll("\\s+", " ");
  }
}
