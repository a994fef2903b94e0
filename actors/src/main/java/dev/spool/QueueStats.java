package dev.spool;

import java.util.Map;

/**
 * A queue's figures at one moment.
 *
 * @param firstSequence lowest sequence not released yet ({@code lastSequence + 1} when none is retained)
 * @param lastSequence highest sequence appended, 0 if none
 * @param depth messages retained: not released (acknowledged by every consumer and outside retention),
 *     expired or evicted
 * @param bytes bytes accounted to retained messages
 * @param segments log segments allocated (one is freed once all its sequences are released)
 * @param published messages appended since the queue was created
 * @param duplicates publishes answered from the dedup index instead of appended
 * @param delivered deliveries to subscribers, over all consumers, redeliveries included
 * @param acked acknowledgements, over all consumers
 * @param redelivered redeliveries, over all consumers
 * @param expired messages expired
 * @param dropped messages dropped (evicted, purged, trimmed or deleted, or failed past their delivery limit with
 *     no dead-letter queue)
 * @param deadLettered messages moved to a dead-letter queue
 * @param consumers consumers of the queue
 * @param publishRate messages appended per second over the janitor's last interval
 * @param deliverRate deliveries per second over the janitor's last interval
 * @param memoryBytes heap its retained messages take: the hot ones whole, those whose content is
 *     only in stored segments 16 bytes each; what counts against the memory threshold
 * @param storedMessages retained messages whose content is only in stored segments (a persistent
 *     queue with a segment store), read back when a consumer reaches them
 * @param refused messages whose publish was refused with {@code QueueFull} (the queue's limits, the
 *     memory threshold or a low disk) since the queue started on this node
 * @param oldestTimestamp when its oldest retained message was appended (epoch ms), 0 when it retains none
 * @param deadLetteredByReason {@code deadLettered} by the reason each was dead-lettered for
 *     ({@code rejected}, {@code max-deliveries}…), since the queue started on this node
 * @since 0.1.0
 */
public record QueueStats(
    long firstSequence,
    long lastSequence,
    long depth,
    long bytes,
    int segments,
    long published,
    long duplicates,
    long delivered,
    long acked,
    long redelivered,
    long expired,
    long dropped,
    long deadLettered,
    int consumers,
    double publishRate,
    double deliverRate,
    long memoryBytes,
    long storedMessages,
    long refused,
    long oldestTimestamp,
    Map<String, Long> deadLetteredByReason) {

  /** Keeps copies of the collections: the record never changes. */
  public QueueStats {
    deadLetteredByReason = deadLetteredByReason == null ? Map.of() : Map.copyOf(deadLetteredByReason);
  }

  /** Figures without the oldest message's time or dead letters by reason. */
  public QueueStats(long firstSequence, long lastSequence, long depth, long bytes, int segments, long published,
      long duplicates, long delivered, long acked, long redelivered, long expired, long dropped, long deadLettered,
      int consumers, double publishRate, double deliverRate, long memoryBytes, long storedMessages, long refused) {
    this(firstSequence, lastSequence, depth, bytes, segments, published, duplicates, delivered, acked, redelivered,
        expired, dropped, deadLettered, consumers, publishRate, deliverRate, memoryBytes, storedMessages, refused, 0,
        Map.of());
  }

  /** Figures of a queue that refused nothing. */
  public QueueStats(long firstSequence, long lastSequence, long depth, long bytes, int segments, long published,
      long duplicates, long delivered, long acked, long redelivered, long expired, long dropped, long deadLettered,
      int consumers, double publishRate, double deliverRate, long memoryBytes, long storedMessages) {
    this(firstSequence, lastSequence, depth, bytes, segments, published, duplicates, delivered, acked, redelivered,
        expired, dropped, deadLettered, consumers, publishRate, deliverRate, memoryBytes, storedMessages, 0);
  }

  /** Figures of a queue whose messages are all in memory. */
  public QueueStats(long firstSequence, long lastSequence, long depth, long bytes, int segments, long published,
      long duplicates, long delivered, long acked, long redelivered, long expired, long dropped, long deadLettered,
      int consumers, double publishRate, double deliverRate) {
    this(firstSequence, lastSequence, depth, bytes, segments, published, duplicates, delivered, acked, redelivered,
        expired, dropped, deadLettered, consumers, publishRate, deliverRate, bytes, 0, 0);
  }
}
