package dev.spool;

/**
 * A queue: its name, settings and current figures.
 *
 * @param name the queue's name
 * @param settings its settings
 * @param stats its figures now
 * @param member in cluster mode, the address of the member it runs on ({@code pekko://spool@host:port});
 *     {@code null} standalone
 * @since 0.1.0
 */
public record QueueInfo(String name, QueueSettings settings, QueueStats stats, String member) {

  /** A standalone queue's info. */
  public QueueInfo(String name, QueueSettings settings, QueueStats stats) {
    this(name, settings, stats, null);
  }
}
