package dev.spool.actor;

import dev.spool.Message;
import dev.spool.consumer.RetryPolicy.Attempt;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * How a dead-lettered copy of a message is made, and how redrive turns it back into a message for
 * its source queue. Pure functions: the consumer and queue actors call them.
 *
 * <p>The copy keeps type, key, content type, headers and payload, and adds the {@code x-death-*}
 * headers of semantics.md with the attempt history, and the last attempt's error (a handler's
 * exception class and message, at most 200 characters) in {@code x-death-error}. Its id is derived from where it died (queue,
 * consumer, sequence), so a dead-lettering retried after a lost reply is deduplicated by the
 * dead-letter queue instead of appended twice; redrive derives the new message's id from the
 * dead-letter sequence for the same reason.
 */
final class DeadLetters {

  static final String QUEUE = "x-death-queue";
  static final String CONSUMER = "x-death-consumer";
  static final String REASON = "x-death-reason";
  static final String COUNT = "x-death-count";
  static final String SEQUENCE = "x-death-sequence";
  static final String TIME = "x-death-time";
  static final String ORIGINAL_ID = "x-death-original-id";
  static final String HISTORY = "x-death-history";
  static final String ERROR = "x-death-error";
  static final String PREFIX = "x-death-";

  /** Producer id of dead-lettered copies and of redriven messages. */
  static final String DEAD_LETTER_PRODUCER = "$dead-letter";
  static final String REDRIVE_PRODUCER = "$redrive";

  /** Most characters of the attempt history header; older attempts are cut first. */
  static final int MAX_HISTORY_CHARS = 2048;

  private DeadLetters() {}

  /** The dead-letter copy of {@code m}, given up on by {@code consumer} of {@code queue}. */
  static Message copyOf(Message m, String queue, String consumer, String reason, int attempts,
      List<Attempt> history, long nowMillis) {
    Map<String, String> headers = new HashMap<>(m.headers());
    headers.put(QUEUE, queue);
    headers.put(CONSUMER, consumer);
    headers.put(REASON, reason);
    headers.put(COUNT, Integer.toString(attempts));
    headers.put(SEQUENCE, Long.toString(m.sequence()));
    headers.put(TIME, Instant.ofEpochMilli(nowMillis).toString());
    headers.put(ORIGINAL_ID, m.id().toString());
    if (history != null && !history.isEmpty()) {
      headers.put(HISTORY, history(history));
      String lastError = history.get(history.size() - 1).error();
      if (lastError != null) {
        headers.put(ERROR, lastError);
      }
    }
    // Its priority goes with it; its delivery time, passed already, does not.
    Message copy = Message.of(m.type(), m.payload())
        .withHeaders(headers)
        .withPriority(m.priority())
        .withId(UUID.nameUUIDFromBytes((queue + '\0' + consumer + '\0' + m.sequence() + '\0' + m.id())
            .getBytes(StandardCharsets.UTF_8)));
    copy = m.key().map(copy::withKey).orElse(copy);
    return m.contentType().map(copy::withContentType).orElse(copy);
  }

  /** {@code 1 2026-11-23T10:00:00Z failed IllegalStateException: boom; 2 …}, newest kept when cut. */
  static String history(List<Attempt> history) {
    StringBuilder out = new StringBuilder();
    for (int i = history.size() - 1; i >= 0; i--) {
      Attempt a = history.get(i);
      String one = a.attempt() + " " + Instant.ofEpochMilli(a.atMillis()) + " " + a.outcome()
          + (a.error() == null ? "" : " " + a.error().replace(';', ','));
      if (out.length() + one.length() + 2 > MAX_HISTORY_CHARS) {
        break;
      }
      out.insert(0, out.length() == 0 ? one : one + "; ");
    }
    return out.toString();
  }

  /** The queue a dead-lettered message came from, or {@code null} if it is not one. */
  static String sourceQueue(Message deadLettered) {
    String queue = deadLettered.headers().get(QUEUE);
    String partitioned = queue == null ? null : dev.spool.queue.Partitions.parentOf(queue);
    // Back through a partitioned queue, which places it again: by its key, in the same partition.
    return partitioned != null ? partitioned : queue;
  }

  /** A new message for the source queue: the dead-lettered one without its {@code x-death-*} headers. */
  static Message redriven(Message deadLettered, String deadLetterQueue) {
    Map<String, String> headers = new HashMap<>(deadLettered.headers());
    headers.keySet().removeIf(name -> name.startsWith(PREFIX));
    Message copy = Message.of(deadLettered.type(), deadLettered.payload())
        .withHeaders(headers)
        .withPriority(deadLettered.priority())
        .withId(UUID.nameUUIDFromBytes((deadLetterQueue + '\0' + deadLettered.sequence() + '\0' + deadLettered.id())
            .getBytes(StandardCharsets.UTF_8)));
    copy = deadLettered.key().map(copy::withKey).orElse(copy);
    return deadLettered.contentType().map(copy::withContentType).orElse(copy);
  }
}
