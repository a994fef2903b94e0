package dev.spool.actor;

import dev.spool.Created;
import dev.spool.Durability;
import dev.spool.JournalHealth;
import dev.spool.Names;
import dev.spool.QueueInfo;
import dev.spool.QueueSettings;
import dev.spool.SpoolEvent;
import dev.spool.SpoolException;
import dev.spool.SpoolSettings;
import dev.spool.durable.JournalCleanup;
import dev.spool.durable.QueueJournal;
import dev.spool.durable.QueueRegistry;
import dev.spool.durable.RegistryEvent;
import dev.spool.durable.WriterLock;
import dev.spool.queue.Partitions;
import dev.spool.storage.DiskAlarm;
import dev.spool.storage.TieredStorage;
import java.time.Duration;
import java.util.Comparator;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.pattern.StatusReply;

/**
 * Owns the queues: creates, finds and deletes them, and routes every command for a queue to it by
 * name ({@link ToQueue}), as a cluster sharding region would, and every operation over all queues to
 * its child {@link Janitor} ({@link ToJanitor}). The {@code default} queue always exists. The
 * {@link MemoryMonitor} it shares with the queues holds their retained bytes against the global
 * threshold; {@link DurableQueues} keeps its account of the durable ones (registry, recovery,
 * readiness, journal health), and {@link ManagerStartup} is how it behaves until their registry is read.
 *
 * @since 0.1.0
 */
public final class QueueManager extends AbstractBehavior<QueueManager.Command> {

  /** Everything the manager understands. */
  public interface Command {}

  /** Create a queue; idempotent for equal settings. */
  public record CreateQueue(String name, QueueSettings settings, ActorRef<StatusReply<Created<QueueInfo>>> replyTo)
      implements Command, RegistryWrites.Creation {}

  /** Delete a queue with its messages and consumers. */
  public record DeleteQueue(String name, ActorRef<StatusReply<Done>> replyTo) implements Command, Request<Done> {}

  /** Describe every queue, by name. */
  public record ListQueues(ActorRef<StatusReply<List<QueueInfo>>> replyTo)
      implements Command, Request<List<QueueInfo>> {}

  /** Route {@code command} to the named queue (answering {@code QueueNotFound} if there is none). */
  public record ToQueue(String queue, QueueActor.Command command) implements Command {}

  /**
   * The actor of the queue {@code queue}, for the facade in this JVM to publish to it straight, so
   * that publishes to different queues do not pass one after another through the manager. Fails
   * with {@code QueueNotFound} for a name that is no queue (a partition's included) and with
   * {@code ShuttingDown} once publishes are refused: the facade then goes through {@link ToQueue}.
   * A reference to a queue deleted since is answered by {@link Undelivered}.
   */
  public record Locate(String queue, ActorRef<StatusReply<ActorRef<QueueActor.Command>>> replyTo)
      implements Command, Request<ActorRef<QueueActor.Command>>, NoSerializationVerificationNeeded {}

  /**
   * From a {@link PartitionedQueue} in this JVM: route {@code command} to its partition
   * {@code partition}, which takes from outside only what reads it ({@link PartitionedQueue#readsOnly}).
   */
  record ToPartition(String partition, QueueActor.Command command)
      implements Command, NoSerializationVerificationNeeded {}

  /** Stop every queue and the manager. */
  public record Stop(ActorRef<StatusReply<Done>> replyTo) implements Command, Request<Done> {}

  /**
   * Route {@code command} to the {@link Janitor}: the operations over every queue (garbage
   * collection, memory, lag, stale consumers).
   */
  public record ToJanitor(Janitor.Command command) implements Command {}

  /**
   * Begin a graceful shutdown: refuse publishes from now on ({@code ShuttingDown}), stop delivering,
   * and answer once handler calls in flight have finished or {@code timeout} passed.
   */
  public record Drain(Duration timeout, ActorRef<StatusReply<ConsumerActor.DrainResult>> replyTo)
      implements Command, Request<ConsumerActor.DrainResult> {}

  private record DrainQueues(Duration timeout, ActorRef<StatusReply<ConsumerActor.DrainResult>> replyTo)
      implements Command {}

  private record Drained(ConsumerActor.DrainResult result, Throwable failure,
      ActorRef<StatusReply<ConsumerActor.DrainResult>> replyTo)
      implements Command, NoSerializationVerificationNeeded {} // piped to itself (a Throwable), never remote

  private record QueueTerminated(String name, ActorRef<QueueActor.Command> ref) implements Command {}

  /** From a durable queue: its journal is read and it serves commands. */
  record QueueRecovered(String name, ActorRef<QueueActor.Command> ref) implements Command {}

  /** From a durable queue: its journal's state changed ({@code problem} is {@code null} once it writes). */
  record JournalStateChanged(String name, ActorRef<QueueActor.Command> ref, JournalHealth.Problem problem)
      implements Command {}

  /**
   * The journals that cannot write now (the registry of durable queues and each durable queue's),
   * answered from the manager's current view: cheap enough for frequent health probes.
   */
  public record GetJournalHealth(ActorRef<StatusReply<JournalHealth>> replyTo)
      implements Command, Request<JournalHealth> {}

  record RegistryReply(QueueRegistry.Reply reply) implements Command {}

  /**
   * Another node took the database's writer lock: every queue stops at once, as two writers would
   * corrupt the journal. From the engine in this JVM, never remote.
   */
  public record WriterLockLost(SpoolException reason) implements Command, NoSerializationVerificationNeeded {}

  // Piped to itself (a Throwable), never remote.
  private record Defined(String name, Throwable failure) implements Command, NoSerializationVerificationNeeded {}

  private record Flushed(Stop stop) implements Command {}

  // Piped to itself (a Throwable), never remote.
  private record Removed(DeleteQueue delete, Throwable failure) implements Command, NoSerializationVerificationNeeded {}

  /**
   * A reply that arrived through this actor's own ask, passed on to the original asker: told to
   * itself, never over the network (the asker receives the StatusReply itself).
   */
  private record Answer<T>(StatusReply<T> reply, ActorRef<StatusReply<T>> replyTo)
      implements Command, NoSerializationVerificationNeeded {
    void deliver() {
      replyTo.tell(reply);
    }
  }

  /**
   * A queue: a {@link QueueActor}, or for a partitioned queue the {@link PartitionedQueue} in front
   * of its partitions, which are entries of their own ({@code name#p}).
   *
   * @param durable a durable queue's journal identity, {@code null} for a transient queue
   */
  private record Entry(ActorRef<QueueActor.Command> ref, QueueSettings settings, QueueActor.Durable durable) {
    /** Whether it holds messages: a queue or a partition, not the front of a partitioned queue. */
    boolean holdsMessages() {
      return !settings.partitioned();
    }
  }

  // Piped to itself (its own entry, a Throwable), never remote.
  private record Rotated(CreateQueue create, Entry entry, Throwable failure)
      implements Command, NoSerializationVerificationNeeded {}

  /**
   * The manager with its default queue; with a journal configured, it first reads the registry of
   * durable queues and brings each back.
   *
   * @param version the engine's version, which the {@code Started} event carries
   * @param ready completed once every durable queue found at start is recovered
   * @param writerLock the database's writer lock, which the registry of durable queues waits for
   *     before it is read; {@code null} for none
   */
  public static Behavior<Command> create(SpoolSettings settings, String version, CompletableFuture<Done> ready,
      WriterLock writerLock) {
    if (!settings.persistence().enabled()) {
      return Behaviors.setup(context -> new QueueManager(context, settings, version, null, ready));
    }
    return Behaviors.withStash(ManagerStartup.STASH, stash -> Behaviors.setup(context -> {
      ActorRef<QueueRegistry.Reply> replies = context.messageAdapter(QueueRegistry.Reply.class, RegistryReply::new);
      ActorRef<QueueRegistry.Command> registry = context.spawn(
          Behaviors.supervise(WriterLockGate.registry(writerLock, replies,
                  QueueRegistry.create(settings.persistence().registry(), settings.persistence(), replies)))
              .onFailure(SupervisorStrategy.restartWithBackoff(settings.persistence().restartMinBackoff(),
                  settings.persistence().restartMaxBackoff(), 0.2)),
          "registry");
      QueueManager manager = new QueueManager(context, settings, version, registry, ready);
      return ManagerStartup.behavior(manager, manager.durable, stash);
    }));
  }

  private final SpoolSettings settings;
  private final Map<String, Entry> queues = new HashMap<>();
  private final MemoryMonitor memory;
  private final ActorRef<Janitor.Command> janitor;
  private long incarnations;
  /** Deleted durable queues whose deletion the registry has yet to store, by name: their journals, purged then. */
  private final Map<String, List<String>> purges = new HashMap<>();
  /** Set by {@link Drain}: publishes and new queues are refused. */
  private boolean shuttingDown;
  private ConsumerActor.DrainResult drained = new ConsumerActor.DrainResult(0, 0);
  /** The registry of durable queues, or {@code null} without a journal. */
  private final ActorRef<QueueRegistry.Command> registry;
  private final DurableQueues<CreateQueue> durable;
  private final RegistryWrites<CreateQueue, Command> writes;

  private QueueManager(ActorContext<Command> context, SpoolSettings settings, String version,
      ActorRef<QueueRegistry.Command> registry, CompletableFuture<Done> ready) {
    super(context);
    context.setLoggerName(QueueManager.class);
    this.settings = settings;
    this.registry = registry;
    this.durable = new DurableQueues<>(registry != null, ready, settings.clock(), context.getLog());
    this.writes = new RegistryWrites<>(context, registry, durable, settings.askTimeout().multipliedBy(3), Defined::new);
    this.memory = new MemoryMonitor(settings.memoryThresholdBytes(),
        event -> Events.publish(context.getSystem(), event), settings.clock(), DiskAlarm.create(settings.disk()));
    this.janitor = context.spawn(Janitor.create(settings, memory), "janitor");
    context.spawn(Undelivered.create(context.getSelf()), "undelivered");
    memory.onPressure(() -> janitor.tell(Janitor.PressureBegan.INSTANCE));
    TieredStorage.get(context.getSystem()).storage().ifPresent(storage -> memory.countCache(storage::cachedBytes));
    spawnQueue(settings.defaultQueue(), QueueSettings.defaults(), null);
    Events.publish(context.getSystem(), new SpoolEvent.Started(settings.clock().instant(), version));
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(CreateQueue.class, this::onCreateQueue)
        .onMessage(DeleteQueue.class, this::onDeleteQueue)
        .onMessage(ListQueues.class, this::onListQueues)
        .onMessage(ToQueue.class, this::onToQueue)
        .onMessage(ToPartition.class, to -> route(to.partition(), to.command()))
        .onMessage(Locate.class, this::onLocate)
        .onMessage(QueueTerminated.class, this::onQueueTerminated)
        .onMessage(Answer.class, this::onAnswer)
        .onMessage(Stop.class, this::onStop)
        .onMessage(ToJanitor.class, this::onToJanitor)
        .onMessage(Drain.class, this::onDrain)
        .onMessage(DrainQueues.class, this::onDrainQueues)
        .onMessage(Drained.class, this::onDrained)
        .onMessage(QueueRecovered.class, this::onQueueRecovered)
        .onMessage(Flushed.class, flushed -> stopNow(flushed.stop()))
        .onMessage(Removed.class, this::onRemoved)
        .onMessage(Defined.class, this::onDefined)
        .onMessage(Rotated.class, this::onRotated)
        .onMessage(JournalStateChanged.class, this::onJournalStateChanged)
        .onMessage(GetJournalHealth.class, this::onGetJournalHealth)
        .onMessage(RegistryReply.class, this::onRegistryReply)
        .onMessage(WriterLockLost.class, this::onWriterLockLost)
        .build();
  }

  /** What the manager serves before its registry is read ({@link ManagerStartup}): the queues that exist, health, drain, stop. */
  boolean servesWhileStarting(Command command) {
    return command instanceof ToQueue toQueue ? queues.containsKey(toQueue.queue())
        : command instanceof Locate locate ? queues.containsKey(locate.queue())
        : command instanceof ToPartition toPartition ? queues.containsKey(toPartition.partition())
        : command instanceof GetJournalHealth || command instanceof Answer<?> || command instanceof Drain
            || command instanceof DrainQueues || command instanceof Drained || command instanceof Stop
            || command instanceof Flushed || command instanceof WriterLockLost;
  }

  // ---- durable queues

  void onRegistryRecovered(QueueRegistry.Recovered recovered) {
    Map<String, RegistryEvent.QueueDefined> found = recovered.queues();
    for (RegistryEvent.QueueDefined q : found.values()) {
      if (queues.containsKey(q.name())) {
        getContext().getLog().error("durable queue {} has the name of a queue that exists; it is not started", q.name());
        continue;
      }
      spawnQueue(q.name(), q.settings(), new QueueActor.Durable(q.incarnation(), q.idSeed()));
      if (q.settings().partitioned()) {
        new Partitions(q.name(), q.settings().partitions()).names().forEach(durable::recovering);
      } else {
        durable.recovering(q.name());
      }
    }
    durable.registryRead(found.size());
  }

  private Behavior<Command> onQueueRecovered(QueueRecovered recovered) {
    durable.recovered(recovered.name(), isCurrent(recovered.name(), recovered.ref()));
    return this;
  }

  /** After the registry's first read: a registry restart (what it read, this manager has) or a failed read. */
  Behavior<Command> onRegistryReply(RegistryReply reply) {
    if (reply.reply() instanceof QueueRegistry.Unavailable unavailable) {
      durable.registryUnavailable(unavailable.cause());
    } else {
      durable.registryAnswered();
    }
    return this;
  }

  private Behavior<Command> onWriterLockLost(WriterLockLost lost) {
    getContext().getLog().error("Spool stops every queue: {}", lost.reason().getMessage());
    return Behaviors.stopped();
  }

  private Behavior<Command> onJournalStateChanged(JournalStateChanged changed) {
    if (isCurrent(changed.name(), changed.ref())) {
      durable.journalState(changed.name(), changed.problem());
    }
    return this;
  }

  private Behavior<Command> onGetJournalHealth(GetJournalHealth get) {
    get.replyTo().tell(StatusReply.success(durable.health()));
    return this;
  }

  /** Whether {@code ref} is the queue {@code name} now (not one deleted since). */
  private boolean isCurrent(String name, ActorRef<QueueActor.Command> ref) {
    Entry entry = queues.get(name);
    return entry != null && entry.ref().equals(ref);
  }

  /** Whether {@code requested} differs from {@code known} only in naming another encryption key: a rotation. */
  static boolean rotatesKey(QueueSettings known, QueueSettings requested) {
    return known.encryptionKeyId() != null && requested.encryptionKeyId() != null
        && !known.encryptionKeyId().equals(requested.encryptionKeyId())
        && known.withEncryption(requested.encryptionKeyId()).equals(requested);
  }

  /**
   * Rotates a persistent queue's encryption key: the registry stores its definition with the new
   * key (same journal), then the queue writes under it; what was written before keeps its own key.
   */
  private void rotateKey(CreateQueue create, Entry existing) {
    writes.rotate(create, existing.durable().incarnation(), existing.durable().idSeed(),
        failure -> new Rotated(create, existing, failure));
  }

  private Behavior<Command> onRotated(Rotated rotated) {
    CreateQueue create = rotated.create();
    if (RegistryWrites.rotationFailed(create, create.name(), rotated.failure())) {
      return this;
    }
    Entry entry = queues.get(create.name());
    if (entry == null || entry.ref() != rotated.entry().ref()) {
      Request.fail(create, new SpoolException.QueueNotFound(create.name())); // deleted meanwhile
      return this;
    }
    queues.put(create.name(), new Entry(entry.ref(), create.settings(), entry.durable()));
    entry.ref().tell(new QueueActor.UseKey(create.settings().encryptionKeyId()));
    getContext().getLog().info("queue {}: encryption key rotated to {}", create.name(),
        create.settings().encryptionKeyId());
    answerWithInfo(entry.ref(), false, create.replyTo());
    return this;
  }

  private Behavior<Command> onDefined(Defined defined) {
    DurableQueues.Defining<CreateQueue> d = writes.stored(defined.name(), defined.failure());
    if (d == null) {
      return this;
    }
    RegistryEvent.QueueDefined q = d.definition();
    ActorRef<QueueActor.Command> ref = spawnQueue(q.name(), q.settings(),
        new QueueActor.Durable(q.incarnation(), q.idSeed()));
    created(q.name(), ref, q.settings());
    boolean first = true;
    for (CreateQueue c : d.waiting()) {
      answerWithInfo(ref, first, c.replyTo());
      first = false;
    }
    return this;
  }

  private Behavior<Command> onCreateQueue(CreateQueue create) {
    try {
      if (shuttingDown) {
        throw new SpoolException.ShuttingDown();
      }
      Names.requireValid("queue", create.name());
      requireSupported(create.name(), create.settings());
    } catch (SpoolException e) {
      Request.fail(create, e);
      return this;
    }
    DurableQueues.Defining<CreateQueue> pending = durable.defining(create.name());
    Entry existing = queues.get(create.name());
    if (pending != null || existing != null) { // idempotent for equal settings
      QueueSettings known = pending != null ? pending.definition().settings() : existing.settings();
      if (pending == null && rotatesKey(known, create.settings()) && existing.durable() != null) {
        rotateKey(create, existing);
      } else if (!known.equals(create.settings())) {
        Request.fail(create, new SpoolException.QueueAlreadyExists(create.name(), known, create.settings()));
      } else if (pending != null) {
        pending.waiting().add(create);
      } else {
        answerWithInfo(existing.ref(), false, create.replyTo());
      }
      return this;
    }
    boolean persistent = create.settings().durability() == Durability.PERSISTENT;
    QueueSettings.DeadLetter deadLetter = create.settings().deadLetter();
    if (deadLetter != null && !queues.containsKey(deadLetter.queue())
        && durable.defining(deadLetter.queue()) == null) {
      // A dead-letter queue that does not exist yet is created with defaults (durable for a durable
      // queue), so that nothing given up on has nowhere to go; create it first to choose its settings.
      QueueSettings dlq = QueueSettings.defaults().withDurability(create.settings().durability());
      if (persistent) {
        writes.define(deadLetter.queue(), dlq, null);
      } else {
        created(deadLetter.queue(), spawnQueue(deadLetter.queue(), dlq, null), dlq);
      }
    }
    if (persistent) {
      writes.define(create.name(), create.settings(), create);
      return this;
    }
    ActorRef<QueueActor.Command> ref = spawnQueue(create.name(), create.settings(), null);
    created(create.name(), ref, create.settings());
    answerWithInfo(ref, true, create.replyTo());
    return this;
  }

  private void created(String name, ActorRef<QueueActor.Command> ref, QueueSettings queueSettings) {
    getContext().getLog().info("queue {} created", name);
    Events.publish(getContext().getSystem(), new SpoolEvent.QueueCreated(settings.clock().instant(), name,
        queueSettings));
  }

  /** Settings Spool cannot honour are refused rather than silently ignored. */
  private void requireSupported(String name, QueueSettings s) {
    if (s.durability() == Durability.PERSISTENT && registry == null) {
      throw new SpoolException.InvalidConfiguration("persistent queues need a journal: set "
          + "spool.persistence.journal-plugin and snapshot-plugin (the Spool service uses an embedded SQLite journal)");
    }
    if (s.deadLetter() != null && s.deadLetter().queue().equals(name)) {
      throw new SpoolException.InvalidConfiguration("queue '" + name + "' cannot be its own dead-letter queue");
    }
  }

  /** Starts a queue; a partitioned one as its partitions, each a queue, and the front that speaks for them. */
  private ActorRef<QueueActor.Command> spawnQueue(String name, QueueSettings queueSettings,
      QueueActor.Durable durable) {
    if (!queueSettings.partitioned()) {
      return spawnOne(name, queueSettings, durable);
    }
    Partitions partitions = new Partitions(name, queueSettings.partitions());
    for (int p = 0; p < partitions.count(); p++) {
      spawnOne(partitions.name(p), queueSettings.partitionSettings(), durable == null ? null
          : new QueueActor.Durable(durable.incarnation(), Partitions.idSeed(durable.idSeed(), p)));
    }
    ActorRef<QueueActor.Command> front = getContext().spawn(
        Behaviors.supervise(PartitionedQueue.create(name, queueSettings, settings, getContext().getSelf()))
            .onFailure(SupervisorStrategy.resume()),
        "partitioned-" + name + "-" + (++incarnations));
    getContext().watchWith(front, new QueueTerminated(name, front));
    queues.put(name, new Entry(front, queueSettings, durable));
    return front;
  }

  private ActorRef<QueueActor.Command> spawnOne(String name, QueueSettings queueSettings,
      QueueActor.Durable durable) {
    // Resume, not restart: a restart would lose the log. A failure here is a bug in one command's
    // handling; the queue's data stays consistent because every handler validates before it writes.
    ActorRef<QueueActor.Command> ref = getContext().spawn(
        Behaviors.supervise(QueueActor.create(name, queueSettings, settings, memory, getContext().getSelf(), durable))
            .onFailure(SupervisorStrategy.resume()),
        "queue-" + name.replace(Partitions.SEPARATOR, '~') + "-" + (++incarnations));
    getContext().watchWith(ref, new QueueTerminated(name, ref));
    janitor.tell(new Janitor.Track(name, ref));
    queues.put(name, new Entry(ref, queueSettings, durable));
    return ref;
  }

  private void answerWithInfo(ActorRef<QueueActor.Command> queue, boolean created,
      ActorRef<StatusReply<Created<QueueInfo>>> replyTo) {
    getContext().askWithStatus(QueueInfo.class, queue, settings.askTimeout(), QueueActor.GetInfo::new,
        (info, failure) -> new Answer<>(
            failure == null ? StatusReply.success(new Created<>(info, created)) : StatusReply.error(failure),
            replyTo));
  }

  private Behavior<Command> onAnswer(Answer<?> answer) {
    answer.deliver();
    return this;
  }

  private Behavior<Command> onDeleteQueue(DeleteQueue delete) {
    if (settings.defaultQueue().equals(delete.name())) {
      Request.fail(delete, new SpoolException.InvalidConfiguration(
          "the default queue '" + delete.name() + "' always exists and cannot be deleted"));
      return this;
    }
    String parent = Partitions.parentOf(delete.name());
    if (parent != null && queues.containsKey(delete.name())) {
      Request.fail(delete, new SpoolException.InvalidConfiguration("'" + delete.name()
          + "' is a partition of queue '" + parent + "': delete the queue"));
      return this;
    }
    Entry entry = queues.remove(delete.name());
    if (entry == null && durable.deletionPending(delete.name())) {
      removeFromRegistry(delete); // stopped before, but the journal did not record it: try again
      return this;
    }
    if (entry == null) {
      Request.fail(delete, new SpoolException.QueueNotFound(delete.name()));
      return this;
    }
    // Announced before the queue stops: its stop releases its memory, which may end memory pressure.
    Events.publish(getContext().getSystem(), new SpoolEvent.QueueDeleted(settings.clock().instant(), delete.name()));
    boolean persistent = entry.settings().durability() == Durability.PERSISTENT;
    List<String> stopped = entry.settings().partitioned()
        ? new Partitions(delete.name(), entry.settings().partitions()).names() : List.of(delete.name());
    getContext().unwatch(entry.ref());
    getContext().stop(entry.ref());
    List<String> journals = new ArrayList<>();
    for (String name : stopped) {
      Entry queue = name.equals(delete.name()) ? entry : queues.remove(name);
      if (queue == null) {
        continue;
      }
      getContext().unwatch(queue.ref());
      getContext().stop(queue.ref());
      janitor.tell(new Janitor.Untrack(name));
      durable.stopped(name, persistent);
      if (entry.durable() != null) {
        journals.add(QueueJournal.persistenceId(name, entry.durable().incarnation()).id());
      }
    }
    durable.stopped(delete.name(), persistent);
    if (!journals.isEmpty()) {
      purges.put(delete.name(), journals);
    }
    getContext().getLog().info("queue {} deleted", delete.name());
    if (persistent) {
      removeFromRegistry(delete);
    } else {
      delete.replyTo().tell(StatusReply.success(Done.getInstance()));
    }
    return this;
  }

  /** Records a durable queue's deletion; until that is stored, deleting it again retries. */
  private void removeFromRegistry(DeleteQueue delete) {
    durable.deleting(delete.name());
    getContext().askWithStatus(Done.class, registry, settings.askTimeout().multipliedBy(3),
        r -> new QueueRegistry.Remove(delete.name(), r),
        (done, failure) -> new Removed(delete, failure));
  }

  private Behavior<Command> onRemoved(Removed removed) {
    DeleteQueue delete = removed.delete();
    if (removed.failure() == null) {
      durable.deleted(delete.name());
      for (String journalId : purges.getOrDefault(delete.name(), List.of())) {
        JournalCleanup.purge(getContext().getSystem(), journalId, settings.persistence());
      }
      purges.remove(delete.name());
      delete.replyTo().tell(StatusReply.success(Done.getInstance()));
    } else {
      Request.fail(delete, new SpoolException.Timeout("queue '" + delete.name()
          + "' is stopped, but the journal did not record its deletion yet; delete it again"));
    }
    return this;
  }

  private Behavior<Command> onListQueues(ListQueues list) {
    Aggregator.askEvery(getContext(), queues.entrySet().stream()
            .filter(e -> Partitions.parentOf(e.getKey()) == null).map(e -> e.getValue().ref()).toList(),
        QueueActor.GetInfo::new, list.replyTo(),
        infos -> infos.stream().sorted(Comparator.comparing(QueueInfo::name)).toList(),
        settings.askTimeout());
    return this;
  }

  private Behavior<Command> onToQueue(ToQueue envelope) {
    if (PartitionedQueue.refusedFromOutside(envelope.queue(), envelope.command())) {
      return this;
    }
    return route(envelope.queue(), envelope.command());
  }

  private Behavior<Command> onLocate(Locate locate) {
    Entry entry = queues.get(locate.queue());
    if (shuttingDown) {
      Request.fail(locate, new SpoolException.ShuttingDown());
    } else if (entry == null || Partitions.parentOf(locate.queue()) != null) {
      Request.fail(locate, new SpoolException.QueueNotFound(locate.queue()));
    } else {
      locate.replyTo().tell(StatusReply.success(entry.ref()));
    }
    return this;
  }

  private Behavior<Command> route(String queue, QueueActor.Command command) {
    ToQueue envelope = new ToQueue(queue, command);
    Entry entry = queues.get(envelope.queue());
    if (shuttingDown && envelope.command() instanceof QueueActor.Publish publish
        && !DeadLetters.DEAD_LETTER_PRODUCER.equals(publish.producerId())) { // what handlers give up on while draining still goes
      Request.fail(publish, new SpoolException.ShuttingDown());
    } else if (entry != null) {
      entry.ref().tell(envelope.command());
    } else if (envelope.command() instanceof Request<?> request) {
      Request.fail(request, new SpoolException.QueueNotFound(envelope.queue()));
    } else if (envelope.command() instanceof QueueActor.ToConsumer toConsumer
        && toConsumer.command() instanceof Request<?> request) {
      Request.fail(request, new SpoolException.QueueNotFound(envelope.queue()));
    }
    return this;
  }

  private Behavior<Command> onStop(Stop stop) {
    if (registry == null) {
      return stopNow(stop);
    }
    // Durable queues first write what they gathered, so that nothing waiting is dropped.
    this.<Done, Done>toEveryQueue(QueueActor.Flush::new, getContext().messageAdapter(
            Request.<Done>statusClass(), flushed -> new Flushed(stop)), done -> Done.getInstance(), settings.askTimeout());
    return this;
  }

  private Behavior<Command> stopNow(Stop stop) {
    getContext().getLog().info("Spool stopping: {} queues", queues.size());
    Events.publish(getContext().getSystem(), new SpoolEvent.Shutdown(settings.clock().instant(), drained.finished(),
        drained.abandoned()));
    stop.replyTo().tell(StatusReply.success(Done.getInstance()));
    return Behaviors.stopped();
  }

  private Behavior<Command> onQueueTerminated(QueueTerminated terminated) {
    Entry entry = queues.get(terminated.name());
    if (entry != null && entry.ref().equals(terminated.ref())) {
      queues.remove(terminated.name());
      janitor.tell(new Janitor.Untrack(terminated.name()));
      durable.stopped(terminated.name(), false);
      getContext().getLog().error("queue {} stopped unexpectedly; its messages are gone", terminated.name());
    }
    return this;
  }

  // ---- graceful shutdown

  private Behavior<Command> onDrain(Drain drain) {
    if (!shuttingDown) {
      shuttingDown = true;
      getContext().getLog().info("Spool shutting down: publishes refused, waiting up to {} for handler calls",
          drain.timeout());
    }
    Duration within = drain.timeout().plus(settings.askTimeout());
    getContext().askWithStatus(ConsumerActor.DrainResult.class, getContext().getSelf(), within,
        r -> new DrainQueues(drain.timeout(), r),
        (result, failure) -> new Drained(result, failure, drain.replyTo()));
    return this;
  }

  private Behavior<Command> onDrainQueues(DrainQueues drain) {
    this.<ConsumerActor.DrainResult, ConsumerActor.DrainResult>toEveryQueue(
        r -> new QueueActor.Drain(drain.timeout(), r), drain.replyTo(),
        ConsumerActor.DrainResult::sum,
        drain.timeout().plus(settings.askTimeout()));
    return this;
  }

  private Behavior<Command> onDrained(Drained done) {
    if (done.failure() != null) {
      done.replyTo().tell(StatusReply.error(done.failure()));
      return this;
    }
    drained = done.result();
    done.replyTo().tell(StatusReply.success(done.result()));
    return this;
  }

  private Behavior<Command> onToJanitor(ToJanitor envelope) {
    janitor.tell(envelope.command());
    return this;
  }

  /**
   * Sends {@code request} to every queue that holds messages (each partition, not the front of a
   * partitioned queue) and answers {@code replyTo} with {@code aggregate} of the replies.
   */
  private <R, A> void toEveryQueue(Function<ActorRef<StatusReply<R>>, QueueActor.Command> request,
      ActorRef<StatusReply<A>> replyTo, Function<List<R>, A> aggregate, Duration timeout) {
    Aggregator.askEvery(getContext(), queues.values().stream().filter(Entry::holdsMessages).map(Entry::ref).toList(),
        request, replyTo, aggregate, timeout);
  }
}
