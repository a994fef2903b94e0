package dev.spool.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What a consumer set aside: not-due entries by due time, ready ones by priority then sequence. */
class SetAsideTest {

  private static List<Long> drain(SetAside aside) {
    List<Long> out = new ArrayList<>();
    long s;
    while ((s = aside.peekReady()) >= 0) {
      out.add(s);
      aside.remove(s);
    }
    return out;
  }

  @Test
  void notDueEntriesBecomeReadyAtTheirTimeEarliestFirst() {
    SetAside aside = new SetAside();
    aside.defer(5, 3_000, 0);
    aside.defer(2, 1_000, 0);
    aside.defer(9, 2_000, 0);
    assertEquals(1_000, aside.nextDue());
    assertEquals(3, aside.notDueAt(999));
    assertEquals(2, aside.notDueAt(1_000), "due at its time exactly");
    assertFalse(aside.release(999));
    assertEquals(-1, aside.peekReady());
    assertTrue(aside.release(2_000));
    assertEquals(3_000, aside.nextDue());
    assertEquals(List.of(2L, 9L), drain(aside));
    assertEquals(1, aside.deferred());
    assertEquals(5, aside.first());
  }

  @Test
  void readyEntriesGoByPriorityThenSequence() {
    SetAside aside = new SetAside();
    aside.addReady(4, 1);
    aside.addReady(1, 0);
    aside.addReady(7, 9);
    aside.addReady(3, 1);
    aside.defer(2, 10, 9);
    aside.release(10);
    assertEquals(1, aside.first());
    assertEquals(5, aside.size());
    assertEquals(List.of(2L, 7L, 3L, 4L, 1L), drain(aside));
    assertTrue(aside.isEmpty());
    assertEquals(Long.MAX_VALUE, aside.first());
  }

  @Test
  void removingAndSettingAsideAgainMovesAnEntryBetweenItsSets() {
    SetAside aside = new SetAside();
    aside.addReady(3, 0);
    aside.defer(3, 500, 4); // looked at again: not due after all
    assertEquals(0, aside.ready());
    assertEquals(1, aside.deferred());
    assertTrue(aside.contains(3));
    assertTrue(aside.remove(3));
    assertFalse(aside.remove(3));
    assertEquals(0, aside.nextDue());
    aside.defer(8, 100, 0);
    aside.addReady(6, 2);
    List<Long> all = new ArrayList<>();
    aside.forEach(all::add);
    assertEquals(List.of(8L, 6L), all);
    aside.clear();
    assertTrue(aside.isEmpty());
    assertEquals(0, aside.nextDue());
  }

  @Test
  void anEntryWhoseDueTimeIsUnknownIsNotDueAndArmsNoWakeUpUntilItIsKnown() {
    SetAside aside = new SetAside();
    aside.defer(4, SetAside.UNKNOWN_DUE, 0);
    aside.defer(7, 2_000, 0);
    aside.defer(3, SetAside.UNKNOWN_DUE, 0);
    assertEquals(2_000, aside.nextDue());
    assertEquals(2, aside.notDueAt(1L << 50), "not due however late it is");
    assertEquals(3, aside.firstUnknownDue());
    aside.release(2_000);
    assertEquals(0, aside.nextDue(), "only unknown due times left: nothing to wake up for");
    aside.defer(3, 0, 0);
    aside.defer(4, 5_000, 0);
    aside.release(2_000);
    assertEquals(List.of(3L, 7L), drain(aside));
    assertEquals(-1, aside.firstUnknownDue());
    assertEquals(5_000, aside.nextDue());
  }
}
