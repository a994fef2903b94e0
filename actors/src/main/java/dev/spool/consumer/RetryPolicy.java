package dev.spool.consumer;

import dev.spool.Backoff;
import dev.spool.ConsumerSettings;
import dev.spool.QueueSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What a consumer does after a failed attempt: redeliver after the backoff, or give up (nacked
 * without requeue, or out of deliveries) and dead-letter; and the failed attempts of each unsettled
 * message, for the dead-letter copy's history.
 *
 * <p>Single-threaded: driven by the owning {@code ConsumerActor}.
 */
public final class RetryPolicy {

  /** One failed delivery attempt: when, how it ended, and the error's class and message if any. */
  public record Attempt(int attempt, long atMillis, String outcome, String error) {}

  /** Failed attempts remembered per message for its dead-letter history. */
  static final int MAX_HISTORY = 16;

  private final int maxDeliveries;
  private final Backoff backoff;
  private final String deadLetterQueue;
  /** Failed attempts of sequences still unsettled. Bounded by the prefetch, each by {@link #MAX_HISTORY}. */
  private final Map<Long, List<Attempt>> failures = new HashMap<>();

  /**
   * @param resolved the consumer's settings, defaults applied
   * @param deadLetter the queue's dead-letter setting, or {@code null}
   */
  RetryPolicy(ConsumerSettings resolved, QueueSettings.DeadLetter deadLetter) {
    this.backoff = resolved.backoff();
    this.deadLetterQueue = deadLetter == null ? null : deadLetter.queue();
    this.maxDeliveries = resolved.maxDeliveries() != null ? resolved.maxDeliveries()
        : deadLetter != null ? deadLetter.maxDeliveries() : Integer.MAX_VALUE;
  }

  /** Deliveries of one message before it is given up on. */
  public int maxDeliveries() {
    return maxDeliveries;
  }

  /** Where given-up messages go, or {@code null}: then they are dropped and counted. */
  public String deadLetterQueue() {
    return deadLetterQueue;
  }

  /**
   * After failed attempt number {@code attempt}: {@code null} to redeliver it after the backoff, else
   * why it is given up on ({@code rejected} without requeue, {@code max-deliveries} out of attempts).
   */
  public String giveUpReason(int attempt, boolean requeue) {
    if (!requeue) {
      return "rejected";
    }
    return attempt >= maxDeliveries ? "max-deliveries" : null;
  }

  /** How long to wait before redelivering after failed attempt number {@code attempt}. */
  public Duration backoff(int attempt) {
    return backoff.delay(attempt);
  }

  /** Remembers a failed attempt for the dead-letter history: the most recent {@link #MAX_HISTORY}. */
  public void failed(long sequence, int attempt, long atMillis, String outcome, String error) {
    List<Attempt> history = failures.computeIfAbsent(sequence, s -> new ArrayList<>(4));
    if (history.size() >= MAX_HISTORY) {
      history.remove(0);
    }
    history.add(new Attempt(attempt, atMillis, outcome, error));
  }

  /** The failed attempts of {@code sequence}, oldest first, or {@code null} when none is remembered. */
  public List<Attempt> history(long sequence) {
    return failures.get(sequence);
  }

  /** {@code sequence} was settled: its history is not needed any more. */
  public void forget(long sequence) {
    if (!failures.isEmpty()) { // a settled sequence is usually unfailed: no boxing on the ack path
      failures.remove(sequence);
    }
  }

  /** A seek dropped every delivery in flight. */
  public void forgetAll() {
    failures.clear();
  }

  /** A short description of a failure for the history, without its stack; {@code null} for none. */
  public static String describe(Throwable failure) {
    if (failure == null) {
      return null;
    }
    String message = failure.getMessage();
    String text = failure.getClass().getSimpleName() + (message == null ? "" : ": " + message);
    return text.length() > 200 ? text.substring(0, 200) + "…" : text;
  }

  /** Sequences with a remembered history. */
  public int remembered() {
    return failures.size();
  }
}
