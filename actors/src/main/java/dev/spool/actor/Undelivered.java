package dev.spool.actor;

import dev.spool.SpoolException;
import dev.spool.queue.Partitions;
import org.apache.pekko.actor.ActorPath;
import org.apache.pekko.actor.DeadLetter;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.eventstream.EventStream;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * Answers at once a request that reached a queue or consumer actor of this engine only after it
 * had stopped (deleted, or its queue deleted): Pekko hands such a message to its dead letters,
 * which this actor listens to, and answers {@code QueueNotFound} or {@code ConsumerNotFound}
 * rather than leaving the caller to its ask timeout. The answer is exact: a dead letter was never
 * handled, and its target was gone before it took the call. This matters most for calls the facade
 * sends straight to an actor it located (publishes, acknowledgements), where the window is the
 * whole life of the reference, but it closes the same window of calls routed by name, between the
 * routing and the target's stop. Only dead letters addressed below this engine's manager are
 * answered: another engine on the same actor system answers its own.
 */
public final class Undelivered extends AbstractBehavior<DeadLetter> {

  private static final String QUEUE_PREFIX = "queue-";
  /** The front of a partitioned queue, which publishes to it reach first. */
  private static final String FRONT_PREFIX = "partitioned-";
  private static final String CONSUMER_PREFIX = "consumer-";

  /** Listens to the dead letters of actors below {@code manager}. */
  public static Behavior<DeadLetter> create(ActorRef<?> manager) {
    return Behaviors.setup(context -> {
      context.getSystem().eventStream().tell(new EventStream.Subscribe<>(DeadLetter.class, context.getSelf()));
      return new Undelivered(context, manager.path());
    });
  }

  private final ActorPath manager;

  private Undelivered(ActorContext<DeadLetter> context, ActorPath manager) {
    super(context);
    this.manager = manager;
  }

  @Override
  public Receive<DeadLetter> createReceive() {
    return newReceiveBuilder().onMessage(DeadLetter.class, this::onDeadLetter).build();
  }

  private Behavior<DeadLetter> onDeadLetter(DeadLetter dead) {
    // A call routed by name to a consumer reaches its queue first, in an envelope.
    Object message = dead.message() instanceof QueueActor.ToConsumer envelope ? envelope.command() : dead.message();
    if (message instanceof Request<?> request && below(dead.recipient().path())) {
      ActorPath path = dead.recipient().path();
      if (request instanceof ConsumerActor.Command && path.name().startsWith(CONSUMER_PREFIX)) {
        Request.fail(request, new SpoolException.ConsumerNotFound(queueName(path.parent().name()),
            spawnedName(path.name(), CONSUMER_PREFIX)));
      } else if (path.name().startsWith(QUEUE_PREFIX)) { // a queue's own call, or one for its consumer
        Request.fail(request, new SpoolException.QueueNotFound(queueName(path.name())));
      } else if (path.name().startsWith(FRONT_PREFIX)) {
        Request.fail(request, new SpoolException.QueueNotFound(spawnedName(path.name(), FRONT_PREFIX)));
      }
    }
    return this;
  }

  private boolean below(ActorPath path) {
    for (ActorPath p = path.parent(); p != p.parent(); p = p.parent()) { // up to the root, its own parent
      if (p.equals(manager)) {
        return true;
      }
    }
    return false;
  }

  /** A queue's name from its actor's ({@code queue-<name>-<incarnation>}, a partition's '#' spelled '~'). */
  private static String queueName(String actorName) {
    return spawnedName(actorName, QUEUE_PREFIX).replace('~', Partitions.SEPARATOR);
  }

  /** {@code <prefix><name>-<incarnation>} without its prefix and incarnation. */
  private static String spawnedName(String actorName, String prefix) {
    int end = actorName.lastIndexOf('-');
    return end > prefix.length() ? actorName.substring(prefix.length(), end) : actorName.substring(prefix.length());
  }
}
