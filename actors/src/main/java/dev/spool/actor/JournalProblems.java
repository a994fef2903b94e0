package dev.spool.actor;

import dev.spool.JournalHealth;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;

/**
 * The manager's current view of the journals that cannot write, kept up to date by the queues'
 * reports, so that a health probe is answered from memory without asking every queue.
 *
 * <p>It also decides what of each report reaches the log, so that an outage or a corrupt journal
 * file does not write one line per queue and retry: a failure text seen for the first time is
 * logged once (at ERROR when it names the recovery tool, which means a corrupt journal file; at
 * WARN otherwise), the same text again only at DEBUG, with one WARN reminder per
 * {@link #REMIND_EVERY} while it lasts; a journal that writes again is logged at INFO.
 *
 * <p>Single writer: only the owning {@code QueueManager} calls it, on its own thread.
 */
final class JournalProblems {

  /** How often a failure that goes on is logged again at WARN. */
  static final Duration REMIND_EVERY = Duration.ofMinutes(1);

  /** Text in the journal's error for a file that is corrupt: the tool that recovers it. */
  static final String CORRUPT_MARK = "RecoverJournal";

  /** Failure texts remembered for deduplication; beyond this many, the oldest are forgotten. */
  private static final int MAX_TEXTS = 256;

  private final Logger log;
  private JournalHealth.Problem registry;
  private final TreeMap<String, JournalHealth.Problem> queues = new TreeMap<>();
  /** When each failure text was last logged above DEBUG, in insertion order. */
  private final Map<String, Instant> logged = new java.util.LinkedHashMap<>();
  private final Map<String, Integer> repeats = new HashMap<>();

  JournalProblems(Logger log) {
    this.log = log;
  }

  /** The registry's problem, or {@code null} once it is read. */
  JournalHealth.Problem registry() {
    return registry;
  }

  /** Sets the registry's problem ({@code null}: it was read). */
  void registry(JournalHealth.Problem problem, Instant now) {
    JournalHealth.Problem before = registry;
    registry = problem;
    report("the registry of durable queues", before, problem, now);
  }

  /** Sets {@code queue}'s problem ({@code null}: its journal writes). */
  void queue(String queue, JournalHealth.Problem problem, Instant now) {
    JournalHealth.Problem before = problem == null ? queues.remove(queue) : queues.put(queue, problem);
    report("queue " + queue, before, problem, now);
  }

  /** Forgets a queue that was deleted or stopped. */
  void forget(String queue) {
    queues.remove(queue);
  }

  /** The current view. */
  JournalHealth health() {
    if (registry == null && queues.isEmpty()) {
      return JournalHealth.HEALTHY;
    }
    List<JournalHealth.Problem> all = new ArrayList<>(queues.size() + 1);
    if (registry != null) {
      all.add(registry);
    }
    all.addAll(queues.values());
    return new JournalHealth(all);
  }

  private void report(String what, JournalHealth.Problem before, JournalHealth.Problem now, Instant at) {
    if (now == null) {
      if (before != null && before.state() != JournalHealth.State.RECOVERING) {
        log.info("{}: the journal writes again, after {} ms {}", what,
            Duration.between(before.since(), at).toMillis(), before.state().wireName());
      }
      return;
    }
    if (now.state() == JournalHealth.State.RECOVERING) {
      return; // every durable queue starts so; the start's own log says when they are read
    }
    String text = now.state().wireName() + ": " + now.detail();
    Instant last = logged.get(text);
    if (last == null) {
      remember(text, at);
      if (now.detail() != null && now.detail().contains(CORRUPT_MARK)) {
        log.error("{}: the journal cannot be read: {}", what, now.detail());
      } else {
        log.warn("{}: journal {}; its changes are refused with JournalUnavailable until it writes again"
            + " (retrying; the same failure elsewhere is logged at DEBUG)", what, text);
      }
    } else if (Duration.between(last, at).compareTo(REMIND_EVERY) >= 0) {
      int times = repeats.getOrDefault(text, 0);
      remember(text, at);
      log.warn("journal still {} ({} more reports in the last {} s, latest {})", text, times,
          REMIND_EVERY.toSeconds(), what);
    } else {
      repeats.merge(text, 1, Integer::sum);
      log.debug("{}: journal {}", what, text);
    }
  }

  private void remember(String text, Instant at) {
    logged.remove(text);
    logged.put(text, at);
    repeats.remove(text);
    if (logged.size() > MAX_TEXTS) {
      String oldest = logged.keySet().iterator().next();
      logged.remove(oldest);
      repeats.remove(oldest);
    }
  }
}
