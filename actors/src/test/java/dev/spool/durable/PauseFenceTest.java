package dev.spool.durable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The fence's decisions on a clock the test moves: ticks every 100 ms, a pause is a gap between ticks. */
class PauseFenceTest {

  private final AtomicLong now = new AtomicLong(1_000_000_000L);

  private void advance(Duration d) {
    now.addAndGet(d.toNanos());
  }

  /** {@code d} of normal running: a tick every 100 ms. */
  private void run(PauseFence fence, Duration d) {
    for (long t = 0; t < d.toMillis(); t += 100) {
      advance(Duration.ofMillis(100));
      fence.tick();
    }
  }

  private PauseFence fence(boolean enabled) {
    return new PauseFence(enabled, Duration.ofSeconds(2), Duration.ofSeconds(7), now::get);
  }

  @Test
  void regularTicksKeepItOpen() {
    PauseFence fence = fence(true);
    for (int i = 0; i < 100; i++) {
      advance(Duration.ofMillis(100));
      fence.tick();
      assertEquals(Duration.ZERO, fence.closedFor());
    }
    advance(Duration.ofMillis(1_900)); // a GC pause under the limit
    assertEquals(Duration.ZERO, fence.closedFor());
    fence.tick();
    assertEquals(Duration.ZERO, fence.closedFor());
  }

  @Test
  void aPauseClosesItAtOnceEvenBeforeTheTickerRunsAndForHoldAfterwards() {
    PauseFence fence = fence(true);
    advance(Duration.ofSeconds(15)); // SIGSTOP for 15 s; the journal asks before the ticker has run
    assertEquals(Duration.ofSeconds(7), fence.closedFor());
    fence.tick();
    assertEquals(Duration.ofSeconds(7), fence.closedFor());
    run(fence, Duration.ofSeconds(5));
    assertEquals(Duration.ofSeconds(2), fence.closedFor());
    run(fence, Duration.ofMillis(1_900));
    assertTrue(fence.closedFor().toMillis() > 0);
    run(fence, Duration.ofMillis(100));
    assertEquals(Duration.ZERO, fence.closedFor(), "open again once hold has passed without being downed");
  }

  @Test
  void standaloneItNeverCloses() {
    PauseFence fence = fence(false);
    advance(Duration.ofMinutes(5));
    assertEquals(Duration.ZERO, fence.closedFor());
    fence.tick();
    assertEquals(Duration.ZERO, fence.closedFor());
  }

  @Test
  void aGateSchedulesOneCheckPerClosingAndLetsWritesGoOnceOpen() {
    PauseFence fence = fence(true);
    PauseFence.Gate gate = new PauseFence.Gate(fence);
    java.util.List<Duration> checks = new java.util.ArrayList<>();
    assertEquals(false, gate.held(checks::add), "open: writes go");
    advance(Duration.ofSeconds(15));
    fence.tick();
    assertTrue(gate.held(checks::add));
    assertTrue(gate.held(checks::add));
    assertEquals(java.util.List.of(Duration.ofMillis(7_100)), checks, "one check, a tick after the hold ends");
    run(fence, Duration.ofSeconds(5));
    assertTrue(gate.checked(checks::add), "still closed at the check: another is scheduled");
    assertEquals(Duration.ofMillis(2_100), checks.get(1));
    run(fence, Duration.ofSeconds(2));
    assertEquals(false, gate.checked(checks::add), "open at the check");
    assertEquals(2, checks.size());
  }
}
