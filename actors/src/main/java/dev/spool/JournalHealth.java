package dev.spool;

import java.time.Instant;
import java.util.List;
import java.util.Locale;

/**
 * Whether the journal of durable queues can take writes, for readiness probes and operators: the
 * journals that cannot write now, each with its state, why, and since when. Empty when every
 * durable queue's journal writes (and always for an engine without durable queues).
 *
 * @param problems the journals not {@link State#OK}, the registry of durable queues first, then by queue name
 * @since 0.1.0
 */
public record JournalHealth(List<Problem> problems) {

  /** No problem: every journal writes. */
  public static final JournalHealth HEALTHY = new JournalHealth(List.of());

  /** Keeps copies of the collections: the record never changes. */
  public JournalHealth {
    problems = List.copyOf(problems);
  }

  /** Whether every journal can write. */
  public boolean healthy() {
    return problems.isEmpty();
  }

  /** A journal's state. */
  public enum State {
    /** Being read at start; commands wait for it. */
    RECOVERING,
    /** Writes complete. */
    OK,
    /** A write failed; the journal restarts and reads itself again to learn what it holds. */
    WRITE_FAILED,
    /** A write has been under way longer than {@code spool.persistence.write-stall-after}. */
    WRITE_STALLED,
    /** The journal cannot be read (recovery fails); it retries with backoff. */
    UNAVAILABLE;

    /** The name in JSON and logs: {@code write-stalled}. */
    public String wireName() {
      return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
  }

  /**
   * One journal that cannot write.
   *
   * @param queue the durable queue, or {@code null} for the registry that lists the durable queues
   * @param state why it cannot write
   * @param detail what the journal reported, e.g. the database's error; never a secret or payload
   * @param since when it entered this state
   */
  public record Problem(String queue, State state, String detail, Instant since) {}
}
