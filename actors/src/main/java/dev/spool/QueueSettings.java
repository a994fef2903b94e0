package dev.spool;

import java.time.Duration;

/**
 * A queue's settings (semantics.md, "Queue settings"). Start from {@link #defaults()} and refine with
 * the {@code with…} methods; each returns a new value. Two queues' settings are equal when every
 * field is, which is what makes {@code createQueue} idempotent.
 *
 * @param durability in memory, or journaled
 * @param maxLength bound on retained messages, 0 for unbounded
 * @param maxBytes bound on retained bytes, 0 for unbounded
 * @param overflow what a publish over the bounds does
 * @param ttl messages older than this expire, {@code null} for never
 * @param retention how long acknowledged messages are kept for replay
 * @param deadLetter where messages go after too many failed deliveries, {@code null} for nowhere
 * @param dedupWindow how long a producer-chosen message id is remembered for deduplication
 */
public record QueueSettings(
    Durability durability,
    long maxLength,
    long maxBytes,
    Overflow overflow,
    Duration ttl,
    Duration retention,
    DeadLetter deadLetter,
    Duration dedupWindow) {

  private static final QueueSettings DEFAULTS = new QueueSettings(
      Durability.TRANSIENT, 0, 0, Overflow.REJECT, null, Duration.ZERO, null, Duration.ofMinutes(2));

  /**
   * A dead-letter target.
   *
   * @param queue the dead-letter queue's name
   * @param maxDeliveries deliveries after which a message is dead-lettered
   */
  public record DeadLetter(String queue, int maxDeliveries) {
    /** Deliveries before dead-lettering when none is given: enough for transient failures, few enough to stop a storm. */
    public static final int DEFAULT_MAX_DELIVERIES = 10;
  }

  public QueueSettings {
    if (durability == null || overflow == null || retention == null || dedupWindow == null) {
      throw new SpoolException.InvalidConfiguration("durability, overflow, retention and dedupWindow are required");
    }
    Limits.age("ttl", ttl);
    Limits.age("retention", retention);
    Limits.age("dedupWindow", dedupWindow);
    if (maxLength < 0 || maxBytes < 0) {
      throw new SpoolException.InvalidConfiguration("maxLength and maxBytes must be 0 (unbounded) or positive");
    }
    if (ttl != null && (ttl.isNegative() || ttl.isZero())) {
      throw new SpoolException.InvalidConfiguration("ttl must be positive");
    }
    if (retention.isNegative() || dedupWindow.isNegative()) {
      throw new SpoolException.InvalidConfiguration("retention and dedupWindow must not be negative");
    }
    if (deadLetter != null) {
      Names.requireValid("dead-letter queue", deadLetter.queue());
      if (deadLetter.maxDeliveries() < 1) {
        throw new SpoolException.InvalidConfiguration("deadLetter.maxDeliveries must be 1 or more");
      }
    }
  }

  /** Transient, unbounded, rejecting on overflow, no ttl, no retention, no dead-letter queue, 2 minutes of dedup. */
  public static QueueSettings defaults() {
    return DEFAULTS;
  }

  public QueueSettings withDurability(Durability durability) {
    return new QueueSettings(durability, maxLength, maxBytes, overflow, ttl, retention, deadLetter, dedupWindow);
  }

  public QueueSettings withMaxLength(long maxLength) {
    return new QueueSettings(durability, maxLength, maxBytes, overflow, ttl, retention, deadLetter, dedupWindow);
  }

  public QueueSettings withMaxBytes(long maxBytes) {
    return new QueueSettings(durability, maxLength, maxBytes, overflow, ttl, retention, deadLetter, dedupWindow);
  }

  public QueueSettings withOverflow(Overflow overflow) {
    return new QueueSettings(durability, maxLength, maxBytes, overflow, ttl, retention, deadLetter, dedupWindow);
  }

  public QueueSettings withTtl(Duration ttl) {
    return new QueueSettings(durability, maxLength, maxBytes, overflow, ttl, retention, deadLetter, dedupWindow);
  }

  public QueueSettings withRetention(Duration retention) {
    return new QueueSettings(durability, maxLength, maxBytes, overflow, ttl, retention, deadLetter, dedupWindow);
  }

  /** Dead-letter to {@code queue} after {@link DeadLetter#DEFAULT_MAX_DELIVERIES} deliveries. */
  public QueueSettings withDeadLetter(String queue) {
    return withDeadLetter(queue, DeadLetter.DEFAULT_MAX_DELIVERIES);
  }

  public QueueSettings withDeadLetter(String queue, int maxDeliveries) {
    return new QueueSettings(durability, maxLength, maxBytes, overflow, ttl, retention,
        new DeadLetter(queue, maxDeliveries), dedupWindow);
  }

  public QueueSettings withDedupWindow(Duration dedupWindow) {
    return new QueueSettings(durability, maxLength, maxBytes, overflow, ttl, retention, deadLetter, dedupWindow);
  }
}
