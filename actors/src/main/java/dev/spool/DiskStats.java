package dev.spool;

/**
 * The disk alarm of the embedded journal ({@code spool.storage.disk-free-limit}) as last measured.
 *
 * @param low whether the alarm is raised: publishes to persistent queues fail with {@code QueueFull}
 *     (from {@code DiskLow} until {@code DiskNormal})
 * @param freeBytes usable bytes on the journal's file system at the last measure; -1 before the
 *     first one or without an alarm
 * @param limitBytes the limit; 0 without an alarm (no embedded journal, or the limit is off)
 * @param path the journal file whose file system is watched; {@code null} without an alarm
 * @since 0.1.0
 */
public record DiskStats(boolean low, long freeBytes, long limitBytes, String path) {}
