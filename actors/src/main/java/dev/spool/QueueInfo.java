package dev.spool;

/**
 * A queue: its name, settings and current figures.
 *
 * @param name the queue's name
 * @param settings its settings
 * @param stats its figures now
 */
public record QueueInfo(String name, QueueSettings settings, QueueStats stats) {}
