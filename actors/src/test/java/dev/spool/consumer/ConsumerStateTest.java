package dev.spool.consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.ConsumerSettings;
import dev.spool.durable.ConsumerPosition;
import dev.spool.log.ConsumerCursor;
import dev.spool.log.SegmentedLog;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConsumerStateTest {

  private static ConsumerState<String> state(long next) {
    return new ConsumerState<>("orders", ConsumerSettings.named("c").prefetch(10), null, next, 0,
        ConsumerFixture.T0, 100);
  }

  private static SegmentedLog log(int messages, long releasedBefore) {
    SegmentedLog log = new SegmentedLog(16);
    for (int i = 1; i <= messages; i++) {
      log.append(ConsumerFixture.message(i));
    }
    log.releaseBefore(releasedBefore);
    return log;
  }

  @Test
  void aJournaledPositionComesBackWithItsUnsettledDeliveriesStillRetained() {
    SegmentedLog log = log(40, 17);
    ConsumerState<String> state = state(30);
    ConsumerPosition recorded = new ConsumerPosition(30, new long[] {5, 20, 25}, new int[] {1, 3, 2}, true);
    long watermark = state.journaled(1, recorded, log);
    assertEquals(20, watermark, "5 was released since: only 20 and 25 come back");
    assertEquals(20, state.needFrom());
    assertEquals(ConsumerCursor.Standing.WAITING, state.cursor().standingOf(20));
    assertEquals(ConsumerCursor.Standing.SETTLED, state.cursor().standingOf(5));
    assertTrue(state.paused(), "a paused consumer stays paused");
    assertTrue(state.position().durable());
    assertTrue(state.position().changed(state.fingerprint(), false), "a durable consumer journals its first change");
  }

  @Test
  void aNewDurableConsumerNeedsWhatItStartsAt() {
    ConsumerState<String> state = state(7);
    assertEquals(7, state.journaled(7, null, log(10, 1)));
    assertEquals(7, state.needFrom());
    assertFalse(state.paused());
    assertEquals(List.of("before-start"), state.trace().entries("c", 3, state, log(10, 1)).stream()
        .map(dev.spool.MessageTrace.Entry::event).toList());
  }

  @Test
  void theFingerprintMovesWithWhatAJournaledPositionHolds() {
    ConsumerFixture f = ConsumerFixture.explicit(10, 5);
    long before = f.state.fingerprint();
    f.dispatcher.take(2, Subscribers.PULL_OWNER);
    assertEquals(before, f.state.fingerprint(), "deliveries alone change nothing a restart would keep");
    f.settlements.ack(List.of(2L));
    long acked = f.state.fingerprint();
    assertNotEquals(before, acked, "an ack out of order is journaled too");
    f.settlements.ack(List.of(1L));
    assertNotEquals(acked, f.state.fingerprint());
    ConsumerFixture none = ConsumerFixture.none(10, 5);
    long start = none.state.fingerprint();
    none.dispatcher.take(2, Subscribers.PULL_OWNER);
    assertNotEquals(start, none.state.fingerprint(), "at most once: a delivery moves the position");
    assertEquals(2, none.state.committed());
  }

  @Test
  void incarnationsCountRestarts() {
    ConsumerState<String> state = state(1);
    assertEquals(0, state.incarnated(), "the first incarnation is no restart");
    assertEquals(1, state.incarnated());
    state.drain();
    assertTrue(state.halted());
  }
}
