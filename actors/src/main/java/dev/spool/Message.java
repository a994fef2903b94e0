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
 */
public final class Message {

  /**
   * Bytes a retained message costs beyond its payload and header text: the message object, its
   * slot in a segment and its share of the dedup index. Used for memory accounting.
   */
  public static final int FIXED_OVERHEAD_BYTES = 96;

  private static final byte[] EMPTY = new byte[0];

  private final long sequence;
  private final UUID id;
  private final boolean idFromProducer;
  private final long timestamp;
  private final String producerId;
  private final String type;
  private final String key;
  private final Map<String, String> headers;
  private final String contentType;
  private final byte[] payload;
  private final long expiresAt;
  private final long ttlMillis;
  private final int sizeBytes;

  private Message(long sequence, UUID id, boolean idFromProducer, long timestamp, String producerId,
      String type, String key, Map<String, String> headers, String contentType, byte[] payload,
      long expiresAt, long ttlMillis) {
    this.sequence = sequence;
    this.id = id;
    this.idFromProducer = idFromProducer;
    this.timestamp = timestamp;
    this.producerId = producerId;
    this.type = type;
    this.key = key;
    this.headers = headers;
    this.contentType = contentType;
    this.payload = payload;
    this.expiresAt = expiresAt;
    this.ttlMillis = ttlMillis;
    this.sizeBytes = computeSize();
  }

  /** A new message of {@code type} carrying {@code payload} (the array is not copied; do not reuse it). */
  public static Message of(String type, byte[] payload) {
    if (type == null) {
      throw new SpoolException.InvalidConfiguration("a message needs a type (it may be empty)");
    }
    return new Message(0, null, false, 0, null, type, null, Map.of(), null,
        payload == null ? EMPTY : payload, 0, 0);
  }

  /** A new message of {@code type} whose payload is {@code text} in UTF-8, content type {@code text/plain}. */
  public static Message text(String type, String text) {
    return of(type, text == null ? EMPTY : text.getBytes(StandardCharsets.UTF_8))
        .withContentType("text/plain; charset=utf-8");
  }

  /** This message with a partition/routing key. */
  public Message withKey(String key) {
    return new Message(sequence, id, idFromProducer, timestamp, producerId, type, key, headers,
        contentType, payload, expiresAt, ttlMillis);
  }

  /** This message with one more header (replacing a header of the same name). */
  public Message withHeader(String name, String value) {
    if (name == null || value == null) {
      throw new SpoolException.InvalidConfiguration("header names and values must not be null");
    }
    Map<String, String> copy = new HashMap<>(headers);
    copy.put(name, value);
    return new Message(sequence, id, idFromProducer, timestamp, producerId, type, key,
        Collections.unmodifiableMap(copy), contentType, payload, expiresAt, ttlMillis);
  }

  /** This message with all of {@code more} added to its headers. */
  public Message withHeaders(Map<String, String> more) {
    Message m = this;
    for (Map.Entry<String, String> e : more.entrySet()) {
      m = m.withHeader(e.getKey(), e.getValue());
    }
    return m;
  }

  /** This message with a producer-chosen id, which makes publishing it again idempotent within the queue's dedup window. */
  public Message withId(UUID id) {
    return new Message(sequence, Objects.requireNonNull(id, "id"), true, timestamp, producerId, type,
        key, headers, contentType, payload, expiresAt, ttlMillis);
  }

  /** This message with a content type (a MIME type). */
  public Message withContentType(String contentType) {
    return new Message(sequence, id, idFromProducer, timestamp, producerId, type, key, headers,
        contentType, payload, expiresAt, ttlMillis);
  }

  /** This message expiring {@code ttl} after it is appended. */
  public Message withTtl(Duration ttl) {
    if (ttl == null || ttl.isNegative() || ttl.isZero()) {
      throw new SpoolException.InvalidConfiguration("a message ttl must be positive");
    }
    return new Message(sequence, id, idFromProducer, timestamp, producerId, type, key, headers,
        contentType, payload, 0, ttl.toMillis());
  }

  /** This message expiring at {@code at}. */
  public Message withExpiresAt(Instant at) {
    return new Message(sequence, id, idFromProducer, timestamp, producerId, type, key, headers,
        contentType, payload, at.toEpochMilli(), 0);
  }

  /**
   * The appended form of this message, as the queue's writer stores it. Engine-internal: calling
   * it from application code creates a message no queue knows about.
   *
   * @param appendedAt append time, epoch ms
   */
  public Message appended(long sequence, long appendedAt, String producerId) {
    UUID finalId = id != null ? id : randomId();
    long finalExpiry = ttlMillis > 0 ? appendedAt + ttlMillis : expiresAt;
    return new Message(sequence, finalId, idFromProducer, appendedAt, producerId, type, key, headers,
        contentType, payload, finalExpiry, 0);
  }

  /**
   * A random (version 4) UUID from {@link ThreadLocalRandom}: ids must be unique, not unguessable,
   * and {@link UUID#randomUUID()} draws on a shared SecureRandom, a bottleneck at millions per second.
   */
  private static UUID randomId() {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    long high = (random.nextLong() & ~0xF000L) | 0x4000L;
    long low = (random.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
    return new UUID(high, low);
  }

  /** Position in its queue, 1-based; 0 until appended. */
  public long sequence() {
    return sequence;
  }

  /** The message id; {@code null} until appended unless the producer set one. */
  public UUID id() {
    return id;
  }

  /** Whether the producer chose the id (only such ids are deduplicated). */
  public boolean hasProducerId() {
    return idFromProducer;
  }

  /** Append time, epoch ms; 0 until appended. */
  public long timestamp() {
    return timestamp;
  }

  /** The producer that published it; {@code null} until appended. */
  public String producerId() {
    return producerId;
  }

  /** The message type, e.g. {@code order.created}. */
  public String type() {
    return type;
  }

  /** The key, if any. */
  public Optional<String> key() {
    return Optional.ofNullable(key);
  }

  /** Headers, unmodifiable. */
  public Map<String, String> headers() {
    return headers;
  }

  /** The content type, if any. */
  public Optional<String> contentType() {
    return Optional.ofNullable(contentType);
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
    return expiresAt == 0 ? Optional.empty() : Optional.of(Instant.ofEpochMilli(expiresAt));
  }

  /** Whether it carries a ttl or an expiry time. */
  public boolean expires() {
    return expiresAt != 0 || ttlMillis != 0;
  }

  /** Expiry as epoch ms, 0 for none. */
  public long expiresAtMillis() {
    return expiresAt;
  }

  /** Bytes this message is accounted for while retained: payload, header and field text, fixed overhead. */
  public int sizeBytes() {
    return sizeBytes;
  }

  private int computeSize() {
    long size = FIXED_OVERHEAD_BYTES + (long) payload.length + textSize(type) + textSize(key)
        + textSize(contentType) + textSize(producerId);
    for (Map.Entry<String, String> h : headers.entrySet()) {
      size += textSize(h.getKey()) + textSize(h.getValue());
    }
    return (int) Math.min(Integer.MAX_VALUE, size);
  }

  private static int textSize(String s) {
    // Latin-1 strings (nearly all type names and header values) take one byte per character in a
    // compact-strings JVM; counting characters keeps accounting cheap and close.
    return s == null ? 0 : s.length();
  }

  @Override
  public String toString() {
    // Never the payload: messages end up in logs.
    return "Message[sequence=" + sequence + ", id=" + id + ", type=" + type + ", bytes=" + payload.length + "]";
  }
}
