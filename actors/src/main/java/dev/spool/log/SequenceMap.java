package dev.spool.log;

import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BiConsumer;
import java.util.function.BiPredicate;

/**
 * A map from sequence to value, ordered by sequence, for keys that arrive mostly ascending and
 * leave mostly in order: a consumer's deliveries in flight. Keys within a sliding window live in a
 * ring indexed by sequence, so adding, finding and removing them cost no boxing, no tree and no
 * allocation beyond the value; the rare key that falls behind the window (a delivery held while many
 * newer ones pass) moves to a small tree. The ring grows with the window it needs, up to
 * {@value #MAX_WINDOW} sequences, so memory follows what is in flight, not the queue's length.
 *
 * <p>Invariant: every key in the tree is below {@code base}, every key in the ring is in
 * {@code [base, top)}, and when the ring holds any key, {@code base} is one.
 *
 * <p>Single-threaded.
 */
public final class SequenceMap<V> {

  /** The widest window the ring covers; beyond it the oldest keys move to the tree. */
  static final int MAX_WINDOW = 1 << 16;

  private static final int INITIAL_WINDOW = 16;

  private Object[] ring;
  private long base;
  private long top;
  private int inRing;
  private final TreeMap<Long, V> behind = new TreeMap<>();

  /** Number of keys. */
  public int size() {
    return inRing + behind.size();
  }

  public boolean isEmpty() {
    return size() == 0;
  }

  /** The value of {@code key}, or null. */
  public V get(long key) {
    if (inRing > 0 && key >= base && key < top) {
      return slot(key);
    }
    return behind.isEmpty() ? null : behind.get(key);
  }

  public boolean containsKey(long key) {
    return get(key) != null;
  }

  /** Sets the value of {@code key}, replacing any, and answers the value replaced or null. */
  public V put(long key, V value) {
    if (value == null) {
      throw new IllegalArgumentException("null value");
    }
    if (inRing == 0) {
      if (!behind.isEmpty() && key <= behind.lastKey()) {
        return behind.put(key, value);
      }
      anchor(key);
    }
    if (key < base) {
      return behind.put(key, value);
    }
    if (key - base >= ring.length) {
      widen(key);
    }
    int i = index(key);
    @SuppressWarnings("unchecked")
    V previous = (V) ring[i];
    ring[i] = value;
    if (previous == null) {
      inRing++;
    }
    if (key >= top) {
      top = key + 1;
    }
    return previous;
  }

  /** Removes {@code key} and answers its value, or null if it had none. */
  public V remove(long key) {
    if (inRing > 0 && key >= base && key < top) {
      int i = index(key);
      @SuppressWarnings("unchecked")
      V previous = (V) ring[i];
      if (previous != null) {
        ring[i] = null;
        inRing--;
        if (key == base) {
          advanceBase();
        }
      }
      return previous;
    }
    return behind.isEmpty() ? null : behind.remove(key);
  }

  /** The lowest key; the map must not be empty. */
  public long firstKey() {
    if (!behind.isEmpty()) {
      return behind.firstKey();
    }
    if (inRing == 0) {
      throw new java.util.NoSuchElementException();
    }
    return base;
  }

  /** Calls {@code action} with every key and value, ascending. */
  public void forEach(BiConsumer<Long, ? super V> action) {
    behind.forEach(action);
    for (long k = base; inRing > 0 && k < top; k++) {
      V v = slot(k);
      if (v != null) {
        action.accept(k, v);
      }
    }
  }

  /**
   * Removes every entry {@code which} accepts, asking ascending. {@code which} may act on what it
   * accepts but must not change this map.
   *
   * @return how many were removed
   */
  public int removeIf(BiPredicate<Long, ? super V> which) {
    int removed = 0;
    for (Iterator<Map.Entry<Long, V>> it = behind.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<Long, V> e = it.next();
      if (which.test(e.getKey(), e.getValue())) {
        it.remove();
        removed++;
      }
    }
    long end = top;
    for (long k = base; inRing > 0 && k < end; k++) {
      V v = slot(k);
      if (v != null && which.test(k, v)) {
        ring[index(k)] = null;
        inRing--;
        removed++;
      }
    }
    advanceBase();
    return removed;
  }

  /** Removes every key at or below {@code key}, telling {@code removed} of each, ascending. */
  public int removeUpTo(long key, BiConsumer<Long, ? super V> removed) {
    return removeIf((k, v) -> {
      if (k > key) {
        return false;
      }
      removed.accept(k, v);
      return true;
    });
  }

  public void clear() {
    behind.clear();
    if (ring != null) {
      java.util.Arrays.fill(ring, null);
    }
    inRing = 0;
  }

  @SuppressWarnings("unchecked")
  private V slot(long key) {
    return (V) ring[index(key)];
  }

  private int index(long key) {
    return (int) key & (ring.length - 1);
  }

  /** The ring is empty: start its window at {@code key}. */
  private void anchor(long key) {
    if (ring == null) {
      ring = new Object[INITIAL_WINDOW];
    }
    base = key;
    top = key;
  }

  /** Makes room for {@code key} past the window: a wider ring, else the oldest keys move behind. */
  private void widen(long key) {
    long needed = key - base + 1;
    if (needed <= MAX_WINDOW) {
      int length = ring.length;
      while (length < needed) {
        length <<= 1;
      }
      Object[] wider = new Object[length];
      for (long k = base; k < top; k++) {
        wider[(int) k & (length - 1)] = ring[index(k)];
      }
      ring = wider;
      return;
    }
    if (ring.length < MAX_WINDOW) {
      Object[] wider = new Object[MAX_WINDOW];
      for (long k = base; k < top; k++) {
        wider[(int) k & (MAX_WINDOW - 1)] = ring[index(k)];
      }
      ring = wider;
    }
    long newBase = key - ring.length + 1;
    for (long k = base; k < Math.min(newBase, top); k++) {
      int i = index(k);
      if (ring[i] != null) {
        @SuppressWarnings("unchecked")
        V v = (V) ring[i];
        behind.put(k, v);
        ring[i] = null;
        inRing--;
      }
    }
    if (inRing == 0) {
      anchor(key);
    } else {
      base = newBase;
      advanceBase();
    }
  }

  /** Moves {@code base} up to the lowest key in the ring (each slot is passed once per key put). */
  private void advanceBase() {
    if (inRing == 0) {
      base = top;
      return;
    }
    while (ring[index(base)] == null) {
      base++;
    }
  }
}
