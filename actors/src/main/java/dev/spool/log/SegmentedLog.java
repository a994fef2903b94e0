package dev.spool.log;

import dev.spool.Message;
import java.util.function.LongPredicate;

/**
 * A queue's retained messages: an append-only log of fixed-size segments chained in sequence
 * order, as Kafka's {@code LogSegments} keeps a partition.
 *
 * <p>Append is O(1) (a new segment every {@code segmentSize} messages), reading by sequence is O(1)
 * (segment by shift, slot by mask), and memory is released in whole segments below a low watermark.
 * Bytes and messages are accounted per segment, so totals are O(1) to read and to maintain.
 *
 * <p><b>Threading contract: single writer, many readers.</b> Only the owning {@code QueueActor}
 * appends, frees and removes. Any thread may call {@link #get}, {@link #firstSequence},
 * {@link #lastSequence} and {@link #firstSequenceAtOrAfter}: {@code lastSequence} is published with a
 * volatile write after the slots it covers are filled, so a reader that reads it first sees every
 * message up to it. A reader that races with freeing may get {@code null} for a sequence that is
 * no longer retained; readers treat {@code null} as "gone". Messages are immutable, so a reader
 * never sees one half-built. The accounting getters ({@link #retainedMessages}, {@link #retainedBytes},
 * {@link #segmentCount}) are for the writer only.
 */
public final class SegmentedLog {

  private final int segmentSize;
  private final int shift;
  private final int mask;

  /** Ring of live segments indexed by segment number; replaced (never mutated in place) when it grows. */
  private volatile Segment[] ring = new Segment[4];

  /** Lowest sequence that may still be retained; {@code lastSequence + 1} when nothing is. */
  private volatile long firstSequence = 1;

  /** Highest sequence appended; 0 before the first append. Volatile: the readers' publication point. */
  private volatile long lastSequence;

  private long retainedMessages;
  private long retainedBytes;
  private int segmentCount;

  /**
   * @param segmentSize messages per segment, a power of two
   */
  public SegmentedLog(int segmentSize) {
    if (Integer.bitCount(segmentSize) != 1) {
      throw new IllegalArgumentException("segmentSize must be a power of two: " + segmentSize);
    }
    this.segmentSize = segmentSize;
    this.shift = Integer.numberOfTrailingZeros(segmentSize);
    this.mask = segmentSize - 1;
  }

  /** The sequence the next append gets. */
  public long nextSequence() {
    return lastSequence + 1;
  }

  /** Highest sequence appended, 0 if none. */
  public long lastSequence() {
    return lastSequence;
  }

  /** Lowest sequence that may still be retained ({@code lastSequence() + 1} when the log is empty). */
  public long firstSequence() {
    return firstSequence;
  }

  /** Messages per segment. */
  public int segmentSize() {
    return segmentSize;
  }

  /**
   * Appends {@code message}, whose {@link Message#sequence()} must be {@link #nextSequence()}, and
   * publishes it to readers.
   */
  public void append(Message message) {
    store(message);
    lastSequence = message.sequence();
  }

  /**
   * Appends a batch in order and publishes all of it with one volatile write.
   *
   * @param messages messages with consecutive sequences starting at {@link #nextSequence()}
   * @param count how many of {@code messages} to append
   */
  public void appendAll(Message[] messages, int count) {
    if (count == 0) {
      return;
    }
    for (int i = 0; i < count; i++) {
      store(messages[i]);
    }
    lastSequence = messages[count - 1].sequence();
  }

  private void store(Message message) {
    long sequence = message.sequence();
    long expected = lastSequenceUnpublished + 1;
    if (sequence != expected) {
      throw new IllegalArgumentException("append of sequence " + sequence + ", expected " + expected);
    }
    long segmentNumber = (sequence - 1) >>> shift;
    Segment segment = segmentFor(segmentNumber);
    if (segment == null) {
      segment = new Segment(segmentNumber, segmentSize);
      install(segment);
    }
    segment.messages[(int) ((sequence - 1) & mask)] = message;
    segment.count++;
    segment.bytes += message.sizeBytes();
    retainedMessages++;
    retainedBytes += message.sizeBytes();
    lastSequenceUnpublished = sequence;
  }

  // The writer's own view of the last stored sequence, ahead of the published one inside appendAll.
  private long lastSequenceUnpublished;

  /**
   * The retained message at {@code sequence}, or {@code null} if it was never appended, was freed or
   * was removed. Safe from any thread (see the class comment).
   */
  public Message get(long sequence) {
    if (sequence < 1 || sequence > lastSequence) {
      return null;
    }
    long segmentNumber = (sequence - 1) >>> shift;
    Segment[] r = ring;
    Segment segment = r[(int) (segmentNumber & (r.length - 1))];
    if (segment == null || segment.number != segmentNumber) {
      return null;
    }
    return segment.messages[(int) ((sequence - 1) & mask)];
  }

  /**
   * The first retained sequence whose message was appended at or after {@code timestampMillis}, or
   * {@link #nextSequence()} when there is none. Append timestamps never decrease, so this is a binary
   * search: O(log n).
   */
  public long firstSequenceAtOrAfter(long timestampMillis) {
    long last = lastSequence;
    long lo = firstSequence;
    long hi = last + 1;
    while (lo < hi) {
      long mid = (lo + hi) >>> 1;
      Message m = firstRetainedFrom(mid, hi);
      if (m == null) {
        hi = mid;
      } else if (m.timestamp() >= timestampMillis) {
        hi = mid;
      } else {
        lo = m.sequence() + 1;
      }
    }
    return lo;
  }

  private Message firstRetainedFrom(long sequence, long limitExclusive) {
    for (long s = sequence; s < limitExclusive; s++) {
      Message m = get(s);
      if (m != null) {
        return m;
      }
    }
    return null;
  }

  /**
   * Frees every whole segment all of whose sequences are below {@code lowWatermark}: what no reader
   * needs any more. The segment holding the last appended message is freed too once it is full.
   *
   * @return how many retained messages were freed
   */
  public long truncateBefore(long lowWatermark) {
    long freed = 0;
    long limit = Math.min(lowWatermark, lastSequenceUnpublished + 1);
    while (firstSequence < limit) {
      long segmentNumber = (firstSequence - 1) >>> shift;
      long segmentEnd = (segmentNumber + 1) << shift; // last sequence the segment can hold
      if (segmentEnd >= limit) {
        break;
      }
      Segment[] r = ring;
      int index = (int) (segmentNumber & (r.length - 1));
      Segment segment = r[index];
      if (segment != null && segment.number == segmentNumber) {
        freed += segment.count;
        retainedMessages -= segment.count;
        retainedBytes -= segment.bytes;
        segmentCount--;
        r[index] = null;
      }
      firstSequence = segmentEnd + 1;
    }
    return freed;
  }

  /**
   * Removes single retained messages (expiry, eviction) for which {@code remove} is true, from the
   * oldest up to and including {@code upTo}, and advances {@link #firstSequence()} past leading
   * gaps, freeing segments that became empty.
   *
   * @return how many messages were removed
   */
  public long removeWhere(long upTo, LongPredicate remove) {
    long removed = 0;
    long end = Math.min(upTo, lastSequenceUnpublished);
    for (long s = firstSequence; s <= end; s++) {
      long segmentNumber = (s - 1) >>> shift;
      Segment segment = segmentFor(segmentNumber);
      if (segment == null) {
        s = ((segmentNumber + 1) << shift);
        continue;
      }
      int slot = (int) ((s - 1) & mask);
      Message m = segment.messages[slot];
      if (m != null && remove.test(s)) {
        segment.messages[slot] = null;
        segment.count--;
        segment.bytes -= m.sizeBytes();
        retainedMessages--;
        retainedBytes -= m.sizeBytes();
        removed++;
      }
    }
    skipLeadingGaps();
    return removed;
  }

  private void skipLeadingGaps() {
    long last = lastSequenceUnpublished;
    while (firstSequence <= last) {
      long segmentNumber = (firstSequence - 1) >>> shift;
      Segment segment = segmentFor(segmentNumber);
      if (segment == null || segment.count == 0) {
        if (segment != null) {
          Segment[] r = ring;
          r[(int) (segmentNumber & (r.length - 1))] = null;
          segmentCount--;
        }
        firstSequence = ((segmentNumber + 1) << shift) + 1;
        continue;
      }
      if (segment.messages[(int) ((firstSequence - 1) & mask)] != null) {
        return;
      }
      firstSequence++;
    }
    firstSequence = last + 1;
  }

  /** Messages retained now. Writer only. */
  public long retainedMessages() {
    return retainedMessages;
  }

  /** Bytes accounted to retained messages now. Writer only. */
  public long retainedBytes() {
    return retainedBytes;
  }

  /** Segments allocated now. Writer only. */
  public int segmentCount() {
    return segmentCount;
  }

  private Segment segmentFor(long segmentNumber) {
    Segment[] r = ring;
    Segment s = r[(int) (segmentNumber & (r.length - 1))];
    return s != null && s.number == segmentNumber ? s : null;
  }

  private void install(Segment segment) {
    long firstNumber = (firstSequence - 1) >>> shift;
    long needed = segment.number - firstNumber + 1;
    Segment[] r = ring;
    if (needed > r.length) {
      int capacity = r.length;
      while (capacity < needed) {
        capacity <<= 1;
      }
      Segment[] grown = new Segment[capacity];
      for (Segment s : r) {
        if (s != null) {
          grown[(int) (s.number & (capacity - 1))] = s;
        }
      }
      grown[(int) (segment.number & (capacity - 1))] = segment;
      ring = grown; // readers holding the old ring still find every segment they can need in it
    } else {
      r[(int) (segment.number & (r.length - 1))] = segment;
    }
    segmentCount++;
  }

  /** A fixed-size run of slots; slot {@code i} holds sequence {@code number * size + i + 1}. */
  private static final class Segment {
    final long number;
    final Message[] messages;
    int count;
    long bytes;

    Segment(long number, int size) {
      this.number = number;
      this.messages = new Message[size];
    }
  }
}
