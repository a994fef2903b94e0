package dev.spool.actor;

import dev.spool.JournalHealth;
import dev.spool.QueueSettings;
import dev.spool.SpoolException;
import dev.spool.SpoolSettings;
import dev.spool.durable.QueueJournal;
import dev.spool.storage.KeyRing;
import dev.spool.storage.SegmentRow;
import dev.spool.storage.SegmentStorage;
import dev.spool.storage.TieredStorage;
import java.time.Duration;
import java.util.List;
import dev.spool.queue.Recovery;
import java.time.Clock;
import java.util.function.Supplier;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.StashBuffer;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * A durable {@link QueueActor} until its journal is read: commands wait (bounded) and run once it
 * is. Once a read fails, what waited and what comes is refused with {@code JournalUnavailable} until
 * a read succeeds, so that nothing a caller gave up on runs later. A queue that cannot be built from
 * what was read (too large for the memory threshold, or a broken journal) refuses every command
 * from then on; the other queues are not held up.
 */
final class RecoveringQueue extends AbstractBehavior<QueueActor.Command> {

  /** Makes the queue once its journal is read. */
  interface QueueFactory {
    QueueActor create(ActorContext<QueueActor.Command> context, ActorRef<QueueJournal.Command> journal,
        TimerScheduler<QueueActor.Command> timers);
  }

  /** Commands a durable queue holds while it recovers; more are refused with Timeout. */
  private static final int RECOVERY_STASH = 10_000;

  /** How long a failed listing of the queue's stored segments waits before it is tried again. */
  private static final Duration LIST_RETRY = Duration.ofSeconds(1);

  /**
   * The queue's stored segment rows were listed (without data), or {@code failure}: piped to itself
   * with the recovered state, never sent over the network.
   */
  private record RowsListed(QueueJournal.Recovered recovered, List<SegmentRow> rows, Throwable failure)
      implements QueueActor.Command, NoSerializationVerificationNeeded {}

  /** A failed listing's backoff passed. */
  private record ListAgain(QueueJournal.Recovered recovered)
      implements QueueActor.Command, NoSerializationVerificationNeeded {} // its own timer: never remote

  /**
   * A durable queue: spawns its journal (journal {@code incarnation} of {@code name}) and holds its
   * commands until the journal is read, then restores the queue {@code factory} makes.
   */
  static Behavior<QueueActor.Command> create(String name, QueueSettings queueSettings, SpoolSettings settings,
      MemoryMonitor memory, ActorRef<QueueManager.Command> manager, String incarnation, QueueFactory factory) {
    return Behaviors.withStash(RECOVERY_STASH, stash -> Behaviors.withTimers(timers -> Behaviors.setup(context -> {
      ActorRef<QueueJournal.Reply> replies =
          context.messageAdapter(QueueJournal.Reply.class, QueueActor.JournalReply::new);
      // A failed write or reading back it retries itself after a backoff; anything thrown restarts it with one too.
      ActorRef<QueueJournal.Command> journal = context.spawn(
          Behaviors.supervise(QueueJournal.create(name, incarnation, settings.persistence(),
                  queueSettings.dedupWindow(), settings.dedupMaxEntries(), queueSettings.encryptionKeyId(), memory,
                  replies))
              .onFailure(SupervisorStrategy.restartWithBackoff(settings.persistence().restartMinBackoff(),
                  settings.persistence().restartMaxBackoff(), 0.2)),
          "journal");
      SegmentStorage storage = TieredStorage.get(context.getSystem()).storage().orElse(null);
      return new RecoveringQueue(context, stash, () -> factory.create(context, journal, timers), manager, name,
          settings.clock(), storage, QueueJournal.persistenceId(name, incarnation).id(), timers, journal,
          settings.segmentSize());
    })));
  }

  private final StashBuffer<QueueActor.Command> stash;
  private final Supplier<QueueActor> queue;
  private final ActorRef<QueueManager.Command> manager;
  private final String name;
  private final Clock clock;
  private final JournalCondition condition;
  private final long started = System.nanoTime();
  private final SegmentStorage storage;
  private final String storageId;
  private final TimerScheduler<QueueActor.Command> timers;
  private final ActorRef<QueueJournal.Command> journal;
  private final int segmentSize;

  /** @param queue the queue to restore once the journal is read */
  private RecoveringQueue(ActorContext<QueueActor.Command> context, StashBuffer<QueueActor.Command> stash,
      Supplier<QueueActor> queue, ActorRef<QueueManager.Command> manager, String name, Clock clock,
      SegmentStorage storage, String storageId, TimerScheduler<QueueActor.Command> timers,
      ActorRef<QueueJournal.Command> journal, int segmentSize) {
    super(context);
    context.setLoggerName(RecoveringQueue.class);
    this.stash = stash;
    this.queue = queue;
    this.manager = manager;
    this.name = name;
    this.clock = clock;
    this.storage = storage;
    this.storageId = storageId;
    this.timers = timers;
    this.journal = journal;
    this.segmentSize = segmentSize;
    this.condition = new JournalCondition(JournalHealth.State.RECOVERING, "reading the journal", clock.instant());
  }

  @Override
  public Receive<QueueActor.Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(QueueActor.JournalReply.class, this::onJournalReply)
        .onMessage(RowsListed.class, this::onRowsListed)
        .onMessage(ListAgain.class, again -> listRows(again.recovered()))
        .onAnyMessage(this::onCommand)
        .build();
  }

  private Behavior<QueueActor.Command> onCommand(QueueActor.Command command) {
    if (condition.state() != JournalHealth.State.RECOVERING) {
      refuse(command, condition.refusal(name));
    } else if (stash.isFull()) {
      refuse(command, new SpoolException.Timeout("queue '" + name + "' is still recovering from its journal"));
    } else {
      stash.stash(command);
    }
    return this;
  }

  private Behavior<QueueActor.Command> onJournalReply(QueueActor.JournalReply reply) {
    if (reply.reply() instanceof QueueJournal.Recovered recovered) {
      return storage == null ? restore(recovered, List.of()) : listRows(recovered);
    }
    if (reply.reply() instanceof QueueJournal.Unavailable unavailable
        && keyMissing(unavailable.cause()) instanceof SpoolException.EncryptionKeyMissing missing) {
      // Reading again cannot help: the key comes only with a restart on another configuration.
      getContext().stop(journal);
      return broken(missing);
    }
    if (reply.reply() instanceof QueueJournal.Unavailable unavailable) {
      // The journal retries after its backoff; the manager logs and reports the failure.
      if (condition.moveTo(JournalHealth.State.UNAVAILABLE, JournalCondition.describe(unavailable.cause()),
          clock.instant())) {
        manager.tell(new QueueManager.JournalStateChanged(name, getContext().getSelf(), condition.problem(name)));
      }
      SpoolException refusal = condition.refusal(name);
      stash.forEach(command -> refuse(command, refusal));
      stash.clear();
    }
    return this;
  }

  /** Lists the queue's stored segments (their indexes, not their data): the backlog that is not in the journal. */
  private Behavior<QueueActor.Command> listRows(QueueJournal.Recovered recovered) {
    getContext().pipeToSelf(storage.list(storageId), (rows, failure) -> new RowsListed(recovered, rows, failure));
    return this;
  }

  private Behavior<QueueActor.Command> onRowsListed(RowsListed listed) {
    if (listed.failure() == null) {
      KeyRing keys = KeyRing.get(getContext().getSystem());
      QueueJournal.Recovered recovered = listed.recovered();
      for (SegmentRow row : listed.rows()) {
        // only rows recovery reads: not garbage below the freed point or past the sealed one
        boolean read = (row.segment() + 1) * segmentSize <= recovered.sealedThrough()
            && (row.segment() + 1) * segmentSize >= recovered.freedBelow() && row.count() > 0;
        if (read && row.keyId() != null && !keys.contains(row.keyId())) {
          // Found now, not when a consumer reaches the segment: the queue cannot serve all it holds.
          getContext().stop(journal);
          return broken(new SpoolException.EncryptionKeyMissing(row.keyId()));
        }
      }
      return restore(listed.recovered(), listed.rows());
    }
    if (condition.moveTo(JournalHealth.State.UNAVAILABLE, "its stored segments could not be listed: "
        + JournalCondition.describe(listed.failure()), clock.instant())) {
      manager.tell(new QueueManager.JournalStateChanged(name, getContext().getSelf(), condition.problem(name)));
    }
    SpoolException refusal = condition.refusal(name);
    stash.forEach(command -> refuse(command, refusal));
    stash.clear();
    timers.startSingleTimer(ListAgain.class, new ListAgain(listed.recovered()), LIST_RETRY);
    return this;
  }

  private Behavior<QueueActor.Command> restore(QueueJournal.Recovered recovered, List<SegmentRow> rows) {
    QueueActor q = queue.get();
    try {
      q.restore(recovered, rows, System.nanoTime() - started);
    } catch (RuntimeException e) {
      return broken(e);
    }
    manager.tell(new QueueManager.QueueRecovered(name, getContext().getSelf()));
    return stash.unstashAll(q);
  }

  /** The missing encryption key that failed a journal read, anywhere in {@code cause}'s chain, or null. */
  private static SpoolException keyMissing(Throwable cause) {
    for (Throwable t = cause; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof SpoolException.EncryptionKeyMissing missing) {
        return missing;
      }
    }
    return null;
  }

  /**
   * Not resumed into recovery (the journal's one answer is spent): the queue answers every command
   * with this error, and the other queues are not held up.
   */
  private Behavior<QueueActor.Command> broken(RuntimeException e) {
    if (e instanceof Recovery.Refused) {
      getContext().getLog().error(e.getMessage()); // expected, and said in full: no stack trace
    } else if (e instanceof SpoolException.EncryptionKeyMissing) {
      getContext().getLog().error("queue {} is not started and refuses every command: {}", name, e.getMessage());
    } else {
      getContext().getLog().error("queue {} could not be recovered from its journal; it refuses every command",
          name, e);
    }
    manager.tell(new QueueManager.QueueRecovered(name, getContext().getSelf()));
    condition.moveTo(JournalHealth.State.UNAVAILABLE, "could not be recovered: " + JournalCondition.describe(e),
        clock.instant());
    manager.tell(new QueueManager.JournalStateChanged(name, getContext().getSelf(), condition.problem(name)));
    // A queue too large for the heap says so: retrying soon will not help, a restart with more will.
    SpoolException refusal = e instanceof Recovery.Refused
        ? new SpoolException.JournalUnavailable(e.getMessage())
        : e instanceof SpoolException.EncryptionKeyMissing
            ? new SpoolException.JournalUnavailable("queue '" + name + "' cannot be read: " + e.getMessage())
            : condition.refusal(name);
    return stash.unstashAll(Behaviors.receiveMessage(command -> refused(command, refusal)));
  }

  private static Behavior<QueueActor.Command> refused(QueueActor.Command command, SpoolException e) {
    refuse(command, e);
    return Behaviors.same();
  }

  private static void refuse(QueueActor.Command command, SpoolException e) {
    if (command instanceof Request<?> request) {
      Request.fail(request, e);
    } else if (command instanceof QueueActor.ToConsumer toConsumer
        && toConsumer.command() instanceof Request<?> request) {
      Request.fail(request, e);
    }
  }
}
