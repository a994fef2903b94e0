package dev.spool.durable;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.spool.durable.SnapshotSchedule.Decision;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * When a journal snapshots: every so many writes or once enough bytes are journaled, if the heap has
 * room for it, else later.
 */
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
  private static final long FLOOR = 64 * MIB;

  @Test
  void aSnapshotThatFitsIsTakenEverySoManyWritesWithItsCostHeld() {
    Room room = new Room(500 * MIB);
    SnapshotSchedule schedule = new SnapshotSchedule(100, FLOOR, 3, room);
    assertEquals(Decision.NOT_DUE, schedule.afterWrite(99, 0, 100 * MIB));
    assertEquals(List.of(), room.asked, "the heap is not even looked at before a snapshot is due");
    assertEquals(Decision.TAKE, schedule.afterWrite(100, 0, 100 * MIB));
    assertEquals(300 * MIB, schedule.lastCost(), "its serialized size times the store's copies");
    assertEquals(300 * MIB, room.held);
    assertEquals(0, schedule.takenAfterPostponing());
  }

  @Test
  void aSnapshotThatDoesNotFitIsPostponedWithOneWarningAndTakenOnceItFits() {
    Room room = new Room(200 * MIB);
    SnapshotSchedule schedule = new SnapshotSchedule(100, FLOOR, 3, room);
    assertEquals(Decision.POSTPONE, schedule.afterWrite(100, 0, 100 * MIB), "300 MiB does not fit in 200");
    assertEquals(Decision.STILL_POSTPONED, schedule.afterWrite(101, 0, 100 * MIB));
    assertEquals(Decision.STILL_POSTPONED, schedule.afterWrite(102, 0, 90 * MIB));
    assertEquals(0, room.held, "nothing is held for a postponed snapshot");
    // consumers catch up: the retained bytes shrink until the snapshot fits
    assertEquals(Decision.TAKE, schedule.afterWrite(103, 0, 60 * MIB));
    assertEquals(180 * MIB, room.held);
    assertEquals(3, schedule.takenAfterPostponing(), "three writes went by without it");
    assertEquals(0, schedule.takenAfterPostponing());
    assertEquals(Decision.NOT_DUE, schedule.afterWrite(1, 0, 60 * MIB));
    room.free = 0;
    assertEquals(Decision.POSTPONE, schedule.afterWrite(100, 0, 60 * MIB), "a new postponement warns again");
  }

  @Test
  void aStreamingStoreCostsNothingSoItsSnapshotsAreNeverPostponed() {
    Room room = new Room(0);
    SnapshotSchedule schedule = new SnapshotSchedule(10, FLOOR, 0, room);
    assertEquals(Decision.TAKE, schedule.afterWrite(10, 0, 400 * MIB));
    assertEquals(0, room.held);
  }

  @Test
  void aSnapshotIsDueAfterTheFloorOfJournaledBytesWhenTheQueueRetainsLittle() {
    Room room = new Room(Long.MAX_VALUE);
    SnapshotSchedule schedule = new SnapshotSchedule(10_000, FLOOR, 3, room);
    // e.g. 64 KiB messages consumed as fast as they come: a few writes, almost nothing retained
    assertEquals(Decision.NOT_DUE, schedule.afterWrite(20, FLOOR - 1, MIB));
    assertEquals(Decision.TAKE, schedule.afterWrite(21, FLOOR, MIB), "64 MiB journaled: far fewer than 10,000 writes");
    assertEquals(3 * MIB, schedule.lastCost());
  }

  @Test
  void aLargeBacklogIsSnapshottedOnlyAfterTwiceItsSizeIsJournaled() {
    Room room = new Room(Long.MAX_VALUE);
    SnapshotSchedule schedule = new SnapshotSchedule(10_000, FLOOR, 0, room);
    long retained = 500 * MIB;
    assertEquals(Decision.NOT_DUE, schedule.afterWrite(100, 2 * retained - 1, retained),
        "past the floor, but a snapshot costs what is retained: it waits for twice that to be journaled");
    assertEquals(Decision.TAKE, schedule.afterWrite(101, 2 * retained, retained));
    assertEquals(Decision.NOT_DUE, schedule.afterWrite(0, Long.MAX_VALUE - 1, Long.MAX_VALUE / 2 + 1), "no overflow");
  }

  @Test
  void aSnapshotDueByBytesIsPostponedLikeOneDueByWrites() {
    Room room = new Room(100 * MIB);
    SnapshotSchedule schedule = new SnapshotSchedule(10_000, FLOOR, 3, room);
    assertEquals(Decision.POSTPONE, schedule.afterWrite(5, 200 * MIB, 40 * MIB), "120 MiB does not fit in 100");
    assertEquals(Decision.STILL_POSTPONED, schedule.afterWrite(6, 210 * MIB, 40 * MIB));
    assertEquals(0, room.held);
    assertEquals(Decision.TAKE, schedule.afterWrite(7, 220 * MIB, 30 * MIB));
    assertEquals(90 * MIB, room.held);
    assertEquals(2, schedule.takenAfterPostponing());
  }
}
