package dev.spool.actor;

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
}
