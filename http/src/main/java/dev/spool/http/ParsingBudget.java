package dev.spool.http;

import java.util.concurrent.atomic.AtomicLong;

/**
 * The heap that request bodies being parsed may take at once, shared by every route of the JVM.
 * Parsing a large JSON publish holds about {@link #COST_PER_BODY_BYTE} times its size (the bytes,
 * their copy, the JSON strings, the decoded payloads) before the engine counts any of it against
 * its memory threshold; a few concurrent 8 MiB publishes would otherwise run a small heap out.
 * A body that does not fit waits for its client to retry (429 with Retry-After); one body is
 * always admitted, so that the largest allowed publish still goes through on its own.
 */
final class ParsingBudget {

  /** Measured: a 6.5 MB publish of 64 KiB payloads held about 26 MB while it was parsed. */
  static final int COST_PER_BODY_BYTE = 4;

  /** Bodies smaller than this are parsed without asking: cheap, and the common case. */
  static final long SMALL_BODY = 64 * 1024;

  /** An eighth of the heap: beside the engine's threshold (half of it by default) and the rest. */
  static final ParsingBudget HEAP = new ParsingBudget(Runtime.getRuntime().maxMemory() / 8);

  private final long capacity;
  private final AtomicLong used = new AtomicLong();

  ParsingBudget(long capacity) {
    this.capacity = capacity;
  }

  /** Takes the cost of parsing {@code bodyBytes}, or returns 0 if the budget has no room now. */
  long tryAcquire(long bodyBytes) {
    long cost = bodyBytes * COST_PER_BODY_BYTE;
    while (true) {
      long now = used.get();
      if (now > 0 && now + cost > capacity) {
        return 0;
      }
      if (used.compareAndSet(now, now + cost)) {
        return cost;
      }
    }
  }

  /** Gives back what {@link #tryAcquire} took. */
  void release(long cost) {
    used.addAndGet(-cost);
  }
}
