package dev.spool;

import java.time.Duration;
import java.time.Instant;

/**
 * A consumer's position and figures at one moment.
 *
 * @param queue its queue
 * @param name its name
 * @param settings its settings, defaults resolved
 * @param cursor next sequence it will deliver for the first time
 * @param committed every sequence at or below this is acknowledged (or skipped, expired, dropped)
 * @param lastSequence the queue's last sequence when this was taken
 * @param lag {@code lastSequence - committed}, less the sequences above {@code committed} whose messages
 *     no longer exist (expired, evicted, deleted, trimmed, redriven), exact; while it holds messages back
 *     (delayed delivery, or the priority window of a queue with {@code maxPriority}), less those not due
 *     yet and less those it acknowledged above a held message (which keeps {@code committed} below
 *     them); exact but for not-due messages far past its {@code cursor}
 * @param lagAgeMs age of the oldest retained message it has not acknowledged (delivered and unsettled, or
 *     not delivered yet) that is due, 0 when there is none; removed messages do not count
 * @param inFlight deliveries in flight to subscribers
 * @param waiting deliveries waiting to be redelivered (now or after a backoff)
 * @param deliveryState why it is or is not delivering
 * @param paused whether an operator paused it
 * @param lastActivity last read, ack or delivery
 * @param subscribers subscribers attached (actors, streams and handlers)
 * @param parkedReads long-poll reads waiting for messages
 * @param handlerCalls handler calls running now
 * @param breaker the state of its handlers' circuit breakers (the most open one), {@code none} without handlers
 * @param counters what it has done since it was created
 * @param undelivered messages from its {@code cursor} on that still exist: those it has not delivered
 *     yet (what Redis Streams calls a group's lag), exact after removals
 * @since 0.1.0
 */
public record ConsumerInfo(
    String queue,
    String name,
    ConsumerSettings settings,
    long cursor,
    long committed,
    long lastSequence,
    long lag,
    long lagAgeMs,
    int inFlight,
    int waiting,
    DeliveryState deliveryState,
    boolean paused,
    Instant lastActivity,
    int subscribers,
    int parkedReads,
    int handlerCalls,
    BreakerState breaker,
    Counters counters,
    long undelivered) {

  /** An info whose undelivered messages are all sequences from {@code cursor} to {@code lastSequence}. */
  public ConsumerInfo(String queue, String name, ConsumerSettings settings, long cursor, long committed,
      long lastSequence, long lag, long lagAgeMs, int inFlight, int waiting, DeliveryState deliveryState,
      boolean paused, Instant lastActivity, int subscribers, int parkedReads, int handlerCalls, BreakerState breaker,
      Counters counters) {
    this(queue, name, settings, cursor, committed, lastSequence, lag, lagAgeMs, inFlight, waiting, deliveryState,
        paused, lastActivity, subscribers, parkedReads, handlerCalls, breaker, counters,
        Math.max(0, lastSequence - cursor + 1));
  }

  /**
   * Whether this consumer is stale at {@code nowMillis}: no subscriber attached (stream, actor,
   * parked long-poll) and no read, ack or delivery for {@code idle}.
   */
  public boolean isStale(long nowMillis, Duration idle) {
    return subscribers == 0 && parkedReads == 0 && nowMillis - lastActivity.toEpochMilli() >= idle.toMillis();
  }

  /**
   * A consumer's counters.
   *
   * @param delivered deliveries, redeliveries included
   * @param redelivered redeliveries
   * @param acked acknowledgements
   * @param nacked negative acknowledgements
   * @param filtered messages skipped by its filter
   * @param expired messages that expired before it acknowledged them
   * @param dropped messages dropped before it acknowledged them, or after their last attempt
   * @param deadLettered messages it sent to the dead-letter queue
   * @param errors handler calls that failed or timed out
   */
  public record Counters(
      long delivered,
      long redelivered,
      long acked,
      long nacked,
      long filtered,
      long expired,
      long dropped,
      long deadLettered,
      long errors) {}
}
