package dev.spool.actor;

import dev.spool.SpoolException;
import dev.spool.durable.QueueRegistry;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.StashBuffer;

/**
 * The {@link QueueManager} until the registry of durable queues is read: the queues that exist
 * already (the transient default queue) serve, health probes, drain and shutdown are answered
 * ({@link QueueManager#servesWhileStarting}), and the other commands wait in a bounded stash and run
 * once the durable queues exist. Once a read of the registry failed, they are refused with
 * {@code JournalUnavailable} until one succeeds, so that nothing a caller gave up on runs later.
 */
final class ManagerStartup {

  /**
   * Commands held while the registry of durable queues is read; more are refused with Timeout, and
   * all with JournalUnavailable once a read failed.
   */
  static final int STASH = 10_000;

  private ManagerStartup() {}

  static Behavior<QueueManager.Command> behavior(QueueManager manager, DurableQueues<?> durable,
      StashBuffer<QueueManager.Command> stash) {
    return Behaviors.receive((context, command) -> {
      if (command instanceof QueueManager.RegistryReply reply) {
        if (reply.reply() instanceof QueueRegistry.Recovered recovered) {
          manager.onRegistryRecovered(recovered);
          return stash.unstashAll(manager);
        }
        manager.onRegistryReply(reply);
        SpoolException refusal = durable.refusal();
        stash.forEach(waiting -> refuse(waiting, refusal));
        stash.clear();
        return Behaviors.same();
      }
      if (manager.servesWhileStarting(command)) {
        Behavior<QueueManager.Command> next = manager.receive(context, command);
        return next == manager ? Behaviors.same() : next; // still starting, unless it stopped
      }
      if (durable.registryFailed()) {
        refuse(command, durable.refusal());
      } else if (stash.isFull()) {
        refuse(command, new SpoolException.Timeout("Spool is still reading its durable queues; try again"));
      } else {
        stash.stash(command);
      }
      return Behaviors.same();
    });
  }

  private static void refuse(QueueManager.Command command, SpoolException e) {
    if (command instanceof Request<?> request) {
      Request.fail(request, e);
    } else if (command instanceof QueueManager.ToQueue toQueue && toQueue.command() instanceof Request<?> request) {
      Request.fail(request, e);
    } else if (command instanceof QueueManager.ToJanitor toJanitor
        && toJanitor.command() instanceof Request<?> request) {
      Request.fail(request, e);
    } else if (command instanceof QueueManager.ToQueue toQueue
        && toQueue.command() instanceof QueueActor.ToConsumer toConsumer
        && toConsumer.command() instanceof Request<?> request) {
      Request.fail(request, e);
    }
  }
}
