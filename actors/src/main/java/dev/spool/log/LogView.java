package dev.spool.log;

import dev.spool.Message;
import java.util.concurrent.CompletionStage;

/**
 * What a reader may see of a queue's log: its messages by sequence, its bounds and the removal
 * markers. Consumers hold the log only through this view, so that the single-writer rule (only the
 * owning {@code QueueActor} appends, frees and removes) is in the types. Every method is safe from
 * any thread (see {@link SegmentedLog}).
 */
public interface LogView {

  /**
   * The retained message at {@code sequence}, or {@code null} if it was never appended, was freed or
   * was removed.
   */
  Message get(long sequence);

  /** Lowest sequence that may still be retained ({@code lastSequence() + 1} when the log is empty). */
  long firstSequence();

  /** Highest sequence appended, 0 if none. */
  long lastSequence();

  /** The sequence the next append gets. */
  long nextSequence();

  /** Messages per segment, a power of two: consumers report progress once per segment. */
  int segmentSize();

  /** The removal step (epoch) that removed {@code sequence} while its slot is still held, else 0. */
  long removedEpoch(long sequence);

  /** How many messages are retained from {@code sequence} to {@link #lastSequence()}, hot or cold. */
  long retainedFrom(long sequence);

  /**
   * Whether the message at {@code sequence} is retained but cold (in a stored segment, not in the
   * heap): {@link #get} returns {@code null} for it until it is {@link #load}ed, and a reader must
   * load it rather than pass over it.
   */
  boolean cold(long sequence);

  /**
   * Loads the cold segment holding {@code sequence} and starts loading the next {@code readAhead}
   * cold segments: completes with the segment's messages by slot (holding them keeps them loaded),
   * or {@code null} if it is not cold. Never blocks.
   */
  CompletionStage<Message[]> load(long sequence, int readAhead);

  /** When the retained message at {@code sequence}, hot or cold, was appended (epoch ms); -1 if none is. */
  long appendedAt(long sequence);

  /**
   * The first retained sequence whose message was appended at or after {@code timestampMillis}, or
   * {@link #nextSequence()} when there is none.
   */
  long firstSequenceAtOrAfter(long timestampMillis);
}
