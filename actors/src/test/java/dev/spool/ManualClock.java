package dev.spool;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicLong;

/** A wall clock that moves only when a test moves it, alongside {@code ManualTime}'s scheduler. */
public final class ManualClock extends Clock {

  private final AtomicLong millis = new AtomicLong(1_700_000_000_000L);

  public void advance(Duration by) {
    millis.addAndGet(by.toMillis());
  }

  /** A test kit's configuration: {@code ManualTime}'s scheduler over the project's own configuration. */
  public static com.typesafe.config.Config testKitConfig() {
    return org.apache.pekko.actor.testkit.typed.javadsl.ManualTime.config()
        .withFallback(com.typesafe.config.ConfigFactory.load());
  }

  /** A Spool on {@code system} that reads the time from this clock. */
  public Spool spool(org.apache.pekko.actor.typed.ActorSystem<?> system) {
    return Spool.create(system, SpoolSettings.create(system).withClock(this));
  }

  /** Moves this clock and {@code system}'s {@code ManualTime} scheduler together, so timers fire at the new time. */
  public void timePasses(org.apache.pekko.actor.typed.ActorSystem<?> system, Duration by) {
    advance(by);
    org.apache.pekko.actor.testkit.typed.javadsl.ManualTime.get(system).timePasses(by);
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

  @Override
  public Clock withZone(ZoneId zone) {
    throw new UnsupportedOperationException("a manual clock has one zone");
  }
}
