package dev.spool.actor;

import dev.spool.ClusterSettings;
import dev.spool.QueueSettings;
import dev.spool.SpoolEvent;
import dev.spool.SpoolException;
import dev.spool.SpoolSettings;
import dev.spool.storage.DiskAlarm;
import dev.spool.storage.TieredStorage;
import java.time.Duration;
import dev.spool.LagStats;
import dev.spool.MemoryStats;
import dev.spool.StaleConsumer;
import dev.spool.Created;
import dev.spool.QueueInfo;
import java.util.ArrayList;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.eventstream.EventStream;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.receptionist.Receptionist;
import org.apache.pekko.actor.typed.receptionist.ServiceKey;
import org.apache.pekko.cluster.sharding.typed.HashCodeMessageExtractor;
import org.apache.pekko.cluster.sharding.typed.ShardingEnvelope;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.ClusterSingleton;
import org.apache.pekko.cluster.typed.SelfUp;
import org.apache.pekko.cluster.typed.SingletonActor;
import org.apache.pekko.cluster.typed.Subscribe;
import org.apache.pekko.pattern.StatusReply;

/**
 * A member's {@link QueueManager} in cluster mode: the same protocol, so the Java API and the HTTP
 * service work unchanged, but every command for a queue goes to its {@link QueueEntity} through
 * the sharding region, wherever in the cluster it runs, and creations, deletions and listings go to
 * the {@link QueueDirectory} singleton. What is per member stays here: the memory threshold of the
 * queues this member hosts, its {@link Janitor} (garbage collection, memory, lag and staleness over
 * them), their journals' health, drain and stop.
 */
public final class ClusterQueueManager extends AbstractBehavior<QueueManager.Command> {

  /**
   * From the entity of a partitioned queue on this member: a command for it, from a member that did
   * not know the queue yet; this member's front answers it (never crosses the network).
   */
  record ToPartitioned(String name, QueueSettings settings, QueueActor.Command command)
      implements QueueManager.Command, NoSerializationVerificationNeeded {}

  /** From a queue entity on this member: it runs here now (never crosses the network). */
  record Hosted(String name, ActorRef<QueueActor.Command> ref, QueueSettings settings, boolean persistent)
      implements QueueManager.Command, NoSerializationVerificationNeeded {}

  // To itself only (watches, subscriptions, piped results): never sent to another member.

  private record HostedStopped(String name, ActorRef<QueueActor.Command> ref)
      implements QueueManager.Command, NoSerializationVerificationNeeded {}

  private enum Up implements QueueManager.Command, NoSerializationVerificationNeeded {
    INSTANCE
  }

  private record Flushed(QueueManager.Stop stop) implements QueueManager.Command, NoSerializationVerificationNeeded {}

  /** From another member's manager: an operation over the queues this member hosts. */
  record ToLocalJanitor(Janitor.Command command) implements QueueManager.Command {}

  private record Managers(Set<ActorRef<QueueManager.Command>> refs)
      implements QueueManager.Command, NoSerializationVerificationNeeded {}

  private record Drained(ConsumerActor.DrainResult result, Throwable failure,
      ActorRef<StatusReply<ConsumerActor.DrainResult>> replyTo)
      implements QueueManager.Command, NoSerializationVerificationNeeded {}

  private record DrainQueues(Duration timeout, ActorRef<StatusReply<ConsumerActor.DrainResult>> replyTo)
      implements QueueManager.Command, NoSerializationVerificationNeeded {}

  /** The directory's partitioned queues, or {@code failure}. */
  private record PartitionedListed(QueueDirectory.Partitioned listed, Throwable failure)
      implements QueueManager.Command, NoSerializationVerificationNeeded {}

  private enum ListPartitioned implements QueueManager.Command, NoSerializationVerificationNeeded {
    INSTANCE
  }

  /** A queue created or deleted anywhere in the cluster, from this member's event stream. */
  private record QueueChanged(SpoolEvent event) implements QueueManager.Command, NoSerializationVerificationNeeded {}

  /** The directory answered a creation or deletion of a partitioned queue made through this member. */
  private record PartitionedCreated(QueueManager.CreateQueue create, Created<QueueInfo> created, Throwable failure)
      implements QueueManager.Command, NoSerializationVerificationNeeded {}

  private record PartitionedDeleted(QueueManager.DeleteQueue delete, Throwable failure)
      implements QueueManager.Command, NoSerializationVerificationNeeded {}

  /**
   * The member's manager; {@code ready} completes once this member is up in the cluster.
   *
   * @param engine the engine's name: its entity type and singleton are named after it
   */
  public static Behavior<QueueManager.Command> create(SpoolSettings settings, ClusterSettings cluster, String engine,
      String version, CompletableFuture<Done> ready) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers ->
        new ClusterQueueManager(context, timers, settings, cluster, engine, version, ready)));
  }

  private final SpoolSettings settings;
  private final MemoryMonitor memory;
  private final ActorRef<Janitor.Command> janitor;
  private final ActorRef<QueueDirectory.Command> directory;
  private final ActorRef<ShardingEnvelope<QueueActor.Command>> region;
  private final DurableQueues<Void> journals;
  private final CompletableFuture<Done> ready;
  private final Map<String, ActorRef<QueueActor.Command>> hosted = new HashMap<>();
  /** Every member's manager (this one included), as the receptionist lists them. */
  private Set<ActorRef<QueueManager.Command>> managers = Set.of();
  private boolean shuttingDown;
  private ConsumerActor.DrainResult drained = new ConsumerActor.DrainResult(0, 0);
  /**
   * The partitioned queues, each with the {@link PartitionedQueue} this member runs in front of its
   * partitions: from the directory at start and every wake interval, and from creation and deletion
   * events in between. A command for one this member does not know yet reaches the queue's entity,
   * which hands it to the front on its own member ({@link ToPartitioned}).
   */
  private final Map<String, Front> fronts = new HashMap<>();
  private long frontIncarnations;

  private record Front(QueueSettings settings, ActorRef<QueueActor.Command> ref) {}

  private ClusterQueueManager(ActorContext<QueueManager.Command> context, TimerScheduler<QueueManager.Command> timers,
      SpoolSettings settings, ClusterSettings cluster, String engine, String version, CompletableFuture<Done> ready) {
    super(context);
    context.setLoggerName(ClusterQueueManager.class);
    this.settings = settings;
    this.ready = ready;
    this.journals = new DurableQueues<>(false, new CompletableFuture<>(), settings.clock(), context.getLog());
    this.memory = new MemoryMonitor(settings.memoryThresholdBytes(),
        event -> Events.publish(context.getSystem(), event), settings.clock(), DiskAlarm.create(settings.disk()));
    this.janitor = context.spawn(Janitor.create(settings, memory), "janitor");
    memory.onPressure(() -> janitor.tell(Janitor.PressureBegan.INSTANCE));
    TieredStorage.get(context.getSystem()).storage().ifPresent(storage -> memory.countCache(storage::cachedBytes));
    this.directory = ClusterSingleton.get(context.getSystem()).init(
        SingletonActor.of(QueueDirectory.create(settings, cluster, engine), engine + "-directory"));
    ActorRef<QueueManager.Command> self = context.getSelf();
    this.region = ClusterSharding.get(context.getSystem()).init(
        Entity.of(QueueEntity.key(engine),
                entity -> QueueEntity.create(entity.getEntityId(), settings, memory, self, directory,
                    entity.getShard()))
            .withMessageExtractor(new HashCodeMessageExtractor<>(cluster.shards())));
    Cluster.get(context.getSystem()).subscriptions().tell(Subscribe.create(
        context.messageAdapter(SelfUp.class, up -> Up.INSTANCE), SelfUp.class));
    ServiceKey<QueueManager.Command> managersKey = ServiceKey.create(QueueManager.Command.class, engine + "-managers");
    context.getSystem().receptionist().tell(Receptionist.register(managersKey, self));
    context.getSystem().receptionist().tell(Receptionist.subscribe(managersKey, context.messageAdapter(
        Receptionist.Listing.class, listing -> new Managers(listing.getServiceInstances(managersKey)))));
    context.getSystem().eventStream().tell(new EventStream.Subscribe<>(SpoolEvent.QueueCreated.class,
        context.messageAdapter(SpoolEvent.QueueCreated.class, QueueChanged::new)));
    context.getSystem().eventStream().tell(new EventStream.Subscribe<>(SpoolEvent.QueueDeleted.class,
        context.messageAdapter(SpoolEvent.QueueDeleted.class, QueueChanged::new)));
    timers.startTimerWithFixedDelay(ListPartitioned.INSTANCE, ListPartitioned.INSTANCE, cluster.wakeInterval());
    listPartitioned();
    context.getLog().info("cluster mode: member {} joining", Cluster.get(context.getSystem()).selfMember().address());
    Events.publish(context.getSystem(), new SpoolEvent.Started(settings.clock().instant(), version));
  }

  @Override
  public Receive<QueueManager.Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(QueueManager.ToQueue.class, this::onToQueue)
        .onMessage(QueueManager.ToPartition.class, to -> route(to.partition(), to.command()))
        .onMessage(QueueManager.CreateQueue.class, this::onCreateQueue)
        .onMessage(QueueManager.DeleteQueue.class, this::onDeleteQueue)
        .onMessage(QueueManager.ListQueues.class, this::onListQueues)
        .onMessage(QueueManager.ToJanitor.class, this::onToJanitor)
        .onMessage(ToLocalJanitor.class, this::onToLocalJanitor)
        .onMessage(Managers.class, this::onManagers)
        .onMessage(Hosted.class, this::onHosted)
        .onMessage(HostedStopped.class, this::onHostedStopped)
        .onMessage(QueueManager.QueueRecovered.class, this::onQueueRecovered)
        .onMessage(QueueManager.JournalStateChanged.class, this::onJournalStateChanged)
        .onMessage(QueueManager.GetJournalHealth.class, this::onGetJournalHealth)
        .onMessageEquals(Up.INSTANCE, this::onUp)
        .onMessage(QueueManager.Drain.class, this::onDrain)
        .onMessage(DrainQueues.class, this::onDrainQueues)
        .onMessage(Drained.class, this::onDrained)
        .onMessage(QueueManager.Stop.class, this::onStop)
        .onMessage(Flushed.class, flushed -> stopNow(flushed.stop()))
        .onMessage(QueueManager.WriterLockLost.class, this::onWriterLockLost)
        .onMessageEquals(ListPartitioned.INSTANCE, this::onListPartitioned)
        .onMessage(PartitionedListed.class, this::onPartitionedListed)
        .onMessage(QueueChanged.class, this::onQueueChanged)
        .onMessage(PartitionedCreated.class, this::onPartitionedCreated)
        .onMessage(ToPartitioned.class, to -> {
          if (!fronts.containsKey(to.name())) {
            front(to.name(), to.settings());
          }
          fronts.get(to.name()).ref().tell(to.command());
          return this;
        })
        .onMessage(PartitionedDeleted.class, this::onPartitionedDeleted)
        .build();
  }

  /** A standalone node took the database meanwhile: this member stops writing at once. */
  private Behavior<QueueManager.Command> onWriterLockLost(QueueManager.WriterLockLost lost) {
    getContext().getLog().error("Spool stops every queue on this member: {}", lost.reason().getMessage());
    hosted.values().forEach(getContext()::stop);
    return Behaviors.stopped();
  }

  private Behavior<QueueManager.Command> onDeleteQueue(QueueManager.DeleteQueue delete) {
    if (fronts.containsKey(delete.name())) {
      getContext().askWithStatus(Done.class, directory, settings.askTimeout(),
          r -> new QueueDirectory.Delete(delete.name(), r), (done, failure) -> new PartitionedDeleted(delete, failure));
    } else {
      directory.tell(new QueueDirectory.Delete(delete.name(), delete.replyTo()));
    }
    return this;
  }

  private Behavior<QueueManager.Command> onPartitionedDeleted(PartitionedDeleted deleted) {
    if (deleted.failure() != null) {
      Request.fail(deleted.delete(), deleted.failure());
      return this;
    }
    front(deleted.delete().name(), null);
    deleted.delete().replyTo().tell(StatusReply.success(Done.getInstance()));
    return this;
  }

  // ---- partitioned queues

  private void listPartitioned() {
    getContext().askWithStatus(QueueDirectory.Partitioned.class, directory, settings.askTimeout(),
        QueueDirectory.GetPartitioned::new, PartitionedListed::new);
  }

  private Behavior<QueueManager.Command> onListPartitioned() {
    listPartitioned();
    return this;
  }

  private Behavior<QueueManager.Command> onPartitionedListed(PartitionedListed listed) {
    if (listed.failure() != null) {
      return this; // the directory is moving or starting: asked again at the next interval
    }
    Map<String, QueueSettings> now = listed.listed().queues();
    for (String name : List.copyOf(fronts.keySet())) {
      if (!now.containsKey(name)) {
        front(name, null);
      }
    }
    now.forEach(this::front);
    return this;
  }

  private Behavior<QueueManager.Command> onQueueChanged(QueueChanged changed) {
    if (changed.event() instanceof SpoolEvent.QueueCreated created && created.settings().partitioned()) {
      front(created.queue(), created.settings());
    } else if (changed.event() instanceof SpoolEvent.QueueDeleted deleted) {
      front(deleted.queue(), null);
    }
    return this;
  }

  /** Runs the front of partitioned queue {@code name} with {@code queueSettings}, or none when {@code null}. */
  private void front(String name, QueueSettings queueSettings) {
    Front current = fronts.get(name);
    if (current != null && current.settings().equals(queueSettings)) {
      return;
    }
    if (current != null) {
      getContext().stop(current.ref());
      fronts.remove(name);
    }
    if (queueSettings != null) {
      ActorRef<QueueActor.Command> ref = getContext().spawn(
          Behaviors.supervise(PartitionedQueue.create(name, queueSettings, settings, getContext().getSelf()))
              .onFailure(SupervisorStrategy.resume()),
          "partitioned-" + name + "-" + (++frontIncarnations));
      fronts.put(name, new Front(queueSettings, ref));
    }
  }

  private Behavior<QueueManager.Command> onListQueues(QueueManager.ListQueues list) {
    directory.tell(new QueueDirectory.ListQueues(list.replyTo()));
    return this;
  }

  private Behavior<QueueManager.Command> onToLocalJanitor(ToLocalJanitor local) {
    janitor.tell(local.command());
    return this;
  }

  private Behavior<QueueManager.Command> onManagers(Managers listed) {
    managers = listed.refs();
    return this;
  }

  private Behavior<QueueManager.Command> onQueueRecovered(QueueManager.QueueRecovered recovered) {
    if (isCurrent(recovered.name(), recovered.ref())) {
      journals.journalState(recovered.name(), null);
    }
    return this;
  }

  private Behavior<QueueManager.Command> onJournalStateChanged(QueueManager.JournalStateChanged changed) {
    if (isCurrent(changed.name(), changed.ref())) {
      journals.journalState(changed.name(), changed.problem());
    }
    return this;
  }

  private Behavior<QueueManager.Command> onGetJournalHealth(QueueManager.GetJournalHealth get) {
    get.replyTo().tell(StatusReply.success(journals.health()));
    return this;
  }

  private Behavior<QueueManager.Command> onUp() {
    getContext().getLog().info("cluster mode: member {} is up",
        Cluster.get(getContext().getSystem()).selfMember().address());
    ready.complete(Done.getInstance());
    return this;
  }

  private Behavior<QueueManager.Command> onToQueue(QueueManager.ToQueue envelope) {
    if (PartitionedQueue.refusedFromOutside(envelope.queue(), envelope.command())) {
      return this;
    }
    return route(envelope.queue(), envelope.command());
  }

  private Behavior<QueueManager.Command> route(String queue, QueueActor.Command command) {
    QueueManager.ToQueue envelope = new QueueManager.ToQueue(queue, command);
    if (shuttingDown && envelope.command() instanceof QueueActor.Publish publish
        && !DeadLetters.DEAD_LETTER_PRODUCER.equals(publish.producerId())) {
      Request.fail(publish, new SpoolException.ShuttingDown());
    } else if (fronts.containsKey(envelope.queue())) {
      fronts.get(envelope.queue()).ref().tell(envelope.command());
    } else if (localOnly(envelope.command())) {
      toHostedQueue(envelope);
    } else {
      region.tell(new ShardingEnvelope<>(envelope.queue(), envelope.command()));
    }
    return this;
  }

  /** A command that carries what cannot cross the network (a Java handler function). */
  private static boolean localOnly(QueueActor.Command command) {
    return command instanceof NoSerializationVerificationNeeded
        || command instanceof QueueActor.ToConsumer toConsumer
            && toConsumer.command() instanceof NoSerializationVerificationNeeded;
  }

  /**
   * A handler subscription runs its function in this JVM, so only a queue this member runs can take
   * it; for another member's queue the caller is told so, rather than the command being lost.
   */
  private void toHostedQueue(QueueManager.ToQueue envelope) {
    ActorRef<QueueActor.Command> queue = hosted.get(envelope.queue());
    if (queue != null) {
      queue.tell(envelope.command());
      return;
    }
    SpoolException refused = new SpoolException.InvalidConfiguration("queue '" + envelope.queue()
        + "' runs on another cluster member, and a handler subscription runs its function where the queue runs:"
        + " in cluster mode consume it through pull reads or streams (batches(), source()), which work from any member");
    if (envelope.command() instanceof Request<?> request) {
      Request.fail(request, refused);
    } else if (envelope.command() instanceof QueueActor.ToConsumer toConsumer
        && toConsumer.command() instanceof Request<?> request) {
      Request.fail(request, refused);
    }
  }

  private Behavior<QueueManager.Command> onCreateQueue(QueueManager.CreateQueue create) {
    if (shuttingDown) {
      Request.fail(create, new SpoolException.ShuttingDown());
    } else if (create.settings() != null && create.settings().partitioned()) {
      // Its front runs here before the creator hears of it, so that the creator's next command finds it.
      getContext().askWithStatus(Request.<QueueInfo>createdClass(), directory, settings.askTimeout(),
          r -> new QueueDirectory.Create(create.name(), create.settings(), r),
          (created, failure) -> new PartitionedCreated(create, created, failure));
    } else {
      directory.tell(new QueueDirectory.Create(create.name(), create.settings(), create.replyTo()));
    }
    return this;
  }

  private Behavior<QueueManager.Command> onPartitionedCreated(PartitionedCreated result) {
    if (result.failure() != null) {
      Request.fail(result.create(), result.failure());
      return this;
    }
    front(result.create().name(), result.created().value().settings());
    result.create().replyTo().tell(StatusReply.success(result.created()));
    return this;
  }

  // ---- operations over every queue: each member's janitor answers for the queues it hosts

  /**
   * Garbage collection, memory, lag and staleness cover the whole cluster: the request goes to every
   * member's janitor and the answers are combined. A member that does not answer within four fifths
   * of the ask timeout is left out (the caller's own ask must not time out first).
   */
  private Behavior<QueueManager.Command> onToJanitor(QueueManager.ToJanitor envelope) {
    Janitor.Command c = envelope.command();
    if (c instanceof Janitor.CollectGarbage gc) {
      this.<Long, Long>everyMember(Janitor.CollectGarbage::new, gc.replyTo(), freed -> freed.stream().mapToLong(Long::longValue).sum());
    } else if (c instanceof Janitor.CleanupStaleConsumers cleanup) {
      this.<List<StaleConsumer>, List<StaleConsumer>>everyMember(r -> new Janitor.CleanupStaleConsumers(
          cleanup.staleAfter(), cleanup.lagThreshold(), r), cleanup.replyTo(), StaleConsumer::sorted);
    } else if (c instanceof Janitor.DetectStaleConsumers detect) {
      this.<List<StaleConsumer>, List<StaleConsumer>>everyMember(r -> new Janitor.DetectStaleConsumers(detect.idle(), r), detect.replyTo(),
          lists -> lists.stream().flatMap(List::stream)
              .sorted(Comparator.comparing(StaleConsumer::queue).thenComparing(StaleConsumer::consumer)).toList());
    } else if (c instanceof Janitor.GetLagStats lag) {
      this.<LagStats, LagStats>everyMember(Janitor.GetLagStats::new, lag.replyTo(),
          stats -> LagStats.of(stats.stream().flatMap(s -> s.consumers().stream()).toList()));
    } else if (c instanceof Janitor.GetMemoryStats memoryStats) {
      this.<MemoryStats, MemoryStats>everyMember(Janitor.GetMemoryStats::new, memoryStats.replyTo(), ClusterQueueManager::combine);
    } else if (c instanceof Janitor.CheckMemoryPressure pressure) {
      this.<Boolean, Boolean>everyMember(Janitor.CheckMemoryPressure::new, pressure.replyTo(), any -> any.contains(Boolean.TRUE));
    } else if (c instanceof Janitor.SetMemoryThreshold threshold) { // each member's threshold is for its own heap
      this.<Done, Done>everyMember(r -> new Janitor.SetMemoryThreshold(threshold.bytes(), r), threshold.replyTo(),
          done -> Done.getInstance());
    } else {
      janitor.tell(c); // the disk of this member's journal, and what its own queues tell it
    }
    return this;
  }

  private <R, A> void everyMember(Function<ActorRef<StatusReply<R>>, Janitor.Command> request,
      ActorRef<StatusReply<A>> replyTo, Function<List<R>, A> aggregate) {
    Set<ActorRef<QueueManager.Command>> targets = new HashSet<>(managers);
    targets.add(getContext().getSelf()); // before the receptionist has listed it
    Aggregator.askEvery(getContext(), targets, r -> new ToLocalJanitor(request.apply(r)), replyTo, aggregate,
        settings.askTimeout().multipliedBy(4).dividedBy(5));
  }

  /** The members' memory figures as one: retained messages and bytes against the sum of their thresholds. */
  private static MemoryStats combine(List<MemoryStats> members) {
    long messages = 0;
    long bytes = 0;
    long threshold = 0;
    boolean pressure = false;
    List<MemoryStats.QueueMemory> queues = new ArrayList<>();
    for (MemoryStats m : members) {
      messages += m.totalMessages();
      bytes += m.totalBytes();
      threshold += m.thresholdBytes();
      pressure |= m.underPressure();
      queues.addAll(m.queues());
    }
    queues.sort(Comparator.comparing(MemoryStats.QueueMemory::queue));
    return new MemoryStats(messages, bytes, threshold, pressure, queues);
  }

  // ---- the queues this member hosts

  private Behavior<QueueManager.Command> onHosted(Hosted queue) {
    ActorRef<QueueActor.Command> before = hosted.put(queue.name(), queue.ref());
    if (before != null) {
      getContext().unwatch(before);
    }
    getContext().watchWith(queue.ref(), new HostedStopped(queue.name(), queue.ref()));
    janitor.tell(new Janitor.Track(queue.name(), queue.ref()));
    getContext().getLog().info("queue {} runs on this member", queue.name());
    return this;
  }

  private Behavior<QueueManager.Command> onHostedStopped(HostedStopped stopped) {
    if (isCurrent(stopped.name(), stopped.ref())) {
      hosted.remove(stopped.name());
      janitor.tell(new Janitor.Untrack(stopped.name()));
      journals.stopped(stopped.name(), false);
    }
    return this;
  }

  private boolean isCurrent(String name, ActorRef<QueueActor.Command> ref) {
    return ref.equals(hosted.get(name));
  }

  // ---- graceful shutdown

  private Behavior<QueueManager.Command> onDrain(QueueManager.Drain drain) {
    if (!shuttingDown) {
      shuttingDown = true;
      getContext().getLog().info("Spool shutting down: publishes through this member refused, waiting up to {} for"
          + " handler calls", drain.timeout());
    }
    Duration within = drain.timeout().plus(settings.askTimeout());
    getContext().askWithStatus(ConsumerActor.DrainResult.class, getContext().getSelf(), within,
        r -> new DrainQueues(drain.timeout(), r),
        (result, failure) -> new Drained(result, failure, drain.replyTo()));
    return this;
  }

  private Behavior<QueueManager.Command> onDrainQueues(DrainQueues drain) {
    this.<ConsumerActor.DrainResult, ConsumerActor.DrainResult>toHostedQueues(
        r -> new QueueActor.Drain(drain.timeout(), r), drain.replyTo(), ConsumerActor.DrainResult::sum,
        drain.timeout().plus(settings.askTimeout()));
    return this;
  }

  private Behavior<QueueManager.Command> onDrained(Drained done) {
    if (done.failure() != null) {
      done.replyTo().tell(StatusReply.error(done.failure()));
      return this;
    }
    drained = done.result();
    done.replyTo().tell(StatusReply.success(done.result()));
    return this;
  }

  private Behavior<QueueManager.Command> onStop(QueueManager.Stop stop) {
    // Durable queues first write what they gathered; sharding hands the queues over as the member leaves.
    this.<Done, Done>toHostedQueues(QueueActor.Flush::new, getContext().messageAdapter(
        Request.<Done>statusClass(), flushed -> new Flushed(stop)), done -> Done.getInstance(), settings.askTimeout());
    return this;
  }

  private Behavior<QueueManager.Command> stopNow(QueueManager.Stop stop) {
    getContext().getLog().info("Spool stopping: {} queues on this member", hosted.size());
    Events.publish(getContext().getSystem(), new SpoolEvent.Shutdown(settings.clock().instant(), drained.finished(),
        drained.abandoned()));
    stop.replyTo().tell(StatusReply.success(Done.getInstance()));
    return Behaviors.stopped();
  }

  private <R, A> void toHostedQueues(Function<ActorRef<StatusReply<R>>, QueueActor.Command> request,
      ActorRef<StatusReply<A>> replyTo, Function<List<R>, A> aggregate, Duration timeout) {
    Aggregator.askEvery(getContext(), List.copyOf(hosted.values()), request, replyTo, aggregate, timeout);
  }
}
