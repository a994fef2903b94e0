package dev.spool.consumer;

import dev.spool.ConsumerInfo;
import dev.spool.DeliveryState;
import dev.spool.Message;
import dev.spool.log.ConsumerCursor;
import dev.spool.log.LogView;
import java.time.Duration;
import java.time.Instant;

/**
 * A consumer's counters (delivered, acknowledged, nacked, ...), its last activity, and what its
 * {@link ConsumerInfo} says: lag, lag age (the age of the oldest unacknowledged message) and why
 * nothing is being delivered ({@link DeliveryState}).
 *
 * <p>Single-threaded: driven by the owning {@code ConsumerActor}.
 */
public final class ConsumerStats {

  /** The queue's totals over its consumers, which a consumer adds to (through its actor). */
  public enum Total { DELIVERED, REDELIVERED, ACKED, DROPPED, DEAD_LETTERED }

  /** Gone or settled sequences one info passes over at most looking for the oldest unacknowledged: some microseconds. */
  static final int LAG_AGE_SCAN_LIMIT = 8192;

  private long delivered;
  private long redelivered;
  private long acked;
  private long nacked;
  private long filtered;
  private long expired;
  private long dropped;
  private long deadLettered;
  private long errors;
  private long lastActivity;
  /** A stale episode was reported (ConsumerStale); activity ends it. */
  private boolean staleReported;
  /** Below this sequence nothing retained is unacknowledged: where the lag-age search resumes. */
  private long lagAgeFrom;
  /** The cursor when {@link #lagAgeFrom} was found; a seek back replays, so the cursor moving down forgets it. */
  private long lagAgeCursor;

  ConsumerStats(long nowMillis) {
    this.lastActivity = nowMillis;
  }

  public void countDelivered() {
    delivered++;
  }

  public void countRedelivered() {
    delivered++;
    redelivered++;
  }

  public void countAcked(int count) {
    acked += count;
  }

  public void countNacked() {
    nacked++;
  }

  public void countFiltered() {
    filtered++;
  }

  public void countExpired(long count) {
    expired += count;
  }

  public void countDropped(long count) {
    dropped += count;
  }

  public void countDeadLettered() {
    deadLettered++;
  }

  public void countError() {
    errors++;
  }

  public long acked() {
    return acked;
  }

  public long nacked() {
    return nacked;
  }

  public long dropped() {
    return dropped;
  }

  public long deadLettered() {
    return deadLettered;
  }

  public ConsumerInfo.Counters counters() {
    return new ConsumerInfo.Counters(delivered, redelivered, acked, nacked, filtered, expired, dropped, deadLettered,
        errors);
  }

  /** Someone used the consumer: it is not stale. */
  public void touch(long nowMillis) {
    lastActivity = nowMillis;
    staleReported = false;
  }

  /** Milliseconds since the consumer was last used. */
  public long idle(long nowMillis) {
    return nowMillis - lastActivity;
  }

  /** Whether a stale episode of {@code idle} ms starts now: reported once, until the next activity. */
  public boolean becameStale(long idle, long staleAfterMillis) {
    if (idle < staleAfterMillis || staleReported) {
      return false;
    }
    staleReported = true;
    return true;
  }

  /** What the janitor's tick asks of a consumer: nothing, to leave (inactive), or to report it is stale. */
  public record Tick(Action action, long idleMillis, long lag) {
    public enum Action { NOTHING, REMOVE_INACTIVE, REPORT_STALE }

    static final Tick NOTHING = new Tick(Action.NOTHING, 0, 0);
  }

  /**
   * On the janitor's tick at {@code nowMillis}: a consumer with a subscriber or handler attached is
   * in use even when nothing arrives (it is touched); one idle for its {@code inactiveTimeout}
   * ({@code null}: never) asks to be removed; one idle {@code staleAfter} is reported once per
   * episode.
   */
  public Tick tick(ConsumerState<?> state, LogView log, long nowMillis, Duration inactiveTimeout, Duration staleAfter) {
    if (state.subscribers().anyAttached() || !state.handlers().isEmpty()) {
      touch(nowMillis);
      return Tick.NOTHING;
    }
    long idle = idle(nowMillis);
    if (inactiveTimeout != null && idle >= inactiveTimeout.toMillis()) {
      return new Tick(Tick.Action.REMOVE_INACTIVE, idle, lag(state, log, nowMillis));
    }
    if (becameStale(idle, staleAfter.toMillis())) {
      return new Tick(Tick.Action.REPORT_STALE, idle, lag(state, log, nowMillis));
    }
    return Tick.NOTHING;
  }

  /** The consumer as {@code GetInfo} describes it, at {@code nowMillis}. */
  public ConsumerInfo info(String name, ConsumerState<?> state, LogView log, long nowMillis) {
    ConsumerCursor cursor = state.cursor();
    Subscribers<?> subscribers = state.subscribers();
    HandlerPool handlers = state.handlers();
    long last = log.lastSequence();
    long committed = state.committed();
    long lag = lag(state, log, nowMillis);
    long oldest = lag == 0 ? -1 : oldestUnacknowledged(state, log, committed, last, nowMillis);
    long lagAge = oldest < 0 ? 0 : Math.max(0, nowMillis - oldest);
    return new ConsumerInfo(state.queue(), name, state.settings(), cursor.next(), committed, last, lag,
        lagAge, cursor.inFlight() + subscribers.creditHeld(), cursor.waiting(), deliveryState(state, last),
        state.paused(), Instant.ofEpochMilli(lastActivity), subscribers.attached() + handlers.size(),
        subscribers.parkedReads(), handlers.running(), handlers.worstBreaker(), counters(),
        cursor.next() > last ? 0 : log.retainedFrom(cursor.next()));
  }

  /**
   * Messages this consumer has not acknowledged that still exist and are due at {@code nowMillis}.
   * With nothing held back it is last sequence − committed, as semantics.md defines lag, less the
   * sequences above committed whose messages are gone (expired, evicted, deleted, trimmed, redriven):
   * the messages the log still retains past committed. While it holds messages back (set aside: not
   * due, or waiting in the priority window of a queue with {@code maxPriority}), those retained from
   * its cursor on and the unsettled ones below it, whose count the cursor keeps, so that what it
   * acknowledged above a held message, which holds committed below it, does not count. Not-due
   * messages are left out: the ones it set aside exactly, and those past its cursor as far as one
   * look over {@link #LAG_AGE_SCAN_LIMIT} retained messages in the heap finds them (a consumer that
   * reads has looked over all of them; one that does not may count some not-due message beyond that).
   */
  static long lag(ConsumerState<?> state, LogView log, long nowMillis) {
    ConsumerCursor cursor = state.cursor();
    long notDue = cursor.aside().notDueAt(nowMillis);
    long last = log.lastSequence();
    long next = cursor.next();
    long end = Math.min(last, next + LAG_AGE_SCAN_LIMIT - 1);
    for (long sequence = Math.max(next, log.firstSequence()); sequence <= end; sequence++) {
      Message m = log.get(sequence);
      if (m != null && m.notDueAt(nowMillis)) {
        notDue++;
      }
    }
    if (state.maxPriority() == 0 && cursor.aside().size() == 0) {
      // Nothing held back: last sequence − committed, counting only the messages that still exist.
      return Math.max(0, log.retainedFrom(state.committed() + 1) - notDue);
    }
    return Math.max(0, log.retainedFrom(next) + cursor.unsettledBelowCursor() - notDue);
  }

  /**
   * When the oldest retained message this consumer has not acknowledged (delivered and unsettled, or
   * not delivered yet) and that is due at {@code nowMillis} was appended, or -1 when there is none. Usually the one just past {@code committed}; past
   * sequences found gone (expired, evicted, released) or settled (acknowledged out of order) the
   * search resumes next time where it stopped, so each is passed over once, and one call passes over
   * at most {@link #LAG_AGE_SCAN_LIMIT}. When that limit stops it, the newest message stands in: it
   * is younger than what lies before it, so the age reported is a lower bound until later calls
   * reach the oldest.
   */
  long oldestUnacknowledged(ConsumerState<?> state, LogView log, long committed, long last, long nowMillis) {
    ConsumerCursor cursor = state.cursor();
    long next = cursor.next();
    if (next < lagAgeCursor) {
      lagAgeFrom = 0;
    }
    lagAgeCursor = next;
    long sequence = Math.max(Math.max(committed + 1, lagAgeFrom), log.firstSequence());
    for (int budget = LAG_AGE_SCAN_LIMIT; sequence <= last && budget > 0; sequence++, budget--) {
      long appendedAt = log.appendedAt(sequence); // a cold message's too: no load for a lag figure
      if (appendedAt >= 0 && (sequence >= next || cursor.standingOf(sequence) != ConsumerCursor.Standing.SETTLED)) {
        lagAgeFrom = sequence;
        return cursor.aside().notDueAt(sequence, nowMillis) ? oldestDue(state, log, last, nowMillis) : appendedAt;
      }
    }
    lagAgeFrom = sequence;
    return sequence > last ? -1 : log.appendedAt(last);
  }

  /**
   * When the oldest retained message due at {@code nowMillis} this consumer has not acknowledged was
   * appended, past a not-due one it set aside (which stays where {@link #lagAgeFrom} resumes, as it
   * falls due in its time): from the lowest due unsettled sequence the cursor knows of, over at most
   * {@link #LAG_AGE_SCAN_LIMIT} gone, settled or not-due ones; -1 when there is none.
   */
  private static long oldestDue(ConsumerState<?> state, LogView log, long last, long nowMillis) {
    ConsumerCursor cursor = state.cursor();
    long next = cursor.next();
    long sequence = Math.max(cursor.firstDueUnsettled(nowMillis), log.firstSequence());
    for (int budget = LAG_AGE_SCAN_LIMIT; sequence <= last && budget > 0; sequence++, budget--) {
      long appendedAt = log.appendedAt(sequence);
      if (appendedAt < 0) {
        continue;
      }
      if (sequence >= next) {
        Message m = log.get(sequence);
        if (m == null || !m.notDueAt(nowMillis)) {
          return appendedAt;
        }
      } else if (cursor.standingOf(sequence) != ConsumerCursor.Standing.SETTLED
          && !cursor.aside().notDueAt(sequence, nowMillis)) {
        return appendedAt;
      }
    }
    return sequence > last ? -1 : log.appendedAt(last);
  }

  /** Why the consumer delivers what it does now, with {@code last} the log's last sequence. */
  static DeliveryState deliveryState(ConsumerState<?> state, long last) {
    if (state.halted()) {
      return DeliveryState.PAUSED;
    }
    ConsumerCursor cursor = state.cursor();
    boolean fresh = cursor.next() <= last || cursor.aside().ready() > 0;
    if (!fresh && !cursor.hasReady()) {
      return cursor.delayed() > 0 ? DeliveryState.BACKOFF : DeliveryState.CAUGHT_UP;
    }
    if (!cursor.hasReady() && state.explicit() && cursor.unsettled() >= state.prefetch()) {
      return cursor.inFlight() == 0 ? DeliveryState.BACKOFF : DeliveryState.CREDIT_EXHAUSTED;
    }
    boolean others = state.subscribers().anyAttached();
    if (!others && state.handlers().isEmpty()) {
      return DeliveryState.NO_SUBSCRIBERS;
    }
    if (!others && state.handlers().allOpen()) {
      return DeliveryState.BREAKER_OPEN;
    }
    return DeliveryState.CREDIT_EXHAUSTED; // subscribers are attached but none can take more now
  }
}
