package dev.spool;

import java.time.Duration;
import java.time.Instant;

/**
 * Bounds on what callers may pass, so that a setting can never overflow the engine's arithmetic or
 * its timers: a timer can be armed at most about 248 days ahead, and a time must fit in epoch
 * milliseconds.
 *
 * @since 0.1.0
 */
public final class Limits {

  /** The longest timer-backed duration (ack timeout, backoff, inactivity): well inside Pekko's scheduler. */
  public static final Duration MAX_TIMER = Duration.ofDays(24);

  /** The longest age-like duration (ttl, retention, dedup window, message ttl). */
  public static final Duration MAX_AGE = Duration.ofDays(36_500);

  /** Most headers on one message. */
  public static final int MAX_HEADERS = 256;

  private Limits() {}

  /**
   * {@code bytes} if it can be the global memory threshold: 0 (none) or a positive number of bytes.
   *
   * @throws SpoolException.InvalidConfiguration if it is negative
   */
  public static long memoryThreshold(long bytes) {
    if (bytes < 0) {
      throw new SpoolException.InvalidConfiguration(
          "the memory threshold must be 0 (none) or a positive number of bytes, not " + bytes);
    }
    return bytes;
  }

  /**
   * {@code lag} if it can be the lag over which stale consumers are removed: 0 or more.
   *
   * @throws SpoolException.InvalidConfiguration if it is negative
   */
  public static long lagThreshold(long lag) {
    if (lag < 0) {
      throw new SpoolException.InvalidConfiguration("the lag threshold must not be negative, not " + lag);
    }
    return lag;
  }

  /**
   * {@code max} if a read may ask for that many deliveries: from 1 to {@code maxReadBatch}
   * ({@code spool.consumer.max-read-batch}).
   *
   * @throws SpoolException.InvalidConfiguration otherwise
   */
  public static int readMax(int max, int maxReadBatch) {
    if (max < 1 || max > maxReadBatch) {
      throw new SpoolException.InvalidConfiguration("read max must be between 1 and " + maxReadBatch + ", not " + max);
    }
    return max;
  }

  /**
   * {@code wait} if a read may wait that long: not negative ({@code null}: not at all). Longer
   * waits than {@code spool.consumer.max-read-wait} are shortened to it, not refused.
   *
   * @throws SpoolException.InvalidConfiguration if it is negative
   */
  public static Duration readWait(Duration wait) {
    if (wait != null && wait.isNegative()) {
      throw new SpoolException.InvalidConfiguration("read wait must not be negative, not " + wait);
    }
    return wait;
  }

  /** {@code d} if it is at most {@link #MAX_TIMER}; else InvalidConfiguration naming {@code field}. */
  static Duration timer(String field, Duration d) {
    if (d != null && d.compareTo(MAX_TIMER) > 0) {
      throw new SpoolException.InvalidConfiguration(field + " must be at most " + MAX_TIMER.toDays() + " days, not " + d);
    }
    return d;
  }

  /** {@code d} if it is at most {@link #MAX_AGE}; else InvalidConfiguration naming {@code field}. */
  static Duration age(String field, Duration d) {
    if (d != null && d.compareTo(MAX_AGE) > 0) {
      throw new SpoolException.InvalidConfiguration(field + " must be at most " + MAX_AGE.toDays() + " days, not " + d);
    }
    return d;
  }

  /** {@code t} as epoch milliseconds; InvalidConfiguration naming {@code field} when it does not fit. */
  static long epochMillis(String field, Instant t) {
    try {
      return t.toEpochMilli();
    } catch (ArithmeticException tooFar) {
      throw new SpoolException.InvalidConfiguration(field + " is out of range: " + t);
    }
  }
}
