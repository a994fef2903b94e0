package dev.spool;

import java.time.Duration;

/**
 * How a handler subscribed with {@link QueueConsumer#subscribe(java.util.function.Function, int)} is
 * run and protected. The engine's defaults come from {@code spool.handler} in
 * {@code reference.conf} ({@code spool.settings().handler()}); refine them with the {@code with…}
 * methods.
 *
 * @param timeout a call not completed after this long counts as failed (the delivery is retried);
 *     a consumer with a shorter ackTimeout uses that instead
 * @param dispatcher the Pekko dispatcher (config path) the handler runs on; the default is a thread
 *     pool apart from Pekko's own, so a blocking handler never starves the actors
 * @param maxFailures consecutive failed calls that open the circuit breaker
 * @param resetTimeout how long the breaker stays open before it lets one trial call through
 * @param maxResetTimeout the cap of the open period, which doubles after each failed trial
 * @since 0.1.0
 */
public record HandlerSettings(
    Duration timeout, String dispatcher, int maxFailures, Duration resetTimeout, Duration maxResetTimeout) {

  /** Checks the components; a value out of range fails with {@link SpoolException.InvalidConfiguration}. */
  public HandlerSettings {
    if (timeout == null || timeout.isNegative() || timeout.isZero()) {
      throw new SpoolException.InvalidConfiguration("handler timeout must be positive");
    }
    if (dispatcher == null || dispatcher.isBlank()) {
      throw new SpoolException.InvalidConfiguration("handler dispatcher must name a dispatcher");
    }
    if (maxFailures < 1) {
      throw new SpoolException.InvalidConfiguration("handler breaker max-failures must be 1 or more");
    }
    if (resetTimeout == null || resetTimeout.isNegative() || resetTimeout.isZero()
        || maxResetTimeout == null || maxResetTimeout.compareTo(resetTimeout) < 0) {
      throw new SpoolException.InvalidConfiguration("handler breaker needs 0 < reset-timeout <= max-reset-timeout");
    }
  }

  /** These settings with another call timeout. */
  public HandlerSettings withTimeout(Duration timeout) {
    return new HandlerSettings(timeout, dispatcher, maxFailures, resetTimeout, maxResetTimeout);
  }

  /** These settings with another dispatcher for the handler's calls. */
  public HandlerSettings withDispatcher(String dispatcher) {
    return new HandlerSettings(timeout, dispatcher, maxFailures, resetTimeout, maxResetTimeout);
  }

  /** The breaker: {@code maxFailures} consecutive failures open it for {@code resetTimeout}, growing to at most {@code maxResetTimeout}. */
  public HandlerSettings withBreaker(int maxFailures, Duration resetTimeout, Duration maxResetTimeout) {
    return new HandlerSettings(timeout, dispatcher, maxFailures, resetTimeout, maxResetTimeout);
  }
}
