package dev.spool.actor;

import dev.spool.ConsumerInfo;
import dev.spool.LagStats;
import dev.spool.MemoryStats;
import dev.spool.QueueInfo;
import dev.spool.StaleConsumer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The figures the {@link Janitor} answers over every queue (memory, lag, stale consumers), computed
 * from what the queues reported. Pure functions: the janitor gathers the replies, this sums and
 * filters them, so that the rules are tested without an actor system.
 */
final class QueueSurvey {

  private QueueSurvey() {}

  /** Every queue's retained messages and bytes, by queue name, with their totals against {@code threshold}. */
  static MemoryStats memory(List<QueueInfo> queues, long threshold, boolean underPressure) {
    List<MemoryStats.QueueMemory> perQueue = queues.stream()
        .sorted(Comparator.comparing(QueueInfo::name))
        .map(i -> new MemoryStats.QueueMemory(i.name(), i.stats().depth(), i.stats().memoryBytes()))
        .toList();
    long messages = 0;
    long bytes = 0;
    for (MemoryStats.QueueMemory q : perQueue) {
      messages += q.messages();
      bytes += q.bytes();
    }
    return new MemoryStats(messages, bytes, threshold, underPressure, perQueue);
  }

  /**
   * The consumers of every queue as one list, by queue name, each queue's consumers in the order it
   * listed them.
   */
  static List<ConsumerInfo> consumers(List<List<ConsumerInfo>> perQueue) {
    List<ConsumerInfo> all = new ArrayList<>();
    perQueue.forEach(all::addAll);
    all.sort(Comparator.comparing(ConsumerInfo::queue)); // stable: a queue's own order stays
    return all;
  }

  /** Lag over {@code consumers}. */
  static LagStats lag(List<ConsumerInfo> consumers) {
    return LagStats.of(consumers.stream()
        .map(c -> new LagStats.ConsumerLag(c.queue(), c.name(), c.lag(), c.lagAgeMs()))
        .toList());
  }

  /**
   * The consumers stale at {@code nowMillis} for {@code idle} (no subscriber attached, no read or
   * acknowledgement), by {@link ConsumerInfo#isStale}, the rule the queues clean up by too.
   */
  static List<StaleConsumer> stale(List<ConsumerInfo> consumers, long nowMillis, Duration idle) {
    List<StaleConsumer> stale = new ArrayList<>();
    for (ConsumerInfo c : consumers) {
      if (c.isStale(nowMillis, idle)) {
        stale.add(StaleConsumer.of(c, nowMillis));
      }
    }
    return stale;
  }
}
