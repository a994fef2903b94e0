package dev.spool.durable;

import dev.spool.Message;
import java.util.List;
import java.util.Map;

/**
 * A durable queue's journal at one point: what it retains and where its consumers stand. Written
 * every {@code spool.persistence.snapshot-every} writes, so that recovery reads this and the
 * writes after it, not the queue's whole history.
 *
 * @param lastWriteId the last write included
 * @param lastSequence the highest sequence ever appended (sequences are never reused)
 * @param messages retained messages, ascending
 * @param consumers consumers with their positions
 * @param dedup producer-chosen ids appended within the dedup window, retained or not, oldest first
 * @param sealedThrough every retained message up to it is in a stored segment row and left out of
 *     {@link #messages}
 * @param freedBelow every sequence below it is freed: stored segment rows below it are garbage
 * @param removed sequences up to {@link #sealedThrough} removed out of order since they were sealed
 * @param keyId the queue's encryption key id ({@link #messages} are stored encrypted with it), or
 *     {@code null}
 */
public record QueueSnapshot(long lastWriteId, long lastSequence, List<Message> messages,
    List<QueueEvent.ConsumerRecord> consumers, Map<String, ConsumerPosition> positions,
    List<DedupEntry> dedup, long sealedThrough, long freedBelow, long[] removed, String keyId) implements Journaled {

  /** A snapshot of a queue that seals nothing and is not encrypted. */
  public QueueSnapshot(long lastWriteId, long lastSequence, List<Message> messages,
      List<QueueEvent.ConsumerRecord> consumers, Map<String, ConsumerPosition> positions, List<DedupEntry> dedup) {
    this(lastWriteId, lastSequence, messages, consumers, positions, dedup, 0, 0, new long[0], null);
  }

  /** A producer-chosen id, the sequence it was appended at, and when. */
  public record DedupEntry(java.util.UUID id, long sequence, long appendedAt) {
    /** Its size in a snapshot: four longs. */
    static final int SERIALIZED_BYTES = 32;
  }
}
