package dev.spool.actor;

import dev.spool.SpoolEvent;
import java.time.Clock;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * The bytes and messages retained over every queue of one engine, against the global memory
 * threshold. Queues reserve before they append and release when they free, so that retained
 * bytes never pass the threshold: a publish that does not fit is refused (or makes room under
 * {@code drop-oldest}) instead of running the JVM out of memory.
 *
 * <p>Shared by the engine's queue actors (a lock-free counter; they never wait on each other).
 * The pressure flag flips under a lock so that {@code MemoryLow} and {@code MemoryNormal} reach
 * the event stream in the order they happened.
 */
final class MemoryMonitor {

  /** Pressure ends when retained bytes fall under this share of the threshold. */
  static final double LOW_WATER = 0.8;

  private final AtomicLong bytes = new AtomicLong();
  private final Consumer<SpoolEvent> events;
  private final Clock clock;
  private volatile long threshold;
  private volatile boolean underPressure; // written under the lock
  private volatile Runnable onPressure = () -> {};

  MemoryMonitor(long threshold, Consumer<SpoolEvent> events, Clock clock) {
    this.threshold = threshold;
    this.events = events;
    this.clock = clock;
  }

  /**
   * Reserves {@code size} bytes for messages about to be appended.
   *
   * @return false, with nothing reserved, if they would pass the threshold (pressure begins)
   */
  boolean tryReserve(long size) {
    long limit = threshold;
    while (true) {
      long used = bytes.get();
      if (limit > 0 && used + size > limit) {
        pressure(true, used);
        return false;
      }
      if (bytes.compareAndSet(used, used + size)) {
        if (limit > 0 && used + size >= limit) {
          pressure(true, used + size);
        }
        return true;
      }
    }
  }

  /**
   * Accounts {@code size} bytes that must be held whatever the threshold: what a durable queue
   * recovered from its journal was confirmed to its producers and is never refused afterwards.
   */
  void reserve(long size) {
    long used = bytes.addAndGet(size);
    long limit = threshold;
    if (limit > 0 && used >= limit) {
      pressure(true, used);
    }
  }

  /** Gives back what freed messages held. */
  void release(long size) {
    if (size == 0) {
      return;
    }
    long used = bytes.addAndGet(-size);
    long limit = threshold;
    if (limit == 0 || used < limit * LOW_WATER) {
      pressure(false, used);
    }
  }

  /**
   * Whether garbage collection and overflow policies should run: retained bytes are at the
   * threshold, or pressure is on and they are still over the low-water mark.
   */
  boolean needsRelief() {
    long limit = threshold;
    long used = bytes.get();
    return limit > 0 && (used >= limit || underPressure && used > limit * LOW_WATER);
  }

  /** Bytes to free to get back under the low-water mark. */
  long excessOverLowWater() {
    long limit = threshold;
    return limit == 0 ? 0 : Math.max(0, bytes.get() - (long) (limit * LOW_WATER));
  }

  void setThreshold(long bytes) {
    this.threshold = bytes;
    long used = this.bytes.get();
    if (bytes > 0 && used >= bytes) {
      pressure(true, used);
    } else if (bytes == 0 || used < bytes * LOW_WATER) {
      pressure(false, used);
    }
  }

  long threshold() {
    return threshold;
  }

  long bytes() {
    return bytes.get();
  }

  boolean underPressure() {
    return underPressure;
  }

  /** What to run when pressure begins (the janitor's relief: garbage collection, then overflow policies). */
  void onPressure(Runnable action) {
    this.onPressure = action;
  }

  private void pressure(boolean on, long used) {
    if (underPressure == on) {
      return;
    }
    synchronized (this) {
      if (underPressure == on) {
        return;
      }
      underPressure = on;
      events.accept(on
          ? new SpoolEvent.MemoryLow(clock.instant(), used, threshold)
          : new SpoolEvent.MemoryNormal(clock.instant(), used, threshold));
    }
    if (on) {
      onPressure.run();
    }
  }
}
