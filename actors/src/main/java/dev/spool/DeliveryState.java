package dev.spool;

/**
 * Why a consumer is or is not delivering right now, so that an operator never has to guess why
 * one stalls.
 *
 * @since 0.1.0
 */
public enum DeliveryState {
  /** Messages are available and a subscriber can take them. */
  DELIVERING("delivering"),
  /** Every retained message has been delivered. */
  CAUGHT_UP("caught-up"),
  /** Messages are waiting but nothing is attached to take them (no subscriber, no pending read). */
  NO_SUBSCRIBERS("no-subscribers"),
  /** Messages are waiting but prefetch deliveries are in flight, or every subscriber is still busy. */
  CREDIT_EXHAUSTED("credit-exhausted"),
  /** Paused by an operator. */
  PAUSED("paused"),
  /** Only redeliveries waiting out their backoff remain. */
  BACKOFF("backoff"),
  /** The handler's circuit breaker is open. */
  BREAKER_OPEN("breaker-open");

  private final String wireName;

  DeliveryState(String wireName) {
    this.wireName = wireName;
  }

  /** The name used in JSON and the console, e.g. {@code caught-up}. */
  public String wireName() {
    return wireName;
  }

  @Override
  public String toString() {
    return wireName;
  }
}
