package dev.spool.durable;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.spool.Message;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * What a recovery applies of writes that were under way together: a write handed out while the
 * one it follows was under way does not apply when that one is missing (the queue was told it was
 * not stored, and may have handed its sequences out again); one handed out after its predecessor
 * was confirmed applies even when the predecessor is missing (lost with a damaged file, as
 * RecoverJournal leaves it); writes journaled before chaining always apply.
 */
class ChainedWritesTest {

  private static Message kib(long sequence) {
    return Message.of("t", new byte[1024]).appended(sequence, 1_000 + sequence, "p");
  }

  /** Write {@code id} with one message, {@code sequence}. */
  private static QueueEvent write(long id, long sequence, long follows, long confirmed) {
    return new QueueEvent(id, List.of(kib(sequence)), List.of(), List.of(), Map.of(), new long[0], 0, 0, null,
        follows, confirmed);
  }

  private static List<Long> sequences(JournalState state) {
    return state.live().stream().map(Message::sequence).toList();
  }

  @Test
  void aWriteUnderWayBesideOneNotStoredDoesNotApplyAndTheWritesAfterTheRecoveryDo() {
    JournalState state = new JournalState(60_000, 1000);
    state.replay(write(1, 1, 0, 0));
    // Write 2 failed; write 3, handed out while 2 was under way, was stored anyway.
    state.replay(write(3, 3, 2, 1));
    assertEquals(1, state.lastWriteId);
    // After the recovery, the queue handed sequence 2 out again, in write 4, which follows write 1.
    state.replay(write(4, 2, 1, 1));
    state.replay(write(5, 3, 4, 4));

    assertEquals(List.of(1L, 2L, 3L), sequences(state), "no sequence twice; write 3's message is not there");
    assertEquals(5, state.lastWriteId);
  }

  @Test
  void aChainOfWritesAfterAMissingOneDoesNotApplyWhileEachWasHandedOutBeforeItsPredecessorWasStored() {
    JournalState state = new JournalState(60_000, 1000);
    state.replay(write(1, 1, 0, 0));
    state.replay(write(3, 3, 2, 1)); // 2 missing, 3 under way with it
    state.replay(write(4, 4, 3, 1)); // under way with 2 and 3 (four writes in flight)

    assertEquals(List.of(1L), sequences(state));
    assertEquals(1, state.lastWriteId, "the recovery tells the queue: writes 2 to 4 not stored");
  }

  @Test
  void aWriteWhosePredecessorWasConfirmedAppliesEvenWhenThatOneIsMissing() {
    JournalState state = new JournalState(60_000, 1000);
    state.replay(write(1, 1, 0, 0));
    // Write 2 was stored and confirmed, then lost with a damaged page; write 3 was handed out after.
    state.replay(write(3, 3, 2, 2));
    state.replay(write(4, 4, 3, 2)); // under way while 3 was: 3 is there

    assertEquals(List.of(1L, 3L, 4L), sequences(state));
    assertEquals(4, state.lastWriteId);
  }

  @Test
  void writesJournaledBeforeChainingApplyWhateverTheirIds() {
    JournalState state = new JournalState(60_000, 1000);
    state.replay(new QueueEvent(1, List.of(kib(1)), List.of(), List.of(), Map.of(), new long[0], 0));
    // A write that failed took id 2 with it: the next stored one was 3.
    state.replay(new QueueEvent(3, List.of(kib(2)), List.of(), List.of(), Map.of(), new long[0], 0));
    state.replay(write(4, 3, 3, 3)); // the first chained write after an upgrade

    assertEquals(List.of(1L, 2L, 3L), sequences(state));
    assertEquals(4, state.lastWriteId);
  }

  @Test
  void theChainSurvivesTheBinaryFormat() throws Exception {
    JournalSerializer serializer = new JournalSerializer();
    QueueEvent e = write(9, 9, 8, 7);
    QueueEvent read = (QueueEvent) serializer.fromBinary(serializer.toBinary(e), serializer.manifest(e));

    assertEquals(8, read.follows());
    assertEquals(7, read.confirmed());
    assertEquals(List.of(9L), read.messages().stream().map(Message::sequence).toList());
  }
}
