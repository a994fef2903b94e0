package dev.spool.journal;

import java.nio.file.Path;

/**
 * The SQLite journal (or a segment store's database) could not do an operation: its file cannot be
 * opened, is damaged, is used by another process, its server cannot be reached, or its queue of
 * waiting operations is full. Nothing of the failed operation is stored; the next operation tries
 * again (a queue's journal retries with backoff).
 */
public final class JournalUnavailableException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  private final transient Path path;
  private final boolean damaged;

  JournalUnavailableException(Path path, String message, boolean damaged, Throwable cause) {
    super(message, cause);
    this.path = path;
    this.damaged = damaged;
  }

  /**
   * A database server (PostgreSQL, for the segment store) cannot do the operation: it is down,
   * unreachable, or its queue of waiting operations is full.
   */
  public JournalUnavailableException(String message, Throwable cause) {
    this(null, message, false, cause);
  }

  /** The journal file; {@code null} for a database server. */
  public Path path() {
    return path;
  }

  /** Whether the file is damaged, so that only {@link RecoverJournal} can make it usable again. */
  public boolean damaged() {
    return damaged;
  }

  static JournalUnavailableException damaged(Path path, String detail, Throwable cause) {
    String oneLine = String.valueOf(detail).replaceAll("\\s+", " "); // SQLite's check reports a line per problem
    return new JournalUnavailableException(path, "the journal file " + path + " is damaged (" + oneLine + "): stop"
        + " Spool and run 'java -cp " + jar() + " " + RecoverJournal.class.getName() + " " + path + "', which copies"
        + " every readable row into a fresh file and moves the damaged one aside", true, cause);
  }

  /** The jar Spool runs from, so that the command can be pasted as it is. */
  private static String jar() {
    try {
      Path jar = Path.of(RecoverJournal.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      return jar.toString().endsWith(".jar") ? jar.toString() : "spool.jar";
    } catch (Exception e) {
      return "spool.jar";
    }
  }
}
