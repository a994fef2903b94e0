package dev.spool.queue;

/**
 * The engine's memory accounting as one queue sees it: the bytes every queue retains (and holds for
 * journal writes) against the global threshold. Implemented by the engine's memory monitor, which
 * all queues share; a queue's {@link Appender} and {@link Retention} reserve before they append and
 * release what they free.
 */
public interface MemoryBudget {

  /**
   * Reserves {@code size} bytes of messages and {@code held} bytes for the journal write that stores
   * them, together: both fit under the threshold or neither is reserved.
   *
   * @return false, with nothing reserved, if they would pass the threshold
   */
  boolean tryReserve(long size, long held);

  /**
   * Reserves {@code size} bytes a durable queue recovered from its journal, if retained bytes stay
   * within the threshold; what journals hold for a moment does not count here.
   *
   * @return false, with nothing reserved, if they would pass the threshold
   */
  boolean tryReserveRecovered(long size);

  /** Gives back what removed or freed messages held. */
  void release(long size);

  /** Gives back what a journal write held once it completed or failed. */
  void releaseHeld(long size);

  /** The global threshold in bytes, 0 for none. */
  long threshold();

  /** Bytes counted against the threshold over all queues: retained and held. */
  long bytes();

  /** Retained bytes to free to get back under the low-water mark. */
  long excessOverLowWater();
}
