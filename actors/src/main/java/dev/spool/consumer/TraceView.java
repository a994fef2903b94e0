package dev.spool.consumer;

import dev.spool.Message;
import dev.spool.MessageFilter;
import dev.spool.MessageTrace;
import dev.spool.log.ConsumerCursor;
import dev.spool.log.DeliveryTrace;
import dev.spool.log.LogView;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A consumer's part of message traces: the delivery events it records (a {@link DeliveryTrace},
 * capped by its share of the queue's trace cap), what its seeks jumped over or replayed, and how far
 * back it could have been delivered (its reach); and the {@link MessageTrace} entries it answers for
 * one sequence.
 *
 * <p>Single-threaded: driven by the owning {@code ConsumerActor}.
 */
public final class TraceView {

  /** Seeks forward a consumer remembers for its traces; an older seek's range then says {@code settled}. */
  static final int MAX_SEEKS_TRACED = 16;

  private final DeliveryTrace trace;
  /** The lowest sequence this consumer could have been delivered: its start, lowered by seeks back. */
  private long reach;
  /**
   * Where this consumer began on a durable queue's recovery: the events of sequences from its
   * original start up to here happened before the restart and are not held.
   */
  private long tracedFrom = Long.MIN_VALUE;
  /** The start this consumer was created with. */
  private long firstStart;
  /** The highest sequence a seek back made deliverable again: below it, one delivery may repeat another. */
  private long replayedUpTo = Long.MIN_VALUE;
  /** The most recent seeks forward: {from, to (exclusive), at millis} each, oldest overwritten first. */
  private final long[][] seeksForward = new long[MAX_SEEKS_TRACED][];
  private long seeksForwardCount;

  /**
   * @param events delivery events kept: this consumer's share of its queue's cap
   * @param start the consumer's first sequence
   */
  TraceView(int events, long start) {
    this.trace = new DeliveryTrace(events);
    this.reach = start;
    this.firstStart = start;
  }

  /** Records an event of {@code sequence}; when full, first forgets what the log no longer holds. */
  public void record(long sequence, DeliveryTrace.Kind kind, int attempt, long owner, long atMillis, LogView log) {
    if (trace.full()) {
      trace.forgetBelow(log.firstSequence()); // room from messages no trace can be asked about, before the cap's
    }
    trace.record(sequence, atMillis, kind, attempt, owner);
  }

  /** This consumer's share of the queue's trace cap changed. */
  public void resize(int events) {
    trace.resize(events);
  }

  /**
   * On a durable queue's recovery: the consumer was created at {@code createdAt} and goes on from
   * {@code next}; what happened in between is not held.
   */
  public void restored(long createdAt, long next) {
    firstStart = createdAt;
    reach = createdAt;
    tracedFrom = next;
  }

  /**
   * Before a seek of {@code cursor} to {@code target}: unacknowledged deliveries it passes over are
   * traced as skipped, a range of never-delivered messages it jumps over is remembered, and a seek
   * back marks the sequences that may be delivered a second time.
   */
  public void seek(ConsumerCursor cursor, long target, long nowMillis, LogView log) {
    long next = cursor.next();
    for (Map.Entry<Long, Integer> unsettled : cursor.unsettledAttempts().entrySet()) {
      if (unsettled.getKey() < target) {
        record(unsettled.getKey(), DeliveryTrace.Kind.SKIPPED, unsettled.getValue(), -1, nowMillis, log);
      }
    }
    if (target > next) {
      seeksForward[(int) (seeksForwardCount++ % MAX_SEEKS_TRACED)] = new long[] {next, target, nowMillis};
    } else {
      replayedUpTo = Math.max(replayedUpTo, next - 1);
      reach = Math.min(reach, target);
    }
  }

  /**
   * This consumer's part of the trace of {@code sequence}: the events it recorded, then where the
   * message stands now when that adds something. Nothing is derived that the position does not make
   * certain: a message below its reach is {@code before-start}, one its filter refuses
   * {@code filtered}; when the trace cap (or a restart) lost older events, {@code events-dropped}
   * says so, and a settled message whose settling event is gone is just {@code settled}.
   */
  public List<MessageTrace.Entry> entries(String name, long sequence, ConsumerState<?> state, LogView log) {
    List<DeliveryTrace.Event> held = trace.eventsOf(sequence);
    List<MessageTrace.Entry> entries = new ArrayList<>(held.size() + 2);
    if (held.isEmpty() && sequence < reach) {
      entries.add(untimed("before-start", name));
      return entries;
    }
    Message message = log.get(sequence);
    MessageFilter filter = state.settings().filter();
    if (held.isEmpty() && message != null && !filter.matchesAll() && !filter.matches(message)) {
      entries.add(untimed("filtered", name));
      return entries;
    }
    boolean lostInRestart = sequence >= firstStart && sequence < tracedFrom;
    boolean wholeHistoryHeld = !held.isEmpty() && held.get(0).kind() == DeliveryTrace.Kind.DELIVERED
        && held.get(0).attempt() == 1 && sequence > replayedUpTo;
    if (lostInRestart || (trace.mayHaveDropped(sequence) && !wholeHistoryHeld)) {
      entries.add(untimed("events-dropped", name));
    }
    for (DeliveryTrace.Event e : held) {
      entries.add(new MessageTrace.Entry(e.kind().wireName(), name, Instant.ofEpochMilli(e.atMillis()), e.attempt(),
          subscriberName(e.owner(), state)));
    }
    DeliveryTrace.Event last = held.isEmpty() ? null : held.get(held.size() - 1);
    ConsumerCursor cursor = state.cursor();
    boolean explicit = state.explicit();
    switch (explicit ? cursor.standingOf(sequence)
        : sequence < cursor.next() ? ConsumerCursor.Standing.SETTLED : ConsumerCursor.Standing.PENDING) {
      case IN_FLIGHT -> entries.add(new MessageTrace.Entry("in-flight", name, null, cursor.attemptInFlight(sequence),
          subscriberName(cursor.ownerOf(sequence), state)));
      case WAITING -> entries.add(untimed("waiting", name));
      case HELD -> entries.add(untimed("dead-lettering", name));
      case PENDING -> entries.add(untimed("pending", name));
      case SETTLED -> {
        // Settled is certain; how, only a recorded event says (at most once, delivering settles).
        boolean told = last != null && (last.kind().ends() || !explicit && last.kind() == DeliveryTrace.Kind.DELIVERED);
        if (!told) {
          long[] seek = seekPast(sequence);
          entries.add(seek != null
              ? new MessageTrace.Entry(DeliveryTrace.Kind.SKIPPED.wireName(), name, Instant.ofEpochMilli(seek[2]), 0, null)
              : untimed("settled", name));
        }
      }
    }
    return entries;
  }

  private static MessageTrace.Entry untimed(String event, String name) {
    return new MessageTrace.Entry(event, name, null, 0, null);
  }

  /** The most recent remembered seek forward that jumped over {@code sequence} undelivered, or null. */
  long[] seekPast(long sequence) {
    for (long n = seeksForwardCount - 1; n >= Math.max(0, seeksForwardCount - MAX_SEEKS_TRACED); n--) {
      long[] seek = seeksForward[(int) (n % MAX_SEEKS_TRACED)];
      if (sequence >= seek[0] && sequence < seek[1]) {
        return seek;
      }
    }
    return null;
  }

  /** How a trace names the subscriber that held a delivery ({@code owner}), or null for none. */
  static String subscriberName(long owner, ConsumerState<?> state) {
    if (owner < 0) {
      return null;
    }
    if (owner == Subscribers.PULL_OWNER) {
      return "pull";
    }
    if (state.handlers().contains(owner)) {
      return "handler-" + owner;
    }
    return state.subscribers().isStream(owner) ? "stream-" + owner : "subscriber-" + owner;
  }
}
