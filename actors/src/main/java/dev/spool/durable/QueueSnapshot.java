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
 */
public record QueueSnapshot(long lastWriteId, long lastSequence, List<Message> messages,
    List<QueueEvent.ConsumerRecord> consumers, Map<String, ConsumerPosition> positions,
    List<DedupEntry> dedup) implements Journaled {

  /** A producer-chosen id, the sequence it was appended at, and when. */
  public record DedupEntry(java.util.UUID id, long sequence, long appendedAt) {
    /** Its size in a snapshot: four longs. */
    static final int SERIALIZED_BYTES = 32;
  }
}
