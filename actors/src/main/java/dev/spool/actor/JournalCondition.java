package dev.spool.actor;

import dev.spool.JournalHealth;
import dev.spool.SpoolException;
import java.time.Instant;
import java.util.Objects;

/**
 * What a durable queue knows of its journal's ability to write: the state, what the journal
 * reported, and since when. While it is not {@link JournalHealth.State#OK}, the queue refuses new
 * journaled changes with {@link #refusal}.
 *
 * <p>Single writer: only the owning {@code QueueActor} changes it, on its own thread.
 */
final class JournalCondition {

  private JournalHealth.State state;
  private String detail;
  private Instant since;

  JournalCondition(JournalHealth.State state, String detail, Instant since) {
    this.state = state;
    this.detail = detail;
    this.since = since;
  }

  JournalHealth.State state() {
    return state;
  }

  /** Whether new journaled changes are taken. */
  boolean writable() {
    return state == JournalHealth.State.OK;
  }

  /**
   * Moves to {@code next} with {@code why}; {@code since} moves only when the state changes.
   *
   * @return whether anything changed, so that the manager is told
   */
  boolean moveTo(JournalHealth.State next, String why, Instant now) {
    if (next == state && Objects.equals(why, detail)) {
      return false;
    }
    if (next != state) {
      since = now;
    }
    state = next;
    detail = why;
    return true;
  }

  /** The problem to report for {@code queue}, or {@code null} while it writes. */
  JournalHealth.Problem problem(String queue) {
    return writable() ? null : new JournalHealth.Problem(queue, state, detail, since);
  }

  /** The error for a change refused while the journal cannot write: nothing of it was stored. */
  SpoolException refusal(String queue) {
    return new SpoolException.JournalUnavailable("queue '" + queue + "' cannot write to its journal now ("
        + state.wireName() + " since " + since + ": " + detail + "); nothing was stored, retry later");
  }

  /** A journal failure as one line: the error's class and message, and its cause's. */
  static String describe(Throwable failure) {
    StringBuilder out = new StringBuilder();
    for (Throwable t = failure; t != null && out.length() < 600; t = t.getCause() == t ? null : t.getCause()) {
      if (!out.isEmpty()) {
        out.append(" <- ");
      }
      out.append(t.getClass().getSimpleName());
      if (t.getMessage() != null) {
        out.append(": ").append(t.getMessage());
      }
    }
    return out.toString();
  }
}
