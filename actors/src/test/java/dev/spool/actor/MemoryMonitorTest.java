package dev.spool.actor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.SpoolEvent;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The memory accounting with what persistence holds: bytes held for journal writes and snapshots
 * count toward the threshold for publishes, a snapshot is held only if the heap has room, and a
 * recovered queue is reserved only within the threshold.
 */
class MemoryMonitorTest {

  private static final long MIB = 1 << 20;

  /** A heap of {@code max} bytes with {@code live} in use after the last collection. */
  private static final class FixedHeap implements MemoryMonitor.Heap {
    final long max;
    long live;

    FixedHeap(long max, long live) {
      this.max = max;
      this.live = live;
    }

    @Override
    public long max() {
      return max;
    }

    @Override
    public long live() {
      return live;
    }
  }

  private final List<SpoolEvent> events = new ArrayList<>();

  private MemoryMonitor monitor(long threshold, MemoryMonitor.Heap heap) {
    return new MemoryMonitor(threshold, events::add, Clock.systemUTC(), heap);
  }

  @Test
  void bytesHeldForASnapshotAreCountedAgainstTheThreshold() {
    MemoryMonitor m = monitor(256 * MIB, new FixedHeap(512 * MIB, 100 * MIB));
    assertTrue(m.tryReserve(200 * MIB));
    assertTrue(m.holdIfFits(40 * MIB)); // a snapshot being written
    assertEquals(240 * MIB, m.bytes(), "counted: retained and held");
    assertEquals(40 * MIB, m.heldBytes());
    assertFalse(m.tryReserve(20 * MIB), "a publish that fits beside the retained bytes alone is refused");
    assertTrue(events.stream().anyMatch(e -> e instanceof SpoolEvent.MemoryLow), "pressure is reported");
    assertTrue(m.tryReserve(16 * MIB), "what still fits under the threshold is accepted");
    m.releaseHeld(40 * MIB); // the snapshot is stored
    assertTrue(m.tryReserve(20 * MIB));
    assertEquals(236 * MIB, m.bytes());
  }

  @Test
  void heldBytesAreNotEvictedForRetainedBytesAreWhatReliefFrees() {
    MemoryMonitor m = monitor(100 * MIB, new FixedHeap(512 * MIB, 100 * MIB));
    assertTrue(m.tryReserve(50 * MIB));
    assertTrue(m.holdIfFits(60 * MIB)); // a snapshot being written
    assertFalse(m.needsRelief(), "a snapshot being written does not make drop-oldest queues evict");
    assertEquals(0, m.excessOverLowWater());
  }

  @Test
  void aSnapshotIsHeldOnlyIfTheHeapHasRoomBesideWhatPublishesMayStillAdd() {
    FixedHeap heap = new FixedHeap(512 * MIB, 150 * MIB);
    MemoryMonitor m = monitor(256 * MIB, heap);
    assertTrue(m.tryReserve(80 * MIB));
    // live 150 + snapshot 240 + margin 128 = 518 does not fit in 512
    assertFalse(m.holdIfFits(240 * MIB));
    assertEquals(0, m.heldBytes(), "nothing is held for a snapshot that does not fit");
    // live 150 + 230 + 128 = 508 fits; the snapshot's hold passes the threshold, so publishes add
    // nothing while it is written.
    assertTrue(m.holdIfFits(230 * MIB));
    assertEquals(230 * MIB, m.heldBytes());
    assertFalse(m.tryReserve(1), "publishes wait for the snapshot");
    m.releaseHeld(230 * MIB);
    // a small snapshot: publishes may still fill the threshold while it is written, and that counts:
    // live 150 + 30 + (256 - 80 - 30) + 128 = 454 fits
    assertTrue(m.holdIfFits(30 * MIB));
    m.releaseHeld(30 * MIB);
    heap.live = 220 * MIB; // something else fills the heap: 220 + 30 + 146 + 128 = 524 does not fit
    assertFalse(m.holdIfFits(30 * MIB));
  }

  @Test
  void recoveredBytesAreReservedOnlyWithinTheThresholdWhateverIsHeld() {
    MemoryMonitor m = monitor(100 * MIB, new FixedHeap(512 * MIB, 100 * MIB));
    assertTrue(m.tryReserve(30 * MIB));
    assertTrue(m.holdIfFits(60 * MIB)); // another queue's snapshot: not a reason to refuse for good
    assertTrue(m.tryReserveRecovered(70 * MIB));
    assertFalse(m.tryReserveRecovered(1), "past the threshold: refused, nothing reserved");
    assertEquals(160 * MIB, m.bytes());
    assertTrue(monitor(0, new FixedHeap(512 * MIB, 0)).tryReserveRecovered(600 * MIB), "no threshold, no refusal");
  }
}
