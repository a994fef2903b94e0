package dev.spool;

import java.time.Instant;

/**
 * Something that happened in Spool, named as in semantics.md ("Events"). Every event goes to
 * Pekko's event stream ({@code system.eventStream()}, subscribe to {@code SpoolEvent.class}) and to
 * each {@link Spool#events()} stream. Supervision is loud: a consumer restart is an event, never
 * only a log line.
 *
 * @since 0.1.0
 */
public sealed interface SpoolEvent {

  /** When it happened. */
  Instant at();

  /** The event's name, e.g. {@code MessagesExpired}: the SSE event type and the console's label. */
  default String type() {
    return getClass().getSimpleName();
  }

  /** An engine started. */
  record Started(Instant at, String version) implements SpoolEvent {}

  /**
   * An engine is stopping. Publishes were refused first and handler calls in flight were given the
   * drain timeout to finish.
   *
   * @param handlerCallsFinished handler calls that finished while the shutdown waited
   * @param handlerCallsAbandoned handler calls still running when it stopped (their deliveries
   *     stay unacknowledged)
   */
  record Shutdown(Instant at, int handlerCallsFinished, int handlerCallsAbandoned) implements SpoolEvent {}

  /** A queue was created. */
  record QueueCreated(Instant at, String queue, QueueSettings settings) implements SpoolEvent {}

  /** A queue was deleted with its messages and consumers. */
  record QueueDeleted(Instant at, String queue) implements SpoolEvent {}

  /**
   * In cluster mode, a transient queue started again on another member after the member that held
   * it left or crashed: its messages and consumers were lost with that member, and it starts empty.
   * Persistent queues are never lost: they recover from the shared journal.
   */
  record QueueLost(Instant at, String queue) implements SpoolEvent {}

  /**
   * A message was appended (only when {@code spool.events.message-added} is on: one event per
   * message is costly). Carries the message's group, if it has one.
   *
   * @param groupId the {@code group-id} header, or {@code null}
   * @param groupSize the {@code group-size} header as a number, or 0
   */
  record MessageAdded(Instant at, String queue, long sequence, String messageType, String groupId, int groupSize)
      implements SpoolEvent {}

  /** Retained bytes reached the memory threshold: garbage collection and each queue's overflow policy run. */
  record MemoryLow(Instant at, long usedBytes, long thresholdBytes) implements SpoolEvent {}

  /** Retained bytes fell back under the low-water mark (80 % of the threshold). */
  record MemoryNormal(Instant at, long usedBytes, long thresholdBytes) implements SpoolEvent {}

  /**
   * Usable space on the file system of the embedded journal fell under
   * {@code spool.storage.disk-free-limit}: publishes to persistent queues fail with
   * {@code QueueFull} until {@code DiskNormal}; transient queues, consumers and acknowledgements go on.
   *
   * @param path the journal file whose file system is watched
   */
  record DiskLow(Instant at, long freeBytes, long limitBytes, String path) implements SpoolEvent {}

  /** Usable space rose back above the disk free limit (plus 5 % of it): persistent queues take publishes again. */
  record DiskNormal(Instant at, long freeBytes, long limitBytes, String path) implements SpoolEvent {}

  /**
   * A durable queue's recovered messages do not fit under the memory threshold beside what the
   * other queues retain, so the queue was not started: it refuses every command until the engine
   * restarts with a larger heap or threshold (nothing of it is lost; its journal is kept).
   *
   * @param recoveredBytes bytes of the messages its journal holds
   * @param usedBytes bytes the other queues retained then
   */
  record QueueRecoveryRefused(Instant at, String queue, long recoveredBytes, long usedBytes, long thresholdBytes)
      implements SpoolEvent {}

  /**
   * Messages the consumer had not acknowledged expired: exactly {@code count} of them, the lowest
   * {@code firstSequence} and the highest {@code lastSequence}.
   */
  record MessagesExpired(Instant at, String queue, String consumer, long count, long firstSequence,
      long lastSequence) implements SpoolEvent {}

  /**
   * Messages the consumer had not acknowledged were evicted by {@code drop-oldest}, or purged, trimmed
   * or deleted on request: exactly {@code count}.
   */
  record MessagesDropped(Instant at, String queue, String consumer, long count, long firstSequence,
      long lastSequence) implements SpoolEvent {}

  /** A consumer had no read or acknowledgement for {@code idleMillis}. */
  record ConsumerStale(Instant at, String queue, String consumer, long idleMillis, long lag) implements SpoolEvent {}

  /**
   * A consumer was removed by Spool, not by a delete call.
   *
   * @param reason why, e.g. {@code stale} or {@code inactive}
   */
  record ConsumerRemoved(Instant at, String queue, String consumer, String reason, long lag) implements SpoolEvent {}

  /** A consumer actor failed and was restarted with its position intact ({@code restarts} so far). */
  record ConsumerRestarted(Instant at, String queue, String consumer, int restarts) implements SpoolEvent {}

  /**
   * A message was given up on by a consumer and appended to the dead-letter queue.
   *
   * @param sequence its sequence in {@code queue}
   * @param reason {@code rejected} (nacked without requeue) or {@code max-deliveries}
   * @param attempts deliveries it had
   * @param deadLetterQueue where it went
   * @param deadLetterSequence its sequence there
   */
  record DeadLettered(Instant at, String queue, String consumer, long sequence, String reason, int attempts,
      String deadLetterQueue, long deadLetterSequence) implements SpoolEvent {}

  /**
   * A handler failed {@code failures} times in a row and its circuit breaker opened: deliveries to
   * it pause until a trial call succeeds.
   *
   * @param subscription the handler subscription's id within the consumer
   */
  record BreakerOpened(Instant at, String queue, String consumer, long subscription, int failures)
      implements SpoolEvent {}

  /** A trial call succeeded and the handler's circuit breaker closed: deliveries to it resume. */
  record BreakerClosed(Instant at, String queue, String consumer, long subscription) implements SpoolEvent {}

  /** A consumer acknowledged every message of a group ({@code group-id}, {@code group-size} headers). */
  record GroupCompleted(Instant at, String queue, String consumer, String groupId, int groupSize)
      implements SpoolEvent {}

  /**
   * A consumer cannot read a stored segment of its queue back (damaged, its encryption key missing,
   * or the store unreachable): it delivers nothing past it, and tries again every second. Its
   * messages are never delivered as garbage.
   *
   * @param segment the segment: sequences {@code segment * segmentSize + 1} on
   * @param reason why, without any message content
   */
  record SegmentUnreadable(Instant at, String queue, String consumer, long segment, String reason)
      implements SpoolEvent {}

  /**
   * This {@link Spool#events()} stream fell behind and its bounded buffer dropped the {@code count}
   * oldest events it had not yet passed on.
   */
  record EventsDropped(Instant at, long count) implements SpoolEvent {}
}
