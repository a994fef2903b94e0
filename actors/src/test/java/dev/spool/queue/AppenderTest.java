package dev.spool.queue;

import static dev.spool.queue.QueueCoreFixture.kib;
import static dev.spool.queue.QueueCoreFixture.sequences;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.Message;
import dev.spool.Overflow;
import dev.spool.QueueSettings;
import dev.spool.SpoolEvent;
import dev.spool.SpoolException;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class AppenderTest {

  private static final QueueSettings DEFAULTS = QueueSettings.defaults();

  @Test
  void givesConsecutiveSequencesAndTheOriginalOneToADuplicateId() {
    QueueCoreFixture q = QueueCoreFixture.transientQueue(DEFAULTS);
    UUID first = UUID.randomUUID();
    UUID second = UUID.randomUUID();

    assertEquals(List.of(1L, 2L), q.publish(kib(first), kib()));
    assertEquals(List.of(1L, 3L, 3L), q.publish(kib(first), kib(second), kib(second)));

    assertEquals(List.of(1L, 2L, 3L), q.retainedSequences());
    assertEquals(3, q.appender.published());
    assertEquals(2, q.appender.duplicates()); // one against the index, one within its own batch
  }

  @Test
  void aRetryWhileTheFirstWaitsForTheJournalGetsItsSequenceAndWaitsWithIt() {
    QueueCoreFixture q = new QueueCoreFixture(DEFAULTS, 0, true);
    UUID id = UUID.randomUUID();
    Appender.Prepared first = q.appender.prepare("p", List.of(kib(id)));
    q.appender.awaitJournal(first);

    Appender.Prepared retry = q.appender.prepare("p", List.of(kib(id), kib()));

    assertEquals(List.of(1L, 2L), retry.sequences()); // the fresh one follows the pending one, not the empty log
    assertTrue(retry.waitsForPending());
    assertEquals(1, retry.freshCount());
    q.appender.settle(first);
    q.appender.commit(first);
    q.appender.commit(retry);
    assertEquals(List.of(1L, 2L), q.retainedSequences());
  }

  @Test
  void rejectRefusesPastMaxLengthUntilConsumersReleaseWhatTheyAcknowledged() {
    QueueCoreFixture q = QueueCoreFixture.transientQueue(DEFAULTS.withMaxLength(2));
    long[] needFrom = {1};
    q.retention.track("billing", 1, () -> needFrom[0]);
    q.publish(kib(), kib());

    SpoolException refused = assertThrows(SpoolException.QueueFull.class, () -> q.publish(kib()));
    assertTrue(refused.getMessage().contains("maxLength of 2"), refused.getMessage());
    assertEquals(List.of(1L, 2L), q.retainedSequences());

    needFrom[0] = 2; // acknowledged the first: released as the bound is about to refuse
    assertEquals(List.of(3L), q.publish(kib()));
    assertEquals(List.of(2L, 3L), q.retainedSequences());
  }

  @Test
  void dropOldestEvictsTheQueuesOldestInOneStep() {
    QueueCoreFixture q = QueueCoreFixture.transientQueue(DEFAULTS.withMaxLength(3).withOverflow(Overflow.DROP_OLDEST));
    q.publish(kib(), kib(), kib());

    q.publish(kib(), kib());

    assertEquals(List.of(3L, 4L, 5L), q.retainedSequences());
    assertEquals(1, q.removals.size());
    Retention.Removal eviction = q.removals.get(0);
    assertEquals(Retention.Reason.EVICTED, eviction.reason());
    assertEquals(List.of(1L, 2L), sequences(eviction));
    assertTrue(eviction.stored());
  }

  @Test
  void dropOldestKeepsTheNewestOfABatchLargerThanTheQueue() {
    QueueCoreFixture q = QueueCoreFixture.transientQueue(DEFAULTS.withMaxLength(3).withOverflow(Overflow.DROP_OLDEST));

    Appender.Prepared prepared = q.appender.prepare("p", List.of(kib(), kib(), kib(), kib(), kib()));
    assertEquals(2, prepared.dropped());
    assertEquals(List.of(1L, 2L, 3L, 4L, 5L), prepared.sequences()); // every message has its sequence
    q.appender.commit(prepared);

    assertEquals(List.of(3L, 4L, 5L), q.retainedSequences());
    Retention.Removal dropped = q.removals.get(0);
    assertEquals(List.of(1L, 2L), sequences(dropped));
    assertFalse(dropped.stored()); // never in the log: not to be journaled as a removal
    assertEquals(3 * q.log.get(3).sizeBytes(), q.budget.bytes());
  }

  @Test
  void dropOldestKeepsAsManyOfTheNewestAsMaxBytesHolds() {
    QueueCoreFixture q = QueueCoreFixture.transientQueue(DEFAULTS.withMaxBytes(3500).withOverflow(Overflow.DROP_OLDEST));

    q.publish(kib(), kib(), kib(), kib(), kib()); // about 1.1 KB each: three fit

    assertEquals(List.of(3L, 4L, 5L), q.retainedSequences());
    assertEquals(List.of(1L, 2L), sequences(q.removals.get(0)));
    assertFalse(q.removals.get(0).stored()); // dropped from the batch, not appended and then evicted
    assertTrue(q.log.retainedBytes() <= 3500);
  }

  @Test
  void aMessageThatCanNeverFitIsRefusedBeforeAnythingIsEvicted() {
    QueueCoreFixture q = QueueCoreFixture.transientQueue(
        DEFAULTS.withMaxBytes(4 * 1024).withOverflow(Overflow.DROP_OLDEST));
    q.publish(kib(), kib());
    long bytes = q.budget.bytes();

    assertThrows(SpoolException.MessageTooLarge.class,
        () -> q.publish(kib(), Message.of("order.placed", QueueCoreFixture.payload(64 * 1024))));

    assertEquals(List.of(1L, 2L), q.retainedSequences());
    assertTrue(q.removals.isEmpty());
    assertEquals(bytes, q.budget.bytes());
  }

  @Test
  void underRejectABatchThatCouldNeverFitIsTooLargeNotFull() {
    QueueCoreFixture q = QueueCoreFixture.transientQueue(DEFAULTS.withMaxLength(2));

    assertThrows(SpoolException.MessageTooLarge.class, () -> q.publish(kib(), kib(), kib()));
    assertEquals(0, q.log.lastSequence());
  }

  @Test
  void rejectRefusesPastTheMemoryThresholdAndReservesNothing() {
    QueueCoreFixture q = new QueueCoreFixture(DEFAULTS, 5 * 1024, false);
    q.publish(kib(), kib(), kib());
    long bytes = q.budget.bytes();

    SpoolException refused = assertThrows(SpoolException.QueueFull.class, () -> q.publish(kib(), kib()));

    assertTrue(refused.getMessage().contains("memory threshold"), refused.getMessage());
    assertEquals(bytes, q.budget.bytes());
    assertEquals(3, q.log.retainedMessages());
  }

  @Test
  void aDurablePublishHoldsItsWriteUntilSettledAndAnAbandonedOneGivesEverythingBack() {
    QueueCoreFixture q = new QueueCoreFixture(DEFAULTS, 1024 * 1024, true);
    Appender.Prepared stored = q.appender.prepare("p", List.of(kib(), kib()));
    q.appender.awaitJournal(stored);
    assertEquals(2 * stored.keptBytes(), q.budget.bytes()); // the messages, and their serialized form
    assertEquals(stored.keptBytes(), q.budget.held);
    assertEquals(stored.keptBytes(), q.appender.pendingBytes());

    q.appender.settle(stored);
    q.appender.commit(stored);
    assertEquals(stored.keptBytes(), q.budget.bytes());
    assertEquals(0, q.budget.held);

    Appender.Prepared lost = q.appender.prepare("p", List.of(kib()));
    q.appender.awaitJournal(lost);
    q.appender.abandon(lost);
    assertEquals(stored.keptBytes(), q.budget.bytes());
    assertEquals(0, q.appender.pendingBytes());
    assertEquals(List.of(1L, 2L), q.retainedSequences());
  }

  @Test
  void tooManyWaitingForTheJournalIsBackPressure() {
    QueueCoreFixture q = new QueueCoreFixture(DEFAULTS, 0, true);
    int limit = q.settings.persistence().maxPendingMessages();
    q.appender.requireRoomToWait(limit);

    assertThrows(SpoolException.QueueFull.class, () -> q.appender.requireRoomToWait(limit + 1));
  }

  @Test
  void aPublishOverTheBatchLimitIsRefused() {
    QueueCoreFixture q = QueueCoreFixture.transientQueue(DEFAULTS);
    Message[] many = new Message[q.settings.maxBatchMessages() + 1];
    java.util.Arrays.fill(many, kib());

    assertThrows(SpoolException.InvalidConfiguration.class, () -> q.publish(many));
    assertEquals(0, q.log.lastSequence());
  }

  @Test
  void theMessageAddedEventCarriesTheGroupAndAMalformedSizeAsUnknown() {
    QueueCoreFixture q = QueueCoreFixture.transientQueue(DEFAULTS);
    q.publish(kib().withHeader("group-id", "cart-7").withHeader("group-size", " 3 "),
        kib().withHeader("group-id", "cart-8").withHeader("group-size", "three"), kib());

    SpoolEvent.MessageAdded grouped = Appender.messageAdded("orders", q.log.get(1));
    assertEquals("orders", grouped.queue());
    assertEquals(1, grouped.sequence());
    assertEquals("order.placed", grouped.messageType());
    assertEquals("cart-7", grouped.groupId());
    assertEquals(3, grouped.groupSize());
    assertEquals(q.log.get(1).timestamp(), grouped.at().toEpochMilli());

    assertEquals(0, Appender.messageAdded("orders", q.log.get(2)).groupSize());
    assertEquals("cart-8", Appender.messageAdded("orders", q.log.get(2)).groupId());
    assertNull(Appender.messageAdded("orders", q.log.get(3)).groupId());
  }
}
