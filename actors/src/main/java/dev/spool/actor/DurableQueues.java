package dev.spool.actor;

import dev.spool.JournalHealth;
import dev.spool.Message;
import dev.spool.QueueSettings;
import dev.spool.SpoolException;
import dev.spool.durable.RegistryEvent;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.Done;
import org.slf4j.Logger;

/**
 * The manager's bookkeeping of durable queues: whether the registry of durable queues is read or
 * failing, the queues found at start still reading their journal (readiness waits for them), the
 * queues being recorded in the registry with the creates waiting for each, the deletions the
 * registry has not stored yet, and every journal's health ({@link JournalProblems}). It decides;
 * the manager spawns, asks the registry and answers.
 *
 * <p>Single-threaded: driven by the owning {@link QueueManager}.
 *
 * @param <W> a create waiting for its queue to be recorded
 */
final class DurableQueues<W> {

  /** A durable queue being recorded in the registry, with the creates waiting for it. */
  record Defining<W>(RegistryEvent.QueueDefined definition, List<W> waiting) {}

  private final Clock clock;
  private final Logger log;
  private final CompletableFuture<Done> ready;
  private final JournalProblems journals;
  private boolean registryRead;
  /** Durable queues found at start whose journal is still being read. */
  private final Set<String> recovering = new HashSet<>();
  private final Map<String, Defining<W>> defining = new HashMap<>();
  /** Durable queues stopped whose deletion the registry has not stored yet. */
  private final Set<String> undeleted = new HashSet<>();

  /**
   * @param withRegistry whether there is a registry to read (a journal is configured); without
   *     one there are no durable queues, and {@code ready} completes at once
   */
  DurableQueues(boolean withRegistry, CompletableFuture<Done> ready, Clock clock, Logger log) {
    this.clock = clock;
    this.log = log;
    this.ready = ready;
    this.journals = new JournalProblems(log);
    if (withRegistry) {
      journals.registry(new JournalHealth.Problem(null, JournalHealth.State.RECOVERING,
          "reading the list of durable queues", clock.instant()), clock.instant());
    } else {
      registryRead = true;
      ready.complete(Done.getInstance());
    }
  }

  // ---- the registry

  /** The registry is read; {@code found} queues were started and are reading their journals ({@link #recovering}). */
  void registryRead(int found) {
    registryRead = true;
    journals.registry(null, clock.instant());
    log.info("registry read: {} durable queues to recover", found);
    checkReady();
  }

  /** The registry answered again after its first read (it restarted and read what this has). */
  void registryAnswered() {
    if (registryRead) {
      journals.registry(null, clock.instant());
    }
  }

  /** A read of the registry failed; the problem keeps its first time while the same failure goes on. */
  void registryUnavailable(Throwable cause) {
    JournalHealth.Problem before = journals.registry();
    JournalHealth.State state = JournalHealth.State.UNAVAILABLE;
    String described = JournalCondition.describe(cause);
    String detail = described != null || before == null ? described : before.detail();
    if (before == null || before.state() != state || !Objects.equals(detail, before.detail())) {
      Instant now = clock.instant();
      journals.registry(new JournalHealth.Problem(null, state, detail,
          before != null && before.state() == state ? before.since() : now), now);
    }
  }

  /** Whether the registry takes definitions now (read, and not failing). */
  boolean registryWrites() {
    return journals.registry() == null;
  }

  /** Whether a read of the registry failed (and none succeeded since): what needs it is refused. */
  boolean registryFailed() {
    return journals.registry() != null && journals.registry().state() != JournalHealth.State.RECOVERING;
  }

  /** The error for what needs the registry while it cannot be read. */
  SpoolException refusal() {
    JournalHealth.Problem p = journals.registry();
    return new SpoolException.JournalUnavailable("Spool cannot read its list of durable queues from the journal ("
        + (p == null ? "" : p.state().wireName() + " since " + p.since() + ": " + p.detail())
        + "); nothing was done, retry later");
  }

  // ---- recovery at start and readiness

  /**
   * A queue found at start is reading its journal. Only those are reported while they are read (a
   * queue created later reads an empty journal in a moment, and readiness must not flicker for it).
   */
  void recovering(String name) {
    recovering.add(name);
    Instant now = clock.instant();
    journals.queue(name, new JournalHealth.Problem(name, JournalHealth.State.RECOVERING, "reading the journal", now),
        now);
  }

  /** A durable queue read its journal; {@code current} unless it was deleted (or replaced) since it reported. */
  void recovered(String name, boolean current) {
    if (current) {
      journals.queue(name, null, clock.instant());
    }
    if (recovering.remove(name)) {
      checkReady();
    }
  }

  private void checkReady() {
    if (registryRead && recovering.isEmpty() && !ready.isDone()) {
      log.info("Spool ready: every durable queue is recovered");
      ready.complete(Done.getInstance());
    }
  }

  // ---- journals

  /** A current queue's journal changed state ({@code null}: it writes). */
  void journalState(String name, JournalHealth.Problem problem) {
    journals.queue(name, problem, clock.instant());
  }

  /** The journals that cannot write now. */
  JournalHealth health() {
    return journals.health();
  }

  /** A queue stopped: its journal is no longer reported; a deleted durable one no longer holds readiness back. */
  void stopped(String name, boolean deleted) {
    journals.forget(name);
    if (deleted && recovering.remove(name)) {
      checkReady();
    }
  }

  // ---- definitions and deletions

  /** The queue {@code name} being recorded, or {@code null}. */
  Defining<W> defining(String name) {
    return defining.get(name);
  }

  /** Starts recording a new durable queue, with {@code create} (if any) waiting for it. */
  RegistryEvent.QueueDefined define(String name, QueueSettings settings, W create) {
    RegistryEvent.QueueDefined definition = new RegistryEvent.QueueDefined(name, settings,
        UUID.randomUUID().toString(), Message.newIdSeed());
    List<W> waiting = new ArrayList<>(1);
    if (create != null) {
      waiting.add(create);
    }
    defining.put(name, new Defining<>(definition, waiting));
    return definition;
  }

  /**
   * The registry answered the definition of {@code name}: what was waiting for it, or {@code null}
   * if nothing was. Once stored, a deletion of an earlier queue of that name no longer needs storing.
   */
  Defining<W> defined(String name, boolean stored) {
    Defining<W> d = defining.remove(name);
    if (d != null && stored) {
      undeleted.remove(name);
    }
    return d;
  }

  /** A durable queue was stopped and its deletion is being stored. */
  void deleting(String name) {
    undeleted.add(name);
  }

  /** The registry stored the deletion of {@code name}. */
  void deleted(String name) {
    undeleted.remove(name);
  }

  /** Whether {@code name} was stopped but its deletion is not stored (deleting it again retries). */
  boolean deletionPending(String name) {
    return undeleted.contains(name);
  }
}
