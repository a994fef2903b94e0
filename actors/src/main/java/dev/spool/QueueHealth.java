package dev.spool;

import java.util.List;

/**
 * How a queue is doing, judged by the engine from its figures, its consumers' and their history,
 * with the reason in words.
 *
 * @param queue the queue
 * @param status the worst of the queue's own status and its consumers'
 * @param reason why, in a sentence (what is fine, when it is {@code ok})
 * @param lagTrend the trend of its most lagging consumer's lag
 * @param deadLetterFor the queues whose dead-letter queue this is, by name; empty when none names it
 * @param recent what happened to its messages in the last {@code spool.health.recent}
 * @param consumers each consumer's status, by name
 * @since 0.1.0
 */
public record QueueHealth(String queue, HealthStatus status, String reason, LagTrend lagTrend,
    List<String> deadLetterFor, Recent recent, List<ConsumerHealth> consumers) {

  /** Keeps copies of the collections: the record never changes. */
  public QueueHealth {
    deadLetterFor = List.copyOf(deadLetterFor);
    consumers = List.copyOf(consumers);
  }

  /** This health, naming the queues whose dead-letter queue this one is. */
  public QueueHealth withDeadLetterFor(List<String> sources) {
    return new QueueHealth(queue, status, reason, lagTrend, sources, recent, consumers);
  }

  /**
   * A consumer's status.
   *
   * @param consumer its name
   * @param status how it is doing
   * @param reason why, in a sentence
   * @param lagTrend where its lag went over about the last minute
   */
  public record ConsumerHealth(String consumer, HealthStatus status, String reason, LagTrend lagTrend) {}

  /**
   * Counts over a recent window, from the queue's history.
   *
   * @param windowMs the window
   * @param deadLettered messages dead-lettered
   * @param dropped messages dropped
   * @param expired messages expired
   * @param refused messages whose publish was refused with {@code QueueFull}
   */
  public record Recent(long windowMs, long deadLettered, long dropped, long expired, long refused) {}
}
