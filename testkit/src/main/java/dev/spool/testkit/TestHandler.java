package dev.spool.testkit;

import dev.spool.Delivery;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.Predicate;
import org.apache.pekko.Done;

/**
 * A handler for {@link dev.spool.QueueConsumer#subscribe(Function, int)} that records every call and
 * its outcome, and fails calls on demand: around the application's own handler, or on its own
 * (acknowledging everything). A failure is a failed stage, as a broken handler's would be, so Spool
 * nacks, retries after the backoff and dead-letters after {@code maxDeliveries}.
 *
 * <pre>{@code
 * TestHandler handler = TestHandler.around(billing::charge)
 *     .failWhen(d -> d.message().type().equals("order.poison"))   // always fails: dead-lettered
 *     .failFirstAttempts(1);                                      // every other message fails once
 * consumer.subscribe(handler, 4);
 * handler.awaitSucceeded(10);
 * }</pre>
 *
 * <p>It keeps the first {@link #CAPACITY} calls; later ones are counted, not kept. Safe to call
 * from several threads, as Spool does with a parallelism above 1.
 *
 * @since 0.1.0
 */
public final class TestHandler implements Function<Delivery, CompletionStage<Done>> {

  /** Calls kept for inspection. */
  public static final int CAPACITY = 100_000;

  /** What became of one call. */
  public enum Outcome {
    /** The handler's stage completed: Spool acknowledges the delivery. */
    SUCCEEDED,
    /** The handler threw or its stage failed (injected or its own): Spool nacks it with requeue. */
    FAILED,
    /** Not finished (yet): a hanging call, which Spool times out after {@code spool.handler.timeout}. */
    RUNNING
  }

  /**
   * One call.
   *
   * @param delivery what the handler was called with
   * @param injected whether the kit made it fail or hang rather than calling the handler
   */
  public record Call(Delivery delivery, boolean injected) {}

  private final Function<Delivery, CompletionStage<Done>> handler;
  private final List<Call> calls = new ArrayList<>();
  private final List<Outcome> outcomes = new ArrayList<>();
  private long uncounted;
  private volatile Predicate<Delivery> failWhen = d -> false;
  private volatile Predicate<Delivery> hangWhen = d -> false;
  private volatile int failFirstAttempts;
  private final AtomicInteger failNext = new AtomicInteger();

  private TestHandler(Function<Delivery, CompletionStage<Done>> handler) {
    this.handler = handler;
  }

  /** A handler that acknowledges every delivery (unless told to fail it). */
  public static TestHandler acknowledging() {
    return new TestHandler(d -> CompletableFuture.completedFuture(Done.getInstance()));
  }

  /** The application's {@code handler}, recorded and with failures injected before it is called. */
  public static TestHandler around(Function<Delivery, CompletionStage<Done>> handler) {
    return new TestHandler(handler);
  }

  /** Fails every call whose delivery {@code matches} (a poison message), without calling the handler. */
  public TestHandler failWhen(Predicate<Delivery> matches) {
    this.failWhen = matches;
    return this;
  }

  /** Fails the first {@code attempts} deliveries of every message; later attempts reach the handler. */
  public TestHandler failFirstAttempts(int attempts) {
    this.failFirstAttempts = attempts;
    return this;
  }

  /** Fails the next {@code calls} calls, whatever they carry. */
  public TestHandler failNext(int calls) {
    failNext.set(calls);
    return this;
  }

  /** Never completes calls whose delivery {@code matches}: Spool times them out ({@code spool.handler.timeout}). */
  public TestHandler hangWhen(Predicate<Delivery> matches) {
    this.hangWhen = matches;
    return this;
  }

  /** Stops injecting failures: every later call reaches the handler. */
  public TestHandler heal() {
    failWhen = d -> false;
    hangWhen = d -> false;
    failFirstAttempts = 0;
    failNext.set(0);
    return this;
  }

  @Override
  public CompletionStage<Done> apply(Delivery delivery) {
    if (hangWhen.test(delivery)) {
      record(delivery, true, Outcome.RUNNING);
      return new CompletableFuture<>();
    }
    if (failWhen.test(delivery) || delivery.attempt() <= failFirstAttempts || takeFailNext()) {
      record(delivery, true, Outcome.FAILED);
      return CompletableFuture.failedFuture(new InjectedFailure(delivery));
    }
    int index = record(delivery, false, Outcome.RUNNING);
    CompletionStage<Done> outcome;
    try {
      outcome = handler.apply(delivery);
    } catch (RuntimeException e) {
      settle(index, Outcome.FAILED);
      throw e;
    }
    if (outcome == null) {
      settle(index, Outcome.FAILED);
      return null;
    }
    return outcome.whenComplete((done, failure) -> settle(index, failure == null ? Outcome.SUCCEEDED : Outcome.FAILED));
  }

  private boolean takeFailNext() {
    return failNext.getAndUpdate(n -> n > 0 ? n - 1 : 0) > 0;
  }

  private int record(Delivery delivery, boolean injected, Outcome outcome) {
    synchronized (calls) {
      if (calls.size() == CAPACITY) {
        uncounted++;
        return -1;
      }
      calls.add(new Call(delivery, injected));
      outcomes.add(outcome);
      return calls.size() - 1;
    }
  }

  private void settle(int index, Outcome outcome) {
    if (index >= 0) {
      synchronized (calls) {
        outcomes.set(index, outcome);
      }
    }
  }

  /** Every call so far, in the order they started. */
  public List<Call> calls() {
    synchronized (calls) {
      return List.copyOf(calls);
    }
  }

  /** Calls beyond {@link #CAPACITY}, counted but not kept. */
  public long uncountedCalls() {
    synchronized (calls) {
      return uncounted;
    }
  }

  /** The deliveries of the calls that ended as {@code outcome}, in the order the calls started. */
  public List<Delivery> deliveries(Outcome outcome) {
    synchronized (calls) {
      List<Delivery> matching = new ArrayList<>();
      for (int i = 0; i < calls.size(); i++) {
        if (outcomes.get(i) == outcome) {
          matching.add(calls.get(i).delivery());
        }
      }
      return matching;
    }
  }

  /** Every delivery the handler was called with, retries included. */
  public List<Delivery> received() {
    return calls().stream().map(Call::delivery).toList();
  }

  /** The deliveries whose call succeeded: what Spool acknowledges. */
  public List<Delivery> succeeded() {
    return deliveries(Outcome.SUCCEEDED);
  }

  /** The deliveries whose call failed, injected failures included. */
  public List<Delivery> failed() {
    return deliveries(Outcome.FAILED);
  }

  /** Failures and hangs the kit injected so far. */
  public long injected() {
    return calls().stream().filter(Call::injected).count();
  }

  /** Waits (in real time, up to {@code timeout}) for at least {@code count} successful calls, and returns them. */
  public List<Delivery> awaitSucceeded(int count, Duration timeout) {
    SpoolTestKit.awaitAsserted("at least " + count + " successful handler calls", timeout, () -> {
      if (succeeded().size() < count) {
        throw new AssertionError(succeeded().size() + " of " + count + " calls succeeded; calls: " + calls());
      }
    });
    return succeeded();
  }

  /** {@link #awaitSucceeded(int, Duration)} within 10 s. */
  public List<Delivery> awaitSucceeded(int count) {
    return awaitSucceeded(count, Duration.ofSeconds(10));
  }

  /** Waits (in real time, up to 10 s) for at least {@code count} calls, and returns them. */
  public List<Call> awaitCalls(int count) {
    SpoolTestKit.awaitAsserted("at least " + count + " handler calls", Duration.ofSeconds(10), () -> {
      if (calls().size() < count) {
        throw new AssertionError(calls().size() + " of " + count + " calls so far");
      }
    });
    return calls();
  }

  /** The failure a {@link TestHandler} injects: its message names the message and the attempt. */
  public static final class InjectedFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    InjectedFailure(Delivery delivery) {
      super("injected failure of " + delivery.consumer() + " at sequence " + delivery.sequence() + ", attempt "
          + delivery.attempt(), null, false, false);
    }
  }
}
