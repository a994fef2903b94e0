package dev.spool.actor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.Durability;
import dev.spool.JournalHealth;
import dev.spool.QueueSettings;
import dev.spool.SpoolException;
import dev.spool.durable.RegistryEvent;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.Done;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The manager's bookkeeping of durable queues: readiness, registry failures, definitions, deletions. */
class DurableQueuesTest {

  private static final Instant T0 = Instant.parse("2026-11-30T12:00:00Z");
  private static final QueueSettings DURABLE = QueueSettings.defaults().withDurability(Durability.PERSISTENT);

  private final CompletableFuture<Done> ready = new CompletableFuture<>();
  private final Clock clock = Clock.fixed(T0, ZoneOffset.UTC);

  private DurableQueues<String> withRegistry() {
    return new DurableQueues<>(true, ready, clock, LoggerFactory.getLogger("durable-test"));
  }

  @Test
  void withoutARegistryItIsReadyAtOnce() {
    DurableQueues<String> durable = new DurableQueues<>(false, ready, clock, LoggerFactory.getLogger("durable-test"));

    assertTrue(ready.isDone());
    assertTrue(durable.registryWrites());
    assertEquals(JournalHealth.HEALTHY, durable.health());
  }

  @Test
  void readyOnlyOnceTheRegistryIsReadAndEveryQueueFoundAtStartRecovered() {
    DurableQueues<String> durable = withRegistry();
    assertFalse(durable.registryWrites(), "the registry is being read");
    assertFalse(durable.registryFailed(), "reading is not failing: commands wait");
    assertEquals(List.of(JournalHealth.State.RECOVERING), states(durable));

    durable.recovering("orders");
    durable.recovering("audit");
    durable.registryRead(2);
    assertFalse(ready.isDone());
    assertTrue(durable.registryWrites());

    durable.recovered("orders", true);
    assertFalse(ready.isDone());
    assertEquals(List.of("audit"), durable.health().problems().stream().map(JournalHealth.Problem::queue).toList());

    durable.stopped("audit", true); // deleted while it recovered: nothing left to wait for
    assertTrue(ready.isDone());
    assertEquals(JournalHealth.HEALTHY, durable.health());
  }

  @Test
  void aQueueReplacedSinceItReportedDoesNotClearTheNewOnesProblem() {
    DurableQueues<String> durable = withRegistry();
    durable.recovering("orders");
    durable.registryRead(1);

    durable.recovered("orders", false);

    assertTrue(ready.isDone(), "it no longer holds readiness back");
    assertEquals(List.of(JournalHealth.State.RECOVERING), states(durable), "but its journal's state is the new one's");
  }

  @Test
  void aFailingRegistryRefusesWithItsStateAndKeepsWhenTheFailureBegan() {
    DurableQueues<String> durable = withRegistry();
    SQLException down = new SQLException("Connection to db:5432 refused");

    durable.registryUnavailable(down);
    assertTrue(durable.registryFailed());
    JournalHealth.Problem first = durable.health().problems().get(0);
    assertEquals(JournalHealth.State.UNAVAILABLE, first.state());

    durable.registryUnavailable(down);
    assertEquals(first.since(), durable.health().problems().get(0).since(), "the same failure goes on");
    SpoolException refusal = durable.refusal();
    assertEquals(SpoolException.Code.JournalUnavailable, refusal.code());
    assertTrue(refusal.getMessage().contains("unavailable since " + first.since()), refusal.getMessage());

    durable.registryAnswered();
    assertTrue(durable.registryFailed(), "an answer before the first read does not clear a failed read");
    durable.registryRead(0);
    assertFalse(durable.registryFailed());
    assertTrue(ready.isDone());
  }

  @Test
  void createsWaitForTheirDefinitionAndAStoredOneEndsAPendingDeletion() {
    DurableQueues<String> durable = withRegistry();
    durable.registryRead(0);
    durable.deleting("orders");
    assertTrue(durable.deletionPending("orders"));

    RegistryEvent.QueueDefined definition = durable.define("orders", DURABLE, "create-1");
    durable.defining("orders").waiting().add("create-2");
    assertEquals("orders", definition.name());
    assertEquals(DURABLE, definition.settings());

    DurableQueues.Defining<String> defined = durable.defined("orders", true);
    assertEquals(List.of("create-1", "create-2"), defined.waiting());
    assertNull(durable.defining("orders"));
    assertFalse(durable.deletionPending("orders"), "the registry now holds the new queue");
    assertNull(durable.defined("orders", true), "answered once");
  }

  @Test
  void aDefinitionNotStoredLeavesAPendingDeletionToRetry() {
    DurableQueues<String> durable = withRegistry();
    durable.registryRead(0);
    durable.deleting("orders");
    durable.define("orders", DURABLE, null);

    DurableQueues.Defining<String> failed = durable.defined("orders", false);

    assertTrue(failed.waiting().isEmpty());
    assertTrue(durable.deletionPending("orders"));
    durable.deleted("orders");
    assertFalse(durable.deletionPending("orders"));
  }

  private static List<JournalHealth.State> states(DurableQueues<?> durable) {
    return durable.health().problems().stream().map(JournalHealth.Problem::state).toList();
  }
}
