package dev.spool.durable;

import java.util.Arrays;

/**
 * Where a consumer of a durable queue stands, as journaled: everything below {@code next} that is
 * not in {@code unsettled} is settled. After a restart the unsettled sequences are delivered again
 * and delivery goes on from {@code next}.
 *
 * @param next the next sequence never delivered
 * @param unsettled delivered, not yet settled sequences, ascending (bounded by the prefetch)
 * @param attempts deliveries made so far of each unsettled sequence
 * @param paused whether the consumer is paused (it stays paused after a restart)
 */
public record ConsumerPosition(long next, long[] unsettled, int[] attempts, boolean paused) {

  public ConsumerPosition {
    if (unsettled.length != attempts.length) {
      throw new IllegalArgumentException("one attempt count per unsettled sequence");
    }
  }

  /** The highest sequence at or below which everything is settled. */
  public long committed() {
    return (unsettled.length == 0 ? next : Math.min(next, unsettled[0])) - 1;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ConsumerPosition p && p.next == next && p.paused == paused
        && Arrays.equals(p.unsettled, unsettled) && Arrays.equals(p.attempts, attempts);
  }

  @Override
  public int hashCode() {
    return Long.hashCode(next) * 31 + Arrays.hashCode(unsettled);
  }

  @Override
  public String toString() {
    return "ConsumerPosition[next=" + next + ", unsettled=" + Arrays.toString(unsettled) + ", paused=" + paused + "]";
  }
}
