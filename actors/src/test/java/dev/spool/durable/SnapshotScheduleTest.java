package dev.spool.durable;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.spool.durable.SnapshotSchedule.Decision;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** When a journal snapshots: every so many writes, if the heap has room for it, else later. */
class SnapshotScheduleTest {

  /** Memory with {@code free} bytes of room for snapshots, recording what is held. */
  private static final class Room implements JournalMemory {
    long free;
    long held;
    final List<Long> asked = new ArrayList<>();

    Room(long free) {
      this.free = free;
    }

    @Override
    public void hold(long bytes) {
      held += bytes;
    }

    @Override
    public boolean holdIfFits(long bytes) {
      asked.add(bytes);
      if (bytes > free) {
        return false;
      }
      held += bytes;
      return true;
    }

    @Override
    public void releaseHeld(long bytes) {
      held -= bytes;
    }
  }

  private static final long MIB = 1 << 20;

  @Test
  void aSnapshotThatFitsIsTakenEverySoManyWritesWithItsCostHeld() {
    Room room = new Room(500 * MIB);
    SnapshotSchedule schedule = new SnapshotSchedule(100, 3, room);
    assertEquals(Decision.NOT_DUE, schedule.afterWrite(99, 100 * MIB));
    assertEquals(List.of(), room.asked, "the heap is not even looked at before a snapshot is due");
    assertEquals(Decision.TAKE, schedule.afterWrite(100, 100 * MIB));
    assertEquals(300 * MIB, schedule.lastCost(), "its serialized size times the store's copies");
    assertEquals(300 * MIB, room.held);
    assertEquals(0, schedule.takenAfterPostponing());
  }

  @Test
  void aSnapshotThatDoesNotFitIsPostponedWithOneWarningAndTakenOnceItFits() {
    Room room = new Room(200 * MIB);
    SnapshotSchedule schedule = new SnapshotSchedule(100, 3, room);
    assertEquals(Decision.POSTPONE, schedule.afterWrite(100, 100 * MIB), "300 MiB does not fit in 200");
    assertEquals(Decision.STILL_POSTPONED, schedule.afterWrite(101, 100 * MIB));
    assertEquals(Decision.STILL_POSTPONED, schedule.afterWrite(102, 90 * MIB));
    assertEquals(0, room.held, "nothing is held for a postponed snapshot");
    // consumers catch up: the retained bytes shrink until the snapshot fits
    assertEquals(Decision.TAKE, schedule.afterWrite(103, 60 * MIB));
    assertEquals(180 * MIB, room.held);
    assertEquals(3, schedule.takenAfterPostponing(), "three writes went by without it");
    assertEquals(0, schedule.takenAfterPostponing());
    assertEquals(Decision.NOT_DUE, schedule.afterWrite(1, 60 * MIB));
    room.free = 0;
    assertEquals(Decision.POSTPONE, schedule.afterWrite(100, 60 * MIB), "a new postponement warns again");
  }

  @Test
  void aStreamingStoreCostsNothingSoItsSnapshotsAreNeverPostponed() {
    Room room = new Room(0);
    SnapshotSchedule schedule = new SnapshotSchedule(10, 0, room);
    assertEquals(Decision.TAKE, schedule.afterWrite(10, 400 * MIB));
    assertEquals(0, room.held);
  }
}
