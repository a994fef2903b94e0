package dev.spool.journal;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.sqlite.SQLiteConnection;
import org.slf4j.LoggerFactory;

/**
 * One SQLite journal file in WAL mode and the two threads that use it, shared by the journal
 * plugin and the snapshot store of an actor system ({@link SqliteStores}).
 *
 * <p>Threading: SQLite has one writer, so one writer thread owns the write connection and runs
 * every write; it takes all the writes waiting (from every queue's journal) into one transaction,
 * so many queues share one fsync (group commit), and completes their futures after the commit.
 * Each write runs inside a savepoint, so one that fails is rolled back alone. A reader thread owns
 * a read-only connection for replays and snapshot loads, which WAL lets run beside the writer. A
 * second reader thread, with its own read-only connection, reads sealed segments back
 * ({@link #readSegments}): a consumer behind its queue reads them continuously, and must not wait
 * behind the replay of a recovering queue, nor hold up recoveries with its megabytes. Every queue is
 * bounded: an operation that finds its queue full fails at once. No caller ever blocks.
 *
 * <p>A third thread serializes snapshots ({@link #snapshot}): a large one is written as a chunk
 * per write operation, so the writer commits other queues' writes between its chunks instead of
 * spending seconds on one transaction. That thread alone waits for room in the write queue
 * ({@link #writeWhenRoom}) and for its chunks to commit, so it holds a chunk or two in memory.
 *
 * <p>The file is opened lazily, by the first operation, and again after a failure
 * ({@link SqliteFile}): an operation that cannot open it fails with
 * {@link JournalUnavailableException} (naming the file and, if it is damaged, the recovery tool),
 * and the next one tries again.
 */
public final class SqliteStore implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(SqliteStore.class);

  /** Work on the database, run on the store's thread with its connection. */
  @FunctionalInterface
  public interface Work<T> {
    T run(Connection c) throws Exception;
  }

  private record Task<T>(Work<T> work, CompletableFuture<T> result) {
    void fail(Throwable t) {
      result.completeExceptionally(t);
    }

    @SuppressWarnings("unchecked")
    void complete(Object value) {
      result.complete((T) value);
    }
  }

  private static final Task<Void> STOP = new Task<>(c -> null, new CompletableFuture<>());

  /**
   * How long the snapshot thread waits for room in a full write queue before the snapshot fails:
   * the queue is full only while the writer is behind, and a snapshot can wait for it to catch up.
   */
  private static final long ROOM_WAIT_NANOS = TimeUnit.SECONDS.toNanos(60);

  private final SqliteSettings settings;
  private final SqliteFile file;
  private final BlockingQueue<Task<?>> writes;
  private final BlockingQueue<Task<?>> reads;
  private final BlockingQueue<Task<?>> segmentReads;
  private final Thread writer;
  private final Thread reader;
  private final Thread segmentReader;
  private final ThreadPoolExecutor snapshots;
  private volatile boolean closed;
  /** Readers inside a read: a checkpoint that truncates the WAL would wait for them. */
  private final AtomicInteger reading = new AtomicInteger();

  // the writer thread's
  private long lastMaintenance = System.nanoTime();
  private volatile long commits;

  /**
   * A store of the file {@code settings.path()}, opened by its first operation. One per file and
   * process: an actor system's come from {@link SqliteStores}, which shares them.
   */
  public SqliteStore(SqliteSettings settings) {
    this.settings = settings;
    this.file = new SqliteFile(settings);
    this.writes = new ArrayBlockingQueue<>(settings.maxQueuedWrites());
    this.reads = new ArrayBlockingQueue<>(settings.maxQueuedReads());
    this.segmentReads = new ArrayBlockingQueue<>(settings.maxQueuedReads());
    String name = settings.path().getFileName().toString();
    this.writer = new Thread(this::runWriter, "spool-sqlite-writer-" + name);
    this.reader = new Thread(() -> runReader(reads), "spool-sqlite-reader-" + name);
    this.segmentReader = new Thread(() -> runReader(segmentReads), "spool-sqlite-segment-reader-" + name);
    writer.setDaemon(true);
    reader.setDaemon(true);
    segmentReader.setDaemon(true);
    writer.start();
    reader.start();
    segmentReader.start();
    // One thread: a save finds no other in progress, so whatever a crashed or failed save left is
    // stale (see SqliteSnapshotStore); snapshots take turns, which the one writer imposes anyway.
    // A queue saves one snapshot at a time, so the write queue's bound fits the waiting ones too.
    this.snapshots = new ThreadPoolExecutor(1, 1, 0, TimeUnit.MILLISECONDS,
        new ArrayBlockingQueue<>(settings.maxQueuedWrites()), r -> {
          Thread t = new Thread(r, "spool-sqlite-snapshot-" + name);
          t.setDaemon(true);
          return t;
        });
  }

  public SqliteSettings settings() {
    return settings;
  }

  /** Transactions committed so far: each carries every write that was waiting. */
  public long commits() {
    return commits;
  }

  /** Runs {@code work} in the writer's next transaction; completes after the commit. */
  public <T> CompletableFuture<T> write(Work<T> work) {
    return submit(writes, work, "writes");
  }

  /** Runs {@code work} on the read-only connection. */
  public <T> CompletableFuture<T> read(Work<T> work) {
    return submit(reads, work, "reads");
  }

  /**
   * Runs {@code work} on the segment reader's read-only connection, which replays and snapshot
   * loads do not use: for the segment store, whose reads are frequent and large.
   */
  public <T> CompletableFuture<T> readSegments(Work<T> work) {
    return submit(segmentReads, work, "segment reads");
  }

  /**
   * Runs {@code work} on the store's snapshot thread, which may block: it serializes a snapshot
   * and waits for the writes of its chunks ({@link #writeWhenRoom}).
   */
  public <T> CompletableFuture<T> snapshot(Callable<T> work) {
    CompletableFuture<T> result = new CompletableFuture<>();
    if (closed) {
      result.completeExceptionally(closedException());
      return result;
    }
    try {
      snapshots.execute(() -> {
        try {
          if (closed) { // the ones still waiting when the store closes
            throw closedException();
          }
          result.complete(work.call());
        } catch (Throwable t) {
          result.completeExceptionally(t);
        }
      });
    } catch (RejectedExecutionException e) {
      result.completeExceptionally(closed ? closedException() : new JournalUnavailableException(settings.path(),
          "the journal " + settings.path() + " has " + snapshots.getQueue().size()
          + " snapshots waiting already; try again later", false, null));
    }
    return result;
  }

  /**
   * Like {@link #write}, but waits for room in a full write queue (while the store is open, for a
   * minute at most) rather than failing: for the snapshot thread, never for a caller that must
   * not block.
   */
  <T> CompletableFuture<T> writeWhenRoom(Work<T> work) throws InterruptedException {
    CompletableFuture<T> result = new CompletableFuture<>();
    Task<T> task = new Task<>(work, result);
    long deadline = System.nanoTime() + ROOM_WAIT_NANOS;
    while (true) {
      if (closed) {
        result.completeExceptionally(closedException());
        return result;
      }
      if (writes.offer(task, 100, TimeUnit.MILLISECONDS)) {
        if (closed && writes.remove(task)) {
          // closed meanwhile: the writer may have stopped already, and would never take it
          task.fail(closedException());
        }
        return result;
      }
      if (System.nanoTime() > deadline) {
        result.completeExceptionally(new JournalUnavailableException(settings.path(), "the journal "
            + settings.path() + " has had " + writes.size() + " writes waiting for a minute", false, null));
        return result;
      }
    }
  }

  private JournalUnavailableException closedException() {
    return new JournalUnavailableException(settings.path(), "the journal " + settings.path() + " is closed", false,
        null);
  }

  private <T> CompletableFuture<T> submit(BlockingQueue<Task<?>> queue, Work<T> work, String what) {
    CompletableFuture<T> result = new CompletableFuture<>();
    if (closed) {
      result.completeExceptionally(closedException());
    } else if (!queue.offer(new Task<>(work, result))) {
      result.completeExceptionally(new JournalUnavailableException(settings.path(), "the journal " + settings.path()
          + " has " + queue.size() + " " + what + " waiting already; try again later", false, null));
    }
    return result;
  }

  // ---- the writer

  private void runWriter() {
    Connection c = null;
    List<Task<?>> batch = new ArrayList<>();
    while (true) {
      Task<?> first;
      try {
        first = writes.poll(settings.maintenanceInterval().toMillis(), TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        break;
      }
      if (first == null || first == STOP) {
        if (closed) {
          break;
        }
        if (c != null) {
          c = maintain(c, true);
        }
        continue;
      }
      batch.clear();
      batch.add(first);
      writes.drainTo(batch, settings.maxBatch() - 1);
      boolean stop = batch.remove(STOP);
      try {
        if (c == null) {
          c = file.open(false);
        }
      } catch (JournalUnavailableException e) {
        batch.forEach(t -> t.fail(e));
        if (stop) {
          break;
        }
        continue;
      }
      c = commit(c, batch);
      if (stop) {
        break;
      }
      if (c != null) {
        c = maintain(c, false);
      }
    }
    failWaiting(writes);
    closeQuietly(c);
  }

  /** One transaction for the whole batch, a savepoint for each of its writes. Returns null if the connection is lost. */
  private Connection commit(Connection c, List<Task<?>> batch) {
    Object[] results = new Object[batch.size()];
    boolean[] failed = new boolean[batch.size()];
    try (Statement s = c.createStatement()) {
      s.execute("BEGIN IMMEDIATE");
      try {
        for (int i = 0; i < batch.size(); i++) {
          s.execute("SAVEPOINT work");
          try {
            results[i] = batch.get(i).work().run(c);
            s.execute("RELEASE work");
          } catch (Exception e) {
            if (e instanceof SQLException sql && SqliteFile.connectionLost(sql)) {
              throw sql;
            }
            s.execute("ROLLBACK TO work");
            s.execute("RELEASE work");
            failed[i] = true;
            batch.get(i).fail(e);
          }
        }
        s.execute("COMMIT");
        commits++; // only the writer thread writes it
      } catch (SQLException e) {
        rollbackQuietly(s);
        throw e;
      }
    } catch (SQLException e) {
      RuntimeException failure = file.translate(e);
      for (int i = 0; i < batch.size(); i++) {
        if (!failed[i]) {
          batch.get(i).fail(failure);
        }
      }
      log.warn("journal {}: a write failed, the connection is opened again: {}", settings.path(), e.getMessage());
      closeQuietly(c);
      return null;
    }
    for (int i = 0; i < batch.size(); i++) {
      if (!failed[i]) {
        batch.get(i).complete(results[i]);
      }
    }
    return c;
  }

  /**
   * Keeps the file proportional to what is retained: returns free pages (left by deletions) to the
   * file system a bounded step at a time, and, when idle, truncates the write-ahead log.
   */
  private Connection maintain(Connection c, boolean idle) {
    long now = System.nanoTime();
    if (!idle && now - lastMaintenance < settings.maintenanceInterval().toNanos()) {
      return c;
    }
    lastMaintenance = now;
    try (Statement s = c.createStatement()) {
      long free = SqliteFile.single(s, "PRAGMA freelist_count");
      if (free > 0) {
        // A JDBC execute steps the pragma once, which frees one page; sqlite3_exec runs it to the end.
        c.unwrap(SQLiteConnection.class).getDatabase()._exec("PRAGMA incremental_vacuum(" + settings.vacuumPages() + ")");
      }
      // TRUNCATE waits for readers; a passive checkpoint does not, and journal_size_limit trims the file.
      boolean quiet = idle && reading.get() == 0 && reads.isEmpty() && segmentReads.isEmpty();
      s.execute(quiet ? "PRAGMA wal_checkpoint(TRUNCATE)" : "PRAGMA wal_checkpoint(PASSIVE)");
      return c;
    } catch (SQLException e) {
      log.warn("journal {}: maintenance failed: {}", settings.path(), e.getMessage());
      if (SqliteFile.connectionLost(e)) {
        file.translate(e);
        closeQuietly(c);
        return null;
      }
      return c;
    }
  }

  // ---- the reader

  private void runReader(BlockingQueue<Task<?>> queue) {
    Connection c = null;
    while (true) {
      Task<?> task;
      try {
        // a STOP that found the queue full is missed: the reader also stops once closed and idle
        task = queue.poll(1, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        break;
      }
      if (task == null) {
        if (closed) {
          break;
        }
        continue;
      }
      if (task == STOP) {
        break;
      }
      reading.incrementAndGet();
      try {
        if (c == null) {
          c = file.open(true);
        }
        task.complete(task.work().run(c));
      } catch (JournalUnavailableException e) {
        task.fail(e);
      } catch (SQLException e) {
        task.fail(file.translate(e));
        if (SqliteFile.connectionLost(e)) {
          closeQuietly(c);
          c = null;
        }
      } catch (Exception e) {
        task.fail(e);
      } finally {
        reading.decrementAndGet();
      }
    }
    failWaiting(queue);
    closeQuietly(c);
  }

  // ---- closing

  /** Stops its threads after the operations already accepted; later ones fail. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    // A snapshot under way fails at its next chunk, with the writer still there to finish the one
    // in flight; what it wrote is removed at the next open.
    snapshots.shutdown();
    try {
      snapshots.awaitTermination(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    writes.offer(STOP);
    reads.offer(STOP);
    segmentReads.offer(STOP);
    try {
      writer.join(TimeUnit.SECONDS.toMillis(30));
      reader.join(TimeUnit.SECONDS.toMillis(30));
      segmentReader.join(TimeUnit.SECONDS.toMillis(30));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    file.releaseLock();
  }

  private void failWaiting(BlockingQueue<Task<?>> queue) {
    JournalUnavailableException e = closedException();
    for (Task<?> t; (t = queue.poll()) != null; ) {
      t.fail(e);
    }
  }

  private static void rollbackQuietly(Statement s) {
    try {
      s.execute("ROLLBACK");
    } catch (SQLException ignored) {
      // not in a transaction any more: SQLite rolled it back itself
    }
  }

  private static void closeQuietly(Connection c) {
    if (c != null) {
      try {
        c.close();
      } catch (SQLException e) {
        log.debug("closing a journal connection failed: {}", e.getMessage());
      }
    }
  }
}
