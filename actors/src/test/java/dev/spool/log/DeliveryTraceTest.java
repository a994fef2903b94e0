package dev.spool.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
}
