package dev.spool.durable;

import dev.spool.ConsumerSettings;
import dev.spool.Message;
import java.util.List;
import java.util.Map;

/**
 * One journal write of a durable queue: everything the queue gathered while the previous write
 * was under way (group commit), as a single event, so one database row carries many publishes.
 *
 * @param writeId the queue's count of writes, so that a write whose outcome was unknown (the
 *     journal failed) can be recognised after recovery
 * @param messages appended messages, ascending sequences
 * @param created consumers created (resolved settings and start sequence)
 * @param deleted consumers deleted
 * @param positions consumers' latest positions
 * @param removed sequences removed out of order (evicted, trimmed, deleted, redriven); expiry is recomputed instead
 * @param freedBelow every sequence below it is freed (0: unchanged)
 * @param sealedThrough every message up to it is in a stored segment row, so the journal lets go of
 *     it (0: unchanged)
 * @param keyId the queue's encryption key id: its messages are journaled encrypted with it;
 *     {@code null} for a queue that is not encrypted
 */
public record QueueEvent(
    long writeId,
    List<Message> messages,
    List<ConsumerRecord> created,
    List<String> deleted,
    Map<String, ConsumerPosition> positions,
    long[] removed,
    long freedBelow,
    long sealedThrough,
    String keyId) implements Journaled {

  /** A write that seals nothing, of a queue that is not encrypted. */
  public QueueEvent(long writeId, List<Message> messages, List<ConsumerRecord> created, List<String> deleted,
      Map<String, ConsumerPosition> positions, long[] removed, long freedBelow) {
    this(writeId, messages, created, deleted, positions, removed, freedBelow, 0, null);
  }

  /**
   * A consumer as journaled.
   *
   * @param settings its resolved settings
   * @param start the first sequence it was to deliver
   */
  public record ConsumerRecord(ConsumerSettings settings, long start) {}
}
