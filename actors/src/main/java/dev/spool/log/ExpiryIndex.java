package dev.spool.log;

import java.util.Arrays;
import java.util.function.LongConsumer;

/**
 * The retained messages that carry their own expiry time, ordered by it: a binary min-heap of
 * (expiry, sequence) pairs in two primitive arrays, 16 bytes per message and no object per entry.
 * Messages without an expiry of their own (the common case, or a queue-wide ttl, which expires in
 * sequence order) are not in it.
 *
 * <p>Single-threaded: owned by the queue's writer.
 */
public final class ExpiryIndex {

  private static final long[] NONE = new long[0];

  // Allocated on the first expiring message: most queues never hold one.
  private long[] expiries = NONE;
  private long[] sequences = NONE;
  private int size;

  /** Remembers that {@code sequence} expires at {@code expiresAt} (epoch ms). */
  public void add(long expiresAt, long sequence) {
    if (size == expiries.length) {
      int capacity = Math.max(16, size * 2);
      expiries = Arrays.copyOf(expiries, capacity);
      sequences = Arrays.copyOf(sequences, capacity);
    }
    int i = size++;
    while (i > 0) {
      int parent = (i - 1) >>> 1;
      if (!before(expiresAt, sequence, expiries[parent], sequences[parent])) {
        break;
      }
      expiries[i] = expiries[parent];
      sequences[i] = sequences[parent];
      i = parent;
    }
    expiries[i] = expiresAt;
    sequences[i] = sequence;
  }

  /**
   * Removes every entry expiring at or before {@code now}, earliest first, handing each sequence to
   * {@code expired}.
   *
   * @return how many were removed
   */
  public int pollExpired(long now, LongConsumer expired) {
    int polled = 0;
    while (size > 0 && expiries[0] <= now) {
      long sequence = sequences[0];
      removeTop();
      expired.accept(sequence);
      polled++;
    }
    if (size == 0 && expiries.length > 1024) {
      expiries = NONE; // give back what a burst of expiring messages grew
      sequences = NONE;
    }
    return polled;
  }

  /**
   * Forgets entries below {@code firstSequence} (their messages were freed by garbage collection
   * before they expired) once they could outnumber the retained messages: otherwise a long ttl
   * would keep an entry per message ever published within it. O(n), at most once per n/2 frees.
   *
   * @param retained messages the log retains now
   */
  public void dropBelow(long firstSequence, long retained) {
    if (size <= 2 * retained + 1024) {
      return;
    }
    int kept = 0;
    for (int i = 0; i < size; i++) {
      if (sequences[i] >= firstSequence) {
        expiries[kept] = expiries[i];
        sequences[kept] = sequences[i];
        kept++;
      }
    }
    size = kept;
    for (int i = (size >>> 1) - 1; i >= 0; i--) {
      siftDown(i, expiries[i], sequences[i]);
    }
  }

  /** Entries held. */
  public int size() {
    return size;
  }

  /** The earliest expiry held, or {@link Long#MAX_VALUE} when empty. */
  public long earliest() {
    return size == 0 ? Long.MAX_VALUE : expiries[0];
  }

  private void removeTop() {
    size--;
    siftDown(0, expiries[size], sequences[size]);
  }

  /** Places (e, s) at or below slot {@code i}, moving smaller children up. */
  private void siftDown(int i, long e, long s) {
    int half = size >>> 1;
    while (i < half) {
      int child = 2 * i + 1;
      int right = child + 1;
      if (right < size && before(expiries[right], sequences[right], expiries[child], sequences[child])) {
        child = right;
      }
      if (!before(expiries[child], sequences[child], e, s)) {
        break;
      }
      expiries[i] = expiries[child];
      sequences[i] = sequences[child];
      i = child;
    }
    expiries[i] = e;
    sequences[i] = s;
  }

  private static boolean before(long e1, long s1, long e2, long s2) {
    return e1 < e2 || (e1 == e2 && s1 < s2);
  }
}
