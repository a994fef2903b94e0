package dev.spool.consumer;

import dev.spool.SpoolException;
import dev.spool.durable.ConsumerPosition;
import dev.spool.log.ConsumerCursor;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;

/**
 * Where a consumer stands as its queue sees it: the lowest sequence it still needs
 * ({@link #needFrom()}, read by the queue when it releases messages) and the progress watermark it
 * last told; and on a durable queue, the versions of its journaled position, with one position in
 * flight to the journal at a time and the answers (an ack's, a seek's, a pause's) waiting for the
 * version that includes them.
 *
 * <p>Single-threaded: driven by the owning {@code ConsumerActor}; only {@link #needFrom()} is read
 * by the queue's thread.
 */
public final class PositionJournal {

  /**
   * Answers one consumer holds while its journal is slow or down; beyond it acks are applied but
   * answered with Timeout at once (acks are idempotent: the caller may send them again).
   */
  static final int MAX_WAITING_REPLIES = 10_000;

  /** What the journal asks of the actor: to tell its queue. */
  public interface Outlet extends Replies {
    /** Tell the queue this consumer needs nothing below {@code watermark} any more. */
    void progressed(long watermark);

    /** Hand the queue {@code position}, as of {@code version}, for its next journal write. */
    void positionChanged(long version, ConsumerPosition position);
  }

  /**
   * An answer held until the journal stored the position version that includes it, and how it is
   * refused if the consumer stops first.
   */
  private record WaitingReply(long version, Runnable answer, Consumer<SpoolException> refusal) {}

  private final int maxWaitingReplies;
  /** On a durable queue: positions are journaled, and answers wait until theirs is. */
  private boolean durable;
  /** Bumped whenever the position to journal changes; the journal has stored {@link #savedVersion}. */
  private long version;
  private long savedVersion;
  /** A position is with the queue, not yet stored: the next is sent when it is (one in flight). */
  private boolean sent;
  /** What the last journaled change looked like, so that unchanged positions are not written again. */
  private long fingerprint = Long.MIN_VALUE;
  private final ArrayDeque<WaitingReply> waitingReplies = new ArrayDeque<>();
  /**
   * The lowest sequence this consumer still needs, as of its last change: written by this consumer,
   * read by its queue when it releases messages, so that an acknowledgement counts at once without
   * a message per acknowledgement.
   */
  private volatile long needFrom;
  private long reportedWatermark;

  PositionJournal(long start, int maxWaitingReplies) {
    this.needFrom = start;
    this.reportedWatermark = start;
    this.maxWaitingReplies = maxWaitingReplies;
  }

  /**
   * After a change of {@code state}'s position: journals it ({@link #journal}), and shows the queue
   * the lowest sequence it still needs, telling it when that crosses a segment boundary
   * ({@code segmentShift} bits), moves back or is {@code force}d: one message per segment.
   */
  public void report(ConsumerState<?> state, boolean force, int segmentShift, Outlet outlet) {
    journal(state, force, outlet);
    long watermark = state.committed() + 1;
    if (progressed(watermark, force, segmentShift)) {
      outlet.progressed(watermark);
    }
  }

  /**
   * On a durable queue, hands the position to the queue when it changed since the last one (or is
   * {@code force}d): one position in flight per consumer, so a busy consumer costs one entry per
   * journal write, not one per ack.
   */
  public void journal(ConsumerState<?> state, boolean force, Outlet outlet) {
    if (durable && changed(state.fingerprint(), force)) {
      send(state, outlet);
    }
  }

  private void send(ConsumerState<?> state, Outlet outlet) {
    outlet.positionChanged(version, send(state.cursor(), state.explicit(), state.paused()));
  }

  /** The journal stored the position as of {@code version}: the answers waiting for it go, and a newer position. */
  public void saved(long version, ConsumerState<?> state, Outlet outlet) {
    if (saved(version)) {
      send(state, outlet);
    }
  }

  /** The write of the position in flight failed: the current one is sent again, if there is one to store. */
  public void resend(ConsumerState<?> state, Outlet outlet) {
    if (resend()) {
      send(state, outlet);
    }
  }

  /**
   * Answers {@code replyTo} with {@code result}, on a durable queue once the position as it is now
   * is journaled; with a Timeout at once when too many answers wait already (the change is applied).
   */
  public <T> void replyWhenDurable(ActorRef<StatusReply<T>> replyTo, T result, String queue, String consumer,
      Replies replies) {
    if (stored()) {
      replies.reply(replyTo, StatusReply.success(result));
    } else if (!hold(() -> replies.reply(replyTo, StatusReply.success(result)),
        error -> replies.reply(replyTo, StatusReply.error(error)))) {
      replies.reply(replyTo, StatusReply.error(new SpoolException.Timeout("consumer '" + consumer + "' of queue '" + queue
          + "': the journal has not stored earlier changes yet; this one is applied but not yet durable,"
          + " send it again later")));
    }
  }

  /** The consumer's queue journals it: from now on its answers wait for their position to be stored. */
  void journaled(long watermark) {
    durable = true;
    needFrom = watermark;
    reportedWatermark = watermark;
  }

  public boolean durable() {
    return durable;
  }

  /** The lowest sequence the consumer still needs. Safe from any thread. */
  public long needFrom() {
    return needFrom;
  }

  /**
   * Publishes {@code watermark} (committed + 1) as {@link #needFrom()}; whether to tell the queue
   * too: when it crosses a segment boundary ({@code segmentShift} bits) or moves back, or when
   * {@code force}d, so that the queue releases what every consumer passed, one message per segment.
   */
  public boolean progressed(long watermark, boolean force, int segmentShift) {
    if (needFrom != watermark) {
      needFrom = watermark;
    }
    if (force || (watermark - 1) >>> segmentShift != (reportedWatermark - 1) >>> segmentShift) {
      reportedWatermark = watermark;
      return true;
    }
    return false;
  }

  /**
   * The position changed as far as {@code fingerprint} tells (or {@code force}): a new version to
   * journal. Whether to send it now: not while another is in flight, which sends it when stored.
   */
  public boolean changed(long fingerprint, boolean force) {
    if (!durable || !force && fingerprint == this.fingerprint) {
      return false;
    }
    this.fingerprint = fingerprint;
    version++;
    return !sent;
  }

  /** The position to journal now, as {@link #version()}; it is in flight until {@link #saved} or {@link #resend}. */
  public ConsumerPosition send(ConsumerCursor cursor, boolean explicit, boolean paused) {
    long[] unsettled;
    int[] attempts;
    if (explicit) {
      TreeMap<Long, Integer> open = cursor.unsettledAttempts();
      unsettled = new long[open.size()];
      attempts = new int[open.size()];
      int i = 0;
      for (Map.Entry<Long, Integer> e : open.entrySet()) {
        unsettled[i] = e.getKey();
        attempts[i++] = e.getValue();
      }
    } else {
      // Passed and never delivered: set aside again after a restart (attempts 0).
      long[] aside = new long[cursor.aside().size()];
      int[] i = {0};
      cursor.aside().forEach(sequence -> aside[i[0]++] = sequence);
      java.util.Arrays.sort(aside);
      unsettled = aside;
      attempts = new int[aside.length];
    }
    sent = true;
    return new ConsumerPosition(cursor.next(), unsettled, attempts, paused);
  }

  public long version() {
    return version;
  }

  /**
   * The journal stored the position as of {@code savedVersion}: runs the answers that waited for it.
   * Whether a newer position is to be sent now.
   */
  public boolean saved(long savedVersion) {
    this.savedVersion = Math.max(this.savedVersion, savedVersion);
    sent = false;
    while (!waitingReplies.isEmpty() && waitingReplies.peekFirst().version() <= this.savedVersion) {
      waitingReplies.pollFirst().answer().run();
    }
    return version > this.savedVersion;
  }

  /** The write of the position in flight failed: whether there is one to send again. */
  public boolean resend() {
    sent = false;
    return version > savedVersion;
  }

  /** Whether the position as it is now is stored (or need not be): an answer may go at once. */
  public boolean stored() {
    return !durable || version <= savedVersion;
  }

  /**
   * Holds {@code answer} until the position as it is now is stored; false, holding nothing, when
   * {@link #MAX_WAITING_REPLIES} already wait.
   */
  public boolean hold(Runnable answer, Consumer<SpoolException> refusal) {
    if (waitingReplies.size() >= maxWaitingReplies) {
      return false;
    }
    waitingReplies.addLast(new WaitingReply(version, answer, refusal));
    return true;
  }

  /**
   * The consumer stops (deleted, its queue deleted, the engine stopping) before the journal stored
   * what the answers waited for: each is refused with {@code error} now, not left to its caller's timeout.
   */
  public void refuseWaiting(SpoolException error) {
    while (!waitingReplies.isEmpty()) {
      waitingReplies.pollFirst().refusal().accept(error);
    }
  }

  /** Answers waiting for the journal. */
  public int waiting() {
    return waitingReplies.size();
  }
}
