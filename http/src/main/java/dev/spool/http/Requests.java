package dev.spool.http;

import dev.spool.AckMode;
import dev.spool.Backoff;
import dev.spool.Compression;
import dev.spool.ConsumerSettings;
import dev.spool.Durability;
import dev.spool.Limits;
import dev.spool.Message;
import dev.spool.FilterExpression;
import dev.spool.MessageFilter;
import dev.spool.Overflow;
import dev.spool.PushSettings;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import dev.spool.SpoolException;
import dev.spool.StaleConsumer;
import dev.spool.StartPosition;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/**
 * The request bodies of the API, as records Jackson fills strictly (see {@link Json}), and their
 * translation into engine values. What a field must hold (ranges, bounds, names) is the engine's
 * rule, checked once, by the engine's own types and checks; here a body is only parsed, and an
 * engine refusal is given the name of the field at fault ({@link #apply}, {@link #check}). Absent
 * fields are {@code null} and take the engine's defaults.
 */
final class Requests {

  private Requests() {}

  /** {@code PUT /queues/{q}}. */
  record QueueBody(String durability, String ttl, Long maxLength, Long maxBytes, String overflow, String retention,
      DeadLetterBody deadLetter, String dedupWindow, String compression, EncryptionBody encryption,
      Integer partitions, Integer maxPriority) {

    QueueSettings toSettings() {
      QueueSettings s = QueueSettings.defaults();
      if (durability != null) {
        s = s.withDurability(switch (durability) {
          case "transient" -> Durability.TRANSIENT;
          case "persistent" -> Durability.PERSISTENT;
          default -> throw invalid("durability", "must be transient or persistent");
        });
      }
      if (ttl != null) {
        Duration d = duration("ttl", ttl);
        s = apply("ttl", s, q -> q.withTtl(d));
      }
      if (maxLength != null) {
        s = apply("maxLength", s, q -> q.withMaxLength(maxLength));
      }
      if (maxBytes != null) {
        s = apply("maxBytes", s, q -> q.withMaxBytes(maxBytes));
      }
      if (overflow != null) {
        s = s.withOverflow(switch (overflow) {
          case "reject" -> Overflow.REJECT;
          case "drop-oldest" -> Overflow.DROP_OLDEST;
          default -> throw invalid("overflow", "must be reject or drop-oldest");
        });
      }
      if (retention != null) {
        Duration d = duration("retention", retention);
        s = apply("retention", s, q -> q.withRetention(d));
      }
      if (deadLetter != null) {
        if (deadLetter.queue() == null) {
          throw invalid("deadLetter.queue", "is required");
        }
        s = deadLetter.maxDeliveries() == null
            ? s.withDeadLetter(deadLetter.queue())
            : apply("deadLetter.maxDeliveries", s, q -> q.withDeadLetter(deadLetter.queue(), deadLetter.maxDeliveries()));
      }
      if (dedupWindow != null) {
        Duration d = duration("dedupWindow", dedupWindow);
        s = apply("dedupWindow", s, q -> q.withDedupWindow(d));
      }
      // After durability: both apply to persistent queues only, which the engine checks.
      if (compression != null) {
        Compression c = check("compression", () -> Compression.parse(compression));
        s = apply("compression", s, q -> q.withCompression(c));
      }
      if (encryption != null) {
        s = apply("encryption.keyId", s, q -> q.withEncryption(encryption.keyId() == null ? "" : encryption.keyId()));
      }
      if (partitions != null) {
        s = apply("partitions", s, q -> q.withPartitions(partitions));
      }
      if (maxPriority != null) {
        s = apply("maxPriority", s, q -> q.withMaxPriority(maxPriority));
      }
      return s;
    }
  }

  /** A queue's encryption at rest: the id of a key configured on the server, never the key. */
  record EncryptionBody(String keyId) {}

  /** A queue's dead-letter target. */
  record DeadLetterBody(String queue, Integer maxDeliveries) {}

  /**
   * {@code POST /queues/{q}/messages}: one message, or {@code {"messages":[…]}}. One record for
   * both, so that a publish is parsed in one pass.
   */
  record PublishBody(String type, String key, Map<String, String> headers, String contentType, String payload,
      String payloadBase64, String id, String ttl, Integer priority, Object deliverAt, String delay,
      List<MessageBody> messages) {

    List<Message> toMessages() {
      if (messages == null) {
        return List.of(new MessageBody(type, key, headers, contentType, payload, payloadBase64, id, ttl, priority,
            deliverAt, delay).toMessage(""));
      }
      if (type != null || key != null || headers != null || contentType != null || payload != null
          || payloadBase64 != null || id != null || ttl != null || priority != null || deliverAt != null
          || delay != null) {
        throw invalid("messages", "must be the only field of a batch");
      }
      if (messages.isEmpty()) {
        throw invalid("messages", "must hold at least one message");
      }
      List<Message> out = new ArrayList<>(messages.size());
      for (int i = 0; i < messages.size(); i++) {
        MessageBody m = messages.get(i);
        if (m == null) {
          throw invalid("messages[" + i + "]", "must be an object");
        }
        out.add(m.toMessage("messages[" + i + "]."));
      }
      return out;
    }
  }

  /**
   * One message to publish. {@code deliverAt} (an ISO-8601 instant, or epoch milliseconds as message
   * views show it) or {@code delay} (an ISO-8601 duration from its append) delays it, one or the other.
   */
  record MessageBody(String type, String key, Map<String, String> headers, String contentType, String payload,
      String payloadBase64, String id, String ttl, Integer priority, Object deliverAt, String delay) {

    Message toMessage(String prefix) {
      if (payload != null && payloadBase64 != null) {
        throw invalid(prefix + "payloadBase64", "cannot be given with payload");
      }
      byte[] bytes;
      if (payloadBase64 != null) {
        try {
          bytes = Base64.getDecoder().decode(payloadBase64);
        } catch (IllegalArgumentException e) {
          throw invalid(prefix + "payloadBase64", "is not base64");
        }
      } else {
        bytes = payload == null ? new byte[0] : payload.getBytes(StandardCharsets.UTF_8);
      }
      Message m = Message.of(type == null ? "" : type, bytes);
      if (key != null) {
        m = apply(prefix + "key", m, x -> x.withKey(key));
      }
      if (headers != null) {
        for (Map.Entry<String, String> h : headers.entrySet()) {
          if (h.getValue() == null) {
            throw invalid(prefix + "headers." + h.getKey(), "must be a string");
          }
        }
        m = apply(prefix + "headers", m, x -> x.withHeaders(headers));
      }
      if (contentType != null) {
        m = m.withContentType(contentType);
      } else if (payload != null) {
        // So that it comes back as text ("payload"), the way it was sent.
        m = m.withContentType("text/plain; charset=utf-8");
      }
      if (id != null) {
        try {
          m = m.withId(UUID.fromString(id));
        } catch (IllegalArgumentException e) {
          throw invalid(prefix + "id", "must be a UUID");
        }
      }
      if (ttl != null) {
        Duration d = duration(prefix + "ttl", ttl);
        m = apply(prefix + "ttl", m, x -> x.withTtl(d));
      }
      if (priority != null) {
        m = apply(prefix + "priority", m, x -> x.withPriority(priority));
      }
      if (deliverAt != null && delay != null) {
        throw invalid(prefix + "delay", "cannot be given with deliverAt");
      }
      if (deliverAt != null) {
        java.time.Instant at = instant(prefix + "deliverAt", deliverAt);
        m = apply(prefix + "deliverAt", m, x -> x.withDeliverAt(at));
      }
      if (delay != null) {
        Duration d = duration(prefix + "delay", delay);
        m = apply(prefix + "delay", m, x -> x.withDelay(d));
      }
      return m;
    }
  }

  /** {@code PUT /queues/{q}/consumers/{c}}. */
  record ConsumerBody(String startAt, String ackMode, Integer prefetch, String ackTimeout, Integer maxDeliveries,
      FilterBody filter, BackoffBody backoff, String inactiveTimeout, Boolean exclusive, PushBody push) {

    ConsumerSettings toSettings(String name) {
      ConsumerSettings s = ConsumerSettings.named(name);
      if (startAt != null) {
        s = s.startAt(position("startAt", startAt));
      }
      if (exclusive != null) {
        s = s.exclusive(exclusive);
      }
      if (ackMode != null) {
        s = s.ackMode(switch (ackMode) {
          case "explicit" -> AckMode.EXPLICIT;
          case "none" -> AckMode.NONE;
          default -> throw invalid("ackMode", "must be explicit or none");
        });
      }
      if (prefetch != null) {
        s = apply("prefetch", s, c -> c.prefetch(prefetch));
      }
      if (ackTimeout != null) {
        Duration d = duration("ackTimeout", ackTimeout);
        s = apply("ackTimeout", s, c -> c.ackTimeout(d));
      }
      if (maxDeliveries != null) {
        s = apply("maxDeliveries", s, c -> c.maxDeliveries(maxDeliveries));
      }
      if (filter != null) {
        if (filter.headers() != null && filter.headers().containsValue(null)) {
          throw invalid("filter.headers", "values must be strings");
        }
        FilterExpression expression = filter.expression() == null ? null
            : check("filter.expression", () -> FilterExpression.compile(filter.expression()));
        s = apply("filter", s, c -> c.filter(new MessageFilter(filter.type(), filter.headers(), expression)));
      }
      if (backoff != null) {
        if (backoff.initial() == null || backoff.max() == null || backoff.multiplier() == null
            || backoff.jitter() == null) {
          throw invalid("backoff", "needs initial, max, multiplier and jitter");
        }
        Duration initial = duration("backoff.initial", backoff.initial());
        Duration max = duration("backoff.max", backoff.max());
        s = apply("backoff", s, c -> c.backoff(Backoff.exponential(initial, max, backoff.multiplier(), backoff.jitter())));
      }
      if (inactiveTimeout != null) {
        Duration d = duration("inactiveTimeout", inactiveTimeout);
        s = apply("inactiveTimeout", s, c -> c.inactiveTimeout(d));
      }
      return push == null ? s : push.applyTo(s, backoff != null);
    }
  }

  /**
   * A push consumer's endpoint and policy. {@code retry} is the consumer's {@code maxDeliveries}
   * (one more than {@code maxRetries}) and {@code backoff} (without jitter, so retries come when
   * the policy says) in the form push users know; given alongside them, it must agree.
   */
  record PushBody(String endpoint, RetryBody retry, String ackDeadline, Integer maxOutstanding, Integer batchSize,
      List<Integer> permanentStatuses) {

    /** Most retries a push policy may ask for. */
    static final int MAX_RETRIES = 1000;

    ConsumerSettings applyTo(ConsumerSettings s, boolean backoffGiven) {
      if (endpoint == null) {
        throw invalid("push.endpoint", "is required");
      }
      if (batchSize != null && batchSize != 1) {
        throw invalid("push.batchSize", "must be 1: each message is its own request (CloudEvents binary mode)");
      }
      if (permanentStatuses != null && permanentStatuses.contains(null)) {
        throw invalid("push.permanentStatuses", "must hold HTTP statuses, not null");
      }
      PushSettings settings = check("push.endpoint", () -> PushSettings.to(endpoint));
      if (ackDeadline != null) {
        Duration d = duration("push.ackDeadline", ackDeadline);
        settings = apply("push.ackDeadline", settings, p -> p.ackDeadline(d));
      }
      if (maxOutstanding != null) {
        settings = apply("push.maxOutstanding", settings, p -> p.maxOutstanding(maxOutstanding));
      }
      if (permanentStatuses != null) {
        settings = apply("push.permanentStatuses", settings, p -> p.permanentStatuses(new HashSet<>(permanentStatuses)));
      }
      if (s.prefetch() != null && s.prefetch() < settings.maxOutstanding()) {
        throw invalid("prefetch", "must be at least push.maxOutstanding (" + settings.maxOutstanding() + ")");
      }
      if (s.ackMode() != AckMode.EXPLICIT) {
        throw invalid("ackMode", "must be explicit for a push consumer: its answers acknowledge");
      }
      ConsumerSettings out = retry == null ? s : retry.applyTo(s, backoffGiven);
      PushSettings chosen = settings;
      return apply("push", out, c -> c.push(chosen));
    }
  }

  /** A push policy's retries: at most {@code maxRetries} after the first attempt, delays growing by {@code multiplier}. */
  record RetryBody(Integer maxRetries, String initialDelay, String maxDelay, Double multiplier) {
    ConsumerSettings applyTo(ConsumerSettings s, boolean backoffGiven) {
      ConsumerSettings out = s;
      if (maxRetries != null) {
        if (maxRetries < 0 || maxRetries > PushBody.MAX_RETRIES) {
          throw invalid("push.retry.maxRetries", "must be between 0 and " + PushBody.MAX_RETRIES);
        }
        int deliveries = maxRetries + 1;
        if (s.maxDeliveries() != null && s.maxDeliveries() != deliveries) {
          throw invalid("push.retry.maxRetries", "disagrees with maxDeliveries " + s.maxDeliveries()
              + " (maxDeliveries is maxRetries + 1): give one of them");
        }
        out = out.maxDeliveries(deliveries);
      }
      if (initialDelay == null && maxDelay == null && multiplier == null) {
        return out;
      }
      Duration initial = initialDelay == null ? Duration.ofSeconds(1) : duration("push.retry.initialDelay", initialDelay);
      Duration max = maxDelay == null ? Duration.ofMinutes(10) : duration("push.retry.maxDelay", maxDelay);
      double growth = multiplier == null ? 2.0 : multiplier;
      if (backoffGiven) {
        Backoff b = s.backoff();
        if (!b.initial().equals(initial) || !b.max().equals(max) || b.multiplier() != growth) {
          throw invalid("push.retry", "disagrees with backoff: give one of them");
        }
        return out;
      }
      Backoff backoff = check("push.retry", () -> Backoff.exponential(initial, max, growth, 0.0));
      return out.backoff(backoff);
    }
  }

  /** A consumer's filter. */
  record FilterBody(String type, Map<String, String> headers, String expression) {}

  /** A consumer's redelivery backoff. */
  record BackoffBody(String initial, String max, Double multiplier, Double jitter) {}

  /** {@code POST …/ack}: sequences, or everything up to one. */
  record AckBody(List<Long> sequences, Long upTo) {
    AckBody {
      if ((sequences == null) == (upTo == null)) {
        throw invalid("sequences", "or upTo is required, not both");
      }
      if (upTo != null && upTo < 1) {
        throw invalid("upTo", "is a sequence number, which starts at 1");
      }
      requireElements("sequences", sequences);
    }
  }

  /** {@code POST …/nack}. */
  record NackBody(List<Long> sequences, Boolean requeue) {
    NackBody {
      if (sequences == null) {
        throw invalid("sequences", "is required");
      }
      requireElements("sequences", sequences);
    }

    boolean requeueOrDefault() {
      return requeue == null || requeue;
    }
  }

  /** {@code POST …/seek}. */
  record SeekBody(String to) {
    StartPosition position() {
      if (to == null) {
        throw invalid("to", "is required");
      }
      return Requests.position("to", to);
    }
  }

  /** {@code POST /queues/{q}/redrive}: an optional range of dead-letter sequences, or a selection of them. */
  record RedriveBody(Long from, Long to,
      // An explicit null is refused: read as absent, it would redrive the whole queue.
      @com.fasterxml.jackson.databind.annotation.JsonDeserialize(using = NotNullSequences.class) List<Long> sequences) {
    RedriveBody {
      if (sequences != null && (sequences.isEmpty() || sequences.size() > Spool.MAX_REDRIVE_SELECTION
          || sequences.stream().anyMatch(s -> s == null || s < 1))) {
        throw invalid("sequences", "holds 1 to " + Spool.MAX_REDRIVE_SELECTION + " sequence numbers, each 1 or more");
      }
    }
  }

  /** A list of sequences that may be absent but not null. */
  static final class NotNullSequences extends com.fasterxml.jackson.databind.JsonDeserializer<List<Long>> {
    private static final com.fasterxml.jackson.databind.JavaType TYPE =
        com.fasterxml.jackson.databind.type.TypeFactory.defaultInstance().constructCollectionType(List.class, Long.class);

    @Override
    public List<Long> deserialize(com.fasterxml.jackson.core.JsonParser p,
        com.fasterxml.jackson.databind.DeserializationContext context) throws java.io.IOException {
      return context.readValue(p, TYPE);
    }

    @Override
    public List<Long> getNullValue(com.fasterxml.jackson.databind.DeserializationContext context) {
      throw invalid("sequences", "must be a list of sequences when given, not null");
    }

    @Override
    public Object getAbsentValue(com.fasterxml.jackson.databind.DeserializationContext context) {
      return null;
    }
  }

  /** {@code PUT /stats/memory/threshold}. */
  record ThresholdBody(Long bytes) {
    ThresholdBody {
      if (bytes == null) {
        throw invalid("bytes", "is required");
      }
      check("bytes", () -> Limits.memoryThreshold(bytes));
    }
  }

  /**
   * {@code POST /consumers/stale/cleanup}: remove consumers idle for {@code idle} (an ISO-8601
   * duration; absent, the engine's {@code spool.janitor.stale-after}) whose lag exceeds
   * {@code lagThreshold} (absent, 0). Checked whole before anything is removed.
   */
  record CleanupBody(Long lagThreshold, String idle) {
    CleanupBody {
      if (lagThreshold != null) {
        check("lagThreshold", () -> Limits.lagThreshold(lagThreshold));
      }
      if (idle != null) {
        Duration d = duration("idle", idle);
        check("idle", () -> StaleConsumer.requireValidIdle(d));
      }
    }

    long lagThresholdOrDefault() {
      return lagThreshold == null ? 0 : lagThreshold;
    }

    /** The idle time asked for, or {@code null} for the engine's default. */
    Duration idleOrNull() {
      return idle == null ? null : duration("idle", idle);
    }
  }

  static SpoolException invalid(String field, String problem) {
    return new SpoolException.InvalidConfiguration("field '" + field + "' " + problem);
  }

  /** {@code value} with {@code change}, an engine call that validates, whose refusal names {@code field}. */
  static <T> T apply(String field, T value, UnaryOperator<T> change) {
    return check(field, () -> change.apply(value));
  }

  /** The engine's answer to {@code rule}; its refusal ({@code InvalidConfiguration}) names {@code field}. */
  static <T> T check(String field, Supplier<T> rule) {
    try {
      return rule.get();
    } catch (SpoolException.InvalidConfiguration e) {
      throw new SpoolException.InvalidConfiguration("field '" + field + "': " + e.getMessage());
    }
  }

  static Duration duration(String field, String text) {
    try {
      return Duration.parse(text.toUpperCase(Locale.ROOT));
    } catch (DateTimeParseException e) {
      throw invalid(field, "must be an ISO-8601 duration such as PT30S, not '" + truncate(text) + "'");
    }
  }

  /** An instant as ISO-8601 text, or as epoch milliseconds (the form message views show). */
  private static java.time.Instant instant(String field, Object value) {
    if (value instanceof Integer || value instanceof Long) {
      long millis = ((Number) value).longValue();
      if (millis < 0) {
        throw invalid(field, "must be epoch milliseconds of 0 or more, not " + millis);
      }
      return java.time.Instant.ofEpochMilli(millis);
    }
    if (!(value instanceof String text)) {
      throw invalid(field, "must be an ISO-8601 instant such as 2026-01-01T00:00:00Z, or epoch milliseconds");
    }
    try {
      return java.time.Instant.parse(text);
    } catch (DateTimeParseException e) {
      throw invalid(field, "must be an ISO-8601 instant such as 2026-01-01T00:00:00Z, not '" + truncate(text) + "'");
    }
  }

  private static StartPosition position(String field, String text) {
    try {
      return StartPosition.parse(text);
    } catch (SpoolException e) {
      throw invalid(field, "must be earliest, latest, sequence:N or time:2026-01-01T00:00:00Z, not '"
          + truncate(text) + "'");
    }
  }

  private static void requireElements(String field, List<Long> values) {
    if (values != null && values.contains(null)) {
      throw invalid(field, "must hold sequence numbers, not null");
    }
    if (values != null && values.stream().anyMatch(v -> v < 1)) {
      throw invalid(field, "must hold sequence numbers, which start at 1");
    }
  }

  static String truncate(String s) {
    return s.length() > 40 ? s.substring(0, 40) + "…" : s;
  }
}
