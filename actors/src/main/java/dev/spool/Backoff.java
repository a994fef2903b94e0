package dev.spool;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * How long a consumer waits before redelivering a message that was nacked with requeue: exponential
 * in the attempt, capped, with random jitter so that many failing messages do not retry in step.
 *
 * @param initial delay before the first redelivery
 * @param max the cap
 * @param multiplier growth per attempt, at least 1
 * @param jitter fraction of the delay added or removed at random, 0 to 1
 * @since 0.1.0
 */
public record Backoff(Duration initial, Duration max, double multiplier, double jitter) {

  /** Checks the components; a value out of range fails with {@link SpoolException.InvalidConfiguration}. */
  public Backoff {
    Limits.timer("backoff initial", initial);
    Limits.timer("backoff max", max);
    if (initial == null || initial.isNegative() || max == null || max.compareTo(initial) < 0) {
      throw new SpoolException.InvalidConfiguration("backoff needs 0 <= initial <= max");
    }
    if (!(multiplier >= 1.0) || Double.isInfinite(multiplier)) {
      throw new SpoolException.InvalidConfiguration("backoff multiplier must be at least 1");
    }
    if (!(jitter >= 0.0 && jitter <= 1.0)) {
      throw new SpoolException.InvalidConfiguration("backoff jitter must be between 0 and 1");
    }
  }

  /** An exponential backoff. */
  public static Backoff exponential(Duration initial, Duration max, double multiplier, double jitter) {
    return new Backoff(initial, max, multiplier, jitter);
  }

  /**
   * The delay before redelivery number {@code retry} (1 for the first retry).
   */
  public Duration delay(int retry) {
    double base = initial.toNanos() * Math.pow(multiplier, Math.max(0, retry - 1));
    double capped = Math.min(base, max.toNanos());
    double spread = capped * jitter;
    double jittered = capped + (spread == 0 ? 0 : ThreadLocalRandom.current().nextDouble(-spread, spread));
    return Duration.ofNanos((long) Math.max(0, Math.min(jittered, max.toNanos())));
  }
}
