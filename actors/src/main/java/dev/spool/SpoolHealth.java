package dev.spool;

import java.util.List;

/**
 * Everything an operator triages first: the alarms raised now, and every queue's health.
 *
 * @param alarms memory and disk pressure, and the queues that dropped, expired or refused messages recently
 * @param queues every queue's health, by name (a partitioned queue as one)
 * @since 0.1.0
 */
public record SpoolHealth(List<Alarm> alarms, List<QueueHealth> queues) {

  /** Keeps copies of the collections: the record never changes. */
  public SpoolHealth {
    alarms = List.copyOf(alarms);
    queues = List.copyOf(queues);
  }

  /**
   * An alarm.
   *
   * @param kind {@code memory}, {@code disk}, {@code refused}, {@code dropped} or {@code expired}
   * @param severity {@code critical} (publishes are being refused everywhere) or {@code warning}
   * @param queue the queue it is about, {@code null} for the whole service
   * @param message what happened, in a sentence
   */
  public record Alarm(String kind, String severity, String queue, String message) {}
}
