package dev.spool.actor;

import dev.spool.ConsumerInfo;
import dev.spool.DiskStats;
import dev.spool.LagStats;
import dev.spool.Limits;
import dev.spool.MemoryStats;
import dev.spool.QueueInfo;
import dev.spool.SpoolEvent;
import dev.spool.SpoolException;
import dev.spool.SpoolSettings;
import dev.spool.StaleConsumer;
import dev.spool.storage.DiskAlarm;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.pattern.StatusReply;

/**
 * Does what spans every queue: ticks them on a timer (each queue then expires, collects garbage,
 * samples its rates and checks its consumers for staleness itself, so the janitor stays a
 * scheduler, not a god actor), and answers the operations over all of them (garbage collection,
 * memory figures and threshold, lag, stale consumers) by asking each queue and aggregating the
 * replies ({@link QueueSurvey} computes the figures). When memory pressure begins it ticks the
 * queues at once with {@code relieve}, so that garbage collection and each queue's overflow policy
 * run without waiting for the next tick.
 *
 * <p>It also drives the engine's {@link DiskAlarm}: at start and on each tick it measures the free
 * space of the embedded journal's file system, off its own thread (a {@code statvfs} is cheap on a
 * local disk, but a network file system can block it for as long as the server is away, and the
 * ticks that expire and relieve must not wait behind it), one measure at a time, then raises or
 * clears the alarm with what was found, emitting {@code DiskLow} or {@code DiskNormal}.
 *
 * <p>A child of the {@link QueueManager}, which tells it which queues exist and routes its
 * commands to it ({@link QueueManager.ToJanitor}), so that they wait, like every other command,
 * while durable queues are read at start.
 */
public final class Janitor extends AbstractBehavior<Janitor.Command> {

  /** Everything the janitor understands. */
  public interface Command {}

  /** Free what no consumer needs, in every queue; the reply is how many messages were freed. */
  public record CollectGarbage(ActorRef<StatusReply<Long>> replyTo) implements Command, Request<Long> {}

  /**
   * If retained bytes are at the threshold (or pressure is on and over the low-water mark), collect
   * garbage and apply overflow policies everywhere; the reply says whether pressure was found.
   */
  public record CheckMemoryPressure(ActorRef<StatusReply<Boolean>> replyTo) implements Command, Request<Boolean> {}

  /** Retained messages and bytes, per queue and in total, against the threshold. */
  public record GetMemoryStats(ActorRef<StatusReply<MemoryStats>> replyTo) implements Command, Request<MemoryStats> {}

  /** The disk alarm of the embedded journal as last measured. */
  public record GetDiskStats(ActorRef<StatusReply<DiskStats>> replyTo) implements Command, Request<DiskStats> {}

  /** Set the global memory threshold in bytes (0 for none). */
  public record SetMemoryThreshold(long bytes, ActorRef<StatusReply<Done>> replyTo) implements Command, Request<Done> {}

  /** Lag over every consumer of every queue. */
  public record GetLagStats(ActorRef<StatusReply<LagStats>> replyTo) implements Command, Request<LagStats> {}

  /** The consumers of every queue with no subscriber attached and no read or acknowledgement for {@code idle}. */
  public record DetectStaleConsumers(Duration idle, ActorRef<StatusReply<List<StaleConsumer>>> replyTo)
      implements Command, Request<List<StaleConsumer>> {}

  /**
   * Remove, in every queue, consumers stale for {@code staleAfter} whose lag exceeds
   * {@code lagThreshold}; the reply names the ones removed.
   */
  public record CleanupStaleConsumers(Duration staleAfter, long lagThreshold,
      ActorRef<StatusReply<List<StaleConsumer>>> replyTo)
      implements Command, Request<List<StaleConsumer>> {}

  /** A queue to tick from now on. */
  record Track(String queue, ActorRef<QueueActor.Command> ref) implements Command {}

  /** A queue that is gone. */
  record Untrack(String queue) implements Command {}

  /** Memory pressure began: relieve it now. */
  enum PressureBegan implements Command {
    INSTANCE
  }

  private enum Tick implements Command {
    INSTANCE
  }

  /** What a measure of the journal's free space found: usable bytes, or why it could not tell. */
  private record DiskMeasured(long usableBytes, Throwable failure)
      implements Command, NoSerializationVerificationNeeded {} // piped to itself, never remote

  static Behavior<Command> create(SpoolSettings settings, MemoryMonitor memory) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers -> {
      timers.startTimerWithFixedDelay(Tick.INSTANCE, settings.janitor().interval());
      return new Janitor(context, settings, memory);
    }));
  }

  private final SpoolSettings settings;
  private final MemoryMonitor memory;
  private final Map<String, ActorRef<QueueActor.Command>> queues = new HashMap<>();
  private final DiskAlarm disk;
  /** Where free space is measured: a system call that may block. */
  private final Executor blocking;
  /** A measure is under way: the next tick does not start another (a blocked file system would pile them up). */
  private boolean measuring;
  /** The last measure failed: logged once, until one succeeds. */
  private boolean unmeasurable;

  private Janitor(ActorContext<Command> context, SpoolSettings settings, MemoryMonitor memory) {
    super(context);
    // Logs under this class, not under whichever Pekko class is on the stack at the first log line.
    context.setLoggerName(Janitor.class);
    this.settings = settings;
    this.memory = memory;
    this.disk = memory.disk();
    this.blocking = context.getSystem().dispatchers().lookup(DispatcherSelector.blocking());
    if (disk.enabled()) {
      context.getLog().info("Watching free space on the file system of {}: the disk alarm is raised, refusing"
          + " publishes to persistent queues, under {} bytes free", disk.path(), disk.limitBytes());
      measureDisk();
    }
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Track.class, this::onTrack)
        .onMessage(Untrack.class, this::onUntrack)
        .onMessageEquals(Tick.INSTANCE, this::onTick)
        .onMessage(DiskMeasured.class, this::onDiskMeasured)
        .onMessageEquals(PressureBegan.INSTANCE, this::onPressureBegan)
        .onMessage(CollectGarbage.class, this::onCollectGarbage)
        .onMessage(CheckMemoryPressure.class, this::onCheckMemoryPressure)
        .onMessage(GetMemoryStats.class, this::onGetMemoryStats)
        .onMessage(SetMemoryThreshold.class, this::onSetMemoryThreshold)
        .onMessage(GetDiskStats.class, this::onGetDiskStats)
        .onMessage(GetLagStats.class, this::onGetLagStats)
        .onMessage(DetectStaleConsumers.class, this::onDetectStale)
        .onMessage(CleanupStaleConsumers.class, this::onCleanupStale)
        .build();
  }

  private Behavior<Command> onTrack(Track track) {
    queues.put(track.queue(), track.ref());
    return this;
  }

  private Behavior<Command> onUntrack(Untrack untrack) {
    queues.remove(untrack.queue());
    return this;
  }

  private Behavior<Command> onTick() {
    measureDisk();
    return tick(memory.needsRelief());
  }

  private void measureDisk() {
    if (!disk.enabled() || measuring) {
      return;
    }
    measuring = true;
    getContext().pipeToSelf(CompletableFuture.supplyAsync(() -> {
      try {
        return disk.measure();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }, blocking), (free, failure) -> new DiskMeasured(failure == null ? free : -1, unwrap(failure)));
  }

  private static Throwable unwrap(Throwable failure) {
    Throwable cause = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
    return cause instanceof UncheckedIOException io ? io.getCause() : cause;
  }

  private Behavior<Command> onDiskMeasured(DiskMeasured measured) {
    measuring = false;
    if (measured.failure() != null) {
      if (!unmeasurable) {
        getContext().getLog().warn("cannot measure the free space of {}: {}; the disk alarm stays {} until it can",
            disk.path(), measured.failure().toString(), disk.low() ? "raised" : "clear");
        unmeasurable = true;
      }
      return this;
    }
    if (unmeasurable) {
      getContext().getLog().info("the free space of {} can be measured again", disk.path());
      unmeasurable = false;
    }
    DiskAlarm.Change change = disk.update(measured.usableBytes());
    if (change == DiskAlarm.Change.LOW) {
      getContext().getLog().warn("disk space low: {} bytes free on the file system of {}, under the limit of {};"
          + " publishes to persistent queues are refused until more than {} are free", measured.usableBytes(),
          disk.path(), disk.limitBytes(), disk.clearAboveBytes());
    } else if (change == DiskAlarm.Change.NORMAL) {
      getContext().getLog().info("disk space back to normal: {} bytes free on the file system of {} (limit {});"
          + " persistent queues take publishes again", measured.usableBytes(), disk.path(), disk.limitBytes());
    }
    SpoolEvent event = disk.event(change, settings.clock().instant());
    if (event != null) {
      Events.publish(getContext().getSystem(), event);
    }
    return this;
  }

  private Behavior<Command> onPressureBegan() {
    getContext().getLog().warn("memory pressure: {} bytes retained, threshold {}; collecting garbage and "
        + "applying overflow policies", memory.bytes(), memory.threshold());
    return tick(true);
  }

  private Behavior<Command> tick(boolean relieve) {
    QueueActor.Tick tick = new QueueActor.Tick(relieve);
    for (ActorRef<QueueActor.Command> queue : queues.values()) {
      queue.tell(tick);
    }
    return this;
  }

  // ---- operations on demand

  private Behavior<Command> onCollectGarbage(CollectGarbage collect) {
    askEveryQueue(QueueActor.CollectGarbage::new, collect.replyTo(),
        freed -> freed.stream().mapToLong(Long::longValue).sum());
    return this;
  }

  private Behavior<Command> onCheckMemoryPressure(CheckMemoryPressure check) {
    if (!memory.needsRelief()) {
      check.replyTo().tell(StatusReply.success(false));
      return this;
    }
    askEveryQueue(QueueActor.Relieve::new, check.replyTo(), freed -> true);
    return this;
  }

  private Behavior<Command> onGetMemoryStats(GetMemoryStats get) {
    askEveryQueue(QueueActor.GetInfo::new, get.replyTo(),
        (List<QueueInfo> infos) -> QueueSurvey.memory(infos, memory.threshold(), memory.underPressure()));
    return this;
  }

  private Behavior<Command> onSetMemoryThreshold(SetMemoryThreshold set) {
    try {
      Limits.memoryThreshold(set.bytes());
    } catch (SpoolException e) {
      Request.fail(set, e);
      return this;
    }
    memory.setThreshold(set.bytes());
    getContext().getLog().info("memory threshold set to {} bytes", set.bytes());
    set.replyTo().tell(StatusReply.success(Done.getInstance()));
    return this;
  }

  private Behavior<Command> onGetDiskStats(GetDiskStats get) {
    get.replyTo().tell(StatusReply.success(disk.stats()));
    return this;
  }

  private Behavior<Command> onGetLagStats(GetLagStats get) {
    askEveryQueue(QueueActor.SurveyConsumers::new, get.replyTo(),
        (List<List<ConsumerInfo>> perQueue) -> QueueSurvey.lag(QueueSurvey.consumers(perQueue)));
    return this;
  }

  private Behavior<Command> onDetectStale(DetectStaleConsumers detect) {
    try {
      StaleConsumer.requireValidIdle(detect.idle());
    } catch (SpoolException e) {
      Request.fail(detect, e);
      return this;
    }
    askEveryQueue(QueueActor.SurveyConsumers::new, detect.replyTo(),
        (List<List<ConsumerInfo>> perQueue) -> QueueSurvey.stale(QueueSurvey.consumers(perQueue),
            settings.clock().millis(), detect.idle()));
    return this;
  }

  private Behavior<Command> onCleanupStale(CleanupStaleConsumers cleanup) {
    try {
      Limits.lagThreshold(cleanup.lagThreshold());
      StaleConsumer.requireValidIdle(cleanup.staleAfter());
    } catch (SpoolException e) {
      Request.fail(cleanup, e);
      return this;
    }
    this.<List<StaleConsumer>, List<StaleConsumer>>askEveryQueue(
        r -> new QueueActor.CleanupStale(cleanup.staleAfter(), cleanup.lagThreshold(), r),
        cleanup.replyTo(), StaleConsumer::sorted);
    return this;
  }

  /** Sends {@code request} to every queue and answers {@code replyTo} with {@code aggregate} of the replies. */
  private <R, A> void askEveryQueue(Function<ActorRef<StatusReply<R>>, QueueActor.Command> request,
      ActorRef<StatusReply<A>> replyTo, Function<List<R>, A> aggregate) {
    Aggregator.askEvery(getContext(), queues.values(), request, replyTo, aggregate, settings.askTimeout());
  }
}
