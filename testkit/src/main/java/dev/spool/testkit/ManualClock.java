package dev.spool.testkit;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A wall clock that moves only when a test moves it. Spool reads append times, expiry, staleness and
 * health judgements from its clock ({@link dev.spool.SpoolSettings#clock()}); {@link SpoolTestKit}
 * moves this clock and Pekko's {@code ManualTime} scheduler together, so that a timer and the time
 * it compares against agree.
 *
 * @since 0.1.0
 */
public final class ManualClock extends Clock {

  /** Where a new clock starts: a fixed instant, so that runs of a test see the same times. */
  public static final Instant START = Instant.parse("2026-01-01T00:00:00Z");

  private final AtomicLong millis;

  /** A clock at {@link #START}. */
  public ManualClock() {
    this(START);
  }

  /** A clock at {@code start}. */
  public ManualClock(Instant start) {
    this.millis = new AtomicLong(start.toEpochMilli());
  }

  /**
   * Moves the clock forward.
   *
   * @throws IllegalArgumentException if {@code by} is negative: Spool's times never go back
   */
  public void advance(Duration by) {
    if (by.isNegative()) {
      throw new IllegalArgumentException("a manual clock only moves forward, not by " + by);
    }
    millis.addAndGet(by.toMillis());
  }

  @Override
  public long millis() {
    return millis.get();
  }

  @Override
  public Instant instant() {
    return Instant.ofEpochMilli(millis.get());
  }

  @Override
  public ZoneId getZone() {
    return ZoneOffset.UTC;
  }

  /** A manual clock has one zone, UTC, as Spool's own clock has. */
  @Override
  public Clock withZone(ZoneId zone) {
    if (ZoneOffset.UTC.equals(zone)) {
      return this;
    }
    throw new UnsupportedOperationException("a manual clock keeps UTC, not " + zone);
  }

  @Override
  public String toString() {
    return "ManualClock[" + instant() + "]";
  }
}
