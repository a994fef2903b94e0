package dev.spool.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.spool.Compression;
import dev.spool.Message;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * A queue deleted while writes of its segments are under way (it stopped with them in flight): a
 * write that commits after the deletion must not leave its row behind.
 */
class SegmentStorageDeletionTest {

  /** Each write commits only when the test lets it. */
  private static final class HeldStore extends MapSegmentStore {
    final List<CompletableFuture<Void>> held = new CopyOnWriteArrayList<>();
    final List<SegmentRow> pending = new CopyOnWriteArrayList<>();

    @Override
    public CompletionStage<Void> write(SegmentRow row) {
      CompletableFuture<Void> commit = new CompletableFuture<>();
      pending.add(row);
      held.add(commit);
      return commit;
    }

    /** Commits the {@code i}th write held. */
    void commit(int i) {
      super.write(pending.get(i));
      held.get(i).complete(null);
    }
  }

  private static List<Message> segment(long first) {
    List<Message> messages = new ArrayList<>();
    Message previous = null;
    for (int i = 0; i < 4; i++) {
      previous = Message.of("t", new byte[1024]).appended(first + i, 1_700_000_000_000L, "p", 0L, previous);
      messages.add(previous);
    }
    return messages;
  }

  @Test
  void writesCommittingAfterTheQueuesDeletionLeaveNoRow() throws Exception {
    HeldStore store = new HeldStore();
    SegmentStorage storage = new SegmentStorage(store, new SegmentCodec(SegmentCodecTest.ring("")), Runnable::run, 4,
        1 << 20, 0, 1 << 20);
    CompletionStage<Void> first = storage.write("orders~1", 0, segment(1), Compression.NONE, null);
    CompletionStage<Void> second = storage.write("orders~1", 1, segment(5), Compression.NONE, null);
    CompletionStage<Void> other = storage.write("billing~1", 0, segment(1), Compression.NONE, null);
    storage.deleteQueue("orders~1").toCompletableFuture().get();
    assertEquals(1, store.deletions);

    store.commit(0);
    first.toCompletableFuture().get();
    assertEquals(1, store.rows.keySet().stream().filter(k -> k.startsWith("orders~1/")).count(),
        "one write still under way: the rows go when it ends");
    store.commit(1);
    second.toCompletableFuture().get();
    assertEquals(0, store.rows.keySet().stream().filter(k -> k.startsWith("orders~1/")).count(),
        "deleted again after the last write under way");
    assertEquals(2, store.deletions);

    store.commit(2);
    other.toCompletableFuture().get();
    assertEquals(1, store.rows.size(), "another queue's row stays");
    assertEquals(2, store.deletions, "a queue without writes under way is not deleted again");
  }
}
