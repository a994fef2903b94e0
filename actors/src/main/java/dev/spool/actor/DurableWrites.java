package dev.spool.actor;

import dev.spool.ConsumerSettings;
import dev.spool.Message;
import dev.spool.SpoolException;
import dev.spool.durable.ConsumerPosition;
import dev.spool.durable.QueueJournal;
import dev.spool.queue.Appender;
import dev.spool.queue.ConsumerRegistry;
import dev.spool.queue.GroupCommit;
import dev.spool.queue.Recovery;
import dev.spool.queue.Retention;
import dev.spool.storage.SegmentRow;
import dev.spool.storage.DiskAlarm;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A durable queue's {@link QueueWrites}: what its journaled requests change gathers in a {@link GroupCommit}
 * ({@code writes-in-flight} writes under way at a time), and takes effect only once the journal stored it: a publish
 * joins the log and is answered, a consumer exists, a position is saved. A write not stored refuses
 * what it carried and leaves the log as it was. While the journal does not write (its
 * {@link JournalLink}), new journaled changes are refused at once.
 *
 * <p>It decides; its {@link QueueWrites.Outlet} (the queue actor) sends to the journal, arms the stall check,
 * answers and tells. Single-threaded: driven by the owning {@code QueueActor}, on its own thread.
 *
 * @param <C> where a consumer creation is answered
 * @param <P> how a consumer is reached
 */
final class DurableWrites<C, P> implements QueueWrites<C, P> {

  private static final Logger LOG = LoggerFactory.getLogger(DurableWrites.class);

  private final String queue;
  private final Appender appender;
  private final Recovery recovery;
  private final ConsumerRegistry<P> consumers;
  private final GroupCommit<C, P> groupCommit;
  private final JournalLink<C, P> link;
  private final DiskAlarm disk;
  private final Clock clock;
  private final Outlet<C, P> outlet;
  /** Flush requests, answered once nothing waits for the journal. */
  private final List<ActorRef<StatusReply<Done>>> flushes = new ArrayList<>(0);

  /**
   * @param recovery what builds the queue from its journal, once
   * @param disk the engine's disk alarm: while it is raised, publishes are refused
   */
  DurableWrites(String queue, Appender appender, Recovery recovery, ConsumerRegistry<P> consumers, Duration stallAfter,
      DiskAlarm disk, Clock clock, Outlet<C, P> outlet, String keyId, int writesInFlight) {
    this.queue = queue;
    this.groupCommit = new GroupCommit<>(keyId, writesInFlight);
    this.appender = appender;
    this.recovery = recovery;
    this.consumers = consumers;
    this.link = new JournalLink<>(queue, groupCommit, stallAfter, clock.instant());
    this.disk = disk;
    this.clock = clock;
    this.outlet = outlet;
  }

  /** Builds the queue from what its journal recovered; its writes go on after the last one. */
  @Override
  public Recovery.Restored restore(QueueJournal.Recovered recovered, List<SegmentRow> rows) {
    Recovery.Restored restored = recovery.restore(recovered, rows, appender, groupCommit);
    if (restored.lostMessages()) {
      LOG.warn("queue {}: its journal is missing messages {}..{} (consumer positions or remembered ids reach {}, its"
          + " newest stored message is {}): they were lost, as after recovering a damaged journal file; new messages"
          + " start at {}", queue, restored.storedLastSequence() + 1, restored.lastSequence(), restored.lastSequence(),
          restored.storedLastSequence(), restored.lastSequence() + 1);
    }
    return restored;
  }

  /**
   * @throws SpoolException.JournalUnavailable while the journal does not write; nothing of the
   *     change was stored then
   */
  @Override
  public void requireWritable() {
    link.requireWritable();
  }

  /**
   * A publish, answered once its messages are stored; at once if it holds only duplicates of
   * stored messages.
   *
   * @throws SpoolException if it is refused (among others with {@code QueueFull} while the disk
   *     alarm is raised); nothing of it was kept then
   */
  @Override
  public void publish(String producerId, List<Message> messages, ActorRef<StatusReply<List<Long>>> replyTo) {
    link.requireWritable();
    disk.requireRoom(queue);
    appender.requireRoomToWait(messages.size());
    Appender.Prepared prepared = appender.prepare(producerId, messages);
    if (prepared.freshCount() == 0 && !prepared.waitsForPending()) {
      append(prepared, replyTo); // nothing to write
      return;
    }
    groupCommit.publish(prepared, replyTo);
    appender.awaitJournal(prepared);
    flush();
  }

  private void append(Appender.Prepared prepared, ActorRef<StatusReply<List<Long>>> replyTo) {
    appender.commit(prepared);
    outlet.appended(prepared);
    outlet.reply(replyTo, StatusReply.success(prepared.sequences()));
  }

  /**
   * A request to create a consumer whose creation waits for the journal joins it, answered alike.
   *
   * @return whether there was one to join
   * @throws SpoolException.ConsumerAlreadyExists if it waits with other settings
   */
  @Override
  public boolean joinPending(ConsumerSettings resolved, C replyTo) {
    GroupCommit.PendingConsumer<C> pending = groupCommit.pendingConsumer(resolved.name());
    if (pending == null) {
      return false;
    }
    if (!pending.settings().sameAs(resolved)) {
      throw new SpoolException.ConsumerAlreadyExists(queue, pending.settings(), resolved);
    }
    pending.replies().add(replyTo);
    return true;
  }

  /** A new consumer created at {@code start}: it exists once the journal stored it. */
  @Override
  public void create(ConsumerSettings resolved, long start, C replyTo) {
    link.requireWritable();
    groupCommit.create(resolved, start, replyTo);
    flush();
  }

  /** A consumer removed from memory: the next write deletes it. The caller flushes. */
  @Override
  public void deleted(String consumer) {
    groupCommit.delete(consumer);
  }

  /** A request to delete {@code consumer}, just {@linkplain #deleted removed}, answered once that is stored. */
  @Override
  public void awaitDeletion(String consumer, ActorRef<StatusReply<Done>> replyTo) {
    groupCommit.awaitDeletion(consumer, replyTo);
    flush();
  }

  /** A consumer's position to journal, unless it is gone. */
  @Override
  public void position(String consumer, ConsumerPosition position, P from, long version) {
    if (consumers.contains(consumer)) {
      groupCommit.position(consumer, position, from, version);
      flush();
    }
  }

  /**
   * A removal step finished: the journal forgets evicted, deleted and redriven messages it stored (expiry is
   * worked out again from the messages after a restart).
   */
  @Override
  public void removed(Retention.Removal removal) {
    if (removal.stored() && removal.reason() != Retention.Reason.EXPIRED) {
      groupCommit.removed(removal.messages());
      flush();
    }
  }

  /** The log freed everything below {@code firstSequence}: so that the journal lets go of it too. */
  @Override
  public void freedBelow(long firstSequence) {
    if (groupCommit.freedBelow(firstSequence)) {
      flush();
    }
  }

  /** Sealed segments are stored up to {@code sealedThrough}: the next write tells the journal. */
  @Override
  public void sealed(long sealedThrough) {
    groupCommit.sealed(sealedThrough);
    flush();
  }

  /** The queue's key was rotated: the next writes are encrypted under {@code keyId}. */
  @Override
  public void useKey(String keyId) {
    groupCommit.useKey(keyId);
  }

  /** Answers {@code replyTo} once nothing waits for the journal. */
  @Override
  public void awaitIdle(ActorRef<StatusReply<Done>> replyTo) {
    flushes.add(replyTo);
    answerFlushes();
  }

  /** Starts the next journal write unless the most are under way: group commit. */
  @Override
  public void flush() {
    GroupCommit.Write write = groupCommit.next();
    if (write != null) {
      outlet.write(write);
    }
  }

  /** The check on write {@code writeId}: the journal counts as stalled if it is still under way. */
  @Override
  public void checkStalled(long writeId) {
    if (link.stalled(writeId, clock.instant())) {
      outlet.journalChanged(link.problem());
    }
  }

  /** What the journal answered: the write it settles takes effect or is refused; the next one starts. */
  @Override
  public void settle(QueueJournal.Reply reply) {
    var settled = link.settle(reply, clock.instant());
    for (GroupCommit.Batch<C, P> w : settled.stored()) {
      outlet.writeEnded(w.id(), w.startedNanos());
      if (settled.afterRestart()) {
        LOG.info("queue {}: the journal recovered; write {} was stored", queue, w.id());
      }
      completed(w);
    }
    for (GroupCommit.Batch<C, P> w : settled.notStored()) {
      outlet.writeEnded(w.id(), w.startedNanos());
      LOG.warn("queue {}: the journal recovered; write {} was not stored and is refused", queue, w.id());
      failed(w);
    }
    if (settled.changed()) {
      outlet.journalChanged(link.problem());
    }
    flush();
    answerFlushes();
  }

  /** A write is stored: its publishes join the log and are answered, its consumers exist. */
  private void completed(GroupCommit.Batch<C, P> w) {
    for (GroupCommit.PendingPublish p : w.publishes()) {
      appender.settle(p.prepared());
      append(p.prepared(), p.replyTo());
    }
    w.created().values().forEach(c -> outlet.created(c.settings(), c.start(), c.replies()));
    for (List<ActorRef<StatusReply<Done>>> replies : w.deleted().values()) {
      replies.forEach(r -> outlet.reply(r, StatusReply.success(Done.getInstance())));
    }
    w.positions().forEach((consumer, v) -> {
      if (consumers.isCurrent(consumer, v.from())) { // not a consumer created since under that name
        outlet.positionStored(v.from(), true, v.version());
      }
    });
    groupCommit.stored(w);
    if (w.freedBelow() > 0) {
      outlet.freedStored(w.freedBelow());
    }
  }

  /**
   * A write was not stored. Its publishes fail (nothing of them was confirmed), and so do those
   * gathered since if it carried messages; its consumers are not created; the consumers whose
   * positions it carried are asked for them again.
   */
  private void failed(GroupCommit.Batch<C, P> w) {
    // The journal read itself back and this write is not there: certainly not stored, so not a Timeout.
    SpoolException error = new SpoolException.JournalUnavailable("queue '" + queue
        + "': the journal failed to store this publish; nothing of it was kept, publish it again");
    var refused = groupCommit.failed(w);
    for (GroupCommit.PendingPublish p : refused.publishes()) {
      appender.abandon(p.prepared());
      outlet.reply(p.replyTo(), StatusReply.error(error));
    }
    if (refused.lostMessages()) {
      appender.forgetLastPrepared();
    }
    SpoolException notStored = new SpoolException.JournalUnavailable("queue '" + queue
        + "': the journal failed to store this change; nothing of it was kept, try again");
    refused.created().forEach(c -> outlet.notCreated(c.replies(), notStored));
    refused.positions().forEach((consumer, v) -> {
      if (consumers.isCurrent(consumer, v.from())) {
        outlet.positionStored(v.from(), false, v.version());
      }
    });
  }

  /**
   * The queue stopped with writes owed: their publishes, creations and deletions are answered with
   * {@code error} now. A write under way may still reach the journal, but the queue it would have
   * joined is gone (deleted) or going (the engine shuts down), and nothing will confirm it.
   */
  @Override
  public void stopped(SpoolException error) {
    for (GroupCommit.Batch<C, P> owed : groupCommit.abandon()) {
      for (GroupCommit.PendingPublish p : owed.publishes()) {
        outlet.reply(p.replyTo(), StatusReply.error(error));
      }
      owed.created().values().forEach(c -> outlet.notCreated(c.replies(), error));
      owed.deleted().values().forEach(replies -> replies.forEach(r -> outlet.reply(r, StatusReply.error(error))));
    }
    flushes.forEach(r -> outlet.reply(r, StatusReply.error(error)));
    flushes.clear();
  }

  private void answerFlushes() {
    if (!flushes.isEmpty() && groupCommit.idle()) {
      flushes.forEach(r -> outlet.reply(r, StatusReply.success(Done.getInstance())));
      flushes.clear();
    }
  }
}
