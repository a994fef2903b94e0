package dev.spool.journal;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The store's writer: group commit, a bounded queue, one failed write rolled back alone. */
class SqliteStoreTest {

  private static SqliteStore store(Path dir, int maxQueuedWrites) {
    return new SqliteStore(new SqliteSettings(dir.resolve("j.db"), "FULL", Duration.ofSeconds(5), maxQueuedWrites,
        100, 1000, 1024 * 1024, Duration.ofSeconds(1), 1024, 64L << 20));
  }

  private static CompletableFuture<Void> insert(SqliteStore store, String pid, long seq) {
    return store.write(c -> {
      try (PreparedStatement p = c.prepareStatement("INSERT INTO journal VALUES (?, ?, 'w', 0, '', 4, '', ?)")) {
        p.setString(1, pid);
        p.setLong(2, seq);
        p.setBytes(3, new byte[1024]);
        p.executeUpdate();
      }
      return null;
    });
  }

  @Test
  void writesWaitingTogetherShareOneCommitAndAFailedOneIsRolledBackAlone(@TempDir Path dir) throws Exception {
    try (SqliteStore store = store(dir, 1000)) {
      insert(store, "warm", 1).get(10, TimeUnit.SECONDS); // opens the file
      CountDownLatch hold = new CountDownLatch(1);
      CompletableFuture<Void> holding = store.write(c -> {
        hold.await(10, TimeUnit.SECONDS);
        return null;
      });
      long before = store.commits();
      List<CompletableFuture<Void>> writes = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        writes.add(insert(store, "q-" + i, 1));
      }
      CompletableFuture<Void> duplicate = insert(store, "q-7", 1);
      hold.countDown();
      holding.get(10, TimeUnit.SECONDS);
      for (CompletableFuture<Void> w : writes) {
        w.get(10, TimeUnit.SECONDS);
      }
      ExecutionException failed = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
          () -> duplicate.get(10, TimeUnit.SECONDS));
      assertTrue(failed.getCause().getMessage().contains("UNIQUE"), failed.getCause().getMessage());
      long commits = store.commits() - before;
      assertTrue(commits <= 2, "200 waiting writes took " + commits + " commits");
      long rows = store.read(c -> {
        try (PreparedStatement p = c.prepareStatement("SELECT count(*) FROM journal WHERE persistence_id LIKE 'q-%'");
            ResultSet rs = p.executeQuery()) {
          rs.next();
          return rs.getLong(1);
        }
      }).get(10, TimeUnit.SECONDS);
      assertEquals(200, rows, "every write but the failed one is stored");
    }
  }

  @Test
  void aFullQueueRefusesAtOnceInsteadOfGrowing(@TempDir Path dir) throws Exception {
    try (SqliteStore store = store(dir, 10)) {
      insert(store, "warm", 1).get(10, TimeUnit.SECONDS);
      CountDownLatch hold = new CountDownLatch(1);
      CountDownLatch holding = new CountDownLatch(1);
      CompletableFuture<Void> held = store.write(c -> {
        holding.countDown();
        hold.await(10, TimeUnit.SECONDS);
        return null;
      });
      holding.await(10, TimeUnit.SECONDS); // the writer took it: the queue is empty
      List<CompletableFuture<Void>> accepted = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        accepted.add(insert(store, "q", i + 1));
      }
      CompletableFuture<Void> refused = insert(store, "q", 11);
      assertTrue(refused.isCompletedExceptionally(), "refused without waiting");
      ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class, refused::get);
      assertInstanceOf(JournalUnavailableException.class, e.getCause());
      hold.countDown();
      held.get(10, TimeUnit.SECONDS);
      for (CompletableFuture<Void> w : accepted) {
        w.get(10, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void theSnapshotThreadWaitsForRoomInAFullQueueInsteadOfFailing(@TempDir Path dir) throws Exception {
    try (SqliteStore store = store(dir, 10)) {
      insert(store, "warm", 1).get(10, TimeUnit.SECONDS);
      CountDownLatch hold = new CountDownLatch(1);
      CountDownLatch holding = new CountDownLatch(1);
      CompletableFuture<Void> held = store.write(c -> {
        holding.countDown();
        hold.await(10, TimeUnit.SECONDS);
        return null;
      });
      holding.await(10, TimeUnit.SECONDS);
      List<CompletableFuture<Void>> accepted = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        accepted.add(insert(store, "q", i + 1));
      }
      assertTrue(insert(store, "q", 11).isCompletedExceptionally(), "the queue is full");
      CompletableFuture<Long> chunk = store.snapshot(() -> store.writeWhenRoom(c -> 42L).get(10, TimeUnit.SECONDS));
      // it keeps waiting for room rather than failing
      await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2)).until(() -> !chunk.isDone());
      hold.countDown();
      assertEquals(42L, chunk.get(10, TimeUnit.SECONDS));
      held.get(10, TimeUnit.SECONDS);
      for (CompletableFuture<Void> w : accepted) {
        w.get(10, TimeUnit.SECONDS);
      }
    }
  }
}
