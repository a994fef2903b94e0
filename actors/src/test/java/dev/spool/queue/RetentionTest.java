package dev.spool.queue;

import static dev.spool.queue.QueueCoreFixture.kib;
import static dev.spool.queue.QueueCoreFixture.sequences;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.Overflow;
import dev.spool.QueueSettings;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class RetentionTest {

  private static final QueueSettings DEFAULTS = QueueSettings.defaults();

  @Test
  void releasesBelowTheSlowestConsumerAndGivesTheBytesBack() {
    QueueCoreFixture q = QueueCoreFixture.transientQueue(DEFAULTS);
    long[] fast = {1};
    long[] slow = {1};
    q.retention.track("fast", 1, () -> fast[0]);
    q.retention.track("slow", 1, () -> slow[0]);
    q.publish(kib(), kib(), kib(), kib());
    long one = q.log.get(1).sizeBytes();

    fast[0] = 5;
    slow[0] = 3;
    assertEquals(2, q.retention.releaseAcknowledged());

    assertEquals(List.of(3L, 4L), q.retainedSequences());
    assertEquals(2 * one, q.budget.bytes());
    assertEquals(List.of(3L), q.freed);

    q.retention.untrack("slow"); // the slowest gone: what only it held goes at the next collection
    assertEquals(2, q.retention.collectGarbage());
    assertEquals(List.of(), q.retainedSequences());
    assertEquals(0, q.budget.bytes());
  }

  @Test
  void aProgressReportCollectsAtOnceAndNothingPastTheCommittedPositionGoes() {
    QueueCoreFixture q = QueueCoreFixture.transientQueue(DEFAULTS);
    q.retention.track("billing", 1, () -> 1);
    q.publish(kib(), kib(), kib());

    q.retention.progress("billing", 3);

    assertEquals(List.of(3L), q.retainedSequences());
  }

  @Test
  void withNoConsumersMessagesAreKeptForOneCreatedLater() {
    QueueCoreFixture q = QueueCoreFixture.transientQueue(DEFAULTS);
    q.publish(kib(), kib());

    assertEquals(0, q.retention.releaseAcknowledged());
    assertEquals(List.of(1L, 2L), q.retainedSequences());
  }

  @Test
  void retentionKeepsAcknowledgedMessagesForReplayUntilTheyAreOldEnough() {
    QueueCoreFixture q = QueueCoreFixture.transientQueue(DEFAULTS.withRetention(Duration.ofMinutes(5)));
    q.retention.track("billing", 1, () -> 3);
    q.publish(kib(), kib());

    assertEquals(0, q.retention.releaseAcknowledged());
    q.clock.advance(Duration.ofMinutes(5));
    assertEquals(2, q.retention.releaseAcknowledged());
  }

  @Test
  void expiresWhatPassedTheTtlOrItsOwnExpiryInOneStepPerTick() {
    QueueCoreFixture q = QueueCoreFixture.transientQueue(DEFAULTS.withTtl(Duration.ofMinutes(10)));
    q.retention.track("billing", 1, () -> 1);
    q.publish(kib(), kib());
    q.clock.advance(Duration.ofMinutes(1));
    q.publish(kib().withExpiresAt(Instant.ofEpochMilli(q.clock.millis() + 1_000)), kib());

    q.clock.advance(Duration.ofSeconds(2));
    q.retention.expire(q.clock.millis());
    q.clock.advance(Duration.ofMinutes(9));
    q.retention.expire(q.clock.millis());

    assertEquals(2, q.removals.size());
    Retention.Removal own = q.removals.get(0);
    Retention.Removal ttl = q.removals.get(1);
    assertEquals(Retention.Reason.EXPIRED, own.reason());
    assertEquals(List.of(3L), sequences(own));
    assertEquals(List.of(1L, 2L), sequences(ttl));
    assertTrue(ttl.epoch() > own.epoch());
    assertEquals(ttl.epoch(), q.retention.removalEpoch());
    assertEquals(List.of(4L), q.retainedSequences());
    assertEquals(q.log.get(4).sizeBytes(), q.budget.bytes());
  }

  @Test
  void underPressureADropOldestQueueEvictsItsShareAndARejectQueueNothing() {
    QueueCoreFixture dropping = new QueueCoreFixture(DEFAULTS.withOverflow(Overflow.DROP_OLDEST), 10 * 1024, false);
    QueueCoreFixture rejecting = new QueueCoreFixture(DEFAULTS, 10 * 1024, false);
    for (QueueCoreFixture q : List.of(dropping, rejecting)) {
      q.retention.track("billing", 1, () -> 1);
      for (int i = 0; i < 9; i++) {
        q.publish(kib());
      }
    }
    long excess = dropping.budget.excessOverLowWater();
    assertTrue(excess > 0);

    long evicted = dropping.retention.relieve();

    assertEquals(0, rejecting.retention.evictUnderPressure());
    assertEquals(9, rejecting.log.retainedMessages());
    assertTrue(evicted > 0);
    assertEquals(0, dropping.budget.excessOverLowWater());
    assertEquals(Retention.Reason.EVICTED, dropping.removals.get(0).reason());
    assertEquals(1, dropping.removals.get(0).firstSequence()); // the oldest go
  }

  @Test
  void theTickExpiresReleasesAndEvictsOnlyUnderPressure() {
    QueueCoreFixture q = new QueueCoreFixture(DEFAULTS.withOverflow(Overflow.DROP_OLDEST), 10 * 1024, false);
    long[] needFrom = {1};
    q.retention.track("billing", 1, () -> needFrom[0]);
    q.publish(kib().withExpiresAt(q.clock.instant().plus(Duration.ofMinutes(1))));
    for (int i = 0; i < 8; i++) {
      q.publish(kib());
    }
    q.clock.advance(Duration.ofMinutes(2));
    needFrom[0] = 3;

    q.retention.tick(q.clock.millis(), false);

    assertEquals(Retention.Reason.EXPIRED, q.removals.get(0).reason());
    assertEquals(List.of(1L), sequences(q.removals.get(0)));
    assertEquals(List.of(3L, 4L, 5L, 6L, 7L, 8L, 9L), q.retainedSequences()); // 2 acknowledged: released
    q.publish(kib(), kib());
    assertTrue(q.budget.excessOverLowWater() > 0);

    q.retention.tick(q.clock.millis(), false);
    assertEquals(1, q.removals.size()); // over the low-water mark, but not told of pressure: nothing evicted

    q.retention.tick(q.clock.millis(), true);

    assertEquals(Retention.Reason.EVICTED, q.removals.get(1).reason());
    assertEquals(3, q.removals.get(1).firstSequence());
    assertEquals(0, q.budget.excessOverLowWater());
    assertEquals(1, q.retention.expired()); // counted for the queue's stats; the released one is neither
    assertEquals(q.removals.get(1).messages().size(), q.retention.evicted());
  }

  @Test
  void aRedriveRemovesWhatItMovedInOneStep() {
    QueueCoreFixture q = QueueCoreFixture.transientQueue(DEFAULTS);
    q.publish(kib(), kib(), kib());

    q.retention.removeRedriven(List.of(1L, 3L));

    assertEquals(List.of(2L), q.retainedSequences());
    assertEquals(Retention.Reason.REDRIVEN, q.removals.get(0).reason());
    assertEquals(List.of(1L, 3L), sequences(q.removals.get(0)));
    assertEquals(q.log.get(2).sizeBytes(), q.budget.bytes());
    assertEquals(0, q.retention.evicted() + q.retention.expired()); // moved, not lost
  }

  @Test
  void aDeletionRemovesTheChosenMessagesAnywhereInOneStepAndCountsOnlyThoseRetained() {
    QueueCoreFixture q = QueueCoreFixture.transientQueue(DEFAULTS);
    q.retention.track("billing", 1, () -> 1);
    q.publish(kib(), kib(), kib(), kib(), kib());
    long one = q.log.get(1).sizeBytes();

    assertEquals(3, q.retention.delete(List.of(5L, 3L, 1L, 3L, 9L, 0L, -4L)));

    assertEquals(List.of(2L, 4L), q.retainedSequences());
    assertEquals(Retention.Reason.DELETED, q.removals.get(0).reason());
    assertEquals(List.of(1L, 3L, 5L), sequences(q.removals.get(0)), "in sequence order, each once");
    assertEquals(2 * one, q.budget.bytes(), "their bytes go back to the budget");
    assertEquals(3, q.retention.evicted(), "counted with the dropped ones");
    assertEquals(2, q.log.retainedFrom(1));

    assertEquals(0, q.retention.delete(List.of(1L, 3L)), "a second deletion finds nothing");
    assertEquals(1, q.removals.size(), "and tells no one");
  }

  @Test
  void aTrimRemovesTheOldestToALengthOrBelowASequenceInOneStep() {
    QueueCoreFixture q = QueueCoreFixture.transientQueue(DEFAULTS);
    q.retention.track("billing", 1, () -> 1);
    for (int i = 0; i < 10; i++) {
      q.publish(kib());
    }
    q.retention.delete(List.of(2L));

    assertEquals(5, q.retention.trim(4, 0), "1, 3, 4, 5 and 6 go; 2 was gone already");
    assertEquals(List.of(7L, 8L, 9L, 10L), q.retainedSequences());
    assertEquals(Retention.Reason.EVICTED, q.removals.get(1).reason());
    assertEquals(List.of(1L, 3L, 4L, 5L, 6L), sequences(q.removals.get(1)));

    assertEquals(0, q.retention.trim(4, 0), "already short enough");
    assertEquals(2, q.retention.trim(Long.MAX_VALUE, 9), "below 9");
    assertEquals(List.of(9L, 10L), q.retainedSequences());
    assertEquals(2, q.retention.trim(0, 0), "to nothing");
    assertEquals(List.of(), q.retainedSequences());
    assertEquals(0, q.budget.bytes());
  }
}
