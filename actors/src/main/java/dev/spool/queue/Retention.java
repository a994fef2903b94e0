package dev.spool.queue;

import dev.spool.Message;
import dev.spool.Overflow;
import dev.spool.QueueSettings;
import dev.spool.log.ExpiryIndex;
import dev.spool.log.SegmentedLog;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import java.util.function.LongSupplier;

/**
 * What one queue keeps, and what it lets go of: the consumers' watermarks, garbage collection
 * below the slowest of them and outside the retention, expiry, and eviction under the queue's
 * bounds or memory pressure. Every byte it frees goes back to the {@link MemoryBudget}.
 *
 * <p>Messages are removed in steps ({@link Step}), one <em>epoch</em> each: a step gathers what one
 * expiry, eviction, trim, deletion or redrive removes and, when it finishes, hands the owner one
 * {@link Removal} to tell every consumer and to journal. The owner learns of removals through a callback rather
 * than a return value because they happen in the middle of other work (a publish making room may
 * finish its eviction step and then still be refused); the callback runs at the point the step
 * finishes, so the order of journal, consumers and collection stays that of the step.
 *
 * <p>Single writer: only the owning queue actor calls it, on its own thread. The one thing it reads
 * from elsewhere is each consumer's current need ({@link #track}), a volatile the consumer writes.
 */
public final class Retention {

  /** Why a step removed its messages. */
  public enum Reason {
    /** Past the queue's ttl or their own expiry. */
    EXPIRED,
    /** Dropped under {@code drop-oldest}, for the queue's bounds or memory, or purged or trimmed on request. */
    EVICTED,
    /** Moved back to their source queues by a redrive. */
    REDRIVEN,
    /** Deleted by sequence on request, wherever they were in the log. */
    DELETED
  }

  /**
   * One finished removal step.
   *
   * @param messages the removed messages in sequence order (unmodifiable, never empty)
   * @param stored whether they were in the log (and the journal); not so for the messages a
   *     {@code drop-oldest} batch dropped before they joined the log
   */
  public record Removal(Reason reason, long epoch, List<Message> messages, boolean stored) {

    public long firstSequence() {
      return messages.get(0).sequence();
    }

    public long lastSequence() {
      return messages.get(messages.size() - 1).sequence();
    }
  }

  /** A consumer's place in the watermarks: where it counts, and where it says it needs now. */
  private static final class Tracked {
    long watermark;
    final LongSupplier needFrom;

    Tracked(long watermark, LongSupplier needFrom) {
      this.watermark = watermark;
      this.needFrom = needFrom;
    }
  }

  private final SegmentedLog log;
  private final ExpiryIndex expiries;
  private final MemoryBudget memory;
  private final QueueSettings queueSettings;
  private final Clock clock;
  private final Consumer<Removal> removed;
  private final LongConsumer freed;
  private final Map<String, Tracked> consumers = new HashMap<>();
  /** Consumers' watermarks as a multiset: the lowest is what garbage collection may not pass. */
  private final TreeMap<Long, Integer> watermarks = new TreeMap<>();
  /** The last removal step; consumers created since know of every removal up to it. */
  private long removalEpoch;
  /** Drops stored segments from the heap for memory: a persistent queue's tiering, if it has one. */
  private Cooler cooler = needed -> 0;
  /** Messages removed so far because they expired, and because they were evicted or deleted. */
  private long expired;
  private long evicted;

  /**
   * @param removed called with each finished removal step, before the garbage it left is collected
   * @param freed called with the log's new first sequence whenever collection frees messages
   */
  public Retention(SegmentedLog log, ExpiryIndex expiries, MemoryBudget memory, QueueSettings queueSettings,
      Clock clock, Consumer<Removal> removed, LongConsumer freed) {
    this.log = log;
    this.expiries = expiries;
    this.memory = memory;
    this.queueSettings = queueSettings;
    this.clock = clock;
    this.removed = removed;
    this.freed = freed;
  }

  /**
   * Drops stored segments of the queue's log from the heap until at least {@code needed} bytes of
   * the memory accounting are free, or none is left to drop.
   */
  @FunctionalInterface
  public interface Cooler {
    /** @return the bytes of the memory accounting it freed (already given back) */
    long cool(long needed);
  }

  /** Where a persistent queue's stored segments leave the heap when memory is needed. */
  public void coolWith(Cooler cooler) {
    this.cooler = cooler;
  }

  /**
   * Frees at least {@code needed} bytes of heap, if it can, by dropping stored segments: what a
   * persistent queue does before it evicts or refuses anything for memory.
   *
   * @return the bytes freed (given back to the memory accounting)
   */
  public long cool(long needed) {
    return needed > 0 ? cooler.cool(needed) : 0;
  }

  /** The last removal step's epoch. */
  public long removalEpoch() {
    return removalEpoch;
  }

  /** How many messages expired so far. */
  public long expired() {
    return expired;
  }

  /**
   * How many messages were dropped so far: evicted (under {@code drop-oldest}, purged, trimmed) or
   * deleted; redriven ones are moved, not lost.
   */
  public long evicted() {
    return evicted;
  }

  // ---- watermarks

  /**
   * Counts a consumer from {@code watermark} on; {@code needFrom} reads the lowest sequence it needs
   * now, for {@link #releaseAcknowledged}.
   */
  public void track(String consumer, long watermark, LongSupplier needFrom) {
    untrack(consumer);
    consumers.put(consumer, new Tracked(watermark, needFrom));
    watermarks.merge(watermark, 1, Integer::sum);
  }

  /** Stops counting a consumer; the caller collects garbage when it is done with the removal. */
  public void untrack(String consumer) {
    Tracked t = consumers.remove(consumer);
    if (t != null) {
      watermarks.computeIfPresent(t.watermark, (w, n) -> n == 1 ? null : n - 1);
    }
  }

  /** A consumer reported the lowest sequence it still needs: collects garbage if that moved. */
  public void progress(String consumer, long watermark) {
    Tracked t = consumers.get(consumer);
    if (t != null && t.watermark != watermark) {
      move(t, watermark);
      collectGarbage();
    }
  }

  private void move(Tracked t, long watermark) {
    watermarks.computeIfPresent(t.watermark, (w, n) -> n == 1 ? null : n - 1);
    t.watermark = watermark;
    watermarks.merge(watermark, 1, Integer::sum);
  }

  /**
   * Releases what every consumer has passed as of now, reading each one's current need rather than
   * waiting for its next progress report. O(consumers): run where an exact count matters (a bound
   * about to refuse, stats, an explicit collection, the janitor's tick), not per message.
   *
   * @return how many retained messages were released
   */
  public long releaseAcknowledged() {
    for (Tracked t : consumers.values()) {
      long needFrom = t.needFrom.getAsLong();
      if (needFrom != t.watermark) {
        move(t, needFrom);
      }
    }
    return collectGarbage();
  }

  /**
   * Releases the messages below the lowest sequence any consumer still needs and outside the
   * retention. Nothing at or past a consumer's committed position is released; with no consumers,
   * only what was already removed (expired or evicted) is.
   *
   * @return how many retained messages were released
   */
  public long collectGarbage() {
    long limit = watermarks.isEmpty() ? log.oldestSequence() : Math.min(watermarks.firstKey(), log.nextSequence());
    long appendedNotAfter = queueSettings.retention().isZero()
        ? Long.MAX_VALUE
        : clock.millis() - queueSettings.retention().toMillis();
    long heldBefore = log.heldBytes();
    long firstBefore = log.firstSequence();
    long count = log.releaseBefore(limit, appendedNotAfter);
    memory.release(heldBefore - log.heldBytes());
    expiries.dropBelow(log.firstSequence(), log.retainedMessages());
    // Also when only removed slots were freed (expired, evicted): the journal, and the segment rows,
    // let go of them too.
    if (count > 0 || log.firstSequence() > firstBefore) {
      freed.accept(log.firstSequence());
    }
    return count;
  }

  // ---- removal steps

  /** Starts a removal step: the next epoch. */
  public Step step(Reason reason, boolean stored) {
    return new Step(reason, stored);
  }

  /** Removes the log's oldest message in {@code eviction}, or in a new eviction step if it is null. */
  Step evictOldest(Step eviction) {
    Step r = eviction != null ? eviction : step(Reason.EVICTED, true);
    Message oldest = log.oldest();
    if (oldest != null) {
      r.remove(oldest.sequence());
    }
    return r;
  }

  /**
   * The janitor's tick: removes what expired, releases what every consumer acknowledged and, with
   * {@code relieve} (memory pressure), evicts this queue's share under {@code drop-oldest}.
   */
  public void tick(long now, boolean relieve) {
    expire(now);
    releaseAcknowledged();
    if (relieve) {
      cool(memory.excessOverLowWater());
      evictUnderPressure();
    }
  }

  /**
   * Under memory pressure: releases what every consumer acknowledged, then evicts this queue's share
   * under {@code drop-oldest}.
   *
   * @return how many messages it released and evicted
   */
  public long relieve() {
    cool(memory.excessOverLowWater());
    return releaseAcknowledged() + evictUnderPressure();
  }

  /** Removes what passed the queue's ttl or its own expiry, in one step. */
  public void expire(long now) {
    Duration ttl = queueSettings.ttl();
    Step expiry = null;
    if (ttl != null) {
      long appendedNotAfter = now - ttl.toMillis();
      for (Message m = log.oldest(); m != null && m.timestamp() <= appendedNotAfter; m = log.oldest()) {
        expiry = expiry != null ? expiry : step(Reason.EXPIRED, true);
        expiry.remove(m.sequence());
      }
    }
    if (expiries.earliest() <= now) {
      Step r = expiry != null ? expiry : step(Reason.EXPIRED, true);
      expiries.pollExpired(now, r::remove);
      expiry = r;
    }
    if (expiry != null) {
      expiry.finish();
    }
  }

  /**
   * Under {@code drop-oldest}, evicts this queue's share of the bytes over the low-water mark.
   *
   * @return how many messages it evicted
   */
  public long evictUnderPressure() {
    long excess = memory.excessOverLowWater();
    if (queueSettings.overflow() != Overflow.DROP_OLDEST || excess == 0 || log.heldBytes() == 0) {
      return 0;
    }
    long share = (long) Math.ceil((double) excess * log.heldBytes() / Math.max(1, memory.bytes()));
    Step eviction = null;
    while ((eviction == null || eviction.bytes < share) && oldestInHeap()) {
      eviction = evictOldest(eviction);
    }
    return eviction == null ? 0 : eviction.finish();
  }

  /**
   * Whether the oldest retained message is in the heap, so evicting it frees memory. One only in
   * stored segments frees 16 bytes: evicting a stored backlog for memory would lose it for nothing,
   * so memory relief stops there (the queue's own maxLength and maxBytes still evict it).
   */
  boolean oldestInHeap() {
    Message oldest = log.oldest();
    return oldest != null && !log.cold(oldest.sequence());
  }

  /**
   * Removes every retained message, in memory or only in stored segments, in one step counted as
   * evicted: a purge. What a consumer had not acknowledged counts as dropped for it.
   *
   * @return how many messages it removed
   */
  public long purge() {
    Step purge = step(Reason.EVICTED, true);
    for (Message m = log.oldest(); m != null; m = log.oldest()) {
      purge.remove(m.sequence());
    }
    return purge.finish();
  }

  /**
   * Removes the oldest retained messages until at most {@code maxLength} are left, and then every one
   * below {@code below}, in one step counted as evicted, as the queue's own {@code maxLength} would
   * under {@code drop-oldest}. What a consumer had not acknowledged counts as dropped for it.
   *
   * @param maxLength how many may be left ({@code Long.MAX_VALUE}: no bound), at least 0
   * @param below the lowest sequence that may be left (0: no bound)
   * @return how many messages it removed
   */
  public long trim(long maxLength, long below) {
    Step trim = step(Reason.EVICTED, true);
    for (Message m = log.oldest(); m != null && (log.retainedMessages() > maxLength || m.sequence() < below);
        m = log.oldest()) {
      trim.remove(m.sequence());
    }
    return trim.finish();
  }

  /**
   * Removes the retained messages at {@code sequences}, in one step: a sequence not retained (never
   * appended, released or removed already, given twice) removes nothing. What a consumer had not
   * acknowledged counts as dropped for it.
   *
   * @return how many messages it removed
   */
  public long delete(Collection<Long> sequences) {
    Step deletion = step(Reason.DELETED, true);
    sequences.forEach(deletion::remove);
    return deletion.finish();
  }

  /** Removes the messages a redrive moved (in sequence order), in one step. */
  public void removeRedriven(List<Long> sequences) {
    Step removal = step(Reason.REDRIVEN, true);
    sequences.forEach(removal::remove);
    removal.finish();
  }

  /**
   * Messages removed in one step (one epoch) for one reason: released to the memory budget, then
   * handed to the owner as a {@link Removal} when the step finishes.
   */
  public final class Step {
    private final Reason reason;
    private final boolean stored;
    private final long epoch = ++removalEpoch;
    private final List<Message> removed = new ArrayList<>();
    private long bytes;
    private long released;
    private boolean sorted = true;

    private Step(Reason reason, boolean stored) {
      this.reason = reason;
      this.stored = stored;
    }

    /** The heap the messages removed so far held (a cold one's {@link SegmentedLog#COLD_BYTES}). */
    long bytes() {
      return bytes;
    }

    /** A message dropped before it joined the log: its sequence becomes a removed slot. */
    void neverStored(Message m) {
      log.appendRemoved(m.sequence(), epoch);
      removed.add(m);
    }

    void remove(long sequence) {
      long heldBefore = log.heldBytes();
      Message m = log.remove(sequence, epoch);
      if (m != null) {
        bytes += heldBefore - log.heldBytes();
        if (!removed.isEmpty() && removed.get(removed.size() - 1).sequence() > sequence) {
          sorted = false;
        }
        removed.add(m);
      }
    }

    /** Gives the bytes removed so far back to the memory budget. */
    void release() {
      memory.release(bytes - released);
      released = bytes;
    }

    /**
     * Releases what the step removed, hands it to the owner, then collects the garbage it left.
     *
     * @return how many messages it removed
     */
    long finish() {
      release();
      if (removed.isEmpty()) {
        return 0;
      }
      if (!sorted) {
        removed.sort(Comparator.comparingLong(Message::sequence));
      }
      switch (reason) {
        case EXPIRED -> expired += removed.size();
        case EVICTED, DELETED -> evicted += removed.size();
        case REDRIVEN -> { } // moved, not lost
      }
      Retention.this.removed.accept(new Removal(reason, epoch, Collections.unmodifiableList(removed), stored));
      collectGarbage();
      return removed.size();
    }
  }
}
