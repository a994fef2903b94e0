package dev.spool.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.Compression;
import dev.spool.Message;
import dev.spool.log.SegmentedLog;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

/**
 * Reading stored segments back stays within the read budget: a segment larger than it is refused
 * with what to do, reads that would pass it wait for those under way, and a read ahead is skipped
 * rather than waiting. Segments of 4 messages of 64 KiB (256 KiB each).
 */
class SegmentReadBudgetTest {

  private static final int SEGMENT = 4;
  private static final long SEGMENT_BYTES = 4 * 64 * 1024;

  /** Reads answered only when the test lets them. */
  private static final class GatedStore extends MapSegmentStore {
    final List<Long> reads = new CopyOnWriteArrayList<>();
    final List<CompletableFuture<Void>> pending = new CopyOnWriteArrayList<>();

    @Override
    public CompletionStage<SegmentRow> read(String queueId, long segment) {
      reads.add(segment);
      CompletableFuture<Void> answer = new CompletableFuture<>();
      pending.add(answer);
      return answer.thenCompose(ignored -> super.read(queueId, segment));
    }

    /** Answers the {@code i}th read. */
    void answer(int i) {
      pending.get(i).complete(null);
    }
  }

  private static List<Message> segment(long number) {
    List<Message> messages = new ArrayList<>();
    Message previous = null;
    for (int i = 0; i < SEGMENT; i++) {
      long sequence = number * SEGMENT + i + 1;
      previous = Message.of("t", new byte[64 * 1024]).appended(sequence, 1_700_000_000_000L, "p", 0L, previous);
      messages.add(previous);
    }
    return messages;
  }

  /**
   * A storage whose read budget holds one and a half segments and whose cache holds two, with four
   * stored segments of queue "q".
   */
  private static SegmentStorage storage(GatedStore store) throws Exception {
    SegmentStorage storage = new SegmentStorage(store, new SegmentCodec(SegmentCodecTest.ring("")), Runnable::run,
        SEGMENT, SEGMENT_BYTES * 5 / 2, 0, SEGMENT_BYTES * 3 / 2);
    for (long s = 0; s < 4; s++) {
      storage.write("q", s, segment(s), Compression.NONE, null).toCompletableFuture().get();
    }
    return storage;
  }

  @Test
  void readsThatWouldPassTheBudgetWaitForThoseUnderWay() throws Exception {
    GatedStore store = new GatedStore();
    SegmentedLog.ColdReader reader = storage(store).reader("q");
    CompletableFuture<Message[]> first = reader.read(0, SEGMENT_BYTES, false).toCompletableFuture();
    CompletableFuture<Message[]> second = reader.read(1, SEGMENT_BYTES, false).toCompletableFuture();
    assertEquals(List.of(0L), store.reads, "the second waits: both would pass the budget");
    assertNull(reader.read(2, SEGMENT_BYTES, true).toCompletableFuture().get(), "a read ahead is skipped");
    assertEquals(List.of(0L), store.reads);

    store.answer(0);
    assertEquals(SEGMENT, first.get().length);
    assertEquals(List.of(0L, 1L), store.reads, "the first ended: the second starts");
    store.answer(1);
    assertEquals(5, second.get()[0].sequence());
    CompletableFuture<Message[]> third = reader.read(2, SEGMENT_BYTES, false).toCompletableFuture();
    assertEquals(SEGMENT, reader.read(0, SEGMENT_BYTES, false).toCompletableFuture().get().length,
        "a segment in the cache is answered at once, whatever is being read");
    assertEquals(List.of(0L, 1L, 2L), store.reads);
    store.answer(2);
    assertEquals(9, third.get()[0].sequence());
  }

  @Test
  void aSegmentLargerThanTheWholeBudgetIsRefusedSayingWhatToDo() throws Exception {
    GatedStore store = new GatedStore();
    SegmentedLog.ColdReader reader = storage(store).reader("q");
    ExecutionException refused = assertThrows(ExecutionException.class,
        () -> reader.read(3, SEGMENT_BYTES * 2, false).toCompletableFuture().get());
    assertTrue(refused.getCause() instanceof SegmentStorage.SegmentTooLargeException, String.valueOf(refused));
    assertTrue(refused.getCause().getMessage().contains("spool.segment-size"), refused.getCause().getMessage());
    assertEquals(List.of(), store.reads, "nothing read");
    // and the budget is whole for the next read
    CompletableFuture<Message[]> next = reader.read(2, SEGMENT_BYTES, false).toCompletableFuture();
    store.answer(0);
    assertEquals(SEGMENT, next.get().length);
  }
}
