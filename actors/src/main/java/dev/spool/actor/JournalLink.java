package dev.spool.actor;

import dev.spool.JournalHealth;
import dev.spool.SpoolException;
import dev.spool.durable.QueueJournal;
import dev.spool.queue.GroupCommit;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * What a durable queue knows of its journal's writes: whether the journal writes (a
 * {@link JournalCondition}: ok, a write stalled, failed, or a journal that cannot be read), and
 * what each of the journal's replies settles of the {@link GroupCommit} writes under way. While it
 * does not write, new journaled changes are refused at once ({@link #requireWritable}): never
 * stored, so their callers may retry them without creating a duplicate. Writes already under way
 * keep waiting for their outcome, which a recovery of the journal settles.
 *
 * <p>Single-threaded: driven by its {@link DurableWrites}, on the owning {@code QueueActor}'s thread; it
 * tells no one, it says what changed.
 */
final class JournalLink<C, P> {

  /**
   * What one journal reply settled.
   *
   * @param stored writes under way it settled as stored (their changes take effect), oldest first
   * @param notStored writes under way it settled as not stored (they are refused), oldest first
   * @param afterRestart whether the journal read itself back after a failure to tell so
   * @param changed whether the journal's condition changed, for the manager to be told
   */
  record Settled<C, P>(List<GroupCommit.Batch<C, P>> stored, List<GroupCommit.Batch<C, P>> notStored,
      boolean afterRestart, boolean changed) {

    static <C, P> Settled<C, P> nothing(boolean changed) {
      return new Settled<>(List.of(), List.of(), false, changed);
    }
  }

  private final String queue;
  private final GroupCommit<C, P> groupCommit;
  private final Duration stallAfter;
  private final JournalCondition condition;

  JournalLink(String queue, GroupCommit<C, P> groupCommit, Duration stallAfter, Instant now) {
    this.queue = queue;
    this.groupCommit = groupCommit;
    this.stallAfter = stallAfter;
    this.condition = new JournalCondition(JournalHealth.State.OK, null, now);
  }

  JournalHealth.State state() {
    return condition.state();
  }

  /** The problem the manager reports for this queue, or {@code null} while the journal writes. */
  JournalHealth.Problem problem() {
    return condition.problem(queue);
  }

  /**
   * @throws SpoolException.JournalUnavailable while the journal does not write; nothing of the
   *     change was stored then
   */
  void requireWritable() {
    if (!condition.writable()) {
      throw condition.refusal(queue);
    }
  }

  /**
   * The write {@code writeId} was handed to the journal {@code stallAfter} ago. If it is still under
   * way, the journal counts as stalled: its publishes keep waiting for its outcome, new ones are
   * refused until a write completes.
   *
   * @return whether the condition changed
   */
  boolean stalled(long writeId, Instant now) {
    return groupCommit.isWriting(writeId) && condition.writable()
        && condition.moveTo(JournalHealth.State.WRITE_STALLED, "a journal write has been under way for more than "
            + stallAfter.toMillis() + " ms", now);
  }

  /** What {@code reply} settles; the owner completes or refuses the write it returns. */
  Settled<C, P> settle(QueueJournal.Reply reply, Instant now) {
    if (reply instanceof QueueJournal.Written written) {
      GroupCommit.Batch<C, P> done = groupCommit.written(written.writeId());
      if (done == null) {
        return Settled.nothing(false); // a late answer to a write a recovery settled already says nothing
      }
      boolean changed = condition.moveTo(JournalHealth.State.OK, null, now);
      return new Settled<>(List.of(done), List.of(), false, changed);
    }
    if (reply instanceof QueueJournal.Recovered recovered) {
      // The journal restarted after a failed write: which writes under way it stored, it now knows.
      List<GroupCommit.Batch<C, P>> stored = new ArrayList<>();
      List<GroupCommit.Batch<C, P>> notStored = new ArrayList<>();
      for (GroupCommit.Batch<C, P> w : groupCommit.recovered(recovered.lastWriteId(), recovered.epoch())) {
        (w.id() <= recovered.lastWriteId() ? stored : notStored).add(w);
      }
      boolean changed = condition.moveTo(JournalHealth.State.OK, null, now); // it reads, so it may write
      return new Settled<>(stored, notStored, true, changed);
    }
    if (reply instanceof QueueJournal.Unavailable unavailable) {
      // The journal retries after its backoff; the manager logs it, once for identical failures.
      return Settled.nothing(condition.moveTo(JournalHealth.State.UNAVAILABLE,
          JournalCondition.describe(unavailable.cause()), now));
    }
    if (reply instanceof QueueJournal.WriteFailed failed) {
      groupCommit.halt();
      return Settled.nothing(condition.moveTo(JournalHealth.State.WRITE_FAILED,
          JournalCondition.describe(failed.cause()), now));
    }
    return Settled.nothing(false);
  }
}
