package dev.spool.actor;

import dev.spool.ConsumerSettings;
import dev.spool.JournalHealth;
import dev.spool.Message;
import dev.spool.SpoolException;
import dev.spool.durable.ConsumerPosition;
import dev.spool.durable.QueueJournal;
import dev.spool.queue.Appender;
import dev.spool.queue.GroupCommit;
import dev.spool.queue.Recovery;
import dev.spool.queue.Retention;
import dev.spool.storage.SegmentRow;
import java.util.List;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;

/**
 * When a queue's changes take effect: at once on a transient queue ({@link #immediate}), once its
 * journal stored them on a durable one ({@link DurableWrites}). The queue actor calls it alike for
 * both and does what the {@link Outlet} is told.
 *
 * <p>Single-threaded: driven by the owning {@code QueueActor}, on its own thread.
 *
 * @param <C> where a consumer creation is answered
 * @param <P> how a consumer is reached
 */
interface QueueWrites<C, P> {

  /** What the writes have the queue do. */
  interface Outlet<C, P> {
    /** Hands {@code write} to the journal, and checks after {@code write-stall-after} whether it is still under way. */
    void write(GroupCommit.Write write);

    /**
     * The write {@code writeId}, handed to the journal at {@code startedNanos} ({@link System#nanoTime()}),
     * ended, stored or not: its stall check is off.
     */
    void writeEnded(long writeId, long startedNanos);

    /** Messages joined the log: announce them and wake the waiting consumers. */
    void appended(Appender.Prepared prepared);

    <T> void reply(ActorRef<StatusReply<T>> replyTo, StatusReply<T> reply);

    /** A consumer was created at {@code start}: start it and answer {@code replies}. */
    void created(ConsumerSettings resolved, long start, List<C> replies);

    /** A consumer's creation was not stored: answer {@code replies} with {@code error}. */
    void notCreated(List<C> replies, SpoolException error);

    /** The position {@code consumer} handed in with {@code version} was stored, or not: it hands it in again. */
    void positionStored(P consumer, boolean stored, long version);

    /** The journal's condition changed: {@code problem}, or {@code null} once it writes again. */
    void journalChanged(JournalHealth.Problem problem);

    /** The journal stored that everything below {@code freedBelow} is freed: stored segments below it are garbage. */
    void freedStored(long freedBelow);
  }

  /** @throws SpoolException.JournalUnavailable while new changes cannot be stored */
  void requireWritable();

  /**
   * A publish, answered with its sequences once it took effect.
   *
   * @throws SpoolException if it is refused; nothing of it was kept then
   */
  void publish(String producerId, List<Message> messages, ActorRef<StatusReply<List<Long>>> replyTo);

  /**
   * A request to create a consumer whose creation is under way joins it, answered alike.
   *
   * @return whether there was one to join
   * @throws SpoolException.ConsumerAlreadyExists if that one has other settings
   */
  boolean joinPending(ConsumerSettings resolved, C replyTo);

  /** A new consumer created at {@code start}. */
  void create(ConsumerSettings resolved, long start, C replyTo);

  /** A consumer removed from the queue; the caller {@linkplain #flush flushes}. */
  void deleted(String consumer);

  /** The request that {@linkplain #deleted removed} {@code consumer}, answered once that took effect. */
  void awaitDeletion(String consumer, ActorRef<StatusReply<Done>> replyTo);

  /** A consumer's position handed in to keep. */
  void position(String consumer, ConsumerPosition position, P from, long version);

  /** A removal step finished. */
  void removed(Retention.Removal removal);

  /** The log freed everything below {@code firstSequence}. */
  void freedBelow(long firstSequence);

  /** Answers {@code replyTo} once nothing waits to take effect. */
  void awaitIdle(ActorRef<StatusReply<Done>> replyTo);

  /** Starts storing what gathered, if nothing is being stored. */
  void flush();

  /** The stall check on write {@code writeId}. */
  void checkStalled(long writeId);

  /** What the journal answered. */
  void settle(QueueJournal.Reply reply);

  /** Builds the queue from what its journal recovered, and the rows of its stored segments. */
  Recovery.Restored restore(QueueJournal.Recovered recovered, List<SegmentRow> rows);

  /** Every retained message up to {@code sealedThrough} is in a stored segment row. */
  void sealed(long sealedThrough);

  /** The queue's encryption key was rotated to {@code keyId}. */
  default void useKey(String keyId) {}

  /**
   * The queue stopped: whatever still waits for the journal is answered with {@code error} rather
   * than left to its caller's ask timeout. A transient queue answers everything as it goes.
   */
  default void stopped(SpoolException error) {}

  /** A transient queue's: everything takes effect at once, and there is no journal. */
  static <C, P> QueueWrites<C, P> immediate(Appender appender, Outlet<C, P> outlet) {
    return new Immediate<>(appender, outlet);
  }

  /** See {@link #immediate}. */
  final class Immediate<C, P> implements QueueWrites<C, P> {
    private final Appender appender;
    private final Outlet<C, P> outlet;

    private Immediate(Appender appender, Outlet<C, P> outlet) {
      this.appender = appender;
      this.outlet = outlet;
    }

    @Override
    public void requireWritable() {}

    @Override
    public void publish(String producerId, List<Message> messages, ActorRef<StatusReply<List<Long>>> replyTo) {
      Appender.Prepared prepared = appender.prepare(producerId, messages);
      appender.commit(prepared);
      outlet.appended(prepared);
      outlet.reply(replyTo, StatusReply.success(prepared.sequences()));
    }

    @Override
    public boolean joinPending(ConsumerSettings resolved, C replyTo) {
      return false;
    }

    @Override
    public void create(ConsumerSettings resolved, long start, C replyTo) {
      outlet.created(resolved, start, List.of(replyTo));
    }

    @Override
    public void deleted(String consumer) {}

    @Override
    public void awaitDeletion(String consumer, ActorRef<StatusReply<Done>> replyTo) {
      outlet.reply(replyTo, StatusReply.success(Done.getInstance()));
    }

    @Override
    public void position(String consumer, ConsumerPosition position, P from, long version) {}

    @Override
    public void removed(Retention.Removal removal) {}

    @Override
    public void sealed(long sealedThrough) {}

    @Override
    public void freedBelow(long firstSequence) {}

    @Override
    public void awaitIdle(ActorRef<StatusReply<Done>> replyTo) {
      outlet.reply(replyTo, StatusReply.success(Done.getInstance()));
    }

    @Override
    public void flush() {}

    @Override
    public void checkStalled(long writeId) {
      throw noJournal();
    }

    @Override
    public void settle(QueueJournal.Reply reply) {
      throw noJournal();
    }

    @Override
    public Recovery.Restored restore(QueueJournal.Recovered recovered, List<SegmentRow> rows) {
      throw noJournal();
    }

    private static IllegalStateException noJournal() {
      return new IllegalStateException("a transient queue has no journal");
    }
  }
}
