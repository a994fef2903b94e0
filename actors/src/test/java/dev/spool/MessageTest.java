package dev.spool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The compact appended form: shared envelopes must never mix up what differs between messages. */
class MessageTest {

  @Test
  void derivedIdsAreUniqueVersion4UuidsAndProducerIdsAreKept() {
    long seed = Message.newIdSeed();
    Set<UUID> ids = new HashSet<>();
    Message previous = null;
    for (long s = 1; s <= 10_000; s++) {
      previous = Message.text("t", "x").appended(s, 1000 + s, "p", seed, previous);
      UUID id = previous.id();
      assertEquals(4, id.version());
      assertEquals(2, id.variant());
      ids.add(id);
    }
    assertEquals(10_000, ids.size());
    UUID chosen = UUID.randomUUID();
    Message withId = Message.text("t", "x").withId(chosen).appended(1, 0, "p", seed, previous);
    assertEquals(chosen, withId.id());
    assertNull(Message.text("t", "x").id(), "no id before the append unless chosen");
  }

  @Test
  void sharedEnvelopesKeepEachMessagesOwnFields() {
    long seed = Message.newIdSeed();
    Message a = Message.text("order", "a").withHeader("k", "1").appended(1, 5_000, "p", seed, null);
    Message b = Message.text("order", "b").withHeader("k", "1").appended(2, 5_007, "p", seed, a);
    Message c = Message.text("order", "c").withHeader("k", "2").appended(3, 5_009, "p", seed, b);
    Message d = Message.text("order", "d").withTtl(Duration.ofSeconds(1)).appended(4, 6_000, "q", seed, c);
    Message e = Message.text("order", "e").appended(5, 6_000L + Integer.MAX_VALUE + 1, "q", seed, d);
    assertEquals(5_000, a.timestamp());
    assertEquals(5_007, b.timestamp());
    assertEquals(Map.of("k", "1"), b.headers());
    assertEquals(Map.of("k", "2"), c.headers());
    assertEquals(5_009, c.timestamp());
    assertEquals("q", d.producerId());
    assertEquals(Optional.of(Instant.ofEpochMilli(7_000)), d.expiresAt());
    assertEquals(Optional.empty(), e.expiresAt());
    assertEquals(6_000L + Integer.MAX_VALUE + 1, e.timestamp(), "times beyond an int offset get their own base");
    assertEquals("b", b.payloadAsString());
    assertNotEquals(a.id(), b.id());
    assertEquals(Message.FIXED_OVERHEAD_BYTES + 1 + "order".length() + "p".length() + 2
        + "text/plain; charset=utf-8".length(), a.sizeBytes());
  }
}
