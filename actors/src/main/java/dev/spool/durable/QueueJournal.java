package dev.spool.durable;

import dev.spool.Message;
import dev.spool.SpoolSettings;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.persistence.typed.JournalPersistFailed;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.RecoveryFailed;
import org.apache.pekko.persistence.typed.SnapshotAdapter;
import org.apache.pekko.persistence.typed.SnapshotCompleted;
import org.apache.pekko.persistence.typed.SnapshotFailed;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * The journal of one durable queue: a child of its {@code QueueActor}, which stays the queue's only
 * writer. The queue gathers what happens while one write is under way (publishes, consumers'
 * positions, creations, removals) and hands it over as one {@link QueueEvent} when that write
 * completes: group commit, with never more than one write in flight, so Pekko's stash stays empty.
 *
 * <p>It keeps references to the retained messages (shared with the queue's log, not copied), so
 * that every {@code snapshot-every} writes, or sooner once enough bytes are journaled, it can
 * snapshot what the queue retains, and recovery reads one snapshot and the writes after it. A
 * snapshot is taken only when the heap has room for what writing it costs
 * ({@link SnapshotSchedule}); until then it is postponed and events are kept.
 *
 * <p>Pekko's {@code RetentionCriteria.snapshotEvery} cannot be postponed (it snapshots at every
 * multiple of its count, whatever the heap), and in Pekko 1.x a snapshot chosen by
 * {@link #shouldSnapshot} deletes nothing. So this journal decides in {@code shouldSnapshot} and,
 * once a snapshot is stored, deletes the events and snapshots older than the one before it itself
 * ({@link JournalCleanup}): two snapshots are kept, and the events from the older one on.
 *
 * <p>What a snapshot holds besides the messages while it is written is counted in the engine's
 * memory accounting ({@link JournalMemory}) and given back once the store answers. A write's
 * serialized form is not held here: the queue reserves it with the publishes the write carries
 * (so that it is refused with them when it does not fit) and gives it back when the write completes.
 *
 * <p>After every recovery, the first and those after a failed write (Pekko restarts a journal
 * whose write failed, with backoff), it tells the queue what the journal holds ({@link Recovered}),
 * so the queue can tell whether the write whose outcome it did not hear about was stored.
 */
public final class QueueJournal extends JournaledBehavior<QueueJournal.Command, QueueEvent, QueueJournal.State> {

  /**
   * What the journal understands. Only its queue sends these, the parent it runs beside on one
   * node, so they never cross the network (a write carries the queue's messages as they are).
   */
  public interface Command extends NoSerializationVerificationNeeded {}

  /** Journal {@code event}; answered with {@link Written} once it is stored. */
  public record Write(QueueEvent event) implements Command {}

  /** To itself: writes held back by the {@link PauseFence} may go ahead now. */
  private enum FenceCheck implements Command, org.apache.pekko.actor.NoSerializationVerificationNeeded {
    INSTANCE
  }

  /** Snapshots from now on are encrypted under {@code keyId}: the queue's key was rotated. */
  public record UseKey(String keyId) implements Command {}

  /** The journal's or snapshot store's answer to a deletion {@link JournalCleanup} asked for. */
  private record Cleaned(Object response) implements Command {}

  /** What the journal tells its queue, beside it on one node: never over the network. */
  public interface Reply extends NoSerializationVerificationNeeded {}

  /** The write {@code writeId} is stored. */
  public record Written(long writeId) implements Reply {}

  /**
   * What the journal holds, after a recovery.
   *
   * @param lastWriteId the last write stored
   * @param lastSequence the highest sequence ever appended
   * @param messages retained messages, ascending (removed ones left out)
   * @param consumers consumers, in creation order
   * @param positions consumers' last journaled positions
   * @param dedup producer-chosen ids appended within the dedup window, freed ones included
   * @param sealedThrough every retained message up to it is in a stored segment row, not in
   *     {@code messages}
   * @param freedBelow every sequence below it is freed
   * @param removedSealed sequences up to {@code sealedThrough} removed since they were stored
   */
  public record Recovered(long lastWriteId, long lastSequence, List<Message> messages,
      List<QueueEvent.ConsumerRecord> consumers, Map<String, ConsumerPosition> positions,
      List<QueueSnapshot.DedupEntry> dedup, long sealedThrough, long freedBelow, long[] removedSealed)
      implements Reply {

    /** What a journal that stores no segments recovered. */
    public Recovered(long lastWriteId, long lastSequence, List<Message> messages,
        List<QueueEvent.ConsumerRecord> consumers, Map<String, ConsumerPosition> positions,
        List<QueueSnapshot.DedupEntry> dedup) {
      this(lastWriteId, lastSequence, messages, consumers, positions, dedup, 0, 0, new long[0]);
    }

    /**
     * The highest sequence anything recovered refers to: the last appended, a consumer's start or
     * position, a remembered producer id. Above {@link #lastSequence} only when the journal lost
     * messages (a damaged file recovered by copying what was readable): the queue must go on above
     * it, or it would hand out sequences its consumers have already passed.
     */
    public long highestSequenceReferenced() {
      long highest = lastSequence;
      for (QueueEvent.ConsumerRecord c : consumers) {
        highest = Math.max(highest, c.start() - 1);
      }
      for (ConsumerPosition p : positions.values()) {
        highest = Math.max(highest, p.next() - 1);
      }
      for (QueueSnapshot.DedupEntry d : dedup) {
        highest = Math.max(highest, d.sequence());
      }
      return highest;
    }
  }

  /** The journal could not be read; it retries after a backoff. */
  public record Unavailable(Throwable cause) implements Reply {}

  /** A write failed; the journal restarts after a backoff and then tells what it holds ({@link Recovered}). */
  public record WriteFailed(Throwable cause) implements Reply {}

  /**
   * The journal's view of the queue. Mutable, and touched only by this actor: its retained list
   * holds references to the queue's immutable messages; a snapshot copies it ({@link #snapshot()}).
   */
  static final class State {
    long lastWriteId;
    long lastSequence;
    final ArrayDeque<Message> retained = new ArrayDeque<>();
    /** The accounted bytes of {@link #retained}: about what a snapshot of it serializes to. */
    long retainedBytes;
    /** Events applied since the snapshot this state started from (recovery replays them again). */
    long eventsSinceSnapshot;
    /** The accounted bytes of the messages in those events: about what they take in the journal. */
    long bytesSinceSnapshot;
    /** Removed sequences still in {@link #retained} (not at its head) or in stored segments. */
    final TreeSet<Long> removed = new TreeSet<>();
    /** Every retained message up to it is in a stored segment row, and not in {@link #retained}. */
    long sealedThrough;
    /** Every sequence below it is freed. */
    long freedBelow;
    final LinkedHashMap<String, QueueEvent.ConsumerRecord> consumers = new LinkedHashMap<>();
    final Map<String, ConsumerPosition> positions = new HashMap<>();
    /**
     * Producer-chosen ids by append time, kept past the messages' freeing so that a producer's
     * retry after a restart is still deduplicated; bounded like the queue's own dedup index.
     */
    final LinkedHashMap<java.util.UUID, QueueSnapshot.DedupEntry> dedup = new LinkedHashMap<>();
    private final long dedupWindowMillis;
    private final int dedupMaxEntries;
    private long newestAppendedAt = Long.MIN_VALUE;

    State(long dedupWindowMillis, int dedupMaxEntries) {
      this.dedupWindowMillis = dedupWindowMillis;
      this.dedupMaxEntries = dedupMaxEntries;
    }

    /** An empty state with the same dedup bounds and key. */
    State fresh() {
      return new State(dedupWindowMillis, dedupMaxEntries);
    }

    void apply(QueueEvent e) {
      eventsSinceSnapshot++;
      lastWriteId = e.writeId();
      for (Message m : e.messages()) {
        retained.addLast(m);
        retainedBytes += m.sizeBytes();
        bytesSinceSnapshot += m.sizeBytes();
        lastSequence = Math.max(lastSequence, m.sequence());
        if (m.hasProducerId()) {
          dedup.put(m.id(), new QueueSnapshot.DedupEntry(m.id(), m.sequence(), m.timestamp()));
          newestAppendedAt = Math.max(newestAppendedAt, m.timestamp());
        }
      }
      pruneDedup();
      // Deletions first: a consumer deleted and created again within one write is the new one.
      for (String d : e.deleted()) {
        consumers.remove(d);
        positions.remove(d);
      }
      for (QueueEvent.ConsumerRecord c : e.created()) {
        consumers.put(c.settings().name(), c);
        positions.remove(c.settings().name());
      }
      for (Map.Entry<String, ConsumerPosition> p : e.positions().entrySet()) {
        if (consumers.containsKey(p.getKey())) {
          positions.put(p.getKey(), p.getValue());
        }
      }
      for (long r : e.removed()) {
        removed.add(r);
      }
      free(e.freedBelow());
      seal(e.sealedThrough());
    }

    /** Lets go of the messages up to {@code through}: they are in stored segment rows. */
    private void seal(long through) {
      if (through <= sealedThrough) {
        return;
      }
      sealedThrough = through;
      while (!retained.isEmpty() && retained.peekFirst().sequence() <= through) {
        retainedBytes -= retained.pollFirst().sizeBytes();
      }
    }

    /** Removed sequences up to {@link #sealedThrough}: in stored rows, to leave out at recovery. */
    long[] removedSealed() {
      return removed.headSet(sealedThrough, true).stream().mapToLong(Long::longValue).toArray();
    }

    private void free(long below) {
      freedBelow = Math.max(freedBelow, below);
      while (!retained.isEmpty()) {
        long head = retained.peekFirst().sequence();
        if (head < below || removed.remove(head)) {
          retainedBytes -= retained.pollFirst().sizeBytes();
        } else {
          break;
        }
      }
      if (below > 0) {
        removed.headSet(below).clear();
      }
    }

    private void pruneDedup() {
      if (dedup.isEmpty()) {
        return;
      }
      for (Iterator<QueueSnapshot.DedupEntry> it = dedup.values().iterator(); it.hasNext(); ) {
        QueueSnapshot.DedupEntry oldest = it.next();
        if (dedup.size() > dedupMaxEntries || oldest.appendedAt() < newestAppendedAt - dedupWindowMillis) {
          it.remove();
        } else {
          break;
        }
      }
    }

    List<Message> live() {
      List<Message> out = new ArrayList<>(retained.size());
      for (Iterator<Message> it = retained.iterator(); it.hasNext(); ) {
        Message m = it.next();
        if (!removed.contains(m.sequence())) {
          out.add(m);
        }
      }
      return out;
    }

    /** About the bytes a snapshot of this state serializes to. */
    long snapshotBytes() {
      return retainedBytes + (long) removed.size() * Long.BYTES
          + (long) dedup.size() * QueueSnapshot.DedupEntry.SERIALIZED_BYTES
          + (long) positions.size() * 1024; // a position with unsettled deliveries; consumers are few
    }

    /** @param keyId the key its messages are stored encrypted under, or {@code null} */
    QueueSnapshot snapshot(String keyId) {
      return new QueueSnapshot(lastWriteId, lastSequence, live(), List.copyOf(consumers.values()),
          Map.copyOf(positions), List.copyOf(dedup.values()), sealedThrough, freedBelow, removedSealed(), keyId);
    }

    State of(QueueSnapshot s) {
      State state = fresh();
      s.dedup().forEach(d -> {
        state.dedup.put(d.id(), d);
        state.newestAppendedAt = Math.max(state.newestAppendedAt, d.appendedAt());
      });
      state.lastWriteId = s.lastWriteId();
      state.lastSequence = s.lastSequence();
      state.retained.addAll(s.messages());
      for (Message m : s.messages()) {
        state.retainedBytes += m.sizeBytes();
      }
      for (QueueEvent.ConsumerRecord c : s.consumers()) {
        state.consumers.put(c.settings().name(), c);
      }
      state.positions.putAll(s.positions());
      state.sealedThrough = s.sealedThrough();
      state.freedBelow = s.freedBelow();
      for (long r : s.removed()) {
        state.removed.add(r);
      }
      return state;
    }
  }

  /**
   * @param queue the queue's name
   * @param incarnation the queue's incarnation (a queue created again gets a new one)
   * @param dedupWindow how long a producer-chosen id is remembered (the queue's dedup window)
   * @param dedupMaxEntries the most ids remembered
   * @param memory the engine's memory accounting, told what writes and snapshots hold
   * @param replyTo the queue
   */
  public static Behavior<Command> create(String queue, String incarnation, SpoolSettings.Persistence settings,
      Duration dedupWindow, int dedupMaxEntries, String keyId, JournalMemory memory, ActorRef<Reply> replyTo) {
    return Behaviors.setup(context -> new QueueJournal(context, persistenceId(queue, incarnation), settings,
        new State(dedupWindow.toMillis(), dedupMaxEntries), keyId, memory, replyTo));
  }

  /** The persistence id of a queue's journal. */
  public static PersistenceId persistenceId(String queue, String incarnation) {
    // '~' is not allowed in queue names, so the id cannot collide with another queue's
    return PersistenceId.of("spool-queue", queue + "~" + incarnation);
  }

  private final ActorContext<Command> context;
  private final ActorRef<Reply> replyTo;
  private final JournalMemory memory;
  private final SnapshotSchedule schedule;
  private final JournalCleanup cleanup;
  /** The key snapshots are encrypted under, or {@code null}; events carry their own. */
  private String keyId;
  /** Bytes held in the memory accounting for a snapshot under way. */
  private long heldForSnapshot;
  /** The sequence number of the last snapshot stored since this journal started; 0 for none. */
  private long lastSnapshot;

  private QueueJournal(ActorContext<Command> context, PersistenceId id, SpoolSettings.Persistence settings,
      State empty, String keyId, JournalMemory memory, ActorRef<Reply> replyTo) {
    super(id, settings, empty::fresh, PauseFence.get(context.getSystem()));
    this.keyId = keyId;
    this.context = context;
    this.replyTo = replyTo;
    this.memory = memory;
    this.schedule = new SnapshotSchedule(settings.snapshotEvery(), settings.snapshotAfterBytes(),
        settings.snapshotCopies(), memory);
    this.cleanup = new JournalCleanup(context.getSystem(), id.id(), settings,
        context.messageAdapter(Object.class, Cleaned::new));
  }

  /** Pekko snapshots nothing by itself: {@link #shouldSnapshot} decides, and {@link JournalCleanup} deletes. */
  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.disabled();
  }

  /** Called with each event as it is persisted: a snapshot follows its write if this is true. */
  @Override
  public boolean shouldSnapshot(State state, QueueEvent event, long sequenceNr) {
    SnapshotSchedule.Decision decision = schedule.afterWrite(state.eventsSinceSnapshot, state.bytesSinceSnapshot,
        state.snapshotBytes());
    switch (decision) {
      case TAKE -> {
        heldForSnapshot = schedule.lastCost();
        state.eventsSinceSnapshot = 0; // this state is the one the snapshot holds
        state.bytesSinceSnapshot = 0;
        long postponed = schedule.takenAfterPostponing();
        if (postponed > 0) {
          context.getLog().info("journal {}: snapshot of {} bytes taken after {} postponed writes",
              persistenceId().id(), state.snapshotBytes(), postponed);
        }
        return true;
      }
      case POSTPONE -> context.getLog().warn("journal {}: snapshot postponed: writing its {} bytes needs {} bytes of "
              + "heap, more than is free now; events are kept (not deleted) until a snapshot fits",
          persistenceId().id(), state.snapshotBytes(), schedule.cost(state.snapshotBytes()));
      default -> { }
    }
    return false;
  }

  @Override
  public SnapshotAdapter<State> snapshotAdapter() {
    return new SnapshotAdapter<>() {
      @Override
      public Object toJournal(State state) {
        return state.snapshot(keyId); // a copy: the store serializes it on another thread while this actor goes on
      }

      @Override
      public State fromJournal(Object from) {
        return emptyState().of((QueueSnapshot) from);
      }
    };
  }

  @Override
  public CommandHandler<Command, QueueEvent, State> commandHandler() {
    return newCommandHandlerBuilder()
        .forAnyState()
        .onCommand(Write.class, (state, write) -> {
          if (writesHeld(context, FenceCheck.INSTANCE)) {
            return Effect().stash();
          }
          return Effect().persist(write.event()).thenRun(s -> {
            replyTo.tell(new Written(write.event().writeId()));
          });
        })
        .onCommand(FenceCheck.class, (state, check) ->
            stillHeld(context, FenceCheck.INSTANCE) ? Effect().none() : Effect().unstashAll())
        .onCommand(UseKey.class, (state, use) -> {
          keyId = use.keyId();
          return Effect().none();
        })
        .onCommand(Cleaned.class, (state, cleaned) -> {
          cleanup.onResponse(cleaned.response(), context.getLog());
          return Effect().none();
        })
        .build();
  }

  @Override
  public EventHandler<State, QueueEvent> eventHandler() {
    return newEventHandlerBuilder()
        .forAnyState()
        .onEvent(QueueEvent.class, (state, event) -> {
          State next = writable(state);
          next.apply(event);
          return next;
        })
        .build();
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), state -> {
          // After a restart for a failed write, no snapshot after it is under way.
          releaseSnapshot();
          replyTo.tell(new Recovered(state.lastWriteId, state.lastSequence, state.live(),
              List.copyOf(state.consumers.values()), Map.copyOf(state.positions), List.copyOf(state.dedup.values()),
              state.sealedThrough, state.freedBelow, state.removedSealed()));
        })
        .onSignal(RecoveryFailed.class, (state, failed) -> {
          // At DEBUG: the queue reports it to the manager, which logs it once, not once per retry.
          context.getLog().debug("journal {} could not be read; retrying: {}", persistenceId().id(),
              failed.getFailure().toString());
          replyTo.tell(new Unavailable(failed.getFailure()));
        })
        .onSignal(JournalPersistFailed.class, (state, failed) -> replyTo.tell(new WriteFailed(failed.getFailure())))
        .onSignal(SnapshotCompleted.class, (state, completed) -> {
          releaseSnapshot();
          long sequenceNr = completed.metadata().sequenceNr();
          if (lastSnapshot > 0) {
            cleanup.deleteBefore(lastSnapshot);
          }
          lastSnapshot = sequenceNr;
        })
        .onSignal(SnapshotFailed.class, (state, failed) -> {
          releaseSnapshot();
          context.getLog().warn("journal {}: snapshot failed (recovery reads more events until the next one "
              + "succeeds): {}", persistenceId().id(), failed.getFailure().toString());
        })
        .onSignal(PostStop.instance(), state -> releaseSnapshot())
        .build();
  }

  private void releaseSnapshot() {
    memory.releaseHeld(heldForSnapshot);
    heldForSnapshot = 0;
  }
}
