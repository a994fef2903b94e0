package dev.spool.actor;

import dev.spool.ClusterSettings;
import dev.spool.Created;
import dev.spool.Durability;
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
import dev.spool.durable.WriterLockSettings;
import dev.spool.queue.Partitions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.StashBuffer;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Subscribe;
import org.apache.pekko.pattern.StatusReply;

/**
 * The cluster's list of queues (cluster mode), a cluster singleton: it alone writes the registry of
 * queues to the shared journal, decides creations and deletions, tells each {@link QueueEntity} its
 * definition when it starts, and keeps persistent queues running wherever sharding places them: it
 * wakes each one at start, when a member is removed and every {@code spool.cluster.wake-interval}.
 * Transient queues are in the registry too, so that their names are cluster-wide; their messages
 * live on one member only.
 */
public final class QueueDirectory extends AbstractBehavior<QueueDirectory.Command> {

  /** What the directory understands. */
  public interface Command {}

  /** Create a queue; idempotent for equal settings. */
  public record Create(String name, QueueSettings settings, ActorRef<StatusReply<Created<QueueInfo>>> replyTo)
      implements Command, RegistryWrites.Creation {}

  /** Delete a queue with its messages and consumers. */
  public record Delete(String name, ActorRef<StatusReply<Done>> replyTo) implements Command, Request<Done> {}

  /** Describe every queue, by name. */
  public record ListQueues(ActorRef<StatusReply<List<QueueInfo>>> replyTo)
      implements Command, Request<List<QueueInfo>> {}

  /** From a starting entity: its queue's definition. */
  public record Lookup(String name, ActorRef<StatusReply<Definition>> replyTo) implements Command, Request<Definition> {}

  /**
   * A queue's definition.
   *
   * @param queue the queue, or {@code null} when no queue has that name
   * @param fresh whether it starts because it was just created (a transient queue starting otherwise
   *     was lost with the member that held it)
   */
  public record Definition(RegistryEvent.QueueDefined queue, boolean fresh) {}

  /** From a member's manager: the partitioned queues, which it runs a {@link PartitionedQueue} for. */
  public record GetPartitioned(ActorRef<StatusReply<Partitioned>> replyTo) implements Command, Request<Partitioned> {}

  /** The partitioned queues' settings, by name. */
  public record Partitioned(Map<String, QueueSettings> queues) {}

  // To itself only (adapted replies, results with a Throwable, its timer): never sent to another member.

  private record RegistryReply(QueueRegistry.Reply reply) implements Command, NoSerializationVerificationNeeded {}

  private record Defined(String name, Throwable failure) implements Command, NoSerializationVerificationNeeded {}

  private record Removed(Delete delete, RegistryEvent.QueueDefined queue, Throwable failure)
      implements Command, NoSerializationVerificationNeeded {}

  private record Rotated(Create create, RegistryEvent.QueueDefined queue, Throwable failure)
      implements Command, NoSerializationVerificationNeeded {}

  private enum WakeAll implements Command, NoSerializationVerificationNeeded {
    INSTANCE
  }

  private record MemberRemoved(ClusterEvent.MemberRemoved event) implements Command, NoSerializationVerificationNeeded {}

  /** {@code lock} was refused or lost; from a lock of an earlier incarnation (released at its restart) it means nothing. */
  private record LockLost(WriterLock lock, Throwable reason) implements Command, NoSerializationVerificationNeeded {}

  /** Commands held while the registry is read. */
  private static final int STASH = 10_000;

  static Behavior<Command> create(SpoolSettings settings, ClusterSettings cluster, String engine) {
    return Behaviors.supervise(Behaviors.<Command>withStash(STASH, stash -> Behaviors.setup(context ->
            Behaviors.withTimers(timers -> new QueueDirectory(context, stash, timers, settings, cluster, engine)
                .starting()))))
        .onFailure(SupervisorStrategy.restartWithBackoff(settings.persistence().restartMinBackoff(),
            settings.persistence().restartMaxBackoff(), 0.2));
  }

  private final SpoolSettings settings;
  private final StashBuffer<Command> stash;
  private final EntityTypeKey<QueueActor.Command> key;
  private final ActorRef<QueueRegistry.Command> registry;
  /** The directory's own exclusive lock on the journal's database, or {@code null} without one. */
  private final WriterLock lock;
  private final DurableQueues<Create> durable;
  private final RegistryWrites<Create, Command> writes;
  private final Map<String, RegistryEvent.QueueDefined> queues = new HashMap<>();
  /** Created and not yet started: their first start is not a loss. */
  private final Set<String> fresh = new HashSet<>();

  private QueueDirectory(ActorContext<Command> context, StashBuffer<Command> stash, TimerScheduler<Command> timers,
      SpoolSettings settings, ClusterSettings cluster, String engine) {
    super(context);
    context.setLoggerName(QueueDirectory.class);
    this.settings = settings;
    this.stash = stash;
    this.key = QueueEntity.key(engine);
    ActorRef<QueueRegistry.Reply> replies = context.messageAdapter(QueueRegistry.Reply.class, RegistryReply::new);
    WriterLockSettings lockSettings = WriterLockSettings.create(context.getSystem().settings().config(),
        settings.persistence().registry());
    this.lock = lockSettings.enabled() ? WriterLock.start(lockSettings.forDirectory()) : null;
    if (lock != null) {
      ActorRef<Command> self = context.getSelf();
      WriterLock mine = lock;
      lock.held().whenComplete((held, refused) -> {
        if (refused != null) {
          self.tell(new LockLost(mine, refused));
        }
      });
      lock.lost().thenAccept(reason -> self.tell(new LockLost(mine, reason)));
    }
    this.registry = context.spawn(WriterLockGate.registry(lock, replies,
            Behaviors.supervise(QueueRegistry.create(settings.persistence().registry(), settings.persistence(), replies))
                .onFailure(SupervisorStrategy.restartWithBackoff(settings.persistence().restartMinBackoff(),
                    settings.persistence().restartMaxBackoff(), 0.2))),
        "registry");
    this.durable = new DurableQueues<>(true, new CompletableFuture<>(), settings.clock(), context.getLog());
    this.writes = new RegistryWrites<>(context, registry, durable, settings.askTimeout().multipliedBy(3), Defined::new);
    timers.startTimerWithFixedDelay(WakeAll.INSTANCE, cluster.wakeInterval());
    Cluster.get(context.getSystem()).subscriptions().tell(Subscribe.create(
        context.messageAdapter(ClusterEvent.MemberRemoved.class, MemberRemoved::new), ClusterEvent.MemberRemoved.class));
  }

  /** Until the registry is read: commands wait (or are refused once a read failed). */
  private Behavior<Command> starting() {
    return Behaviors.receive(Command.class)
        .onMessage(RegistryReply.class, this::onFirstRead)
        .onMessageEquals(WakeAll.INSTANCE, Behaviors::same)
        .onMessage(MemberRemoved.class, removed -> Behaviors.same())
        .onMessage(LockLost.class, this::onLockLost)
        .onAnyMessage(this::holdUntilRead)
        .onSignal(PostStop.class, signal -> releaseLock())
        .onSignal(PreRestart.class, signal -> releaseLock())
        .build();
  }

  private Behavior<Command> onFirstRead(RegistryReply reply) {
    if (reply.reply() instanceof QueueRegistry.Recovered recovered) {
      queues.putAll(recovered.queues());
      durable.registryRead((int) queues.values().stream()
          .filter(q -> q.settings().durability() == Durability.PERSISTENT).count());
      if (!queues.containsKey(settings.defaultQueue())) {
        writes.define(settings.defaultQueue(), QueueSettings.defaults(), null);
      }
      wakeAll();
      return stash.unstashAll(this);
    }
    durable.registryUnavailable(((QueueRegistry.Unavailable) reply.reply()).cause());
    SpoolException refusal = durable.refusal();
    stash.forEach(waiting -> refuse(waiting, refusal));
    stash.clear();
    return Behaviors.same();
  }

  private Behavior<Command> holdUntilRead(Command command) {
    if (durable.registryFailed()) {
      refuse(command, durable.refusal());
    } else if (stash.isFull()) {
      refuse(command, new SpoolException.Timeout("Spool is still reading its list of queues; try again"));
    } else {
      stash.stash(command);
    }
    return Behaviors.same();
  }

  private static void refuse(Command command, SpoolException e) {
    if (command instanceof Request<?> request) {
      Request.fail(request, e);
    }
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Create.class, this::onCreate)
        .onMessage(Delete.class, this::onDelete)
        .onMessage(ListQueues.class, this::onList)
        .onMessage(Lookup.class, this::onLookup)
        .onMessage(GetPartitioned.class, this::onGetPartitioned)
        .onMessage(Defined.class, this::onDefined)
        .onMessage(Removed.class, this::onRemoved)
        .onMessage(Rotated.class, this::onRotated)
        .onMessage(RegistryReply.class, this::onRegistryReply)
        .onMessageEquals(WakeAll.INSTANCE, this::onWakeAll)
        .onMessage(MemberRemoved.class, removed -> onWakeAll())
        .onMessage(LockLost.class, this::onLockLost)
        .onSignal(PostStop.class, signal -> releaseLock())
        .onSignal(PreRestart.class, signal -> releaseLock())
        .build();
  }

  /**
   * Another cluster's directory holds the database (members started with other seed nodes), or took
   * it while this one's connection was lost: this directory restarts, with backoff, and waits for it
   * again, so that no queue of this database starts in two clusters.
   */
  private Behavior<Command> onLockLost(LockLost lost) {
    if (lost.lock() != lock) {
      return Behaviors.same();
    }
    throw new IllegalStateException("the queue directory does not hold its database: " + lost.reason().getMessage());
  }

  private Behavior<Command> releaseLock() {
    if (lock != null) {
      lock.release();
    }
    return Behaviors.same();
  }

  private Behavior<Command> onRegistryReply(RegistryReply reply) {
    if (reply.reply() instanceof QueueRegistry.Unavailable unavailable) {
      durable.registryUnavailable(unavailable.cause());
    } else {
      durable.registryAnswered();
    }
    return this;
  }

  private Behavior<Command> onWakeAll() {
    wakeAll();
    return this;
  }

  /** Starts every persistent queue that is not running (a running one ignores the wake). */
  private void wakeAll() {
    ClusterSharding sharding = ClusterSharding.get(getContext().getSystem());
    for (RegistryEvent.QueueDefined q : queues.values()) {
      if (q.settings().durability() == Durability.PERSISTENT) {
        entityNames(q).forEach(name -> sharding.entityRefFor(key, name).tell(QueueEntity.Wake.INSTANCE));
      }
    }
  }

  /**
   * A partitioned queue's partitions are entities, each defined by its queue's current definition
   * with its share of the bounds and an id seed of its own.
   */
  private Behavior<Command> onLookup(Lookup lookup) {
    RegistryEvent.QueueDefined q = definitionOf(lookup.name());
    lookup.replyTo().tell(StatusReply.success(new Definition(q, q != null && fresh.remove(lookup.name()))));
    return this;
  }

  private RegistryEvent.QueueDefined definitionOf(String entity) {
    RegistryEvent.QueueDefined q = queues.get(entity);
    if (q != null) {
      return q; // a partitioned queue's entity forwards to its member's front
    }
    String parent = Partitions.parentOf(entity);
    int partition = Partitions.numberOf(entity);
    RegistryEvent.QueueDefined queue = parent == null ? null : queues.get(parent);
    if (queue == null || partition < 0 || partition >= queue.settings().partitions()
        || !entity.equals(Partitions.name(parent, partition))) {
      return null;
    }
    return new RegistryEvent.QueueDefined(entity, queue.settings().partitionSettings(), queue.incarnation(),
        Partitions.idSeed(queue.idSeed(), partition));
  }

  /** The entities a queue runs as: itself, or each of its partitions. */
  private static List<String> entityNames(RegistryEvent.QueueDefined q) {
    return q.settings().partitioned() ? new Partitions(q.name(), q.settings().partitions()).names() : List.of(q.name());
  }

  private Behavior<Command> onGetPartitioned(GetPartitioned get) {
    Map<String, QueueSettings> partitioned = new HashMap<>();
    queues.values().stream().filter(q -> q.settings().partitioned()).forEach(q -> partitioned.put(q.name(), q.settings()));
    get.replyTo().tell(StatusReply.success(new Partitioned(partitioned)));
    return this;
  }

  // ---- creation

  private Behavior<Command> onCreate(Create create) {
    try {
      Names.requireValid("queue", create.name());
      if (create.settings().deadLetter() != null && create.settings().deadLetter().queue().equals(create.name())) {
        throw new SpoolException.InvalidConfiguration("queue '" + create.name() + "' cannot be its own dead-letter queue");
      }
    } catch (SpoolException e) {
      Request.fail(create, e);
      return this;
    }
    DurableQueues.Defining<Create> pending = durable.defining(create.name());
    RegistryEvent.QueueDefined existing = queues.get(create.name());
    if (pending != null || existing != null) { // idempotent for equal settings
      QueueSettings known = pending != null ? pending.definition().settings() : existing.settings();
      if (pending == null && QueueManager.rotatesKey(known, create.settings())) {
        rotateKey(create, existing);
      } else if (!known.equals(create.settings())) {
        Request.fail(create, new SpoolException.QueueAlreadyExists(create.name(), known, create.settings()));
      } else if (pending != null) {
        pending.waiting().add(create);
      } else {
        answerWithInfo(create.name(), false, create.replyTo());
      }
      return this;
    }
    QueueSettings.DeadLetter deadLetter = create.settings().deadLetter();
    if (deadLetter != null && !queues.containsKey(deadLetter.queue()) && durable.defining(deadLetter.queue()) == null) {
      // As standalone: a dead-letter queue that does not exist yet is created with defaults.
      writes.define(deadLetter.queue(), QueueSettings.defaults().withDurability(create.settings().durability()), null);
    }
    writes.define(create.name(), create.settings(), create);
    return this;
  }

  private void rotateKey(Create create, RegistryEvent.QueueDefined existing) {
    RegistryEvent.QueueDefined rotated = new RegistryEvent.QueueDefined(create.name(), create.settings(),
        existing.incarnation(), existing.idSeed());
    writes.rotate(create, existing.incarnation(), existing.idSeed(), failure -> new Rotated(create, rotated, failure));
  }

  private Behavior<Command> onRotated(Rotated rotated) {
    Create create = rotated.create();
    if (RegistryWrites.rotationFailed(create, create.name(), rotated.failure())) {
      return this;
    }
    RegistryEvent.QueueDefined current = queues.get(create.name());
    if (current == null || !current.incarnation().equals(rotated.queue().incarnation())) {
      Request.fail(create, new SpoolException.QueueNotFound(create.name())); // deleted meanwhile
      return this;
    }
    queues.put(create.name(), rotated.queue());
    entityNames(rotated.queue()).forEach(name ->
        entity(name).tell(new QueueActor.UseKey(create.settings().encryptionKeyId())));
    getContext().getLog().info("queue {}: encryption key rotated to {}", create.name(),
        create.settings().encryptionKeyId());
    answerWithInfo(create.name(), false, create.replyTo());
    return this;
  }

  private Behavior<Command> onDefined(Defined defined) {
    DurableQueues.Defining<Create> d = writes.stored(defined.name(), defined.failure());
    if (d == null) {
      return this;
    }
    RegistryEvent.QueueDefined q = d.definition();
    queues.put(q.name(), q);
    fresh.addAll(entityNames(q));
    getContext().getLog().info("queue {} created", q.name());
    Events.publish(getContext().getSystem(), new SpoolEvent.QueueCreated(settings.clock().instant(), q.name(),
        q.settings()));
    if (d.waiting().isEmpty()) {
      entityNames(q).forEach(name -> entity(name).tell(QueueEntity.Wake.INSTANCE)); // a dead-letter queue created on the way
    }
    boolean first = true;
    for (Create c : d.waiting()) {
      answerWithInfo(q.name(), first, c.replyTo());
      first = false;
    }
    return this;
  }

  /** Asks the queue (starting it if need be) for its info and answers {@code replyTo} with it. */
  private void answerWithInfo(String name, boolean created, ActorRef<StatusReply<Created<QueueInfo>>> replyTo) {
    info(name).whenComplete((info, failure) -> replyTo.tell(
        failure == null ? StatusReply.success(new Created<>(info, created)) : StatusReply.error(failure)));
  }

  private CompletionStage<QueueInfo> info(String name) {
    return info(name, settings.askTimeout());
  }

  /** A queue's info; a partitioned queue's from every partition (so none is left out of a listing unseen). */
  private CompletionStage<QueueInfo> info(String name, Duration timeout) {
    RegistryEvent.QueueDefined q = queues.get(name);
    if (q == null || !q.settings().partitioned()) {
      return entity(name).askWithStatus(QueueActor.GetInfo::new, timeout);
    }
    Partitions partitions = new Partitions(name, q.settings().partitions());
    // Shorter than the caller's wait: a partition whose member is gone leaves the queue out in time.
    Duration each = timeout.multipliedBy(3).dividedBy(4);
    List<CompletableFuture<QueueInfo>> parts = new ArrayList<>();
    for (String partition : partitions.names()) {
      parts.add(entity(partition).<QueueInfo>askWithStatus(QueueActor.GetInfo::new, each).toCompletableFuture());
    }
    return CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new)).thenApply(done ->
        partitions.info(q.settings(), parts.stream().map(CompletableFuture::join).toList()));
  }

  private org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef<QueueActor.Command> entity(String name) {
    return ClusterSharding.get(getContext().getSystem()).entityRefFor(key, name);
  }

  // ---- deletion

  private Behavior<Command> onDelete(Delete delete) {
    if (settings.defaultQueue().equals(delete.name())) {
      Request.fail(delete, new SpoolException.InvalidConfiguration(
          "the default queue '" + delete.name() + "' always exists and cannot be deleted"));
      return this;
    }
    RegistryEvent.QueueDefined q = queues.get(delete.name());
    String parent = Partitions.parentOf(delete.name());
    if (q == null && parent != null && definitionOf(delete.name()) != null) {
      Request.fail(delete, new SpoolException.InvalidConfiguration("'" + delete.name()
          + "' is a partition of queue '" + parent + "': delete the queue"));
      return this;
    }
    if (q == null) {
      Request.fail(delete, new SpoolException.QueueNotFound(delete.name()));
      return this;
    }
    if (!durable.registryWrites()) {
      Request.fail(delete, durable.refusal());
      return this;
    }
    getContext().askWithStatus(Done.class, registry, settings.askTimeout().multipliedBy(3),
        r -> new QueueRegistry.Remove(delete.name(), r), (done, failure) -> new Removed(delete, q, failure));
    return this;
  }

  private Behavior<Command> onRemoved(Removed removed) {
    Delete delete = removed.delete();
    if (removed.failure() != null) {
      Request.fail(delete, new SpoolException.Timeout("queue '" + delete.name()
          + "' could not be deleted: the journal did not record it; try again"));
      return this;
    }
    RegistryEvent.QueueDefined q = removed.queue();
    if (q.equals(queues.get(delete.name()))) {
      queues.remove(delete.name());
      fresh.remove(delete.name());
    }
    if (q.settings().partitioned()) {
      entity(q.name()).tell(QueueEntity.Retire.INSTANCE); // the entity that forwards to a front, if one started
    }
    for (String name : entityNames(q)) {
      fresh.remove(name);
      entity(name).tell(QueueEntity.Retire.INSTANCE);
      if (q.settings().durability() == Durability.PERSISTENT) {
        JournalCleanup.purge(getContext().getSystem(), QueueJournal.persistenceId(name, q.incarnation()).id(),
            settings.persistence());
      }
    }
    getContext().getLog().info("queue {} deleted", delete.name());
    Events.publish(getContext().getSystem(), new SpoolEvent.QueueDeleted(settings.clock().instant(), delete.name()));
    delete.replyTo().tell(StatusReply.success(Done.getInstance()));
    return this;
  }

  // ---- listing

  /**
   * Asks every queue for its info; queues that do not answer within four fifths of the ask timeout
   * (so that the caller's own ask does not time out first) are left out, as standalone.
   */
  private Behavior<Command> onList(ListQueues list) {
    Duration timeout = settings.askTimeout().multipliedBy(4).dividedBy(5);
    List<CompletableFuture<QueueInfo>> infos = new ArrayList<>(queues.size());
    for (String name : queues.keySet()) {
      infos.add(info(name, timeout).toCompletableFuture().exceptionally(failure -> null));
    }
    // Only the caller is told, from whichever thread completes last: no state of this actor is touched.
    CompletableFuture.allOf(infos.toArray(CompletableFuture[]::new)).whenComplete((done, failure) ->
        list.replyTo().tell(StatusReply.success(infos.stream()
            .map(CompletableFuture::join)
            .filter(java.util.Objects::nonNull)
            .sorted(Comparator.comparing(QueueInfo::name))
            .toList())));
    return this;
  }
}
