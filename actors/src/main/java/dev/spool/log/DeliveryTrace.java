package dev.spool.log;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * One consumer's delivery events (delivered, acked, nacked, failed, timed out, dead-lettered …),
 * oldest first, in chunks of primitive arrays, 16 bytes an event: a sequence and a time as int
 * offsets from their chunk's base, the subscriber, and the kind with the attempt. Recording costs
 * a few array stores; memory follows the events held, a chunk (at most 4,096 events, 64 KB) at a
 * time, so nothing is copied as a ring grows and no array is large enough to burden the garbage
 * collector.
 *
 * <p>The bound is this consumer's share of its queue's {@code spool.consumer.trace-events-per-queue}:
 * the queue divides the cap evenly among its consumers and tells each its share when consumers
 * come and go ({@link #resize}); the consumer applies it on its own thread, so the trace keeps a
 * single writer. When a chunk fills, the owner first forgets the events of messages the queue no
 * longer retains ({@link #forgetBelow}); when the share is reached all the same, the oldest chunk
 * is dropped (so between the share less a chunk and the share are held), and the highest sequence
 * whose event was dropped is remembered, so that a trace can say when events of a message may be
 * missing ({@link #mayHaveDropped}) rather than invent them.
 *
 * <p>Looking up one sequence scans the held events (about a millisecond for a million on one
 * core), which is cheaper than keeping an index on every delivery.
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
  private static final int KIND_MASK = (1 << KIND_BITS) - 1;
  private static final int MAX_ATTEMPT = Integer.MAX_VALUE >>> KIND_BITS;
  /** Events per chunk at most: 64 KB, well below what the garbage collector treats as a large object. */
  static final int MAX_CHUNK = 4096;
  private static final int MIN_CHUNK = 16;

  /** Consecutive events; sequences and times relative to the first one's. */
  private static final class Chunk {
    final int[] sequences;
    final int[] times;
    final int[] owners;
    final int[] kindsAndAttempts;
    long sequenceBase;
    long timeBase;
    /**
     * The highest sequence of an event recorded here. Forgetting and dropping look at it alone when
     * it says the whole chunk goes: the events are read once more only at the one chunk where
     * forgetting stops, as by then the chunks are long out of the processor's cache.
     */
    long maxSequence;
    /** Index of the oldest event held here; events end at {@link #end}. */
    int start;
    int end;

    Chunk(int length) {
      sequences = new int[length];
      times = new int[length];
      owners = new int[length];
      kindsAndAttempts = new int[length];
    }

    Chunk reset(long sequence, long atMillis) {
      sequenceBase = sequence;
      timeBase = atMillis;
      maxSequence = Long.MIN_VALUE;
      start = 0;
      end = 0;
      return this;
    }

    boolean takes(long sequence, long atMillis) {
      if (end == sequences.length) {
        return false;
      }
      long ds = sequence - sequenceBase;
      long dt = atMillis - timeBase;
      return ds == (int) ds && dt == (int) dt;
    }

    long sequenceAt(int i) {
      return sequenceBase + sequences[i];
    }
  }

  private int capacity;
  private final ArrayDeque<Chunk> chunks = new ArrayDeque<>();
  /**
   * A chunk emptied by {@link #forgetBelow}, kept for the next one: a consumer whose messages are
   * released as it goes cycles through a few chunks that stay in the processor's cache.
   */
  private Chunk spare;
  /** Events held. */
  private int size;
  /** Event slots in the chunks held. */
  private int allocated;
  private long recorded;
  /** The highest sequence an event of which the cap dropped. */
  private long maxDropped = Long.MIN_VALUE;

  /** @param capacity events kept; 0 records nothing */
  public DeliveryTrace(int capacity) {
    if (capacity < 0) {
      throw new IllegalArgumentException("trace capacity must not be negative: " + capacity);
    }
    this.capacity = capacity;
  }

  /** Records an event; at the capacity, the oldest chunk of events makes room. */
  public void record(long sequence, long atMillis, Kind kind, int attempt, long owner) {
    recorded++;
    if (capacity == 0) {
      maxDropped = Math.max(maxDropped, sequence);
      return;
    }
    Chunk tail = chunks.peekLast();
    if (tail == null || !tail.takes(sequence, atMillis)) {
      tail = newChunk(sequence, atMillis);
    }
    int i = tail.end++;
    size++;
    tail.sequences[i] = (int) (sequence - tail.sequenceBase);
    tail.maxSequence = Math.max(tail.maxSequence, sequence);
    tail.times[i] = (int) (atMillis - tail.timeBase);
    tail.owners[i] = owner >= 0 && owner <= Integer.MAX_VALUE ? (int) owner : -1;
    tail.kindsAndAttempts[i] = kind.ordinal() | Math.min(Math.max(attempt, 0), MAX_ATTEMPT) << KIND_BITS;
  }

  /** A chunk at the tail, dropping the oldest while the capacity allows no other; reuses a dropped one. */
  private Chunk newChunk(long sequence, long atMillis) {
    // As large as what is held already (up to an eighth of the share and MAX_CHUNK): a consumer that
    // saw a few deliveries holds a few hundred bytes, not 64 KB, and thousands of them stay cheap.
    long grown = Math.min(allocated, Math.min(MAX_CHUNK, capacity / 8));
    int length = (int) Math.min(capacity, Math.max(MIN_CHUNK, grown));
    Chunk reuse = spare != null && spare.sequences.length == length ? spare : null;
    spare = null;
    while (!chunks.isEmpty() && allocated + length > capacity) {
      Chunk dropped = dropOldestChunk();
      if (dropped.sequences.length == length) {
        reuse = dropped;
      }
    }
    Chunk chunk = reuse != null ? reuse.reset(sequence, atMillis) : new Chunk(length).reset(sequence, atMillis);
    chunks.addLast(chunk);
    allocated += length;
    return chunk;
  }

  private Chunk dropOldestChunk() {
    Chunk head = chunks.pollFirst();
    if (head.start < head.end) {
      // the events forgotten from its start are below every one left, so its highest is theirs
      maxDropped = Math.max(maxDropped, head.maxSequence);
    }
    size -= head.end - head.start;
    allocated -= head.sequences.length;
    return head;
  }

  /** Whether the next event starts a new chunk: the time to {@link #forgetBelow forget} released messages. */
  public boolean full() {
    Chunk tail = chunks.peekLast();
    return tail != null && tail.end == tail.sequences.length;
  }

  /**
   * Forgets the oldest events while they concern sequences below {@code firstRetained} (messages no
   * trace can be asked about any more); chunks left empty are given back.
   */
  public void forgetBelow(long firstRetained) {
    Chunk head;
    while ((head = chunks.peekFirst()) != null) {
      if (head.maxSequence < firstRetained) {
        size -= head.end - head.start;
        head.start = head.end;
      }
      while (head.start < head.end && head.sequenceAt(head.start) < firstRetained) {
        head.start++;
        size--;
      }
      if (head.start < head.end) {
        return;
      }
      chunks.pollFirst();
      allocated -= head.sequences.length;
      spare = head;
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
    spare = null;
    while (!chunks.isEmpty() && allocated > newCapacity) {
      dropOldestChunk();
    }
  }

  /** The events still held for {@code sequence}, oldest first. */
  public List<Event> eventsOf(long sequence) {
    List<Event> out = new ArrayList<>();
    for (Chunk c : chunks) {
      long d = sequence - c.sequenceBase;
      if (d != (int) d) {
        continue;
      }
      int relative = (int) d;
      int[] sequences = c.sequences;
      for (int i = c.start, end = c.end; i < end; i++) {
        if (sequences[i] == relative) {
          int k = c.kindsAndAttempts[i];
          out.add(new Event(sequence, c.timeBase + c.times[i], Kind.VALUES[k & KIND_MASK], k >>> KIND_BITS,
              c.owners[i]));
        }
      }
    }
    return out;
  }

  /**
   * Whether the cap may have dropped events of {@code sequence}: an event of it, or of a higher
   * sequence, was dropped. When this is false, {@link #eventsOf} holds every event of it.
   */
  public boolean mayHaveDropped(long sequence) {
    return sequence <= maxDropped;
  }

  /** Events recorded since creation, including those dropped. */
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

  /** Event slots in the chunks holding events now (each 16 bytes; a spare chunk aside). */
  public int allocated() {
    return allocated;
  }
}
