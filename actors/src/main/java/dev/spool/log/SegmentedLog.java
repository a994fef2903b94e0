package dev.spool.log;

import dev.spool.Message;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

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
 * <p>Single messages can be {@link #remove removed} (expiry, eviction, deletion): their slot keeps a
 * marker of the removal step (epoch) until the segment is freed, so a reader can tell a removal it
 * has been told of from one whose notice is still on its way ({@link #removedEpoch}). What each
 * segment retains is also kept in {@link SegmentCounts}, so that the messages left past any
 * sequence are counted without a walk over the removed ones ({@link #retainedFrom}).
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
 *
 * <p><b>Cold segments.</b> A persistent queue stores each sealed segment in a row of its segment store;
 * once stored, the writer can {@link #cool} the segment: its messages leave the heap, and each slot
 * keeps only a cold marker, the message's size and append time (16 bytes), so accounting, expiry,
 * eviction and release work on without the content. A reader that finds a cold slot
 * ({@link #cold}) {@link #load}s the segment back through the {@link ColdReader}; the loaded
 * messages are reachable from the segment while a reader or the segment cache holds them (a weak
 * reference: the cache decides how long they stay), and {@link #get} returns them from there.
 */
public final class SegmentedLog implements LogView {

  private final int segmentSize;
  private final int shift;
  private final int mask;

  /** Ring of live segments indexed by segment number; replaced (never mutated in place) when it grows. */
  private volatile Segment[] ring = new Segment[4];

  /** What each segment of the ring retains, summed in O(log segments) for {@link #retainedFrom}. */
  private final SegmentCounts counts = new SegmentCounts(4);

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

  /**
   * Bytes a cold message still costs the heap: its slot (4), its size (4) and its append time (8).
   * What the memory accounting keeps for it instead of {@link Message#sizeBytes()}.
   */
  public static final int COLD_BYTES = 16;

  /** What a cold slot holds: its message is in a stored segment row, not in the heap. */
  private static final Object COLD = new Object() {
    @Override
    public String toString() {
      return "cold";
    }
  };

  /** Reads cold segments back; none until a segment store is attached. */
  private volatile ColdReader coldReader;

  /** Bytes the memory accounting holds for this log: hot messages whole, cold ones {@link #COLD_BYTES}. */
  private long heldBytes;
  /** Retained messages that are cold. */
  private long coldMessages;

  /** Reads a cold segment's messages back from storage. */
  @FunctionalInterface
  public interface ColdReader {
    /**
     * Segment {@code segment}'s messages indexed by slot ({@code sequence - 1 & (segmentSize - 1)}),
     * {@code null} where the stored segment holds none. Must not block the caller.
     *
     * @param bytes about the bytes its messages take in the heap once read back
     * @param ahead read ahead of need: the reader may skip it (the stage completes with {@code null})
     */
    CompletionStage<Message[]> read(long segment, long bytes, boolean ahead);
  }

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

  /** The bytes of segment {@code segment}'s retained messages, hot or cold; 0 if it holds none. Writer only. */
  public long segmentBytes(long segment) {
    Segment s = segmentFor(segment);
    return s == null ? 0 : s.bytes;
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
    counts.add(store(message), 1);
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
    // One count update per segment the batch fills, not one per message; each before the next
    // segment is installed, since growing the ring recounts every segment.
    long segment = -1;
    int stored = 0;
    for (int i = from; i < from + count; i++) {
      if (stored > 0 && ((messages[i].sequence() - 1) & mask) == 0) {
        counts.add(segment, stored);
        stored = 0;
      }
      segment = store(messages[i]);
      stored++;
    }
    counts.add(segment, stored);
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

  /** Stores {@code message} in its slot; returns its segment, whose {@link #counts} the caller updates. */
  private long store(Message message) {
    long sequence = message.sequence();
    Segment segment = segmentForNext(sequence);
    segment.slots[(int) ((sequence - 1) & mask)] = message;
    segment.count++;
    segment.bytes += message.sizeBytes();
    retainedMessages++;
    retainedBytes += message.sizeBytes();
    heldBytes += message.sizeBytes();
    lastSequenceUnpublished = sequence;
    return segment.number;
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
    if (this.lastSequence != 0) {
      throw new IllegalStateException("only an empty log can be restored");
    }
    if (retainedMessages == 0) {
      long first = messages.isEmpty() ? lastSequence + 1 : messages.get(0).sequence();
      firstSequence = first;
      firstLive = first;
    }
    for (Message m : messages) {
      if (m.sequence() <= lastSequenceUnpublished || m.sequence() > lastSequence) {
        throw new IllegalArgumentException("restored sequence " + m.sequence() + " is out of order");
      }
      lastSequenceUnpublished = m.sequence() - 1;
      counts.add(store(m), 1);
    }
    lastSequenceUnpublished = lastSequence;
    this.lastSequence = lastSequence;
  }

  /**
   * Restores a cold message of a recovered queue, before {@link #restore} restores the hot ones:
   * {@code sequence} is in a stored segment row, ascending and below every hot one.
   */
  public void restoreCold(long sequence, int sizeBytes, long timestamp) {
    if (this.lastSequence != 0) {
      throw new IllegalStateException("only an empty log can be restored");
    }
    if (sequence <= lastSequenceUnpublished) {
      throw new IllegalArgumentException("restored sequence " + sequence + " is out of order");
    }
    if (retainedMessages == 0) {
      firstSequence = sequence;
      firstLive = sequence;
    }
    lastSequenceUnpublished = sequence - 1;
    Segment segment = segmentForNext(sequence);
    segment.stored = true;
    segment.makeCold();
    int slot = (int) ((sequence - 1) & mask);
    segment.slots[slot] = COLD;
    segment.coldSizes[slot] = sizeBytes;
    segment.coldTimes[slot] = timestamp;
    segment.count++;
    counts.add(segment.number, 1);
    segment.bytes += sizeBytes;
    retainedMessages++;
    retainedBytes += sizeBytes;
    heldBytes += COLD_BYTES;
    coldMessages++;
    lastSequenceUnpublished = sequence;
  }

  /**
   * The retained message at {@code sequence}, or {@code null} if it was never appended, was freed or
   * was removed, or is {@link #cold} and not loaded. Safe from any thread (see the class comment).
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
    int slot = (int) ((sequence - 1) & mask);
    Object held = segment.slots[slot];
    if (held instanceof Message m) {
      return m;
    }
    if (held == COLD) {
      WeakReference<Message[]> loaded = segment.loaded;
      Message[] messages = loaded == null ? null : loaded.get();
      return messages == null ? null : messages[slot];
    }
    return null;
  }

  /**
   * Whether the message at {@code sequence} is retained but cold: in a stored segment, not in the
   * heap. {@link #get} returns it only while its segment is loaded; a reader that got {@code null}
   * for a cold sequence {@link #load}s it rather than passing over it. Safe from any thread.
   */
  @Override
  public boolean cold(long sequence) {
    if (sequence < 1 || sequence > lastSequence) {
      return false;
    }
    Segment segment = segmentFor((sequence - 1) >>> shift);
    return segment != null && segment.slots[(int) ((sequence - 1) & mask)] == COLD;
  }

  /**
   * Loads the cold segment holding {@code sequence} back from storage, and the next
   * {@code readAhead} cold segments after it: the stage completes with the segment's messages by
   * slot (hold on to them to keep them loaded), or with {@code null} when it is not cold (any
   * more). Safe from any thread; never blocks.
   */
  @Override
  public CompletionStage<Message[]> load(long sequence, int readAhead) {
    long number = (sequence - 1) >>> shift;
    for (int i = 1; i <= readAhead; i++) {
      Segment ahead = segmentFor(number + i);
      if (ahead != null && ahead.isCold() && ahead.loadedMessages() == null) {
        loadSegment(ahead, true);
      }
    }
    Segment segment = segmentFor(number);
    if (segment == null || !segment.isCold()) {
      return CompletableFuture.completedFuture(null);
    }
    Message[] loaded = segment.loadedMessages();
    return loaded != null ? CompletableFuture.completedFuture(loaded) : loadSegment(segment, false);
  }

  private CompletionStage<Message[]> loadSegment(Segment segment, boolean ahead) {
    ColdReader reader = coldReader;
    if (reader == null) {
      return CompletableFuture.failedFuture(new IllegalStateException("a cold segment with no segment store"));
    }
    return reader.read(segment.number, segment.bytes, ahead).thenApply(messages -> {
      if (messages == null) {
        return null; // read ahead, skipped
      }
      synchronized (segment) { // one copy reachable from the log: every reader holds the one get() sees
        Message[] installed = segment.loadedMessages();
        if (installed != null) {
          return installed;
        }
        segment.loaded = new WeakReference<>(messages);
        return messages;
      }
    });
  }

  /** Where cold segments are read back from. */
  public void attach(ColdReader reader) {
    this.coldReader = reader;
  }

  /**
   * The append time of the retained message at {@code sequence}, hot or cold, or -1 if none is
   * retained there. Safe from any thread.
   */
  @Override
  public long appendedAt(long sequence) {
    if (sequence < 1 || sequence > lastSequence) {
      return -1;
    }
    Segment segment = segmentFor((sequence - 1) >>> shift);
    if (segment == null) {
      return -1;
    }
    int slot = (int) ((sequence - 1) & mask);
    Object held = segment.slots[slot];
    if (held instanceof Message m) {
      return m.timestamp();
    }
    long[] times = segment.coldTimes;
    return held == COLD && times != null ? times[slot] : -1;
  }

  /** Whether every slot of segment {@code segment} has been appended: it can be stored. Writer only. */
  public boolean sealed(long segment) {
    return lastSequenceUnpublished >= (segment + 1) << shift;
  }

  /** The hot messages segment {@code segment} retains, ascending. Writer only. */
  public List<Message> hotMessages(long segment) {
    Segment s = segmentFor(segment);
    if (s == null) {
      return List.of();
    }
    List<Message> out = new ArrayList<>(s.count);
    for (Object held : s.slots) {
      if (held instanceof Message m) {
        out.add(m);
      }
    }
    return out;
  }

  /** Segment {@code segment} is stored in a row: it may be {@link #cool}ed. Writer only. */
  public void markStored(long segment) {
    Segment s = segmentFor(segment);
    if (s != null) {
      s.stored = true;
    }
  }

  /**
   * Drops stored segment {@code segment}'s messages from the heap: their slots turn cold. Writer only.
   *
   * @return the bytes the memory accounting can give back
   */
  public long cool(long segment) {
    Segment s = segmentFor(segment);
    if (s == null || !s.stored || !sealed(segment)) {
      return 0;
    }
    long before = heldBytes;
    for (int slot = 0; slot < s.slots.length; slot++) {
      if (s.slots[slot] instanceof Message m) {
        s.makeCold();
        s.coldSizes[slot] = m.sizeBytes();
        s.coldTimes[slot] = m.timestamp();
        s.slots[slot] = COLD;
        heldBytes -= m.sizeBytes() - COLD_BYTES;
        coldMessages++;
      }
    }
    return before - heldBytes;
  }

  /** What a released or removed slot gave back to the memory accounting (a cold one also stops counting as cold). */
  private int heldBy(Object held) {
    if (held instanceof Message m) {
      return m.sizeBytes();
    }
    coldMessages--;
    return COLD_BYTES;
  }

  /** Retained messages whose content is only in storage. Writer only. */
  public long coldMessages() {
    return coldMessages;
  }

  /** The placeholder of a cold slot: its sequence, time and size, no content. */
  private static Message placeholder(Segment segment, int slot, long sequence) {
    return Message.placeholder(sequence, segment.coldTimes[slot], 0, segment.coldSizes[slot]);
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
   * How many messages are retained from {@code sequence} to {@link #lastSequence()}: removed ones
   * (expired, evicted, deleted, trimmed) and freed ones do not count. Safe from any thread: a reader
   * racing the writer may count a removal or an append a little early or late. O(log segments), plus
   * a look at the slots of {@code sequence}'s own segment from it on (at most a segment's size).
   */
  @Override
  public long retainedFrom(long sequence) {
    long last = lastSequence;
    long first = firstSequence;
    long from = Math.max(sequence, first);
    if (from > last) {
      return 0;
    }
    long number = (from - 1) >>> shift;
    long lastNumber = (last - 1) >>> shift;
    long retained = counts.sum(number + 1, lastNumber, (first - 1) >>> shift);
    Segment segment = segmentFor(number);
    if (segment != null) {
      int end = number == lastNumber ? (int) ((last - 1) & mask) : mask;
      for (int slot = (int) ((from - 1) & mask); slot <= end; slot++) {
        Object held = segment.slots[slot];
        if (held instanceof Message || held == COLD) {
          retained++;
        }
      }
    }
    return Math.min(retained, last - from + 1);
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
      long[] m = firstRetainedFrom(mid, hi);
      if (m == null) {
        hi = mid;
      } else if (m[1] >= timestampMillis) {
        hi = mid;
      } else {
        lo = m[0] + 1;
      }
    }
    return lo;
  }

  /** The first retained sequence in [sequence, limitExclusive) and its append time, or null. */
  private long[] firstRetainedFrom(long sequence, long limitExclusive) {
    for (long s = sequence; s < limitExclusive; s++) {
      long at = appendedAt(s);
      if (at >= 0) {
        return new long[] {s, at};
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
      int countBefore = segment.count;
      for (; sequence <= end; sequence++) {
        int slot = (int) ((sequence - 1) & mask);
        Object held = segment.slots[slot];
        if (held instanceof Message || held == COLD) {
          boolean cold = held == COLD;
          long timestamp = cold ? segment.coldTimes[slot] : ((Message) held).timestamp();
          if (timestamp > appendedNotAfter) {
            retained = true;
            break;
          }
          int size = cold ? segment.coldSizes[slot] : ((Message) held).sizeBytes();
          segment.count--;
          segment.bytes -= size;
          retainedMessages--;
          retainedBytes -= size;
          heldBytes -= heldBy(held);
          released++;
        }
        segment.slots[slot] = null;
      }
      if (segment.count != countBefore) {
        counts.add(segmentNumber, segment.count - countBefore);
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
    Object held = segment.slots[slot];
    Message m;
    if (held instanceof Message hot) {
      m = hot;
    } else if (held == COLD) {
      m = placeholder(segment, slot, sequence);
    } else {
      return null;
    }
    if (removedMarker == null || removedMarker.epoch != epoch) {
      removedMarker = new Removed(epoch);
    }
    segment.slots[slot] = removedMarker;
    segment.count--;
    counts.add(segment.number, -1);
    segment.bytes -= m.sizeBytes();
    retainedMessages--;
    retainedBytes -= m.sizeBytes();
    heldBytes -= heldBy(held);
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
      int slot = (int) ((firstLive - 1) & mask);
      Object held = segment.slots[slot];
      if (held instanceof Message m) {
        return m;
      }
      if (held == COLD) {
        return placeholder(segment, slot, firstLive);
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

  /** Bytes accounted to retained messages now, hot or cold: what {@code maxBytes} bounds. Writer only. */
  public long retainedBytes() {
    return retainedBytes;
  }

  /**
   * Bytes the memory accounting holds for this log now: hot messages whole, cold ones
   * {@link #COLD_BYTES} each. Writer only.
   */
  public long heldBytes() {
    return heldBytes;
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
      long[] countsBySlot = new long[capacity];
      for (int i = 0; i < capacity; i++) {
        countsBySlot[i] = grown[i] == null ? 0 : grown[i].count;
      }
      counts.rebuild(countsBySlot);
      ring = grown; // readers holding the old ring still find every segment they can need in it
    } else {
      r[(int) (segment.number & (r.length - 1))] = segment;
    }
    segmentCount++;
  }

  /**
   * A fixed-size run of slots; slot {@code i} holds sequence {@code number * size + i + 1}: a
   * {@link Message}, a {@link Removed} marker, {@link #COLD} (size and time in the cold arrays), or
   * {@code null} before the append and once released.
   */
  private static final class Segment {
    final long number;
    final Object[] slots;
    int count;
    long bytes;
    /** In a stored segment row: it may be cooled. Writer only. */
    boolean stored;
    /** Sizes and append times of cold slots; allocated when the segment first turns cold. */
    int[] coldSizes;
    volatile long[] coldTimes;
    /** The messages last loaded back, while anyone else holds them. */
    volatile WeakReference<Message[]> loaded;

    Segment(long number, int size) {
      this.number = number;
      this.slots = new Object[size];
    }

    void makeCold() {
      if (coldSizes == null) {
        coldSizes = new int[slots.length];
        coldTimes = new long[slots.length];
      }
    }

    boolean isCold() {
      return coldTimes != null;
    }

    Message[] loadedMessages() {
      WeakReference<Message[]> l = loaded;
      return l == null ? null : l.get();
    }
  }
}
