package dev.spool.actor;

import dev.spool.Durability;
import dev.spool.MemoryStats;
import dev.spool.Names;
import dev.spool.QueueInfo;
import dev.spool.QueueSettings;
import dev.spool.SpoolEvent;
import dev.spool.SpoolException;
import dev.spool.SpoolSettings;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
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
 * exists. Its child {@link Janitor} ticks the queues; the {@link MemoryMonitor} it shares with them
 * holds every queue's retained bytes against the global threshold.
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

  /** Free what no consumer needs, in every queue; the reply is how many messages were freed. */
  public record CollectGarbage(ActorRef<StatusReply<Long>> replyTo) implements Command, Request<Long> {}

  /**
   * If retained bytes are at the threshold (or pressure is on and over the low-water mark), collect
   * garbage and apply overflow policies everywhere; the reply says whether pressure was found.
   */
  public record CheckMemoryPressure(ActorRef<StatusReply<Boolean>> replyTo) implements Command, Request<Boolean> {}

  /** Retained messages and bytes, per queue and in total, against the threshold. */
  public record GetMemoryStats(ActorRef<StatusReply<MemoryStats>> replyTo) implements Command, Request<MemoryStats> {}

  /** Set the global memory threshold in bytes (0 for none). */
  public record SetMemoryThreshold(long bytes, ActorRef<StatusReply<Done>> replyTo) implements Command, Request<Done> {}

  /**
   * Remove, in every queue, consumers stale for {@code staleAfter} whose lag exceeds
   * {@code lagThreshold}; the reply is how many were removed.
   */
  public record CleanupStaleConsumers(Duration staleAfter, long lagThreshold, ActorRef<StatusReply<Integer>> replyTo)
      implements Command, Request<Integer> {}

  /**
   * Begin a graceful shutdown: refuse publishes from now on ({@code ShuttingDown}), stop delivering,
   * and answer once handler calls in flight have finished or {@code timeout} passed.
   */
  public record Drain(Duration timeout, ActorRef<StatusReply<ConsumerActor.DrainResult>> replyTo)
      implements Command, Request<ConsumerActor.DrainResult> {}

  private record DrainQueues(Duration timeout, ActorRef<StatusReply<ConsumerActor.DrainResult>> replyTo)
      implements Command {}

  private record Drained(ConsumerActor.DrainResult result, Throwable failure,
      ActorRef<StatusReply<ConsumerActor.DrainResult>> replyTo) implements Command {}

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
  private final MemoryMonitor memory;
  private final ActorRef<Janitor.Command> janitor;
  private long incarnations;
  /** Set by {@link Drain}: publishes and new queues are refused. */
  private boolean shuttingDown;
  private ConsumerActor.DrainResult drained = new ConsumerActor.DrainResult(0, 0);

  private QueueManager(ActorContext<Command> context, SpoolSettings settings) {
    super(context);
    this.settings = settings;
    this.memory = new MemoryMonitor(settings.memoryThresholdBytes(),
        event -> Events.publish(context.getSystem(), event), settings.clock());
    this.janitor = context.spawn(Janitor.create(settings.janitor().interval(), memory), "janitor");
    memory.onPressure(() -> janitor.tell(Janitor.PressureBegan.INSTANCE));
    spawnQueue(settings.defaultQueue(), QueueSettings.defaults());
    Events.publish(context.getSystem(), new SpoolEvent.Started(settings.clock().instant(), dev.spool.Spool.version()));
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
        .onMessage(CollectGarbage.class, this::onCollectGarbage)
        .onMessage(CheckMemoryPressure.class, this::onCheckMemoryPressure)
        .onMessage(GetMemoryStats.class, this::onGetMemoryStats)
        .onMessage(SetMemoryThreshold.class, this::onSetMemoryThreshold)
        .onMessage(CleanupStaleConsumers.class, this::onCleanupStale)
        .onMessage(Drain.class, this::onDrain)
        .onMessage(DrainQueues.class, this::onDrainQueues)
        .onMessage(Drained.class, this::onDrained)
        .build();
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
    Entry existing = queues.get(create.name());
    if (existing != null) {
      if (existing.settings().equals(create.settings())) {
        answerWithInfo(existing.ref(), false, create.replyTo());
      } else {
        Request.fail(create, new SpoolException.QueueAlreadyExists(create.name()));
      }
      return this;
    }
    QueueSettings.DeadLetter deadLetter = create.settings().deadLetter();
    if (deadLetter != null && !queues.containsKey(deadLetter.queue())) {
      // A dead-letter queue that does not exist yet is created with defaults, so that nothing given
      // up on has nowhere to go; create it first to choose its settings.
      created(deadLetter.queue(), spawnQueue(deadLetter.queue(), QueueSettings.defaults()), QueueSettings.defaults());
    }
    ActorRef<QueueActor.Command> ref = spawnQueue(create.name(), create.settings());
    created(create.name(), ref, create.settings());
    answerWithInfo(ref, true, create.replyTo());
    return this;
  }

  private void created(String name, ActorRef<QueueActor.Command> ref, QueueSettings queueSettings) {
    getContext().getLog().info("queue {} created", name);
    Events.publish(getContext().getSystem(), new SpoolEvent.QueueCreated(settings.clock().instant(), name,
        queueSettings));
  }

  /**
   * Settings whose behaviour is not built yet are refused rather than silently ignored: a user who
   * asks for a ttl or a dead-letter queue must not believe they have one.
   */
  private static void requireSupported(String name, QueueSettings s) {
    if (s.durability() == Durability.PERSISTENT) {
      throw new SpoolException.InvalidConfiguration("persistent queues are not available in this version");
    }
    if (s.deadLetter() != null && s.deadLetter().queue().equals(name)) {
      throw new SpoolException.InvalidConfiguration("queue '" + name + "' cannot be its own dead-letter queue");
    }
  }

  private ActorRef<QueueActor.Command> spawnQueue(String name, QueueSettings queueSettings) {
    // Resume, not restart: a restart would lose the log. A failure here is a bug in one command's
    // handling; the queue's data stays consistent because every handler validates before it writes.
    ActorRef<QueueActor.Command> ref = getContext().spawn(
        Behaviors.supervise(QueueActor.create(name, queueSettings, settings, memory, getContext().getSelf()))
            .onFailure(SupervisorStrategy.resume()),
        "queue-" + name + "-" + (++incarnations));
    getContext().watchWith(ref, new QueueTerminated(name, ref));
    janitor.tell(new Janitor.Track(name, ref));
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
    // Announced before the queue stops: its stop releases its memory, which may end memory pressure.
    Events.publish(getContext().getSystem(), new SpoolEvent.QueueDeleted(settings.clock().instant(), delete.name()));
    getContext().unwatch(entry.ref());
    getContext().stop(entry.ref());
    janitor.tell(new Janitor.Untrack(delete.name()));
    getContext().getLog().info("queue {} deleted", delete.name());
    delete.replyTo().tell(StatusReply.success(Done.getInstance()));
    return this;
  }

  private Behavior<Command> onListQueues(ListQueues list) {
    toEveryQueue(QueueActor.GetInfo::new, list.replyTo(),
        infos -> infos.stream().sorted(Comparator.comparing(QueueInfo::name)).toList());
    return this;
  }

  private Behavior<Command> onToQueue(ToQueue envelope) {
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

  // ---- janitor operations on demand

  private Behavior<Command> onCollectGarbage(CollectGarbage collect) {
    toEveryQueue(QueueActor.CollectGarbage::new, collect.replyTo(),
        freed -> freed.stream().mapToLong(Long::longValue).sum());
    return this;
  }

  private Behavior<Command> onCheckMemoryPressure(CheckMemoryPressure check) {
    if (!memory.needsRelief()) {
      check.replyTo().tell(StatusReply.success(false));
      return this;
    }
    toEveryQueue(QueueActor.Relieve::new, check.replyTo(), freed -> true);
    return this;
  }

  private Behavior<Command> onGetMemoryStats(GetMemoryStats get) {
    toEveryQueue(QueueActor.GetInfo::new, get.replyTo(), infos -> {
      List<MemoryStats.QueueMemory> perQueue = infos.stream()
          .sorted(Comparator.comparing(QueueInfo::name))
          .map(i -> new MemoryStats.QueueMemory(i.name(), i.stats().depth(), i.stats().bytes()))
          .toList();
      return new MemoryStats(perQueue.stream().mapToLong(MemoryStats.QueueMemory::messages).sum(),
          perQueue.stream().mapToLong(MemoryStats.QueueMemory::bytes).sum(),
          memory.threshold(), memory.underPressure(), perQueue);
    });
    return this;
  }

  private Behavior<Command> onSetMemoryThreshold(SetMemoryThreshold set) {
    if (set.bytes() < 0) {
      Request.fail(set, new SpoolException.InvalidConfiguration(
          "the memory threshold must be 0 (none) or a positive number of bytes, not " + set.bytes()));
      return this;
    }
    memory.setThreshold(set.bytes());
    getContext().getLog().info("memory threshold set to {} bytes", set.bytes());
    set.replyTo().tell(StatusReply.success(Done.getInstance()));
    return this;
  }

  private Behavior<Command> onCleanupStale(CleanupStaleConsumers cleanup) {
    if (cleanup.lagThreshold() < 0 || cleanup.staleAfter() == null || cleanup.staleAfter().isNegative()) {
      Request.fail(cleanup, new SpoolException.InvalidConfiguration(
          "the lag threshold and the idle time must not be negative"));
      return this;
    }
    this.<Integer, Integer>toEveryQueue(
        r -> new QueueActor.CleanupStale(cleanup.staleAfter(), cleanup.lagThreshold(), r),
        cleanup.replyTo(), removed -> removed.stream().mapToInt(Integer::intValue).sum());
    return this;
  }

  /** Sends {@code request} to every queue and answers {@code replyTo} with {@code aggregate} of the replies. */
  private <R, A> void toEveryQueue(Function<ActorRef<StatusReply<R>>, QueueActor.Command> request,
      ActorRef<StatusReply<A>> replyTo, Function<List<R>, A> aggregate) {
    toEveryQueue(request, replyTo, aggregate, settings.askTimeout());
  }

  private <R, A> void toEveryQueue(Function<ActorRef<StatusReply<R>>, QueueActor.Command> request,
      ActorRef<StatusReply<A>> replyTo, Function<List<R>, A> aggregate, Duration timeout) {
    List<ActorRef<QueueActor.Command>> refs = queues.values().stream().map(Entry::ref).toList();
    getContext().spawnAnonymous(Aggregator.<R, A>create(
        self -> refs.forEach(ref -> ref.tell(request.apply(self))),
        refs.size(),
        replyTo,
        aggregate,
        timeout));
  }
}
