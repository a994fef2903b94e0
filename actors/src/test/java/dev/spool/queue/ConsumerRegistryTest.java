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
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConsumerRegistryTest {

  /** A consumer's actor as the registry sees it: only its identity matters. */
  private record Ref(String name, int incarnation) {}

  private final QueueCoreFixture q = QueueCoreFixture.transientQueue(QueueSettings.defaults());
  /** What the registry had the queue do: the actors it stopped, the removals it announced. */
  private final List<String> told = new ArrayList<>();
  private final ConsumerRegistry<Ref> consumers = new ConsumerRegistry<>(q.retention, 1200,
      new ConsumerRegistry.Outlet<>() {
        @Override
        public void stopped(String consumer, Ref ref) {
          told.add("stopped " + ref);
        }

        @Override
        public void removed(String consumer, String reason, long lag) {
          told.add(consumer + " removed: " + reason + ", lag " + lag);
        }
      });

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

    assertFalse(consumers.remove("slow", new Ref("slow", 2))); // an older incarnation's stop removes nothing
    assertEquals(List.of(2L, 3L, 4L, 5L), q.retainedSequences());
    assertTrue(told.isEmpty());

    assertTrue(consumers.remove("slow", null));
    assertEquals(List.of("stopped " + new Ref("slow", 1)), told);
    assertEquals(List.of(5L), q.retainedSequences()); // collected at once
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

    listed.forEach(c -> add(c.name(), 1));

    assertEquals(List.of("idle-lagging"), consumers.removeStale(listed, q.clock.millis(), Duration.ofMinutes(30), 100)
        .stream().map(dev.spool.StaleConsumer::consumer).toList());

    assertEquals(List.of("stopped " + new Ref("idle-lagging", 1), "idle-lagging removed: stale, lag 500"), told);
    assertEquals(3, consumers.size());
    assertEquals(List.of(), consumers.removeStale(listed, q.clock.millis(), Duration.ofMinutes(30), 100)); // gone already
  }

  @Test
  void deletingAConsumerThatIsNotThereIsRefusedAndChangesNothing() {
    add("billing", 1);

    assertThrows(SpoolException.ConsumerNotFound.class, () -> consumers.delete("orders", "audit"));
    assertTrue(told.isEmpty());
    consumers.delete("orders", "billing");
    assertEquals(List.of("stopped " + new Ref("billing", 1)), told);
  }

  @Test
  void anInactiveConsumerIsRemovedOnlyIfItsActorIsStillTheCurrentOne() {
    add("billing", 1);
    consumers.remove("billing", null);
    consumers.add("billing", new Ref("billing", 2), ConsumerSettings.named("billing"), 1, () -> 1);
    told.clear();

    assertFalse(consumers.removeInactive("billing", new Ref("billing", 1), 40)); // created again since
    assertTrue(told.isEmpty());
    assertTrue(consumers.removeInactive("billing", new Ref("billing", 2), 40));
    assertEquals(List.of("stopped " + new Ref("billing", 2), "billing removed: inactive, lag 40"), told);
    assertEquals(0, consumers.size());
  }
}
