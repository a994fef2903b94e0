package dev.spool;

/**
 * The circuit breaker of a consumer's handler subscriptions, as consumer stats show it.
 *
 * @since 0.1.0
 */
public enum BreakerState {
  /** No handler is subscribed. */
  NONE("none"),
  /** Calls go through. */
  CLOSED("closed"),
  /** One trial call may go through; its outcome closes or re-opens the breaker. */
  HALF_OPEN("half-open"),
  /** Repeated failures: deliveries to the handler pause. */
  OPEN("open");

  private final String wireName;

  BreakerState(String wireName) {
    this.wireName = wireName;
  }

  /** The name used in JSON and the console, e.g. {@code half-open}. */
  public String wireName() {
    return wireName;
  }

  @Override
  public String toString() {
    return wireName;
  }
}
