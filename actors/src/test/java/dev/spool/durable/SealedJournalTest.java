package dev.spool.durable;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.Message;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What a persistent queue's journal keeps once its sealed segments are stored in rows. */
class SealedJournalTest {

  private static List<Message> kib(long from, int count) {
    List<Message> out = new ArrayList<>();
    for (long s = from; s < from + count; s++) {
      out.add(Message.of("t", new byte[1024]).appended(s, 1000 + s, "p"));
    }
    return out;
  }

  private static QueueEvent publish(long writeId, List<Message> messages) {
    return new QueueEvent(writeId, messages, List.of(), List.of(), Map.of(), new long[0], 0);
  }

  private static QueueEvent change(long writeId, long[] removed, long freedBelow, long sealedThrough) {
    return new QueueEvent(writeId, List.of(), List.of(), List.of(), Map.of(), removed, freedBelow, sealedThrough,
        null);
  }

  @Test
  void whatIsSealedLeavesTheJournalsStateSoSnapshotsHoldOnlyTheTail() {
    JournalState state = new JournalState(60_000, 1000);
    state.apply(publish(1, kib(1, 3000)));
    long before = state.snapshotBytes();
    state.apply(change(2, new long[] {500, 2500}, 0, 2048));

    QueueSnapshot snapshot = state.snapshot(null);
    assertEquals(3000 - 2048 - 1, snapshot.messages().size(), "the tail, less the removed 2500");
    assertEquals(2049, snapshot.messages().get(0).sequence());
    assertEquals(2048, snapshot.sealedThrough());
    assertArrayEquals(new long[] {500}, snapshot.removed(), "removed in storage, left out at recovery");
    assertEquals(3000, snapshot.lastSequence());
    assertTrue(state.snapshotBytes() < before / 2, state.snapshotBytes() + " of " + before);

    state.apply(change(3, new long[0], 1000, 0));
    assertEquals(0, state.snapshot(null).removed().length, "freed: forgotten");
    assertEquals(1000, state.snapshot(null).freedBelow());
  }

  @Test
  void recoveryFromASnapshotKeepsWhatIsSealedAndWhatIsFreed() throws Exception {
    JournalState state = new JournalState(60_000, 1000);
    state.apply(publish(1, kib(1, 2100)));
    state.apply(change(2, new long[] {7}, 5, 1024));
    QueueSnapshot snapshot = state.snapshot(null);

    JournalSerializer serializer = new JournalSerializer();
    QueueSnapshot read = (QueueSnapshot) serializer.fromBinary(serializer.toBinary(snapshot),
        serializer.manifest(snapshot));
    JournalState recovered = state.fresh().of(read);
    assertEquals(1024, recovered.sealedThrough);
    assertEquals(5, recovered.freedBelow);
    assertArrayEquals(new long[] {7}, recovered.removedSealed());
    recovered.apply(publish(3, kib(2101, 10)));
    recovered.apply(change(4, new long[0], 0, 2048));
    assertEquals(2110 - 2048, recovered.live().size());
  }

  @Test
  void moreSealedRemovalsThanTailMessagesStillSnapshotAndRecover() {
    JournalState state = new JournalState(60_000, 1000);
    state.apply(publish(1, kib(1, 1025)));
    // segment 0 stored; 3 of its messages evicted while a consumer holds sequence 1
    state.apply(change(2, new long[] {10, 11, 12}, 0, 1024));
    org.junit.jupiter.api.Assertions.assertDoesNotThrow(() -> state.snapshot(null), "a 1-message tail");
    assertEquals(1, state.live().size());
  }
}
