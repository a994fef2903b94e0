package dev.spool.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class DeliveryTraceTest {

  private static List<DeliveryTrace.Kind> kinds(DeliveryTrace trace, long sequence) {
    return trace.eventsOf(sequence).stream().map(DeliveryTrace.Event::kind).toList();
  }

  /** The lowest sequence with an event held, when each sequence has one event. */
  private static long oldestHeld(DeliveryTrace trace, long last) {
    long s = last;
    while (!trace.eventsOf(s - 1).isEmpty()) {
      s--;
    }
    return s;
  }

  @Test
  void keepsEveryEventOfASequenceInOrderWithItsDetails() {
    DeliveryTrace trace = new DeliveryTrace(1000);
    trace.record(1, 10, DeliveryTrace.Kind.DELIVERED, 1, 7);
    trace.record(2, 11, DeliveryTrace.Kind.DELIVERED, 1, 7);
    trace.record(1, 12, DeliveryTrace.Kind.NACKED, 1, 7);
    trace.record(1, 13, DeliveryTrace.Kind.DELIVERED, 2, 8);
    trace.record(1, 14, DeliveryTrace.Kind.ACKED, 2, -1);
    assertEquals(List.of(DeliveryTrace.Kind.DELIVERED, DeliveryTrace.Kind.NACKED, DeliveryTrace.Kind.DELIVERED,
        DeliveryTrace.Kind.ACKED), kinds(trace, 1));
    assertEquals(new DeliveryTrace.Event(1, 13, DeliveryTrace.Kind.DELIVERED, 2, 8), trace.eventsOf(1).get(2));
    assertEquals(-1, trace.eventsOf(1).get(3).owner());
    assertTrue(trace.eventsOf(1).get(3).kind().ends());
    assertEquals(5, trace.recorded());
    assertTrue(trace.eventsOf(3).isEmpty());
    assertFalse(trace.mayHaveDropped(1));
  }

  @Test
  void atItsCapacityTheOldestChunkGoesAndTheTraceKnowsWhichSequencesLostEvents() {
    DeliveryTrace trace = new DeliveryTrace(800); // chunks of 100
    for (long s = 1; s <= 5000; s++) {
      trace.record(s, s, DeliveryTrace.Kind.DELIVERED, 1, 0);
      assertTrue(trace.size() <= 800, "never over the capacity");
      assertTrue(trace.allocated() <= 800);
    }
    assertTrue(trace.size() >= 700, "at most a chunk under the capacity: " + trace.size());
    long oldest = oldestHeld(trace, 5000);
    assertEquals(5000 - trace.size() + 1, oldest, "the newest are kept, in one run");
    assertTrue(trace.mayHaveDropped(oldest - 1));
    assertFalse(trace.mayHaveDropped(oldest), "nothing of the oldest held sequence was dropped");
    assertEquals(5000, trace.recorded());
  }

  @Test
  void shrinkingToASmallerShareKeepsTheNewestAndGrowingAgainKeepsWhatIsLeft() {
    DeliveryTrace trace = new DeliveryTrace(1600); // chunks growing to 200
    for (long s = 1; s <= 1000; s++) {
      trace.record(s, s, DeliveryTrace.Kind.DELIVERED, 1, 0);
    }
    assertEquals(1000, trace.size());
    assertFalse(trace.mayHaveDropped(1), "nothing dropped below the capacity");
    trace.resize(400); // three more consumers joined
    int kept = trace.size();
    assertTrue(kept <= 400 && kept > 400 - 200, "the share less at most a chunk: " + kept);
    long oldest = oldestHeld(trace, 1000);
    assertEquals(1000 - kept + 1, oldest, "the newest are kept");
    assertTrue(trace.mayHaveDropped(oldest - 1));
    assertFalse(trace.mayHaveDropped(oldest));
    trace.resize(1600); // they left: room to grow again, nothing comes back
    for (long s = 1001; s <= 1500; s++) {
      trace.record(s, s, DeliveryTrace.Kind.DELIVERED, 1, 0);
    }
    assertEquals(kept + 500, trace.size());
    assertEquals(oldest, oldestHeld(trace, 1500));
    trace.resize(0);
    assertEquals(0, trace.size());
    assertEquals(0, trace.allocated());
    assertTrue(trace.mayHaveDropped(1500));
  }

  @Test
  void eventsOfReleasedMessagesAreForgottenAndTheirMemoryGivenBackBeforeTheCapDropsRetainedOnes() {
    DeliveryTrace trace = new DeliveryTrace(1 << 20); // chunks of 4096
    for (long s = 1; s <= 3 * 4096; s++) {
      trace.record(s, s, DeliveryTrace.Kind.DELIVERED, 1, 0);
    }
    assertTrue(trace.full());
    trace.forgetBelow(5000); // the queue retains 5000 on
    assertEquals(3 * 4096 - 4999, trace.size());
    assertEquals(2 * 4096, trace.allocated(), "the first chunk, all released, is given back");
    trace.record(3 * 4096 + 1, 1, DeliveryTrace.Kind.DELIVERED, 1, 0);
    assertFalse(trace.mayHaveDropped(5000), "only released messages' events were forgotten");
    assertEquals(1, trace.eventsOf(5000).size());
    assertTrue(trace.eventsOf(4999).isEmpty());
  }

  @Test
  void aZeroShareKeepsNothingAndSaysEventsWereDroppedAndANegativeOneIsRefused() {
    DeliveryTrace trace = new DeliveryTrace(0);
    trace.record(7, 1, DeliveryTrace.Kind.DELIVERED, 1, 0);
    assertTrue(trace.eventsOf(7).isEmpty());
    assertTrue(trace.mayHaveDropped(7));
    assertFalse(trace.mayHaveDropped(8));
    assertThrows(IllegalArgumentException.class, () -> new DeliveryTrace(-1));
    assertThrows(IllegalArgumentException.class, () -> trace.resize(-1));
  }

  @Test
  void farApartSequencesAndTimesLargeAttemptsAndSubscribersSurviveTheCompactForm() {
    DeliveryTrace trace = new DeliveryTrace(100);
    long far = 5 + (1L << 40);
    long later = 1_700_000_000_000L + 40L * 24 * 3600 * 1000; // 40 days on: past an int of milliseconds
    trace.record(5, 1_700_000_000_000L, DeliveryTrace.Kind.TIMED_OUT, 1_000_000, 123_456_789L);
    trace.record(far, 1_700_000_000_001L, DeliveryTrace.Kind.DELIVERED, 1, 2);
    trace.record(5, later, DeliveryTrace.Kind.SKIPPED, 0, Long.MAX_VALUE);
    assertEquals(List.of(new DeliveryTrace.Event(5, 1_700_000_000_000L, DeliveryTrace.Kind.TIMED_OUT, 1_000_000,
        123_456_789L), new DeliveryTrace.Event(5, later, DeliveryTrace.Kind.SKIPPED, 0, -1)), trace.eventsOf(5));
    assertEquals(List.of(new DeliveryTrace.Event(far, 1_700_000_000_001L, DeliveryTrace.Kind.DELIVERED, 1, 2)),
        trace.eventsOf(far));
    assertEquals(3, trace.size());
  }

  @Test
  void aFourthOfTheDefaultCapKeepsTheDeliveryAndAckOfAHundredThousandMessages() {
    int share = dev.spool.SpoolSettings.create(com.typesafe.config.ConfigFactory.load()).consumer()
        .traceEventsPerQueue() / 4;
    DeliveryTrace trace = new DeliveryTrace(share);
    long at = 1_700_000_000_000L;
    for (long batch = 0; batch < 1000; batch++) { // read 100, then acknowledge them
      for (long s = batch * 100 + 1; s <= batch * 100 + 100; s++) {
        trace.record(s, at++, DeliveryTrace.Kind.DELIVERED, 1, 0);
      }
      for (long s = batch * 100 + 1; s <= batch * 100 + 100; s++) {
        trace.record(s, at++, DeliveryTrace.Kind.ACKED, 1, -1);
      }
    }
    assertEquals(200_000, trace.size());
    assertFalse(trace.mayHaveDropped(1), "nothing dropped");
    for (long s : new long[] {1, 6, 50_000, 100_000}) {
      assertEquals(List.of(DeliveryTrace.Kind.DELIVERED, DeliveryTrace.Kind.ACKED), kinds(trace, s));
    }
    assertTrue(trace.allocated() * 16L <= 4L << 20, "within 4 MiB: " + trace.allocated());
  }

  @Test
  void aConsumerWithFewDeliveriesHoldsSmallChunks() {
    DeliveryTrace trace = new DeliveryTrace(1_000_000 / 4);
    for (long s = 1; s <= 3; s++) {
      trace.record(s, s, DeliveryTrace.Kind.DELIVERED, 1, 0);
      trace.record(s, s, DeliveryTrace.Kind.ACKED, 1, -1);
    }
    assertTrue(trace.allocated() <= 16, "a few events, a small chunk: " + trace.allocated());
    for (long s = 4; s <= 100_000; s++) {
      trace.record(s, s, DeliveryTrace.Kind.DELIVERED, 1, 0);
    }
    assertEquals(100_003, trace.size(), "chunks grow with what is held");
    assertTrue(trace.allocated() < 100_000 + 4096, "at most a chunk unused: " + trace.allocated());
  }

  @Test
  void forgettingTakesWholeChunksBelowTheRetainedAndStopsAtTheFirstEventItMayNotForget() {
    DeliveryTrace trace = new DeliveryTrace(64); // chunks of 16 once it holds 16
    long[] order = new long[48];
    for (int i = 0; i < 48; i++) { // redeliveries and acks out of sequence order, as a consumer records them
      order[i] = i % 3 == 0 ? 100 + i : 100 + 47 - i;
      trace.record(order[i], i, DeliveryTrace.Kind.DELIVERED, 1, 0);
    }
    int held = trace.size();
    trace.forgetBelow(100); // nothing is below
    assertEquals(held, trace.size());
    long firstKept = order[0];
    trace.forgetBelow(firstKept); // the oldest event is not below: nothing goes, whatever follows it
    assertEquals(held, trace.size());
    trace.forgetBelow(200); // all below
    assertEquals(0, trace.size());
    assertFalse(trace.mayHaveDropped(147), "forgotten, not dropped by the cap");
    for (long s = 100; s < 148; s++) {
      assertTrue(trace.eventsOf(s).isEmpty());
    }

    DeliveryTrace partial = new DeliveryTrace(64);
    for (long s = 1; s <= 40; s++) {
      partial.record(s, s, DeliveryTrace.Kind.DELIVERED, 1, 0);
    }
    partial.forgetBelow(20);
    assertEquals(21, partial.size(), "events 20 to 40 are kept, across the chunk where forgetting stopped");
    assertEquals(1, partial.eventsOf(20).size());
    assertTrue(partial.eventsOf(19).isEmpty());
    for (long s = 41; s <= 120; s++) { // past the capacity: the cap drops the oldest chunks, forgotten part and all
      partial.record(s, s, DeliveryTrace.Kind.DELIVERED, 1, 0);
    }
    long oldest = oldestHeld(partial, 120);
    assertTrue(partial.mayHaveDropped(oldest - 1));
    assertFalse(partial.mayHaveDropped(oldest), "the highest dropped is the dropped chunk's highest");
  }
}
