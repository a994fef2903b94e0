package dev.spool;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * A consumer with no subscriber attached and no read or acknowledgement for a while.
 *
 * @param queue its queue
 * @param consumer its name
 * @param lag messages it has not acknowledged
 * @param idleMillis how long it has been idle
 * @param lastActivity its last read, acknowledgement or delivery
 * @since 0.1.0
 */
public record StaleConsumer(String queue, String consumer, long lag, long idleMillis, Instant lastActivity) {

  /** {@code c}, of its queue, as stale at {@code nowMillis}. */
  public static StaleConsumer of(ConsumerInfo c, long nowMillis) {
    return new StaleConsumer(c.queue(), c.name(), c.lag(), nowMillis - c.lastActivity().toEpochMilli(), c.lastActivity());
  }

  /** {@code lists} as one, by queue and consumer name. */
  public static List<StaleConsumer> sorted(List<List<StaleConsumer>> lists) {
    return lists.stream().flatMap(List::stream)
        .sorted(java.util.Comparator.comparing(StaleConsumer::queue).thenComparing(StaleConsumer::consumer)).toList();
  }

  /** The longest idle time that can be asked for: what milliseconds can count. */
  private static final Duration MAX_IDLE = Duration.ofMillis(Long.MAX_VALUE);

  /**
   * Checks an idle time asked for by detection or cleanup, the same way for both.
   *
   * @throws SpoolException.InvalidConfiguration if it is missing, negative or too long to count
   */
  public static Duration requireValidIdle(Duration idle) {
    if (idle == null || idle.isNegative()) {
      throw new SpoolException.InvalidConfiguration("idle must be a duration of 0 or more, not " + idle);
    }
    if (idle.compareTo(MAX_IDLE) > 0) {
      throw new SpoolException.InvalidConfiguration("idle " + idle + " is too long; the most is " + MAX_IDLE);
    }
    return idle;
  }
}
