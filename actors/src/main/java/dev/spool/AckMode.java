package dev.spool;

/**
 * How a consumer's position advances.
 *
 * @since 0.1.0
 */
public enum AckMode {
  /** At-most-once: handing a message to a subscriber commits it. */
  NONE,
  /** At-least-once: a message is committed only when acknowledged, and redelivered otherwise. */
  EXPLICIT
}
