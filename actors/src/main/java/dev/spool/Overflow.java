package dev.spool;

/**
 * What a queue does with a publish that would exceed its bounds or the global memory threshold.
 *
 * @since 0.1.0
 */
public enum Overflow {
  /** The publish fails with {@link SpoolException.QueueFull}; nothing retained is touched. */
  REJECT("reject"),
  /** The oldest retained messages are evicted to make room, and consumers are told exactly how many. */
  DROP_OLDEST("drop-oldest");

  private final String wireName;

  Overflow(String wireName) {
    this.wireName = wireName;
  }

  /** The name used in JSON and configuration, e.g. {@code drop-oldest}. */
  public String wireName() {
    return wireName;
  }
}
