package dev.spool.log;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

/**
 * The producer-chosen message ids a queue appended recently, with the sequence each got, so that
 * publishing the same id again inside the window returns the original sequence instead of
 * appending twice.
 *
 * <p>Bounded both in time (the queue's dedup window) and in entries: the oldest ids are forgotten
 * first. Single-threaded: owned by its queue's writer.
 */
public final class DedupIndex {

  private record Entry(UUID id, long sequence, long appendedAt) {}

  private final int maxEntries;
  private final Map<UUID, Entry> byId = new HashMap<>();
  private final ArrayDeque<Entry> byAge = new ArrayDeque<>();

  public DedupIndex(int maxEntries) {
    this.maxEntries = maxEntries;
  }

  /** The sequence {@code id} was appended at, if it is still remembered at {@code now}. */
  public long find(UUID id, long windowMillis, long now) {
    evict(windowMillis, now);
    Entry e = byId.get(id);
    return e == null ? 0 : e.sequence();
  }

  /** Remembers that {@code id} was appended at {@code sequence}. */
  public void remember(UUID id, long sequence, long now) {
    if (maxEntries == 0) {
      return;
    }
    Entry e = new Entry(id, sequence, now);
    byId.put(id, e);
    byAge.addLast(e);
    while (byAge.size() > maxEntries) {
      forget(byAge.removeFirst());
    }
  }

  /** Ids remembered now. */
  public int size() {
    return byId.size();
  }

  private void evict(long windowMillis, long now) {
    while (!byAge.isEmpty() && byAge.peekFirst().appendedAt() <= now - windowMillis) {
      forget(byAge.removeFirst());
    }
  }

  private void forget(Entry e) {
    // The id may have been remembered again since; only drop the mapping this entry made.
    byId.remove(e.id(), e);
  }
}
