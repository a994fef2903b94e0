package dev.spool.actor;

import dev.spool.SpoolEvent;
import dev.spool.durable.JournalMemory;
import dev.spool.queue.MemoryBudget;
import dev.spool.storage.DiskAlarm;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.function.Consumer;

/**
 * The bytes and messages retained over every queue of one engine, against the global memory
 * threshold. Queues reserve before they append and release when they free, so that retained
 * bytes never pass the threshold: a publish that does not fit is refused (or makes room under
 * {@code drop-oldest}) instead of running the JVM out of memory.
 *
 * <p>What persistence holds counts too: a durable queue reserves a write's serialized form with
 * the publishes it carries ({@link #tryReserve(long, long)}, within the threshold like the messages
 * themselves) until the write completes, and journals hold a snapshot while it is written
 * ({@link JournalMemory}). Held bytes count toward the threshold for publishes but not toward
 * relief: overflow policies evict retained messages only, never for a write or a snapshot.
 *
 * <p>Shared by the engine's queue actors (a lock-free counter; they never wait on each other).
 * The pressure flag flips under a lock so that {@code MemoryLow} and {@code MemoryNormal} reach
 * the event stream in the order they happened.
 */
final class MemoryMonitor implements JournalMemory, MemoryBudget {

  /** Pressure ends when retained bytes fall under this share of the threshold. */
  static final double LOW_WATER = 0.8;

  /**
   * Share of the maximum heap a snapshot leaves free: room for what the accounting does not see
   * (the young generation the running load allocates in, requests and deliveries in flight, the
   * collector's need for free regions). A quarter: with a tenth, a 256 MiB heap under load ran
   * out while a snapshot it had judged to fit was written.
   */
  static final double SNAPSHOT_MARGIN = 0.25;

  /** The JVM's heap as the snapshot decision sees it. */
  interface Heap {
    /** The most the heap may grow to. */
    long max();

    /**
     * Heap that survived collection: the survivor and old generations as they are now (young
     * collections do not update the old generation's after-collection figure, and what is in
     * eden is mostly garbage). It counts old garbage not yet collected, so it errs high.
     */
    long live();

    /** The running JVM's heap. */
    Heap JVM = new Heap() {
      private final List<MemoryPoolMXBean> survived = ManagementFactory.getMemoryPoolMXBeans().stream()
          .filter(p -> p.getType() == MemoryType.HEAP && !p.getName().contains("Eden"))
          .toList();

      @Override
      public long max() {
        return Runtime.getRuntime().maxMemory();
      }

      @Override
      public long live() {
        long live = 0;
        for (MemoryPoolMXBean pool : survived) {
          live += pool.getUsage().getUsed();
        }
        return live;
      }
    };
  }

  /**
   * Bytes counted against the threshold: retained ones and {@link #held} ones. Every reservation
   * that must stay within the threshold compares and sets this one counter, so reservations racing
   * from several queues never pass it together.
   */
  private final AtomicLong counted = new AtomicLong();
  /** The part of {@link #counted} held for journal writes and snapshots under way, not retained messages. */
  private final AtomicLong held = new AtomicLong();
  private final Consumer<SpoolEvent> events;
  private final Clock clock;
  private final Heap heap;
  private volatile long threshold;
  private volatile boolean underPressure; // written under the lock
  private volatile Runnable onPressure = () -> {};
  /** The segment cache's bytes now (see {@link #countCache}). */
  private volatile LongSupplier cache = () -> 0;
  private final DiskAlarm disk;

  MemoryMonitor(long threshold, Consumer<SpoolEvent> events, Clock clock) {
    this(threshold, events, clock, Heap.JVM, DiskAlarm.off());
  }

  MemoryMonitor(long threshold, Consumer<SpoolEvent> events, Clock clock, Heap heap) {
    this(threshold, events, clock, heap, DiskAlarm.off());
  }

  MemoryMonitor(long threshold, Consumer<SpoolEvent> events, Clock clock, DiskAlarm disk) {
    this(threshold, events, clock, Heap.JVM, disk);
  }

  private MemoryMonitor(long threshold, Consumer<SpoolEvent> events, Clock clock, Heap heap, DiskAlarm disk) {
    this.threshold = threshold;
    this.events = events;
    this.clock = clock;
    this.heap = heap;
    this.disk = disk;
  }

  /**
   * The engine's disk alarm, which durable queues consult before they admit a publish. It travels
   * with the memory accounting, which every queue already shares, and the janitor updates it.
   */
  DiskAlarm disk() {
    return disk;
  }

  /**
   * Reserves {@code size} bytes for messages about to be appended.
   *
   * @return false, with nothing reserved, if they would pass the threshold (pressure begins)
   */
  boolean tryReserve(long size) {
    return tryReserve(size, 0);
  }

  /**
   * Reserves {@code size} bytes for messages about to be appended and {@code held} more for the
   * journal write that stores them (its serialized form), together: either both fit under the
   * threshold or neither is reserved. The held part is given back with {@link #releaseHeld}.
   *
   * @return false, with nothing reserved, if they would pass the threshold (pressure begins)
   */
  @Override
  public boolean tryReserve(long size, long held) {
    long limit = threshold;
    long total = size + held;
    long cached = cache.getAsLong();
    while (true) {
      long used = counted.get();
      if (limit > 0 && used + cached + total > limit) {
        pressure(true, used + cached);
        return false;
      }
      if (counted.compareAndSet(used, used + total)) {
        if (held > 0) {
          this.held.addAndGet(held);
        }
        if (limit > 0 && used + cached + total >= limit) {
          pressure(true, used + cached + total);
        }
        return true;
      }
    }
  }

  /**
   * Reserves {@code size} bytes that a durable queue recovered from its journal, if retained bytes
   * stay within the threshold. What journals hold for a moment does not count here: a queue must
   * not be refused for good because a snapshot was being written while it recovered.
   *
   * @return false, with nothing reserved, if they would pass the threshold
   */
  @Override
  public boolean tryReserveRecovered(long size) {
    long limit = threshold;
    while (true) {
      long used = counted.get();
      if (limit > 0 && used - held.get() + size > limit) {
        return false;
      }
      if (counted.compareAndSet(used, used + size)) {
        if (limit > 0 && used + size >= limit) {
          pressure(true, used + size);
        }
        return true;
      }
    }
  }

  /** Gives back what freed messages held. */
  @Override
  public void release(long size) {
    if (size == 0) {
      return;
    }
    pressureOffBelowLowWater(counted.addAndGet(-size) + cache.getAsLong());
  }

  private void hold(long size) {
    held.addAndGet(size);
    counted.addAndGet(size);
  }

  /**
   * Holds {@code size} bytes for a snapshot if the heap has room for them: what is live, plus the
   * snapshot, plus what publishes may still add under the threshold while it is written (held
   * bytes count toward the threshold, so the snapshot itself shrinks that), plus a margin, must
   * stay within the maximum heap.
   */
  @Override
  public boolean holdIfFits(long size) {
    if (size <= 0) {
      return true;
    }
    long limit = threshold;
    long max = heap.max();
    long used = bytes();
    long stillAdmitted = limit > 0 ? Math.max(0, limit - used - size) : 0;
    // Without a threshold nothing stops publishes during the snapshot; what is free now is all it can count on.
    long needed = Math.max(heap.live(), used) + size + stillAdmitted + (long) (max * SNAPSHOT_MARGIN);
    if (needed > max) {
      return false;
    }
    hold(size);
    return true;
  }

  @Override
  public void releaseHeld(long size) {
    if (size > 0) {
      held.addAndGet(-size);
      pressureOffBelowLowWater(counted.addAndGet(-size) + cache.getAsLong());
    }
  }

  private void pressureOffBelowLowWater(long counted) {
    long limit = threshold;
    if (limit == 0 || counted < limit * LOW_WATER) {
      pressure(false, counted);
    }
  }

  /**
   * Whether garbage collection and overflow policies should run: retained bytes are at the
   * threshold, or pressure is on and they are still over the low-water mark.
   */
  boolean needsRelief() {
    long limit = threshold;
    long used = retained();
    return limit > 0 && (used >= limit || underPressure && used > limit * LOW_WATER);
  }

  /** Bytes to free to get back under the low-water mark (retained ones: held bytes go by themselves). */
  @Override
  public long excessOverLowWater() {
    long limit = threshold;
    return limit == 0 ? 0 : Math.max(0, retained() - (long) (limit * LOW_WATER));
  }

  void setThreshold(long bytes) {
    this.threshold = bytes;
    long used = counted.get();
    if (bytes > 0 && used >= bytes) {
      pressure(true, used);
    } else if (bytes == 0 || used < bytes * LOW_WATER) {
      pressure(false, used);
    }
  }

  @Override
  public long threshold() {
    return threshold;
  }

  /**
   * Bytes counted against the threshold: retained, held by journals for writes and snapshots, and
   * the segments read back from storage that the segment cache holds.
   */
  @Override
  public long bytes() {
    return counted.get() + cache.getAsLong();
  }

  /**
   * Counts the segment cache's bytes against the threshold, like what journals hold: they make
   * publishes meet the threshold sooner, but are never retained messages to relieve (the cache
   * bounds itself).
   */
  void countCache(LongSupplier cachedBytes) {
    this.cache = cachedBytes;
  }

  private long retained() {
    return counted.get() - held.get();
  }

  /** Bytes journals hold for writes and snapshots under way. */
  long heldBytes() {
    return held.get();
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
