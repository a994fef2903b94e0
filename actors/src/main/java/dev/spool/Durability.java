package dev.spool;

/**
 * Whether a queue lives in memory or is journaled to survive the death of the process.
 *
 * @since 0.1.0
 */
public enum Durability {
  /** In memory only: lost when the process stops. */
  TRANSIENT,
  /** Journaled: every acknowledged publish and committed position survives a crash. */
  PERSISTENT
}
