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
  void aZeroCapacityTraceRecordsNothingAndANegativeOneIsRefused() {
    DeliveryTrace off = new DeliveryTrace(0);
    off.record(1, 1, DeliveryTrace.Kind.DELIVERED, 1, 1);
    assertTrue(off.eventsOf(1).isEmpty());
    assertThrows(IllegalArgumentException.class, () -> new DeliveryTrace(-1));
  }
}
