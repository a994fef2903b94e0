package dev.spool.journal;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;

/**
 * Recovers a damaged SQLite journal: copies every row it can read into a fresh file, row by row in
 * rowid order, stepping over rows and pages it cannot read; drops snapshots that lost a chunk or
 * whose save never finished (a queue then recovers from an older snapshot or its events); moves the damaged file aside and puts
 * the fresh one in its place. Run it with Spool stopped:
 *
 * <pre>java -cp spool.jar dev.spool.journal.RecoverJournal data/journal/spool.db</pre>
 *
 * It prints what it kept and what it skipped. Events it could not read are lost: a queue whose
 * snapshot and events no longer join up recovers what remains.
 */
public final class RecoverJournal {

  /** What was copied from one table. */
  public record TableReport(String table, long kept, long unreadableRanges, long skippedRowids) {}

  /** What a recovery did. */
  public record Report(Path recovered, Path damaged, List<TableReport> tables, long incompleteSnapshots) {}

  private static final String[] TABLES = {"journal", "journal_deleted", "snapshot", "snapshot_chunk", "segment"};
  private static final String[][] COLUMNS = {
      {"persistence_id", "sequence_nr", "writer_uuid", "write_timestamp", "adapter_manifest", "ser_id", "ser_manifest",
          "payload"},
      {"persistence_id", "deleted_to"},
      {"id", "persistence_id", "sequence_nr", "created", "ser_id", "ser_manifest", "streamed", "size"},
      {"snapshot_id", "chunk", "bytes"},
      {"queue_id", "segment", "count", "codec", "key_id", "checksum", "idx", "data"}};
  private static final int BATCH = 500;

  private RecoverJournal() {}

  public static void main(String[] args) {
    if (args.length != 1) {
      System.err.println("usage: java -cp spool.jar " + RecoverJournal.class.getName() + " <journal file, e.g."
          + " data/journal/spool.db>");
      System.exit(2);
    }
    try {
      Report r = recover(Path.of(args[0]), System.out);
      System.out.println("recovered into " + r.recovered() + "; the damaged file is now " + r.damaged());
    } catch (Exception e) {
      System.err.println("recovery failed: " + e.getMessage());
      System.exit(1);
    }
  }

  /** Recovers {@code file} in place, printing progress to {@code out}. */
  public static Report recover(Path file, PrintStream out) throws IOException, SQLException {
    Path path = file.toAbsolutePath().normalize();
    if (!Files.isRegularFile(path)) {
      throw new IOException(path + " is not a file");
    }
    Path lockPath = path.resolveSibling(path.getFileName() + ".lock");
    try (FileChannel lockFile = FileChannel.open(lockPath, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
      FileLock lock = lockFile.tryLock();
      if (lock == null) {
        throw new IOException(path + " is in use by a running Spool; stop it first");
      }
      try {
        return recoverLocked(path, out);
      } finally {
        lock.release();
      }
    }
  }

  private static Report recoverLocked(Path path, PrintStream out) throws IOException, SQLException {
    Path fresh = path.resolveSibling(path.getFileName() + ".recovering");
    deleteWithSidecars(fresh);
    List<TableReport> tables = new ArrayList<>();
    long incomplete;
    try (Connection from = SqliteFile.connect(path); Connection to = SqliteFile.connect(fresh);
        Statement s = to.createStatement()) {
      try (Statement f = from.createStatement()) {
        f.execute("PRAGMA query_only = 1");
      }
      s.execute("PRAGMA auto_vacuum = INCREMENTAL");
      s.execute("PRAGMA journal_mode = WAL");
      for (String ddl : SqliteFile.SCHEMA.split(";")) {
        if (!ddl.isBlank()) {
          s.execute(ddl);
        }
      }
      for (int t = 0; t < TABLES.length; t++) {
        // a file written before the table existed has none to copy
        TableReport r = missing(from, TABLES[t]) ? new TableReport(TABLES[t], 0, 0, 0)
            : copy(from, to, TABLES[t], COLUMNS[t]);
        out.printf("%-15s kept %,d rows; %,d unreadable ranges, %,d rowids skipped%n", r.table(), r.kept(),
            r.unreadableRanges(), r.skippedRowids());
        tables.add(r);
      }
      s.execute("BEGIN");
      incomplete = s.executeUpdate("DELETE FROM snapshot WHERE size <> coalesce((SELECT sum(length(bytes))"
          + " FROM snapshot_chunk WHERE snapshot_id = snapshot.id), 0)");
      s.executeUpdate("DELETE FROM snapshot_chunk WHERE snapshot_id NOT IN (SELECT id FROM snapshot)");
      s.execute("COMMIT");
      out.printf("dropped %,d snapshots that lost a chunk or were never finished%n", incomplete);
      s.execute("PRAGMA wal_checkpoint(TRUNCATE)");
    }
    Path damaged = path.resolveSibling(path.getFileName() + ".damaged-"
        + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
    for (String suffix : new String[] {"", "-wal", "-shm"}) {
      Path p = Path.of(path + suffix);
      if (Files.exists(p)) {
        Files.move(p, Path.of(damaged + suffix));
      }
    }
    Files.move(fresh, path, StandardCopyOption.ATOMIC_MOVE);
    deleteWithSidecars(fresh);
    return new Report(path, damaged, tables, incomplete);
  }

  /**
   * Copies a table in rowid order. A read that fails means the row after the last one copied is
   * unreadable: the copy steps over it, doubling the step while reads keep failing.
   */
  private static TableReport copy(Connection from, Connection to, String table, String[] columns)
      throws SQLException {
    String list = String.join(", ", columns);
    String insert = "INSERT OR IGNORE INTO " + table + " (" + list + ") VALUES ("
        + "?, ".repeat(columns.length - 1) + "?)";
    long kept = 0;
    long ranges = 0;
    long skipped = 0;
    long last = 0; // rowids start at 1
    long failedAfter = -1;
    String select = "SELECT rowid, " + list + " FROM " + table + " WHERE rowid > ? ORDER BY rowid LIMIT " + BATCH;
    try (PreparedStatement write = to.prepareStatement(insert); Statement s = to.createStatement()) {
      while (true) {
        int n = 0;
        s.execute("BEGIN");
        // a statement that met a damaged page is not used again
        try (PreparedStatement read = from.prepareStatement(select)) {
          read.setLong(1, last);
          try (ResultSet rs = read.executeQuery()) {
            while (rs.next()) {
              long rowid = rs.getLong(1);
              if (rowid <= last) { // rows out of order: a damaged page that still looks like one
                throw new SQLException("rowid " + rowid + " after " + last);
              }
              for (int i = 0; i < columns.length; i++) {
                write.setObject(i + 1, rs.getObject(i + 2));
              }
              write.executeUpdate();
              last = rowid;
              kept++;
              n++;
            }
          }
          s.execute("COMMIT");
        } catch (SQLException e) {
          s.execute("COMMIT"); // keep what was copied before the failure
          // Failing again where the last one resumed: that row reads alone but not in a scan; step past it.
          boolean again = last == failedAfter;
          if (!again) {
            ranges++;
          }
          long resumed = resumeAfter(from, table, list, again ? last + 1 : last);
          if (resumed == END) {
            break;
          }
          skipped += resumed - last - 1;
          last = resumed - 1;
          failedAfter = last;
          continue;
        }
        if (n < BATCH) {
          break;
        }
      }
    }
    return new TableReport(table, kept, ranges, skipped);
  }

  /** Whether the file surely has no such table (its schema reads and does not list it). */
  private static boolean missing(Connection c, String table) {
    try (PreparedStatement p = c.prepareStatement(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?")) {
      p.setString(1, table);
      try (ResultSet rs = p.executeQuery()) {
        return rs.next() && rs.getLong(1) == 0;
      }
    } catch (SQLException e) {
      return false; // a damaged schema: the copy finds out what it can read
    }
  }

  private static final long END = -2;
  private static final long UNREADABLE = -1;

  /** The next rowid after {@code last} that reads whole, probing ever further; {@link #END} if none does. */
  private static long resumeAfter(Connection c, String table, String list, long last) {
    for (long step = 1; last + step > last; step *= 2) {
      long r = firstReadable(c, table, list, last + step);
      if (r == END || r > last) {
        return r;
      }
    }
    return END;
  }

  /** The first rowid at or after {@code from} if its row reads whole; {@link #END} if there is none. */
  private static long firstReadable(Connection c, String table, String list, long from) {
    try (PreparedStatement p = c.prepareStatement("SELECT rowid, " + list + " FROM " + table
        + " WHERE rowid >= ? ORDER BY rowid LIMIT 1")) {
      p.setLong(1, from);
      try (ResultSet rs = p.executeQuery()) {
        if (!rs.next()) {
          return END;
        }
        for (int i = 2; i <= rs.getMetaData().getColumnCount(); i++) {
          rs.getObject(i);
        }
        return rs.getLong(1);
      }
    } catch (SQLException e) {
      return UNREADABLE;
    }
  }

  private static void deleteWithSidecars(Path p) throws IOException {
    for (String suffix : new String[] {"", "-wal", "-shm"}) {
      Files.deleteIfExists(Path.of(p + suffix));
    }
  }
}
