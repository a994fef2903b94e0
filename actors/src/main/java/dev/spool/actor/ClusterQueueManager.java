package dev.spool.actor;

import dev.spool.ClusterSettings;
import dev.spool.QueueSettings;
import dev.spool.SpoolEvent;
import dev.spool.SpoolException;
import dev.spool.SpoolSettings;
import dev.spool.storage.DiskAlarm;
import dev.spool.storage.TieredStorage;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
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

  /** From a queue entity: it runs here now. */
  record Hosted(String name, ActorRef<QueueActor.Command> ref, QueueSettings settings, boolean persistent)
      implements QueueManager.Command {}

  private record HostedStopped(String name, ActorRef<QueueActor.Command> ref) implements QueueManager.Command {}

  private enum Up implements QueueManager.Command {
    INSTANCE
  }

  private record Flushed(QueueManager.Stop stop) implements QueueManager.Command {}

  private record Drained(ConsumerActor.DrainResult result, Throwable failure,
      ActorRef<StatusReply<ConsumerActor.DrainResult>> replyTo) implements QueueManager.Command {}

  private record DrainQueues(Duration timeout, ActorRef<StatusReply<ConsumerActor.DrainResult>> replyTo)
      implements QueueManager.Command {}

  /**
   * The member's manager; {@code ready} completes once this member is up in the cluster.
   *
   * @param engine the engine's name: its entity type and singleton are named after it
   */
  public static Behavior<QueueManager.Command> create(SpoolSettings settings, ClusterSettings cluster, String engine,
      String version, CompletableFuture<Done> ready) {
    return Behaviors.setup(context -> new ClusterQueueManager(context, settings, cluster, engine, version, ready));
  }

  private final SpoolSettings settings;
  private final MemoryMonitor memory;
  private final ActorRef<Janitor.Command> janitor;
  private final ActorRef<QueueDirectory.Command> directory;
  private final ActorRef<ShardingEnvelope<QueueActor.Command>> region;
  private final DurableQueues<Void> journals;
  private final CompletableFuture<Done> ready;
  private final Map<String, ActorRef<QueueActor.Command>> hosted = new HashMap<>();
  private boolean shuttingDown;
  private ConsumerActor.DrainResult drained = new ConsumerActor.DrainResult(0, 0);

  private ClusterQueueManager(ActorContext<QueueManager.Command> context, SpoolSettings settings,
      ClusterSettings cluster, String engine, String version, CompletableFuture<Done> ready) {
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
    context.getLog().info("cluster mode: member {} joining", Cluster.get(context.getSystem()).selfMember().address());
    Events.publish(context.getSystem(), new SpoolEvent.Started(settings.clock().instant(), version));
  }

  @Override
  public Receive<QueueManager.Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(QueueManager.ToQueue.class, this::onToQueue)
        .onMessage(QueueManager.CreateQueue.class, this::onCreateQueue)
        .onMessage(QueueManager.DeleteQueue.class, delete -> {
          directory.tell(new QueueDirectory.Delete(delete.name(), delete.replyTo()));
          return this;
        })
        .onMessage(QueueManager.ListQueues.class, list -> {
          directory.tell(new QueueDirectory.ListQueues(list.replyTo()));
          return this;
        })
        .onMessage(QueueManager.ToJanitor.class, envelope -> {
          janitor.tell(envelope.command());
          return this;
        })
        .onMessage(Hosted.class, this::onHosted)
        .onMessage(HostedStopped.class, this::onHostedStopped)
        .onMessage(QueueManager.QueueRecovered.class, recovered -> {
          if (isCurrent(recovered.name(), recovered.ref())) {
            journals.journalState(recovered.name(), null);
          }
          return this;
        })
        .onMessage(QueueManager.JournalStateChanged.class, changed -> {
          if (isCurrent(changed.name(), changed.ref())) {
            journals.journalState(changed.name(), changed.problem());
          }
          return this;
        })
        .onMessage(QueueManager.GetJournalHealth.class, get -> {
          get.replyTo().tell(StatusReply.success(journals.health()));
          return this;
        })
        .onMessageEquals(Up.INSTANCE, this::onUp)
        .onMessage(QueueManager.Drain.class, this::onDrain)
        .onMessage(DrainQueues.class, this::onDrainQueues)
        .onMessage(Drained.class, this::onDrained)
        .onMessage(QueueManager.Stop.class, this::onStop)
        .onMessage(Flushed.class, flushed -> stopNow(flushed.stop()))
        .build();
  }

  private Behavior<QueueManager.Command> onUp() {
    getContext().getLog().info("cluster mode: member {} is up",
        Cluster.get(getContext().getSystem()).selfMember().address());
    ready.complete(Done.getInstance());
    return this;
  }

  private Behavior<QueueManager.Command> onToQueue(QueueManager.ToQueue envelope) {
    if (shuttingDown && envelope.command() instanceof QueueActor.Publish publish
        && !DeadLetters.DEAD_LETTER_PRODUCER.equals(publish.producerId())) {
      Request.fail(publish, new SpoolException.ShuttingDown());
    } else {
      region.tell(new ShardingEnvelope<>(envelope.queue(), envelope.command()));
    }
    return this;
  }

  private Behavior<QueueManager.Command> onCreateQueue(QueueManager.CreateQueue create) {
    if (shuttingDown) {
      Request.fail(create, new SpoolException.ShuttingDown());
    } else {
      directory.tell(new QueueDirectory.Create(create.name(), create.settings(), create.replyTo()));
    }
    return this;
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
