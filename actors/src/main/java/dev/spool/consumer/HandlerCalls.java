package dev.spool.consumer;

import dev.spool.BreakerState;
import dev.spool.Delivery;
import dev.spool.HandlerSettings;
import dev.spool.SpoolEvent;
import dev.spool.SpoolException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a consumer decides about its handler subscriptions ({@link HandlerPool}): subscribing,
 * starting calls, their outcomes and timeouts, breaker changes, cancelling and detaching, and the
 * drain at shutdown. The actor runs the calls, owns the timers and publishes, through {@link Outlet}.
 *
 * <p>One per actor incarnation, like its {@link Settlements}. Single-threaded: driven by the owning
 * {@code ConsumerActor}.
 */
public final class HandlerCalls {

  private static final Logger LOG = LoggerFactory.getLogger(HandlerCalls.class);

  /** What handler subscriptions ask of the actor. */
  public interface Outlet extends Replies {
    /** The dispatcher named {@code name} for handler calls; throws when none is configured. */
    Executor executor(String name);

    /** A circuit breaker for subscription {@code owner}, which tells the actor when it changes ({@link #breakerChanged}). */
    HandlerPool.Breaker breaker(long owner, HandlerSettings settings);

    /** Pipe {@code outcome} of call {@code call} back to {@link #done}. */
    void pipe(CompletionStage<Done> outcome, long owner, long call, Delivery delivery);

    /** Check for timed-out calls every {@code interval} ({@link #checkTimeouts}); none when {@code null}. */
    void checkTimeoutsEvery(Duration interval);

    /** End the drain ({@link #drainDeadline}) after {@code timeout}; the deadline is cancelled when {@code null}. */
    void drainDeadline(Duration timeout);

    void publish(SpoolEvent event);
  }

  private final String name;
  private final ConsumerState<?> state;
  private final HandlerPool pool;
  private final Settlements settlements;
  private final Outlet outlet;
  private final Clock clock;

  public HandlerCalls(String name, ConsumerState<?> state, Settlements settlements, Outlet outlet, Clock clock) {
    this.name = name;
    this.state = state;
    this.pool = state.handlers();
    this.settlements = settlements;
    this.outlet = outlet;
    this.clock = clock;
  }

  /** A fresh incarnation re-arms the timers of the previous one: the timeout checks, a drain's deadline. */
  public void recover() {
    if (pool.draining()) {
      outlet.drainDeadline(pool.drainTimeout());
    }
    checkTimeouts();
  }

  /**
   * Adds a subscription, answering {@code replyTo} with its id: whether it was added (then dispatch).
   * Refused with InvalidConfiguration, changing nothing, without a handler, with a parallelism beyond
   * the prefetch, or with an unknown dispatcher.
   */
  public boolean subscribe(Function<Delivery, CompletionStage<Done>> function, int parallelism,
      HandlerSettings settings, ActorRef<StatusReply<Long>> replyTo) {
    return subscribe(function, parallelism, settings, replyTo, false);
  }

  /** {@link #subscribe}, with every failure counting toward the breaker when {@code everyFailureCounts} (a pusher's). */
  public boolean subscribe(Function<Delivery, CompletionStage<Done>> function, int parallelism,
      HandlerSettings settings, ActorRef<StatusReply<Long>> replyTo, boolean everyFailureCounts) {
    String invalid = HandlerPool.invalid(function, settings, parallelism, state.prefetch());
    Executor executor = null;
    try {
      executor = invalid != null ? null : outlet.executor(settings.dispatcher());
    } catch (RuntimeException noSuchDispatcher) {
      invalid = "no dispatcher '" + settings.dispatcher() + "' is configured for handlers";
    }
    if (invalid != null) {
      outlet.reply(replyTo, StatusReply.error(new SpoolException.InvalidConfiguration(invalid)));
      return false;
    }
    long owner = state.subscribers().newOwner();
    // A call must time out no later than its delivery's ack deadline, or the deadline would hand the
    // message to another call while this one still runs.
    Duration ackTimeout = state.settings().ackTimeout();
    Duration timeout = settings.timeout().compareTo(ackTimeout) <= 0 ? settings.timeout() : ackTimeout;
    pool.add(owner, function, parallelism, executor, outlet.breaker(owner, settings), timeout, everyFailureCounts);
    checkTimeouts();
    state.stats().touch(clock.millis());
    outlet.reply(replyTo, StatusReply.success(owner));
    return true;
  }

  /** Calls {@code handler} for {@code delivery} on its dispatcher; the outcome comes back to {@link #done}. */
  public void call(HandlerPool.Handler handler, Delivery delivery) {
    long call = pool.started(handler, delivery.sequence(), delivery.attempt(), System.nanoTime());
    CompletionStage<Done> outcome =
        CompletableFuture.supplyAsync(() -> handler.function().apply(delivery), handler.executor())
            .thenCompose(HandlerCalls::nonNull);
    outlet.pipe(outcome, handler.owner(), call, delivery);
  }

  private static CompletionStage<Done> nonNull(CompletionStage<Done> stage) {
    return stage != null ? stage : CompletableFuture.failedFuture(new NullPointerException("the handler returned null"));
  }

  /**
   * Call {@code call} of subscription {@code owner} ended, with {@code failure} or {@code null}:
   * whether to dispatch (not when it had timed out already and was dealt with then).
   */
  public boolean done(long owner, long call, long sequence, int attempt, Throwable failure) {
    HandlerPool.Handler handler = pool.ended(owner, call);
    if (handler == null) {
      return false;
    }
    Throwable cause = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
    finished(handler, sequence, attempt, cause);
    return true;
  }

  /** A call ended: {@code failure} is null on success, a {@link TimeoutException} when it timed out. */
  private void finished(HandlerPool.Handler handler, long sequence, int attempt, Throwable failure) {
    // A permanent failure blames the message, not the handler: its breaker does not count it.
    handler.outcome(attempt, failure == null || dev.spool.PermanentFailure.in(failure) != null);
    if (failure == null) {
      state.stats().touch(clock.millis());
      settlements.handled(sequence, attempt);
    } else {
      // The class only: an exception's message may quote the payload, and logs never carry payloads.
      LOG.debug("queue {}: consumer {} handler {} failed on sequence {} (attempt {}): {}", state.queue(), name,
          handler.owner(), sequence, attempt, failure.getClass().getName());
      settlements.handlerFailed(handler.owner(), sequence, attempt, failure, failure instanceof TimeoutException);
    }
    if (handler.finished()) {
      detach(handler);
    }
    if (pool.draining() && pool.running() == 0) {
      endDrain();
    }
  }

  /** (Re)arms the timeout checks for the shortest timeout, or stops them when no subscription is left. */
  private void checkTimeouts() {
    long shortest = pool.shortestTimeoutMillis();
    // a tenth of the shortest timeout: a call is failed at most 10 % after its timeout
    outlet.checkTimeoutsEvery(shortest == Long.MAX_VALUE ? null : Duration.ofMillis(Math.max(10, shortest / 10)));
  }

  /** Fails the calls that outlived their timeout at {@code nowNanos}: whether any did (then dispatch). */
  public boolean checkTimeouts(long nowNanos) {
    List<HandlerPool.Expired> expired = pool.timedOut(nowNanos);
    for (HandlerPool.Expired e : expired) {
      pool.expire(e);
      finished(e.handler(), e.started().sequence(), e.started().attempt(),
          new TimeoutException("handler call timed out after " + e.handler().timeoutMillis() + " ms"));
    }
    return !expired.isEmpty();
  }

  /** The breaker of subscription {@code owner} became {@code changed}: whether to dispatch (it still exists). */
  public boolean breakerChanged(long owner, BreakerState changed) {
    HandlerPool.Handler handler = pool.get(owner);
    if (handler == null) {
      return false;
    }
    int failures = handler.breaker().failureCount();
    switch (changed) {
      case OPEN -> {
        LOG.warn("queue {}: consumer {} handler {} failed {} times in a row; its breaker is open", state.queue(), name,
            owner, failures);
        outlet.publish(new SpoolEvent.BreakerOpened(clock.instant(), state.queue(), name, owner, failures));
      }
      case CLOSED -> {
        LOG.info("queue {}: consumer {} handler {} recovered; its breaker is closed", state.queue(), name, owner);
        outlet.publish(new SpoolEvent.BreakerClosed(clock.instant(), state.queue(), name, owner));
      }
      default -> LOG.debug("queue {}: consumer {} handler {} breaker half-open: one trial call", state.queue(), name,
          owner);
    }
    return true;
  }

  /**
   * Cancels subscription {@code owner}; {@code replyTo} is answered once its calls in flight have
   * finished, at once when it is gone already (detaching is idempotent). Whether to dispatch.
   */
  public boolean unsubscribe(long owner, ActorRef<StatusReply<Done>> replyTo) {
    HandlerPool.Handler handler = pool.cancel(owner, replyTo);
    if (handler == null) {
      outlet.reply(replyTo, StatusReply.success(Done.getInstance()));
      return false;
    }
    if (handler.finished()) {
      detach(handler);
    }
    return true;
  }

  private void detach(HandlerPool.Handler handler) {
    List<ActorRef<StatusReply<Done>>> replies = pool.detach(handler);
    checkTimeouts();
    settlements.releaseOwner(handler.owner());
    for (ActorRef<StatusReply<Done>> r : replies) {
      outlet.reply(r, StatusReply.success(Done.getInstance()));
    }
  }

  /**
   * Stops delivering for shutdown; {@code answer} hears once no call is in flight, or after
   * {@code timeout} with how many still are. A drain under way is answered with nothing.
   */
  public void drain(Duration timeout, HandlerPool.DrainAnswer answer) {
    state.drain();
    pool.drainStarted(timeout, answer);
    if (pool.running() == 0) {
      endDrain();
    } else {
      outlet.drainDeadline(timeout);
    }
  }

  /** The drain's deadline passed: it ends with what still runs abandoned. */
  public void drainDeadline() {
    if (pool.draining()) {
      endDrain();
    }
  }

  private void endDrain() {
    outlet.drainDeadline(null);
    int abandoned = pool.drainEnded();
    if (abandoned > 0) {
      LOG.warn("queue {}: consumer {} stops with {} handler calls still running; their deliveries stay "
          + "unacknowledged", state.queue(), name, abandoned);
    }
  }
}
