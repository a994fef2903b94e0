package dev.spool.durable;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spool.Message;
import dev.spool.SpoolSettings;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.persistence.AtomicWrite;
import org.apache.pekko.persistence.JournalProtocol;
import org.apache.pekko.persistence.Persistence;
import org.apache.pekko.persistence.PersistentEnvelope;
import org.apache.pekko.persistence.PersistentRepr;
import org.apache.pekko.persistence.PersistentRepr$;
import org.apache.pekko.persistence.SaveSnapshotFailure;
import org.apache.pekko.persistence.SaveSnapshotSuccess;
import org.apache.pekko.persistence.SnapshotMetadata;
import org.apache.pekko.persistence.SnapshotProtocol;
import org.apache.pekko.persistence.typed.PersistenceId;
import scala.jdk.javaapi.CollectionConverters;

/**
 * The journal of one durable queue: a child of its {@code QueueActor}, which stays the queue's only
 * writer. The queue gathers what happens while its writes are under way (publishes, consumers'
 * positions, creations, removals) and hands it over as one {@link QueueEvent} as soon as fewer than
 * {@code writes-in-flight} writes are under way: group commit, with a second write already at the
 * journal when the first completes.
 *
 * <p>It speaks the journal and snapshot store plugins' own protocol, as Pekko's event-sourced
 * actors do, rather than being one: an event-sourced actor sends its next write only once the one
 * under way is stored, which leaves the database idle for a round trip after every commit and
 * splits a queue's many publishers into two alternating halves. Writes go out in order with
 * consecutive sequence numbers, and their answers come back in order. Each write names the write it
 * follows and the last one confirmed when it was handed out ({@link QueueEvent#confirmed}); when one
 * is not stored, the writes under way after it are told apart at recovery and count as not stored,
 * even if the database stored them, so what a recovery holds is a prefix of what the queue wrote.
 *
 * <p>After a failed write, it waits for the answers to every write still under way, reads itself
 * back after a backoff and tells the queue what it holds ({@link Recovered}): which writes under way
 * were stored is then certain. A recovery starts an epoch; writes the queue sent before it heard of
 * the recovery carry the old epoch and are dropped, so they cannot be stored after it settled them
 * as not stored.
 *
 * <p>It keeps references to the retained messages (shared with the queue's log, not copied), so
 * that every {@code snapshot-every} writes, or sooner once enough bytes are journaled, it can
 * snapshot what the queue retains, and recovery reads one snapshot and the writes after it. A
 * snapshot is taken only when the heap has room for what writing it costs
 * ({@link SnapshotSchedule}); until then it is postponed and events are kept. Once a snapshot is
 * stored, it deletes the events and snapshots older than the one before it ({@link JournalCleanup}):
 * two snapshots are kept, and the events from the older one on.
 *
 * <p>What a snapshot holds besides the messages while it is written is counted in the engine's
 * memory accounting ({@link JournalMemory}) and given back once the store answers. A write's
 * serialized form is not held here: the queue reserves it with the publishes the write carries
 * (so that it is refused with them when it does not fit) and gives it back when the write completes.
 */
public final class QueueJournal extends AbstractBehavior<QueueJournal.Command> {

  /**
   * What the journal understands. Only its queue sends these, the parent it runs beside on one
   * node, so they never cross the network (a write carries the queue's messages as they are).
   */
  public interface Command extends NoSerializationVerificationNeeded {}

  /**
   * Journal {@code event}; answered with {@link Written} once it is stored.
   *
   * @param epoch the recovery the queue last heard of ({@link Recovered#epoch}): a write from before
   *     the latest recovery is dropped, as that recovery settled it as not stored
   */
  public record Write(QueueEvent event, long epoch) implements Command {}

  /** To itself: writes held back by the {@link PauseFence} may go ahead now. */
  private enum FenceCheck implements Command {
    INSTANCE
  }

  /** To itself: the backoff after a failure passed; read the journal back. */
  private enum RecoverAgain implements Command {
    INSTANCE
  }

  /** Snapshots from now on are encrypted under {@code keyId}: the queue's key was rotated. */
  public record UseKey(String keyId) implements Command {}

  /** A reply of the journal or snapshot store plugin, or of a {@link JournalReplay}. */
  private record Response(Object response) implements Command {}

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
   * @param epoch this recovery: the writes the queue sends from now on carry it
   */
  public record Recovered(long lastWriteId, long lastSequence, List<Message> messages,
      List<QueueEvent.ConsumerRecord> consumers, Map<String, ConsumerPosition> positions,
      List<QueueSnapshot.DedupEntry> dedup, long sealedThrough, long freedBelow, long[] removedSealed, long epoch)
      implements Reply {

    /** What a journal that stores no segments recovered, in epoch 0. */
    public Recovered(long lastWriteId, long lastSequence, List<Message> messages,
        List<QueueEvent.ConsumerRecord> consumers, Map<String, ConsumerPosition> positions,
        List<QueueSnapshot.DedupEntry> dedup) {
      this(lastWriteId, lastSequence, messages, consumers, positions, dedup, 0, 0, new long[0], 0);
    }

    /** What a journal recovered, in epoch 0. */
    public Recovered(long lastWriteId, long lastSequence, List<Message> messages,
        List<QueueEvent.ConsumerRecord> consumers, Map<String, ConsumerPosition> positions,
        List<QueueSnapshot.DedupEntry> dedup, long sealedThrough, long freedBelow, long[] removedSealed) {
      this(lastWriteId, lastSequence, messages, consumers, positions, dedup, sealedThrough, freedBelow,
          removedSealed, 0);
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

  /** A write failed; the journal reads itself back after a backoff and then tells what it holds ({@link Recovered}). */
  public record WriteFailed(Throwable cause) implements Reply {}

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
    return Behaviors.setup(context -> Behaviors.withTimers(timers -> new QueueJournal(context, timers,
        persistenceId(queue, incarnation), settings, new JournalState(dedupWindow.toMillis(), dedupMaxEntries), keyId,
        memory, replyTo)));
  }

  /** The persistence id of a queue's journal. */
  public static PersistenceId persistenceId(String queue, String incarnation) {
    // '~' is not allowed in queue names, so the id cannot collide with another queue's
    return PersistenceId.of("spool-queue", queue + "~" + incarnation);
  }

  /** A write handed to the journal plugin and not answered yet. */
  private record InFlight(long sequenceNr, QueueEvent event) {}

  private final ActorContext<Command> context;
  private final TimerScheduler<Command> timers;
  private final String persistenceId;
  private final SpoolSettings.Persistence settings;
  private final ActorRef<Reply> replyTo;
  private final JournalMemory memory;
  private final SnapshotSchedule schedule;
  private final JournalCleanup cleanup;
  private final PauseFence.Gate fence;
  private final org.apache.pekko.actor.ActorRef journal;
  private final org.apache.pekko.actor.ActorRef snapshotStore;
  /** Where the plugins and readings back answer: this actor, through one adapter. */
  private final ActorRef<Object> responses;
  private final org.apache.pekko.actor.ActorRef self;
  private final Duration replayQuietFor;
  /** The empty state every reading back starts from; never changed. */
  private final JournalState empty;
  /** What the journal holds up to its last stored write, while it runs; null while it reads itself back. */
  private JournalState state;
  /** The key snapshots are encrypted under, or {@code null}; events carry their own. */
  private String keyId;
  /** This recovery: writes of another are dropped. */
  private long epoch;
  /** Tells this recovery's write answers from those of writes handed out before it. */
  private int instanceId;
  private String writerUuid;
  /** The highest sequence number handed out. */
  private long sequenceNr;
  private final ArrayDeque<InFlight> inFlight = new ArrayDeque<>();
  /** Write requests handed to the plugin and not answered as a whole yet. */
  private int unansweredBatches;
  /** A write failed since the last recovery: answers to later ones say nothing until the next. */
  private boolean failed;
  /** Writes held back by the pause fence, in order; at most the queue's writes in flight. */
  private final List<Write> held = new ArrayList<>();
  /** Failures in a row without a write stored, for the backoff before reading back again. */
  private int failures;
  /** Bytes held in the memory accounting for a snapshot under way; 0 for none. */
  private long heldForSnapshot;
  private boolean snapshotting;
  /** The sequence number of the last snapshot stored since this journal started; 0 for none. */
  private long lastSnapshot;

  private QueueJournal(ActorContext<Command> context, TimerScheduler<Command> timers, PersistenceId id,
      SpoolSettings.Persistence settings, JournalState empty, String keyId, JournalMemory memory,
      ActorRef<Reply> replyTo) {
    super(context);
    this.context = context;
    this.timers = timers;
    this.persistenceId = id.id();
    this.settings = settings;
    this.empty = empty;
    this.keyId = keyId;
    this.replyTo = replyTo;
    this.memory = memory;
    this.fence = new PauseFence.Gate(PauseFence.get(context.getSystem()));
    this.schedule = new SnapshotSchedule(settings.snapshotEvery(), settings.snapshotAfterBytes(),
        settings.snapshotCopies(), memory);
    this.responses = context.messageAdapter(Object.class, Response::new);
    this.self = Adapter.toClassic(responses);
    this.cleanup = new JournalCleanup(context.getSystem(), persistenceId, settings, responses);
    Persistence persistence = Persistence.get(Adapter.toClassic(context.getSystem()));
    this.journal = persistence.journalFor(settings.journalPluginId(), ConfigFactory.empty());
    this.snapshotStore = persistence.snapshotStoreFor(settings.snapshotPluginId(), ConfigFactory.empty());
    this.replayQuietFor = replayQuietFor(context.getSystem().settings().config(), settings.journalPluginId());
    recover();
  }

  /** The journal plugin's {@code recovery-event-timeout}: how long a reading back may go without a reply. */
  private static Duration replayQuietFor(Config config, String journalPluginId) {
    String own = journalPluginId + ".recovery-event-timeout";
    return config.hasPath(own) ? config.getDuration(own)
        : config.getDuration("pekko.persistence.journal-plugin-fallback.recovery-event-timeout");
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Write.class, this::onWrite)
        .onMessage(Response.class, r -> onResponse(r.response()))
        .onMessageEquals(FenceCheck.INSTANCE, this::onFenceCheck)
        .onMessageEquals(RecoverAgain.INSTANCE, () -> {
          recover();
          return this;
        })
        .onMessage(UseKey.class, use -> {
          keyId = use.keyId();
          return this;
        })
        .onSignal(PostStop.class, stop -> {
          releaseSnapshot();
          return this;
        })
        .build();
  }

  // ---- reading back

  private void recover() {
    state = null;
    failed = false;
    inFlight.clear();
    held.clear();
    epoch = ThreadLocalRandom.current().nextLong();
    instanceId = ThreadLocalRandom.current().nextInt();
    writerUuid = UUID.randomUUID().toString();
    var fold = new JournalReplay.Fold<JournalState>() {
      @Override
      public JournalState empty() {
        return QueueJournal.this.empty.fresh();
      }

      @Override
      public JournalState fromSnapshot(Object snapshot) {
        return QueueJournal.this.empty.of((QueueSnapshot) snapshot);
      }

      @Override
      public void apply(JournalState s, Object event) {
        s.replay((QueueEvent) event);
      }
    };
    context.spawnAnonymous(JournalReplay.create(persistenceId, journal, snapshotStore, fold, replayQuietFor, responses));
  }

  @SuppressWarnings("unchecked")
  private void onReplayed(JournalReplay.Replayed<?> replayed) {
    state = ((JournalReplay.Replayed<JournalState>) replayed).state();
    sequenceNr = replayed.highestSequenceNr();
    releaseSnapshot(); // a snapshot answered before the failure is no longer this journal's concern
    replyTo.tell(new Recovered(state.lastWriteId, state.lastSequence, state.live(),
        List.copyOf(state.consumers.values()), Map.copyOf(state.positions), List.copyOf(state.dedup.values()),
        state.sealedThrough, state.freedBelow, state.removedSealed(), epoch));
  }

  private void onReplayFailed(Throwable cause) {
    // At DEBUG: the queue reports it to the manager, which logs it once, not once per retry.
    context.getLog().debug("journal {} could not be read; retrying: {}", persistenceId, cause.toString());
    replyTo.tell(new Unavailable(cause));
    timers.startSingleTimer(RecoverAgain.INSTANCE, backoff());
  }

  /** The wait before reading back again: doubling from the minimum to the maximum, with 20 % jitter. */
  private Duration backoff() {
    long min = settings.restartMinBackoff().toMillis();
    long max = settings.restartMaxBackoff().toMillis();
    long base = Math.min(max, min << Math.min(failures++, 20));
    return Duration.ofMillis(Math.max(1, (long) (base * (1 + 0.2 * ThreadLocalRandom.current().nextDouble()))));
  }

  // ---- writing

  private Behavior<Command> onWrite(Write write) {
    if (state == null || failed || write.epoch() != epoch) {
      // Reading back, or failed: the next recovery settles this write as not stored; nothing stores it.
      return this;
    }
    if (!held.isEmpty() || writesHeld()) {
      held.add(write);
      return this;
    }
    send(write.event());
    return this;
  }

  private Behavior<Command> onFenceCheck() {
    if (!fence.checked(this::checkFenceIn)) {
      List<Write> go = List.copyOf(held);
      held.clear();
      go.forEach(this::onWrite);
    }
    return this;
  }

  /**
   * Whether writes must wait now ({@link PauseFence}): if so, they are held and a check is
   * scheduled for when the fence may have opened; meanwhile the queue sees its writes under way, as
   * with a slow journal.
   */
  private boolean writesHeld() {
    return fence.held(this::checkFenceIn);
  }

  private void checkFenceIn(Duration delay) {
    timers.startSingleTimer(FenceCheck.INSTANCE, delay);
  }

  private void send(QueueEvent event) {
    long tail = inFlight.isEmpty() ? state.lastWriteId : inFlight.peekLast().event().writeId();
    if (!event.follows(tail)) {
      writeFailed(new IllegalStateException("write " + event.writeId() + " of " + persistenceId + " follows write "
          + event.follows() + ", but the last write is " + tail));
      return;
    }
    long seq = ++sequenceNr;
    PersistentRepr repr = PersistentRepr$.MODULE$.apply(event, seq, persistenceId, "", false, null, writerUuid)
        .withTimestamp(System.currentTimeMillis());
    List<PersistentEnvelope> writes = List.of(AtomicWrite.apply(repr));
    journal.tell(new JournalProtocol.WriteMessages(CollectionConverters.asScala(writes).toList(), self, instanceId),
        self);
    inFlight.addLast(new InFlight(seq, event));
    unansweredBatches++;
  }

  private Behavior<Command> onResponse(Object response) {
    if (response instanceof JournalProtocol.WriteMessageSuccess success) {
      if (success.actorInstanceId() == instanceId && !failed) {
        stored(success.persistent().sequenceNr());
      }
    } else if (response instanceof JournalProtocol.WriteMessageRejected rejected) {
      if (rejected.actorInstanceId() == instanceId) {
        writeFailed(rejected.cause());
      }
    } else if (response instanceof JournalProtocol.WriteMessageFailure failure) {
      if (failure.actorInstanceId() == instanceId) {
        writeFailed(failure.cause());
      }
    } else if (response == JournalProtocol.WriteMessagesSuccessful$.MODULE$) {
      batchAnswered();
    } else if (response instanceof JournalProtocol.WriteMessagesFailed failure) {
      writeFailed(failure.cause());
      batchAnswered();
    } else if (response instanceof JournalReplay.Replayed<?> replayed) {
      onReplayed(replayed);
    } else if (response instanceof JournalReplay.Failed replayFailed) {
      onReplayFailed(replayFailed.cause());
    } else if (response instanceof SaveSnapshotSuccess saved) {
      snapshotStored(saved.metadata().sequenceNr());
    } else if (response instanceof SaveSnapshotFailure notSaved) {
      releaseSnapshot();
      context.getLog().warn("journal {}: snapshot failed (recovery reads more events until the next one succeeds): {}",
          persistenceId, notSaved.cause().toString());
    } else {
      cleanup.onResponse(response, context.getLog());
    }
    return this;
  }

  /** The oldest write under way is stored: it applies, the queue is told, a snapshot may follow. */
  private void stored(long storedSequenceNr) {
    InFlight oldest = inFlight.pollFirst();
    if (oldest == null || oldest.sequenceNr() != storedSequenceNr) {
      writeFailed(new IllegalStateException("the journal of " + persistenceId + " answered write sequence number "
          + storedSequenceNr + " out of order"));
      return;
    }
    failures = 0;
    state.apply(oldest.event());
    replyTo.tell(new Written(oldest.event().writeId()));
    maybeSnapshot(storedSequenceNr);
  }

  /**
   * A write failed or was rejected: the queue is told once; the writes under way after it are
   * settled by the recovery that follows the answers to all of them.
   */
  private void writeFailed(Throwable cause) {
    if (failed) {
      return;
    }
    failed = true;
    held.clear();
    replyTo.tell(new WriteFailed(cause));
    if (unansweredBatches == 0) {
      timers.startSingleTimer(RecoverAgain.INSTANCE, backoff());
    }
  }

  private void batchAnswered() {
    unansweredBatches--;
    if (failed && unansweredBatches == 0) {
      // Nothing of this journal's is under way at the plugin any more: reading back now sees it all.
      timers.startSingleTimer(RecoverAgain.INSTANCE, backoff());
    }
  }

  // ---- snapshots

  private void maybeSnapshot(long atSequenceNr) {
    if (snapshotting) {
      return; // the next write decides again once this one is answered
    }
    SnapshotSchedule.Decision decision = schedule.afterWrite(state.eventsSinceSnapshot, state.bytesSinceSnapshot,
        state.snapshotBytes());
    switch (decision) {
      case TAKE -> {
        heldForSnapshot = schedule.lastCost();
        snapshotting = true;
        state.eventsSinceSnapshot = 0; // this state is the one the snapshot holds
        state.bytesSinceSnapshot = 0;
        long postponed = schedule.takenAfterPostponing();
        if (postponed > 0) {
          context.getLog().info("journal {}: snapshot of {} bytes taken after {} postponed writes",
              persistenceId, state.snapshotBytes(), postponed);
        }
        // A copy: the store serializes it on another thread while this actor goes on.
        snapshotStore.tell(new SnapshotProtocol.SaveSnapshot(
            new SnapshotMetadata(persistenceId, atSequenceNr, System.currentTimeMillis()), state.snapshot(keyId)), self);
      }
      case POSTPONE -> context.getLog().warn("journal {}: snapshot postponed: writing its {} bytes needs {} bytes of "
              + "heap, more than is free now; events are kept (not deleted) until a snapshot fits",
          persistenceId, state.snapshotBytes(), schedule.cost(state.snapshotBytes()));
      default -> { }
    }
  }

  private void snapshotStored(long atSequenceNr) {
    releaseSnapshot();
    context.getLog().debug("journal {}: snapshot at sequenceNr {} saved", persistenceId, atSequenceNr);
    if (lastSnapshot > 0) {
      cleanup.deleteBefore(lastSnapshot);
    }
    lastSnapshot = atSequenceNr;
  }

  private void releaseSnapshot() {
    memory.releaseHeld(heldForSnapshot);
    heldForSnapshot = 0;
    snapshotting = false;
  }
}
