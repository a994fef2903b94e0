package dev.spool.consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.durable.ConsumerPosition;
import dev.spool.log.ConsumerCursor;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PositionJournalTest {

  @Test
  void onAQueueWithoutJournalEveryAnswerGoesAtOnce() {
    PositionJournal journal = new PositionJournal(1, 4);
    assertFalse(journal.changed(42, true), "nothing to journal");
    assertTrue(journal.stored());
    assertEquals(0, journal.version());
  }

  @Test
  void onePositionIsInFlightAndTheNextGoesWhenItIsStored() {
    PositionJournal journal = new PositionJournal(1, 4);
    journal.journaled(1);
    assertTrue(journal.changed(10, false), "the first change is sent");
    journal.send(new ConsumerCursor(1), true, false);
    assertFalse(journal.changed(10, false), "an unchanged position is not journaled again");
    assertFalse(journal.changed(11, false), "a second change waits for the first write");
    assertEquals(2, journal.version());
    assertTrue(journal.saved(1), "version 2 is still to be sent");
    assertFalse(journal.saved(2));
    assertFalse(journal.resend(), "nothing newer than what is stored");
    assertTrue(journal.changed(11, true), "forced: a pause is journaled even when the counts did not move");
  }

  @Test
  void answersWaitForTheVersionThatIncludesThemInOrder() {
    PositionJournal journal = new PositionJournal(1, 4);
    journal.journaled(1);
    List<String> answered = new ArrayList<>();
    journal.changed(1, false);
    assertFalse(journal.stored());
    assertTrue(journal.hold(() -> answered.add("ack-1")));
    journal.changed(2, false);
    assertTrue(journal.hold(() -> answered.add("ack-2")));
    journal.saved(1);
    assertEquals(List.of("ack-1"), answered, "version 2 is not stored yet");
    assertTrue(journal.resend(), "its write failed: send version 2 again");
    journal.saved(2);
    assertEquals(List.of("ack-1", "ack-2"), answered);
    assertTrue(journal.stored());
  }

  @Test
  void waitingAnswersAreBounded() {
    PositionJournal journal = new PositionJournal(1, 3);
    journal.journaled(1);
    journal.changed(1, false);
    List<Integer> answered = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      int n = i;
      assertTrue(journal.hold(() -> answered.add(n)));
    }
    assertFalse(journal.hold(() -> answered.add(99)), "beyond the bound the caller is refused, holding nothing");
    assertEquals(3, journal.waiting());
    journal.saved(1);
    assertEquals(List.of(0, 1, 2), answered);
  }

  @Test
  void theQueueIsToldOncePerSegmentAndWhenTheWatermarkMovesBack() {
    PositionJournal journal = new PositionJournal(1, 4);
    int shift = 4; // 16 per segment
    assertFalse(journal.progressed(5, false, shift));
    assertEquals(5, journal.needFrom(), "the need is published at once, without telling");
    assertFalse(journal.progressed(16, false, shift));
    assertTrue(journal.progressed(17, false, shift), "crossed into the second segment");
    assertFalse(journal.progressed(20, false, shift));
    assertTrue(journal.progressed(3, false, shift), "a seek back must hold what it needs again");
    assertTrue(journal.progressed(3, true, shift));
  }

  @Test
  void theSentPositionCarriesWhatIsUnsettledAndThePause() {
    PositionJournal journal = new PositionJournal(1, 4);
    journal.journaled(1);
    ConsumerCursor cursor = new ConsumerCursor(1);
    long batch = cursor.newBatch();
    cursor.delivered(1, 1, batch, 0);
    cursor.delivered(2, 1, batch, 0);
    cursor.skipTo(3);
    cursor.ack(1, b -> { });
    ConsumerPosition position = journal.send(cursor, true, true);
    assertEquals(3, position.next());
    assertArrayEquals(new long[] {2}, position.unsettled());
    assertArrayEquals(new int[] {1}, position.attempts());
    assertTrue(position.paused());
    assertEquals(0, journal.send(cursor, false, false).unsettled().length, "ack mode none holds nothing");
  }
}
