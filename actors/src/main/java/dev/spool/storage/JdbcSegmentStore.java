package dev.spool.storage;

import static dev.spool.SpoolSettings.wholeNumber;

import com.typesafe.config.Config;
import dev.spool.journal.JournalUnavailableException;
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
import java.util.Properties;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Segments in PostgreSQL, table {@code spool_segment}, through plain JDBC: the driver is the
 * application's ({@code spool.storage.jdbc.url} names it), the engine does not depend on it. It
 * connects at once, creating the table if it is missing, and again whenever a connection broke.
 *
 * <p>Threading: a small fixed set of threads, each owning one connection, take operations from one
 * bounded queue; an operation that finds the queue full fails at once. A thread whose connection
 * broke opens another for its next operation; while the database cannot be reached, operations
 * fail with {@link JournalUnavailableException} (one connection attempt a second at most, not one
 * per operation). Each write is its own transaction: PostgreSQL flushes the commits of concurrent
 * connections together, so writers share fsyncs without waiting for one another here.
 */
public final class JdbcSegmentStore implements SegmentStore {

  private static final Logger log = LoggerFactory.getLogger(JdbcSegmentStore.class);

  /** After a failed connection attempt, operations fail with that failure for this long. */
  private static final long RECONNECT_AFTER_NANOS = TimeUnit.SECONDS.toNanos(1);

  static final String[] SCHEMA = {
      """
      CREATE TABLE IF NOT EXISTS spool_segment (
        queue_id TEXT NOT NULL,
        segment BIGINT NOT NULL,
        count INTEGER NOT NULL,
        codec INTEGER NOT NULL,
        key_id TEXT,
        checksum BIGINT NOT NULL,
        idx BYTEA NOT NULL,
        data BYTEA NOT NULL,
        PRIMARY KEY (queue_id, segment))""",
      // The data is compressed or encrypted already: TOAST stores it out of line without trying
      // to compress it again, and reads it back without decompressing.
      "ALTER TABLE spool_segment ALTER COLUMN data SET STORAGE EXTERNAL"};

  private static final String COLUMNS = SegmentColumns.COLUMNS;
  private static final String WRITE = "INSERT INTO spool_segment (" + COLUMNS + ", data)"
      + " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
      + " ON CONFLICT (queue_id, segment) DO UPDATE SET count = excluded.count, codec = excluded.codec,"
      + " key_id = excluded.key_id, checksum = excluded.checksum, idx = excluded.idx, data = excluded.data";
  private static final String READ = "SELECT " + COLUMNS
      + ", data FROM spool_segment WHERE queue_id = ? AND segment = ?";
  private static final String LIST = "SELECT " + COLUMNS + " FROM spool_segment WHERE queue_id = ? ORDER BY segment";
  private static final String DELETE_BELOW = "DELETE FROM spool_segment WHERE queue_id = ? AND segment < ?";
  private static final String DELETE_QUEUE = "DELETE FROM spool_segment WHERE queue_id = ?";

  /**
   * The settings of a store ({@code spool.storage.jdbc} in reference.conf).
   *
   * @param url the JDBC URL
   * @param user the database user
   * @param password the user's password: never logged, left out of {@link #toString}
   * @param threads threads, each with one connection
   * @param maxQueued operations waiting for a thread before new ones fail at once
   * @param networkTimeout how long an operation waits for the database's answer before its
   *     connection counts as broken
   */
  public record Settings(String url, String user, String password, int threads, int maxQueued,
      Duration networkTimeout) {

    public Settings {
      if (url == null || url.isBlank()) {
        throw new IllegalArgumentException("spool.storage.jdbc.url is not set");
      }
      if (threads < 1 || maxQueued < 1 || networkTimeout.isNegative() || networkTimeout.isZero()) {
        throw new IllegalArgumentException("spool.storage.jdbc.threads, max-queued and network-timeout must be"
            + " positive");
      }
    }

    /** Reads a {@code spool.storage.jdbc} block. */
    public static Settings create(Config c) {
      return new Settings(c.getString("url"), c.getString("user"), c.getString("password"), wholeNumber(c, "threads"),
          wholeNumber(c, "max-queued"), c.getDuration("network-timeout"));
    }

    /** The URL without its parameters, which may carry credentials: what messages name. */
    public String address() {
      int q = url.indexOf('?');
      return q < 0 ? url : url.substring(0, q);
    }

    @Override
    public String toString() {
      return "Settings[url=" + address() + ", user=" + user + ", threads=" + threads + ", maxQueued=" + maxQueued + "]";
    }
  }

  @FunctionalInterface
  private interface Work<T> {
    T run(Statements s) throws SQLException;
  }

  private record Task<T>(Work<T> work, CompletableFuture<T> result) {}

  private final Settings settings;
  private final BlockingQueue<Task<?>> tasks;
  private final List<Thread> threads = new ArrayList<>();
  private volatile boolean closed;

  // guarded by this
  private boolean schemaCreated;
  private JournalUnavailableException connectFailure;
  private long connectFailedAt;

  public JdbcSegmentStore(Settings settings) {
    this.settings = settings;
    this.tasks = new ArrayBlockingQueue<>(settings.maxQueued());
    for (int i = 0; i < settings.threads(); i++) {
      Thread t = new Thread(this::run, "spool-segment-jdbc-" + i);
      t.setDaemon(true);
      threads.add(t);
      t.start();
    }
    log.info("segment store: PostgreSQL at {} as {} ({} connections)", settings.address(), settings.user(),
        settings.threads());
    // Connects and creates the table now, so that a database that is not there is reported at start
    // (once) rather than at the first sealed segment; a failure only fails this warm-up.
    submit(x -> null);
  }

  @Override
  public CompletionStage<Void> write(SegmentRow row) {
    if (row.data() == null) {
      return CompletableFuture.failedFuture(new IllegalArgumentException("a segment row to write needs its data"));
    }
    return submit(s -> {
      PreparedStatement p = s.prepare(WRITE);
      SegmentColumns.bind(p, row);
      p.executeUpdate();
      return null;
    });
  }

  @Override
  public CompletionStage<SegmentRow> read(String queueId, long segment) {
    return submit(s -> {
      PreparedStatement p = s.prepare(READ);
      p.setString(1, queueId);
      p.setLong(2, segment);
      try (ResultSet rs = p.executeQuery()) {
        return rs.next() ? SegmentColumns.read(rs, rs.getBytes(8)) : null;
      }
    });
  }

  @Override
  public CompletionStage<List<SegmentRow>> list(String queueId) {
    return submit(s -> {
      PreparedStatement p = s.prepare(LIST);
      p.setString(1, queueId);
      List<SegmentRow> rows = new ArrayList<>();
      try (ResultSet rs = p.executeQuery()) {
        while (rs.next()) {
          rows.add(SegmentColumns.read(rs, null));
        }
      }
      return rows;
    });
  }

  @Override
  public CompletionStage<Void> deleteBelow(String queueId, long segment) {
    return submit(s -> {
      PreparedStatement p = s.prepare(DELETE_BELOW);
      p.setString(1, queueId);
      p.setLong(2, segment);
      p.executeUpdate();
      return null;
    });
  }

  @Override
  public CompletionStage<Void> deleteQueue(String queueId) {
    return submit(s -> {
      PreparedStatement p = s.prepare(DELETE_QUEUE);
      p.setString(1, queueId);
      p.executeUpdate();
      return null;
    });
  }


  private <T> CompletableFuture<T> submit(Work<T> work) {
    CompletableFuture<T> result = new CompletableFuture<>();
    Task<T> task = new Task<>(work, result);
    if (closed) {
      result.completeExceptionally(unavailable("is closed", null));
    } else if (!tasks.offer(task)) {
      result.completeExceptionally(unavailable("has " + tasks.size() + " operations waiting already; try again later",
          null));
    } else if (closed && tasks.remove(task)) {
      // closed meanwhile: the threads may have stopped already, and would never take it
      result.completeExceptionally(unavailable("is closed", null));
    }
    return result;
  }

  private JournalUnavailableException unavailable(String what, Throwable cause) {
    return new JournalUnavailableException("the segment store at " + settings.address() + " " + what, cause);
  }

  // ---- the threads

  /** One thread's connection and its prepared statements, which PostgreSQL plans once per connection. */
  private final class Statements implements AutoCloseable {
    final Connection c;
    final Map<String, PreparedStatement> prepared = new HashMap<>();

    Statements(Connection c) {
      this.c = c;
    }

    PreparedStatement prepare(String sql) throws SQLException {
      PreparedStatement p = prepared.get(sql);
      if (p == null) {
        p = c.prepareStatement(sql);
        prepared.put(sql, p);
      }
      return p;
    }

    @Override
    public void close() {
      try {
        c.close();
      } catch (SQLException e) {
        log.debug("closing a segment store connection failed: {}", e.getMessage());
      }
    }
  }

  private void run() {
    Statements s = null;
    while (true) {
      Task<?> task;
      try {
        task = tasks.poll(100, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        break;
      }
      if (task == null) {
        if (closed) {
          break;
        }
        continue;
      }
      try {
        if (s == null) {
          s = new Statements(connect());
        }
        complete(task, task.work().run(s));
      } catch (JournalUnavailableException e) {
        task.result().completeExceptionally(e);
      } catch (SQLException e) {
        task.result().completeExceptionally(unavailable("failed: " + e.getMessage(), e));
        if (lost(s, e)) {
          log.warn("segment store at {}: the connection failed, another is opened for the next operation: {}",
              settings.address(), e.getMessage());
          s.close();
          s = null;
        }
      } catch (RuntimeException e) {
        task.result().completeExceptionally(e);
      }
    }
    if (s != null) {
      s.close();
    }
  }

  @SuppressWarnings("unchecked")
  private static <T> void complete(Task<T> task, Object value) {
    task.result().complete((T) value);
  }

  /** Whether the connection is no longer usable: a connection error, or it fails a check. */
  private static boolean lost(Statements s, SQLException e) {
    String state = e.getSQLState();
    if (state != null && state.startsWith("08")) {
      return true;
    }
    try {
      return !s.c.isValid(2);
    } catch (SQLException invalid) {
      return true;
    }
  }

  /** A new connection, creating the table first if no connection did yet. */
  private Connection connect() {
    synchronized (this) {
      if (connectFailure != null && System.nanoTime() - connectFailedAt < RECONNECT_AFTER_NANOS) {
        throw connectFailure;
      }
    }
    Properties props = new Properties();
    if (!settings.user().isEmpty()) {
      props.setProperty("user", settings.user());
    }
    if (!settings.password().isEmpty()) {
      props.setProperty("password", settings.password());
    }
    Connection c = null;
    try {
      c = DriverManager.getConnection(settings.url(), props);
      c.setAutoCommit(true);
      // a database that stopped answering (a network partition) must not hold a thread forever
      c.setNetworkTimeout(Runnable::run, Math.toIntExact(settings.networkTimeout().toMillis()));
      createSchema(c);
      synchronized (this) {
        connectFailure = null;
      }
      return c;
    } catch (SQLException | RuntimeException e) {
      if (c != null) {
        try {
          c.close();
        } catch (SQLException ignored) {
          // failing already
        }
      }
      JournalUnavailableException failure = unavailable("cannot be reached: " + e.getMessage(), e);
      synchronized (this) {
        if (connectFailure == null) {
          log.warn("{}", failure.getMessage());
        }
        connectFailure = failure;
        connectFailedAt = System.nanoTime();
      }
      throw failure;
    }
  }

  private void createSchema(Connection c) throws SQLException {
    synchronized (this) {
      if (schemaCreated) {
        return;
      }
      // Threads connecting at once would race on CREATE TABLE IF NOT EXISTS, which PostgreSQL does
      // not make safe against a concurrent creation: one thread creates it, under this lock.
      try (Statement s = c.createStatement()) {
        for (String ddl : SCHEMA) {
          s.execute(ddl);
        }
      }
      schemaCreated = true;
    }
  }

  // ---- closing

  /** Stops the threads after the operations already accepted; later ones fail. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    for (Thread t : threads) {
      try {
        t.join(TimeUnit.SECONDS.toMillis(30));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
    }
    JournalUnavailableException e = unavailable("is closed", null);
    for (Task<?> t; (t = tasks.poll()) != null; ) {
      t.result().completeExceptionally(e);
    }
  }
}
