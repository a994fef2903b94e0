package dev.spool.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class DeliveryTraceTest {

  @Test
  void keepsTheMostRecentEventsPerSequenceInOrder() {
    DeliveryTrace trace = new DeliveryTrace(4);
    trace.record(1, 10, DeliveryTrace.Kind.DELIVERED, 1, 7);
    trace.record(2, 11, DeliveryTrace.Kind.DELIVERED, 1, 7);
    trace.record(1, 12, DeliveryTrace.Kind.NACKED, 1, 7);
    trace.record(1, 13, DeliveryTrace.Kind.DELIVERED, 2, 8);
    assertEquals(List.of(DeliveryTrace.Kind.DELIVERED, DeliveryTrace.Kind.NACKED, DeliveryTrace.Kind.DELIVERED),
        trace.eventsOf(1).stream().map(DeliveryTrace.Event::kind).toList());
    assertEquals(new DeliveryTrace.Event(1, 13, DeliveryTrace.Kind.DELIVERED, 2, 8), trace.eventsOf(1).get(2));

    trace.record(1, 14, DeliveryTrace.Kind.ACKED, 2, -1); // overwrites the oldest (1 delivered)
    List<DeliveryTrace.Event> one = trace.eventsOf(1);
    assertEquals(3, one.size());
    assertEquals(12, one.get(0).atMillis());
    assertEquals(14, one.get(2).atMillis());
    assertTrue(one.get(2).kind().ends());
    assertEquals(5, trace.recorded());
    assertTrue(trace.eventsOf(3).isEmpty());
  }

  @Test
  void aRingThatGrowsToItsCapacityKeepsEveryEventInOrderThenTheMostRecent() {
    DeliveryTrace trace = new DeliveryTrace(100); // starts at 16, grows through 32 and 64 to 100
    for (int i = 0; i < 90; i++) {
      trace.record(i % 3, i, DeliveryTrace.Kind.DELIVERED, 1, 0);
    }
    assertEquals(30, trace.eventsOf(0).size(), "nothing lost while growing");
    assertEquals(List.of(0L, 3L, 6L), trace.eventsOf(0).subList(0, 3).stream().map(DeliveryTrace.Event::atMillis).toList());
    for (int i = 90; i < 250; i++) {
      trace.record(i % 3, i, DeliveryTrace.Kind.DELIVERED, 1, 0);
    }
    List<Long> times = new java.util.ArrayList<>();
    for (long s = 0; s < 3; s++) {
      trace.eventsOf(s).forEach(e -> times.add(e.atMillis()));
    }
    times.sort(null);
    assertEquals(100, times.size(), "the capacity, once full");
    assertEquals(150, times.get(0), "the oldest kept is the 100th most recent");
    assertEquals(249, times.get(99));
  }

  @Test
  void aZeroCapacityTraceRecordsNothingAndANegativeOneIsRefused() {
    DeliveryTrace off = new DeliveryTrace(0);
    off.record(1, 1, DeliveryTrace.Kind.DELIVERED, 1, 1);
    assertTrue(off.eventsOf(1).isEmpty());
    assertThrows(IllegalArgumentException.class, () -> new DeliveryTrace(-1));
  }

  @Test
  void shrinkingToASmallerShareKeepsTheNewestAndSaysWhichSequencesMayHaveLostEvents() {
    DeliveryTrace trace = new DeliveryTrace(100);
    for (long s = 1; s <= 50; s++) {
      trace.record(s, s, DeliveryTrace.Kind.DELIVERED, 1, 0);
      trace.record(s, s, DeliveryTrace.Kind.ACKED, 1, -1);
    }
    assertFalse(trace.mayHaveDropped(1), "nothing overwritten yet");
    trace.resize(40); // another consumer joined: the last 20 messages' events stay
    assertEquals(40, trace.size());
    assertTrue(trace.eventsOf(30).isEmpty());
    assertTrue(trace.mayHaveDropped(30));
    assertFalse(trace.mayHaveDropped(31));
    assertEquals(List.of(DeliveryTrace.Kind.DELIVERED, DeliveryTrace.Kind.ACKED),
        trace.eventsOf(31).stream().map(DeliveryTrace.Event::kind).toList());
    trace.record(51, 51, DeliveryTrace.Kind.DELIVERED, 1, 0); // full: overwrites 31's delivery
    assertTrue(trace.mayHaveDropped(31));
    assertEquals(List.of(DeliveryTrace.Kind.ACKED), trace.eventsOf(31).stream().map(DeliveryTrace.Event::kind).toList());
    trace.resize(1000); // the other consumer left: room to grow again, nothing comes back
    for (long s = 52; s <= 100; s++) {
      trace.record(s, s, DeliveryTrace.Kind.DELIVERED, 1, 0);
    }
    assertEquals(2, trace.eventsOf(32).size(), "32's events kept while the ring grows");
    assertEquals(89, trace.size());
  }

  @Test
  void eventsOfReleasedMessagesMakeRoomBeforeTheCapOverwritesRetainedOnes() {
    DeliveryTrace trace = new DeliveryTrace(64);
    for (long s = 1; s <= 32; s++) {
      trace.record(s, s, DeliveryTrace.Kind.DELIVERED, 1, 0);
      trace.record(s, s, DeliveryTrace.Kind.ACKED, 1, -1);
    }
    assertTrue(trace.full());
    trace.forgetBelow(31); // the queue retains 31 on
    assertEquals(4, trace.size());
    assertEquals(16, trace.allocated(), "memory given back when few events are left");
    trace.record(33, 33, DeliveryTrace.Kind.DELIVERED, 1, 0);
    assertFalse(trace.mayHaveDropped(31), "only released messages' events were forgotten");
    assertEquals(2, trace.eventsOf(31).size());
    assertEquals(3, trace.eventsOf(31).get(0).atMillis() - 28);
  }

  @Test
  void aZeroShareKeepsNothingAndSaysEventsWereDropped() {
    DeliveryTrace trace = new DeliveryTrace(0);
    trace.record(7, 1, DeliveryTrace.Kind.DELIVERED, 1, 0);
    assertTrue(trace.eventsOf(7).isEmpty());
    assertTrue(trace.mayHaveDropped(7));
    assertFalse(trace.mayHaveDropped(8));
  }

  @Test
  void attemptsKindsAndSubscribersSurviveTheCompactForm() {
    DeliveryTrace trace = new DeliveryTrace(8);
    trace.record(5, 1_700_000_000_000L, DeliveryTrace.Kind.TIMED_OUT, 1_000_000, 123_456_789L);
    trace.record(5, 1_700_000_000_001L, DeliveryTrace.Kind.SKIPPED, 0, Long.MAX_VALUE);
    assertEquals(new DeliveryTrace.Event(5, 1_700_000_000_000L, DeliveryTrace.Kind.TIMED_OUT, 1_000_000, 123_456_789L),
        trace.eventsOf(5).get(0));
    assertEquals(-1, trace.eventsOf(5).get(1).owner(), "a subscriber number past an int is not made up");
  }
}
