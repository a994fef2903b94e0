package dev.spool;

import java.util.List;

/**
 * Lag over every consumer of every queue.
 *
 * @param totalConsumers consumers counted
 * @param maxLag the largest lag, in messages
 * @param avgLag the mean lag
 * @param consumers each consumer's lag
 * @since 0.1.0
 */
public record LagStats(int totalConsumers, long maxLag, double avgLag, List<ConsumerLag> consumers) {

  /**
   * One consumer's lag.
   *
   * @param queue the queue
   * @param consumer the consumer
   * @param lag messages not yet acknowledged
   * @param lagAgeMs age of the oldest of them
   */
  public record ConsumerLag(String queue, String consumer, long lag, long lagAgeMs) {}

  /** Builds the totals from per-consumer figures. */
  public static LagStats of(List<ConsumerLag> consumers) {
    long max = 0;
    long sum = 0;
    for (ConsumerLag c : consumers) {
      max = Math.max(max, c.lag());
      sum += c.lag();
    }
    return new LagStats(consumers.size(), max, consumers.isEmpty() ? 0 : (double) sum / consumers.size(),
        List.copyOf(consumers));
  }
}
