package dev.spool;

import java.time.Duration;
import java.util.regex.Pattern;

/**
 * A queue's settings (semantics.md, "Queue settings"). Start from {@link #defaults()} and refine with
 * the {@code with…} methods; each returns a new value. Two queues' settings are equal when every
 * field is, which is what makes {@code createQueue} idempotent.
 *
 * @param durability in memory, or journaled
 * @param maxLength bound on retained messages, 0 for unbounded
 * @param maxBytes bound on retained bytes, 0 for unbounded
 * @param overflow what a publish over the bounds does
 * @param ttl messages older than this expire, {@code null} for never
 * @param retention how long acknowledged messages are kept for replay
 * @param deadLetter where messages go after too many failed deliveries, {@code null} for nowhere
 * @param dedupWindow how long a producer-chosen message id is remembered for deduplication
 * @param compression how a persistent queue's sealed segments are compressed; {@code null} takes
 *     the default of the durability: {@link Compression#LZ4} when persistent, {@link Compression#NONE}
 *     (the only choice) when transient
 * @param encryption the key a persistent queue's data is encrypted with at rest, {@code null} for none
 * @param partitions how many partitions the queue is split into (1 to {@value #MAX_PARTITIONS}): each is
 *     a queue of its own, {@code name#0} to {@code name#N-1}, with its own log, journal and consumer
 *     cursors; a message with a key goes to its key's partition, so order is kept per key
 * @param maxPriority 0 (the default) to deliver in sequence order whatever a message's priority, or
 *     1 to {@value Message#MAX_PRIORITY}: each consumer then delivers the highest priority first among
 *     the ready messages of its look-ahead window ({@code spool.scheduling.priority-window}), priorities
 *     above this counting as this
 * @since 0.1.0
 */
public record QueueSettings(
    Durability durability,
    long maxLength,
    long maxBytes,
    Overflow overflow,
    Duration ttl,
    Duration retention,
    DeadLetter deadLetter,
    Duration dedupWindow,
    Compression compression,
    Encryption encryption,
    int partitions,
    int maxPriority) {

  /** The most partitions a queue can have. */
  public static final int MAX_PARTITIONS = 256;

  private static final QueueSettings DEFAULTS = new QueueSettings(
      Durability.TRANSIENT, 0, 0, Overflow.REJECT, null, Duration.ZERO, null, Duration.ofMinutes(2));

  /** Settings with the durability's default compression and no encryption. */
  public QueueSettings(Durability durability, long maxLength, long maxBytes, Overflow overflow, Duration ttl,
      Duration retention, DeadLetter deadLetter, Duration dedupWindow) {
    this(durability, maxLength, maxBytes, overflow, ttl, retention, deadLetter, dedupWindow, null, null, 1, 0);
  }

  /** Settings of a queue that is not partitioned. */
  public QueueSettings(Durability durability, long maxLength, long maxBytes, Overflow overflow, Duration ttl,
      Duration retention, DeadLetter deadLetter, Duration dedupWindow, Compression compression,
      Encryption encryption) {
    this(durability, maxLength, maxBytes, overflow, ttl, retention, deadLetter, dedupWindow, compression, encryption,
        1, 0);
  }

  /** Settings of a queue delivering in sequence order (no {@code maxPriority}). */
  public QueueSettings(Durability durability, long maxLength, long maxBytes, Overflow overflow, Duration ttl,
      Duration retention, DeadLetter deadLetter, Duration dedupWindow, Compression compression,
      Encryption encryption, int partitions) {
    this(durability, maxLength, maxBytes, overflow, ttl, retention, deadLetter, dedupWindow, compression, encryption,
        partitions, 0);
  }

  /**
   * A dead-letter target.
   *
   * @param queue the dead-letter queue's name
   * @param maxDeliveries deliveries after which a message is dead-lettered
   */
  public record DeadLetter(String queue, int maxDeliveries) {
    /** Deliveries before dead-lettering when none is given: enough for transient failures, few enough to stop a storm. */
    public static final int DEFAULT_MAX_DELIVERIES = 10;
  }

  /**
   * Encryption at rest: the queue's messages (payloads, headers and every other field) are stored
   * encrypted with AES-256-GCM under the key configured as {@code spool.encryption.keys.<keyId>}.
   *
   * @param keyId the key's id: 1 to 64 of {@code A-Z a-z 0-9 _ -}
   */
  public record Encryption(String keyId) {
    private static final Pattern KEY_ID = Pattern.compile("[A-Za-z0-9_-]{1,64}");

    /** Checks the components; a value out of range fails with {@link SpoolException.InvalidConfiguration}. */
    public Encryption {
      if (!isValidKeyId(keyId)) {
        throw new SpoolException.InvalidConfiguration("an encryption keyId is 1 to 64 of A-Z, a-z, 0-9, '_' and '-'");
      }
    }

    /** Whether {@code keyId} can name a key. */
    public static boolean isValidKeyId(String keyId) {
      return keyId != null && KEY_ID.matcher(keyId).matches();
    }
  }

  /** Checks the components; a value out of range fails with {@link SpoolException.InvalidConfiguration}. */
  public QueueSettings {
    if (durability == null || overflow == null || retention == null || dedupWindow == null) {
      throw new SpoolException.InvalidConfiguration("durability, overflow, retention and dedupWindow are required");
    }
    Limits.age("ttl", ttl);
    Limits.age("retention", retention);
    Limits.age("dedupWindow", dedupWindow);
    if (maxLength < 0 || maxBytes < 0) {
      throw new SpoolException.InvalidConfiguration("maxLength and maxBytes must be 0 (unbounded) or positive");
    }
    if (ttl != null && (ttl.isNegative() || ttl.isZero())) {
      throw new SpoolException.InvalidConfiguration("ttl must be positive");
    }
    if (retention.isNegative() || dedupWindow.isNegative()) {
      throw new SpoolException.InvalidConfiguration("retention and dedupWindow must not be negative");
    }
    if (compression == null) {
      compression = defaultCompression(durability);
    }
    if (durability != Durability.PERSISTENT && compression != Compression.NONE) {
      throw new SpoolException.InvalidConfiguration("compression applies to persistent queues only: it compresses "
          + "the segments they store");
    }
    if (durability != Durability.PERSISTENT && encryption != null) {
      throw new SpoolException.InvalidConfiguration("encryption applies to persistent queues only: a transient queue "
          + "stores nothing");
    }
    if (partitions < 1 || partitions > MAX_PARTITIONS) {
      throw new SpoolException.InvalidConfiguration("partitions must be between 1 and " + MAX_PARTITIONS
          + ", not " + partitions);
    }
    if (maxPriority < 0 || maxPriority > Message.MAX_PRIORITY) {
      throw new SpoolException.InvalidConfiguration("maxPriority must be between 0 (none) and "
          + Message.MAX_PRIORITY + ", not " + maxPriority);
    }
    if (deadLetter != null) {
      Names.requireValid("dead-letter queue", deadLetter.queue());
      if (deadLetter.maxDeliveries() < 1) {
        throw new SpoolException.InvalidConfiguration("deadLetter.maxDeliveries must be 1 or more");
      }
    }
  }

  private static Compression defaultCompression(Durability durability) {
    return durability == Durability.PERSISTENT ? Compression.LZ4 : Compression.NONE;
  }

  /** The encryption key id, or {@code null} when the queue is not encrypted. */
  public String encryptionKeyId() {
    return encryption == null ? null : encryption.keyId();
  }

  /**
   * Transient, unbounded, rejecting on overflow, no ttl, no retention, no dead-letter queue, 2 minutes
   * of dedup, no compression or encryption.
   */
  public static QueueSettings defaults() {
    return DEFAULTS;
  }

  /**
   * With {@code durability}; a compression left at the old durability's default takes the new one's
   * (a transient queue made persistent compresses with LZ4).
   */
  public QueueSettings withDurability(Durability durability) {
    return new QueueSettings(durability, maxLength, maxBytes, overflow, ttl, retention, deadLetter, dedupWindow,
        compression == defaultCompression(this.durability) ? null : compression, encryption, partitions, maxPriority);
  }

  /** These settings with another bound on retained messages (0 for none). */
  public QueueSettings withMaxLength(long maxLength) {
    return new QueueSettings(durability, maxLength, maxBytes, overflow, ttl, retention, deadLetter, dedupWindow,
        compression, encryption, partitions, maxPriority);
  }

  /** These settings with another bound on retained bytes (0 for none). */
  public QueueSettings withMaxBytes(long maxBytes) {
    return new QueueSettings(durability, maxLength, maxBytes, overflow, ttl, retention, deadLetter, dedupWindow,
        compression, encryption, partitions, maxPriority);
  }

  /** These settings with another overflow behaviour. */
  public QueueSettings withOverflow(Overflow overflow) {
    return new QueueSettings(durability, maxLength, maxBytes, overflow, ttl, retention, deadLetter, dedupWindow,
        compression, encryption, partitions, maxPriority);
  }

  /** These settings with another ttl for messages ({@code null} for none). */
  public QueueSettings withTtl(Duration ttl) {
    return new QueueSettings(durability, maxLength, maxBytes, overflow, ttl, retention, deadLetter, dedupWindow,
        compression, encryption, partitions, maxPriority);
  }

  /** These settings with another retention of acknowledged messages. */
  public QueueSettings withRetention(Duration retention) {
    return new QueueSettings(durability, maxLength, maxBytes, overflow, ttl, retention, deadLetter, dedupWindow,
        compression, encryption, partitions, maxPriority);
  }

  /** Dead-letter to {@code queue} after {@link DeadLetter#DEFAULT_MAX_DELIVERIES} deliveries. */
  public QueueSettings withDeadLetter(String queue) {
    return withDeadLetter(queue, DeadLetter.DEFAULT_MAX_DELIVERIES);
  }

  /** These settings with a dead-letter queue taking messages after {@code maxDeliveries} attempts. */
  public QueueSettings withDeadLetter(String queue, int maxDeliveries) {
    return new QueueSettings(durability, maxLength, maxBytes, overflow, ttl, retention,
        new DeadLetter(queue, maxDeliveries), dedupWindow, compression, encryption, partitions, maxPriority);
  }

  /** These settings with another deduplication window for producer-chosen ids. */
  public QueueSettings withDedupWindow(Duration dedupWindow) {
    return new QueueSettings(durability, maxLength, maxBytes, overflow, ttl, retention, deadLetter, dedupWindow,
        compression, encryption, partitions, maxPriority);
  }

  /** Compression of the sealed segments of a persistent queue; a transient queue takes {@link Compression#NONE} only. */
  public QueueSettings withCompression(Compression compression) {
    if (compression == null) {
      throw new SpoolException.InvalidConfiguration("compression must be none, lz4 or zstd");
    }
    return new QueueSettings(durability, maxLength, maxBytes, overflow, ttl, retention, deadLetter, dedupWindow,
        compression, encryption, partitions, maxPriority);
  }

  /**
   * Encrypted at rest with the key configured as {@code spool.encryption.keys.<keyId>}; {@code null}
   * for not encrypted. Persistent queues only.
   */
  public QueueSettings withEncryption(String keyId) {
    return new QueueSettings(durability, maxLength, maxBytes, overflow, ttl, retention, deadLetter, dedupWindow,
        compression, keyId == null ? null : new Encryption(keyId), partitions, maxPriority);
  }

  /**
   * Split into {@code partitions} partitions (1 for none). The bounds ({@code maxLength},
   * {@code maxBytes}) bound each partition, as a log's retention bounds each partition of a topic:
   * a share of the queue's would shrink with the count until a message no longer fits.
   */
  public QueueSettings withPartitions(int partitions) {
    return new QueueSettings(durability, maxLength, maxBytes, overflow, ttl, retention, deadLetter, dedupWindow,
        compression, encryption, partitions, maxPriority);
  }

  /**
   * Delivering higher priorities first, up to {@code maxPriority} (1 to {@value Message#MAX_PRIORITY}),
   * or in sequence order (0).
   */
  public QueueSettings withMaxPriority(int maxPriority) {
    return new QueueSettings(durability, maxLength, maxBytes, overflow, ttl, retention, deadLetter, dedupWindow,
        compression, encryption, partitions, maxPriority);
  }

  /** Whether the queue has more than one partition. */
  public boolean partitioned() {
    return partitions > 1;
  }

  /** The settings of each of this queue's partitions: the same, as one partition. */
  public QueueSettings partitionSettings() {
    return withPartitions(1);
  }
}
