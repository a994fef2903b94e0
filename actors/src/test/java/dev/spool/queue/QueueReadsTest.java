package dev.spool.queue;

import static dev.spool.queue.QueueCoreFixture.kib;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.spool.Message;
import dev.spool.MessageTrace;
import dev.spool.QueueSettings;
import dev.spool.SpoolException;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class QueueReadsTest {

  private final QueueCoreFixture q = QueueCoreFixture.transientQueue(QueueSettings.defaults());
  private final QueueReads reads = new QueueReads("orders", q.log, 100);

  private static List<Long> sequences(List<Message> messages) {
    return messages.stream().map(Message::sequence).toList();
  }

  @Test
  void browsePassesOverWhatIsGoneAndStopsAtMax() {
    q.publish(kib(), kib(), kib(), kib(), kib(), kib());
    q.retention.track("billing", 3, () -> 3);
    q.retention.collectGarbage(); // 1 and 2 released
    q.retention.removeRedriven(List.of(4L));

    assertEquals(List.of(3L, 5L, 6L), sequences(reads.browse(1, 10)));
    assertEquals(List.of(3L, 5L), sequences(reads.browse(0, 2)));
    assertEquals(List.of(6L), sequences(reads.browse(6, 10)));
    assertEquals(List.of(), reads.browse(7, 10));
  }

  @Test
  void browseRefusesAMaxOutsideTheBatchCap() {
    q.publish(kib());
    assertThrows(SpoolException.InvalidConfiguration.class, () -> reads.browse(1, 0));
    SpoolException e = assertThrows(SpoolException.InvalidConfiguration.class, () -> reads.browse(1, 101));
    assertEquals("browse max must be between 1 and 100, not 101", e.getMessage());
  }

  @Test
  void aSequenceNotRetainedSaysWhatIs() {
    SpoolException empty = assertThrows(SpoolException.SequenceOutOfRange.class, () -> reads.traced(1));
    assertEquals("queue 'orders' does not retain sequence 1 (released, removed or never appended; it retains "
        + "nothing; the next message gets 1)", empty.getMessage());

    q.publish(kib(), kib(), kib());
    q.retention.track("billing", 2, () -> 2);
    q.retention.collectGarbage();

    SpoolException released = assertThrows(SpoolException.SequenceOutOfRange.class, () -> reads.traced(1));
    assertEquals("queue 'orders' does not retain sequence 1 (released, removed or never appended; it retains "
        + "2 to 3)", released.getMessage());
    assertEquals(2, reads.traced(2).sequence());
  }

  @Test
  void theTraceMergesConsumersByTimeAndKeepsUntimedEntriesBeforeTheirConsumersNext() {
    q.publish(kib());
    Message m = q.log.get(1);
    Instant t = Instant.ofEpochMilli(m.timestamp());
    List<MessageTrace.Entry> billing = List.of(
        new MessageTrace.Entry("delivered", "billing", t.plusMillis(10), 1, "pull"),
        new MessageTrace.Entry("in-flight", "billing", null, 0, null));
    List<MessageTrace.Entry> audit = List.of(
        new MessageTrace.Entry("events-dropped", "audit", null, 0, null),
        new MessageTrace.Entry("delivered", "audit", t.plusMillis(5), 1, "pull"),
        new MessageTrace.Entry("acked", "audit", t.plusMillis(20), 0, null));

    MessageTrace trace = QueueReads.trace(m, List.of(billing, audit));

    assertEquals(m, trace.message());
    assertEquals(List.of("appended null", "events-dropped audit", "delivered audit", "delivered billing",
        "acked audit", "in-flight billing"),
        trace.entries().stream().map(e -> e.event() + " " + e.consumer()).toList());
    assertEquals(t, trace.entries().get(0).at());
  }
}
