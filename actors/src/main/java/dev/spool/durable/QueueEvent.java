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
 * @param follows the write this one follows ({@code writeId} of the write before it, 0 for the
 *     first), or {@link #UNCHAINED} for a write journaled before writes were chained
 * @param confirmed the last write known stored when this one was handed out: {@code follows}, or
 *     an earlier write while the one it follows was still under way. Two writes of a queue may be
 *     under way at once, and the later can be stored while the earlier is not; such a write does
 *     not apply at recovery, so what a recovery holds is what its queue was told. A write whose
 *     predecessor was already confirmed applies even if that predecessor is missing: it was
 *     stored, and lost with a damaged journal file.
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
    String keyId,
    long follows,
    long confirmed) implements Journaled {

  /** What a write journaled before writes were chained follows: it applies after any write. */
  public static final long UNCHAINED = -1;

  /** A write that follows any write (as journaled before writes were chained). */
  public QueueEvent(long writeId, List<Message> messages, List<ConsumerRecord> created, List<String> deleted,
      Map<String, ConsumerPosition> positions, long[] removed, long freedBelow, long sealedThrough, String keyId) {
    this(writeId, messages, created, deleted, positions, removed, freedBelow, sealedThrough, keyId, UNCHAINED,
        UNCHAINED);
  }

  /** A write that seals nothing, of a queue that is not encrypted, following any write. */
  public QueueEvent(long writeId, List<Message> messages, List<ConsumerRecord> created, List<String> deleted,
      Map<String, ConsumerPosition> positions, long[] removed, long freedBelow) {
    this(writeId, messages, created, deleted, positions, removed, freedBelow, 0, null, UNCHAINED, UNCHAINED);
  }

  /** Whether this write follows {@code lastWriteId}, or any write if it is not chained. */
  public boolean follows(long lastWriteId) {
    return follows == UNCHAINED || follows == lastWriteId;
  }

  /**
   * Whether this write, read back from the journal, applies after {@code lastWriteId}, the last
   * write applied: unless it was handed out while the write it follows was under way and that write
   * is not there.
   */
  public boolean appliesAfter(long lastWriteId) {
    return follows(lastWriteId) || confirmed == follows;
  }

  /**
   * A consumer as journaled.
   *
   * @param settings its resolved settings
   * @param start the first sequence it was to deliver
   */
  public record ConsumerRecord(ConsumerSettings settings, long start) {}
}
