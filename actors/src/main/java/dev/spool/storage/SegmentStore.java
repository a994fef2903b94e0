package dev.spool.storage;

import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * Where persistent queues keep their sealed segments: one row per segment in the journal's own
 * database (the embedded SQLite file, or PostgreSQL), written once and read back when a consumer
 * behind the queue's in-memory tail needs it. It stores bytes: what they hold (the encoded,
 * compressed, encrypted messages) is {@link SegmentCodec}'s business.
 *
 * <p>Every method returns at once; the database work runs on the store's own threads, never on
 * the caller's (an actor's). A store whose database cannot be reached fails the stage with
 * {@code JournalUnavailableException}; the next call tries again.
 */
public interface SegmentStore extends AutoCloseable {

  /**
   * Stores {@code row}, replacing a row with the same queue and segment number (a write repeated
   * after an unknown outcome is harmless). Completes once the row is committed durably.
   */
  CompletionStage<Void> write(SegmentRow row);

  /** The row of segment {@code segment} of {@code queueId}, with its data; {@code null} if there is none. */
  CompletionStage<SegmentRow> read(String queueId, long segment);

  /**
   * Every row of {@code queueId}, ascending by segment number, without their data
   * ({@link SegmentRow#data()} is {@code null}): what a queue needs at recovery.
   */
  CompletionStage<List<SegmentRow>> list(String queueId);

  /** Deletes the rows of {@code queueId} numbered below {@code segment}: segments wholly released. */
  CompletionStage<Void> deleteBelow(String queueId, long segment);

  /** Deletes every row of {@code queueId}: the queue was deleted. */
  CompletionStage<Void> deleteQueue(String queueId);

  @Override
  void close();
}
