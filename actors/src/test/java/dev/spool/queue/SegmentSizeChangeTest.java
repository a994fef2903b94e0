package dev.spool.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.Message;
import dev.spool.durable.QueueJournal;
import dev.spool.log.DedupIndex;
import dev.spool.log.ExpiryIndex;
import dev.spool.log.SegmentedLog;
import dev.spool.storage.SegmentIndex;
import dev.spool.storage.SegmentRow;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A persistent queue whose stored segments were written with another spool.segment-size. */
class SegmentSizeChangeTest {

  private static List<Message> messages(long from, long to) {
    List<Message> out = new ArrayList<>();
    for (long s = from; s <= to; s++) {
      out.add(Message.of("t", new byte[8]).appended(s, 1000 + s, "p"));
    }
    return out;
  }

  @Test
  void aSegmentSizeChangeIsRefusedClearlyAndRestoresNothing() {
    // before the restart: segments 0 and 1 of 1024 stored as rows, the journal sealed through 2048
    List<SegmentRow> rows = new ArrayList<>();
    for (long segment = 0; segment < 2; segment++) {
      List<Message> in = messages(segment * 1024 + 1, (segment + 1) * 1024);
      rows.add(new SegmentRow("q", segment, in.size(), SegmentIndex.encode(segment, 1024, in), 0, null, 0, null));
    }
    QueueJournal.Recovered recovered = new QueueJournal.Recovered(5, 2050, messages(2049, 2050), List.of(), Map.of(),
        List.of(), 2048, 0, new long[0]);

    QueueCoreFixture q = QueueCoreFixture.transientQueue(dev.spool.QueueSettings.defaults());
    SegmentedLog log = new SegmentedLog(2048); // spool.segment-size = 2048 now
    Recovery recovery = new Recovery("q", log, new DedupIndex(100), new ExpiryIndex(), q.budget);
    IllegalArgumentException refused = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> recovery.restore(recovered, rows, q.appender, new GroupCommit<String, String>()));
    assertTrue(refused.getMessage().contains("set it back to 1024"), refused.getMessage());
    assertEquals(0, log.retainedMessages(), "nothing restored: the queue is not started, nothing is lost");
  }
}
