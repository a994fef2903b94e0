package dev.spool;

import java.util.List;

/**
 * What Spool's queues retain, against the global memory threshold.
 *
 * @param totalMessages messages retained over all queues
 * @param totalBytes bytes accounted to them (payload, header text and {@link Message#FIXED_OVERHEAD_BYTES} each)
 * @param thresholdBytes the global threshold, 0 for none
 * @param underPressure whether memory pressure is on (from {@code MemoryLow} until {@code MemoryNormal})
 * @param queues each queue's share, by name
 * @since 0.1.0
 */
public record MemoryStats(long totalMessages, long totalBytes, long thresholdBytes, boolean underPressure,
    List<QueueMemory> queues) {

  /**
   * One queue's share.
   *
   * @param queue the queue
   * @param messages messages it retains
   * @param bytes heap they take, counted against the threshold (a message only in stored segments
   *     counts 16 bytes, not its size)
   */
  public record QueueMemory(String queue, long messages, long bytes) {}
}
