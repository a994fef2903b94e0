package dev.spool.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.spool.Message;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;

/** Realistic messages for the storage formats' tests: JSON payloads, headers, keys, shared envelopes. */
public final class TestMessages {

  /** Found in every payload and header these messages carry, so that a raw scan can look for it. */
  public static final String MARKER = "SECRET-MARKER-7f3a";

  private TestMessages() {}

  /**
   * {@code count} appended messages from {@code firstSequence}, with payloads of {@code payloadBytes}
   * (order JSON, varying values), headers, a key on some and a producer-chosen id on others.
   */
  public static List<Message> orders(long firstSequence, int count, int payloadBytes) {
    Random random = new Random(firstSequence * 31 + payloadBytes);
    long seed = Message.newIdSeed();
    List<Message> messages = new ArrayList<>(count);
    Message previous = null;
    for (int i = 0; i < count; i++) {
      Message m = Message.of("order.created", json(random, payloadBytes))
          .withContentType("application/json")
          .withHeaders(Map.of("traceparent", "00-" + MARKER + "-" + (i % 4), "tenant", "acme-" + MARKER));
      if (i % 3 == 0) {
        m = m.withKey("customer-" + (i % 17));
      }
      if (i % 5 == 0) {
        m = m.withId(UUID.randomUUID());
      }
      if (i % 7 == 0) {
        m = m.withExpiresAt(Instant.ofEpochMilli(1_900_000_000_000L + i));
      }
      previous = m.appended(firstSequence + i, 1_764_000_000_000L + i, "producer-" + (i % 2), seed, previous);
      messages.add(previous);
    }
    return messages;
  }

  /** A JSON order of exactly {@code size} bytes holding {@link #MARKER}. */
  public static byte[] json(Random random, int size) {
    StringBuilder b = new StringBuilder(size + 200);
    b.append("{\"marker\":\"").append(MARKER).append("\",\"orderId\":").append(random.nextInt(1_000_000))
        .append(",\"customer\":{\"id\":").append(random.nextInt(10_000)).append(",\"country\":\"DE\"},\"items\":[");
    int item = 0;
    while (b.length() < size) {
      b.append(item++ == 0 ? "" : ",").append("{\"sku\":\"SKU-").append(1000 + random.nextInt(500))
          .append("\",\"quantity\":").append(1 + random.nextInt(5)).append(",\"price\":")
          .append(random.nextInt(10_000) / 100.0).append(",\"currency\":\"EUR\"}");
    }
    b.setLength(size - 2);
    b.append("]}");
    byte[] bytes = b.toString().getBytes(StandardCharsets.UTF_8);
    return bytes;
  }

  /** Every field of each message is read back equal. */
  public static void assertSameMessages(List<Message> expected, List<Message> actual) {
    assertEquals(expected.size(), actual.size());
    for (int i = 0; i < expected.size(); i++) {
      Message e = expected.get(i);
      Message a = actual.get(i);
      assertEquals(e.sequence(), a.sequence());
      assertEquals(e.timestamp(), a.timestamp());
      assertEquals(e.id(), a.id());
      assertEquals(e.hasProducerId(), a.hasProducerId());
      assertEquals(e.producerId(), a.producerId());
      assertEquals(e.type(), a.type());
      assertEquals(e.key(), a.key());
      assertEquals(e.headers(), a.headers());
      assertEquals(e.contentType(), a.contentType());
      assertEquals(e.expiresAt(), a.expiresAt());
      assertArrayEquals(e.payload(), a.payload());
      assertEquals(e.sizeBytes(), a.sizeBytes());
    }
  }

  /** Whether {@code haystack} holds {@code needle}'s UTF-8 bytes anywhere. */
  public static boolean contains(byte[] haystack, String needle) {
    byte[] n = needle.getBytes(StandardCharsets.UTF_8);
    outer:
    for (int i = 0; i + n.length <= haystack.length; i++) {
      for (int j = 0; j < n.length; j++) {
        if (haystack[i + j] != n[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }
}
