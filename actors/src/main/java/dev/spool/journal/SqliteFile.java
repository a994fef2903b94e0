package dev.spool.journal;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One SQLite journal file as the {@link SqliteStore}'s threads open it: the lock that keeps other
 * processes out, the file's creation in WAL mode, its check and its tables, done once (and again
 * after damage was found), and the translation of SQLite's failures into what callers see. An
 * open that failed is remembered for a moment, so that every operation does not try again at once.
 *
 * <p>Thread-safe: the store's writer and reader threads both open connections through it; its
 * state is guarded by its lock.
 */
final class SqliteFile {

  private static final Logger log = LoggerFactory.getLogger(SqliteFile.class);

  /** After a failed open, operations fail with that failure for this long instead of each opening again. */
  private static final long REOPEN_AFTER_NANOS = TimeUnit.SECONDS.toNanos(1);

  // SQLite's primary result codes that mean the connection, not the statement, is in trouble.
  private static final int SQLITE_BUSY = 5;
  private static final int SQLITE_NOMEM = 7;
  private static final int SQLITE_IOERR = 10;
  private static final int SQLITE_CORRUPT = 11;
  private static final int SQLITE_FULL = 13;
  private static final int SQLITE_CANTOPEN = 14;
  private static final int SQLITE_NOTADB = 26;

  static final String SCHEMA = """
      CREATE TABLE IF NOT EXISTS journal (
        persistence_id TEXT NOT NULL,
        sequence_nr INTEGER NOT NULL,
        writer_uuid TEXT NOT NULL,
        write_timestamp INTEGER NOT NULL,
        adapter_manifest TEXT NOT NULL,
        ser_id INTEGER NOT NULL,
        ser_manifest TEXT NOT NULL,
        payload BLOB NOT NULL,
        PRIMARY KEY (persistence_id, sequence_nr));
      CREATE TABLE IF NOT EXISTS journal_deleted (
        persistence_id TEXT PRIMARY KEY,
        deleted_to INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS snapshot (
        id INTEGER PRIMARY KEY,
        persistence_id TEXT NOT NULL,
        sequence_nr INTEGER NOT NULL,
        created INTEGER NOT NULL,
        ser_id INTEGER NOT NULL,
        ser_manifest TEXT NOT NULL,
        streamed INTEGER NOT NULL,
        size INTEGER NOT NULL,
        UNIQUE (persistence_id, sequence_nr));
      CREATE TABLE IF NOT EXISTS snapshot_chunk (
        snapshot_id INTEGER NOT NULL,
        chunk INTEGER NOT NULL,
        bytes BLOB NOT NULL,
        PRIMARY KEY (snapshot_id, chunk));
      CREATE TABLE IF NOT EXISTS segment (
        queue_id TEXT NOT NULL,
        segment INTEGER NOT NULL,
        count INTEGER NOT NULL,
        codec INTEGER NOT NULL,
        key_id TEXT,
        checksum INTEGER NOT NULL,
        idx BLOB NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (queue_id, segment));
      """;

  private final SqliteSettings settings;

  // guarded by this
  private boolean initialized;
  private JournalUnavailableException openFailure;
  private long openFailedAt;
  private FileChannel lockFile;
  private FileLock lock;

  SqliteFile(SqliteSettings settings) {
    this.settings = settings;
  }

  /**
   * A new connection to the file (read-only with {@code forReading}), initializing the file first
   * if it is not yet.
   *
   * @throws JournalUnavailableException if the file cannot be opened or used
   */
  Connection open(boolean forReading) {
    initialize();
    try {
      Connection c = connect(settings.path());
      try (Statement s = c.createStatement()) {
        s.execute("PRAGMA busy_timeout = " + settings.busyTimeout().toMillis());
        s.execute("PRAGMA synchronous = " + settings.synchronous());
        s.execute("PRAGMA journal_size_limit = " + settings.journalSizeLimit());
        if (forReading) {
          s.execute("PRAGMA query_only = 1");
        }
      }
      return c;
    } catch (SQLException e) {
      throw translate(e);
    }
  }

  /**
   * Once per store (again after damage was found): locks the file against other processes,
   * creates it in WAL mode with incremental vacuum, checks it, and creates the tables.
   */
  /** The tables whose structure is checked at open: what recovery reads, all of it, at every start. */
  private static final List<String> CHECKED = List.of("journal", "journal_deleted", "snapshot", "snapshot_chunk");

  /**
   * What SQLite's quick check finds wrong in the journal's and snapshots' tables, nothing if they
   * are sound. Not the whole file: the segment table holds a persistent queue's backlog, which may be
   * many times larger, and a check of it would make every start take time with the backlog; its rows
   * carry their own checksums, verified whenever one is read.
   */
  private static List<String> quickCheck(Statement s) throws SQLException {
    List<String> tables = new ArrayList<>();
    try (ResultSet rs = s.executeQuery("SELECT name FROM sqlite_master WHERE type = 'table'")) {
      while (rs.next()) {
        if (CHECKED.contains(rs.getString(1))) {
          tables.add(rs.getString(1));
        }
      }
    }
    List<String> problems = new ArrayList<>();
    for (String table : tables) {
      try (ResultSet rs = s.executeQuery("PRAGMA quick_check(" + table + ")")) {
        while (rs.next() && problems.size() < 5) {
          if (!"ok".equals(rs.getString(1))) {
            problems.add(rs.getString(1));
          }
        }
      }
    }
    return problems;
  }

  /**
   * The journal's directory, made owner-only when Spool makes it: the files in it hold every
   * message's payload, and SQLite creates them (and its WAL files) with the process's umask. A
   * directory that exists already is left as its owner set it.
   */
  private static void createOwnerOnly(Path dir) throws java.io.IOException {
    if (Files.isDirectory(dir)) {
      return;
    }
    try {
      Files.createDirectories(dir, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
          java.nio.file.attribute.PosixFilePermissions.fromString("rwx------")));
    } catch (UnsupportedOperationException notPosix) {
      Files.createDirectories(dir);
    }
  }

  private synchronized void initialize() {
    if (initialized) {
      return;
    }
    if (openFailure != null && System.nanoTime() - openFailedAt < REOPEN_AFTER_NANOS) {
      throw openFailure;
    }
    Path path = settings.path();
    try {
      createOwnerOnly(path.toAbsolutePath().getParent());
      lock(path);
      try (Connection c = connect(path); Statement s = c.createStatement()) {
        s.execute("PRAGMA busy_timeout = " + settings.busyTimeout().toMillis());
        // Only takes effect on a new, empty file; a file made without it keeps its mode.
        s.execute("PRAGMA auto_vacuum = INCREMENTAL");
        String mode = text(s, "PRAGMA journal_mode = WAL");
        if (!"wal".equalsIgnoreCase(mode)) {
          throw new JournalUnavailableException(path, "the journal file " + path + " cannot use WAL mode (" + mode
              + ")", false, null);
        }
        List<String> problems = quickCheck(s);
        if (!problems.isEmpty()) {
          throw JournalUnavailableException.damaged(path, String.join("; ", problems), null);
        }
        for (String ddl : SCHEMA.split(";")) {
          if (!ddl.isBlank()) {
            s.execute(ddl);
          }
        }
        s.execute("BEGIN IMMEDIATE");
        int removed = SqliteSnapshotStore.removeIncomplete(c);
        s.execute("COMMIT");
        if (removed > 0) {
          log.info("journal {}: removed {} snapshots whose save did not finish", path, removed);
        }
      }
      initialized = true;
      openFailure = null;
      log.info("journal: SQLite at {} (WAL, synchronous={})", path, settings.synchronous());
    } catch (JournalUnavailableException e) {
      failedToOpen(e);
      throw e;
    } catch (SQLException e) {
      JournalUnavailableException failure = translate(e);
      failedToOpen(failure);
      throw failure;
    } catch (IOException | RuntimeException e) {
      JournalUnavailableException failure = new JournalUnavailableException(path, "the journal file " + path
          + " cannot be opened: " + e.getMessage(), false, e);
      failedToOpen(failure);
      throw failure;
    }
  }

  private synchronized void failedToOpen(JournalUnavailableException e) {
    // The engine reports a journal that cannot be opened once, for every queue it holds up (an ERROR
    // naming the recovery tool when the file is damaged): here only for debugging.
    if (openFailure == null || !String.valueOf(openFailure.getMessage()).equals(e.getMessage())) {
      log.debug("{}", e.getMessage());
    }
    openFailure = e;
    openFailedAt = System.nanoTime();
    releaseLock();
  }

  /** One process at a time: a second Spool on the same file would be a second writer to the same queues. */
  private synchronized void lock(Path path) throws IOException {
    if (lock != null) {
      return;
    }
    Path lockPath = path.resolveSibling(path.getFileName() + ".lock");
    FileChannel channel = FileChannel.open(lockPath, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    FileLock l;
    try {
      l = channel.tryLock();
    } catch (OverlappingFileLockException e) {
      l = null;
    }
    if (l == null) {
      channel.close();
      throw new JournalUnavailableException(path, "the journal file " + path + " is in use by another Spool"
          + " (it holds " + lockPath + ")", false, null);
    }
    lockFile = channel;
    lock = l;
  }

  /** Lets another process open the file (the store is closed, or opening it failed). */
  synchronized void releaseLock() {
    try {
      if (lock != null) {
        lock.release();
      }
      if (lockFile != null) {
        lockFile.close();
      }
    } catch (IOException e) {
      log.warn("journal {}: cannot release its lock: {}", settings.path(), e.getMessage());
    }
    lock = null;
    lockFile = null;
  }

  static Connection connect(Path path) throws SQLException {
    return DriverManager.getConnection("jdbc:sqlite:" + path);
  }

  /** The exception callers see; damage also makes the next open check the file again. */
  JournalUnavailableException translate(SQLException e) {
    int code = e.getErrorCode() & 0xff;
    if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB) {
      synchronized (this) {
        initialized = false;
      }
      return JournalUnavailableException.damaged(settings.path(), e.getMessage(), e);
    }
    return new JournalUnavailableException(settings.path(), "the journal " + settings.path() + " failed: "
        + e.getMessage(), false, e);
  }

  /** Whether {@code e} means the connection, not the statement, is in trouble: it is closed and opened again. */
  static boolean connectionLost(SQLException e) {
    int code = e.getErrorCode() & 0xff;
    return code == SQLITE_IOERR || code == SQLITE_CORRUPT || code == SQLITE_NOTADB || code == SQLITE_FULL
        || code == SQLITE_CANTOPEN || code == SQLITE_NOMEM || code == SQLITE_BUSY;
  }

  static long single(Statement s, String sql) throws SQLException {
    try (ResultSet rs = s.executeQuery(sql)) {
      return rs.next() ? rs.getLong(1) : 0;
    }
  }

  private static String text(Statement s, String sql) throws SQLException {
    try (ResultSet rs = s.executeQuery(sql)) {
      return rs.next() ? rs.getString(1) : null;
    }
  }
}
