package dev.spool.queue;

import dev.spool.Message;
import dev.spool.log.SegmentedLog;
import java.util.List;
import java.util.TreeSet;

/**
 * Moves a persistent queue's sealed segments to its segment store and, once stored, out of the
 * heap: the tail stays in memory, the backlog behind it lives in storage.
 *
 * <p>Every sealed segment is stored as soon as it is sealed, oldest first, up to
 * {@link #MAX_IN_FLIGHT} at once (so that on SQLite they share the writer's commits and storing
 * keeps up with a fast publisher): what is stored is what the journal can forget. The queue
 * journals how far every segment is stored, contiguously, so snapshots hold only the unsealed tail. A stored segment stays hot until memory is needed: when the queue's
 * hot bytes pass {@code maxHotBytes}, when the engine passes its low-water mark, or when a publish
 * would pass the threshold ({@link Retention#cool}). The oldest stored segments go first, so a
 * consumer at the tail never waits for storage.
 *
 * <p>A store that fails is retried after a backoff the actor owns; meanwhile segments stay hot,
 * and the queue's memory bounds apply as they do without tiering. Single-threaded: driven by the
 * owning {@code QueueActor}.
 */
public final class Tiering implements Retention.Cooler {

  /** What the queue does for its tiering. */
  public interface Outlet {
    /** Store {@code messages}, the retained messages of sealed {@code segment}; answer with {@link #stored} or {@link #storeFailed}. */
    void store(long segment, List<Message> messages);

    /** Every retained message up to {@code sealedThrough} is stored: journal it, so the journal lets go of them. */
    void sealed(long sealedThrough);

    /**
     * Stored segment {@code segment} holds {@code bytes}, more than segments may take while they are
     * read back: it stays in the heap (worth one warning per queue).
     */
    default void keptHot(long segment, long bytes) {}
  }

  private final SegmentedLog log;
  private final MemoryBudget memory;
  private final long maxHotBytes;
  /** The largest segment that may leave the heap: one larger could not be read back. */
  private final long maxColdSegmentBytes;
  private final Outlet outlet;
  private final int shift;
  /** Segments stored at once at most. */
  static final int MAX_IN_FLIGHT = 8;

  /** Every retained message below this segment is stored. */
  private long nextToStore;
  /** The next segment not handed to the store yet. */
  private long nextToSubmit;
  /** Segments being stored. */
  private final TreeSet<Long> inFlight = new TreeSet<>();
  /** Segments stored ahead of one still being stored. */
  private final TreeSet<Long> storedAhead = new TreeSet<>();
  /** Segments whose store failed, to hand to the store again. */
  private final TreeSet<Long> failed = new TreeSet<>();
  /** Stored segments still in the heap, oldest first. */
  private final TreeSet<Long> hotStored = new TreeSet<>();
  private long stored;
  private long cooled;

  /**
   * @param maxColdSegmentBytes the largest segment that may leave the heap (what may be read back at once)
   */
  public Tiering(SegmentedLog log, MemoryBudget memory, long maxHotBytes, long maxColdSegmentBytes, Outlet outlet) {
    this.log = log;
    this.memory = memory;
    this.maxHotBytes = maxHotBytes;
    this.maxColdSegmentBytes = maxColdSegmentBytes;
    this.outlet = outlet;
    this.shift = Integer.numberOfTrailingZeros(log.segmentSize());
  }

  /** After recovery: everything below {@code sealedThrough} is stored already. */
  public void restored(long sealedThrough) {
    nextToStore = sealedThrough >>> shift;
    nextToSubmit = nextToStore;
    afterAppend();
  }

  /** Messages joined the log: stores what they sealed. */
  public void afterAppend() {
    // Hot stored segments the log has freed since are nothing to cool.
    long firstSegment = (log.firstSequence() - 1) >>> shift;
    while (!hotStored.isEmpty() && hotStored.first() < firstSegment) {
      hotStored.pollFirst();
    }
    if (!failed.isEmpty()) {
      return; // nothing new until the failed ones are stored again, after the backoff (retry)
    }
    while (inFlight.size() < MAX_IN_FLIGHT && log.sealed(nextToSubmit)) {
      submit(nextToSubmit++);
    }
  }

  private void submit(long segment) {
    // Stored even when nothing of it is retained any more (an empty row): a row an earlier store
    // left, whose outcome the journal never heard of, must not come back at recovery.
    inFlight.add(segment);
    outlet.store(segment, log.hotMessages(segment));
  }

  /** Segment {@code segment} is stored: the journal may forget it, and the heap may let it go. */
  public void stored(long segment) {
    if (!inFlight.remove(segment)) {
      return;
    }
    stored++;
    log.markStored(segment);
    long bytes = log.segmentBytes(segment);
    if (bytes <= maxColdSegmentBytes) {
      hotStored.add(segment);
    } else {
      outlet.keptHot(segment, bytes);
    }
    storedAhead.add(segment);
    long before = nextToStore;
    while (storedAhead.remove(nextToStore)) {
      nextToStore++;
    }
    if (nextToStore > before) {
      outlet.sealed(nextToStore << shift);
    }
    coolIfNeeded();
    afterAppend();
  }

  /** Storing {@code segment} failed: it stays hot; {@link #retry} tries again. */
  public void storeFailed(long segment) {
    if (inFlight.remove(segment)) {
      failed.add(segment);
    }
  }

  /** After a failed store's backoff. */
  public void retry() {
    while (!failed.isEmpty() && inFlight.size() < MAX_IN_FLIGHT) {
      submit(failed.pollFirst());
    }
    afterAppend();
  }

  /** Whether a store is under way. */
  public boolean storing() {
    return !inFlight.isEmpty();
  }

  /** Cools stored segments while this queue holds more than its hot share or the engine is past its low-water mark. */
  public void coolIfNeeded() {
    long over = Math.max(log.heldBytes() - maxHotBytes, memory.excessOverLowWater());
    if (over > 0) {
      cool(over);
    }
  }

  /** Drops the oldest stored segments from the heap until {@code needed} bytes are freed or none is left. */
  @Override
  public long cool(long needed) {
    long freed = 0;
    while (freed < needed && !hotStored.isEmpty()) {
      long segment = hotStored.pollFirst();
      long bytes = log.cool(segment);
      if (bytes > 0) {
        memory.release(bytes);
        freed += bytes;
        cooled++;
      }
    }
    return freed;
  }

  /** Stored segments still in the heap that it would cool. */
  int hotStoredSegments() {
    return hotStored.size();
  }

  /** Segments stored since the queue started. */
  public long storedSegments() {
    return stored;
  }

  /** Segments dropped from the heap since the queue started. */
  public long cooledSegments() {
    return cooled;
  }
}
