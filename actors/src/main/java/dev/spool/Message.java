package dev.spool;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A message: built by a producer with {@link #of}/{@link #text} and the {@code with…} methods, then
 * appended to a queue, which assigns its {@link #sequence()}, {@link #timestamp()} and, when the
 * producer set none, its {@link #id()}.
 *
 * <p>Immutable: every {@code with…} returns a new message. An appended message is shared, never
 * copied, between all consumers of its queue, so {@link #payload()} returns the shared array; do
 * not modify it ({@link #payloadBuffer()} gives a read-only view).
 *
 * @since 0.1.0
 */
public final class Message {

  /**
   * Bytes a retained message costs beyond its payload bytes and header text, as measured on a
   * 64-bit JVM with compressed references (the bench's scale suite: 1 M messages of 100 bytes): the
   * message object (32 B), the payload array's header and alignment (16-20 B) and its slot in a log
   * segment (4 B). Used for memory accounting. Messages of one producer with equal type, key,
   * headers and content type share one {@code Envelope}; a producer-chosen id or a per-message
   * expiry gives a message its own (about 64 B more). A delivery time does too, and is counted:
   * see {@link #DELIVERY_TIME_BYTES}.
   */
  public static final int FIXED_OVERHEAD_BYTES = 56;

  /**
   * Bytes a message with a delivery time is accounted for beyond the others: its own envelope
   * (about 80 B on a 64-bit JVM with compressed references), which it shares only with messages of
   * the same delivery time.
   */
  public static final int DELIVERY_TIME_BYTES = 80;

  /** The highest priority a message may carry (as in AMQP, 0 to 9 in practice). */
  public static final int MAX_PRIORITY = 9;

  private static final byte[] EMPTY = new byte[0];
  private static final long UUID_VARIANT = 0x8000000000000000L;
  private static final long UUID_SEQUENCE_BITS = 0x3FFFFFFFFFFFFFFFL;

  // Kept to four fields (32 bytes with its header): a queue may retain millions of these. The
  // append time is an offset from the shared envelope's base time, the size is computed on demand.
  private final long sequence;
  private final int timeOffset;
  private final byte[] payload;
  private final Envelope envelope;

  /**
   * What a message carries besides its payload, position and time. Shared between consecutive
   * messages of a queue where equal, so that a retained message costs five fields.
   */
  private static final class Envelope {
    final String type;
    final String key;
    final Map<String, String> headers;
    final String contentType;
    final String producerId;
    /** The producer-chosen id, or {@code null} when the id derives from {@link #idSeed} and the sequence. */
    final UUID id;
    /** High half of derived ids: random per queue, with the version-4 bits set. */
    final long idSeed;
    final long expiresAt;
    final long ttlMillis;
    /** When it may be delivered, epoch ms; 0 for at once. */
    final long deliverAt;
    /** The delay {@link #withDelay} set on a message not yet appended: appending turns it into {@link #deliverAt}. */
    final long delayMillis;
    /** 0 to {@link Message#MAX_PRIORITY}; only queues with a {@code maxPriority} order by it. */
    final byte priority;
    /** Append time of the first message with this envelope; the others store an offset from it. */
    final long baseTimestamp;
    final int textBytes;

    Envelope(String type, String key, Map<String, String> headers, String contentType, String producerId, UUID id,
        long idSeed, long expiresAt, long ttlMillis, long deliverAt, long delayMillis, int priority,
        long baseTimestamp) {
      this(type, key, headers, contentType, producerId, id, idSeed, expiresAt, ttlMillis, deliverAt, delayMillis,
          priority, baseTimestamp, -1);
    }

    /** @param textBytes the text size to account, or -1 to count it from the fields */
    Envelope(String type, String key, Map<String, String> headers, String contentType, String producerId, UUID id,
        long idSeed, long expiresAt, long ttlMillis, long deliverAt, long delayMillis, int priority,
        long baseTimestamp, int textBytes) {
      this.type = type;
      this.key = key;
      this.headers = headers;
      this.contentType = contentType;
      this.producerId = producerId;
      this.id = id;
      this.idSeed = idSeed;
      this.expiresAt = expiresAt;
      this.ttlMillis = ttlMillis;
      this.deliverAt = deliverAt;
      this.delayMillis = delayMillis;
      this.priority = (byte) priority;
      this.baseTimestamp = baseTimestamp;
      if (textBytes >= 0) {
        this.textBytes = textBytes;
        return;
      }
      long size = textSize(type) + textSize(key) + textSize(contentType) + textSize(producerId);
      for (Map.Entry<String, String> h : headers.entrySet()) {
        size += textSize(h.getKey()) + textSize(h.getValue());
      }
      this.textBytes = (int) Math.min(Integer.MAX_VALUE - FIXED_OVERHEAD_BYTES, size);
    }

    Envelope with(String key, Map<String, String> headers, String contentType, UUID id, long expiresAt,
        long ttlMillis) {
      return new Envelope(type, key, headers, contentType, producerId, id, idSeed, expiresAt, ttlMillis, deliverAt,
          delayMillis, priority, 0);
    }

    Envelope scheduled(long deliverAt, long delayMillis, int priority) {
      return new Envelope(type, key, headers, contentType, producerId, id, idSeed, expiresAt, ttlMillis, deliverAt,
          delayMillis, priority, 0);
    }

    boolean sameAs(String producerId, UUID id, long idSeed, long expiresAt, long deliverAt, long appendedAt,
        Envelope other) {
      long offset = appendedAt - baseTimestamp;
      return offset >= 0 && offset <= Integer.MAX_VALUE && this.id == null && id == null && this.idSeed == idSeed && this.expiresAt == expiresAt
          && this.deliverAt == deliverAt && this.priority == other.priority
          && Objects.equals(this.producerId, producerId) && other.type.equals(type)
          && Objects.equals(other.key, key) && Objects.equals(other.contentType, contentType)
          && other.headers.equals(headers);
    }
  }

  private Message(long sequence, int timeOffset, byte[] payload, Envelope envelope) {
    this.sequence = sequence;
    this.timeOffset = timeOffset;
    this.payload = payload;
    this.envelope = envelope;
  }

  /** A new message of {@code type} carrying {@code payload} (the array is not copied; do not reuse it). */
  public static Message of(String type, byte[] payload) {
    if (type == null) {
      throw new SpoolException.InvalidConfiguration("a message needs a type (it may be empty)");
    }
    return new Message(0, 0, payload == null ? EMPTY : payload,
        new Envelope(type, null, Map.of(), null, null, null, 0, 0, 0, 0, 0, 0, 0));
  }

  /** A new message of {@code type} whose payload is {@code text} in UTF-8, content type {@code text/plain}. */
  public static Message text(String type, String text) {
    return of(type, text == null ? EMPTY : text.getBytes(StandardCharsets.UTF_8))
        .withContentType("text/plain; charset=utf-8");
  }

  private Message with(Envelope e) {
    return new Message(sequence, timeOffset, payload, e);
  }

  /** This message with a partition/routing key. */
  public Message withKey(String key) {
    Envelope e = envelope;
    return with(e.with(key, e.headers, e.contentType, e.id, e.expiresAt, e.ttlMillis));
  }

  /** This message with one more header (replacing a header of the same name). */
  public Message withHeader(String name, String value) {
    if (name == null || value == null) {
      throw new SpoolException.InvalidConfiguration("header names and values must not be null");
    }
    Map<String, String> copy = new HashMap<>(envelope.headers);
    copy.put(name, value);
    if (copy.size() > Limits.MAX_HEADERS) {
      throw new SpoolException.InvalidConfiguration("a message may carry at most " + Limits.MAX_HEADERS + " headers");
    }
    Envelope e = envelope;
    return with(e.with(e.key, Collections.unmodifiableMap(copy), e.contentType, e.id, e.expiresAt, e.ttlMillis));
  }

  /** This message with all of {@code more} added to its headers (replacing headers of the same names). */
  public Message withHeaders(Map<String, String> more) {
    Map<String, String> copy = new HashMap<>(envelope.headers);
    for (Map.Entry<String, String> h : more.entrySet()) {
      if (h.getKey() == null || h.getValue() == null) {
        throw new SpoolException.InvalidConfiguration("header names and values must not be null");
      }
      copy.put(h.getKey(), h.getValue());
    }
    if (copy.size() > Limits.MAX_HEADERS) {
      throw new SpoolException.InvalidConfiguration("a message may carry at most " + Limits.MAX_HEADERS
          + " headers, not " + copy.size());
    }
    Envelope e = envelope;
    return with(e.with(e.key, Collections.unmodifiableMap(copy), e.contentType, e.id, e.expiresAt, e.ttlMillis));
  }

  /** This message with a producer-chosen id, which makes publishing it again idempotent within the queue's dedup window. */
  public Message withId(UUID id) {
    Envelope e = envelope;
    return with(e.with(e.key, e.headers, e.contentType, Objects.requireNonNull(id, "id"), e.expiresAt, e.ttlMillis));
  }

  /** This message with a content type (a MIME type). */
  public Message withContentType(String contentType) {
    Envelope e = envelope;
    return with(e.with(e.key, e.headers, contentType, e.id, e.expiresAt, e.ttlMillis));
  }

  /** This message expiring {@code ttl} after it is appended. */
  public Message withTtl(Duration ttl) {
    if (ttl == null || ttl.isNegative() || ttl.isZero()) {
      throw new SpoolException.InvalidConfiguration("a message ttl must be positive");
    }
    Limits.age("ttl", ttl);
    Envelope e = envelope;
    return with(e.with(e.key, e.headers, e.contentType, e.id, 0, ttl.toMillis()));
  }

  /** This message expiring at {@code at}. */
  public Message withExpiresAt(Instant at) {
    if (at == null) {
      throw new SpoolException.InvalidConfiguration("an expiry time must not be null");
    }
    Envelope e = envelope;
    return with(e.with(e.key, e.headers, e.contentType, e.id, Math.max(1, Limits.epochMillis("expiresAt", at)), 0));
  }

  /**
   * This message with a priority from 0 (the default) to {@value #MAX_PRIORITY}: on a queue with a
   * {@code maxPriority}, higher priorities are delivered first within each consumer's look-ahead
   * window (priorities above the queue's {@code maxPriority} count as it). Other queues ignore it.
   *
   * @since 0.1.0
   */
  public Message withPriority(int priority) {
    if (priority < 0 || priority > MAX_PRIORITY) {
      throw new SpoolException.InvalidConfiguration("a message priority must be between 0 and " + MAX_PRIORITY
          + ", not " + priority);
    }
    Envelope e = envelope;
    return with(e.scheduled(e.deliverAt, e.delayMillis, priority));
  }

  /**
   * This message delivered no sooner than {@code at}: consumers pass over it until then (a time in
   * the past delivers it at once). Refused at publish when further ahead than the queue allows
   * ({@code spool.scheduling.max-delay}). Replaces a {@link #withDelay delay} set before.
   *
   * @since 0.1.0
   */
  public Message withDeliverAt(Instant at) {
    if (at == null) {
      throw new SpoolException.InvalidConfiguration("a delivery time must not be null");
    }
    Envelope e = envelope;
    return with(e.scheduled(Math.max(1, Limits.epochMillis("deliverAt", at)), 0, e.priority));
  }

  /**
   * This message delivered no sooner than {@code delay} after it is appended (by the queue's clock).
   * Zero is no delay; a negative delay is refused, as is one longer than the queue allows
   * ({@code spool.scheduling.max-delay}, checked at publish). Replaces a {@link #withDeliverAt
   * delivery time} set before.
   *
   * @since 0.1.0
   */
  public Message withDelay(Duration delay) {
    if (delay == null || delay.isNegative()) {
      throw new SpoolException.InvalidConfiguration("a message delay must not be negative, not " + delay);
    }
    Limits.age("delay", delay);
    Envelope e = envelope;
    return with(e.scheduled(0, delay.toMillis(), e.priority));
  }

  /**
   * The appended form of this message, as the queue's writer stores it. Engine-internal: calling
   * it from application code creates a message no queue knows about.
   *
   * @param appendedAt append time, epoch ms
   * @param idSeed the queue's seed for ids the producer did not choose (see {@link #newIdSeed()})
   * @param previous the message the queue appended last, or {@code null}: its envelope is reused when equal
   */
  public Message appended(long sequence, long appendedAt, String producerId, long idSeed, Message previous) {
    Envelope e = envelope;
    long expiry = e.ttlMillis > 0 ? appendedAt + e.ttlMillis : e.expiresAt;
    long due = e.delayMillis > 0 ? appendedAt + e.delayMillis : e.deliverAt <= appendedAt ? 0 : e.deliverAt;
    Envelope stored;
    if (previous != null && previous.envelope.sameAs(producerId, e.id, idSeed, expiry, due, appendedAt, e)) {
      stored = previous.envelope;
    } else {
      stored = new Envelope(e.type, e.key, e.headers, e.contentType, producerId, e.id, idSeed, expiry, 0, due, 0,
          e.priority, appendedAt);
    }
    return new Message(sequence, (int) (appendedAt - stored.baseTimestamp), payload, stored);
  }

  /**
   * A message as a durable queue's journal stored it, appended already. Engine-internal: recovery
   * of durable queues builds retained messages with it.
   *
   * @param headers an unmodifiable map
   * @param id the producer-chosen id, or {@code null} when the id derives from {@code idSeed} and the sequence
   * @param expiresAt epoch ms, or 0 for none
   * @param previous the message restored just before, or {@code null}: its envelope is reused when equal
   */
  public static Message restored(long sequence, long timestamp, String producerId, String type, String key,
      Map<String, String> headers, String contentType, byte[] payload, UUID id, long idSeed, long expiresAt,
      Message previous) {
    return restored(sequence, timestamp, producerId, type, key, headers, contentType, payload, id, idSeed, expiresAt,
        0, 0, previous);
  }

  /**
   * {@link #restored(long, long, String, String, String, Map, String, byte[], UUID, long, long, Message)}
   * of a message with a delivery time and a priority.
   *
   * @param deliverAt epoch ms, or 0 for at once
   * @param priority 0 to {@value #MAX_PRIORITY}
   */
  public static Message restored(long sequence, long timestamp, String producerId, String type, String key,
      Map<String, String> headers, String contentType, byte[] payload, UUID id, long idSeed, long expiresAt,
      long deliverAt, int priority, Message previous) {
    Envelope fresh = new Envelope(type, key, headers, contentType, producerId, id, idSeed, expiresAt, 0, deliverAt, 0,
        priority, timestamp);
    Envelope stored = previous != null
        && previous.envelope.sameAs(producerId, id, idSeed, expiresAt, deliverAt, timestamp, fresh)
        ? previous.envelope : fresh;
    return new Message(sequence, (int) (timestamp - stored.baseTimestamp), payload, stored);
  }

  /**
   * What the engine knows of a retained message whose content is in storage, not in the heap: its
   * sequence, append time, expiry and accounted size, with no payload, type or headers. Engine-internal:
   * a queue's log hands these out where only the position, time or size of a message counts
   * (removal, expiry, eviction); they are never delivered.
   */
  public static Message placeholder(long sequence, long timestamp, long expiresAt, int sizeBytes) {
    Envelope envelope = new Envelope("", null, Map.of(), null, null, null, 0, expiresAt, 0, 0, 0, 0, timestamp,
        Math.max(0, sizeBytes - FIXED_OVERHEAD_BYTES));
    return new Message(sequence, 0, EMPTY, envelope);
  }

  /**
   * This message as its partitioned queue numbers it: {@code sequence} instead of its partition's
   * own, with the same id (the id derived from the partition's sequence is kept). Engine-internal.
   */
  public Message resequenced(long sequence) {
    Envelope e = envelope;
    Envelope kept = e.id != null || this.sequence == 0 ? e : new Envelope(e.type, e.key, e.headers, e.contentType,
        e.producerId, id(), e.idSeed, e.expiresAt, e.ttlMillis, e.deliverAt, e.delayMillis, e.priority,
        e.baseTimestamp, e.textBytes);
    return new Message(sequence, timeOffset, payload, kept);
  }

  /** The high half of this message's id when Spool derived it (no producer-chosen id). */
  public long idSeed() {
    return envelope.idSeed;
  }

  /** The appended form of this message with a fresh id seed and nothing shared; for tests and tools. */
  public Message appended(long sequence, long appendedAt, String producerId) {
    return appended(sequence, appendedAt, producerId, newIdSeed(), null);
  }

  /**
   * A random high half for a queue's message ids (version-4 bits set). The id of a message the
   * producer gave none is this seed with its sequence as the low half: unique, and free to store.
   * ({@link UUID#randomUUID()} per message would draw on a shared SecureRandom at millions per second.)
   */
  public static long newIdSeed() {
    return (ThreadLocalRandom.current().nextLong() & ~0xF000L) | 0x4000L;
  }

  /** Position in its queue, 1-based; 0 until appended. */
  public long sequence() {
    return sequence;
  }

  /** The message id; {@code null} until appended unless the producer set one. */
  public UUID id() {
    if (envelope.id != null) {
      return envelope.id;
    }
    return sequence == 0 ? null : new UUID(envelope.idSeed, UUID_VARIANT | (sequence & UUID_SEQUENCE_BITS));
  }

  /** Whether the producer chose the id (only such ids are deduplicated). */
  public boolean hasProducerId() {
    return envelope.id != null;
  }

  /** Append time, epoch ms; 0 until appended. */
  public long timestamp() {
    return envelope.baseTimestamp + timeOffset;
  }

  /** The producer that published it; {@code null} until appended. */
  public String producerId() {
    return envelope.producerId;
  }

  /** The message type, e.g. {@code order.created}. */
  public String type() {
    return envelope.type;
  }

  /** The key, if any. */
  public Optional<String> key() {
    return Optional.ofNullable(envelope.key);
  }

  /** Headers, unmodifiable. */
  public Map<String, String> headers() {
    return envelope.headers;
  }

  /** The content type, if any. */
  public Optional<String> contentType() {
    return Optional.ofNullable(envelope.contentType);
  }

  /** The payload, shared with every consumer: do not modify it. */
  public byte[] payload() {
    return payload;
  }

  /** A read-only view of the payload. */
  public ByteBuffer payloadBuffer() {
    return ByteBuffer.wrap(payload).asReadOnlyBuffer();
  }

  /** The payload decoded as UTF-8. */
  public String payloadAsString() {
    return new String(payload, StandardCharsets.UTF_8);
  }

  /** When it expires, if it does. For a message not yet appended with a ttl, empty until appended. */
  public Optional<Instant> expiresAt() {
    return envelope.expiresAt == 0 ? Optional.empty() : Optional.of(Instant.ofEpochMilli(envelope.expiresAt));
  }

  /**
   * The ttl {@link #withTtl} set on a message not yet appended, if any: appending turns it into
   * {@link #expiresAt()}, so an appended message has none.
   */
  public Optional<Duration> ttl() {
    return envelope.ttlMillis == 0 ? Optional.empty() : Optional.of(Duration.ofMillis(envelope.ttlMillis));
  }

  /** Whether it carries a ttl or an expiry time. */
  public boolean expires() {
    return envelope.expiresAt != 0 || envelope.ttlMillis != 0;
  }

  /** Expiry as epoch ms, 0 for none. */
  public long expiresAtMillis() {
    return envelope.expiresAt;
  }

  /**
   * When it may be delivered first, if it was delayed: consumers pass over it until then. For a
   * message not yet appended with a delay, empty until appended; an appended message given a time
   * already past has none.
   *
   * @since 0.1.0
   */
  public Optional<Instant> deliverAt() {
    return envelope.deliverAt == 0 ? Optional.empty() : Optional.of(Instant.ofEpochMilli(envelope.deliverAt));
  }

  /** The delivery time as epoch ms, 0 for at once. */
  public long deliverAtMillis() {
    return envelope.deliverAt;
  }

  /**
   * The delay {@link #withDelay} set on a message not yet appended, if any: appending turns it into
   * {@link #deliverAt()}, so an appended message has none.
   *
   * @since 0.1.0
   */
  public Optional<Duration> delay() {
    return envelope.delayMillis == 0 ? Optional.empty() : Optional.of(Duration.ofMillis(envelope.delayMillis));
  }

  /** Whether it waits for a delivery time at {@code nowMillis}. */
  public boolean notDueAt(long nowMillis) {
    return envelope.deliverAt > nowMillis;
  }

  /**
   * Its priority, 0 (the default) to {@value #MAX_PRIORITY}.
   *
   * @since 0.1.0
   */
  public int priority() {
    return envelope.priority;
  }

  /**
   * Bytes this message is accounted for while retained: payload, header and field text, fixed
   * overhead, and {@link #DELIVERY_TIME_BYTES} when it has a delivery time.
   */
  public int sizeBytes() {
    long scheduled = envelope.deliverAt != 0 ? DELIVERY_TIME_BYTES : 0;
    return (int) Math.min(Integer.MAX_VALUE, FIXED_OVERHEAD_BYTES + scheduled + contentBytes());
  }

  /** Its payload, header and field text bytes: what {@code spool.max-message-bytes} bounds. */
  public long contentBytes() {
    return (long) payload.length + envelope.textBytes;
  }

  private static int textSize(String s) {
    // Latin-1 strings (nearly all type names and header values) take one byte per character in a
    // compact-strings JVM; counting characters keeps accounting cheap and close.
    return s == null ? 0 : s.length();
  }

  @Override
  public String toString() {
    // Never the payload: messages end up in logs.
    return "Message[sequence=" + sequence + ", id=" + id() + ", type=" + envelope.type + ", bytes=" + payload.length + "]";
  }
}
