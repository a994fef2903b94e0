package dev.spool.queue;

import dev.spool.Message;
import dev.spool.Overflow;
import dev.spool.QueueSettings;
import dev.spool.SpoolException;
import dev.spool.SpoolEvent;
import dev.spool.SpoolSettings;
import dev.spool.log.DedupIndex;
import dev.spool.log.ExpiryIndex;
import dev.spool.log.SegmentedLog;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The publish path of one queue: a publish is first <em>prepared</em> (checked, deduplicated
 * against the index and the ids still waiting for the journal, given its sequences, room made for
 * it under the queue's bounds and the memory threshold), then <em>committed</em> into the
 * {@link SegmentedLog}. A transient queue commits at once; a durable one keeps the prepared publish
 * {@linkplain #awaitJournal waiting} until its journal write is stored, its sequences and bytes
 * counted against the bounds meanwhile.
 *
 * <p>It refuses by throwing the {@link SpoolException} the caller answers with: a refused publish
 * has changed nothing but what {@code drop-oldest} evicted on the way, which the {@link Retention}
 * step reports like any eviction.
 *
 * <p>Single writer: only the owning queue actor calls it, on its own thread; it is the only code
 * that appends to the queue's log.
 */
public final class Appender {

  /**
   * A publish checked, deduplicated, given its sequences and its memory, not yet in the log.
   *
   * @param fresh the messages new to the queue ({@code freshCount} of them), each with its sequence
   * @param dropped how many of them, the oldest, {@code drop-oldest} drops at once: a batch larger
   *     than the queue can hold keeps its newest messages
   * @param keptBytes the bytes of the others, reserved with the memory budget
   * @param waitsForPending a duplicate of a message still waiting for the journal: answered with it
   */
  public record Prepared(List<Long> sequences, Message[] fresh, int freshCount, int dropped, long keptBytes,
      int duplicates, boolean waitsForPending) {

    /** How many of the fresh messages join the log. */
    public int kept() {
      return freshCount - dropped;
    }
  }

  private final String name;
  private final SegmentedLog log;
  private final DedupIndex dedup;
  private final ExpiryIndex expiries;
  private final Retention retention;
  private final MemoryBudget memory;
  private final QueueSettings queueSettings;
  private final SpoolSettings settings;
  /** High half of the ids of messages the producer gave none (see {@link Message#newIdSeed()}). */
  private final long idSeed;
  /** 1 if a publish also holds its serialized form until its journal write completes, else 0. */
  private final int hold;
  private final boolean dropOldest;
  /** Messages (and their bytes) with sequences and reserved memory, waiting for the journal. */
  private int pendingMessages;
  private long pendingBytes;
  /** Producer-chosen ids of pending messages, so that a retry while one is pending is deduplicated. */
  private final Map<UUID, Long> pendingIds = new HashMap<>();
  private long lastTimestamp;
  /** The last message given a sequence, whose envelope the next one reuses when equal. */
  private Message lastPrepared;
  private long published;
  private long duplicates;

  /** @param durable whether publishes wait for a journal write (which holds their serialized form) */
  public Appender(String name, SegmentedLog log, DedupIndex dedup, ExpiryIndex expiries, Retention retention,
      MemoryBudget memory, QueueSettings queueSettings, SpoolSettings settings, long idSeed, boolean durable) {
    this.name = name;
    this.log = log;
    this.dedup = dedup;
    this.expiries = expiries;
    this.retention = retention;
    this.memory = memory;
    this.queueSettings = queueSettings;
    this.settings = settings;
    this.idSeed = idSeed;
    this.hold = durable ? 1 : 0;
    this.dropOldest = queueSettings.overflow() == Overflow.DROP_OLDEST;
  }

  /** Messages appended since the queue started, duplicates left out. */
  public long published() {
    return published;
  }

  /** Messages published again under an id the queue already had. */
  public long duplicates() {
    return duplicates;
  }

  /** Bytes of the messages waiting for the journal. */
  public long pendingBytes() {
    return pendingBytes;
  }

  /** Continues after {@code last}, the newest message a durable queue recovered. */
  public void restored(Message last) {
    lastPrepared = last;
    lastTimestamp = last.timestamp();
  }

  /** The queue was recovered with its newest message in storage, appended at {@code timestamp}. */
  public void restoredAt(long timestamp) {
    lastTimestamp = timestamp;
  }

  private long nextSequence() {
    return log.nextSequence() + pendingMessages;
  }

  /**
   * Checks, deduplicates and sequences a publish, and makes room for it.
   *
   * @throws SpoolException if it is refused; nothing of it is kept then
   */
  public Prepared prepare(String producerId, List<Message> messages) {
    int count = messages.size();
    if (count > settings.maxBatchMessages()) {
      throw new SpoolException.InvalidConfiguration("a publish may carry at most " + settings.maxBatchMessages()
          + " messages, not " + count);
    }
    long now = Math.max(settings.clock().millis(), lastTimestamp); // append times never go back
    long window = queueSettings.dedupWindow().toMillis();
    Long[] sequences = new Long[count];
    Message[] appended = new Message[count];
    Map<UUID, Long> idsInBatch = null;
    int fresh = 0;
    long freshBytes = 0;
    boolean waitsForPending = false;
    for (int i = 0; i < count; i++) {
      Message m = messages.get(i);
      if (m == null) {
        throw new SpoolException.InvalidConfiguration("message " + (i + 1) + " of " + count + " is missing");
      }
      long bodyBytes = m.contentBytes();
      if (bodyBytes > settings.maxMessageBytes()) {
        throw new SpoolException.MessageTooLarge("message " + (i + 1) + " of " + count + " has " + bodyBytes
            + " bytes; the limit is " + settings.maxMessageBytes());
      }
      requireDelayWithin(m, now, i, count);
      if (m.hasProducerId()) {
        long original = dedup.find(m.id(), window, now);
        Long pending = original > 0 || pendingIds.isEmpty() ? null : pendingIds.get(m.id());
        Long inBatch = idsInBatch == null ? null : idsInBatch.get(m.id());
        if (original > 0 || pending != null || inBatch != null) {
          sequences[i] = original > 0 ? original : pending != null ? pending : inBatch;
          waitsForPending |= pending != null;
          continue;
        }
      }
      long sequence = nextSequence() + fresh;
      Message stored = m.appended(sequence, now, producerId, idSeed, fresh > 0 ? appended[fresh - 1] : lastPrepared);
      requireFits(stored, i, count);
      appended[fresh++] = stored;
      freshBytes += stored.sizeBytes();
      sequences[i] = sequence;
      if (m.hasProducerId()) {
        if (idsInBatch == null) {
          idsInBatch = new HashMap<>();
        }
        idsInBatch.put(m.id(), sequence);
      }
    }
    int dropped = fresh == 0 ? 0 : makeRoom(appended, fresh, freshBytes);
    long keptBytes = freshBytes;
    for (int i = 0; i < dropped; i++) {
      keptBytes -= appended[i].sizeBytes();
    }
    lastTimestamp = now;
    if (fresh > 0) {
      lastPrepared = appended[fresh - 1];
    }
    return new Prepared(List.of(sequences), appended, fresh, dropped, keptBytes, count - fresh, waitsForPending);
  }

  /** Refuses a message due further ahead of {@code now} than {@code spool.scheduling.max-delay}. */
  private void requireDelayWithin(Message m, long now, int i, int count) {
    long maxDelay = settings.scheduling().maxDelay().toMillis();
    long ahead = m.delay().map(java.time.Duration::toMillis).orElse(m.deliverAtMillis() - now);
    if (ahead > maxDelay) {
      throw new SpoolException.InvalidConfiguration("message " + (i + 1) + " of " + count + " is to be delivered "
          + java.time.Duration.ofMillis(ahead) + " from now; the most is " + settings.scheduling().maxDelay()
          + " (spool.scheduling.max-delay)");
    }
  }

  /**
   * Appends a prepared publish to the log. The messages {@code drop-oldest} dropped from the batch
   * take their sequences as removed slots, and every consumer is told of them like of any eviction.
   */
  public void commit(Prepared prepared) {
    int fresh = prepared.freshCount();
    int dropped = prepared.dropped();
    Message[] appended = prepared.fresh();
    Retention.Step droppedFromBatch = dropped == 0 ? null : retention.step(Retention.Reason.EVICTED, false);
    for (int i = 0; i < dropped; i++) {
      droppedFromBatch.neverStored(appended[i]);
    }
    log.appendAll(appended, dropped, fresh - dropped);
    for (int i = 0; i < fresh; i++) {
      Message stored = appended[i];
      if (stored.hasProducerId()) {
        dedup.remember(stored.id(), stored.sequence(), stored.timestamp());
      }
      if (i >= dropped && stored.expiresAtMillis() != 0) {
        expiries.add(stored.expiresAtMillis(), stored.sequence());
      }
    }
    published += fresh;
    duplicates += prepared.duplicates();
    if (droppedFromBatch != null) {
      droppedFromBatch.finish();
    }
    if (dropOldest && overBounds(0, 0)) {
      // Publishes that waited for the journal together may pass the bounds only together: the oldest go.
      Retention.Step eviction = null;
      while (overBounds(0, 0) && log.oldest() != null) {
        eviction = retention.evictOldest(eviction);
      }
      eviction.finish();
    }
  }

  // ---- waiting for the journal

  /**
   * Refuses a durable publish of {@code count} messages while too much already waits for the
   * journal: back-pressure, not a failure (nothing of it is kept, and a retry may succeed soon).
   */
  public void requireRoomToWait(int count) {
    int limit = settings.persistence().maxPendingMessages();
    if (pendingMessages + count > limit) {
      throw new SpoolException.QueueFull("queue '" + name + "' has " + pendingMessages
          + " messages waiting for its journal (the most is " + limit + "); retry later");
    }
    long byteLimit = settings.persistence().maxPendingBytes();
    if (pendingBytes > 0 && pendingBytes >= byteLimit) { // one publish alone may pass it: it is bounded by its size limit
      throw new SpoolException.QueueFull("queue '" + name + "' has " + pendingBytes
          + " bytes waiting for its journal (the most is " + byteLimit + "); retry later");
    }
  }

  /** A prepared publish waits for its journal write: its sequences, bytes and ids count as taken. */
  public void awaitJournal(Prepared prepared) {
    for (int i = 0; i < prepared.freshCount(); i++) {
      Message m = prepared.fresh()[i];
      if (m.hasProducerId()) {
        pendingIds.put(m.id(), m.sequence());
      }
    }
    pendingMessages += prepared.kept();
    pendingBytes += prepared.keptBytes();
  }

  /** A pending publish's write completed or failed: what was reserved for that write is given back. */
  public void settle(Prepared prepared) {
    pendingMessages -= prepared.kept();
    pendingBytes -= prepared.keptBytes();
    memory.releaseHeld(writeHold(prepared.keptBytes()));
    for (int i = 0; i < prepared.freshCount(); i++) {
      Message m = prepared.fresh()[i];
      if (m.hasProducerId()) {
        pendingIds.remove(m.id(), m.sequence());
      }
    }
  }

  /** A pending publish's write was not stored: nothing of it is kept, its memory is given back. */
  public void abandon(Prepared prepared) {
    settle(prepared);
    memory.release(prepared.keptBytes());
  }

  /**
   * Messages that waited for a write that was not stored leave a gap: the next message does not
   * reuse an envelope from them.
   */
  public void forgetLastPrepared() {
    lastPrepared = null;
  }

  /**
   * The event announcing {@code m}, appended to {@code queue}, with its group: a malformed
   * {@code group-size} is carried as unknown (0), not refused, for the message is still valid.
   */
  public static SpoolEvent.MessageAdded messageAdded(String queue, Message m) {
    int groupSize = 0;
    try {
      String size = m.headers().get("group-size");
      groupSize = size == null ? 0 : Integer.parseInt(size.trim());
    } catch (NumberFormatException notANumber) {
      // unknown
    }
    return new SpoolEvent.MessageAdded(Instant.ofEpochMilli(m.timestamp()), queue, m.sequence(), m.type(),
        m.headers().get("group-id"), groupSize);
  }

  /** Gives back everything this queue reserved, as it stops. */
  public void releaseAll() {
    memory.release(log.heldBytes() + pendingBytes);
    memory.releaseHeld(writeHold(pendingBytes));
  }

  // ---- bounds and memory

  /** Whether the log, with what waits for the journal and {@code messages} more, passes the queue's bounds. */
  private boolean overBounds(long messages, long bytes) {
    long maxLength = queueSettings.maxLength();
    long maxBytes = queueSettings.maxBytes();
    return maxLength > 0 && log.retainedMessages() + pendingMessages + messages > maxLength
        || maxBytes > 0 && log.retainedBytes() + pendingBytes + bytes > maxBytes;
  }

  /**
   * The heap a durable publish of {@code freshBytes} holds until the journal write that stores it
   * completes: its serialized form, one exactly sized array no larger than the messages' accounted
   * bytes (the SQLite driver's copy of it is native memory, outside the heap). It is reserved with
   * the publish, so that the write never takes the accounted bytes past the threshold.
   */
  private static long writeHold(long freshBytes) {
    return freshBytes;
  }

  /** Refuses a message that could never fit, whatever the queue evicted: before anything is. */
  private void requireFits(Message stored, int index, int count) {
    long size = stored.sizeBytes();
    long maxBytes = queueSettings.maxBytes();
    if (maxBytes > 0 && size > maxBytes) {
      throw new SpoolException.MessageTooLarge("message " + (index + 1) + " of " + count + " takes " + size
          + " bytes; it can never fit in queue '" + name + "', whose maxBytes is " + maxBytes);
    }
    long threshold = memory.threshold();
    long reserved = size + writeHold(size) * hold;
    if (threshold > 0 && reserved > threshold) {
      throw globalFull(reserved);
    }
  }

  /**
   * Makes room for the {@code count} fresh messages of a publish ({@code freshBytes} in all) under
   * the queue's bounds and the global memory threshold, reserving their bytes (and as much again
   * for the journal write of a durable queue). Under {@code reject} it first releases what the
   * consumers have acknowledged since, then refuses with {@code QueueFull}. Under
   * {@code drop-oldest} it evicts this queue's oldest messages; a batch larger than the queue can
   * hold keeps its newest messages and drops the rest of it. A message that could never fit is
   * refused before anything is evicted.
   *
   * @return how many of the fresh messages, the oldest of the batch, are dropped
   */
  private int makeRoom(Message[] fresh, int count, long freshBytes) {
    long threshold = memory.threshold();
    if (!dropOldest) {
      requireBatchFits(count, freshBytes);
      if (overBounds(count, freshBytes)) {
        retention.releaseAcknowledged();
        if (overBounds(count, freshBytes)) {
          throw refusal(count, freshBytes);
        }
      }
      long held = writeHold(freshBytes) * hold;
      if (!memory.tryReserve(freshBytes, held)) {
        retention.cool(threshold > 0 ? memory.bytes() + freshBytes + held - threshold + 1 : 0);
        if (!memory.tryReserve(freshBytes, held)
            && (retention.releaseAcknowledged() == 0 || !memory.tryReserve(freshBytes, held))) {
          throw globalFull(freshBytes + held);
        }
      }
      return 0;
    }
    int dropped = droppedFromBatch(fresh, count);
    long keptBytes = freshBytes;
    for (int i = 0; i < dropped; i++) {
      keptBytes -= fresh[i].sizeBytes();
    }
    long held = writeHold(keptBytes) * hold;
    long reserved = keptBytes + held;
    Retention.Step eviction = null;
    while (overBounds(count - dropped, keptBytes) && log.oldest() != null) {
      eviction = retention.evictOldest(eviction);
    }
    if (eviction != null) {
      eviction.release(); // what the queue's own bounds evicted counts toward the global threshold too
    }
    while (true) {
      // Its own oldest go first, to stay under the threshold: reaching it puts every queue under
      // pressure, and other drop-oldest queues would pay for this one's publish.
      long needed = threshold > 0 ? memory.bytes() + reserved - threshold + 1 : 0;
      if (needed > 0) {
        needed -= retention.cool(needed); // stored segments leave the heap before anything is evicted
      }
      if (needed > 0 && retention.oldestInHeap()) {
        long freedBefore = eviction == null ? 0 : eviction.bytes();
        do {
          eviction = retention.evictOldest(eviction);
        } while (eviction.bytes() - freedBefore < needed && retention.oldestInHeap());
        eviction.release();
      } else if (memory.tryReserve(keptBytes, held)) {
        break;
      } else if (!retention.oldestInHeap()) {
        if (eviction != null) {
          eviction.finish();
        }
        throw globalFull(reserved);
      }
    }
    if (eviction != null) {
      eviction.finish();
    }
    return dropped;
  }

  /**
   * Under {@code drop-oldest}: how many of a batch's oldest messages cannot be kept even in an
   * empty queue, by its {@code maxLength}, its {@code maxBytes}, or the global threshold beside
   * what the other queues hold.
   */
  private int droppedFromBatch(Message[] fresh, int count) {
    long maxLength = queueSettings.maxLength();
    long maxBytes = queueSettings.maxBytes();
    long threshold = memory.threshold();
    long room = threshold - (memory.bytes() - log.heldBytes());
    int dropped = maxLength > 0 && count > maxLength ? (int) (count - maxLength) : 0;
    long bytes = 0;
    long reserved = 0;
    for (int i = count - 1; i >= dropped; i--) {
      long size = fresh[i].sizeBytes();
      bytes += size;
      reserved += size * (1 + hold);
      if (maxBytes > 0 && bytes > maxBytes || threshold > 0 && reserved > room) {
        if (i == count - 1) {
          throw globalFull(reserved); // not even the newest fits beside what the other queues hold
        }
        return i + 1;
      }
    }
    return dropped;
  }

  /**
   * Under {@code reject}, refuses a batch that could not fit even in an empty queue: waiting would
   * not help, so it is not {@code QueueFull}.
   */
  private void requireBatchFits(int count, long freshBytes) {
    long maxLength = queueSettings.maxLength();
    long maxBytes = queueSettings.maxBytes();
    if (maxLength > 0 && count > maxLength) {
      throw new SpoolException.MessageTooLarge("a batch of " + count + " messages can never fit in queue '" + name
          + "', whose maxLength is " + maxLength + "; publish at most " + maxLength + " at a time");
    }
    if (maxBytes > 0 && freshBytes > maxBytes) {
      throw new SpoolException.MessageTooLarge("a batch of " + freshBytes + " bytes can never fit in queue '" + name
          + "', whose maxBytes is " + maxBytes + "; publish fewer messages at a time");
    }
  }

  private SpoolException refusal(int count, long freshBytes) {
    long maxLength = queueSettings.maxLength();
    String held = " not released yet (a message is released once every consumer has acknowledged it and all"
        + " before it, and it is past the queue's retention)";
    if (maxLength > 0 && log.retainedMessages() + pendingMessages + count > maxLength) {
      return new SpoolException.QueueFull("queue '" + name + "' holds " + (log.retainedMessages() + pendingMessages)
          + " messages" + held + "; " + count + " more would pass its maxLength of " + maxLength);
    }
    return new SpoolException.QueueFull("queue '" + name + "' holds " + (log.retainedBytes() + pendingBytes)
        + " bytes of messages" + held + "; " + freshBytes + " more would pass its maxBytes of "
        + queueSettings.maxBytes());
  }

  private SpoolException globalFull(long freshBytes) {
    return new SpoolException.QueueFull("Spool holds " + memory.bytes() + " bytes over all queues; " + freshBytes
        + " more would pass the memory threshold of " + memory.threshold() + " bytes (queue '" + name
        + "' overflow: " + queueSettings.overflow().wireName() + ")");
  }
}
