package dev.spool;

import java.time.Duration;
import java.time.Instant;

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
