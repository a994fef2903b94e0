package dev.spool.consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.BreakerState;
import dev.spool.Delivery;
import dev.spool.HandlerSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.TestInbox;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;
import org.junit.jupiter.api.Test;

class HandlerPoolTest {

  /** A breaker the test opens and half-opens, counting what the pool reports to it. */
  static final class FakeBreaker implements HandlerPool.Breaker {
    boolean open;
    boolean halfOpen;
    int failures;
    int successes;

    @Override
    public boolean isOpen() {
      return open;
    }

    @Override
    public boolean isHalfOpen() {
      return halfOpen;
    }

    @Override
    public void succeed() {
      successes++;
      failures = 0;
    }

    @Override
    public void fail() {
      failures++;
    }

    @Override
    public int failureCount() {
      return failures;
    }
  }

  private static final Function<Delivery, CompletionStage<Done>> OK = d -> CompletableFuture.completedFuture(
      Done.getInstance());
  private static final long MS = 1_000_000L;
  private static final HandlerSettings SETTINGS = new HandlerSettings(Duration.ofSeconds(5), "spool.handler-dispatcher", 5,
      Duration.ofSeconds(1), Duration.ofSeconds(30));

  private final HandlerPool pool = new HandlerPool();

  private HandlerPool.Handler handler(long owner, int parallelism, FakeBreaker breaker, long timeoutMillis) {
    return pool.add(owner, OK, parallelism, Runnable::run, breaker, Duration.ofMillis(timeoutMillis), false);
  }

  @Test
  void callsAreBoundedByParallelism() {
    HandlerPool.Handler h = handler(1, 2, new FakeBreaker(), 1000);
    assertTrue(h.canTake());
    long first = pool.started(h, 1, 1, 0);
    pool.started(h, 2, 1, 0);
    assertFalse(h.canTake(), "two calls run: no third");
    assertEquals(2, pool.running());
    assertSame(h, pool.ended(1, first));
    assertNull(pool.ended(1, first), "a call ends once");
    assertTrue(h.canTake());
  }

  @Test
  void anOpenBreakerStopsCallsAndAHalfOpenOneLetsOneTrialThrough() {
    FakeBreaker breaker = new FakeBreaker();
    HandlerPool.Handler h = handler(1, 4, breaker, 1000);
    breaker.open = true;
    assertFalse(h.canTake());
    assertTrue(pool.allOpen());
    assertEquals(BreakerState.OPEN, pool.worstBreaker());
    breaker.open = false;
    breaker.halfOpen = true;
    assertTrue(h.canTake());
    assertTrue(h.wantsNewFirst(), "the trial call should test the downstream with a new message");
    pool.started(h, 1, 1, 0);
    assertFalse(h.canTake(), "one trial call at a time");
    assertEquals(BreakerState.HALF_OPEN, pool.worstBreaker());
  }

  @Test
  void onlyFirstAttemptsAndTrialCallsCountTowardOpeningTheBreaker() {
    FakeBreaker breaker = new FakeBreaker();
    HandlerPool.Handler h = handler(1, 4, breaker, 1000);
    h.outcome(1, false);
    h.outcome(3, false);
    h.outcome(2, false);
    assertEquals(1, breaker.failures, "retries of a poison message do not open the breaker");
    breaker.halfOpen = true;
    h.outcome(5, false);
    assertEquals(2, breaker.failures, "a failed trial counts whatever its attempt");
    h.outcome(2, true);
    assertEquals(1, breaker.successes);
  }

  @Test
  void aPushersRetriesCountTooForTheyBlameTheEndpoint() {
    FakeBreaker breaker = new FakeBreaker();
    HandlerPool.Handler pusher = pool.add(2, OK, 4, Runnable::run, breaker, Duration.ofSeconds(1), true);
    pusher.outcome(1, false);
    pusher.outcome(3, false);
    pusher.outcome(7, false);
    assertEquals(3, breaker.failures, "a receiver that is down fails every attempt of every message");
    pusher.outcome(8, true);
    assertEquals(0, breaker.failures);
  }

  @Test
  void callsPastTheirTimeoutAreFoundOldestFirst() {
    HandlerPool.Handler fast = handler(1, 4, new FakeBreaker(), 100);
    HandlerPool.Handler slow = handler(2, 4, new FakeBreaker(), 1000);
    pool.started(fast, 10, 1, 0);
    pool.started(fast, 11, 1, 50 * MS);
    pool.started(fast, 12, 1, 90 * MS);
    pool.started(slow, 20, 1, 0);
    assertEquals(100, pool.shortestTimeoutMillis());
    assertEquals(List.of(), pool.timedOut(99 * MS));
    List<HandlerPool.Expired> expired = pool.timedOut(160 * MS);
    assertEquals(List.of(10L, 11L), expired.stream().map(e -> e.started().sequence()).toList());
    assertSame(fast, expired.get(0).handler());
    assertEquals(4, pool.running(), "a timed-out call runs until it is dealt with");
    expired.forEach(pool::expire);
    assertEquals(2, pool.running());
    assertNull(pool.ended(1, expired.get(0).call()), "its late completion is ignored");
  }

  @Test
  void aCancelledHandlerIsDetachedAfterItsLastCall() {
    HandlerPool.Handler h = handler(1, 4, new FakeBreaker(), 1000);
    long call = pool.started(h, 1, 1, 0);
    ActorRef<StatusReply<Done>> replyTo = TestInbox.<StatusReply<Done>>create().getRef();
    assertSame(h, pool.cancel(1, replyTo));
    assertFalse(h.canTake(), "a cancelled handler takes nothing more");
    assertFalse(h.finished(), "its call still runs");
    pool.ended(1, call);
    assertTrue(h.finished());
    assertEquals(List.of(replyTo), pool.detach(h), "the cancellation is answered once detached");
    assertFalse(pool.contains(1));
    assertNull(pool.cancel(1, replyTo), "cancelling again finds nothing: answered at once");
    assertEquals(BreakerState.NONE, pool.worstBreaker());
    assertEquals(Long.MAX_VALUE, pool.shortestTimeoutMillis());
  }

  @Test
  void aDrainCountsTheCallsThatFinishWhileItLasts() {
    HandlerPool.Handler h = handler(1, 4, new FakeBreaker(), 1000);
    long before = pool.started(h, 1, 1, 0);
    pool.ended(1, before);
    long a = pool.started(h, 2, 1, 0);
    long b = pool.started(h, 3, 1, 0);
    pool.started(h, 4, 1, 0);
    List<String> answers = new ArrayList<>();
    pool.drainStarted(Duration.ofSeconds(5), (finished, abandoned) -> answers.add("first " + finished + "/" + abandoned));
    pool.drainStarted(Duration.ofSeconds(5), (finished, abandoned) -> answers.add(finished + "/" + abandoned));
    assertEquals(List.of("first 0/0"), answers, "a second drain supersedes the first, answered with nothing");
    assertNotNull(pool.drainTimeout());
    pool.ended(1, a);
    pool.ended(1, b);
    assertEquals(1, pool.drainEnded(), "the abandoned one still runs");
    assertEquals(List.of("first 0/0", "2/1"), answers, "only calls that finished during the drain");
    assertNull(pool.drainTimeout());
    assertFalse(pool.draining());
  }

  @Test
  void aSubscriptionNeedsAHandlerAndAParallelismWithinThePrefetch() {
    assertNull(HandlerPool.invalid(OK, SETTINGS, 4, 10));
    assertNotNull(HandlerPool.invalid(null, SETTINGS, 4, 10));
    assertNotNull(HandlerPool.invalid(OK, null, 4, 10));
    assertNotNull(HandlerPool.invalid(OK, SETTINGS, 0, 10));
    assertTrue(HandlerPool.invalid(OK, SETTINGS, 11, 10).contains("prefetch (10)"));
  }
}
