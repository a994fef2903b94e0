package dev.spool;

/**
 * The one error family of Spool. Every failed operation completes its stage with a subclass of
 * this exception, whose {@link #code()} is stable across versions: HTTP statuses, metrics and
 * users' error handling key on the code, never on the message text.
 *
 * @since 0.1.0
 */
public abstract class SpoolException extends RuntimeException {

  /** The stable error codes of semantics.md, "Errors". */
  public enum Code {
    /** The queue does not exist. */
    QueueNotFound,
    /** A queue of that name exists with other settings. */
    QueueAlreadyExists,
    /** The consumer does not exist. */
    ConsumerNotFound,
    /** A consumer of that name exists with other settings. */
    ConsumerAlreadyExists,
    /** The publish does not fit the queue's bounds, the memory threshold or the disk. */
    QueueFull,
    /** A name that is not valid. */
    InvalidName,
    /** Settings or arguments out of range. */
    InvalidConfiguration,
    /** A message over the size limit. */
    MessageTooLarge,
    /** A sequence never appended or no longer retained. */
    SequenceOutOfRange,
    /** HTTP: no valid token. */
    Unauthorized,
    /** HTTP: the token may not do this. */
    Forbidden,
    /** No answer in time; the operation may have happened. */
    Timeout,
    /** Spool is stopping. */
    ShuttingDown,
    /** A durable queue's journal cannot write or be read; nothing was stored. */
    JournalUnavailable,
    /** A stored segment failed its checksum or decryption. */
    SegmentCorrupt,
    /** A queue's encryption key is not configured. */
    EncryptionKeyMissing,
    /** Another Spool holds the database's writer lock. */
    DatabaseInUse,
    /** A bearer token's name holds another token, or the token is held under another name. */
    TokenAlreadyExists
  }

  /** The stable code. */
  private final Code code;

  /** A failure with {@code code}; {@code message} says what and why, for people. */
  protected SpoolException(Code code, String message) {
    // No stack trace: these are expected outcomes reported to callers, not bugs, and they are
    // created on the hot path of actors (a full queue rejects publishes at line rate).
    super(message, null, false, false);
    this.code = code;
  }

  /** The stable code of this failure. */
  public Code code() {
    return code;
  }

  /**
   * The failure another node reported, as the same subclass with the same code and message: for
   * the serializer that carries failures between cluster members, which cannot call the
   * subclasses' constructors (they build the message from names, e.g. a queue's).
   *
   * @param keyId the missing key's id, for {@link Code#EncryptionKeyMissing}; ignored otherwise
   */
  public static SpoolException restore(Code code, String message, String keyId) {
    return switch (code) {
      case QueueNotFound -> new QueueNotFound(code, message);
      case QueueAlreadyExists -> new QueueAlreadyExists(code, message);
      case ConsumerNotFound -> new ConsumerNotFound(code, message);
      case ConsumerAlreadyExists -> new ConsumerAlreadyExists(code, message);
      case QueueFull -> new QueueFull(message);
      case InvalidName -> new InvalidName(message);
      case InvalidConfiguration -> new InvalidConfiguration(message);
      case MessageTooLarge -> new MessageTooLarge(message);
      case SequenceOutOfRange -> new SequenceOutOfRange(message);
      case Unauthorized, Forbidden -> new Restored(code, message);
      case Timeout -> new Timeout(message);
      case ShuttingDown -> new ShuttingDown(code, message);
      case JournalUnavailable -> new JournalUnavailable(message);
      case SegmentCorrupt -> new SegmentCorrupt(code, message);
      case EncryptionKeyMissing -> new EncryptionKeyMissing(code, message, keyId);
      case DatabaseInUse -> new DatabaseInUse(message);
      case TokenAlreadyExists -> new TokenAlreadyExists(message);
    };
  }

  /**
   * A failure whose code has no subclass in the engine (the HTTP layer's {@code Unauthorized} and
   * {@code Forbidden}), as another node reported it.
   */
  private static final class Restored extends SpoolException {
    private Restored(Code code, String message) {
      super(code, message);
    }
  }

  /** The named queue does not exist. */
  public static final class QueueNotFound extends SpoolException {
    /** {@code queue} does not exist. */
    public QueueNotFound(String queue) {
      super(Code.QueueNotFound, "queue '" + queue + "' does not exist");
    }

    /** As {@link SpoolException#restore} rebuilds it. */
    private QueueNotFound(Code code, String message) {
      super(code, message);
    }
  }

  /** A queue of that name exists with other settings. */
  public static final class QueueAlreadyExists extends SpoolException {
    /** {@code queue} exists with other settings. */
    public QueueAlreadyExists(String queue) {
      super(Code.QueueAlreadyExists, "queue '" + queue + "' already exists with other settings");
    }

    /** Saying which settings differ, so that the operator need not compare them by hand. */
    public QueueAlreadyExists(String queue, QueueSettings existing, QueueSettings asked) {
      super(Code.QueueAlreadyExists, "queue '" + queue + "' already exists with other settings: "
          + differences(existing, asked));
    }

    /** As {@link SpoolException#restore} rebuilds it. */
    private QueueAlreadyExists(Code code, String message) {
      super(code, message);
    }
  }

  /** The named consumer does not exist on that queue. */
  public static final class ConsumerNotFound extends SpoolException {
    /** {@code consumer} does not exist on {@code queue}. */
    public ConsumerNotFound(String queue, String consumer) {
      super(Code.ConsumerNotFound, "consumer '" + consumer + "' does not exist on queue '" + queue + "'");
    }

    /** As {@link SpoolException#restore} rebuilds it. */
    private ConsumerNotFound(Code code, String message) {
      super(code, message);
    }
  }

  /** A consumer of that name exists on the queue with other settings. */
  public static final class ConsumerAlreadyExists extends SpoolException {
    /** {@code consumer} exists on {@code queue} with other settings. */
    public ConsumerAlreadyExists(String queue, String consumer) {
      super(Code.ConsumerAlreadyExists,
          "consumer '" + consumer + "' already exists on queue '" + queue + "' with other settings");
    }

    /** Saying which settings differ, so that the operator need not compare them by hand. */
    public ConsumerAlreadyExists(String queue, ConsumerSettings existing, ConsumerSettings asked) {
      super(Code.ConsumerAlreadyExists, "consumer '" + asked.name() + "' already exists on queue '" + queue
          + "' with other settings: " + differences(existing, asked));
    }

    /** As {@link SpoolException#restore} rebuilds it. */
    private ConsumerAlreadyExists(Code code, String message) {
      super(code, message);
    }
  }

  /** The publish does not fit the queue's bounds; nothing of it was appended. */
  public static final class QueueFull extends SpoolException {
    /** Refused, saying by which bound. */
    public QueueFull(String message) {
      super(Code.QueueFull, message);
    }
  }

  /** A queue or consumer name that does not match {@code [A-Za-z0-9._-]{1,128}} or is reserved. */
  public static final class InvalidName extends SpoolException {
    /** Refused, saying which name and why. */
    public InvalidName(String message) {
      super(Code.InvalidName, message);
    }
  }

  /** Settings, arguments or message fields that are out of range or not supported. */
  public static final class InvalidConfiguration extends SpoolException {
    /** Refused, naming the setting or field. */
    public InvalidConfiguration(String message) {
      super(Code.InvalidConfiguration, message);
    }
  }

  /** A message larger than {@code spool.max-message-bytes}. */
  public static final class MessageTooLarge extends SpoolException {
    /** Refused, saying the size and the limit. */
    public MessageTooLarge(String message) {
      super(Code.MessageTooLarge, message);
    }
  }

  /** A sequence that was never appended or is no longer retained. */
  public static final class SequenceOutOfRange extends SpoolException {
    /** Refused, saying the range retained. */
    public SequenceOutOfRange(String message) {
      super(Code.SequenceOutOfRange, message);
    }
  }

  /**
   * The engine did not answer within the configured time; the operation may or may not have
   * happened (a publish may still be stored: retry it with the same producer-chosen id).
   */
  public static final class Timeout extends SpoolException {
    /** No answer in time, saying what was asked. */
    public Timeout(String message) {
      super(Code.Timeout, message);
    }
  }

  /** Spool is stopping and accepts no new work. */
  public static final class ShuttingDown extends SpoolException {
    /** Refused while stopping. */
    public ShuttingDown() {
      super(Code.ShuttingDown, "Spool is shutting down");
    }

    /** As {@link SpoolException#restore} rebuilds it. */
    private ShuttingDown(Code code, String message) {
      super(code, message);
    }
  }

  /**
   * A durable queue's journal cannot write now (a write failed, has stalled, or the journal cannot
   * be read): the operation was refused before anything of it was stored, so retrying it later
   * cannot duplicate it. Unlike {@link Timeout}, nothing happened.
   */
  public static final class JournalUnavailable extends SpoolException {
    /** Refused, saying which journal and why. */
    public JournalUnavailable(String message) {
      super(Code.JournalUnavailable, message);
    }
  }

  /**
   * A stored segment of a persistent queue failed its checks (checksum, authentication tag,
   * format) when it was read back: its messages are not delivered rather than delivered damaged.
   * The message names the queue and the segment, never what the segment holds.
   */
  public static final class SegmentCorrupt extends SpoolException {
    /** Segment {@code segment} of queue {@code queueId} cannot be read, for {@code problem}. */
    public SegmentCorrupt(String queueId, long segment, String problem) {
      super(Code.SegmentCorrupt, "segment " + segment + " of queue '" + queueId + "' is damaged: " + problem);
    }

    /** As {@link SpoolException#restore} rebuilds it. */
    private SegmentCorrupt(Code code, String message) {
      super(code, message);
    }
  }

  /**
   * A queue's data is encrypted with a key this server is not configured with: the queue cannot
   * be read until the key is configured again under its id.
   */
  public static final class EncryptionKeyMissing extends SpoolException {
    /** The id of the key that is missing. */
    private final String keyId;

    /** The key {@code keyId} is not configured. */
    public EncryptionKeyMissing(String keyId) {
      super(Code.EncryptionKeyMissing, "encryption key '" + keyId + "' is not configured: set spool.encryption.keys."
          + keyId + " to the key it was written with");
      this.keyId = keyId;
    }

    /** The id of the key that is missing. */
    public String keyId() {
      return keyId;
    }

    /** As {@link SpoolException#restore} rebuilds it. */
    private EncryptionKeyMissing(Code code, String message, String keyId) {
      super(code, message);
      this.keyId = keyId;
    }
  }

  /**
   * Another live Spool writes to the journal's database (it holds the database's writer lock,
   * {@code spool.persistence.writer-lock}): this one must not, as two writers would corrupt the
   * journal. The message names the holder and what to do.
   */
  public static final class DatabaseInUse extends SpoolException {
    /** Refused, naming the other Spool. */
    public DatabaseInUse(String message) {
      super(Code.DatabaseInUse, message);
    }
  }

  /**
   * Components never shown in an error: a push's nonce is part of what its signing secret is made
   * from, and a conflict message reaches whoever made the request.
   */
  private static final java.util.Set<String> HIDDEN = java.util.Set.of("nonce");

  /**
   * A setting as users write it: enums in lower case with hyphens ({@code drop-oldest}), records as
   * {@code {name: value, …}}, durations in ISO-8601, nothing as {@code none}.
   */
  static String wire(Object value) {
    if (value == null) {
      return "none";
    }
    if (value instanceof Enum<?> e) {
      return e.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
    if (value instanceof Record r) {
      java.util.List<String> fields = new java.util.ArrayList<>();
      for (java.lang.reflect.RecordComponent c : r.getClass().getRecordComponents()) {
        try {
          Object v = c.getAccessor().invoke(r);
          if (v != null && !(v instanceof java.util.Map<?, ?> m && m.isEmpty()) && !HIDDEN.contains(c.getName())) {
            fields.add(c.getName() + ": " + wire(v));
          }
        } catch (ReflectiveOperationException ex) {
          throw new IllegalStateException("a settings record that cannot be read: " + ex, ex);
        }
      }
      return "{" + String.join(", ", fields) + "}";
    }
    return String.valueOf(value);
  }

  /** {@code maxLength is 1000, not 2000; ttl is PT1H, not none}: the components of two records that differ. */
  static String differences(Record existing, Record asked) {
    java.util.List<String> out = new java.util.ArrayList<>();
    for (java.lang.reflect.RecordComponent c : existing.getClass().getRecordComponents()) {
      try {
        Object was = c.getAccessor().invoke(existing);
        Object now = c.getAccessor().invoke(asked);
        if (!java.util.Objects.equals(was, now)) {
          out.add(c.getName() + " is " + wire(was) + ", not " + wire(now));
        }
      } catch (ReflectiveOperationException e) {
        throw new IllegalStateException("a settings record that cannot be read: " + e, e);
      }
    }
    return out.isEmpty() ? "they differ" : String.join("; ", out);
  }

  /**
   * A bearer token of the HTTP service is declared under a name that holds another token, other
   * roles or other queues, or the same token is declared under another name.
   */
  public static final class TokenAlreadyExists extends SpoolException {
    /** Refused with {@code message}, naming the token and what differs. */
    public TokenAlreadyExists(String message) {
      super(Code.TokenAlreadyExists, message);
    }
  }
}
