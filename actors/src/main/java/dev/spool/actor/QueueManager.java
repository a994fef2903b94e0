package dev.spool.actor;

import dev.spool.Durability;
import dev.spool.Names;
import dev.spool.Overflow;
import dev.spool.QueueInfo;
import dev.spool.QueueSettings;
import dev.spool.SpoolException;
import dev.spool.SpoolSettings;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.Done;
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
 * name ({@link ToQueue}), as a cluster sharding region would. The {@code default} queue always
 * exists.
 */
public final class QueueManager extends AbstractBehavior<QueueManager.Command> {

  /** Everything the manager understands. */
  public interface Command {}

  /** Create a queue; idempotent for equal settings. */
  public record CreateQueue(String name, QueueSettings settings, ActorRef<StatusReply<Created<QueueInfo>>> replyTo)
      implements Command, Request<Created<QueueInfo>> {}

  /** Delete a queue with its messages and consumers. */
  public record DeleteQueue(String name, ActorRef<StatusReply<Done>> replyTo) implements Command, Request<Done> {}

  /** Describe every queue, by name. */
  public record ListQueues(ActorRef<StatusReply<List<QueueInfo>>> replyTo)
      implements Command, Request<List<QueueInfo>> {}

  /** Route {@code command} to the named queue (answering {@code QueueNotFound} if there is none). */
  public record ToQueue(String queue, QueueActor.Command command) implements Command {}

  /** Stop every queue and the manager. */
  public record Stop(ActorRef<StatusReply<Done>> replyTo) implements Command, Request<Done> {}

  private record QueueTerminated(String name, ActorRef<QueueActor.Command> ref) implements Command {}

  /** A reply that arrived through this actor's own ask, passed on to the original asker. */
  private record Answer<T>(StatusReply<T> reply, ActorRef<StatusReply<T>> replyTo) implements Command {
    void deliver() {
      replyTo.tell(reply);
    }
  }

  private record Entry(ActorRef<QueueActor.Command> ref, QueueSettings settings) {}

  /** The manager with its default queue. */
  public static Behavior<Command> create(SpoolSettings settings) {
    return Behaviors.setup(context -> new QueueManager(context, settings));
  }

  private final SpoolSettings settings;
  private final Map<String, Entry> queues = new HashMap<>();
  private long incarnations;

  private QueueManager(ActorContext<Command> context, SpoolSettings settings) {
    super(context);
    this.settings = settings;
    spawnQueue(settings.defaultQueue(), QueueSettings.defaults());
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(CreateQueue.class, this::onCreateQueue)
        .onMessage(DeleteQueue.class, this::onDeleteQueue)
        .onMessage(ListQueues.class, this::onListQueues)
        .onMessage(ToQueue.class, this::onToQueue)
        .onMessage(QueueTerminated.class, this::onQueueTerminated)
        .onMessage(Answer.class, this::onAnswer)
        .onMessage(Stop.class, this::onStop)
        .build();
  }

  private Behavior<Command> onCreateQueue(CreateQueue create) {
    try {
      Names.requireValid("queue", create.name());
      requireSupported(create.settings());
    } catch (SpoolException e) {
      Request.fail(create, e);
      return this;
    }
    Entry existing = queues.get(create.name());
    if (existing != null) {
      if (existing.settings().equals(create.settings())) {
        answerWithInfo(existing.ref(), false, create.replyTo());
      } else {
        Request.fail(create, new SpoolException.QueueAlreadyExists(create.name()));
      }
      return this;
    }
    ActorRef<QueueActor.Command> ref = spawnQueue(create.name(), create.settings());
    getContext().getLog().info("queue {} created", create.name());
    answerWithInfo(ref, true, create.replyTo());
    return this;
  }

  /**
   * Settings whose behaviour is not built yet are refused rather than silently ignored: a user who
   * asks for a ttl or a dead-letter queue must not believe they have one.
   */
  private static void requireSupported(QueueSettings s) {
    if (s.durability() == Durability.PERSISTENT) {
      throw new SpoolException.InvalidConfiguration("persistent queues are not available in this version");
    }
    if (s.ttl() != null || !s.retention().isZero()) {
      throw new SpoolException.InvalidConfiguration("ttl and retention are not available in this version");
    }
    if (s.deadLetter() != null) {
      throw new SpoolException.InvalidConfiguration("dead-letter queues are not available in this version");
    }
    if (s.overflow() == Overflow.DROP_OLDEST) {
      throw new SpoolException.InvalidConfiguration("overflow drop-oldest is not available in this version");
    }
  }

  private ActorRef<QueueActor.Command> spawnQueue(String name, QueueSettings queueSettings) {
    // Resume, not restart: a restart would lose the log. A failure here is a bug in one command's
    // handling; the queue's data stays consistent because every handler validates before it writes.
    ActorRef<QueueActor.Command> ref = getContext().spawn(
        Behaviors.supervise(QueueActor.create(name, queueSettings, settings)).onFailure(SupervisorStrategy.resume()),
        "queue-" + name + "-" + (++incarnations));
    getContext().watchWith(ref, new QueueTerminated(name, ref));
    queues.put(name, new Entry(ref, queueSettings));
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
    Entry entry = queues.remove(delete.name());
    if (entry == null) {
      Request.fail(delete, new SpoolException.QueueNotFound(delete.name()));
      return this;
    }
    getContext().unwatch(entry.ref());
    getContext().stop(entry.ref());
    getContext().getLog().info("queue {} deleted", delete.name());
    delete.replyTo().tell(StatusReply.success(Done.getInstance()));
    return this;
  }

  private Behavior<Command> onListQueues(ListQueues list) {
    List<ActorRef<QueueActor.Command>> refs = queues.values().stream().map(Entry::ref).toList();
    getContext().spawnAnonymous(Aggregator.<QueueInfo, List<QueueInfo>>create(
        self -> refs.forEach(ref -> ref.tell(new QueueActor.GetInfo(self))),
        refs.size(),
        list.replyTo(),
        infos -> infos.stream().sorted(Comparator.comparing(QueueInfo::name)).toList(),
        settings.askTimeout()));
    return this;
  }

  private Behavior<Command> onToQueue(ToQueue envelope) {
    Entry entry = queues.get(envelope.queue());
    if (entry != null) {
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
    getContext().getLog().info("Spool stopping: {} queues", queues.size());
    stop.replyTo().tell(StatusReply.success(Done.getInstance()));
    return Behaviors.stopped();
  }

  private Behavior<Command> onQueueTerminated(QueueTerminated terminated) {
    Entry entry = queues.get(terminated.name());
    if (entry != null && entry.ref().equals(terminated.ref())) {
      queues.remove(terminated.name());
      getContext().getLog().error("queue {} stopped unexpectedly; its messages are gone", terminated.name());
    }
    return this;
  }
}
