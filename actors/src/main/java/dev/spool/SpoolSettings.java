package dev.spool;

import com.typesafe.config.Config;
import java.time.Duration;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * The engine's settings, read from {@code spool { … }} ({@code reference.conf} holds every default,
 * each with a comment).
 *
 * @param askTimeout how long an API call waits for the engine before failing with {@code Timeout}
 * @param segmentSize messages per log segment (a power of two)
 * @param maxMessageBytes the largest accepted message (payload plus headers)
 * @param maxBatchMessages the most messages one publish may carry
 * @param defaultQueue the queue that always exists
 * @param dedupMaxEntries the most producer ids one queue remembers for deduplication
 * @param consumer consumer defaults and limits
 */
public record SpoolSettings(
    Duration askTimeout,
    int segmentSize,
    long maxMessageBytes,
    int maxBatchMessages,
    String defaultQueue,
    int dedupMaxEntries,
    ConsumerDefaults consumer) {

  /**
   * Consumer defaults and limits.
   *
   * @param prefetch default max deliveries in flight
   * @param ackTimeout default redelivery deadline
   * @param backoff default redelivery backoff after a nack
   * @param maxReadWait cap on a long-poll's wait
   * @param maxParkedReads most long-polls one consumer holds at once
   * @param maxReadBatch most deliveries one read returns
   * @param streamBatch most deliveries handed to a stream subscriber in one message
   */
  public record ConsumerDefaults(
      int prefetch,
      Duration ackTimeout,
      Backoff backoff,
      Duration maxReadWait,
      int maxParkedReads,
      int maxReadBatch,
      int streamBatch) {}

  public SpoolSettings {
    if (Integer.bitCount(segmentSize) != 1 || segmentSize < 16) {
      throw new SpoolException.InvalidConfiguration("spool.segment-size must be a power of two, at least 16");
    }
    Names.requireValid("default queue", defaultQueue);
  }

  /** Reads {@code spool} from the system's configuration. */
  public static SpoolSettings create(ActorSystem<?> system) {
    return create(system.settings().config());
  }

  /** Reads {@code spool} from {@code config}. */
  public static SpoolSettings create(Config config) {
    Config c = config.getConfig("spool");
    Config consumer = c.getConfig("consumer");
    Config backoff = consumer.getConfig("backoff");
    return new SpoolSettings(
        c.getDuration("ask-timeout"),
        c.getInt("segment-size"),
        c.getBytes("max-message-bytes"),
        c.getInt("max-batch-messages"),
        c.getString("default-queue"),
        c.getInt("dedup.max-entries"),
        new ConsumerDefaults(
            consumer.getInt("prefetch"),
            consumer.getDuration("ack-timeout"),
            Backoff.exponential(
                backoff.getDuration("initial"),
                backoff.getDuration("max"),
                backoff.getDouble("multiplier"),
                backoff.getDouble("jitter")),
            consumer.getDuration("max-read-wait"),
            consumer.getInt("max-parked-reads"),
            consumer.getInt("max-read-batch"),
            consumer.getInt("stream-batch")));
  }
}
