package dev.spool.consumer;

import static dev.spool.consumer.ConsumerFixture.sequences;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.ConsumerSettings;
import dev.spool.Delivery;
import dev.spool.Message;
import dev.spool.MessageFilter;
import dev.spool.SpoolEvent;
import dev.spool.Limits;
import dev.spool.SpoolException;
import dev.spool.SpoolSettings;
import dev.spool.StartPosition;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import java.util.TreeMap;
import java.util.Map;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.TestInbox;
import org.apache.pekko.pattern.StatusReply;
import org.junit.jupiter.api.Test;

class DispatcherTest {

  @Test
  void redeliveriesGoBeforeNewMessagesWithTheirAttempt() {
    ConsumerFixture f = ConsumerFixture.explicit(10, 6);
    assertEquals(List.of(1L, 2L, 3L), sequences(f.dispatcher.take(3, Subscribers.PULL_OWNER)));
    f.state.cursor().requeue(2, false, b -> { });
    f.state.cursor().requeue(1, false, b -> { });
    List<Delivery> next = f.dispatcher.take(4, Subscribers.PULL_OWNER);
    assertEquals(List.of(1L, 2L, 4L, 5L), sequences(next), "waiting redeliveries first, in sequence order");
    assertEquals(List.of(2, 2, 1, 1), next.stream().map(Delivery::attempt).toList());
  }

  @Test
  void aBatchStopsAtFourMebibytesButAlwaysTakesOneMessage() {
    ConsumerFixture f = ConsumerFixture.none(100, 0);
    for (int i = 0; i < 10; i++) {
      f.log.append(Message.of("big", new byte[1 << 20])
          .appended(f.log.nextSequence(), ConsumerFixture.T0, "producer"));
    }
    f.log.append(Message.of("huge", new byte[8 << 20]).appended(f.log.nextSequence(), ConsumerFixture.T0, "producer"));
    assertEquals(List.of(1L, 2L, 3L, 4L), sequences(f.dispatcher.take(100, Subscribers.PULL_OWNER)),
        "1 MiB messages: four fill the batch (one frame between cluster members)");
    assertEquals(List.of(5L, 6L, 7L, 8L), sequences(f.dispatcher.take(100, Subscribers.PULL_OWNER)));
    assertEquals(List.of(9L, 10L, 11L), sequences(f.dispatcher.take(100, Subscribers.PULL_OWNER)),
        "the 8 MiB message ends the batch it starts after 2 MiB");
    f.log.append(Message.of("huge", new byte[8 << 20]).appended(f.log.nextSequence(), ConsumerFixture.T0, "producer"));
    assertEquals(List.of(12L), sequences(f.dispatcher.take(100, Subscribers.PULL_OWNER)), "one message over the bound alone");
  }

  @Test
  void nothingNewIsDeliveredBeyondThePrefetch() {
    ConsumerFixture f = ConsumerFixture.explicit(3, 10);
    assertEquals(3, f.dispatcher.take(10, Subscribers.PULL_OWNER).size());
    assertTrue(f.dispatcher.take(10, Subscribers.PULL_OWNER).isEmpty());
    f.settlements.ack(List.of(2L));
    assertEquals(List.of(4L), sequences(f.dispatcher.take(10, Subscribers.PULL_OWNER)));
  }

  @Test
  void competingStreamsSplitTheCredit() {
    ConsumerFixture f = ConsumerFixture.explicit(10, 100);
    f.state.subscribers().addStream(1, TestInbox.<String>create().getRef());
    f.state.subscribers().addStream(2, TestInbox.<String>create().getRef());
    f.dispatcher.dispatch();
    assertEquals(List.of(5, 5), f.batches.stream().map(List::size).toList(), "half the prefetch each");
    assertEquals(List.of(1L, 2L, 3L, 4L, 5L), sequences(f.batches.get(0)));
  }

  @Test
  void creditFreedOneAckAtATimeGoesToCompetingStreamsInTurn() {
    ConsumerFixture f = ConsumerFixture.explicit(9, 200);
    for (long id = 1; id <= 3; id++) {
      f.state.subscribers().addStream(id, TestInbox.<String>create().getRef());
    }
    f.dispatcher.dispatch();
    assertEquals(List.of(3, 3, 3), f.batches.stream().map(List::size).toList());
    for (long ack = 1; ack <= 60; ack++) {
      for (long id = 1; id <= 3; id++) {
        f.state.subscribers().demand(id); // each stream asks again at once, as a busy SSE client's does
      }
      f.settlements.ack(List.of(ack));
      f.dispatcher.dispatch();
    }
    Map<Long, Long> perStream = f.batchOwners.stream()
        .collect(Collectors.groupingBy(owner -> owner, TreeMap::new, Collectors.counting()));
    assertEquals(3, perStream.size(), "every stream is served: " + perStream);
    for (long served : perStream.values()) {
      assertTrue(served >= 20 && served <= 22, "each ack's credit goes to the next stream in turn: " + perStream);
    }
  }

  @Test
  void creditFreedOneAckAtATimeGoesToCompetingActorSubscribersInTurn() {
    ConsumerFixture f = ConsumerFixture.explicit(4, 200);
    for (int i = 0; i < 4; i++) {
      f.state.subscribers().subscribe(TestInbox.<Delivery>create().getRef());
    }
    f.dispatcher.dispatch();
    assertEquals(4, f.sent.size());
    for (long ack = 1; ack <= 40; ack++) {
      f.settlements.ack(List.of(ack));
      f.dispatcher.dispatch();
    }
    Map<String, Long> perSubscriber = f.sent.stream()
        .collect(Collectors.groupingBy(s -> s.substring(0, s.indexOf(':')), TreeMap::new, Collectors.counting()));
    assertEquals(List.of(11L, 11L, 11L, 11L), List.copyOf(perSubscriber.values()),
        "each ack's credit goes to the next subscriber in turn: " + perSubscriber);
  }

  @Test
  void actorSubscribersAreServedInTurn() {
    ConsumerFixture f = ConsumerFixture.explicit(4, 100);
    f.state.subscribers().subscribe(TestInbox.<Delivery>create().getRef());
    f.state.subscribers().subscribe(TestInbox.<Delivery>create().getRef());
    f.dispatcher.dispatch();
    assertEquals(List.of("1:1", "2:2", "1:3", "2:4"), f.sent);
    f.dispatcher.finishRound();
    assertEquals(1, f.ackDeadlines.size(), "the round's deliveries share one ack deadline");
    assertNotEquals(0, f.ackDeadlines.get(0));
    assertEquals(4, f.total(ConsumerStats.Total.DELIVERED), "counted once for the queue's totals");
    f.dispatcher.finishRound();
    assertEquals(4, f.total(ConsumerStats.Total.DELIVERED), "a round is counted once");
    assertEquals(1, f.ackDeadlines.size());
  }

  @Test
  void inAckModeNoneActorSubscribersHoldCreditUntilTheyAck() {
    ConsumerFixture f = ConsumerFixture.none(2, 10);
    f.state.subscribers().subscribe(TestInbox.<Delivery>create().getRef());
    f.dispatcher.dispatch();
    assertEquals(2, f.sent.size());
    assertFalse(f.dispatcher.wantsMore());
    f.settlements.ack(List.of(1L));
    assertTrue(f.dispatcher.wantsMore());
    f.dispatcher.dispatch();
    assertEquals(List.of("1:1", "1:2", "1:3"), f.sent);
  }

  @Test
  void aHalfOpenBreakersTrialCallGetsANewMessage() {
    ConsumerFixture f = ConsumerFixture.explicit(10, 5);
    HandlerPoolTest.FakeBreaker breaker = new HandlerPoolTest.FakeBreaker();
    f.dispatcher.take(1, Subscribers.PULL_OWNER);
    f.state.cursor().requeue(1, false, b -> { });
    breaker.halfOpen = true;
    f.state.handlers().add(9, d -> null, 4, Runnable::run, breaker, Duration.ofSeconds(1), false);
    f.dispatcher.dispatch();
    assertEquals(List.of(2L), sequences(f.called), "one trial, and not the message that failed");
  }

  @Test
  void theFilterSkipsAndCountsWhatItRefuses() {
    ConsumerFixture f = new ConsumerFixture(ConsumerSettings.named("c").prefetch(10).filter(MessageFilter.type("refund")),
        null, 0);
    f.log.append(ConsumerFixture.message(1));
    f.log.append(Message.of("refund", ConsumerFixture.KIB).appended(2, ConsumerFixture.T0, "p"));
    f.log.append(ConsumerFixture.message(3));
    assertEquals(List.of(2L), sequences(f.dispatcher.take(10, Subscribers.PULL_OWNER)));
    assertEquals(2, f.state.stats().counters().filtered());
  }

  @Test
  void aRemovalWaitsForItsNoticeAndIsSkippedOnceItCame() {
    ConsumerFixture f = ConsumerFixture.explicit(10, 5);
    Message removed = f.log.remove(3, 1);
    assertEquals(List.of(1L, 2L), sequences(f.dispatcher.take(10, Subscribers.PULL_OWNER)),
        "removal step 1 is not known yet: delivery stops there");
    Settlements.Withdrawn withdrawn = f.settlements.removed(List.of(removed), 1, true,
        dev.spool.log.DeliveryTrace.Kind.EXPIRED);
    assertEquals(new Settlements.Withdrawn(1, 3, 3), withdrawn);
    assertEquals(List.of(4L, 5L), sequences(f.dispatcher.take(10, Subscribers.PULL_OWNER)));
    assertEquals(1, f.state.stats().counters().expired());
  }

  @Test
  void aStarvedConsumerAsksTheQueueOnceToWakeIt() {
    ConsumerFixture f = ConsumerFixture.explicit(10, 0);
    f.state.subscribers().park(10, TestInbox.<StatusReply<List<Delivery>>>create().getRef());
    f.dispatcher.dispatch();
    assertTrue(f.dispatcher.shouldAwait(), "a parked read and nothing to read: ask the queue");
    assertFalse(f.dispatcher.shouldAwait(), "asked once");
    f.append(3);
    f.dispatcher.woken();
    f.dispatcher.dispatch();
    assertEquals(List.of(1L, 2L, 3L), sequences(f.pulled));
    assertFalse(f.dispatcher.shouldAwait(), "no demand left");
    assertEquals(0, f.yields);
  }

  @Test
  void startPositionsResolveAgainstTheLog() {
    ConsumerFixture f = ConsumerFixture.explicit(10, 20);
    f.log.releaseBefore(6);
    assertEquals(6, Dispatcher.resolve(StartPosition.earliest(), f.log));
    assertEquals(21, Dispatcher.resolve(StartPosition.latest(), f.log));
    assertEquals(6, Dispatcher.resolve(StartPosition.sequence(2), f.log), "released: the first retained");
    assertEquals(21, Dispatcher.resolve(StartPosition.sequence(21), f.log));
    assertThrows(SpoolException.SequenceOutOfRange.class,
        () -> Dispatcher.resolve(StartPosition.sequence(22), f.log));
    assertEquals("read max must be between 1 and 100, not 0",
        assertThrows(SpoolException.InvalidConfiguration.class, () -> Limits.readMax(0, 100)).getMessage());
    assertEquals("read wait must not be negative, not PT-0.001S",
        assertThrows(SpoolException.InvalidConfiguration.class, () -> Limits.readWait(Duration.ofMillis(-1)))
            .getMessage());
  }

  private static final SpoolSettings.ConsumerDefaults LIMITS = new SpoolSettings.ConsumerDefaults(10,
      Duration.ofSeconds(30), null, Duration.ofSeconds(20), 2, 100, 100, 1000, 16);

  @Test
  void aPullReadAnswersWhatThereIsOrParksUntilTheWaitEnds() {
    ConsumerFixture f = ConsumerFixture.explicit(10, 2);
    TestInbox<StatusReply<List<Delivery>>> reader = TestInbox.create();
    f.dispatcher.read(5, Duration.ofSeconds(5), reader.getRef(), LIMITS);
    assertEquals(List.of(1L, 2L), sequences(reader.receiveMessage().getValue()), "what there is, at once");
    assertEquals(1, f.ackDeadlines.size(), "the round was finished before the answer");
    f.dispatcher.read(5, Duration.ofMinutes(5), reader.getRef(), LIMITS);
    assertFalse(reader.hasMessages(), "nothing to read: parked");
    assertEquals(List.of("1 for 20000 ms"), f.parked, "the wait is capped at the longest read wait");
    f.dispatcher.readExpired(1);
    assertEquals(List.of(), reader.receiveMessage().getValue(), "answered empty when the wait ends");
    f.dispatcher.readExpired(1);
    assertFalse(reader.hasMessages(), "answered once");
    f.dispatcher.read(5, null, reader.getRef(), LIMITS);
    assertEquals(List.of(), reader.receiveMessage().getValue(), "no wait: answered at once, empty");
  }

  @Test
  void aReadIsAnsweredAtOnceWhilePausedOrWhenParkingIsFullAndABadOneIsRefused() {
    ConsumerFixture f = ConsumerFixture.explicit(10, 0);
    TestInbox<StatusReply<List<Delivery>>> reader = TestInbox.create();
    f.dispatcher.read(1, Duration.ofSeconds(5), reader.getRef(), LIMITS);
    f.dispatcher.read(1, Duration.ofSeconds(5), reader.getRef(), LIMITS);
    f.dispatcher.read(1, Duration.ofSeconds(5), reader.getRef(), LIMITS);
    assertEquals(2, f.parked.size(), "two may park");
    assertEquals(List.of(), reader.receiveMessage().getValue(), "the third is answered at once");
    f.dispatcher.read(0, null, reader.getRef(), LIMITS);
    assertTrue(reader.receiveMessage().getError() instanceof SpoolException.InvalidConfiguration);
    f.append(1);
    TestInbox<StatusReply<Done>> pauser = TestInbox.create();
    assertFalse(f.dispatcher.pause(true, pauser.getRef()), "nothing to dispatch when paused");
    assertTrue(pauser.receiveMessage().isSuccess());
    ConsumerFixture g = ConsumerFixture.explicit(10, 3);
    g.dispatcher.pause(true, pauser.getRef());
    g.dispatcher.read(2, Duration.ofSeconds(5), reader.getRef(), LIMITS);
    assertFalse(reader.hasMessages(), "paused: nothing delivered; the read waits");
    assertEquals(1, g.state.subscribers().parkedReads());
    assertTrue(g.dispatcher.pause(false, pauser.getRef()), "resumed: dispatch");
  }

  @Test
  void aNewIncarnationReportsTheRestartAndArmsWhatTheOldOnesTimersCovered() {
    ConsumerFixture f = ConsumerFixture.explicit(10, 4);
    assertEquals(0, f.dispatcher.recover(), "the first incarnation");
    TestInbox<StatusReply<List<Delivery>>> reader = TestInbox.create();
    f.dispatcher.read(2, Duration.ofSeconds(5), reader.getRef(), LIMITS);
    f.dispatcher.take(1, Subscribers.PULL_OWNER);
    f.settlements.nack(List.of(3L), true);
    f.state.subscribers().park(1, reader.getRef());
    reader.getAllReceived();
    f.ackDeadlines.clear();
    assertEquals(1, f.dispatcher.recover());
    assertTrue(f.events.get(0) instanceof SpoolEvent.ConsumerRestarted);
    assertEquals(1, f.ackDeadlines.size(), "the batch still in flight gets its deadline again");
    assertEquals(0, f.state.subscribers().parkedReads(), "its long-poll's timer is gone: answered now");
    assertEquals(0, f.state.cursor().delayed(), "its backoff's timer is gone");
    assertTrue(f.state.cursor().hasReady(), "so 3 is ready again now");
  }
}
