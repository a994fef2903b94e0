package dev.spool.log;

import java.util.Map;
import java.util.TreeMap;
import java.util.function.LongConsumer;

/**
 * One consumer's position in its queue: the {@link #next() cursor} (next sequence never delivered),
 * the deliveries in flight, and the ones waiting to be delivered again. The {@link #committed()}
 * position follows from them: every sequence at or below it is acknowledged.
 *
 * <p>Deliveries are grouped in batches (one per dispatch round) that share an ack deadline, so the
 * owning actor runs one timer per batch instead of one per message; {@link #ack} reports a batch
 * whose every delivery is settled so that its timer can be cancelled.
 *
 * <p>Messages the cursor passed without delivering them (not due yet, or waiting their turn by
 * priority) are {@linkplain #aside() set aside}: unsettled in either ack mode, they hold the
 * committed position below them.
 *
 * <p>Deliveries are only tracked in {@code explicit} ack mode; in {@code none} mode the cursor and
 * what is set aside are the position. Single-threaded: owned by one consumer actor. It outlives restarts of that actor.
 */
public final class ConsumerCursor {

  /** A delivery in flight: its attempt, ack-deadline batch and the subscriber holding it. */
  private record InFlight(int attempt, long batch, long owner) {}

  private long next;
  private final SequenceMap<InFlight> inFlight = new SequenceMap<>();
  /**
   * The last in-flight record made: a round delivers many messages with one attempt, batch and
   * subscriber, and they share it (it is immutable) rather than each allocating its own.
   */
  private InFlight lastInFlight = new InFlight(0, 0, -1);
  /** Sequences to deliver again now, with the attempt number of that delivery. */
  private final TreeMap<Long, Integer> ready = new TreeMap<>();
  /** Sequences waiting out a backoff, with the attempt number of their next delivery. */
  private final TreeMap<Long, Integer> delayed = new TreeMap<>();
  /** Sequences set aside while they are dead-lettered, with the attempt that gave up. */
  private final TreeMap<Long, Integer> held = new TreeMap<>();
  /** Unsettled deliveries per batch (a one-element array, counted in place). Batch ids ascend as sequences do. */
  private final SequenceMap<int[]> batchOutstanding = new SequenceMap<>();
  private long batchIds;
  private final SetAside aside = new SetAside();

  /** @param start the first sequence to deliver */
  public ConsumerCursor(long start) {
    this.next = start;
  }

  /**
   * Sets {@code sequence} to be delivered again: a delivery a durable queue's journal recorded as
   * unsettled when the process stopped.
   *
   * @param attemptsMade deliveries made before the restart
   */
  public void restoreUnsettled(long sequence, int attemptsMade) {
    if (sequence >= next) {
      throw new IllegalArgumentException("sequence " + sequence + " was never delivered (next is " + next + ")");
    }
    ready.put(sequence, attemptsMade + 1);
  }

  /** Every delivered, unsettled sequence with the deliveries made of it so far, ascending. */
  public TreeMap<Long, Integer> unsettledAttempts() {
    TreeMap<Long, Integer> out = new TreeMap<>();
    inFlight.forEach((sequence, f) -> out.put(sequence, f.attempt()));
    ready.forEach((sequence, attempt) -> out.put(sequence, attempt - 1));
    delayed.forEach((sequence, attempt) -> out.put(sequence, attempt - 1));
    held.forEach(out::put);
    aside.forEach(sequence -> out.put(sequence, 0));
    return out;
  }

  /** What the cursor passed without delivering: not due yet, or waiting its turn by priority. */
  public SetAside aside() {
    return aside;
  }

  /**
   * Sets {@code sequence}, passed but never delivered, aside until {@code dueAt} (0: ready now): a
   * durable queue's journal recorded it with no delivery made.
   */
  public void restoreAside(long sequence, long dueAt, int priority) {
    if (sequence >= next) {
      throw new IllegalArgumentException("sequence " + sequence + " was never passed (next is " + next + ")");
    }
    aside.defer(sequence, dueAt, priority);
  }

  /** The lowest sequence never delivered: the cursor, or one set aside below it. */
  public long firstUndelivered() {
    return Math.min(next, aside.first());
  }

  /** Next sequence never delivered. */
  public long next() {
    return next;
  }

  /** Highest sequence at or below which everything is settled. */
  public long committed() {
    long low = lowestDelivered();
    if (!aside.isEmpty()) {
      low = Math.min(low, aside.first());
    }
    return low - 1;
  }

  /** The lowest sequence delivered and not settled (in flight, waiting, held), else the cursor. */
  private long lowestDelivered() {
    long low = next;
    if (!inFlight.isEmpty()) {
      low = Math.min(low, inFlight.firstKey());
    }
    if (!ready.isEmpty()) {
      low = Math.min(low, ready.firstKey());
    }
    if (!delayed.isEmpty()) {
      low = Math.min(low, delayed.firstKey());
    }
    if (!held.isEmpty()) {
      low = Math.min(low, held.firstKey());
    }
    return low;
  }

  /**
   * Unsettled sequences below the cursor: delivered and not settled, or set aside. With the messages
   * from the cursor on, what this consumer has not acknowledged: every other sequence up to the
   * cursor is settled (acknowledged, filtered out, gone).
   */
  public int unsettledBelowCursor() {
    return unsettled() + aside.size();
  }

  /**
   * The lowest unsettled sequence that is due at {@code nowMillis} (delivered, waiting, held, or set
   * aside and due), else the cursor: where the oldest message this consumer has to deal with is.
   */
  public long firstDueUnsettled(long nowMillis) {
    long low = lowestDelivered();
    long aside = this.aside.firstDueAt(nowMillis);
    return aside < 0 ? low : Math.min(low, aside);
  }

  /** Moves the cursor past sequences this consumer will never deliver (filtered out, no longer retained). */
  public void skipTo(long sequence) {
    if (sequence > next) {
      next = sequence;
    }
  }

  /** Starts over at {@code sequence}: everything in flight or waiting is forgotten. */
  public void seek(long sequence) {
    next = sequence;
    inFlight.clear();
    ready.clear();
    delayed.clear();
    held.clear();
    aside.clear();
    batchOutstanding.clear();
  }

  /** A new id for a batch of deliveries sharing one ack deadline. */
  public long newBatch() {
    return ++batchIds;
  }

  /** Whether a batch still has unsettled deliveries. */
  public boolean batchOpen(long batch) {
    return batchOutstanding.containsKey(batch);
  }

  /** The batches with unsettled deliveries (to re-arm their timers after a restart). */
  public Iterable<Long> openBatches() {
    java.util.List<Long> open = new java.util.ArrayList<>(batchOutstanding.size());
    batchOutstanding.forEach((batch, count) -> open.add(batch));
    return open;
  }

  /**
   * Records that {@code sequence} was handed to {@code owner} as delivery number {@code attempt} in
   * {@code batch}. A new sequence moves the cursor past it.
   */
  public void delivered(long sequence, int attempt, long batch, long owner) {
    InFlight f = lastInFlight;
    if (f.attempt() != attempt || f.batch() != batch || f.owner() != owner) {
      f = new InFlight(attempt, batch, owner);
      lastInFlight = f;
    }
    inFlight.put(sequence, f);
    int[] outstanding = batchOutstanding.get(batch);
    if (outstanding == null) {
      batchOutstanding.put(batch, new int[] {1});
    } else {
      outstanding[0]++;
    }
    if (sequence >= next) {
      next = sequence + 1;
    }
  }

  /** Whether a redelivery is waiting. */
  public boolean hasReady() {
    return !ready.isEmpty();
  }

  /** The lowest sequence waiting for redelivery, or -1. */
  public long firstReady() {
    return ready.isEmpty() ? -1 : ready.firstKey();
  }

  /** Removes the lowest waiting redelivery and returns its attempt number (its sequence is {@link #firstReady()}). */
  public int pollReady() {
    return ready.pollFirstEntry().getValue();
  }

  /** The outcome of acknowledging one sequence. */
  public enum AckOutcome {
    /** It was unsettled and now is acknowledged. */
    ACKED,
    /** It was delivered and is already settled. */
    ALREADY_SETTLED,
    /** It was never delivered to this consumer (not yet, or set aside until due or its turn). */
    UNKNOWN
  }

  /**
   * Acknowledges {@code sequence}, whether in flight or waiting for redelivery.
   *
   * @param batchSettled told the id of a batch whose last unsettled delivery this was
   */
  public AckOutcome ack(long sequence, LongConsumer batchSettled) {
    InFlight f = inFlight.remove(sequence);
    if (f != null) {
      settle(f.batch(), batchSettled);
      return AckOutcome.ACKED;
    }
    if (ready.remove(sequence) != null || delayed.remove(sequence) != null || held.remove(sequence) != null) {
      return AckOutcome.ACKED;
    }
    if (sequence >= next || aside.contains(sequence)) {
      return AckOutcome.UNKNOWN; // set aside below the cursor: passed, not delivered yet
    }
    return AckOutcome.ALREADY_SETTLED;
  }

  /**
   * Acknowledges every unsettled delivered sequence at or below {@code sequence}.
   *
   * @param acked told each sequence acknowledged
   * @return how many were newly acknowledged
   */
  public int ackUpTo(long sequence, LongConsumer batchSettled, LongConsumer acked) {
    java.util.List<Long> fromFlight = new java.util.ArrayList<>();
    int n = inFlight.removeUpTo(sequence, (s, f) -> {
      settle(f.batch(), batchSettled);
      fromFlight.add(s);
    });
    fromFlight.forEach(acked::accept); // after the walk: the callback may look at this cursor
    n += clearUpTo(ready, sequence, acked);
    n += clearUpTo(delayed, sequence, acked);
    n += clearUpTo(held, sequence, acked);
    return n;
  }

  private static int clearUpTo(TreeMap<Long, Integer> map, long sequence, LongConsumer acked) {
    Map<Long, Integer> head = map.headMap(sequence, true);
    int n = head.size();
    head.keySet().forEach(acked::accept);
    head.clear();
    return n;
  }

  /**
   * Takes {@code sequence} out of flight to be delivered again, at once or after a backoff.
   *
   * @return the attempt number of the next delivery, or 0 if it was not in flight
   */
  public int requeue(long sequence, boolean afterBackoff, LongConsumer batchSettled) {
    InFlight f = inFlight.remove(sequence);
    if (f == null) {
      return 0;
    }
    settle(f.batch(), batchSettled);
    int nextAttempt = f.attempt() + 1;
    (afterBackoff ? delayed : ready).put(sequence, nextAttempt);
    return nextAttempt;
  }

  /**
   * Sets an in-flight {@code sequence} aside, still unsettled, while it is handed to a dead-letter
   * queue: no ack deadline runs for it and it is not redelivered unless {@link #releaseHeld} says so.
   *
   * @return the attempt that was in flight, or 0 if it was not in flight
   */
  public int hold(long sequence, LongConsumer batchSettled) {
    InFlight f = inFlight.remove(sequence);
    if (f == null) {
      return 0;
    }
    settle(f.batch(), batchSettled);
    held.put(sequence, f.attempt());
    return f.attempt();
  }

  /** Whether {@code sequence} is set aside for dead-lettering. */
  public boolean isHeld(long sequence) {
    return held.containsKey(sequence);
  }

  /**
   * Puts a held sequence back to be delivered again after a backoff (its dead-lettering failed).
   *
   * @return the attempt number of its next delivery, or 0 if it was not held
   */
  public int releaseHeld(long sequence) {
    Integer attempt = held.remove(sequence);
    if (attempt == null) {
      return 0;
    }
    delayed.put(sequence, attempt + 1);
    return attempt + 1;
  }

  /** Settles {@code sequence} without acknowledgement (dropped, dead-lettered); false if it was not unsettled. */
  public boolean discard(long sequence, LongConsumer batchSettled) {
    return ack(sequence, batchSettled) == AckOutcome.ACKED;
  }

  /** Moves a sequence whose backoff ended to the redelivery queue. */
  public boolean backoffElapsed(long sequence) {
    Integer attempt = delayed.remove(sequence);
    if (attempt == null) {
      return false;
    }
    ready.put(sequence, attempt);
    return true;
  }

  /** Makes every sequence waiting out a backoff ready for redelivery now. */
  public void endBackoffs() {
    ready.putAll(delayed);
    delayed.clear();
  }

  /** The attempt number of the delivery of {@code sequence} in flight, or 0. */
  public int attemptInFlight(long sequence) {
    InFlight f = inFlight.get(sequence);
    return f == null ? 0 : f.attempt();
  }

  /**
   * Puts every delivery of {@code batch} still in flight back for redelivery (its ack deadline passed).
   *
   * @param overLimit told each sequence whose next attempt would exceed {@code maxDeliveries}; such
   *     sequences are {@link #hold held} instead of requeued, for the caller to dead-letter or settle
   * @return how many were requeued
   */
  public int expireBatch(long batch, int maxDeliveries, LongConsumer overLimit) {
    return expireBatch(batch, maxDeliveries, overLimit, owner -> false);
  }

  /**
   * {@link #expireBatch(long, int, LongConsumer)}, leaving in flight the deliveries of owners that
   * time out their deliveries themselves ({@code exempt}).
   */
  public int expireBatch(long batch, int maxDeliveries, LongConsumer overLimit,
      java.util.function.LongPredicate exempt) {
    return requeueWhere(f -> f.batch() == batch && !exempt.test(f.owner()), maxDeliveries, overLimit);
  }

  /** Puts every delivery held by {@code owner} back for redelivery now (the subscriber went away). */
  public int releaseOwner(long owner, int maxDeliveries, LongConsumer overLimit) {
    return requeueWhere(f -> f.owner() == owner, maxDeliveries, overLimit);
  }

  private int requeueWhere(java.util.function.Predicate<InFlight> which, int maxDeliveries, LongConsumer overLimit) {
    int[] requeued = {0};
    java.util.List<Long> givenUp = new java.util.ArrayList<>(0);
    inFlight.removeIf((sequence, f) -> {
      if (!which.test(f)) {
        return false;
      }
      settle(f.batch(), b -> {});
      if (f.attempt() >= maxDeliveries) {
        held.put(sequence, f.attempt());
        givenUp.add(sequence);
      } else {
        ready.put(sequence, f.attempt() + 1);
        requeued[0]++;
      }
      return true;
    });
    givenUp.forEach(overLimit::accept); // after the walk: the callback may settle what it is told of
    return requeued[0];
  }

  private void settle(long batch, LongConsumer batchSettled) {
    int[] outstanding = batchOutstanding.get(batch);
    if (outstanding != null && --outstanding[0] > 0) {
      return;
    }
    if (outstanding != null) {
      batchOutstanding.remove(batch);
    }
    batchSettled.accept(batch);
  }

  /** Deliveries in flight to subscribers. */
  public int inFlight() {
    return inFlight.size();
  }

  /** Sequences waiting to be redelivered, now or after a backoff. */
  public int waiting() {
    return ready.size() + delayed.size();
  }

  /** Sequences waiting out a backoff. */
  public int delayed() {
    return delayed.size();
  }

  /** Where a sequence stands for this consumer. */
  public enum Standing {
    /** Not delivered yet. */
    PENDING,
    /** Delivered and not yet acknowledged. */
    IN_FLIGHT,
    /** Waiting to be delivered again, now or after a backoff. */
    WAITING,
    /** Set aside while it is dead-lettered. */
    HELD,
    /** Acknowledged, or otherwise settled (skipped, given up on). */
    SETTLED
  }

  /** Where {@code sequence} stands. */
  public Standing standingOf(long sequence) {
    if (inFlight.containsKey(sequence)) {
      return Standing.IN_FLIGHT;
    }
    if (ready.containsKey(sequence) || delayed.containsKey(sequence)) {
      return Standing.WAITING;
    }
    if (held.containsKey(sequence)) {
      return Standing.HELD;
    }
    if (aside.contains(sequence)) {
      return Standing.PENDING;
    }
    return sequence < next ? Standing.SETTLED : Standing.PENDING;
  }

  /** Sequences set aside while they are dead-lettered. */
  public int held() {
    return held.size();
  }

  /** The subscriber holding an in-flight {@code sequence}, or -1. */
  public long ownerOf(long sequence) {
    InFlight f = inFlight.get(sequence);
    return f == null ? -1 : f.owner();
  }

  /** Unacknowledged sequences this consumer holds: in flight, waiting or held. Bounded by prefetch. */
  public int unsettled() {
    return inFlight.size() + ready.size() + delayed.size() + held.size();
  }
}
