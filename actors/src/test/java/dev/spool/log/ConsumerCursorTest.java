package dev.spool.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.log.ConsumerCursor.AckOutcome;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConsumerCursorTest {

  private final List<Long> settled = new ArrayList<>();

  @Test
  void committedFollowsTheLowestUnsettledDelivery() {
    ConsumerCursor c = new ConsumerCursor(1);
    long b = c.newBatch();
    for (long s = 1; s <= 5; s++) {
      c.delivered(s, 1, b, 0);
    }
    assertEquals(0, c.committed());
    assertEquals(AckOutcome.ACKED, c.ack(2, settled::add));
    assertEquals(0, c.committed(), "1 is still unsettled");
    assertEquals(AckOutcome.ACKED, c.ack(1, settled::add));
    assertEquals(2, c.committed());
    assertEquals(AckOutcome.ALREADY_SETTLED, c.ack(1, settled::add));
    assertEquals(AckOutcome.UNKNOWN, c.ack(6, settled::add));
    assertEquals(3, c.ackUpTo(10, settled::add, s -> {}));
    assertEquals(5, c.committed());
    assertEquals(List.of(b), settled, "the batch settles exactly once, with its last delivery");
  }

  @Test
  void requeueAndBackoffKeepTheMessageUnsettledUntilRedeliveredAndAcked() {
    ConsumerCursor c = new ConsumerCursor(1);
    long b = c.newBatch();
    c.delivered(1, 1, b, 0);
    c.delivered(2, 1, b, 0);
    assertEquals(2, c.requeue(1, true, settled::add));
    assertEquals(0, c.committed());
    assertFalse(c.hasReady());
    assertEquals(1, c.delayed());
    assertTrue(c.backoffElapsed(1));
    assertEquals(1, c.firstReady());
    assertEquals(2, c.pollReady());
    c.delivered(1, 2, c.newBatch(), 0);
    assertEquals(2, c.attemptInFlight(1));
    assertEquals(0, c.requeue(9, false, settled::add), "not in flight");
    assertEquals(2, c.unsettled());
  }

  @Test
  void expiringABatchRequeuesOnlyItsDeliveriesAndGivesUpPastTheLimit() {
    ConsumerCursor c = new ConsumerCursor(1);
    long first = c.newBatch();
    c.delivered(1, 1, first, 0);
    c.delivered(2, 3, first, 0);
    long second = c.newBatch();
    c.delivered(3, 1, second, 0);
    List<Long> givenUp = new ArrayList<>();
    assertEquals(1, c.expireBatch(first, 3, givenUp::add));
    assertEquals(List.of(2L), givenUp);
    assertFalse(c.batchOpen(first));
    assertTrue(c.batchOpen(second));
    assertEquals(1, c.firstReady());
    assertEquals(2, c.pollReady());
    assertEquals(1, c.inFlight());
  }

  @Test
  void releasingAnOwnerRequeuesWhatItHeld() {
    ConsumerCursor c = new ConsumerCursor(10);
    long b = c.newBatch();
    c.delivered(10, 1, b, 7);
    c.delivered(11, 1, b, 8);
    assertEquals(1, c.releaseOwner(7, Integer.MAX_VALUE, s -> { }));
    assertEquals(10, c.firstReady());
    assertEquals(1, c.inFlight());
  }

  @Test
  void seekForgetsEverythingAndEndBackoffsMakesDelayedReady() {
    ConsumerCursor c = new ConsumerCursor(1);
    long b = c.newBatch();
    c.delivered(1, 1, b, 0);
    c.delivered(2, 1, b, 0);
    c.requeue(1, true, settled::add);
    c.endBackoffs();
    assertTrue(c.hasReady());
    c.seek(50);
    assertEquals(49, c.committed());
    assertEquals(0, c.unsettled());
    assertEquals(50, c.next());
  }

  @Test
  void aHeldSequenceStaysUnsettledUntilDiscardedOrReleasedForAnotherAttempt() {
    ConsumerCursor c = new ConsumerCursor(1);
    long batch = c.newBatch();
    c.delivered(1, 1, batch, 9);
    c.delivered(2, 1, batch, 9);
    java.util.List<Long> settled = new java.util.ArrayList<>();
    assertEquals(1, c.hold(1, settled::add));
    assertEquals(0, c.hold(1, settled::add), "only an in-flight sequence can be held");
    assertEquals(ConsumerCursor.Standing.HELD, c.standingOf(1));
    assertEquals(0, c.committed(), "a held sequence is not committed");
    assertEquals(2, c.unsettled());
    assertEquals(2, c.releaseHeld(1), "released for attempt 2");
    assertEquals(ConsumerCursor.Standing.WAITING, c.standingOf(1));
    c.endBackoffs();
    assertEquals(1, c.firstReady());
    assertEquals(2, c.pollReady());
    c.delivered(1, 2, c.newBatch(), 9);
    c.hold(1, settled::add);
    assertTrue(c.discard(1, settled::add));
    assertEquals(ConsumerCursor.Standing.SETTLED, c.standingOf(1));
    assertEquals(ConsumerCursor.Standing.IN_FLIGHT, c.standingOf(2));
    assertEquals(ConsumerCursor.Standing.PENDING, c.standingOf(3));
    assertEquals(9, c.ownerOf(2));
    assertEquals(1, c.committed());
  }

  @Test
  void anExpiredBatchHoldsWhatIsOutOfAttemptsForTheCallerToGiveUp() {
    ConsumerCursor c = new ConsumerCursor(1);
    long batch = c.newBatch();
    c.delivered(1, 3, batch, 1);
    c.delivered(2, 1, batch, 1);
    java.util.List<Long> givenUp = new java.util.ArrayList<>();
    assertEquals(1, c.expireBatch(batch, 3, givenUp::add));
    assertEquals(java.util.List.of(1L), givenUp);
    assertTrue(c.isHeld(1));
    assertEquals(1, c.held());
    assertEquals(0, c.committed());
  }

  @Test
  void anExpiredBatchLeavesExemptOwnersInFlight() {
    ConsumerCursor c = new ConsumerCursor(1);
    long batch = c.newBatch();
    c.delivered(1, 1, batch, 5); // a handler, which times its calls out itself
    c.delivered(2, 1, batch, 6);
    assertEquals(1, c.expireBatch(batch, 10, s -> { }, owner -> owner == 5));
    assertEquals(ConsumerCursor.Standing.IN_FLIGHT, c.standingOf(1));
    assertEquals(ConsumerCursor.Standing.WAITING, c.standingOf(2));
  }

  @Test
  void unsettledAttemptsAndTheirRestoreRoundTrip() {
    ConsumerCursor c = new ConsumerCursor(1);
    long batch = c.newBatch();
    for (long s = 1; s <= 4; s++) {
      c.delivered(s, 1, batch, 0);
    }
    c.skipTo(5);
    c.ack(2, b -> { });
    c.requeue(3, false, b -> { }); // waiting for redelivery as attempt 2
    java.util.TreeMap<Long, Integer> open = c.unsettledAttempts();
    assertEquals(java.util.Map.of(1L, 1, 3L, 1, 4L, 1), open, "deliveries made so far, acked ones left out");

    ConsumerCursor restored = new ConsumerCursor(5);
    open.forEach(restored::restoreUnsettled);
    assertEquals(0, restored.committed());
    assertEquals(open, restored.unsettledAttempts(), "the same position after a restart");
    assertEquals(1, restored.firstReady());
    assertEquals(2, restored.pollReady(), "delivered again as attempt 2");
    org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> restored.restoreUnsettled(9, 1), "never delivered");
  }

  @Test
  void acknowledgingASequenceSetAsideIsUnknownAndLeavesItThere() {
    ConsumerCursor cursor = new ConsumerCursor(1);
    cursor.aside().defer(1, 5_000, 0);
    cursor.aside().addReady(2, 0);
    cursor.skipTo(3);
    assertEquals(ConsumerCursor.AckOutcome.UNKNOWN, cursor.ack(1, b -> {}));
    assertEquals(ConsumerCursor.AckOutcome.UNKNOWN, cursor.ack(2, b -> {}));
    assertEquals(2, cursor.aside().size());
    assertEquals(0, cursor.committed());
  }
}
