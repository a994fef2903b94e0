package dev.spool.log;

import dev.spool.Message;
import java.util.List;

/**
 * A queue's retained messages: an append-only log of fixed-size segments chained in sequence
 * order, as Kafka's {@code LogSegments} keeps a partition.
 *
 * <p>Append is O(1) (a new segment every {@code segmentSize} messages), reading by sequence is O(1)
 * (segment by shift, slot by mask). Messages below a low watermark are released one by one (they
 * stop counting and their slots let go of them at once) and a segment's slot array is freed whole
 * once all of it is released. Bytes and messages are accounted per segment, so totals are O(1) to
 * read and to maintain.
 *
 * <p>Single messages can be {@link #remove removed} (expiry, eviction): their slot keeps a marker of
 * the removal step (epoch) until the segment is freed, so a reader can tell a removal it has been
 * told of from one whose notice is still on its way ({@link #removedEpoch}).
 *
 * <p><b>Threading contract: single writer, many readers.</b> Only the owning {@code QueueActor}
 * appends, frees and removes; readers hold the log as a {@link LogView}, which has no writing
 * method. Any thread may call {@link #get}, {@link #firstSequence},
 * {@link #lastSequence} and {@link #firstSequenceAtOrAfter}: {@code lastSequence} is published with a
 * volatile write after the slots it covers are filled, so a reader that reads it first sees every
 * message up to it. A reader that races with freeing may get {@code null} for a sequence that is
 * no longer retained; readers treat {@code null} as "gone". Messages are immutable, so a reader
 * never sees one half-built. The accounting getters ({@link #retainedMessages}, {@link #retainedBytes},
 * {@link #segmentCount}) are for the writer only.
 */
public final class SegmentedLog implements LogView {

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

  // The writer's own view of the last stored sequence, ahead of the published one inside appendAll.
  private long lastSequenceUnpublished;

  /** Where {@link #oldest()} resumes its scan: below it, nothing is retained. */
  private long firstLive = 1;

  /** The marker of the latest removal, shared by every slot it removed. */
  private Removed removedMarker;

  /** What a removed message leaves in its slot: the removal step (epoch) that removed it. */
  private record Removed(long epoch) {}

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
  @Override
  public long nextSequence() {
    return lastSequence + 1;
  }

  /** Highest sequence appended, 0 if none. */
  @Override
  public long lastSequence() {
    return lastSequence;
  }

  /** Lowest sequence that may still be retained ({@code lastSequence() + 1} when the log is empty). */
  @Override
  public long firstSequence() {
    return firstSequence;
  }

  /** Messages per segment. */
  @Override
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
    appendAll(messages, 0, count);
  }

  /**
   * Appends {@code count} messages of {@code messages} from index {@code from} in order and
   * publishes all of it with one volatile write.
   */
  public void appendAll(Message[] messages, int from, int count) {
    if (count == 0) {
      return;
    }
    for (int i = from; i < from + count; i++) {
      store(messages[i]);
    }
    lastSequence = messages[from + count - 1].sequence();
  }

  /**
   * Takes {@code sequence}, the next one, as a slot already removed in step {@code epoch}: a message
   * dropped before it joined the log. It is published with the next append, so readers see the
   * removal, never the message. Writer only.
   */
  public void appendRemoved(long sequence, long epoch) {
    Segment segment = segmentForNext(sequence);
    if (removedMarker == null || removedMarker.epoch != epoch) {
      removedMarker = new Removed(epoch);
    }
    segment.slots[(int) ((sequence - 1) & mask)] = removedMarker;
    lastSequenceUnpublished = sequence;
  }

  private void store(Message message) {
    long sequence = message.sequence();
    Segment segment = segmentForNext(sequence);
    segment.slots[(int) ((sequence - 1) & mask)] = message;
    segment.count++;
    segment.bytes += message.sizeBytes();
    retainedMessages++;
    retainedBytes += message.sizeBytes();
    lastSequenceUnpublished = sequence;
  }

  /** The segment that takes {@code sequence}, which must be the next one, installed if new. */
  private Segment segmentForNext(long sequence) {
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
    return segment;
  }

  /**
   * Fills an empty log with what a durable queue recovered: {@code messages} ascending, with gaps
   * where messages were removed before the restart (readers see those as gone), and
   * {@code lastSequence}, the highest sequence ever appended, so that no sequence is reused.
   */
  public void restore(List<Message> messages, long lastSequence) {
    if (this.lastSequence != 0 || retainedMessages != 0) {
      throw new IllegalStateException("only an empty log can be restored");
    }
    long first = messages.isEmpty() ? lastSequence + 1 : messages.get(0).sequence();
    firstSequence = first;
    firstLive = first;
    for (Message m : messages) {
      if (m.sequence() <= lastSequenceUnpublished || m.sequence() > lastSequence) {
        throw new IllegalArgumentException("restored sequence " + m.sequence() + " is out of order");
      }
      lastSequenceUnpublished = m.sequence() - 1;
      store(m);
    }
    lastSequenceUnpublished = lastSequence;
    this.lastSequence = lastSequence;
  }

  /**
   * The retained message at {@code sequence}, or {@code null} if it was never appended, was freed or
   * was removed. Safe from any thread (see the class comment).
   */
  @Override
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
    return segment.slots[(int) ((sequence - 1) & mask)] instanceof Message m ? m : null;
  }

  /**
   * The removal epoch of {@code sequence} if it was removed (expired or evicted) and its slot is
   * still held, else 0. Safe from any thread. Consumers use it to tell a removal they have been
   * told of (skip it) from one whose notice is still on its way (wait for it).
   */
  @Override
  public long removedEpoch(long sequence) {
    if (sequence < 1 || sequence > lastSequence) {
      return 0;
    }
    long segmentNumber = (sequence - 1) >>> shift;
    Segment[] r = ring;
    Segment segment = r[(int) (segmentNumber & (r.length - 1))];
    if (segment == null || segment.number != segmentNumber) {
      return 0;
    }
    return segment.slots[(int) ((sequence - 1) & mask)] instanceof Removed removed ? removed.epoch : 0;
  }

  /**
   * The first retained sequence whose message was appended at or after {@code timestampMillis}, or
   * {@link #nextSequence()} when there is none. Append timestamps never decrease, so this is a binary
   * search: O(log n).
   */
  @Override
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
   * Releases every retained message below {@code lowWatermark}: what no reader needs any more. It
   * stops counting at once and its slot lets go of it; a segment's slot array is freed once every
   * sequence it can hold is released. O(released).
   *
   * @return how many retained messages were released
   */
  public long releaseBefore(long lowWatermark) {
    return releaseBefore(lowWatermark, Long.MAX_VALUE);
  }

  /**
   * Like {@link #releaseBefore(long)}, but stops at the first message appended after
   * {@code appendedNotAfter} (epoch ms): retention keeps acknowledged messages for replay. Append
   * times never decrease, so everything past that message is kept too.
   */
  public long releaseBefore(long lowWatermark, long appendedNotAfter) {
    long limit = Math.min(lowWatermark, lastSequenceUnpublished + 1);
    long sequence = firstSequence;
    long released = 0;
    while (sequence < limit) {
      long segmentNumber = (sequence - 1) >>> shift;
      Segment segment = segmentFor(segmentNumber);
      long segmentEnd = (segmentNumber + 1) << shift; // the last sequence the segment can hold
      if (segment == null) {
        sequence = segmentEnd + 1;
        continue;
      }
      long end = Math.min(limit - 1, segmentEnd);
      boolean retained = false;
      for (; sequence <= end; sequence++) {
        int slot = (int) ((sequence - 1) & mask);
        Object held = segment.slots[slot];
        if (held instanceof Message m) {
          if (m.timestamp() > appendedNotAfter) {
            retained = true;
            break;
          }
          segment.count--;
          segment.bytes -= m.sizeBytes();
          retainedMessages--;
          retainedBytes -= m.sizeBytes();
          released++;
        }
        segment.slots[slot] = null;
      }
      if (sequence > segmentEnd) {
        freeSegment(segmentNumber);
      }
      if (retained) {
        break;
      }
    }
    if (sequence > firstSequence) {
      firstSequence = Math.min(sequence, limit);
    }
    return released;
  }

  private void freeSegment(long segmentNumber) {
    Segment[] r = ring;
    int index = (int) (segmentNumber & (r.length - 1));
    Segment segment = r[index];
    if (segment != null && segment.number == segmentNumber) {
      r[index] = null;
      segmentCount--;
    }
  }

  /**
   * Removes the retained message at {@code sequence} (expiry, eviction), leaving a marker of
   * {@code epoch} in its slot until its segment is freed, so that readers can tell a removed
   * message from one never appended. Writer only.
   *
   * @return the removed message, or {@code null} if none was retained there
   */
  public Message remove(long sequence, long epoch) {
    if (sequence < firstSequence || sequence > lastSequenceUnpublished) {
      return null;
    }
    Segment segment = segmentFor((sequence - 1) >>> shift);
    if (segment == null) {
      return null;
    }
    int slot = (int) ((sequence - 1) & mask);
    if (!(segment.slots[slot] instanceof Message m)) {
      return null;
    }
    if (removedMarker == null || removedMarker.epoch != epoch) {
      removedMarker = new Removed(epoch);
    }
    segment.slots[slot] = removedMarker;
    segment.count--;
    segment.bytes -= m.sizeBytes();
    retainedMessages--;
    retainedBytes -= m.sizeBytes();
    return m;
  }

  /** The oldest retained message, or {@code null} if none is. Writer only; amortised O(1). */
  public Message oldest() {
    long last = lastSequenceUnpublished;
    firstLive = Math.max(firstLive, firstSequence);
    while (firstLive <= last) {
      long segmentNumber = (firstLive - 1) >>> shift;
      Segment segment = segmentFor(segmentNumber);
      if (segment == null || segment.count == 0) {
        // not past the last appended: the rest of this segment may still be appended to
        firstLive = Math.min(((segmentNumber + 1) << shift) + 1, last + 1);
        continue;
      }
      if (segment.slots[(int) ((firstLive - 1) & mask)] instanceof Message m) {
        return m;
      }
      firstLive++;
    }
    return null;
  }

  /** The oldest retained sequence, or {@link #nextSequence()} if none is retained. Writer only. */
  public long oldestSequence() {
    Message m = oldest();
    return m == null ? lastSequenceUnpublished + 1 : m.sequence();
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

  /**
   * A fixed-size run of slots; slot {@code i} holds sequence {@code number * size + i + 1}: a
   * {@link Message}, a {@link Removed} marker, or {@code null} before the append.
   */
  private static final class Segment {
    final long number;
    final Object[] slots;
    int count;
    long bytes;

    Segment(long number, int size) {
      this.number = number;
      this.slots = new Object[size];
    }
  }
}
