package dev.spool.consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.SpoolException;
import dev.spool.durable.ConsumerPosition;
import dev.spool.log.ConsumerCursor;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.TestInbox;
import org.apache.pekko.pattern.StatusReply;
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
    assertTrue(journal.hold(() -> answered.add("ack-1"), e -> answered.add("refused")));
    journal.changed(2, false);
    assertTrue(journal.hold(() -> answered.add("ack-2"), e -> answered.add("refused")));
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
      assertTrue(journal.hold(() -> answered.add(n), e -> answered.add(-n)));
    }
    assertFalse(journal.hold(() -> answered.add(99), e -> answered.add(-99)), "beyond the bound the caller is refused, holding nothing");
    assertEquals(3, journal.waiting());
    journal.saved(1);
    assertEquals(List.of(0, 1, 2), answered);
  }

  @Test
  void answersStillWaitingWhenTheConsumerStopsAreRefusedOnceEach() {
    PositionJournal journal = new PositionJournal(1, 4);
    journal.journaled(1);
    List<String> answered = new ArrayList<>();
    journal.changed(1, false);
    assertTrue(journal.hold(() -> answered.add("ack-1"), e -> answered.add("ack-1 refused: " + e.code())));
    journal.changed(2, false);
    assertTrue(journal.hold(() -> answered.add("seek"), e -> answered.add("seek refused: " + e.code())));
    journal.saved(1);
    journal.refuseWaiting(new SpoolException.ConsumerNotFound("orders", "billing"));
    assertEquals(List.of("ack-1", "seek refused: ConsumerNotFound"), answered);
    assertEquals(0, journal.waiting());
    journal.saved(2);
    journal.refuseWaiting(new SpoolException.ShuttingDown());
    assertEquals(2, answered.size(), "each answer goes once");
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

  @Test
  void aFailedPositionWriteMakesTheCurrentPositionGoAgain() {
    ConsumerFixture f = ConsumerFixture.explicit(10, 4);
    PositionJournal journal = f.state.position();
    f.state.journaled(ConsumerFixture.T0, null, f.log);
    f.dispatcher.take(2, Subscribers.PULL_OWNER);
    f.settlements.ack(List.of(1L));
    assertEquals(List.of("1: next 3"), f.positions, "the first change goes at once");
    f.settlements.ack(List.of(2L));
    assertEquals(List.of("1: next 3"), f.positions, "one position in flight: the second waits");
    journal.resend(f.state, f);
    assertEquals(List.of("1: next 3", "2: next 3"), f.positions, "the write failed: the current position goes");
    journal.saved(2, f.state, f);
    journal.resend(f.state, f);
    journal.report(f.state, false, 4, f);
    assertEquals(2, f.positions.size(), "stored and unchanged: nothing to send again");
  }

  @Test
  void theQueueHearsOfProgressOncePerSegmentCrossed() {
    ConsumerFixture f = ConsumerFixture.explicit(40, 40);
    f.dispatcher.take(20, Subscribers.PULL_OWNER);
    f.settlements.ackUpTo(10);
    assertEquals(List.of(), f.progress, "still in the first segment of 16");
    assertEquals(11, f.state.needFrom(), "published at once all the same");
    f.settlements.ackUpTo(18);
    assertEquals(List.of(19L), f.progress);
    assertEquals(List.of(), f.positions, "a queue without journal journals nothing");
  }

  @Test
  void anAnswerBeyondTheBoundIsATimeoutSayingTheChangeIsApplied() {
    PositionJournal journal = new PositionJournal(1, 1);
    journal.journaled(1);
    journal.changed(1, false);
    TestInbox<StatusReply<String>> first = TestInbox.create();
    TestInbox<StatusReply<String>> second = TestInbox.create();
    journal.replyWhenDurable(first.getRef(), "acked", "orders", "billing", ConsumerFixture.TELL);
    journal.replyWhenDurable(second.getRef(), "acked", "orders", "billing", ConsumerFixture.TELL);
    assertFalse(first.hasMessages(), "waits for the journal");
    Throwable refused = second.receiveMessage().getError();
    assertTrue(refused instanceof SpoolException.Timeout);
    assertTrue(refused.getMessage().contains("consumer 'billing' of queue 'orders'"));
    assertTrue(refused.getMessage().contains("applied but not yet durable"));
    journal.saved(1);
    assertEquals("acked", first.receiveMessage().getValue());
  }
}
