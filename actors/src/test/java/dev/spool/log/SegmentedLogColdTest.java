package dev.spool.log;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.Message;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.Test;

/** Cold segments: stored, dropped from the heap, read back, and accounted without their content. */
class SegmentedLogColdTest {

  private static final int SEGMENT = 16;

  /** A stand-in store: what was cooled, by segment, handed back by slot on load (counting loads). */
  private static final class Reader implements SegmentedLog.ColdReader {
    final Map<Long, Message[]> stored = new HashMap<>();
    final List<Long> loads = new ArrayList<>();
    CompletableFuture<Message[]> pending;

    void keep(SegmentedLog log, long segment) {
      Message[] slots = new Message[SEGMENT];
      for (Message m : log.hotMessages(segment)) {
        slots[(int) ((m.sequence() - 1) % SEGMENT)] = m;
      }
      stored.put(segment, slots);
    }

    @Override
    public CompletionStage<Message[]> read(long segment, long bytes, boolean ahead) {
      loads.add(segment);
      if (pending != null) {
        return pending;
      }
      return CompletableFuture.completedFuture(stored.get(segment).clone());
    }
  }

  private static Message kib(long sequence, long timestamp) {
    byte[] payload = new byte[1024];
    new Random(sequence).nextBytes(payload);
    return Message.of("order", payload).appended(sequence, timestamp, "p");
  }

  private static SegmentedLog filled(int count, Reader reader) {
    SegmentedLog log = new SegmentedLog(SEGMENT);
    log.attach(reader);
    for (int i = 1; i <= count; i++) {
      log.append(kib(i, 1000 + i));
    }
    return log;
  }

  /** Stores and cools {@code segment}; returns the bytes it gave back. */
  private static long storeAndCool(SegmentedLog log, Reader reader, long segment) {
    reader.keep(log, segment);
    log.markStored(segment);
    return log.cool(segment);
  }

  @Test
  void aCooledSegmentKeepsItsAccountingButGivesItsContentBackToTheHeap() {
    Reader reader = new Reader();
    SegmentedLog log = filled(40, reader);
    long retained = log.retainedBytes();
    long size = kib(1, 1).sizeBytes();
    assertEquals(retained, log.heldBytes());

    long freed = storeAndCool(log, reader, 0);

    assertEquals(SEGMENT * (size - SegmentedLog.COLD_BYTES), freed);
    assertEquals(retained, log.retainedBytes(), "maxBytes still counts what is in storage");
    assertEquals(40, log.retainedMessages());
    assertEquals(SEGMENT, log.coldMessages());
    assertEquals(retained - freed, log.heldBytes());
    for (long s = 1; s <= SEGMENT; s++) {
      assertNull(log.get(s), "not loaded");
      assertTrue(log.cold(s));
      assertEquals(1000 + s, log.appendedAt(s), "the append time stays in the heap");
    }
    assertFalse(log.cold(SEGMENT + 1));
    assertNotNull(log.get(SEGMENT + 1));
  }

  @Test
  void onlyAStoredSealedSegmentCools() {
    Reader reader = new Reader();
    SegmentedLog log = filled(20, reader);
    assertEquals(0, log.cool(0), "not stored");
    log.markStored(1);
    assertFalse(log.sealed(1));
    assertEquals(0, log.cool(1), "the tail segment is still appended to");
    assertNotNull(log.get(17));
  }

  @Test
  void aLoadedSegmentReadsBackExactlyAndTheNextColdOnesAreLoadedAhead() throws Exception {
    Reader reader = new Reader();
    SegmentedLog log = filled(64, reader);
    List<Message> original = log.hotMessages(0);
    for (long segment = 0; segment < 3; segment++) {
      storeAndCool(log, reader, segment);
    }

    Message[] loaded = log.load(5, 2).toCompletableFuture().get();

    assertEquals(List.of(0L, 1L, 2L), reader.loads.stream().sorted().toList(), "segment 0 and two ahead");
    for (Message m : original) {
      Message back = log.get(m.sequence());
      assertSame(loaded[(int) (m.sequence() - 1)], back);
      assertArrayEquals(m.payload(), back.payload());
      assertEquals(m.id(), back.id());
    }
    assertNull(log.load(SEGMENT * 3 + 1, 0).toCompletableFuture().get(), "a hot segment needs no load");
  }

  @Test
  void aLoadedSegmentIsNotLoadedAgainWhileItIsHeld() throws Exception {
    Reader reader = new Reader();
    SegmentedLog log = filled(32, reader);
    storeAndCool(log, reader, 0);
    Message[] held = log.load(1, 0).toCompletableFuture().get();
    assertSame(held, log.load(2, 0).toCompletableFuture().get());
    assertEquals(1, reader.loads.size());
  }

  @Test
  void releasingAndRemovingColdMessagesGivesBackWhatTheyHeldAndRemovalsCarryTheirPlaceholders() {
    Reader reader = new Reader();
    SegmentedLog log = filled(48, reader);
    long size = kib(1, 1).sizeBytes();
    storeAndCool(log, reader, 0);
    storeAndCool(log, reader, 1);
    long held = log.heldBytes();

    Message removed = log.remove(20, 7);
    assertEquals(20, removed.sequence());
    assertEquals(size, removed.sizeBytes(), "a placeholder carries the size that was accounted");
    assertEquals(1020, removed.timestamp());
    assertEquals(held - SegmentedLog.COLD_BYTES, log.heldBytes());
    assertEquals(7, log.removedEpoch(20));
    assertFalse(log.cold(20));

    assertEquals(2 * SEGMENT - 1, log.coldMessages(), "a removed message is not cold any more");
    assertEquals(10, log.releaseBefore(11));
    assertEquals(2 * SEGMENT - 11, log.coldMessages());
    assertEquals(held - 11L * SegmentedLog.COLD_BYTES, log.heldBytes());
    assertEquals(48 - 11, log.retainedMessages());
    assertEquals((48 - 11) * size, log.retainedBytes());

    Message oldest = log.oldest();
    assertEquals(11, oldest.sequence(), "the oldest is cold: its placeholder");
    assertEquals(1011, oldest.timestamp());
  }

  @Test
  void retentionByAgeStopsAtTheFirstColdMessageTooYoung() {
    Reader reader = new Reader();
    SegmentedLog log = filled(40, reader);
    storeAndCool(log, reader, 0);
    assertEquals(5, log.releaseBefore(40, 1005));
    assertEquals(6, log.firstSequence());
  }

  @Test
  void aTimeStartFindsColdMessages() {
    Reader reader = new Reader();
    SegmentedLog log = filled(64, reader);
    storeAndCool(log, reader, 0);
    storeAndCool(log, reader, 1);
    assertEquals(7, log.firstSequenceAtOrAfter(1007));
    assertEquals(33, log.firstSequenceAtOrAfter(1033));
  }

  @Test
  void aRecoveredLogStartsWithColdMessagesThenHotOnes() throws Exception {
    Reader reader = new Reader();
    SegmentedLog source = filled(40, reader);
    reader.keep(source, 0);
    reader.keep(source, 1);
    long size = kib(1, 1).sizeBytes();

    SegmentedLog log = new SegmentedLog(SEGMENT);
    log.attach(reader);
    for (long s = 3; s <= 32; s++) {
      if (s != 10) { // removed before the restart
        log.restoreCold(s, (int) size, 1000 + s);
      }
    }
    List<Message> hot = new ArrayList<>();
    for (long s = 33; s <= 40; s++) {
      hot.add(source.get(s));
    }
    log.restore(hot, 40);

    assertEquals(3, log.firstSequence());
    assertEquals(29 + 8, log.retainedMessages());
    assertEquals(29L * SegmentedLog.COLD_BYTES + 8 * size, log.heldBytes());
    assertTrue(log.cold(3));
    assertFalse(log.cold(10));
    assertNull(log.get(10));
    assertEquals(3, log.oldest().sequence());
    Message[] loaded = log.load(12, 0).toCompletableFuture().get();
    assertNotNull(loaded);
    assertArrayEquals(source.get(12).payload(), log.get(12).payload());
    assertSame(hot.get(0), log.get(33));
  }

  @Test
  void aLoadThatFailsFailsItsStageAndTheSlotStaysCold() {
    Reader reader = new Reader();
    SegmentedLog log = filled(32, reader);
    storeAndCool(log, reader, 0);
    reader.pending = CompletableFuture.failedFuture(new IllegalStateException("checksum mismatch"));
    assertTrue(log.load(3, 0).toCompletableFuture().isCompletedExceptionally());
    assertTrue(log.cold(3));
    assertNull(log.get(3));
  }

  @Test
  void coldMessagesCountAsRetainedUntilRemovedAndRestoredOnesToo() {
    Reader reader = new Reader();
    SegmentedLog log = filled(40, reader);
    storeAndCool(log, reader, 0);
    log.remove(3, 1);
    log.remove(20, 1);
    assertEquals(38, log.retainedFrom(1), "cold or hot, the ones not removed");
    assertEquals(36, log.retainedFrom(4), "4 to 40 less 20, 4 to 16 of them cold");

    SegmentedLog restored = new SegmentedLog(SEGMENT);
    for (long s = 1; s <= 16; s++) {
      if (s != 3) {
        restored.restoreCold(s, 1000, s);
      }
    }
    restored.restore(List.of(kib(18, 18), kib(19, 19)), 19);
    assertEquals(17, restored.retainedFrom(1));
    assertEquals(2, restored.retainedFrom(17));
  }
}
