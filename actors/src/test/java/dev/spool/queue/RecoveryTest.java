package dev.spool.queue;

import static dev.spool.queue.QueueCoreFixture.kib;
import static dev.spool.queue.QueueCoreFixture.sequences;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.ConsumerSettings;
import dev.spool.Message;
import dev.spool.QueueSettings;
import dev.spool.durable.ConsumerPosition;
import dev.spool.durable.QueueEvent;
import dev.spool.durable.QueueJournal;
import dev.spool.durable.QueueSnapshot;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** A durable queue's core rebuilt from what its journal recovered, without the journal or the actor. */
class RecoveryTest {

  private final QueueCoreFixture q = QueueCoreFixture.transientQueue(QueueSettings.defaults());
  private final GroupCommit<String, String> groupCommit = new GroupCommit<>();
  private final Recovery recovery = new Recovery("orders", q.log, q.dedup, q.expiries, q.budget);

  /** A message as the journal stored it: appended at {@code sequence}, now. */
  private Message stored(long sequence, Message m) {
    return m.appended(sequence, q.clock.millis(), "producer-1");
  }

  private static QueueJournal.Recovered recovered(long lastWriteId, long lastSequence, List<Message> messages,
      Map<String, ConsumerPosition> positions, List<QueueSnapshot.DedupEntry> dedup) {
    List<QueueEvent.ConsumerRecord> consumers = positions.keySet().stream()
        .map(name -> new QueueEvent.ConsumerRecord(ConsumerSettings.named(name), 1)).toList();
    return new QueueJournal.Recovered(lastWriteId, lastSequence, messages, consumers, positions, dedup);
  }

  @Test
  void rebuildsTheLogWithItsGapsAndGoesOnAfterTheLastSequenceAndWrite() {
    UUID freedId = UUID.randomUUID();
    List<Message> messages = List.of(stored(3, kib()), stored(5, kib()));
    QueueJournal.Recovered journal = recovered(7, 5, messages,
        Map.of("billing", new ConsumerPosition(4, new long[] {3}, new int[] {2}, false)),
        List.of(new QueueSnapshot.DedupEntry(freedId, 1, q.clock.millis())));

    Recovery.Restored restored = recovery.restore(journal, List.of(), q.appender, groupCommit);

    assertEquals(List.of(3L, 5L), q.retainedSequences()); // 4 was removed before the restart, 1 and 2 freed
    assertEquals(2, restored.messages());
    assertEquals(messages.get(0).sizeBytes() + messages.get(1).sizeBytes(), restored.bytes());
    assertEquals(restored.bytes(), q.budget.bytes());
    assertFalse(restored.lostMessages());
    assertEquals(List.of("billing"), restored.consumers().stream().map(c -> c.settings().name()).toList());
    assertEquals(4, restored.positions().get("billing").next());

    assertEquals(List.of(1L), q.publish(kib(freedId))); // a producer retrying a freed message is deduplicated
    assertEquals(List.of(6L), q.publish(kib()));
    groupCommit.delete("billing");
    assertEquals(8, groupCommit.next().id());
  }

  @Test
  void restoredExpiriesStillExpire() {
    Instant at = Instant.ofEpochMilli(q.clock.millis()).plus(Duration.ofMinutes(1));
    recovery.restore(recovered(1, 2, List.of(stored(1, kib()), stored(2, kib().withExpiresAt(at))), Map.of(),
        List.of()), List.of(), q.appender, groupCommit);

    q.clock.advance(Duration.ofMinutes(2));
    q.retention.expire(q.clock.millis());

    assertEquals(1, q.removals.size());
    assertEquals(List.of(2L), sequences(q.removals.get(0)));
    assertEquals(Retention.Reason.EXPIRED, q.removals.get(0).reason());
  }

  @Test
  void aPositionPastTheStoredMessagesMeansTheJournalLostSomeAndNewMessagesGoAboveIt() {
    QueueJournal.Recovered journal = recovered(3, 5, List.of(stored(5, kib())),
        Map.of("billing", new ConsumerPosition(10, new long[0], new int[0], false)), List.of());

    Recovery.Restored restored = recovery.restore(journal, List.of(), q.appender, groupCommit);

    assertTrue(restored.lostMessages());
    assertEquals(5, restored.storedLastSequence());
    assertEquals(9, restored.lastSequence());
    assertEquals(List.of(10L), q.publish(kib())); // never a sequence the consumer has passed
  }

  @Test
  void aQueueThatDoesNotFitUnderTheThresholdIsRefusedWholeAndNothingIsRestored() {
    int size = stored(1, kib()).sizeBytes();
    q.budget.threshold = 4L * size;
    q.budget.counted = 2L * size; // what the other queues retain
    List<Message> three = List.of(stored(1, kib()), stored(2, kib()), stored(3, kib()));

    Recovery.Refused refused = assertThrows(Recovery.Refused.class,
        () -> recovery.restore(recovered(1, 3, three, Map.of(), List.of()), List.of(), q.appender, groupCommit));

    assertEquals(3L * size, refused.recoveredBytes());
    assertEquals(2L * size, refused.usedBytes());
    assertEquals(4L * size, refused.thresholdBytes());
    assertEquals(2L * size, q.budget.bytes());
    assertEquals(0, q.log.lastSequence());
    assertTrue(refused.getMessage().startsWith("queue orders not recovered: its 3 messages"));

    recovery.restore(recovered(1, 3, three.subList(0, 2), Map.of(), List.of()), List.of(), q.appender, groupCommit);
    assertEquals(List.of(1L, 2L), q.retainedSequences()); // two fit
  }
}
