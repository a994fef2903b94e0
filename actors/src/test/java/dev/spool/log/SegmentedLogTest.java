package dev.spool.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.spool.Message;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class SegmentedLogTest {

  static Message at(long sequence, long timestamp) {
    return Message.of("t", new byte[10]).appended(sequence, timestamp, "p");
  }

  static SegmentedLog filled(int segmentSize, int count) {
    SegmentedLog log = new SegmentedLog(segmentSize);
    for (int i = 1; i <= count; i++) {
      log.append(at(i, i));
    }
    return log;
  }

  @Test
  void readsEverySequenceAcrossSegmentsAndNothingOutside() {
    SegmentedLog log = filled(16, 200);
    for (long s = 1; s <= 200; s++) {
      assertEquals(s, log.get(s).sequence());
    }
    assertNull(log.get(0));
    assertNull(log.get(201));
    assertEquals(200, log.lastSequence());
    assertEquals(1, log.firstSequence());
    assertEquals(13, log.segmentCount());
    assertEquals(200, log.retainedMessages());
    assertEquals(200L * at(1, 1).sizeBytes(), log.retainedBytes());
  }

  @Test
  void anOutOfOrderAppendIsRefusedAndChangesNothing() {
    SegmentedLog log = filled(16, 5);
    assertThrows(IllegalArgumentException.class, () -> log.append(at(7, 7)));
    assertThrows(IllegalArgumentException.class, () -> log.append(at(5, 5)));
    assertEquals(5, log.lastSequence());
    assertEquals(5, log.retainedMessages());
    log.append(at(6, 6));
    assertEquals(6, log.get(6).sequence());
  }

  @Test
  void releaseLetsGoOfEachMessageBelowTheWatermarkAndFreesWholeSegments() {
    SegmentedLog log = filled(16, 100);
    long one = at(1, 1).sizeBytes();
    assertEquals(15, log.releaseBefore(16), "sequence 16 is still needed");
    assertNull(log.get(15));
    assertEquals(16, log.get(16).sequence());
    assertEquals(16, log.firstSequence());
    assertEquals(85, log.retainedMessages());
    assertEquals(85L * one, log.retainedBytes());
    assertEquals(7, log.segmentCount(), "segment 1-16 still holds 16");
    assertEquals(1, log.releaseBefore(17));
    assertEquals(6, log.segmentCount(), "segment 1-16 is all released: its slots are freed");
    assertEquals(42, log.releaseBefore(59));
    assertEquals(59, log.firstSequence());
    assertEquals(59, log.get(59).sequence());
    assertEquals(42, log.retainedMessages());
    assertEquals(4, log.segmentCount(), "49-64 holds 59 and up");
    assertEquals(42L * one, log.retainedBytes());
    assertEquals(0, log.releaseBefore(40), "a lower watermark releases nothing and brings nothing back");
    assertEquals(59, log.firstSequence());
  }

  @Test
  void releasingEverythingThenAppendingAgainWorks() {
    SegmentedLog log = filled(16, 32);
    assertEquals(32, log.releaseBefore(1000));
    assertEquals(0, log.retainedMessages());
    assertEquals(0, log.segmentCount());
    assertEquals(33, log.firstSequence());
    log.append(at(33, 33));
    assertEquals(33, log.get(33).sequence());
    assertEquals(1, log.segmentCount());
  }

  @Test
  void theRingGrowsAndWrapsWithoutLosingRetainedMessages() {
    SegmentedLog log = filled(16, 16 * 20); // far past the initial ring of 4 segments
    log.releaseBefore(16 * 15 + 1);
    for (int i = 16 * 20 + 1; i <= 16 * 40; i++) {
      log.append(at(i, i));
    }
    for (long s = 16 * 15 + 1; s <= 16 * 40; s++) {
      assertEquals(s, log.get(s).sequence());
    }
    assertNull(log.get(16 * 15));
  }

  @Test
  void removedMessagesLeaveTheirEpochUntilReleased() {
    SegmentedLog log = filled(16, 40);
    long bytes = log.retainedBytes();
    long one = log.get(1).sizeBytes();
    for (long s = 1; s <= 18; s++) {
      assertEquals(s, log.remove(s, 7).sequence());
    }
    assertNull(log.remove(3, 8), "removing twice removes nothing");
    assertEquals(20, log.remove(20, 8).sequence());
    assertNull(log.get(20));
    assertEquals(8, log.removedEpoch(20));
    assertEquals(7, log.removedEpoch(5));
    assertEquals(0, log.removedEpoch(21), "a retained message has no removal epoch");
    assertEquals(21, log.retainedMessages());
    assertEquals(bytes - 19 * one, log.retainedBytes());
    assertEquals(19, log.oldestSequence());
    assertEquals(1, log.firstSequence(), "slots stay until freed, so readers can tell removed from freed");

    assertEquals(0, log.releaseBefore(log.oldestSequence()), "all removed below 19: nothing live released");
    assertEquals(19, log.firstSequence());
    assertEquals(2, log.segmentCount(), "the removed-only first segment was freed");
    assertEquals(0, log.removedEpoch(5), "released slots carry no epoch");
    assertEquals(0, log.removedEpoch(18));
    assertEquals(8, log.removedEpoch(20), "past the watermark, a removal keeps its epoch");
  }

  @Test
  void retentionKeepsRecentMessages() {
    SegmentedLog log = filled(16, 48); // timestamps equal sequences
    assertEquals(20, log.releaseBefore(49, 20), "appended at 20 or earlier; 21 is newer");
    assertEquals(21, log.firstSequence());
    assertEquals(28, log.releaseBefore(49, 48));
    assertEquals(0, log.retainedMessages());
  }

  @Test
  void oldestSkipsRemovedMessages() {
    SegmentedLog log = filled(16, 40);
    for (long s = 1; s <= 35; s++) {
      log.remove(s, 1);
    }
    assertEquals(36, log.oldest().sequence());
    log.remove(36, 2);
    assertEquals(37, log.oldestSequence());
    for (long s = 37; s <= 40; s++) {
      log.remove(s, 3);
    }
    assertNull(log.oldest());
    assertEquals(41, log.oldestSequence());
  }

  @Test
  void findsTheFirstSequenceAtOrAfterATime() {
    SegmentedLog log = new SegmentedLog(16);
    long[] times = {10, 10, 20, 20, 20, 30, 40, 40};
    for (int i = 0; i < times.length; i++) {
      log.append(at(i + 1, times[i]));
    }
    assertEquals(1, log.firstSequenceAtOrAfter(5));
    assertEquals(1, log.firstSequenceAtOrAfter(10));
    assertEquals(3, log.firstSequenceAtOrAfter(11));
    assertEquals(6, log.firstSequenceAtOrAfter(25));
    assertEquals(7, log.firstSequenceAtOrAfter(40));
    assertEquals(9, log.firstSequenceAtOrAfter(41));
  }

  @Test
  void readersOnOtherThreadsSeeEveryPublishedMessage() throws Exception {
    SegmentedLog log = new SegmentedLog(64);
    int total = 200_000;
    AtomicReference<String> problem = new AtomicReference<>();
    List<Thread> readers = new ArrayList<>();
    for (int r = 0; r < 3; r++) {
      Thread t = new Thread(() -> {
        long checked = 0;
        while (checked < total && problem.get() == null) {
          long last = log.lastSequence();
          for (long s = checked + 1; s <= last; s++) {
            Message m = log.get(s);
            if (m == null || m.sequence() != s) {
              problem.set("sequence " + s + " read as " + m);
              return;
            }
          }
          checked = last;
        }
      });
      t.start();
      readers.add(t);
    }
    Message[] batch = new Message[100];
    for (int i = 1; i <= total; i += 100) {
      for (int j = 0; j < 100; j++) {
        batch[j] = at(i + j, i + j);
      }
      log.appendAll(batch, 100);
    }
    for (Thread t : readers) {
      t.join(30_000);
    }
    assertNull(problem.get());
  }

  @Test
  void restoreKeepsGapsAsGoneAndGoesOnAfterTheLastSequence() {
    SegmentedLog log = new SegmentedLog(16);
    log.restore(List.of(at(5, 1), at(6, 2), at(20, 3)), 25);
    assertEquals(5, log.firstSequence());
    assertEquals(25, log.lastSequence());
    assertEquals(26, log.nextSequence(), "sequences are never reused");
    assertEquals(3, log.retainedMessages());
    assertNotNull(log.get(6));
    assertNull(log.get(7), "removed before the restart");
    assertEquals(0, log.removedEpoch(7), "a gap reads as gone, not as a removal still to be told of");
    assertEquals(5, log.oldestSequence());
    log.append(at(26, 4));
    assertEquals(26, log.lastSequence());
    assertEquals(2, log.releaseBefore(17), "sequences 5 and 6 released");
    assertEquals(2, log.retainedMessages());
    assertEquals(17, log.firstSequence());
  }

  @Test
  void restoreRefusesOutOfOrderInputAndAFilledLog() {
    assertThrows(IllegalArgumentException.class, () -> new SegmentedLog(16).restore(List.of(at(3, 1), at(2, 1)), 5));
    assertThrows(IllegalArgumentException.class, () -> new SegmentedLog(16).restore(List.of(at(9, 1)), 5));
    SegmentedLog used = new SegmentedLog(16);
    used.append(at(1, 1));
    assertThrows(IllegalStateException.class, () -> used.restore(List.of(), 3));
  }

  @Test
  void messagesDroppedBeforeJoiningTheLogReadAsRemovedAndOldestSkipsThem() {
    SegmentedLog log = filled(16, 5);
    for (long seq = 1; seq <= 5; seq++) {
      log.remove(seq, 1);
    }
    assertEquals(0, log.releaseBefore(log.oldestSequence()));
    for (long seq = 6; seq <= 20; seq++) {
      log.appendRemoved(seq, 2);
    }
    Message[] batch = new Message[10];
    for (int i = 0; i < 10; i++) {
      batch[i] = at(21 + i, 21 + i);
    }
    log.appendAll(batch, 0, 10);
    assertEquals(30, log.lastSequence());
    assertEquals(2, log.removedEpoch(6));
    assertNull(log.get(20));
    assertEquals(21, log.oldestSequence());
    assertEquals(0, log.releaseBefore(log.oldestSequence()));
    assertEquals(10, log.retainedMessages());
    assertEquals(21, log.firstSequence());
  }

  @Test
  void oldestFindsMessagesAppendedToASegmentWhoseEarlierMessagesWereAllRemoved() {
    SegmentedLog log = filled(16, 5);
    for (long seq = 1; seq <= 5; seq++) {
      log.remove(seq, 1);
    }
    assertNull(log.oldest());
    log.append(at(6, 6));
    assertEquals(6, log.oldestSequence());
    assertEquals(0, log.releaseBefore(log.oldestSequence()), "the new message is not released");
    assertEquals(1, log.retainedMessages());
  }
}
