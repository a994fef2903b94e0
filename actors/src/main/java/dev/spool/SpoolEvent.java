package dev.spool;

import java.time.Instant;

/**
 * Something that happened in Spool, named as in semantics.md ("Events"). Every event goes to
 * Pekko's event stream ({@code system.eventStream()}, subscribe to {@code SpoolEvent.class}) and to
 * each {@link Spool#events()} stream. Supervision is loud: a consumer restart is an event, never
 * only a log line.
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

  /** An engine is stopping. */
  record Shutdown(Instant at) implements SpoolEvent {}

  /** A queue was created. */
  record QueueCreated(Instant at, String queue, QueueSettings settings) implements SpoolEvent {}

  /** A queue was deleted with its messages and consumers. */
  record QueueDeleted(Instant at, String queue) implements SpoolEvent {}

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
   * Messages the consumer had not acknowledged expired: exactly {@code count} of them, the lowest
   * {@code firstSequence} and the highest {@code lastSequence}.
   */
  record MessagesExpired(Instant at, String queue, String consumer, long count, long firstSequence,
      long lastSequence) implements SpoolEvent {}

  /** Messages the consumer had not acknowledged were evicted by {@code drop-oldest}: exactly {@code count}. */
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
   * This {@link Spool#events()} stream fell behind and its bounded buffer dropped the {@code count}
   * oldest events it had not yet passed on.
   */
  record EventsDropped(Instant at, long count) implements SpoolEvent {}
}
