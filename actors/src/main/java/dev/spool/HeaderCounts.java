package dev.spool;

import java.util.Map;
import java.util.TreeMap;

/**
 * How many of a queue's newest retained messages carry each value of one header: on a dead-letter
 * queue, by {@code x-death-reason} or {@code x-death-queue}, what was dead-lettered and why. One
 * count looks at the newest {@link MessageQuery#MAX_SCAN} sequences at most.
 *
 * @param header the header counted
 * @param values messages per value of the header
 * @param without messages without the header
 * @param scanned retained messages looked at
 * @param complete whether every retained message was looked at
 * @since 0.1.0
 */
public record HeaderCounts(String header, Map<String, Long> values, long without, long scanned, boolean complete) {

  /** Keeps copies of the collections: the record never changes. */
  public HeaderCounts {
    values = new TreeMap<>(values);
  }

  /** These counts with {@code other}'s added, as over one queue (the partitions of one). */
  public HeaderCounts plus(HeaderCounts other) {
    Map<String, Long> sum = new TreeMap<>(values);
    other.values().forEach((v, n) -> sum.merge(v, n, Long::sum));
    return new HeaderCounts(header, sum, without + other.without(), scanned + other.scanned(),
        complete && other.complete());
  }
}
