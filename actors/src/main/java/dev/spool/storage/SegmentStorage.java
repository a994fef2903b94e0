package dev.spool.storage;

import com.github.benmanes.caffeine.cache.AsyncCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Policy;
import dev.spool.Compression;
import dev.spool.Message;
import dev.spool.log.SegmentedLog;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The tiered storage of persistent queues as their actors use it: a {@link SegmentStore} for the
 * rows, a {@link SegmentCodec} for what they hold, and a bounded cache of segments read back.
 *
 * <p>Encoding (serializing, compressing, encrypting) and decoding run on the storage executor, a
 * dispatcher of its own, never on a queue's or a consumer's thread; the store does its database work
 * on its own threads. Every method returns at once.
 *
 * <p>The cache holds decoded segments weighed by their messages' accounted bytes, up to its size;
 * consumers reading the same segment share one read (Caffeine coalesces loads of one key), and a
 * consumer holds the segment it reads from while it delivers it (see {@link SegmentedLog#load}).
 */
public final class SegmentStorage implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(SegmentStorage.class);

  private record Key(String queueId, long segment) {}

  /**
   * A load's outcome: its messages, or why it failed. The cache's loads never fail as futures, so
   * that Caffeine does not log each failure with a stack trace (a damaged segment is retried every
   * second, and reported once by its consumer); a failed outcome is taken out of the cache at once.
   */
  private record Loaded(Message[] messages, Throwable failure) {}

  private final SegmentStore store;
  private final SegmentCodec codec;
  private final Executor executor;
  private final int segmentSize;
  private final int readAhead;
  private final AsyncCache<Key, Loaded> cache;
  /** The most bytes of segments being read back at once. */
  private final long readBudget;
  /** Bytes of segments being read back now, and the reads waiting for room, oldest first; guarded by this. */
  private long reading;
  private final ArrayDeque<Admission> admissions = new ArrayDeque<>();

  /** A read waiting for room in the read budget. */
  private record Admission(long bytes, CompletableFuture<Void> admitted) {}
  /** Segment writes under way per queue id (an entry only while one is), and the ids deleted meanwhile. */
  private final ConcurrentHashMap<String, Integer> writesUnderWay = new ConcurrentHashMap<>();
  private final Set<String> deletedWhileWriting = ConcurrentHashMap.newKeySet();
  private final Policy.Eviction<Key, Loaded> eviction;
  private static final long WEIGH_EVERY_NANOS = 100_000_000L;
  private volatile long weighed;
  private volatile long weighedAt = System.nanoTime() - WEIGH_EVERY_NANOS - 1;

  /**
   * @param cacheBytes the most bytes of decoded segments the cache holds
   * @param readAhead cold segments a sequential reader loads ahead of the one it reads
   * @param readBudget the most bytes of segments read back at once (decoding one takes about three
   *     times its bytes for a moment)
   */
  public SegmentStorage(SegmentStore store, SegmentCodec codec, Executor executor, int segmentSize, long cacheBytes,
      int readAhead, long readBudget) {
    this.store = store;
    this.readBudget = readBudget;
    this.codec = codec;
    this.executor = executor;
    this.segmentSize = segmentSize;
    this.readAhead = readAhead;
    this.cache = Caffeine.newBuilder()
        .maximumWeight(cacheBytes)
        .weigher((Key key, Loaded loaded) -> loaded.messages() == null ? 0 : weight(loaded.messages()))
        .executor(executor)
        .buildAsync();
    this.eviction = cache.synchronous().policy().eviction().orElseThrow();
  }

  private static int weight(Message[] messages) {
    long bytes = 16L + 4L * messages.length;
    for (Message m : messages) {
      if (m != null) {
        bytes += m.sizeBytes();
      }
    }
    return (int) Math.min(Integer.MAX_VALUE, bytes);
  }

  /** The most bytes of segments read back at once: a larger segment must stay in the heap. */
  public long readBudget() {
    return readBudget;
  }

  /** Cold segments a sequential reader loads ahead of the one it reads. */
  public int readAhead() {
    return readAhead;
  }

  /**
   * Stores {@code messages}, the retained messages of sealed segment {@code segment} of queue
   * {@code queueId}, compressed with {@code compression} and encrypted under {@code keyId} (none if
   * {@code null}). Completes once the row is committed.
   */
  public CompletionStage<Void> write(String queueId, long segment, List<Message> messages, Compression compression,
      String keyId) {
    writesUnderWay.merge(queueId, 1, Integer::sum);
    CompletableFuture<Void> written = CompletableFuture.supplyAsync(() -> {
      return codec.encode(queueId, segment, messages, compression, keyId)
          .toRow(queueId, segment, messages.size(), SegmentIndex.encode(segment, segmentSize, messages));
    }, executor).thenCompose(store::write);
    written.whenComplete((done, failure) -> {
      boolean[] deleteAgain = new boolean[1];
      writesUnderWay.compute(queueId, (id, count) -> {
        if (count > 1) {
          return count - 1;
        }
        deleteAgain[0] = deletedWhileWriting.remove(id);
        return null;
      });
      if (deleteAgain[0]) {
        deleteRows(queueId).whenComplete((deleted, error) -> {
          if (error != null) {
            LOG.warn("the stored segments of deleted queue {} written after its deletion could not be deleted: {}",
                queueId, error.toString());
          }
        });
      }
    });
    return written;
  }

  /**
   * Reads queue {@code queueId}'s cold segments back, through the cache, within the read budget:
   * reads that would pass it wait for others to end (read-ahead is skipped instead), and a segment
   * larger than the whole budget is refused, so that reading a backlog back never exhausts the heap.
   */
  public SegmentedLog.ColdReader reader(String queueId) {
    return (segment, bytes, ahead) -> {
      Key key = new Key(queueId, segment);
      CompletableFuture<Loaded> present = cache.getIfPresent(key);
      if (present == null && bytes > readBudget) {
        return CompletableFuture.failedFuture(new SegmentTooLargeException(String.format(Locale.ROOT,
            "segment %d of %s holds %,d bytes, more than segments may take while they are read back (%,d bytes: an"
                + " eighth of the heap or spool.storage.cache-size, whichever is larger); its readers wait before it."
                + " Give the JVM more heap or a larger cache-size; queues of large messages want a smaller"
                + " spool.segment-size (a new queue takes it)", segment, queueId, bytes, readBudget)));
      }
      boolean[] admittedAhead = new boolean[1];
      if (present == null && ahead) {
        if (!tryAdmit(bytes)) {
          return CompletableFuture.completedFuture(null);
        }
        admittedAhead[0] = true;
      }
      boolean[] started = new boolean[1];
      CompletableFuture<Loaded> loading = cache.get(key, (k, ignored) -> {
        started[0] = true;
        CompletableFuture<Void> admitted = admittedAhead[0] ? CompletableFuture.completedFuture(null) : admit(bytes);
        return admitted.thenCompose(go -> load(k)).whenComplete((loaded, failure) -> release(bytes));
      });
      if (admittedAhead[0] && !started[0]) {
        release(bytes); // another read of it got there first
      }
      return loading.thenCompose(loaded -> {
        if (loaded.failure() == null) {
          return CompletableFuture.completedFuture(loaded.messages());
        }
        cache.asMap().remove(key, loading); // the next read tries the store again
        return CompletableFuture.failedFuture(loaded.failure());
      });
    };
  }

  /** Room for a read of {@code bytes} now, or once reads before it ended. */
  private CompletableFuture<Void> admit(long bytes) {
    synchronized (this) {
      if (admissions.isEmpty() && reading + bytes <= readBudget) {
        reading += bytes;
        return CompletableFuture.completedFuture(null);
      }
      Admission waiting = new Admission(bytes, new CompletableFuture<>());
      admissions.addLast(waiting);
      return waiting.admitted();
    }
  }

  /** Room for a read ahead of {@code bytes} now, if no read waits: otherwise it is skipped. */
  private synchronized boolean tryAdmit(long bytes) {
    if (admissions.isEmpty() && reading + bytes <= readBudget) {
      reading += bytes;
      return true;
    }
    return false;
  }

  private void release(long bytes) {
    List<CompletableFuture<Void>> go = new ArrayList<>();
    synchronized (this) {
      reading -= bytes;
      while (!admissions.isEmpty() && reading + admissions.peekFirst().bytes() <= readBudget) {
        Admission next = admissions.pollFirst();
        reading += next.bytes();
        go.add(next.admitted());
      }
    }
    go.forEach(admitted -> admitted.complete(null)); // outside the lock: each starts its read
  }

  private CompletableFuture<Loaded> load(Key key) {
    return store.read(key.queueId(), key.segment()).thenApplyAsync(row -> {
      if (row == null) {
        throw new SegmentMissingException("segment " + key.segment() + " of " + key.queueId()
            + " is not in the segment store: its messages are lost (was the database restored from an older backup?)");
      }
      Message[] slots = new Message[segmentSize];
      for (Message m : codec.decode(row)) {
        long slot = m.sequence() - key.segment() * segmentSize - 1;
        if (slot < 0 || slot >= segmentSize) {
          throw new SegmentMissingException("segment " + key.segment() + " of " + key.queueId()
              + " holds sequence " + m.sequence() + ", which is not in it: the row is damaged");
        }
        slots[(int) slot] = m;
      }
      return new Loaded(slots, null);
    }, executor).toCompletableFuture()
        .exceptionally(failure -> new Loaded(null, failure instanceof CompletionException c && c.getCause() != null
            ? c.getCause() : failure));
  }

  /** Every row of {@code queueId}, without data, ascending: for recovery. */
  public CompletionStage<List<SegmentRow>> list(String queueId) {
    return store.list(queueId);
  }

  /** Deletes the rows of {@code queueId} below segment {@code segment}: wholly released. */
  public CompletionStage<Void> deleteBelow(String queueId, long segment) {
    cache.synchronous().asMap().keySet().removeIf(k -> k.queueId().equals(queueId) && k.segment() < segment);
    return store.deleteBelow(queueId, segment);
  }

  /**
   * Deletes every row of {@code queueId}: the queue was deleted. A write of it still under way (its
   * queue stopped with it in flight) may commit after this deletion: the rows are deleted again once
   * the last such write ends, so a deleted queue leaves no row behind.
   */
  public CompletionStage<Void> deleteQueue(String queueId) {
    writesUnderWay.computeIfPresent(queueId, (id, count) -> {
      deletedWhileWriting.add(id);
      return count;
    });
    return deleteRows(queueId);
  }

  private CompletionStage<Void> deleteRows(String queueId) {
    cache.synchronous().asMap().keySet().removeIf(k -> k.queueId().equals(queueId));
    return store.deleteQueue(queueId);
  }

  /**
   * Bytes of decoded segments the cache holds, as of at most {@link #WEIGH_EVERY_NANOS} ago: asked
   * on every publish by the memory accounting, while weighing takes the cache's eviction lock.
   */
  public long cachedBytes() {
    long now = System.nanoTime();
    if (now - weighedAt > WEIGH_EVERY_NANOS) {
      weighedAt = now;
      weighed = eviction.weightedSize().orElse(0);
    }
    return weighed;
  }

  @Override
  public void close() {
    cache.synchronous().invalidateAll();
    store.close();
  }

  /** A stored segment that should be there is not, or holds what it should not. */
  /** A segment too large to be read back within the read budget; its readers wait before it. */
  public static final class SegmentTooLargeException extends RuntimeException {
    public SegmentTooLargeException(String message) {
      super(message, null, false, false);
    }
  }

  public static final class SegmentMissingException extends RuntimeException {
    public SegmentMissingException(String message) {
      super(message, null, false, false);
    }
  }
}
