package dev.spool.consumer;

import dev.spool.queue.Partitions;

import dev.spool.AckResult;
import dev.spool.Message;
import dev.spool.MessageFilter;
import dev.spool.SpoolEvent;
import dev.spool.SpoolException;
import dev.spool.StartPosition;
import dev.spool.log.ConsumerCursor;
import dev.spool.log.DeliveryTrace;
import dev.spool.log.LogView;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongConsumer;
import java.util.function.LongPredicate;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What settles a consumer's deliveries, or puts them back: acknowledgements, nacks, handler
 * outcomes, ack deadlines, subscribers going away, seeks, removals by the queue, and giving up on a
 * message, dead-lettering or dropping it. It keeps the cursor, the retry history, the trace, the
 * counters, the groups and the progress the queue sees in step; the timers, the queue's totals,
 * events and the dead-letter queue are the actor's, reached through {@link Effects}.
 *
 * <p>One per actor incarnation, like its {@link Dispatcher}. Single-threaded: driven by the owning
 * {@code ConsumerActor}.
 */
public final class Settlements {

  /** What settling asks of the actor. */
  public interface Effects extends Replies {
    /**
     * {@code sequence}, given up on, is cold: load it, then {@link Settlements#giveUp(long, int,
     * String, Message)} with it.
     */
    void giveUpWhenLoaded(long sequence, int attempts, String reason);

    /** Every delivery of {@code batch} is settled: its ack deadline can be cancelled. */
    void batchSettled(long batch);

    /** Deliver {@code sequence} again after {@code delay}. */
    void retryAfter(long sequence, Duration delay);

    /**
     * {@code message}, given up on and {@link ConsumerCursor#hold held}, goes to dead-letter queue
     * {@code queue} with its history; then {@link #deadLetterAppended}.
     */
    void deadLetter(String queue, Message message, int attempts, String reason);

    /** Adds to the queue's totals. */
    void add(ConsumerStats.Total total, long count);

    void publish(SpoolEvent event);
  }

  private static final Logger LOG = LoggerFactory.getLogger(Settlements.class);

  private final String name;

  private final ConsumerState<?> state;
  private final ConsumerCursor cursor;
  private final LogView log;
  private final Dispatcher<?> dispatcher;
  private final Effects effects;
  private final MessageFilter filter;
  /** Made once: the cursor takes them on every ack, which must not allocate. */
  private final LongConsumer batchSettled;
  private final LongConsumer outOfAttempts;
  private final LongPredicate handlerOwned;

  public Settlements(String name, ConsumerState<?> state, LogView log, Dispatcher<?> dispatcher, Effects effects) {
    this.name = name;
    this.state = state;
    this.cursor = state.cursor();
    this.log = log;
    this.dispatcher = dispatcher;
    this.effects = effects;
    this.filter = state.settings().filter();
    this.batchSettled = effects::batchSettled;
    this.outOfAttempts = this::outOfAttempts;
    this.handlerOwned = state.handlers()::contains;
  }

  /** Acknowledges {@code sequences}; in {@code none} mode returns their credit (they were settled on delivery). */
  public AckResult ack(List<Long> sequences) {
    int acked = 0;
    List<Long> already = new ArrayList<>(0);
    List<Long> unknown = new ArrayList<>(0);
    dispatcher.startRound();
    state.stats().touch(dispatcher.now());
    for (long sequence : sequences) {
      if (!state.explicit()) {
        state.subscribers().returnCredit(sequence);
        already.add(sequence);
        continue;
      }
      switch (cursor.ack(sequence, batchSettled)) {
        case ACKED -> {
          acked++;
          settled(sequence, 0);
        }
        case ALREADY_SETTLED -> already.add(sequence);
        case UNKNOWN -> unknown.add(sequence);
      }
    }
    dispatcher.endRound();
    acked(acked);
    return new AckResult(acked, already, unknown);
  }

  /** Acknowledges every delivered sequence at or below {@code sequence}. */
  public AckResult ackUpTo(long sequence) {
    state.stats().touch(dispatcher.now());
    int acked = 0;
    if (state.explicit()) {
      acked = cursor.ackUpTo(sequence, batchSettled, s -> settled(s, 0));
    } else {
      state.subscribers().returnCreditUpTo(sequence);
    }
    acked(acked);
    return new AckResult(acked, List.of(), sequence >= cursor.next() ? List.of(sequence) : List.of());
  }

  /**
   * Counts {@code acked} acknowledgements, and shows the queue the progress (before the acker hears
   * back: then the queue can free what it acked).
   */
  private void acked(int acked) {
    state.stats().countAcked(acked);
    if (acked > 0) {
      effects.add(ConsumerStats.Total.ACKED, acked);
    }
    dispatcher.reportProgress(false);
  }

  /** A delivery was settled by acknowledgement: traced, and counted toward its group. */
  private void settled(long sequence, int attempt) {
    state.retry().forget(sequence);
    trace(sequence, DeliveryTrace.Kind.ACKED, attempt, -1);
    if (dispatcher.tracksGroups()) {
      Message m = log.get(sequence);
      if (m != null) {
        dispatcher.groupMemberAcked(m);
      }
    }
  }

  /** Nacks {@code sequences}: each in flight is redelivered after the backoff ({@code requeue}) or given up on. */
  public int nack(List<Long> sequences, boolean requeue) {
    state.stats().touch(dispatcher.now());
    int nacked = 0;
    for (long sequence : sequences) {
      if (!state.explicit()) {
        state.subscribers().returnCredit(sequence);
        continue;
      }
      int attempt = cursor.attemptInFlight(sequence);
      if (attempt == 0) {
        continue; // not in flight: already settled or never delivered; nothing to redeliver
      }
      state.stats().countNacked();
      trace(sequence, DeliveryTrace.Kind.NACKED, attempt, cursor.ownerOf(sequence));
      state.retry().failed(sequence, attempt, dispatcher.now(), requeue ? "nacked" : "rejected", null);
      retryOrGiveUp(sequence, attempt, requeue);
      nacked++;
    }
    return nacked;
  }

  /** A handler call for attempt {@code attempt} of {@code sequence} succeeded: whether that acknowledged it. */
  public boolean handled(long sequence, int attempt) {
    if (!state.explicit() || cursor.attemptInFlight(sequence) != attempt
        || cursor.ack(sequence, batchSettled) != ConsumerCursor.AckOutcome.ACKED) {
      return false; // at most once, or a later attempt or a seek took over
    }
    settled(sequence, attempt);
    acked(1);
    return true;
  }

  /** A handler call of {@code owner} failed ({@code timedOut} or otherwise): the delivery is retried or given up on. */
  public void handlerFailed(long owner, long sequence, int attempt, Throwable failure, boolean timedOut) {
    state.stats().countError();
    trace(sequence, timedOut ? DeliveryTrace.Kind.TIMED_OUT : DeliveryTrace.Kind.FAILED, attempt, owner);
    dev.spool.PermanentFailure permanent = timedOut ? null : dev.spool.PermanentFailure.in(failure);
    if (permanent != null && state.explicit() && cursor.attemptInFlight(sequence) == attempt) {
      state.retry().failed(sequence, attempt, dispatcher.now(), "permanent", RetryPolicy.describe(permanent));
      cursor.hold(sequence, batchSettled);
      giveUp(sequence, attempt, "permanent");
      return;
    }
    if (state.explicit() && cursor.attemptInFlight(sequence) == attempt) {
      state.retry().failed(sequence, attempt, dispatcher.now(), timedOut ? "timed-out" : "failed",
          timedOut ? null : RetryPolicy.describe(failure));
      retryOrGiveUp(sequence, attempt, true);
    }
  }

  /** After a failed attempt of an in-flight {@code sequence}: redeliver it after the backoff, or give up on it. */
  private void retryOrGiveUp(long sequence, int attempt, boolean requeue) {
    String giveUp = state.retry().giveUpReason(attempt, requeue);
    if (giveUp != null) {
      cursor.hold(sequence, batchSettled);
      giveUp(sequence, attempt, giveUp);
      return;
    }
    cursor.requeue(sequence, true, batchSettled);
    effects.retryAfter(sequence, state.retry().backoff(attempt));
  }

  /** The cursor held {@code sequence}: its last attempt timed out or its subscriber went away. */
  private void outOfAttempts(long sequence) {
    giveUp(sequence, state.retry().maxDeliveries(), "max-deliveries");
  }

  /** Held {@code sequence} is given up on: dead-lettered, or dropped when there is no dead-letter queue (or no message). */
  private void giveUp(long sequence, int attempts, String reason) {
    Message message = log.get(sequence);
    if (message == null && state.retry().deadLetterQueue() != null && log.cold(sequence)) {
      effects.giveUpWhenLoaded(sequence, attempts, reason); // its content is in storage, and the dead letter needs it
      return;
    }
    giveUp(sequence, attempts, reason, message);
  }

  /** Gives up on held {@code sequence} whose message ({@code null} if not retained) was loaded. */
  public void giveUp(long sequence, int attempts, String reason, Message message) {
    String deadLetterQueue = state.retry().deadLetterQueue();
    if (deadLetterQueue != null && message != null) {
      effects.deadLetter(deadLetterQueue, message, attempts, reason);
    } else if (drop(sequence, attempts)) {
      effects.add(ConsumerStats.Total.DROPPED, 1);
      LOG.debug("queue {}: consumer {} dropped sequence {} after {} attempts ({})", state.queue(), name, sequence,
          attempts, reason);
    }
  }

  /**
   * The dead-letter queue answered for {@code sequence}: with the sequences it {@code appended}, then
   * it is settled, counted and published, and the actor dispatches (true); or with a {@code failure},
   * then it comes back after the backoff ({@link #deadLetterFailed}).
   */
  public boolean deadLetterAppended(long sequence, int attempts, String reason, List<Long> appended,
      Throwable failure) {
    String deadLetterQueue = state.retry().deadLetterQueue();
    if (failure != null) {
      LOG.warn("queue {}: consumer {} could not dead-letter sequence {} to {} ({}); retrying later", state.queue(),
          name, sequence, deadLetterQueue, failure.getMessage());
      deadLetterFailed(sequence, attempts);
      return false;
    }
    deadLettered(sequence, attempts);
    effects.add(ConsumerStats.Total.DEAD_LETTERED, 1);
    effects.publish(new SpoolEvent.DeadLettered(dispatcher.instant(), state.queue(), name, sequence, reason, attempts,
        deadLetterQueue, appended == null || appended.isEmpty() ? 0 : appended.get(0)));
    dispatcher.reportProgress(false);
    return true;
  }

  /**
   * Drops held {@code sequence}, given up on with no dead-letter queue: whether it was counted as
   * dropped (a message already removed, expired, was counted then).
   */
  public boolean drop(long sequence, int attempts) {
    boolean counted = cursor.discard(sequence, batchSettled) && (log.get(sequence) != null || log.cold(sequence));
    if (counted) {
      state.stats().countDropped(1);
      trace(sequence, DeliveryTrace.Kind.DROPPED, attempts, -1);
    }
    state.retry().forget(sequence);
    return counted;
  }

  /** The dead-letter queue has {@code sequence}: it is settled. */
  public void deadLettered(long sequence, int attempts) {
    if (cursor.isHeld(sequence)) { // else a seek or an expiry settled it meanwhile
      cursor.discard(sequence, batchSettled);
      state.retry().forget(sequence);
    }
    state.stats().countDeadLettered();
    trace(sequence, DeliveryTrace.Kind.DEAD_LETTERED, attempts, -1);
  }

  /**
   * Dead-lettering {@code sequence} failed: nothing is given up on until the dead-letter queue has
   * it, so it comes back after the backoff, and its next failure tries the dead-letter queue again.
   */
  public void deadLetterFailed(long sequence, int attempts) {
    if (cursor.releaseHeld(sequence) > 0) {
      effects.retryAfter(sequence, state.retry().backoff(attempts));
    }
  }

  /**
   * The ack deadline of {@code batch} passed: whether it was still open, its deliveries then put
   * back. A handler's deliveries are timed out by the handler's own timeout (at most the ack
   * timeout, checked a little late); expiring them here too would hand one to a second call while
   * the first still runs.
   */
  public boolean deadlinePassed(long batch) {
    if (!cursor.batchOpen(batch)) {
      return false;
    }
    cursor.expireBatch(batch, state.retry().maxDeliveries(), outOfAttempts, handlerOwned);
    return true;
  }

  /** What {@code owner} (-1: none) held unacknowledged is redelivered: it went away. */
  public void releaseOwner(long owner) {
    if (owner >= 0 && state.explicit()) {
      cursor.releaseOwner(owner, state.retry().maxDeliveries(), outOfAttempts);
    }
  }

  /**
   * Moves the cursor to {@code to}, answering {@code replyTo} once the new position is journaled (a
   * replay asked for must survive a restart): whether it moved (then dispatch). A position past the
   * end is refused, changing nothing.
   */
  public boolean seek(StartPosition to, ActorRef<StatusReply<Done>> replyTo) {
    long target;
    try {
      target = Dispatcher.resolve(to, log, Partitions.numberOf(state.queue()) >= 0);
    } catch (SpoolException e) {
      effects.reply(replyTo, StatusReply.error(e));
      return false;
    }
    seek(target);
    dispatcher.reportProgress(true);
    state.position().replyWhenDurable(replyTo, Done.getInstance(), state.queue(), name, effects);
    return true;
  }

  /** Moves the cursor to {@code target}; deliveries in flight are dropped (traced as skipped), their deadlines cancelled. */
  public void seek(long target) {
    for (long batch : cursor.openBatches()) {
      effects.batchSettled(batch);
    }
    state.stats().touch(dispatcher.now());
    state.trace().seek(cursor, target, dispatcher.now(), log);
    cursor.seek(target);
    state.retry().forgetAll();
    state.groups().clear();
    state.subscribers().clearCredit();
  }

  /**
   * Removal step {@code epoch} removed {@code removed} ({@code expired}, else evicted or deleted; not
   * {@code counted} when redriven): publishes what this consumer lost, if it lost anything counted.
   */
  public void removal(List<Message> removed, long epoch, boolean counted, boolean expired) {
    Withdrawn gone = removed(removed, epoch, counted, expired ? DeliveryTrace.Kind.EXPIRED : DeliveryTrace.Kind.DROPPED);
    if (gone.count() > 0) {
      Instant at = dispatcher.instant();
      effects.publish(expired
          ? new SpoolEvent.MessagesExpired(at, state.queue(), name, gone.count(), gone.first(), gone.last())
          : new SpoolEvent.MessagesDropped(at, state.queue(), name, gone.count(), gone.first(), gone.last()));
    }
  }

  /** What a removal step withdrew from this consumer: how many it had not acknowledged, first and last. */
  public record Withdrawn(long count, long first, long last) {}

  /**
   * Removal step {@code epoch} removed {@code removed}: withdraws what is in flight or waiting, and
   * when {@code counted} traces and counts ({@code kind}: expired or dropped) what this consumer had
   * not acknowledged; then skips what it is now known to have removed.
   */
  public Withdrawn removed(List<Message> removed, long epoch, boolean counted, DeliveryTrace.Kind kind) {
    long count = 0;
    long first = 0;
    long last = 0;
    for (Message m : removed) {
      long sequence = m.sequence();
      boolean unacknowledged;
      if (cursor.aside().remove(sequence)) {
        unacknowledged = true; // passed, not due or waiting its turn: never delivered
      } else if (state.explicit() && cursor.discard(sequence, batchSettled)) {
        unacknowledged = true; // in flight or waiting: withdrawn, never redelivered
        state.retry().forget(sequence);
      } else {
        unacknowledged = sequence >= cursor.next() && (filter.matchesAll() || filter.matches(m));
      }
      if (unacknowledged && counted) {
        trace(sequence, kind, 0, -1);
        count++;
        first = first == 0 ? sequence : first;
        last = sequence;
      }
    }
    state.knownEpoch(epoch);
    dispatcher.skipRemoved();
    if (kind == DeliveryTrace.Kind.EXPIRED) {
      state.stats().countExpired(count);
    } else {
      state.stats().countDropped(count);
    }
    return new Withdrawn(count, first, last);
  }

  private void trace(long sequence, DeliveryTrace.Kind kind, int attempt, long owner) {
    state.trace().record(sequence, kind, attempt, owner, dispatcher.now(), log);
  }
}
