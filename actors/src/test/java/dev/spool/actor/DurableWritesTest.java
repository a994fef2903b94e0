package dev.spool.actor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.spool.ConsumerSettings;
import dev.spool.JournalHealth;
import dev.spool.Message;
import dev.spool.QueueSettings;
import dev.spool.SpoolException;
import dev.spool.SpoolSettings;
import dev.spool.StartPosition;
import dev.spool.durable.ConsumerPosition;
import dev.spool.durable.QueueJournal;
import dev.spool.log.DedupIndex;
import dev.spool.log.ExpiryIndex;
import dev.spool.log.SegmentedLog;
import dev.spool.queue.Appender;
import dev.spool.queue.ConsumerRegistry;
import dev.spool.queue.Recovery;
import dev.spool.queue.Retention;
import dev.spool.storage.DiskAlarm;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.TestInbox;
import org.apache.pekko.pattern.StatusReply;
import org.junit.jupiter.api.Test;

/**
 * A durable queue's write path against a journal the test answers: what is answered when, what a
 * write not stored refuses, and when the journal's condition is reported. Creation replies and
 * consumers are plain strings here.
 */
class DurableWritesTest {

  private static final byte[] KIB = new byte[1024];

  static {
    Arrays.fill(KIB, (byte) 'x');
  }

  private final Clock clock = Clock.fixed(Instant.parse("2026-11-30T12:00:00Z"), ZoneOffset.UTC);
  private final SpoolSettings settings = SpoolSettings.create(ConfigFactory.load()).withClock(clock);
  private final SegmentedLog log = new SegmentedLog(settings.segmentSize());
  private final ExpiryIndex expiries = new ExpiryIndex();
  private final MemoryMonitor memory = new MemoryMonitor(64L << 20, event -> { }, clock);
  private final Retention retention = new Retention(log, expiries, memory, QueueSettings.defaults(), clock,
      removal -> { }, freed -> { });
  private final DedupIndex dedup = new DedupIndex(settings.dedupMaxEntries());
  private final Appender appender = new Appender("orders", log, dedup, expiries,
      retention, memory, QueueSettings.defaults(), settings, Message.newIdSeed(), true);
  private final ConsumerRegistry<String> consumers = new ConsumerRegistry<>(retention, 1000,
      new ConsumerRegistry.Outlet<>() {
        @Override
        public void stopped(String consumer, String ref) {}

        @Override
        public void removed(String consumer, String reason, long lag) {}
      });
  private final RecordedWrites outlet = new RecordedWrites();
  private final DurableWrites<String, String> writes = new DurableWrites<>("orders", appender,
      new Recovery("orders", log, dedup, expiries, memory), consumers,
      Duration.ofSeconds(5), DiskAlarm.off(), clock, outlet, null, 1);

  private static Message kib() {
    return Message.of("order.placed", KIB);
  }

  private TestInbox<StatusReply<List<Long>>> publish(Message... messages) {
    TestInbox<StatusReply<List<Long>>> publisher = TestInbox.create();
    writes.publish("producer-1", List.of(messages), publisher.getRef());
    return publisher;
  }

  private static QueueJournal.Recovered recovered(long lastWriteId) {
    return new QueueJournal.Recovered(lastWriteId, 0, List.of(), List.of(), Map.of(), List.of());
  }

  /** The journal failed the write under way and, restarted, does not hold it. */
  private void failWriteUnderWay() {
    long id = outlet.lastWriteId();
    writes.settle(new QueueJournal.WriteFailed(new SQLException("disk I/O error")));
    writes.settle(recovered(id - 1));
  }

  @Test
  void aDurablePublishIsAnsweredOnlyOnceItsBatchIsStored() {
    var first = publish(kib());
    var second = publish(kib(), kib());
    var third = publish(kib());

    assertEquals(1, outlet.writes.size()); // one write at a time: the others gather
    assertFalse(first.hasMessages());
    assertEquals(0, log.retainedMessages());

    writes.settle(new QueueJournal.Written(1));

    assertEquals(StatusReply.success(List.of(1L)), first.receiveMessage());
    assertFalse(second.hasMessages());
    assertEquals(List.of(1L), outlet.appended);
    assertEquals(1, log.retainedMessages());
    assertEquals(1, outlet.writesEnded);
    assertEquals(2, outlet.writes.size()); // the gathered publishes together, in one write
    assertEquals(3, outlet.writes.get(1).event().messages().size());

    writes.settle(new QueueJournal.Written(2));

    assertEquals(StatusReply.success(List.of(2L, 3L)), second.receiveMessage());
    assertEquals(StatusReply.success(List.of(4L)), third.receiveMessage());
    assertEquals(4, log.retainedMessages());
    assertTrue(outlet.changes.isEmpty()); // the journal wrote all along
  }

  @Test
  void aFailedWriteAnswersEveryPublisherOfItsBatchWithTheErrorAndLeavesTheLogUnchanged() {
    var stored = publish(kib());
    writes.settle(new QueueJournal.Written(1));
    stored.receiveMessage();
    long retainedBytes = log.retainedBytes();
    long usedBytes = memory.bytes();

    var lost = publish(kib(), kib());
    var gathered = publish(kib()); // its sequence follows the lost ones: refused with them
    failWriteUnderWay();

    for (var publisher : List.of(lost, gathered)) {
      StatusReply<List<Long>> reply = publisher.receiveMessage();
      assertTrue(reply.isError());
      assertInstanceOf(SpoolException.JournalUnavailable.class, reply.getError());
    }
    assertEquals(1, log.retainedMessages());
    assertEquals(retainedBytes, log.retainedBytes());
    assertEquals(usedBytes, memory.bytes()); // what they reserved is given back
    assertEquals(List.of(1L), outlet.appended);
    assertEquals(2, outlet.writes.size()); // nothing left to write

    var again = publish(kib());
    writes.settle(new QueueJournal.Written(outlet.lastWriteId()));
    assertTrue(again.receiveMessage().isSuccess());
    assertEquals(2, log.retainedMessages());
  }

  @Test
  void aStalledWriteIsReportedOnceAndRefusesNewPublishesUntilItCompletes() {
    var waiting = publish(kib());
    long id = outlet.lastWriteId();

    writes.checkStalled(id);
    writes.checkStalled(id);

    assertEquals(1, outlet.changes.size());
    assertEquals(JournalHealth.State.WRITE_STALLED, outlet.changes.get(0).state());
    assertThrows(SpoolException.JournalUnavailable.class, () -> publish(kib()));
    assertEquals(1, outlet.writes.size());

    writes.settle(new QueueJournal.Written(id));

    assertTrue(waiting.receiveMessage().isSuccess()); // it kept waiting for its outcome
    assertEquals(2, outlet.changes.size());
    assertNull(outlet.changes.get(1)); // writes again
    writes.checkStalled(id); // the check for a write that completed says nothing
    assertEquals(2, outlet.changes.size());
    publish(kib()); // taken again
    assertEquals(2, outlet.writes.size());
  }

  @Test
  void aPublishOfOnlyStoredDuplicatesIsAnsweredAtOnceWithoutAWrite() {
    Message m = kib().withId(UUID.randomUUID());
    publish(m);
    writes.settle(new QueueJournal.Written(1));

    var duplicate = publish(m);

    assertEquals(StatusReply.success(List.of(1L)), duplicate.receiveMessage());
    assertEquals(1, outlet.writes.size());
    assertEquals(1, log.retainedMessages());
  }

  @Test
  void aConsumerRequestedTwiceWhileItsCreationWaitsIsCreatedOnceAndBothAreAnswered() {
    ConsumerSettings billing = ConsumerSettings.named("billing");
    writes.create(billing, 1, "request-1");

    assertTrue(writes.joinPending(billing, "request-2"));
    assertThrows(SpoolException.ConsumerAlreadyExists.class,
        () -> writes.joinPending(billing.startAt(StartPosition.latest()), "request-3"));
    assertFalse(writes.joinPending(ConsumerSettings.named("audit"), "request-4"));
    assertTrue(outlet.created.isEmpty()); // not before the journal stored it

    writes.settle(new QueueJournal.Written(outlet.lastWriteId()));

    assertEquals(1, outlet.created.size());
    assertEquals("billing@1 [request-1, request-2]", outlet.created.get(0));
  }

  @Test
  void aConsumerCreationNotStoredIsRefusedToEveryRequest() {
    ConsumerSettings billing = ConsumerSettings.named("billing");
    writes.create(billing, 1, "request-1");
    writes.joinPending(billing, "request-2");

    failWriteUnderWay();

    assertTrue(outlet.created.isEmpty());
    assertEquals(List.of("request-1: JournalUnavailable", "request-2: JournalUnavailable"), outlet.notCreated);
    assertFalse(writes.joinPending(billing, "request-3")); // no longer pending: it may be created again
  }

  @Test
  void aStoredPositionIsConfirmedOnlyToTheConsumerThatStillHasTheName() {
    ConsumerPosition position = new ConsumerPosition(5, new long[0], new int[0], false);
    consumers.add("billing", "billing-1", ConsumerSettings.named("billing"), 1, () -> 1);
    consumers.add("audit", "audit-1", ConsumerSettings.named("audit"), 1, () -> 1);
    publish(kib()); // a write under way: the positions gather for the next one
    writes.position("billing", position, "billing-1", 3);
    writes.position("audit", position, "audit-1", 8);
    writes.position("gone", position, "gone-1", 1); // not a consumer: not journaled
    consumers.remove("audit", null);
    consumers.add("audit", "audit-2", ConsumerSettings.named("audit"), 1, () -> 1); // created again meanwhile
    writes.settle(new QueueJournal.Written(1));
    assertEquals(Set.of("billing", "audit"), outlet.writes.get(1).event().positions().keySet());

    writes.settle(new QueueJournal.Written(2));

    assertEquals(List.of("billing-1@3"), outlet.saved);
  }

  @Test
  void positionsOfAWriteNotStoredAreAskedForAgain() {
    ConsumerPosition position = new ConsumerPosition(5, new long[0], new int[0], false);
    consumers.add("billing", "billing-1", ConsumerSettings.named("billing"), 1, () -> 1);
    writes.position("billing", position, "billing-1", 3);

    failWriteUnderWay();

    assertTrue(outlet.saved.isEmpty());
    assertEquals(List.of("billing-1"), outlet.resent);
  }

  @Test
  void aDeletionIsAnsweredOnceStoredAndCarriedOverWhenItsWriteFails() {
    TestInbox<StatusReply<Done>> deleter = TestInbox.create();
    writes.deleted("billing");
    writes.awaitDeletion("billing", deleter.getRef());

    failWriteUnderWay();
    assertFalse(deleter.hasMessages());
    assertEquals(List.of("billing"), outlet.writes.get(1).event().deleted()); // written again at once

    writes.settle(new QueueJournal.Written(outlet.lastWriteId()));
    assertEquals(StatusReply.success(Done.getInstance()), deleter.receiveMessage());
  }

  @Test
  void aFlushIsAnsweredOnceNothingWaitsForTheJournal() {
    TestInbox<StatusReply<Done>> idle = TestInbox.create();
    writes.awaitIdle(idle.getRef());
    assertEquals(StatusReply.success(Done.getInstance()), idle.receiveMessage()); // nothing to write

    publish(kib());
    TestInbox<StatusReply<Done>> flush = TestInbox.create();
    writes.awaitIdle(flush.getRef());
    publish(kib()); // gathers for the next write
    writes.settle(new QueueJournal.Written(1));
    assertFalse(flush.hasMessages());

    writes.settle(new QueueJournal.Written(2));
    assertEquals(StatusReply.success(Done.getInstance()), flush.receiveMessage());
  }

  @Test
  void evictedStoredMessagesAreRemovedFromTheJournalButExpiredOnesAreNot() {
    publish(kib(), kib());
    writes.settle(new QueueJournal.Written(1));
    List<Message> stored = List.of(log.get(1), log.get(2));

    writes.removed(new Retention.Removal(Retention.Reason.EXPIRED, 1, stored, true));
    assertEquals(1, outlet.writes.size());
    writes.removed(new Retention.Removal(Retention.Reason.EVICTED, 2, stored.subList(0, 1), false));
    assertEquals(1, outlet.writes.size()); // never stored: nothing to remove

    writes.removed(new Retention.Removal(Retention.Reason.EVICTED, 3, stored, true));
    assertEquals(2, outlet.writes.size());
    assertEquals(2, outlet.writes.get(1).event().removed().length);
  }
}
