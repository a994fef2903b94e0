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
 * <p>Single writer: changed only on the owning queue's thread, by its {@link JournalLink} (or by
 * {@link RecoveringQueue} while it recovers).
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
   * Moves to {@code next} with {@code why} ({@code null} keeps the last reason); {@code since}
   * moves only when the state changes.
   *
   * @return whether anything changed, so that the manager is told
   */
  boolean moveTo(JournalHealth.State next, String why, Instant now) {
    if (why == null && next != JournalHealth.State.OK) {
      why = detail; // no new reason (a circuit breaker open after the failures): the last one stands
    }
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

  /**
   * A journal failure as one line that is the same for every queue: Pekko's wrappers, whose text
   * names the persistence id, are left out; the store's error follows, with its root cause. For a
   * circuit breaker that opened after repeated failures, {@code null}: the earlier reason stands.
   */
  static String describe(Throwable failure) {
    Throwable first = failure;
    while (first.getCause() != null && first.getCause() != first
        && first.getClass().getName().startsWith("org.apache.pekko.persistence.")) {
      first = first.getCause();
    }
    Throwable root = first;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    if (root instanceof org.apache.pekko.pattern.CircuitBreakerOpenException) {
      return null;
    }
    String text = oneLine(first);
    return root == first ? text : text + " <- " + oneLine(root);
  }

  private static String oneLine(Throwable t) {
    String type = t.getClass().getSimpleName().isEmpty() ? t.getClass().getName() : t.getClass().getSimpleName();
    String text = type + (t.getMessage() == null ? "" : ": " + t.getMessage());
    text = text.replaceAll("\\s+", " ");
    return text.length() > 1000 ? text.substring(0, 1000) + "…" : text;
  }
}
