package dev.spool.log;

import dev.spool.Message;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.LongConsumer;

/**
 * The messages a consumer's cursor has passed but that it has not delivered yet: those not due yet
 * (a delivery time ahead), set aside so that the due messages behind them flow, and those ready but
 * waiting their turn by priority. Each is a sequence below the cursor that is still unsettled, so
 * the consumer's committed position stays below the lowest of them and the queue retains them.
 *
 * <p>Not-due entries are ordered by their due time (the consumer arms one timer for the earliest);
 * ready ones by priority, highest first, then by sequence, so order within one priority is kept.
 * A consumer of a queue without priorities keeps every entry at priority 0: ready ones go in
 * sequence order. How many entries it holds is bounded by its owner
 * ({@code spool.scheduling.max-deferred} not-due, {@code priority-window} ready).
 *
 * <p>Single-threaded: owned by one {@link ConsumerCursor}.
 */
public final class SetAside {

  private record Due(long at, long sequence) implements Comparable<Due> {
    @Override
    public int compareTo(Due o) {
      int c = Long.compare(at, o.at);
      return c != 0 ? c : Long.compare(sequence, o.sequence);
    }
  }

  /**
   * The due time of an entry restored from the journal whose message is cold (not in the heap): not
   * known until its segment is loaded, so it counts as not due and arms no wake-up until then.
   */
  public static final long UNKNOWN_DUE = Long.MAX_VALUE >> 5;

  /** Not-due sequences, with their due time (ms) and priority packed as {@code due * 16 + priority}. */
  private final TreeMap<Long, Long> notDue = new TreeMap<>();
  private final TreeSet<Due> byDue = new TreeSet<>();
  /** Ready sequences by priority. */
  @SuppressWarnings("unchecked")
  private final TreeSet<Long>[] ready = new TreeSet[Message.MAX_PRIORITY + 1];
  private int readyCount;

  SetAside() {
    for (int p = 0; p < ready.length; p++) {
      ready[p] = new TreeSet<>();
    }
  }

  /**
   * Sets {@code sequence} aside until {@code dueAt} (epoch ms; 0 or a time past: ready at the next
   * {@link #release}), to go at {@code priority} then.
   */
  public void defer(long sequence, long dueAt, int priority) {
    remove(sequence);
    notDue.put(sequence, dueAt * 16 + priority);
    byDue.add(new Due(dueAt, sequence));
  }

  /** Sets a due {@code sequence} aside to be delivered in its turn at {@code priority}. */
  public void addReady(long sequence, int priority) {
    remove(sequence);
    if (ready[priority].add(sequence)) {
      readyCount++;
    }
  }

  /** Makes every entry due at {@code nowMillis} ready; whether any became ready. */
  public boolean release(long nowMillis) {
    boolean any = false;
    while (!byDue.isEmpty() && byDue.first().at() <= nowMillis) {
      Due due = byDue.pollFirst();
      long packed = notDue.remove(due.sequence());
      ready[(int) (packed & 15)].add(due.sequence());
      readyCount++;
      any = true;
    }
    return any;
  }

  /** The ready sequence to deliver next (highest priority, lowest sequence), or -1. */
  public long peekReady() {
    if (readyCount == 0) {
      return -1;
    }
    for (int p = ready.length - 1; p >= 0; p--) {
      if (!ready[p].isEmpty()) {
        return ready[p].first();
      }
    }
    return -1;
  }

  /** Takes {@code sequence} out, wherever it is; whether it was set aside. */
  public boolean remove(long sequence) {
    Long packed = notDue.remove(sequence);
    if (packed != null) {
      byDue.remove(new Due(packed >> 4, sequence));
      return true;
    }
    if (readyCount > 0) {
      for (TreeSet<Long> bucket : ready) {
        if (bucket.remove(sequence)) {
          readyCount--;
          return true;
        }
      }
    }
    return false;
  }

  /** Whether {@code sequence} is set aside. */
  public boolean contains(long sequence) {
    if (notDue.containsKey(sequence)) {
      return true;
    }
    if (readyCount > 0) {
      for (TreeSet<Long> bucket : ready) {
        if (bucket.contains(sequence)) {
          return true;
        }
      }
    }
    return false;
  }

  /** The lowest sequence set aside, or {@link Long#MAX_VALUE} when none is. */
  public long first() {
    long low = notDue.isEmpty() ? Long.MAX_VALUE : notDue.firstKey();
    if (readyCount > 0) {
      for (TreeSet<Long> bucket : ready) {
        if (!bucket.isEmpty()) {
          low = Math.min(low, bucket.first());
        }
      }
    }
    return low;
  }

  /** The earliest known due time of a not-due entry (epoch ms), or 0 when there is none. */
  public long nextDue() {
    return byDue.isEmpty() || byDue.first().at() >= UNKNOWN_DUE ? 0 : byDue.first().at();
  }

  /** The lowest sequence whose due time is {@link #UNKNOWN_DUE not known yet}, or -1. */
  public long firstUnknownDue() {
    Due unknown = byDue.ceiling(new Due(UNKNOWN_DUE, Long.MIN_VALUE));
    return unknown == null ? -1 : unknown.sequence();
  }

  /** Entries not due at {@code nowMillis} (so not counted in the consumer's lag). */
  public int notDueAt(long nowMillis) {
    return byDue.tailSet(new Due(nowMillis, Long.MAX_VALUE), false).size();
  }

  /** Whether {@code sequence} is set aside and not due at {@code nowMillis}. */
  public boolean notDueAt(long sequence, long nowMillis) {
    Long packed = notDue.get(sequence);
    return packed != null && (packed >> 4) > nowMillis;
  }

  /** The lowest sequence set aside that is due at {@code nowMillis} (ready, or not released yet), or -1. */
  public long firstDueAt(long nowMillis) {
    long low = Long.MAX_VALUE;
    for (Due due : byDue.headSet(new Due(nowMillis, Long.MAX_VALUE), true)) {
      low = Math.min(low, due.sequence());
    }
    if (readyCount > 0) {
      for (TreeSet<Long> bucket : ready) {
        if (!bucket.isEmpty()) {
          low = Math.min(low, bucket.first());
        }
      }
    }
    return low == Long.MAX_VALUE ? -1 : low;
  }

  /** Entries waiting for their due time (released ones excluded). */
  public int deferred() {
    return notDue.size();
  }

  /** Entries ready to go. */
  public int ready() {
    return readyCount;
  }

  public int size() {
    return notDue.size() + readyCount;
  }

  public boolean isEmpty() {
    return size() == 0;
  }

  /** Tells {@code each} every sequence set aside. */
  public void forEach(LongConsumer each) {
    notDue.keySet().forEach(each::accept);
    for (TreeSet<Long> bucket : ready) {
      bucket.forEach(each::accept);
    }
  }

  public void clear() {
    notDue.clear();
    byDue.clear();
    for (TreeSet<Long> bucket : ready) {
      bucket.clear();
    }
    readyCount = 0;
  }
}
