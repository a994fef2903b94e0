package dev.spool;

/**
 * How a queue or a consumer is doing, worst first: what the console marks and an operator looks
 * at first. A queue's status is the worst of its own and its consumers'.
 *
 * @since 0.1.0
 */
public enum HealthStatus {
  /** Its journal cannot write: publishes and changes are refused until it can. */
  UNAVAILABLE("unavailable"),
  /** Messages wait and nothing has been acknowledged for {@code spool.health.stuck-after}. */
  STUCK("stuck"),
  /** A handler's circuit breaker is open: deliveries wait until it lets a call through. */
  BREAKER_OPEN("breaker-open"),
  /** The queue is at (or within a tenth of) its limits, or refused or dropped messages recently. */
  FULL("full"),
  /** Messages were dead-lettered recently. */
  DEAD_LETTERING("dead-lettering"),
  /** The oldest unacknowledged message is older than {@code spool.health.lagging-after}. */
  LAGGING("lagging"),
  /** An operator paused the consumer. */
  PAUSED("paused"),
  /** Nothing to act on. */
  OK("ok");

  private final String wireName;

  HealthStatus(String wireName) {
    this.wireName = wireName;
  }

  /** The name in JSON and the console, e.g. {@code breaker-open}. */
  public String wireName() {
    return wireName;
  }

  /** Whether this is worse than {@code other}. */
  public boolean worseThan(HealthStatus other) {
    return ordinal() < other.ordinal();
  }

  @Override
  public String toString() {
    return wireName;
  }
}
