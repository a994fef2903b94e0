package dev.spool.actor;

import dev.spool.Durability;
import dev.spool.SpoolEvent;
import dev.spool.SpoolException;
import dev.spool.SpoolSettings;
import dev.spool.durable.RegistryEvent;
import java.time.Duration;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.StashBuffer;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;

/**
 * A queue as an entity of Pekko Cluster Sharding (cluster mode): started by sharding on whichever
 * member holds its shard, it asks the {@link QueueDirectory} for the queue's definition, then runs
 * the {@link QueueActor} as its child and passes it every command. A name the directory does not
 * know answers {@code QueueNotFound} and stops. The queue registers with its member's
 * {@link ClusterQueueManager} (memory, janitor, journal health), as a standalone queue is its
 * manager's child.
 */
public final class QueueEntity {

  /** Starts a queue that is not running (sent by the directory so that persistent queues serve without traffic). */
  public enum Wake implements QueueActor.Command {
    INSTANCE
  }

  /** The queue was deleted: stop it (its journal is purged by the directory). */
  public enum Retire implements QueueActor.Command {
    INSTANCE
  }

  // To itself only (the directory's adapted answer, its retry timer): never sent to another member.

  private record Looked(QueueDirectory.Definition definition, Throwable failure)
      implements QueueActor.Command, NoSerializationVerificationNeeded {}

  private enum LookAgain implements QueueActor.Command, NoSerializationVerificationNeeded {
    INSTANCE
  }

  /** Commands held while the definition is read; more are refused, so that a slow directory cannot fill the heap. */
  static final int STASH = 1_000;

  /** How long a failed look-up waits before it is tried again (the singleton may be moving to another member). */
  private static final Duration LOOK_AGAIN = Duration.ofMillis(500);

  /** The entity type of an engine's queues; engines on one cluster keep apart by name. */
  public static EntityTypeKey<QueueActor.Command> key(String engine) {
    return EntityTypeKey.create(QueueActor.Command.class, engine + "-queue");
  }

  /**
   * @param shard the entity's shard: a queue that stops (deleted, unknown, failed) passivates through
   *     it, so that commands arriving meanwhile wait in the shard and start it again rather than being lost
   */
  static Behavior<QueueActor.Command> create(String name, SpoolSettings settings, MemoryMonitor memory,
      ActorRef<QueueManager.Command> manager, ActorRef<QueueDirectory.Command> directory,
      ActorRef<ClusterSharding.ShardCommand> shard) {
    return Behaviors.withStash(STASH, stash -> Behaviors.setup(context -> Behaviors.withTimers(timers ->
        new QueueEntity(name, settings, memory, manager, directory, shard, context, stash, timers).starting())));
  }

  private final String name;
  private final SpoolSettings settings;
  private final MemoryMonitor memory;
  private final ActorRef<QueueManager.Command> manager;
  private final ActorRef<QueueDirectory.Command> directory;
  private final ActorRef<ClusterSharding.ShardCommand> shard;
  private final ActorContext<QueueActor.Command> context;
  private final StashBuffer<QueueActor.Command> stash;
  private final TimerScheduler<QueueActor.Command> timers;
  /** The queue, once the directory told its definition. */
  private ActorRef<QueueActor.Command> queue;

  private QueueEntity(String name, SpoolSettings settings, MemoryMonitor memory, ActorRef<QueueManager.Command> manager,
      ActorRef<QueueDirectory.Command> directory, ActorRef<ClusterSharding.ShardCommand> shard,
      ActorContext<QueueActor.Command> context, StashBuffer<QueueActor.Command> stash,
      TimerScheduler<QueueActor.Command> timers) {
    this.name = name;
    this.settings = settings;
    this.memory = memory;
    this.manager = manager;
    this.directory = directory;
    this.shard = shard;
    this.context = context;
    this.stash = stash;
    this.timers = timers;
  }

  /** Asks the directory for the definition; commands wait meanwhile. */
  private Behavior<QueueActor.Command> starting() {
    lookUp();
    return Behaviors.receive(QueueActor.Command.class)
        .onMessage(Looked.class, this::onLooked)
        .onMessageEquals(LookAgain.INSTANCE, this::onLookAgain)
        .onMessageEquals(Wake.INSTANCE, Behaviors::same)
        .onMessageEquals(Retire.INSTANCE, () -> retiring(new SpoolException.QueueNotFound(name)))
        .onAnyMessage(this::holdUntilDefined)
        .build();
  }

  private void lookUp() {
    context.askWithStatus(QueueDirectory.Definition.class, directory, settings.askTimeout(),
        r -> new QueueDirectory.Lookup(name, r), Looked::new);
  }

  private Behavior<QueueActor.Command> onLookAgain() {
    lookUp();
    return Behaviors.same();
  }

  private Behavior<QueueActor.Command> holdUntilDefined(QueueActor.Command command) {
    if (stash.isFull()) {
      refuse(command, new SpoolException.Timeout("queue '" + name + "' is starting; try again"));
    } else {
      stash.stash(command);
    }
    return Behaviors.same();
  }

  private Behavior<QueueActor.Command> onLooked(Looked looked) {
    if (looked.failure() != null) {
      timers.startSingleTimer(LookAgain.INSTANCE, LOOK_AGAIN);
      return Behaviors.same();
    }
    RegistryEvent.QueueDefined q = looked.definition().queue();
    if (q == null) {
      SpoolException missing = new SpoolException.QueueNotFound(name);
      stash.forEach(command -> refuse(command, missing));
      stash.clear();
      return retiring(missing);
    }
    if (q.settings().partitioned()) {
      return stash.unstashAll(frontOf(q));
    }
    return stash.unstashAll(running(q, looked.definition().fresh()));
  }

  /**
   * A partitioned queue is its partitions' entities; every member runs a front for it. A command
   * that reaches this entity came from a member that does not know the queue is partitioned yet
   * (created on another member a moment ago): it goes to this member's front, until the queue is deleted.
   */
  private Behavior<QueueActor.Command> frontOf(RegistryEvent.QueueDefined q) {
    return Behaviors.receive(QueueActor.Command.class)
        .onMessageEquals(Wake.INSTANCE, Behaviors::same)
        .onMessageEquals(Retire.INSTANCE, () -> retiring(new SpoolException.QueueNotFound(name)))
        .onAnyMessage(command -> {
          manager.tell(new ClusterQueueManager.ToPartitioned(q.name(), q.settings(), command));
          return Behaviors.same();
        })
        .build();
  }

  private Behavior<QueueActor.Command> running(RegistryEvent.QueueDefined q, boolean fresh) {
    boolean persistent = q.settings().durability() == Durability.PERSISTENT;
    // Resume, as a standalone manager supervises its queues: a restart would lose the log.
    queue = context.spawn(
        Behaviors.supervise(QueueActor.create(q.name(), q.settings(), settings, memory, manager,
                persistent ? new QueueActor.Durable(q.incarnation(), q.idSeed()) : null))
            .onFailure(SupervisorStrategy.resume()),
        "queue");
    context.watch(queue);
    manager.tell(new ClusterQueueManager.Hosted(q.name(), queue, q.settings(), persistent));
    if (!persistent && !fresh) {
      context.getLog().warn("transient queue {} started empty on this member: its messages and consumers were lost"
          + " with the member that held it", q.name());
      Events.publish(context.getSystem(), new SpoolEvent.QueueLost(settings.clock().instant(), q.name()));
    }
    return Behaviors.receive(QueueActor.Command.class)
        .onMessageEquals(Wake.INSTANCE, Behaviors::same)
        .onMessageEquals(Retire.INSTANCE, this::onRetire)
        .onAnyMessage(this::forward)
        .onSignal(Terminated.class, this::onQueueStopped)
        .build();
  }

  private Behavior<QueueActor.Command> forward(QueueActor.Command command) {
    queue.tell(command);
    return Behaviors.same();
  }

  private Behavior<QueueActor.Command> onRetire() {
    context.unwatch(queue);
    context.stop(queue);
    return retiring(new SpoolException.QueueNotFound(name));
  }

  /** The queue stopped on its own: this entity passivates, and its next command starts it again. */
  private Behavior<QueueActor.Command> onQueueStopped(Terminated terminated) {
    return retiring(new SpoolException.Timeout("queue '" + name + "' is restarting; try again"));
  }

  /**
   * Passivates: until sharding stops this entity, what still arrives is answered with {@code answer};
   * what arrives after waits in the shard and starts the entity again, which asks the directory afresh.
   */
  private Behavior<QueueActor.Command> retiring(SpoolException answer) {
    shard.tell(new ClusterSharding.Passivate<>(context.getSelf()));
    return Behaviors.receive(QueueActor.Command.class)
        .onAnyMessage(command -> refuseWith(command, answer))
        .build();
  }

  private static Behavior<QueueActor.Command> refuseWith(QueueActor.Command command, SpoolException answer) {
    refuse(command, answer);
    return Behaviors.same();
  }

  private static void refuse(QueueActor.Command command, SpoolException e) {
    if (command instanceof Request<?> request) {
      Request.fail(request, e);
    } else if (command instanceof QueueActor.ToConsumer toConsumer && toConsumer.command() instanceof Request<?> r) {
      Request.fail(r, e);
    }
  }
}
