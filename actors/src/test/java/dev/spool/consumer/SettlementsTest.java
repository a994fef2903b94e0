package dev.spool.consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.AckResult;
import dev.spool.ConsumerSettings;
import dev.spool.Message;
import dev.spool.QueueSettings;
import dev.spool.SpoolEvent;
import dev.spool.SpoolException;
import dev.spool.StartPosition;
import dev.spool.log.ConsumerCursor;
import dev.spool.log.DeliveryTrace;
import java.util.List;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.TestInbox;
import org.apache.pekko.pattern.StatusReply;
import org.junit.jupiter.api.Test;

class SettlementsTest {

  @Test
  void anAckSaysWhatItSettledWhatWasSettledAndWhatIsUnknown() {
    ConsumerFixture f = ConsumerFixture.explicit(10, 5);
    f.dispatcher.take(3, Subscribers.PULL_OWNER);
    f.dispatcher.closeBatch();
    assertEquals(new AckResult(2, List.of(), List.of(9L)), f.settlements.ack(List.of(1L, 2L, 9L)));
    assertEquals(new AckResult(1, List.of(2L), List.of()), f.settlements.ack(List.of(2L, 3L)));
    assertEquals(1, f.settledBatches.size(), "the round's batch is settled once all three are");
    assertEquals(3, f.state.committed());
    assertEquals(new AckResult(0, List.of(), List.of(7L)), f.settlements.ackUpTo(7));
  }

  @Test
  void aNackRedeliversAfterTheBackoffAndRecordsTheAttempt() {
    ConsumerFixture f = ConsumerFixture.explicit(10, 2);
    f.dispatcher.take(1, Subscribers.PULL_OWNER);
    assertEquals(1, f.settlements.nack(List.of(1L, 2L), true), "only what was in flight is nacked");
    assertEquals(List.of("1 after 100 ms"), f.retries, "2 was never delivered: nothing to redeliver");
    assertEquals(ConsumerCursor.Standing.WAITING, f.state.cursor().standingOf(1));
    assertEquals("nacked", f.state.retry().history(1).get(0).outcome());
    assertEquals(1, f.state.stats().counters().nacked());
  }

  @Test
  void aRejectionOrTheLastAttemptGivesUp() {
    ConsumerFixture f = new ConsumerFixture(ConsumerSettings.named("c").prefetch(10).maxDeliveries(2),
        new QueueSettings.DeadLetter("orders-dlq", 5), 3);
    f.dispatcher.take(2, Subscribers.PULL_OWNER);
    f.settlements.nack(List.of(1L), false);
    assertEquals(List.of("1 after 1 (rejected)"), f.givenUp);
    assertTrue(f.state.cursor().isHeld(1), "held until the dead-letter queue has it");
    f.settlements.handlerFailed(9, 2, 1, new IllegalStateException("boom"), false);
    f.state.cursor().backoffElapsed(2);
    f.dispatcher.take(1, Subscribers.PULL_OWNER);
    f.settlements.handlerFailed(9, 2, 2, new IllegalStateException("boom"), true);
    assertEquals(List.of("1 after 1 (rejected)", "2 after 2 (max-deliveries)"), f.givenUp);
    assertEquals(List.of("failed", "timed-out"),
        f.state.retry().history(2).stream().map(RetryPolicy.Attempt::outcome).toList());
    assertEquals("IllegalStateException: boom", f.state.retry().history(2).get(0).error());
    f.settlements.deadLettered(2, 2);
    assertFalse(f.state.cursor().isHeld(2));
    assertEquals(0, f.state.retry().history(2) == null ? 0 : 1, "its history is forgotten once settled");
    f.settlements.deadLetterFailed(1, 1);
    assertEquals(ConsumerCursor.Standing.WAITING, f.state.cursor().standingOf(1), "kept, and tried again later");
  }

  @Test
  void withoutADeadLetterQueueAGivenUpMessageIsDroppedAndCounted() {
    ConsumerFixture f = ConsumerFixture.explicit(10, 2);
    f.dispatcher.take(1, Subscribers.PULL_OWNER);
    f.settlements.nack(List.of(1L), false);
    assertEquals(List.of(), f.givenUp, "no dead-letter queue to ask");
    assertEquals(1, f.total(ConsumerStats.Total.DROPPED), "and in its queue's totals");
    assertEquals(ConsumerCursor.Standing.SETTLED, f.state.cursor().standingOf(1));
    assertFalse(f.settlements.drop(1, 1), "dropped once");
    assertEquals(1, f.state.stats().counters().dropped());
  }

  @Test
  void onlyTheCurrentAttemptOfAHandlerCallSettles() {
    ConsumerFixture f = ConsumerFixture.explicit(10, 2);
    f.dispatcher.take(1, Subscribers.PULL_OWNER);
    assertFalse(f.settlements.handled(1, 2), "a stale attempt settles nothing");
    assertTrue(f.settlements.handled(1, 1));
    assertFalse(f.settlements.handled(1, 1));
    assertEquals(1, f.state.stats().counters().acked());
  }

  @Test
  void anAckDeadlinePutsItsBatchBackButNotAHandlers() {
    ConsumerFixture f = ConsumerFixture.explicit(10, 4);
    f.dispatcher.take(2, Subscribers.PULL_OWNER);
    f.state.handlers().add(5, d -> null, 2, Runnable::run, new HandlerPoolTest.FakeBreaker(),
        java.time.Duration.ofSeconds(1), false);
    f.state.subscribers().newOwner();
    long batch = f.dispatcher.closeBatch();
    assertTrue(f.settlements.deadlinePassed(batch));
    assertEquals(ConsumerCursor.Standing.WAITING, f.state.cursor().standingOf(1));
    assertFalse(f.settlements.deadlinePassed(batch), "a settled batch has passed already");
  }

  @Test
  void aRemovalCountsWhatThisConsumerHadNotAcknowledged() {
    ConsumerFixture f = ConsumerFixture.explicit(10, 6);
    f.dispatcher.take(3, Subscribers.PULL_OWNER);
    f.settlements.ack(List.of(1L));
    Message two = f.log.remove(2, 1);
    Message one = ConsumerFixture.message(1);
    Message five = f.log.remove(5, 1);
    Settlements.Withdrawn withdrawn = f.settlements.removed(List.of(one, two, five), 1, true,
        DeliveryTrace.Kind.DROPPED);
    assertEquals(new Settlements.Withdrawn(2, 2, 5), withdrawn, "1 was acknowledged; 2 in flight, 5 pending");
    assertEquals(ConsumerCursor.Standing.SETTLED, f.state.cursor().standingOf(2), "withdrawn, never redelivered");
    assertEquals(2, f.state.stats().counters().dropped());
    assertEquals(1, f.state.knownEpoch());
    Message six = f.log.remove(6, 2);
    assertEquals(0, f.settlements.removed(List.of(six), 2, false, DeliveryTrace.Kind.DROPPED).count(),
        "redriven messages are withdrawn without counting");
  }

  @Test
  void aSeekDropsWhatWasInFlightAndStartsGroupsOver() {
    ConsumerFixture f = ConsumerFixture.explicit(10, 6);
    f.dispatcher.take(3, Subscribers.PULL_OWNER);
    f.settlements.nack(List.of(2L), true);
    f.settlements.seek(5);
    assertEquals(5, f.state.cursor().next());
    assertEquals(0, f.state.cursor().unsettled());
    assertEquals(0, f.state.retry().remembered());
  }

  @Test
  void aMessageGivenUpOnIsSettledOnlyOnceTheDeadLetterQueueHasIt() {
    ConsumerFixture f = new ConsumerFixture(ConsumerSettings.named("c").prefetch(10),
        new QueueSettings.DeadLetter("orders-dlq", 5), 3);
    f.dispatcher.take(1, Subscribers.PULL_OWNER);
    f.settlements.nack(List.of(1L), false);
    assertEquals(List.of("1 after 1 (rejected)"), f.givenUp, "its copy goes to the dead-letter queue");
    assertFalse(f.settlements.deadLetterAppended(1, 1, "rejected", null, new IllegalStateException("dlq full")),
        "a failed append settles nothing");
    assertEquals(List.of("1 after 100 ms"), f.retries, "it comes back after the backoff");
    assertEquals(List.of(), f.events);
    assertTrue(f.settlements.deadLetterAppended(1, 1, "rejected", List.of(42L), null));
    SpoolEvent.DeadLettered event = (SpoolEvent.DeadLettered) f.events.get(0);
    assertEquals(List.of(1L, 42L, 1), List.of(event.sequence(), event.deadLetterSequence(), event.attempts()));
    assertEquals("orders-dlq", event.deadLetterQueue());
    assertEquals(1, f.total(ConsumerStats.Total.DEAD_LETTERED));
    assertEquals(0, f.total(ConsumerStats.Total.DROPPED));
  }

  @Test
  void aRemovalPublishesWhatThisConsumerLostAndARedriveNothing() {
    ConsumerFixture f = ConsumerFixture.explicit(10, 6);
    f.dispatcher.take(2, Subscribers.PULL_OWNER);
    Message two = f.log.remove(2, 1);
    Message three = f.log.remove(3, 1);
    f.settlements.removal(List.of(two, three), 1, true, true);
    SpoolEvent.MessagesExpired expired = (SpoolEvent.MessagesExpired) f.events.get(0);
    assertEquals(List.of(2L, 2L, 3L), List.of(expired.count(), expired.firstSequence(), expired.lastSequence()));
    f.settlements.removal(List.of(f.log.remove(4, 2)), 2, true, false);
    assertTrue(f.events.get(1) instanceof SpoolEvent.MessagesDropped, "evicted: dropped");
    f.settlements.removal(List.of(f.log.remove(5, 3)), 3, false, false);
    assertEquals(2, f.events.size(), "redriven messages are not lost: nothing to tell");
  }

  @Test
  void aSeekPastTheEndIsRefusedAndChangesNothing() {
    ConsumerFixture f = ConsumerFixture.explicit(10, 6);
    f.dispatcher.take(2, Subscribers.PULL_OWNER);
    TestInbox<StatusReply<Done>> reply = TestInbox.create();
    assertFalse(f.settlements.seek(StartPosition.sequence(99), reply.getRef()));
    assertTrue(reply.receiveMessage().getError() instanceof SpoolException.SequenceOutOfRange);
    assertEquals(2, f.state.cursor().inFlight(), "what was in flight still is");
    assertTrue(f.settlements.seek(StartPosition.sequence(5), reply.getRef()));
    assertTrue(reply.receiveMessage().isSuccess(), "no journal: answered at once");
    assertEquals(5, f.state.cursor().next());
    assertEquals(0, f.state.cursor().inFlight());
    assertEquals(1, f.settledBatches.size(), "the ack deadline of what was in flight is cancelled");
    assertEquals(List.of(5L), f.progress, "a seek tells the queue at once, even within a segment");
  }

  @Test
  void acknowledgementsAddToTheQueuesTotalsAndPublishTheNeed() {
    ConsumerFixture f = ConsumerFixture.explicit(10, 6);
    f.dispatcher.take(3, Subscribers.PULL_OWNER);
    f.settlements.ack(List.of(1L, 2L, 9L));
    assertEquals(2, f.total(ConsumerStats.Total.ACKED), "9 was never delivered");
    assertEquals(3, f.state.needFrom(), "the queue may free what was acknowledged, without a message");
    f.settlements.ack(List.of(1L));
    assertEquals(2, f.total(ConsumerStats.Total.ACKED), "acknowledged twice, counted once");
  }
}
