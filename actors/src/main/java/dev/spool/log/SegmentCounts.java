package dev.spool.log;

/**
 * How many messages each live segment of a {@link SegmentedLog} retains, as a Fenwick tree over the
 * slots of the log's segment ring, so that what a run of segments retains is summed in
 * O(log segments) instead of segment by segment: a consumer's lag reads it for every figure.
 *
 * <p>Segment {@code n} sits at slot {@code n mod capacity}, as in the ring. The live segments never
 * span more than the capacity from the lowest one on, so a run of them that wraps around the ring is
 * two prefix sums, and a segment past that span holds nothing (a recovered log's last sequences may
 * have none).
 *
 * <p>Single writer, many readers: only the log's writer {@linkplain #add adds}, any thread may
 * {@linkplain #sum sum}. A reader racing the writer may see a count a few changes old (one change
 * updates several cells), which the log bounds by what it can hold. The tree is replaced whole when
 * the ring grows, through a volatile field, so a reader never mixes two capacities.
 */
final class SegmentCounts {

  /** The Fenwick tree, 1-based: cell {@code i} covers the slots {@code (i - (i & -i), i]}. */
  private volatile long[] tree;

  /** @param capacity the ring's capacity, a power of two */
  SegmentCounts(int capacity) {
    this.tree = new long[capacity + 1];
  }

  /** Adds {@code delta} to segment {@code segment}'s count. Writer only. */
  void add(long segment, long delta) {
    long[] t = tree;
    int capacity = t.length - 1;
    for (int i = (int) (segment & (capacity - 1)) + 1; i <= capacity; i += i & -i) {
      t[i] += delta;
    }
  }

  /**
   * What segments {@code first} to {@code last} retain (0 when {@code last < first}), with
   * {@code lowest} the lowest live segment, at most {@code first}. Safe from any thread.
   */
  long sum(long first, long last, long lowest) {
    long[] t = tree;
    int capacity = t.length - 1;
    last = Math.min(last, lowest + capacity - 1);
    if (last < first) {
      return 0;
    }
    int from = (int) (first & (capacity - 1));
    int to = (int) (last & (capacity - 1));
    return from <= to
        ? prefix(t, to) - prefix(t, from - 1)
        : prefix(t, capacity - 1) - prefix(t, from - 1) + prefix(t, to);
  }

  /** The counts of slots 0 to {@code slot}. */
  private static long prefix(long[] t, int slot) {
    long sum = 0;
    for (int i = slot + 1; i > 0; i -= i & -i) {
      sum += t[i];
    }
    return sum;
  }

  /** Starts over with {@code countsBySlot}, one per slot of the grown ring, in O(capacity). Writer only. */
  void rebuild(long[] countsBySlot) {
    int capacity = countsBySlot.length;
    long[] t = new long[capacity + 1];
    for (int i = 1; i <= capacity; i++) {
      t[i] += countsBySlot[i - 1];
      int parent = i + (i & -i);
      if (parent <= capacity) {
        t[parent] += t[i];
      }
    }
    tree = t;
  }
}
