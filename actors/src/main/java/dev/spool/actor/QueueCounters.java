package dev.spool.actor;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * A queue's totals over all its consumers. Consumers add to them from their own threads (a
 * {@link LongAdder} per figure keeps that contention-free), the queue reads them for its stats.
 */
final class QueueCounters {
  final LongAdder delivered = new LongAdder();
  final LongAdder acked = new LongAdder();
  final LongAdder redelivered = new LongAdder();
  final LongAdder dropped = new LongAdder();
  final LongAdder deadLettered = new LongAdder();
  /** Dead letters by reason: a handful of reasons, so a handful of entries. */
  private final Map<String, LongAdder> deadLetteredByReason = new ConcurrentHashMap<>();

  void deadLettered(String reason) {
    deadLetteredByReason.computeIfAbsent(reason, r -> new LongAdder()).increment();
  }

  Map<String, Long> deadLetteredByReason() {
    Map<String, Long> out = new TreeMap<>();
    deadLetteredByReason.forEach((reason, n) -> out.put(reason, n.sum()));
    return out;
  }
}
