package dev.spool.consumer;

import dev.spool.BreakerState;
import dev.spool.Delivery;
import dev.spool.HandlerSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.actor.Scheduler;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.CircuitBreaker;
import org.apache.pekko.pattern.StatusReply;

/**
 * A consumer's handler subscriptions: the user's functions, each called at most {@code parallelism}
 * times at once behind its own circuit breaker; the calls running, oldest first, for their
 * timeouts; cancellations waiting for calls to finish; and what a drain counts.
 *
 * <p>Single-threaded: driven by the owning {@code ConsumerActor} through {@link HandlerCalls}, which
 * starts the calls and times them with {@link #timedOut}.
 */
public final class HandlerPool {

  /** The circuit breaker of a subscription, as far as the pool uses it. */
  public interface Breaker {
    boolean isOpen();

    boolean isHalfOpen();

    void succeed();

    void fail();

    int failureCount();

    /**
     * Pekko's breaker for {@code settings}, which opens, half-opens and closes on {@code scheduler}
     * and tells {@code changed} when it does. Calls are timed by the pool (see {@link #timedOut}):
     * the breaker's own call timeout schedules a task per call, which measured five times slower.
     */
    static Breaker pekko(Scheduler scheduler, HandlerSettings settings, Consumer<BreakerState> changed) {
      return of(CircuitBreaker.create(scheduler, settings.maxFailures(), Duration.ZERO, settings.resetTimeout())
          .withExponentialBackoff(settings.maxResetTimeout())
          .addOnOpenListener(() -> changed.accept(BreakerState.OPEN))
          .addOnHalfOpenListener(() -> changed.accept(BreakerState.HALF_OPEN))
          .addOnCloseListener(() -> changed.accept(BreakerState.CLOSED)));
    }

    /** Pekko's breaker, as the pool uses it. */
    static Breaker of(CircuitBreaker breaker) {
      return new Breaker() {
        @Override
        public boolean isOpen() {
          return breaker.isOpen();
        }

        @Override
        public boolean isHalfOpen() {
          return breaker.isHalfOpen();
        }

        @Override
        public void succeed() {
          breaker.succeed();
        }

        @Override
        public void fail() {
          breaker.fail();
        }

        @Override
        public int failureCount() {
          return (int) breaker.currentFailureCount();
        }
      };
    }
  }

  /** A handler call running: which delivery, and since when (for its timeout). */
  public record Call(long sequence, int attempt, long startedNanos) {}

  /** A call that outlived its handler's timeout, taken out of the running ones. */
  public record Expired(Handler handler, long call, Call started) {}

  /** A handler subscription: the user's function, its concurrency and its circuit breaker. */
  public static final class Handler {
    private final long owner;
    private final Function<Delivery, CompletionStage<Done>> function;
    private final int parallelism;
    private final Executor executor;
    private final Breaker breaker;
    private final long timeoutMillis;
    private final List<ActorRef<StatusReply<Done>>> cancelReplies = new ArrayList<>(0);
    /** Calls running, by call id, oldest first. */
    private final LinkedHashMap<Long, Call> calls = new LinkedHashMap<>();
    private long callIds;
    private boolean cancelled;
    /** Every failure, not only first attempts', counts toward the breaker: the failures blame an endpoint. */
    private final boolean everyFailureCounts;

    Handler(long owner, Function<Delivery, CompletionStage<Done>> function, int parallelism, Executor executor,
        Breaker breaker, long timeoutMillis, boolean everyFailureCounts) {
      this.owner = owner;
      this.everyFailureCounts = everyFailureCounts;
      this.function = function;
      this.parallelism = parallelism;
      this.executor = executor;
      this.breaker = breaker;
      this.timeoutMillis = timeoutMillis;
    }

    public long owner() {
      return owner;
    }

    public Function<Delivery, CompletionStage<Done>> function() {
      return function;
    }

    public Executor executor() {
      return executor;
    }

    public Breaker breaker() {
      return breaker;
    }

    public long timeoutMillis() {
      return timeoutMillis;
    }

    public int running() {
      return calls.size();
    }

    /** Whether it can start another call: a half-open breaker lets one trial call through. */
    public boolean canTake() {
      if (cancelled || calls.size() >= parallelism || breaker.isOpen()) {
        return false;
      }
      return !breaker.isHalfOpen() || calls.isEmpty();
    }

    /**
     * Whether its next call should be a new message rather than a redelivery: the trial call of a
     * half-open breaker should test the downstream, not a message that already failed.
     */
    public boolean wantsNewFirst() {
      return breaker.isHalfOpen();
    }

    /**
     * A call for attempt {@code attempt} ended: the breaker measures the handler's downstream, not
     * bad messages, so a failed retry of a message that failed before does not count toward opening
     * it, unless it is the trial call.
     */
    public void outcome(int attempt, boolean succeeded) {
      if (succeeded) {
        breaker.succeed();
      } else if (attempt == 1 || everyFailureCounts || breaker.isHalfOpen()) {
        breaker.fail();
      }
    }

    /** Cancelled, and its last call has finished: it can be detached. */
    public boolean finished() {
      return cancelled && calls.isEmpty();
    }

    BreakerState breakerState() {
      return breaker.isOpen() ? BreakerState.OPEN : breaker.isHalfOpen() ? BreakerState.HALF_OPEN : BreakerState.CLOSED;
    }
  }

  private final Map<Long, Handler> handlers = new LinkedHashMap<>();

  /** Why a subscription with these arguments is refused, or {@code null} when it is not. */
  public static String invalid(Function<Delivery, CompletionStage<Done>> function, HandlerSettings settings,
      int parallelism, int prefetch) {
    if (function == null || settings == null || parallelism < 1 || parallelism > prefetch) {
      return "a handler subscription needs a handler and a parallelism between 1 and the consumer's prefetch ("
          + prefetch + "), not " + parallelism;
    }
    return null;
  }

  /** While draining: calls that finished since the drain began. */
  private int drainFinished;
  private Duration drainTimeout;
  private DrainAnswer drainAnswer;

  /**
   * Adds a subscription under {@code owner}; its calls time out after {@code timeout}. A handler's
   * failed retries do not count toward its breaker (a poison message must not pause the healthy
   * ones) unless {@code everyFailureCounts}: a push consumer's failures blame its endpoint.
   */
  public Handler add(long owner, Function<Delivery, CompletionStage<Done>> function, int parallelism,
      Executor executor, Breaker breaker, Duration timeout, boolean everyFailureCounts) {
    Handler handler = new Handler(owner, function, parallelism, executor, breaker, timeout.toMillis(),
        everyFailureCounts);
    handlers.put(owner, handler);
    return handler;
  }

  public Handler get(long owner) {
    return handlers.get(owner);
  }

  public boolean contains(long owner) {
    return handlers.containsKey(owner);
  }

  public Collection<Handler> all() {
    return handlers.values();
  }

  public boolean isEmpty() {
    return handlers.isEmpty();
  }

  public int size() {
    return handlers.size();
  }

  /** Records a call of {@code handler} for a delivery, started at {@code nowNanos}; its id. */
  public long started(Handler handler, long sequence, int attempt, long nowNanos) {
    long id = ++handler.callIds;
    handler.calls.put(id, new Call(sequence, attempt, nowNanos));
    return id;
  }

  /**
   * Call {@code call} of {@code owner} ended: its handler, or {@code null} when the call was not
   * running any more (it timed out, or its handler was detached).
   */
  public Handler ended(long owner, long call) {
    Handler handler = handlers.get(owner);
    if (handler == null || handler.calls.remove(call) == null) {
      return null;
    }
    if (drainTimeout != null) {
      drainFinished++;
    }
    return handler;
  }

  /**
   * The calls that outlived their timeout at {@code nowNanos}, oldest first per handler; each stays
   * running until {@link #expire}d, so that a cancelled handler is detached after its last one.
   */
  public List<Expired> timedOut(long nowNanos) {
    List<Expired> expired = null;
    for (Handler handler : handlers.values()) {
      long limit = handler.timeoutMillis * 1_000_000L;
      for (Map.Entry<Long, Call> e : handler.calls.entrySet()) {
        if (nowNanos - e.getValue().startedNanos() < limit) {
          break; // oldest first: the rest are younger
        }
        if (expired == null) {
          expired = new ArrayList<>();
        }
        expired.add(new Expired(handler, e.getKey(), e.getValue()));
      }
    }
    return expired == null ? List.of() : expired;
  }

  /** A timed-out call is dealt with: it no longer runs. */
  public void expire(Expired expired) {
    expired.handler.calls.remove(expired.call);
  }

  /** The shortest call timeout over the subscriptions, or {@code Long.MAX_VALUE} when there is none. */
  public long shortestTimeoutMillis() {
    long shortest = Long.MAX_VALUE;
    for (Handler h : handlers.values()) {
      shortest = Math.min(shortest, h.timeoutMillis);
    }
    return shortest;
  }

  /** Handler calls running over every subscription. */
  public int running() {
    int running = 0;
    for (Handler h : handlers.values()) {
      running += h.calls.size();
    }
    return running;
  }

  /** Whether some subscription can start a call now. */
  public boolean anyCanTake() {
    for (Handler handler : handlers.values()) {
      if (handler.canTake()) {
        return true;
      }
    }
    return false;
  }

  /** Whether every subscription's breaker is open. */
  public boolean allOpen() {
    for (Handler handler : handlers.values()) {
      if (!handler.breaker.isOpen()) {
        return false;
      }
    }
    return true;
  }

  /** The most telling breaker state over the subscriptions: open, then half-open, then closed. */
  public BreakerState worstBreaker() {
    BreakerState worst = BreakerState.NONE;
    for (Handler h : handlers.values()) {
      BreakerState b = h.breakerState();
      if (b.ordinal() > worst.ordinal()) {
        worst = b;
      }
    }
    return worst;
  }

  /**
   * Cancels subscription {@code owner}, answering {@code replyTo} once it is detached; the handler,
   * or {@code null} when there is none (detaching is idempotent: answer at once).
   */
  public Handler cancel(long owner, ActorRef<StatusReply<Done>> replyTo) {
    Handler handler = handlers.get(owner);
    if (handler != null) {
      handler.cancelled = true;
      handler.cancelReplies.add(replyTo);
    }
    return handler;
  }

  /** Removes {@code handler}; the cancellations to answer now. */
  public List<ActorRef<StatusReply<Done>>> detach(Handler handler) {
    handlers.remove(handler.owner);
    List<ActorRef<StatusReply<Done>>> replies = List.copyOf(handler.cancelReplies);
    handler.cancelReplies.clear();
    return replies;
  }

  /** Where a drain's result goes: calls that finished during it, and those still running at its end. */
  public interface DrainAnswer {
    void answer(int finished, int abandoned);
  }

  /**
   * A drain began, lasting at most {@code timeout}, answered through {@code answer}: calls finishing
   * from now on are counted. A drain under way is superseded: answered with nothing.
   */
  public void drainStarted(Duration timeout, DrainAnswer answer) {
    if (drainAnswer != null) {
      drainAnswer.answer(0, 0);
    }
    drainAnswer = answer;
    drainTimeout = timeout;
    drainFinished = 0;
  }

  /** How long the drain under way may last, or {@code null} when none is. */
  public Duration drainTimeout() {
    return drainTimeout;
  }

  /** Whether a drain is under way, not answered yet. */
  public boolean draining() {
    return drainAnswer != null;
  }

  /** The drain ended: answers it with the calls that finished during it and those still running; how many still run. */
  public int drainEnded() {
    int abandoned = running();
    DrainAnswer answer = drainAnswer;
    drainTimeout = null;
    drainAnswer = null;
    answer.answer(drainFinished, abandoned);
    return abandoned;
  }
}
