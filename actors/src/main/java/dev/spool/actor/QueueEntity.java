package dev.spool.actor;

import dev.spool.Durability;
import dev.spool.SpoolEvent;
import dev.spool.SpoolException;
import dev.spool.SpoolSettings;
import dev.spool.durable.RegistryEvent;
import java.time.Duration;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.Terminated;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.StashBuffer;
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

  private record Looked(QueueDirectory.Definition definition, Throwable failure) implements QueueActor.Command {}

  private enum LookAgain implements QueueActor.Command {
    INSTANCE
  }

  /** Commands held while the definition is read; more are refused, so that a slow directory cannot fill the heap. */
  static final int STASH = 1_000;

  /** How long a failed look-up waits before it is tried again (the singleton may be moving to another member). */
  private static final Duration LOOK_AGAIN = Duration.ofMillis(500);

  private QueueEntity() {}

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
    return Behaviors.withStash(STASH, stash -> Behaviors.setup(context -> Behaviors.withTimers(timers -> {
      lookUp(context, directory, name, settings.askTimeout());
      return Behaviors.receive(QueueActor.Command.class)
          .onMessage(Looked.class, looked -> {
            if (looked.failure() != null) {
              timers.startSingleTimer(LookAgain.INSTANCE, LOOK_AGAIN);
              return Behaviors.same();
            }
            RegistryEvent.QueueDefined q = looked.definition().queue();
            if (q == null) {
              SpoolException missing = new SpoolException.QueueNotFound(name);
              stash.forEach(command -> refuse(command, missing));
              stash.clear();
              return retiring(context, shard, missing);
            }
            return stash.unstashAll(running(context, q, looked.definition().fresh(), settings, memory, manager, shard));
          })
          .onMessageEquals(LookAgain.INSTANCE, () -> {
            lookUp(context, directory, name, settings.askTimeout());
            return Behaviors.same();
          })
          .onMessageEquals(Wake.INSTANCE, Behaviors::same)
          .onMessageEquals(Retire.INSTANCE, () -> retiring(context, shard, new SpoolException.QueueNotFound(name)))
          .onAnyMessage(command -> {
            if (stash.isFull()) {
              refuse(command, new SpoolException.Timeout("queue '" + name + "' is starting; try again"));
            } else {
              stash.stash(command);
            }
            return Behaviors.same();
          })
          .build();
    })));
  }

  private static void lookUp(ActorContext<QueueActor.Command> context, ActorRef<QueueDirectory.Command> directory,
      String name, Duration timeout) {
    context.askWithStatus(QueueDirectory.Definition.class, directory, timeout,
        r -> new QueueDirectory.Lookup(name, r), Looked::new);
  }

  private static Behavior<QueueActor.Command> running(ActorContext<QueueActor.Command> context,
      RegistryEvent.QueueDefined q, boolean fresh, SpoolSettings settings, MemoryMonitor memory,
      ActorRef<QueueManager.Command> manager, ActorRef<ClusterSharding.ShardCommand> shard) {
    boolean persistent = q.settings().durability() == Durability.PERSISTENT;
    // Resume, as a standalone manager supervises its queues: a restart would lose the log.
    ActorRef<QueueActor.Command> queue = context.spawn(
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
        .onMessageEquals(Retire.INSTANCE, () -> {
          context.unwatch(queue);
          context.stop(queue);
          return retiring(context, shard, new SpoolException.QueueNotFound(q.name()));
        })
        .onAnyMessage(command -> {
          queue.tell(command);
          return Behaviors.same();
        })
        .onSignal(Terminated.class, terminated -> retiring(context, shard, // its next command starts it again
            new SpoolException.Timeout("queue '" + q.name() + "' is restarting; try again")))
        .build();
  }

  /**
   * Passivates: until sharding stops this entity, what still arrives is answered with {@code answer};
   * what arrives after waits in the shard and starts the entity again, which asks the directory afresh.
   */
  private static Behavior<QueueActor.Command> retiring(ActorContext<QueueActor.Command> context,
      ActorRef<ClusterSharding.ShardCommand> shard, SpoolException answer) {
    shard.tell(new ClusterSharding.Passivate<>(context.getSelf()));
    return Behaviors.receive(QueueActor.Command.class)
        .onAnyMessage(command -> {
          refuse(command, answer);
          return Behaviors.same();
        })
        .build();
  }

  private static void refuse(QueueActor.Command command, SpoolException e) {
    if (command instanceof Request<?> request) {
      Request.fail(request, e);
    } else if (command instanceof QueueActor.ToConsumer toConsumer && toConsumer.command() instanceof Request<?> r) {
      Request.fail(r, e);
    }
  }
}
