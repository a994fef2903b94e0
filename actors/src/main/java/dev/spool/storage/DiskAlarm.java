package dev.spool.storage;

import dev.spool.DiskStats;
import dev.spool.SpoolEvent;
import dev.spool.SpoolException;
import dev.spool.SpoolSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;

/**
 * The disk alarm of the embedded journal, like RabbitMQ's {@code disk_free_limit}: while the file
 * system holding the SQLite journal file has less usable space than the limit, publishes to
 * persistent queues are refused with {@code QueueFull}, so that the journal never fills the disk
 * with writes it cannot then commit (SQLite needs room for its WAL and checkpoints, and snapshots
 * and consumer positions must still be written). Transient queues, consumers and acknowledgements
 * go on: they add nothing, or little, to the file.
 *
 * <p>The alarm is raised when free space falls under the limit and cleared only once it is back
 * above the limit plus {@link #CLEAR_MARGIN} of it. Without that margin it would flap near the
 * limit: the WAL grows with each commit and shrinks at each checkpoint, moving free space by
 * megabytes between two checks, and each flip is an event, a log line and a change of answer to
 * producers.
 *
 * <p>A measure that fails (the directory is gone, an I/O error) changes nothing: the alarm keeps
 * its state until a measure succeeds, so a raised alarm is not cleared by a file system that
 * cannot say how full it is.
 *
 * <p>Single writer: only its owner (the janitor, on its own thread) {@linkplain #update updates}
 * it, with what {@link #measure()} found off that thread. Queues read it from theirs: {@link #low()}
 * is one volatile read, the whole cost on the publish path.
 */
public final class DiskAlarm {

  /** Share of the limit free space must rise above it again for the alarm to clear. */
  public static final double CLEAR_MARGIN = 0.05;

  /** What an {@link #update} changed. */
  public enum Change {
    NONE,
    /** Free space fell under the limit: the alarm is raised. */
    LOW,
    /** Free space rose back above the limit and its margin: the alarm is cleared. */
    NORMAL
  }

  private static final DiskAlarm OFF = new DiskAlarm(0, null, path -> Long.MAX_VALUE);

  private final long limitBytes;
  private final Path path;
  private final SpoolSettings.FreeSpace freeSpace;
  private volatile boolean low; // written by the single writer
  private volatile long freeBytes = -1;

  /**
   * @param limitBytes free bytes under which the alarm is raised; 0 for none
   * @param path the journal file (it may not exist yet: its nearest existing directory is measured)
   * @param freeSpace how usable space is measured
   */
  public DiskAlarm(long limitBytes, Path path, SpoolSettings.FreeSpace freeSpace) {
    if (limitBytes < 0) {
      throw new IllegalArgumentException("the disk free limit must not be negative");
    }
    this.limitBytes = path == null ? 0 : limitBytes;
    this.path = path;
    this.freeSpace = freeSpace;
  }

  /** The alarm the settings ask for: none without an embedded SQLite journal or with a limit of 0. */
  public static DiskAlarm create(SpoolSettings.Disk disk) {
    return disk.enabled() ? new DiskAlarm(disk.freeLimitBytes(), disk.journalFile(), disk.freeSpace()) : OFF;
  }

  /** An alarm that never rings: no embedded journal to watch. */
  public static DiskAlarm off() {
    return OFF;
  }

  /** Whether there is anything to watch. */
  public boolean enabled() {
    return limitBytes > 0;
  }

  /** Whether the alarm is raised: publishes to persistent queues are refused. */
  public boolean low() {
    return low;
  }

  /** Usable bytes as last measured; -1 before the first measure. */
  public long freeBytes() {
    return freeBytes;
  }

  public long limitBytes() {
    return limitBytes;
  }

  /** The journal file whose file system is watched; {@code null} when the alarm is off. */
  public Path path() {
    return path;
  }

  /**
   * Usable bytes on the file system of the journal file, or of its nearest existing directory
   * before the file is created. A system call that may block (a network file system): call it
   * off the actor's thread.
   */
  public long measure() throws IOException {
    Path existing = path;
    while (existing != null && !Files.exists(existing)) {
      existing = existing.getParent();
    }
    if (existing == null) {
      throw new IOException("neither " + path + " nor any directory above it exists");
    }
    return freeSpace.usableBytes(existing);
  }

  /**
   * Takes in a measure of usable bytes and decides whether the alarm is raised or cleared. Only the
   * owner calls it, on its own thread.
   */
  public Change update(long usableBytes) {
    freeBytes = usableBytes;
    if (!enabled()) {
      return Change.NONE;
    }
    if (!low && usableBytes < limitBytes) {
      low = true;
      return Change.LOW;
    }
    if (low && usableBytes >= clearAboveBytes()) {
      low = false;
      return Change.NORMAL;
    }
    return Change.NONE;
  }

  /** What the alarm last found, for the API and metrics. */
  public DiskStats stats() {
    return new DiskStats(low, freeBytes, limitBytes, path == null ? null : path.toString());
  }

  /** Usable bytes at which a raised alarm clears: the limit plus its margin. */
  public long clearAboveBytes() {
    return limitBytes + (long) (limitBytes * CLEAR_MARGIN);
  }

  /** The event announcing {@code change}, or {@code null} for none. */
  public SpoolEvent event(Change change, Instant at) {
    return switch (change) {
      case LOW -> new SpoolEvent.DiskLow(at, freeBytes, limitBytes, path.toString());
      case NORMAL -> new SpoolEvent.DiskNormal(at, freeBytes, limitBytes, path.toString());
      case NONE -> null;
    };
  }

  /**
   * Admits a publish to the persistent queue {@code queue}, unless the alarm is raised.
   *
   * @throws SpoolException.QueueFull while disk space is low; nothing of the publish was kept
   */
  public void requireRoom(String queue) {
    if (low) {
      throw new SpoolException.QueueFull("disk space is low: " + freeBytes + " bytes free on the file system of "
          + path + ", under spool.storage.disk-free-limit of " + limitBytes + " bytes; publishes to persistent queue '"
          + queue + "' are refused until more than " + clearAboveBytes() + " bytes are free");
    }
  }
}
