package dev.spool.journal;

import static dev.spool.SpoolSettings.wholeNumber;

import com.typesafe.config.Config;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.Set;

/**
 * The settings of one SQLite journal file, shared by its journal plugin and snapshot store (see
 * {@code spool.journal.sqlite} in reference.conf).
 *
 * @param path the database file
 * @param synchronous SQLite's {@code synchronous}: FULL (a commit survives power loss) or NORMAL
 *     (a commit survives a process crash, not a power loss)
 * @param busyTimeout how long a statement waits for a lock another connection holds
 * @param maxQueuedWrites write operations waiting for the writer thread, and snapshots for the snapshot
 *     thread, before new ones are refused
 * @param maxQueuedReads read operations (replays, snapshot loads) waiting likewise, and segment
 *     reads waiting for the segment reader
 * @param maxBatch operations committed together at most (group commit)
 * @param chunkSize the size of the rows a snapshot is written in
 * @param maintenanceInterval how often, at most, the writer reclaims free pages and truncates the WAL
 * @param vacuumPages free pages returned to the file system per maintenance step at most
 * @param journalSizeLimit the WAL file's size kept after a checkpoint
 */
public record SqliteSettings(Path path, String synchronous, Duration busyTimeout, int maxQueuedWrites,
    int maxQueuedReads, int maxBatch, int chunkSize, Duration maintenanceInterval, int vacuumPages,
    long journalSizeLimit) {

  private static final Set<String> SYNCHRONOUS = Set.of("FULL", "NORMAL", "EXTRA");

  public SqliteSettings {
    path = path.toAbsolutePath().normalize();
    synchronous = synchronous.toUpperCase(Locale.ROOT);
    if (!SYNCHRONOUS.contains(synchronous)) {
      throw new IllegalArgumentException("synchronous must be FULL, NORMAL or EXTRA, not " + synchronous);
    }
    if (maxQueuedWrites < 1 || maxQueuedReads < 1 || maxBatch < 1 || chunkSize < 1024 || vacuumPages < 1) {
      throw new IllegalArgumentException("max-queued-writes, max-queued-reads, max-batch and vacuum-pages must be"
          + " positive, chunk-size at least 1KiB");
    }
  }

  /** Reads the settings from a {@code spool.journal.sqlite} block. */
  public static SqliteSettings create(Config c) {
    String path = c.getString("path");
    if (path.isBlank()) {
      throw new IllegalArgumentException("the SQLite journal's path is not set");
    }
    return new SqliteSettings(Path.of(path), c.getString("synchronous"), c.getDuration("busy-timeout"),
        wholeNumber(c, "max-queued-writes"), wholeNumber(c, "max-queued-reads"), wholeNumber(c, "max-batch"),
        Math.toIntExact(c.getBytes("snapshot-chunk-size")), c.getDuration("maintenance-interval"),
        wholeNumber(c, "vacuum-pages"), c.getBytes("journal-size-limit"));
  }
}
