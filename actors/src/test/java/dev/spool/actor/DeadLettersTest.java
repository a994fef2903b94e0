package dev.spool.actor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.Message;
import dev.spool.consumer.RetryPolicy.Attempt;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class DeadLettersTest {

  private static Message appended(long sequence) {
    return Message.text("order", "payload").withKey("k").withHeader("group-id", "g")
        .appended(sequence, 1_000, "producer");
  }

  @Test
  void theCopyKeepsTheMessageAndAddsTheDeathHeadersWithAStableId() {
    Message m = appended(42);
    List<Attempt> history = List.of(
        new Attempt(1, 0, "failed", "IllegalStateException: boom; again"),
        new Attempt(2, 1, "timed-out", null));
    Message copy = DeadLetters.copyOf(m, "orders", "billing", "max-deliveries", 2, history, 5_000);
    assertEquals("order", copy.type());
    assertEquals("payload", copy.payloadAsString());
    assertEquals(Optional.of("k"), copy.key());
    assertEquals(m.contentType(), copy.contentType());
    assertEquals("g", copy.headers().get("group-id"));
    assertEquals("orders", copy.headers().get("x-death-queue"));
    assertEquals("billing", copy.headers().get("x-death-consumer"));
    assertEquals("max-deliveries", copy.headers().get("x-death-reason"));
    assertEquals("2", copy.headers().get("x-death-count"));
    assertEquals("42", copy.headers().get("x-death-sequence"));
    assertEquals(m.id().toString(), copy.headers().get("x-death-original-id"));
    assertEquals("1 1970-01-01T00:00:00Z failed IllegalStateException: boom, again; 2 1970-01-01T00:00:00.001Z timed-out",
        copy.headers().get("x-death-history"));
    assertTrue(copy.hasProducerId(), "a chosen id, so a retried dead-lettering is deduplicated");
    assertEquals(copy.id(), DeadLetters.copyOf(m, "orders", "billing", "rejected", 3, null, 9).id());
    assertNotEquals(copy.id(), DeadLetters.copyOf(appended(43), "orders", "billing", "rejected", 3, null, 9).id());
  }

  @Test
  void theHistoryIsBoundedKeepingTheNewestAttempts() {
    List<Attempt> many = new ArrayList<>();
    for (int i = 1; i <= 200; i++) {
      many.add(new Attempt(i, 0, "failed", "x".repeat(50)));
    }
    String history = DeadLetters.history(many);
    assertTrue(history.length() <= DeadLetters.MAX_HISTORY_CHARS);
    assertTrue(history.endsWith("200 1970-01-01T00:00:00Z failed " + "x".repeat(50)), history);
    assertFalse(history.startsWith("1 "));
  }

  @Test
  void redriveDropsTheDeathHeadersAndKnowsTheSource() {
    Message dead = DeadLetters.copyOf(appended(7), "orders", "billing", "rejected", 1, null, 0).appended(3, 2_000, "$dead-letter");
    assertEquals("orders", DeadLetters.sourceQueue(dead));
    Message again = DeadLetters.redriven(dead, "orders-dlq");
    assertTrue(again.headers().keySet().stream().noneMatch(h -> h.startsWith("x-death-")));
    assertEquals("g", again.headers().get("group-id"));
    assertEquals("payload", again.payloadAsString());
    assertEquals(null, DeadLetters.sourceQueue(appended(1)));
  }
}
