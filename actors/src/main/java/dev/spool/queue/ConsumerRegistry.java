package dev.spool.queue;

import dev.spool.ConsumerInfo;
import dev.spool.ConsumerSettings;
import dev.spool.SpoolException;
import dev.spool.StaleConsumer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * The consumers of one queue by name: each one's actor (a {@code R}, so that this class knows no
 * actor type) and settings, which of them wait for the next append, and their shares of the
 * queue's trace cap ({@code spool.consumer.trace-events-per-queue}). Membership and the watermarks
 * {@link Retention} collects garbage under go together: a consumer added is tracked there, one
 * removed no longer holds anything back.
 *
 * <p>Single-threaded: driven by the owning {@code QueueActor}, on its own thread.
 *
 * @param <R> how the owner reaches a consumer
 */
public final class ConsumerRegistry<R> {

  /** One consumer: its actor and the settings it was created with (defaults resolved). */
  public record Entry<R>(R ref, ConsumerSettings settings) {}

  /** What removing consumers has the queue do. */
  public interface Outlet<R> {
    /** {@code consumer} left the queue: stop its actor {@code ref}, and delete its record. */
    void stopped(String consumer, R ref);

    /** {@code consumer} was removed as {@code reason} ({@code stale}, {@code inactive}) with {@code lag}: say so. */
    void removed(String consumer, String reason, long lag);
  }

  private final Map<String, Entry<R>> byName = new HashMap<>();
  /** Consumers to wake with the next append: each asked once, and is asked again once woken. */
  private final List<R> waiting = new ArrayList<>();
  private final Retention retention;
  private final Outlet<R> outlet;
  private final int traceEventsPerQueue;
  /** Consumers came or went since their shares of the trace cap were last told. */
  private boolean sharesChanged;
  /** The share of the trace cap consumers were last told. */
  private int toldShare;

  public ConsumerRegistry(Retention retention, int traceEventsPerQueue, Outlet<R> outlet) {
    this.retention = retention;
    this.outlet = outlet;
    this.traceEventsPerQueue = traceEventsPerQueue;
  }

  public Entry<R> get(String consumer) {
    return byName.get(consumer);
  }

  /**
   * The consumer {@code resolved} names if it exists with equal settings (created again, which
   * changes nothing), or {@code null} if there is none.
   *
   * @throws SpoolException.ConsumerAlreadyExists if it exists with other settings
   */
  public Entry<R> existing(String queue, ConsumerSettings resolved) {
    Entry<R> entry = byName.get(resolved.name());
    if (entry != null && !entry.settings().sameAs(resolved)) {
      throw new SpoolException.ConsumerAlreadyExists(queue, entry.settings(), resolved);
    }
    return entry;
  }

  public boolean contains(String consumer) {
    return byName.containsKey(consumer);
  }

  /** Whether {@code ref} is still the actor of {@code consumer} (not one created since under that name). */
  public boolean isCurrent(String consumer, R ref) {
    Entry<R> entry = byName.get(consumer);
    return entry != null && entry.ref().equals(ref);
  }

  public int size() {
    return byName.size();
  }

  /**
   * Every consumer, as the live view of the map (no copy and no wrapper: the queue tells them all on
   * each removal step, which may come with every publish to a full {@code drop-oldest} queue); for
   * reading only.
   */
  public Collection<Entry<R>> entries() {
    return byName.values();
  }

  /** Every consumer's actor, copied: for a fan-out that outlives this call. */
  public List<R> refs() {
    List<R> refs = new ArrayList<>(byName.size());
    byName.values().forEach(e -> refs.add(e.ref()));
    return refs;
  }

  // ---- membership

  /** The share of the trace cap a consumer created now starts with. */
  public int newcomerTraceShare() {
    return traceShare(byName.size() + 1);
  }

  /**
   * Adds {@code consumer}, holding back garbage collection from {@code watermark} until it reports
   * progress; {@code needFrom} reads the lowest sequence it needs now.
   *
   * @return whether every consumer must be told its share of the trace cap at once: for the first
   *     consumer, or when the share halved since it was last told, so that the queue's consumers
   *     never hold over twice the cap
   */
  public boolean add(String consumer, R ref, ConsumerSettings settings, long watermark, LongSupplier needFrom) {
    byName.put(consumer, new Entry<>(ref, settings));
    sharesChanged = true;
    retention.track(consumer, watermark, needFrom);
    return byName.size() == 1 || traceShare(byName.size()) * 2L <= toldShare;
  }

  /**
   * Removes {@code consumer} (with {@code onlyRef}, only if that is still its actor): it is
   * {@linkplain Outlet#stopped stopped}, and what only it held back is collected.
   *
   * @return whether it was removed
   */
  public boolean remove(String consumer, R onlyRef) {
    Entry<R> entry = byName.get(consumer);
    if (entry == null || (onlyRef != null && !entry.ref().equals(onlyRef))) {
      return false;
    }
    byName.remove(consumer);
    sharesChanged = true;
    waiting.remove(entry.ref());
    retention.untrack(consumer);
    outlet.stopped(consumer, entry.ref());
    retention.collectGarbage();
    return true;
  }

  /**
   * Deletes {@code consumer} of {@code queue} on request (see {@link #remove}).
   *
   * @throws SpoolException.ConsumerNotFound if there is no such consumer
   */
  public void delete(String queue, String consumer) {
    if (!remove(consumer, null)) {
      throw new SpoolException.ConsumerNotFound(queue, consumer);
    }
  }

  /**
   * Removes the stale consumers among {@code listed}: no subscriber and no read or ack for
   * {@code staleAfter}, and a lag over {@code lagThreshold}.
   *
   * @return the ones it removed, as they were when judged stale
   */
  public List<StaleConsumer> removeStale(List<ConsumerInfo> listed, long now, Duration staleAfter,
      long lagThreshold) {
    List<StaleConsumer> removed = new ArrayList<>();
    for (ConsumerInfo c : listed) {
      if (c.isStale(now, staleAfter) && c.lag() > lagThreshold && remove(c.name(), null)) {
        removed.add(StaleConsumer.of(c, now));
        outlet.removed(c.name(), "stale", c.lag());
      }
    }
    return removed;
  }

  /**
   * {@code consumer}'s actor {@code ref} found itself inactive, {@code lag} behind: removed, unless
   * it was already or a consumer was created again under its name since.
   *
   * @return whether it was removed
   */
  public boolean removeInactive(String consumer, R ref, long lag) {
    if (!remove(consumer, ref)) {
      return false;
    }
    outlet.removed(consumer, "inactive", lag);
    return true;
  }

  // ---- waiting for appends

  /**
   * {@code consumer} asks to be woken by the first append after {@code afterSequence}.
   *
   * @return its actor, to wake at once, if the log already holds more ({@code lastSequence} is past
   *     it); otherwise {@code null}, and it waits (an unknown consumer is ignored)
   */
  public R await(String consumer, long afterSequence, long lastSequence) {
    Entry<R> entry = byName.get(consumer);
    if (entry == null) {
      return null;
    }
    if (lastSequence > afterSequence) {
      return entry.ref();
    }
    waiting.add(entry.ref());
    return null;
  }

  /**
   * The consumers waiting for an append, to wake; the owner clears them with {@link #clearWaiting}
   * once told. The live list, not a copy: read on every publish.
   */
  public List<R> waiting() {
    return waiting;
  }

  public void clearWaiting() {
    waiting.clear();
  }

  // ---- trace cap shares

  /** Each consumer's share of the queue's trace cap when it has {@code consumerCount} consumers. */
  public int traceShare(int consumerCount) {
    return traceEventsPerQueue / Math.max(1, consumerCount);
  }

  /**
   * The share to tell every consumer if consumers came or went since it was last told, or -1: told
   * at the janitor's tick (and at once when it halved, see {@link #add}). Creating n consumers so
   * costs about 2n messages, not n², while each one holds at most twice its share between ticks.
   */
  public int takeShareChange() {
    if (!sharesChanged) {
      return -1;
    }
    sharesChanged = false;
    toldShare = traceShare(byName.size());
    return toldShare;
  }
}
