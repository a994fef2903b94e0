package dev.spool.consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.BreakerState;
import dev.spool.Delivery;
import dev.spool.HandlerSettings;
import dev.spool.SpoolEvent;
import dev.spool.SpoolException;
import dev.spool.log.ConsumerCursor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.TestInbox;
import org.apache.pekko.pattern.StatusReply;
import org.junit.jupiter.api.Test;

class HandlerCallsTest {

  private static final long SECOND = 1_000_000_000L;
  /** Never completes on its own: the test ends each call through {@link HandlerCalls#done}. */
  private static final Function<Delivery, CompletionStage<Done>> PENDING = d -> new CompletableFuture<>();

  private static HandlerSettings settings(Duration timeout, String dispatcher) {
    return new HandlerSettings(timeout, dispatcher, 5, Duration.ofSeconds(1), Duration.ofSeconds(30));
  }

  private static long subscribe(ConsumerFixture f, int parallelism, Duration timeout) {
    TestInbox<StatusReply<Long>> reply = TestInbox.create();
    assertTrue(f.handlerCalls.subscribe(PENDING, parallelism, settings(timeout, "spool.handler-dispatcher"),
        reply.getRef()));
    return reply.receiveMessage().getValue();
  }

  private static void done(ConsumerFixture f, ConsumerFixture.Piped call, Throwable failure) {
    f.handlerCalls.done(call.owner(), call.call(), call.delivery().sequence(), call.delivery().attempt(), failure);
  }

  @Test
  void aSubscriptionBeyondThePrefetchOrOnAnUnknownDispatcherIsRefusedAndChangesNothing() {
    ConsumerFixture f = ConsumerFixture.explicit(4, 10);
    TestInbox<StatusReply<Long>> reply = TestInbox.create();
    assertFalse(f.handlerCalls.subscribe(PENDING, 5, settings(Duration.ofSeconds(5), "spool.handler-dispatcher"),
        reply.getRef()));
    assertTrue(reply.receiveMessage().getError().getMessage().contains("prefetch (4)"));
    assertFalse(f.handlerCalls.subscribe(PENDING, 2, settings(Duration.ofSeconds(5), "nowhere"), reply.getRef()));
    assertInstanceOf(SpoolException.InvalidConfiguration.class, reply.receiveMessage().getError());
    assertTrue(f.state.handlers().isEmpty());
    assertNull(f.timeoutChecks, "no timer armed for a refused subscription");
  }

  @Test
  void aCallThatCompletesAcknowledgesCountsAndReportsProgress() {
    ConsumerFixture f = ConsumerFixture.explicit(4, 3);
    subscribe(f, 2, Duration.ofSeconds(5));
    f.dispatcher.round();
    assertEquals(2, f.piped.size(), "two calls at once: the parallelism");
    done(f, f.piped.get(0), null);
    assertEquals(1, f.total(ConsumerStats.Total.ACKED));
    assertEquals(2, f.state.needFrom(), "the queue sees the progress at once");
    assertEquals(ConsumerCursor.Standing.SETTLED, f.state.cursor().standingOf(1));
    assertEquals(1, f.state.handlers().running());
  }

  @Test
  void aCallThatFailsNacksWithTheCauseUnwrappedAndARetryAfterTheBackoff() {
    ConsumerFixture f = ConsumerFixture.explicit(4, 1);
    subscribe(f, 1, Duration.ofSeconds(5));
    f.dispatcher.round();
    done(f, f.piped.get(0), new CompletionException(new IllegalStateException("downstream refused")));
    assertEquals(List.of("1 after 100 ms"), f.retries);
    assertEquals("IllegalStateException: downstream refused", f.state.retry().history(1).get(0).error(),
        "the handler's own exception, not the future's wrapper");
    assertEquals(0, f.state.handlers().running());
  }

  @Test
  void aTimedOutCallNacksFreesItsParallelismAndItsLateCompletionIsIgnored() {
    ConsumerFixture f = ConsumerFixture.explicit(4, 3);
    long owner = subscribe(f, 1, Duration.ofSeconds(2));
    assertEquals(Duration.ofMillis(200), f.timeoutChecks, "checked every tenth of the shortest timeout");
    f.dispatcher.round();
    assertEquals(1, f.piped.size());
    assertFalse(f.state.handlers().get(owner).canTake(), "its one call runs");
    assertFalse(f.handlerCalls.checkTimeouts(System.nanoTime()), "not timed out yet");
    assertTrue(f.handlerCalls.checkTimeouts(System.nanoTime() + 3 * SECOND));
    assertEquals(List.of("1 after 100 ms"), f.retries, "nacked with requeue");
    assertEquals("timed-out", f.state.retry().history(1).get(0).outcome());
    assertTrue(f.state.handlers().get(owner).canTake(), "the parallelism it held is free");
    assertFalse(f.handlerCalls.done(owner, f.piped.get(0).call(), 1, 1, null), "dealt with when it timed out");
    assertEquals(0, f.total(ConsumerStats.Total.ACKED));
  }

  @Test
  void anUnsubscribedHandlerIsAnsweredAfterItsLastCallAndItsTimerStops() {
    ConsumerFixture f = ConsumerFixture.explicit(4, 3);
    long owner = subscribe(f, 1, Duration.ofSeconds(5));
    f.dispatcher.round();
    TestInbox<StatusReply<Done>> reply = TestInbox.create();
    assertTrue(f.handlerCalls.unsubscribe(owner, reply.getRef()));
    assertFalse(reply.hasMessages(), "its call still runs");
    done(f, f.piped.get(0), null);
    assertTrue(reply.receiveMessage().isSuccess());
    assertTrue(f.state.handlers().isEmpty());
    assertNull(f.timeoutChecks, "no subscription left to time");
    assertFalse(f.handlerCalls.unsubscribe(owner, reply.getRef()), "gone already");
    assertTrue(reply.receiveMessage().isSuccess(), "answered at once: detaching is idempotent");
  }

  @Test
  void aBreakerOpeningOrClosingIsPublished() {
    ConsumerFixture f = ConsumerFixture.explicit(4, 3);
    long owner = subscribe(f, 1, Duration.ofSeconds(5));
    f.breakers.get(owner).failures = 5;
    assertTrue(f.handlerCalls.breakerChanged(owner, BreakerState.OPEN));
    assertTrue(f.handlerCalls.breakerChanged(owner, BreakerState.HALF_OPEN));
    assertTrue(f.handlerCalls.breakerChanged(owner, BreakerState.CLOSED));
    assertEquals(2, f.events.size(), "half-open is only logged");
    SpoolEvent.BreakerOpened opened = assertInstanceOf(SpoolEvent.BreakerOpened.class, f.events.get(0));
    assertEquals(5, opened.failures());
    assertInstanceOf(SpoolEvent.BreakerClosed.class, f.events.get(1));
    assertFalse(f.handlerCalls.breakerChanged(owner + 1, BreakerState.OPEN), "no such subscription");
  }

  @Test
  void aDrainAnswersWhenTheLastCallEnds() {
    ConsumerFixture f = ConsumerFixture.explicit(4, 3);
    subscribe(f, 2, Duration.ofSeconds(5));
    f.dispatcher.round();
    List<String> answers = new ArrayList<>();
    f.handlerCalls.drain(Duration.ofSeconds(10), (finished, abandoned) -> answers.add(finished + "/" + abandoned));
    assertTrue(f.state.draining());
    assertEquals(List.of("in 10000 ms"), f.drainDeadlines);
    done(f, f.piped.get(0), null);
    assertEquals(List.of(), answers, "one call still runs");
    done(f, f.piped.get(1), null);
    assertEquals(List.of("2/0"), answers);
    assertEquals(List.of("in 10000 ms", "cancelled"), f.drainDeadlines);
    f.handlerCalls.drainDeadline();
    assertEquals(List.of("2/0"), answers, "answered once");
  }

  @Test
  void aDrainWithNothingRunningAnswersAtOnceAndItsDeadlineAbandonsWhatStillRuns() {
    ConsumerFixture idle = ConsumerFixture.explicit(4, 3);
    List<String> answers = new ArrayList<>();
    idle.handlerCalls.drain(Duration.ofSeconds(10), (finished, abandoned) -> answers.add(finished + "/" + abandoned));
    assertEquals(List.of("0/0"), answers);

    ConsumerFixture f = ConsumerFixture.explicit(4, 3);
    subscribe(f, 2, Duration.ofSeconds(5));
    f.dispatcher.round();
    f.handlerCalls.drain(Duration.ofSeconds(10), (finished, abandoned) -> answers.add(finished + "/" + abandoned));
    done(f, f.piped.get(0), null);
    f.handlerCalls.drainDeadline();
    assertEquals(List.of("0/0", "1/1"), answers, "one finished while draining, one abandoned");
  }

  @Test
  void aNewIncarnationArmsTheTimersOfTheOldOne() {
    ConsumerFixture f = ConsumerFixture.explicit(4, 3);
    subscribe(f, 2, Duration.ofSeconds(5));
    f.dispatcher.round();
    f.handlerCalls.drain(Duration.ofSeconds(10), (finished, abandoned) -> { });
    f.timeoutChecks = null;
    f.drainDeadlines.clear();
    new HandlerCalls("c", f.state, f.settlements, f, f.clock).recover();
    assertEquals(Duration.ofMillis(500), f.timeoutChecks);
    assertEquals(List.of("in 10000 ms"), f.drainDeadlines, "the drain under way still ends at its deadline");
  }
}
