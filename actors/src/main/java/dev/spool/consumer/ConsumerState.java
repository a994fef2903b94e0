package dev.spool.consumer;

import dev.spool.AckMode;
import dev.spool.ConsumerSettings;
import dev.spool.PushTransport;
import dev.spool.QueueSettings;
import dev.spool.durable.ConsumerPosition;
import dev.spool.log.ConsumerCursor;
import dev.spool.log.LogView;
import dev.spool.log.SetAside;

/**
 * Everything a consumer keeps across restarts of its actor: its cursor and the parts that decide
 * around it. Its queue creates it and hands it to every incarnation of the consumer's actor, so a
 * restart after a failure resumes with cursor, committed position, in-flight set, subscribers and
 * handlers intact.
 *
 * <p>Single-threaded: driven by the owning {@code ConsumerActor}; only {@link #needFrom()} is read
 * by the queue's thread.
 *
 * @param <E> what a stream subscriber receives
 */
public class ConsumerState<E> {

  private final String queue;
  private final ConsumerSettings settings;
  private final ConsumerCursor cursor;
  private final boolean explicit;
  private final int prefetch;
  private final ConsumerStats stats;
  private final RetryPolicy retry;
  private final GroupTracker groups = new GroupTracker();
  private final TraceView trace;
  private final Subscribers<E> subscribers = new Subscribers<>();
  private final HandlerPool handlers = new HandlerPool();
  /** The push consumer's pusher once opened: kept across restarts of the actor, whose handler calls it. */
  private PushTransport.Pusher pusher;
  private final PositionJournal position;
  /** Stopped by an operator; kept in the journaled position. */
  private boolean paused;
  /** Stopped for shutdown. */
  private boolean draining;
  /** The last removal step this consumer knows of: markers up to it are skipped. */
  private long knownEpoch;
  private int incarnations;
  /** The queue's {@code maxPriority}: 0 when it delivers in sequence order regardless of priority. */
  private final int maxPriority;

  /**
   * @param resolved the consumer's settings, defaults applied
   * @param deadLetter the queue's dead-letter setting, or {@code null}
   * @param start the first sequence it delivers
   * @param knownEpoch the queue's latest removal step: what it removed before is not this consumer's
   * @param traceEvents delivery events kept for traces: this consumer's share of its queue's cap
   */
  public ConsumerState(String queue, ConsumerSettings resolved, QueueSettings.DeadLetter deadLetter, long start,
      long knownEpoch, long now, int traceEvents) {
    this(queue, resolved, deadLetter, 0, start, knownEpoch, now, traceEvents);
  }

  /**
   * A consumer of a queue delivering higher priorities first, up to {@code maxPriority} (0: in
   * sequence order); the others as {@link #ConsumerState(String, ConsumerSettings, QueueSettings.DeadLetter,
   * long, long, long, int)}.
   */
  public ConsumerState(String queue, ConsumerSettings resolved, QueueSettings.DeadLetter deadLetter, int maxPriority,
      long start, long knownEpoch, long now, int traceEvents) {
    this.queue = queue;
    this.maxPriority = maxPriority;
    this.settings = resolved;
    this.cursor = new ConsumerCursor(start);
    this.explicit = resolved.ackMode() == AckMode.EXPLICIT;
    this.prefetch = resolved.prefetch();
    this.stats = new ConsumerStats(now);
    this.retry = new RetryPolicy(resolved, deadLetter);
    this.trace = new TraceView(traceEvents, start);
    this.position = new PositionJournal(start, PositionJournal.MAX_WAITING_REPLIES);
    this.knownEpoch = knownEpoch;
  }

  /**
   * On a durable queue's recovery: the consumer was created at {@code createdAt} and goes on from
   * {@code next}; what happened in between is not held.
   */
  public void restoredTrace(long createdAt, long next) {
    trace.restored(createdAt, next);
  }

  /**
   * The consumer's queue journals it. With the {@code position} its journal recorded (or
   * {@code null} for a new consumer created at {@code createdAt}) it goes on from there: its unsettled
   * deliveries still retained in {@code log} are delivered again. The watermark it starts from.
   */
  public long journaled(long createdAt, ConsumerPosition recorded, LogView log) {
    long watermark = cursor.next();
    if (recorded != null) {
      restoredTrace(createdAt, recorded.next());
      for (int i = 0; i < recorded.unsettled().length; i++) {
        long sequence = recorded.unsettled()[i];
        dev.spool.Message message = log.get(sequence);
        if (message == null && !log.cold(sequence)) {
          continue;
        }
        if (recorded.attempts()[i] == 0) {
          // Passed, never delivered (not due, or waiting its turn): set aside again. A cold one's
          // due time is learnt when its segment is loaded; until then it is not due.
          cursor.restoreAside(sequence, message == null ? SetAside.UNKNOWN_DUE : message.deliverAtMillis(),
              message == null ? 0 : priorityOf(message));
        } else {
          cursor.restoreUnsettled(sequence, recorded.attempts()[i]);
        }
      }
      watermark = cursor.committed() + 1;
      paused = recorded.paused();
    }
    position.journaled(watermark);
    return watermark;
  }

  /** The lowest sequence the consumer still needs. Safe from any thread: its queue reads it to release messages. */
  public long needFrom() {
    return position.needFrom();
  }

  /** Counts an incarnation of the actor: how many there were before this one (restarts). */
  public int incarnated() {
    return incarnations++;
  }

  /** The highest sequence acknowledged with everything below it. */
  public long committed() {
    return explicit ? cursor.committed() : cursor.firstUndelivered() - 1;
  }

  /** The queue's {@code maxPriority}: 0 when it delivers in sequence order. */
  public int maxPriority() {
    return maxPriority;
  }

  /** The priority {@code message} is delivered at on this queue: 0 without priorities, at most {@link #maxPriority()}. */
  public int priorityOf(dev.spool.Message message) {
    return Math.min(message.priority(), maxPriority);
  }

  /**
   * What the journaled position looks like, so that unchanged ones are not written again: in
   * {@code none} mode the cursor; explicit, the committed position and the settling counts (what
   * was delivered and not settled is delivered again after a restart either way).
   */
  public long fingerprint() {
    return explicit
        ? ((committed() * 31 + stats.acked()) * 31 + stats.deadLettered()) * 31 + stats.nacked() * 7 + stats.dropped()
            + cursor.aside().size() * 17L
        : (cursor.next() * 31 + cursor.aside().first()) * 31 + cursor.aside().size();
  }

  /** Whether nothing is delivered now: paused by an operator, or draining for shutdown. */
  public boolean halted() {
    return paused || draining;
  }

  public boolean paused() {
    return paused;
  }

  public void paused(boolean paused) {
    this.paused = paused;
  }

  public boolean draining() {
    return draining;
  }

  public void drain() {
    draining = true;
  }

  public long knownEpoch() {
    return knownEpoch;
  }

  public void knownEpoch(long epoch) {
    knownEpoch = epoch;
  }

  public String queue() {
    return queue;
  }

  public ConsumerSettings settings() {
    return settings;
  }

  public ConsumerCursor cursor() {
    return cursor;
  }

  /** Explicit ack mode: deliveries stay in flight until acknowledged; else delivering acknowledges. */
  public boolean explicit() {
    return explicit;
  }

  public int prefetch() {
    return prefetch;
  }

  public ConsumerStats stats() {
    return stats;
  }

  public RetryPolicy retry() {
    return retry;
  }

  public GroupTracker groups() {
    return groups;
  }

  public TraceView trace() {
    return trace;
  }

  public Subscribers<E> subscribers() {
    return subscribers;
  }

  public HandlerPool handlers() {
    return handlers;
  }

  public PushTransport.Pusher pusher() {
    return pusher;
  }

  public void pusher(PushTransport.Pusher pusher) {
    this.pusher = pusher;
  }

  public PositionJournal position() {
    return position;
  }
}
