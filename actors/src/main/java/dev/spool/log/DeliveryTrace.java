package dev.spool.log;

import java.util.ArrayList;
import java.util.List;

/**
 * One consumer's delivery events (delivered, acked, nacked, failed, timed out, dead-lettered …) in
 * a bounded ring of primitive arrays, 24 bytes an event: recording costs a few array stores and
 * allocates only while the arrays grow, and the memory is bounded whatever the traffic.
 *
 * <p>The bound is this consumer's share of its queue's {@code spool.consumer.trace-events-per-queue}:
 * the queue divides the cap evenly among its consumers and tells each its share when consumers come
 * and go ({@link #resize}); the consumer applies it on its own thread, so the ring keeps a single
 * writer. Arrays are allocated on the first event and grow by doubling, so a consumer that sees few
 * deliveries holds little of its share. When the ring is full, the owner first forgets events of
 * messages the queue no longer retains ({@link #forgetBelow}); only then does a new event overwrite
 * the oldest, and the highest sequence whose event was lost that way is remembered, so that a trace
 * can say when events of a message may be missing ({@link #mayHaveDropped}) rather than invent them.
 *
 * <p>Looking up one sequence scans the held events (about 1 ms for a million on one core), which
 * is cheaper than keeping an index on every delivery.
 *
 * <p>Single-threaded: owned by one consumer actor. It outlives restarts of that actor.
 */
public final class DeliveryTrace {

  /** What happened to a delivery. */
  public enum Kind {
    DELIVERED("delivered"),
    ACKED("acked"),
    NACKED("nacked"),
    FAILED("failed"),
    TIMED_OUT("timed-out"),
    DEAD_LETTERED("dead-lettered"),
    DROPPED("dropped"),
    EXPIRED("expired"),
    /** Passed over by a seek of the consumer past it, unacknowledged. */
    SKIPPED("skipped");

    private static final Kind[] VALUES = values();
    private final String wireName;

    Kind(String wireName) {
      this.wireName = wireName;
    }

    /** The name used in JSON and the console, e.g. {@code timed-out}. */
    public String wireName() {
      return wireName;
    }

    /** Whether it settles the message for the consumer. */
    public boolean ends() {
      return this == ACKED || this == DEAD_LETTERED || this == DROPPED || this == EXPIRED || this == SKIPPED;
    }
  }

  /**
   * One recorded event.
   *
   * @param sequence the message
   * @param atMillis when, epoch milliseconds
   * @param kind what happened
   * @param attempt the delivery attempt it concerns
   * @param owner the subscriber it concerns (the consumer's own numbering), or -1
   */
  public record Event(long sequence, long atMillis, Kind kind, int attempt, long owner) {}

  /** Kind in the low bits of an int, the attempt above them. */
  private static final int KIND_BITS = 4;
  private static final int MAX_ATTEMPT = Integer.MAX_VALUE >>> KIND_BITS;
  private static final int FIRST_LENGTH = 16;

  private int capacity;
  private long[] sequences;
  private long[] times;
  private int[] owners;
  private int[] kindsAndAttempts;
  /** Index of the oldest event held. */
  private int head;
  private int size;
  private long recorded;
  /** The highest sequence an event of which the cap overwrote or dropped. */
  private long maxDropped = Long.MIN_VALUE;

  /** @param capacity events kept; 0 records nothing */
  public DeliveryTrace(int capacity) {
    if (capacity < 0) {
      throw new IllegalArgumentException("trace capacity must not be negative: " + capacity);
    }
    this.capacity = capacity;
  }

  /** Records an event, overwriting the oldest when full. */
  public void record(long sequence, long atMillis, Kind kind, int attempt, long owner) {
    recorded++;
    if (capacity == 0) {
      maxDropped = Math.max(maxDropped, sequence);
      return;
    }
    if (sequences == null || size == sequences.length) {
      if (sequences == null || sequences.length < capacity) {
        reallocate(sequences == null ? Math.min(capacity, FIRST_LENGTH) : (int) Math.min(capacity, 2L * sequences.length));
      } else {
        maxDropped = Math.max(maxDropped, sequences[head]);
        head = head + 1 == sequences.length ? 0 : head + 1;
        size--;
      }
    }
    int i = head + size;
    if (i >= sequences.length) {
      i -= sequences.length;
    }
    size++;
    sequences[i] = sequence;
    times[i] = atMillis;
    owners[i] = owner >= 0 && owner <= Integer.MAX_VALUE ? (int) owner : -1;
    kindsAndAttempts[i] = kind.ordinal() | Math.min(Math.max(attempt, 0), MAX_ATTEMPT) << KIND_BITS;
  }

  /** Whether the ring is full, so that the next event needs room: see {@link #forgetBelow}. */
  public boolean full() {
    return sequences != null && size == sequences.length;
  }

  /**
   * Forgets the oldest events while they concern sequences below {@code firstRetained} (messages no
   * trace can be asked about any more), and gives back memory when few events remain.
   */
  public void forgetBelow(long firstRetained) {
    while (size > 0 && sequences[head] < firstRetained) {
      head = head + 1 == sequences.length ? 0 : head + 1;
      size--;
    }
    if (sequences != null) {
      int length = sequences.length;
      while (length > FIRST_LENGTH && size <= length / 4) {
        length /= 2;
      }
      if (length < sequences.length) {
        reallocate(length);
      }
    }
  }

  /**
   * Takes a new capacity (the consumer's share of its queue's cap). Shrinking keeps the newest
   * events; the older ones count as dropped by the cap.
   */
  public void resize(int newCapacity) {
    if (newCapacity < 0) {
      throw new IllegalArgumentException("trace capacity must not be negative: " + newCapacity);
    }
    capacity = newCapacity;
    if (sequences == null || sequences.length <= newCapacity) {
      return;
    }
    while (size > newCapacity) {
      maxDropped = Math.max(maxDropped, sequences[head]);
      head = head + 1 == sequences.length ? 0 : head + 1;
      size--;
    }
    if (newCapacity == 0) {
      sequences = null;
      times = null;
      owners = null;
      kindsAndAttempts = null;
      head = 0;
    } else {
      reallocate(Math.max(size, Math.min(newCapacity, FIRST_LENGTH)));
    }
  }

  /** Copies the held events, oldest first, into arrays of {@code length}. */
  private void reallocate(int length) {
    long[] s = new long[length];
    long[] t = new long[length];
    int[] o = new int[length];
    int[] k = new int[length];
    for (int n = 0; n < size; n++) {
      int i = index(n);
      s[n] = sequences[i];
      t[n] = times[i];
      o[n] = owners[i];
      k[n] = kindsAndAttempts[i];
    }
    sequences = s;
    times = t;
    owners = o;
    kindsAndAttempts = k;
    head = 0;
  }

  private int index(int n) {
    int i = head + n;
    return i >= sequences.length ? i - sequences.length : i;
  }

  /** The events still held for {@code sequence}, oldest first. */
  public List<Event> eventsOf(long sequence) {
    List<Event> out = new ArrayList<>();
    if (size == 0) {
      return out;
    }
    // Two plain runs (head to the end, then the start to the wrap) rather than an index per event.
    int firstRun = Math.min(size, sequences.length - head);
    collect(sequence, head, head + firstRun, out);
    collect(sequence, 0, size - firstRun, out);
    return out;
  }

  private void collect(long sequence, int from, int to, List<Event> out) {
    long[] s = sequences;
    for (int i = from; i < to; i++) {
      if (s[i] == sequence) {
        int k = kindsAndAttempts[i];
        out.add(new Event(sequence, times[i], Kind.VALUES[k & ((1 << KIND_BITS) - 1)], k >>> KIND_BITS,
            owners[i]));
      }
    }
  }

  /**
   * Whether the cap may have dropped events of {@code sequence}: an event of it, or of a higher
   * sequence, was overwritten. When this is false, {@link #eventsOf} holds every event of it.
   */
  public boolean mayHaveDropped(long sequence) {
    return sequence <= maxDropped;
  }

  /** Events recorded since creation, including those overwritten. */
  public long recorded() {
    return recorded;
  }

  /** Events held now. */
  public int size() {
    return size;
  }

  /** The most events held: the consumer's share of its queue's cap. */
  public int capacity() {
    return capacity;
  }

  /** Array slots allocated now (each 24 bytes). */
  public int allocated() {
    return sequences == null ? 0 : sequences.length;
  }
}
