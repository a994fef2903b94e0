package dev.spool.actor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.spool.ConsumerSettings;
import dev.spool.Message;
import dev.spool.QueueSettings;
import dev.spool.SpoolException;
import dev.spool.SpoolSettings;
import dev.spool.durable.QueueJournal;
import dev.spool.log.DedupIndex;
import dev.spool.log.ExpiryIndex;
import dev.spool.log.SegmentedLog;
import dev.spool.queue.Appender;
import dev.spool.queue.Retention;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.TestInbox;
import org.apache.pekko.pattern.StatusReply;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A transient queue's writes: everything takes effect at once, with no journal. */
class QueueWritesTest {

  private final Clock clock = Clock.fixed(Instant.parse("2026-11-30T12:00:00Z"), ZoneOffset.UTC);
  private final SpoolSettings settings = SpoolSettings.create(ConfigFactory.load()).withClock(clock);
  private final SegmentedLog log = new SegmentedLog(settings.segmentSize());
  private final ExpiryIndex expiries = new ExpiryIndex();
  private final MemoryMonitor memory = new MemoryMonitor(64L << 20, event -> { }, clock);
  private final Retention retention = new Retention(log, expiries, memory, QueueSettings.defaults(), clock,
      removal -> { }, freed -> { });
  private final Appender appender = new Appender("orders", log, new DedupIndex(settings.dedupMaxEntries()), expiries,
      retention, memory, QueueSettings.defaults().withMaxLength(2), settings, Message.newIdSeed(), false);
  private final RecordedWrites outlet = new RecordedWrites();
  private final QueueWrites<String, String> writes = QueueWrites.immediate(appender, outlet);

  @AfterEach
  void aTransientQueueTouchesNoJournal() {
    assertTrue(outlet.touchedNoJournal(), "a transient queue writes no journal and refuses nothing for it");
  }

  private static Message kib() {
    return Message.of("order.placed", new byte[1024]);
  }

  @Test
  void aPublishJoinsTheLogAndIsAnsweredAtOnce() {
    TestInbox<StatusReply<List<Long>>> publisher = TestInbox.create();

    writes.publish("producer-1", List.of(kib(), kib()), publisher.getRef());

    assertEquals(StatusReply.success(List.of(1L, 2L)), publisher.receiveMessage());
    assertEquals(List.of(1L, 2L), outlet.appended);
    assertEquals(2, log.retainedMessages());
  }

  @Test
  void aRefusedPublishChangesNothing() {
    TestInbox<StatusReply<List<Long>>> publisher = TestInbox.create();

    assertThrows(SpoolException.class, // three messages can never fit a queue of two
        () -> writes.publish("producer-1", List.of(kib(), kib(), kib()), publisher.getRef()));

    assertFalse(publisher.hasMessages());
    assertTrue(outlet.appended.isEmpty());
    assertEquals(0, log.retainedMessages());
  }

  @Test
  void consumersAreCreatedAndDeletedAtOnceAndAFlushHasNothingToWaitFor() {
    writes.requireWritable();
    assertFalse(writes.joinPending(ConsumerSettings.named("billing"), "request-1"));
    writes.create(ConsumerSettings.named("billing"), 1, "request-1");
    assertEquals(List.of("billing@1 [request-1]"), outlet.created);

    TestInbox<StatusReply<Done>> deleter = TestInbox.create();
    writes.deleted("billing");
    writes.awaitDeletion("billing", deleter.getRef());
    assertEquals(StatusReply.success(Done.getInstance()), deleter.receiveMessage());

    TestInbox<StatusReply<Done>> flush = TestInbox.create();
    writes.awaitIdle(flush.getRef());
    assertEquals(StatusReply.success(Done.getInstance()), flush.receiveMessage());
    assertThrows(IllegalStateException.class, () -> writes.settle(new QueueJournal.Written(1)));
  }
}
