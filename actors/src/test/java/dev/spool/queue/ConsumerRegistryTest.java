package dev.spool.queue;

import static dev.spool.queue.QueueCoreFixture.consumerInfo;
import static dev.spool.queue.QueueCoreFixture.kib;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.ConsumerInfo;
import dev.spool.ConsumerSettings;
import dev.spool.QueueSettings;
import dev.spool.SpoolException;
import dev.spool.StartPosition;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConsumerRegistryTest {

  /** A consumer's actor as the registry sees it: only its identity matters. */
  private record Ref(String name, int incarnation) {}

  private final QueueCoreFixture q = QueueCoreFixture.transientQueue(QueueSettings.defaults());
  private final ConsumerRegistry<Ref> consumers = new ConsumerRegistry<>(q.retention, 1200);

  private boolean add(String name, long needFrom) {
    return consumers.add(name, new Ref(name, 1), ConsumerSettings.named(name), needFrom, () -> needFrom);
  }

  @Test
  void theTraceShareIsToldAtOnceOnlyWhenItHalvedAndAtTheTickOtherwise() {
    assertEquals(1200, consumers.newcomerTraceShare());
    assertTrue(add("a", 1)); // the first consumer: told at once
    assertEquals(1200, consumers.takeShareChange());

    assertEquals(600, consumers.newcomerTraceShare());
    assertTrue(add("b", 1)); // 600 is half of the 1200 told
    assertEquals(600, consumers.takeShareChange());

    assertFalse(add("c", 1)); // 400: above half of 600, waits for the tick
    assertEquals(400, consumers.takeShareChange());
    assertEquals(-1, consumers.takeShareChange()); // nothing came or went since

    assertFalse(add("d", 1)); // 300
    assertFalse(add("e", 1)); // 240
    assertTrue(add("f", 1)); // 200: half of the 400 told
    assertEquals(200, consumers.takeShareChange());

    consumers.remove("f", null);
    assertEquals(240, consumers.takeShareChange()); // a consumer gone gives the others more at the tick
  }

  @Test
  void aConsumerCreatedAgainWithEqualSettingsIsTheExistingOneAndWithOtherSettingsRefused() {
    assertNull(consumers.existing("orders", ConsumerSettings.named("billing")));
    add("billing", 1);

    assertEquals(new Ref("billing", 1), consumers.existing("orders", ConsumerSettings.named("billing")).ref());
    SpoolException refused = assertThrows(SpoolException.ConsumerAlreadyExists.class,
        () -> consumers.existing("orders", ConsumerSettings.named("billing").startAt(StartPosition.latest())));
    assertTrue(refused.getMessage().contains("billing"), refused.getMessage());
    assertEquals(1, consumers.size());
  }

  @Test
  void aRemovedConsumerNoLongerHoldsBackCollection() {
    q.publish(kib(), kib(), kib(), kib(), kib());
    add("slow", 2);
    add("fast", 5);

    assertEquals(1, q.retention.releaseAcknowledged());
    assertEquals(List.of(2L, 3L, 4L, 5L), q.retainedSequences());

    assertNull(consumers.remove("slow", new Ref("slow", 2))); // an older incarnation's stop removes nothing
    assertEquals(0, q.retention.collectGarbage());

    assertEquals(new Ref("slow", 1), consumers.remove("slow", null).ref());
    assertEquals(3, q.retention.collectGarbage());
    assertEquals(List.of(5L), q.retainedSequences());
    assertEquals(1, consumers.size());
    assertFalse(consumers.contains("slow"));
  }

  @Test
  void aConsumerWaitsOnlyWhileTheLogHoldsNothingPastItAndOnlyOnce() {
    add("billing", 1);
    add("audit", 1);

    assertEquals(new Ref("billing", 1), consumers.await("billing", 3, 4)); // 4 is past 3: wake now
    assertNull(consumers.await("billing", 4, 4));
    assertNull(consumers.await("audit", 4, 4));
    assertNull(consumers.await("gone", 4, 4)); // unknown: ignored
    assertEquals(List.of(new Ref("billing", 1), new Ref("audit", 1)), consumers.waiting());

    consumers.remove("audit", null); // a removed consumer is not woken
    assertEquals(List.of(new Ref("billing", 1)), consumers.waiting());
    consumers.clearWaiting();
    assertTrue(consumers.waiting().isEmpty());
  }

  @Test
  void isCurrentTellsAConsumerCreatedAgainUnderTheSameNameApart() {
    add("billing", 1);
    assertTrue(consumers.isCurrent("billing", new Ref("billing", 1)));
    consumers.remove("billing", null);
    consumers.add("billing", new Ref("billing", 2), ConsumerSettings.named("billing"), 1, () -> 1);

    assertFalse(consumers.isCurrent("billing", new Ref("billing", 1)));
    assertTrue(consumers.isCurrent("billing", new Ref("billing", 2)));
  }

  @Test
  void staleConsumersAreIdleUnattachedAndLagging() {
    Instant now = Instant.ofEpochMilli(q.clock.millis());
    Instant hourAgo = now.minus(Duration.ofHours(1));
    List<ConsumerInfo> listed = List.of(
        consumerInfo("idle-lagging", 500, hourAgo, 0),
        consumerInfo("idle-caught-up", 10, hourAgo, 0),
        consumerInfo("attached", 500, hourAgo, 1),
        consumerInfo("recent", 500, now.minus(Duration.ofMinutes(5)), 0));

    List<ConsumerInfo> stale = ConsumerRegistry.stale(listed, q.clock.millis(), Duration.ofMinutes(30), 100);

    assertEquals(List.of("idle-lagging"), stale.stream().map(ConsumerInfo::name).toList());
  }
}
