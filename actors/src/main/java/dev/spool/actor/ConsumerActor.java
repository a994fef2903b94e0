package dev.spool.actor;

import dev.spool.AckResult;
import dev.spool.BreakerState;
import dev.spool.ConsumerInfo;
import dev.spool.ConsumerSettings;
import dev.spool.Delivery;
import dev.spool.HandlerSettings;
import dev.spool.Message;
import dev.spool.MessageTrace;
import dev.spool.QueueSettings;
import dev.spool.SpoolEvent;
import dev.spool.SpoolException;
import dev.spool.SpoolSettings;
import dev.spool.StartPosition;
import dev.spool.consumer.ConsumerState;
import dev.spool.consumer.Dispatcher;
import dev.spool.consumer.GroupTracker;
import dev.spool.consumer.HandlerPool;
import dev.spool.consumer.PositionJournal;
import dev.spool.consumer.Settlements;
import dev.spool.consumer.Subscribers;
import dev.spool.durable.ConsumerPosition;
import dev.spool.log.DeliveryTrace;
import dev.spool.log.LogView;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.pattern.StatusReply;

/**
 * One consumer of a queue: a child of its {@link QueueActor}, with its own cursor, committed
 * position and in-flight set. It reads the queue's log through a {@link LogView} (messages are
 * shared, never copied; only the queue writes) and hands deliveries to its subscribers: pull reads
 * (with long-poll), {@code ActorRef<Delivery>} subscribers, streams and handler subscriptions, never
 * more than {@code prefetch} unacknowledged at once, redeliveries before new messages.
 *
 * <p>This actor keeps the protocol, the timers, the tells and the replies. What to deliver and to
 * whom is its {@link Dispatcher}'s; the rest of its state is a {@link ConsumerState} that its parent
 * creates and keeps, so a restart after a failure resumes with cursor, committed position, in-flight
 * set, subscribers and handlers intact. The plain classes run on this actor's thread: no hop per
 * delivery or acknowledgement.
 *
 * <p>Messages removed from the log (expired, evicted) leave a marker of their removal step (epoch)
 * in their slot. The queue tells every consumer what each step removed ({@link MessagesRemoved}); the
 * consumer counts exactly the ones it had not acknowledged, withdraws those in flight, and skips
 * markers of steps it has been told of. A marker of a step whose notice has not arrived yet stops
 * delivery there until it does, so no removal is ever missed or counted twice. When it has demand but
 * has delivered everything, it asks its queue once to be woken by the next append
 * ({@code AwaitMessages}), so a publish costs one message per waiting consumer and none per busy one.
 *
 * <p>Handler calls run on a dispatcher apart from the actors', each subscription behind its own Pekko
 * circuit breaker (see {@link HandlerPool}): a failed or timed-out call nacks the delivery. A
 * message given up on (nacked without requeue, or out of attempts) is appended to the queue's
 * dead-letter queue with its attempt history, and only then settled.
 */
public final class ConsumerActor extends AbstractBehavior<ConsumerActor.Command> {

  /** Everything a consumer understands. */
  public interface Command {}

  /**
   * Pull up to {@code max} deliveries; with a positive {@code wait}, park until at least one is
   * available or the wait ends (long-poll), then answer (possibly with an empty list).
   */
  public record Read(int max, Duration waitFor, ActorRef<StatusReply<List<Delivery>>> replyTo)
      implements Command, Request<List<Delivery>> {}

  /** Acknowledge these sequences. */
  public record Ack(List<Long> sequences, ActorRef<StatusReply<AckResult>> replyTo)
      implements Command, Request<AckResult> {}

  /** Acknowledge every delivered sequence at or below {@code sequence}. */
  public record AckUpTo(long sequence, ActorRef<StatusReply<AckResult>> replyTo)
      implements Command, Request<AckResult> {}

  /** Negatively acknowledge: redeliver after the backoff ({@code requeue}) or give up on them. */
  public record Nack(List<Long> sequences, boolean requeue, ActorRef<StatusReply<Done>> replyTo)
      implements Command, Request<Done> {}

  /** Move the cursor; deliveries in flight are dropped. */
  public record Seek(StartPosition to, ActorRef<StatusReply<Done>> replyTo) implements Command, Request<Done> {}

  /** Stop delivering, keeping the position. */
  public record Pause(ActorRef<StatusReply<Done>> replyTo) implements Command, Request<Done> {}

  /** Deliver again after a pause. */
  public record Resume(ActorRef<StatusReply<Done>> replyTo) implements Command, Request<Done> {}

  /** Describe the consumer. */
  public record GetInfo(ActorRef<StatusReply<ConsumerInfo>> replyTo) implements Command, Request<ConsumerInfo> {}

  /**
   * The consumer's own reference, for a stream to signal demand to it directly rather than through
   * the manager and the queue: one hop per batch instead of three.
   */
  public record GetRef(ActorRef<StatusReply<ActorRef<Command>>> replyTo) implements Command, Request<ActorRef<Command>> {}

  /**
   * Attach an actor that receives deliveries. It holds at most {@code prefetch} unacknowledged
   * deliveries; acknowledging (or nacking) returns credit, in {@code none} ack mode too.
   */
  public record Subscribe(ActorRef<Delivery> subscriber, ActorRef<StatusReply<Done>> replyTo)
      implements Command, Request<Done> {}

  /** Detach an actor subscriber; what it held unacknowledged is redelivered. */
  public record Unsubscribe(ActorRef<Delivery> subscriber, ActorRef<StatusReply<Done>> replyTo)
      implements Command, Request<Done> {}

  /**
   * Attach a handler, called for each delivery at most {@code parallelism} times at once; the
   * reply is the subscription's id. A call that completes acknowledges the delivery; one that
   * fails, throws or times out nacks it with requeue.
   */
  public record SubscribeHandler(Function<Delivery, CompletionStage<Done>> handler, int parallelism,
      HandlerSettings settings, ActorRef<StatusReply<Long>> replyTo) implements Command, Request<Long> {}

  /** Detach a handler subscription; the reply comes once its calls in flight have finished. */
  public record UnsubscribeHandler(long subscription, ActorRef<StatusReply<Done>> replyTo)
      implements Command, Request<Done> {}

  /**
   * Stop delivering, for shutdown, and answer once no handler call is in flight, or after
   * {@code timeout} with how many still are.
   */
  public record Drain(Duration timeout, ActorRef<StatusReply<DrainResult>> replyTo)
      implements Command, Request<DrainResult> {}

  /** Handler calls that finished while draining, and those still running at its end. */
  public record DrainResult(int finished, int abandoned) {
    /** The results of several consumers (or queues) together. */
    public static DrainResult sum(List<DrainResult> results) {
      return new DrainResult(results.stream().mapToInt(DrainResult::finished).sum(),
          results.stream().mapToInt(DrainResult::abandoned).sum());
    }
  }

  /** This consumer's part of a message's trace. */
  public record GetTrace(long sequence, ActorRef<StatusReply<List<MessageTrace.Entry>>> replyTo)
      implements Command, Request<List<MessageTrace.Entry>> {}

  /** This consumer's share of its queue's trace cap, in events: changes as consumers come and go. */
  public record TraceShare(int events) implements Command {}

  /** Attach a stream (see {@code QueueConsumer.source()}), which receives {@link StreamElement}s. */
  public record SubscribeStream(long streamId, ActorRef<StreamElement> stream) implements Command {}

  /** The stream took the last batch and wants another. */
  public record StreamDemand(long streamId) implements Command {}

  /** The stream ended; what it held unacknowledged is redelivered. */
  public record StreamClosed(long streamId) implements Command {}

  /** What a stream subscriber receives. */
  public sealed interface StreamElement {}

  /** Deliveries for a stream. */
  public record Batch(List<Delivery> deliveries) implements StreamElement {}

  /** The consumer is gone; the stream completes. */
  public enum End implements StreamElement {
    INSTANCE
  }

  /** The queue appended past what this consumer had seen. */
  enum MessagesAvailable implements Command {
    INSTANCE
  }

  /** Why a removal step removed messages. */
  enum RemovalReason {
    /** Past the queue's ttl or their own expiry: counted as expired. */
    EXPIRED,
    /** Evicted by drop-oldest: counted as dropped. */
    EVICTED,
    /** Moved back to their source queues by redrive: withdrawn without counting. */
    REDRIVEN
  }

  /** From the queue: removal step {@code epoch} removed these messages, in sequence order. */
  record MessagesRemoved(RemovalReason reason, long epoch, List<Message> removed) implements Command {}

  /**
   * Fault injection for supervision tests: the consumer throws, and its parent restarts it. Not
   * reachable through the public API.
   */
  record Fail(String why) implements Command {}

  /** From the queue: the journal stored this consumer's position as of {@code version}. */
  record PositionSaved(long version) implements Command {}

  /** From the queue: the write with this consumer's position failed; send the current one. */
  enum ResendPosition implements Command {
    INSTANCE
  }

  private record HandlerDone(long subscription, long call, long sequence, int attempt, Throwable failure)
      implements Command {}

  /** Fail handler calls that outlived their timeout. */
  private enum CheckHandlerTimeouts implements Command {
    INSTANCE
  }

  private record BreakerChanged(long subscription, BreakerState state) implements Command {}

  private record DeadLetterAppended(long sequence, int attempts, String reason, List<Long> appended,
      Throwable failure) implements Command {}

  private enum DrainDeadline implements Command {
    INSTANCE
  }

  /** From the queue on the janitor's tick: report staleness, and leave if inactive too long. */
  enum Tick implements Command {
    INSTANCE
  }

  private record AckDeadline(long batch) implements Command {}

  private record BackoffElapsed(long sequence) implements Command {}

  private record ReadExpired(long readId) implements Command {}

  private record SubscriberTerminated(ActorRef<Delivery> subscriber) implements Command {}

  /**
   * A consumer's state, created by its queue and handed to every incarnation of the actor, so that
   * a restart keeps the position; with it, the answer to a drain under way.
   */
  static final class State extends ConsumerState<StreamElement> {
    ActorRef<StatusReply<DrainResult>> drainReply;

    /**
     * @param deadLetter the queue's dead-letter setting, or {@code null}
     * @param traceEvents delivery events kept for traces: this consumer's share of its queue's cap
     */
    State(String queue, ConsumerSettings resolved, QueueSettings.DeadLetter deadLetter, long start, long knownEpoch,
        long now, int traceEvents) {
      super(queue, resolved, deadLetter, start, knownEpoch, now, traceEvents);
    }
  }

  /**
   * @param parent the queue, told about progress and asked for wake-ups
   * @param log the queue's log, read directly
   * @param counters the queue's totals, added to
   */
  static Behavior<Command> create(String name, State state, LogView log, QueueCounters counters,
      ActorRef<QueueActor.Command> parent, ActorRef<QueueManager.Command> manager, SpoolSettings settings) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers ->
        new ConsumerActor(context, timers, name, state, log, counters, parent, manager, settings)));
  }

  /** The sequence a start position points at now. Also used by the queue for new consumers. */
  static long resolve(StartPosition position, LogView log) {
    return Dispatcher.resolve(position, log);
  }

  private final TimerScheduler<Command> timers;
  private final String name;
  private final State state;
  private final LogView log;
  private final QueueCounters counters;
  private final ActorRef<QueueActor.Command> parent;
  private final ActorRef<QueueManager.Command> manager;
  private final SpoolSettings settings;
  private final SpoolSettings.ConsumerDefaults limits;
  private final Clock clock;
  private final int segmentShift;
  private final Dispatcher<StreamElement> dispatcher;
  private final Settlements settlements;

  private ConsumerActor(ActorContext<Command> context, TimerScheduler<Command> timers, String name, State state,
      LogView log, QueueCounters counters, ActorRef<QueueActor.Command> parent,
      ActorRef<QueueManager.Command> manager, SpoolSettings settings) {
    super(context);
    this.timers = timers;
    this.name = name;
    this.state = state;
    this.log = log;
    this.counters = counters;
    this.parent = parent;
    this.manager = manager;
    this.settings = settings;
    this.limits = settings.consumer();
    this.clock = settings.clock();
    this.segmentShift = Integer.numberOfTrailingZeros(log.segmentSize());
    Effects effects = new Effects();
    this.dispatcher = new Dispatcher<>(name, state, log, limits.streamBatch(), limits.maxOpenGroups(), effects, clock);
    this.settlements = new Settlements(state, log, dispatcher, effects);
    recoverAfterRestart();
    dispatch();
  }

  /** A fresh incarnation re-arms what the previous one's timers and watches covered. */
  private void recoverAfterRestart() {
    int restarts = state.incarnated();
    if (restarts > 0) {
      getContext().getLog().warn("queue {}: consumer {} restarted (restart {}), position kept at {}", state.queue(),
          name, restarts, state.cursor().next());
      Events.publish(getContext().getSystem(),
          new SpoolEvent.ConsumerRestarted(clock.instant(), state.queue(), name, restarts));
    }
    for (long batch : state.cursor().openBatches()) {
      timers.startSingleTimer(new AckDeadline(batch), state.settings().ackTimeout());
    }
    state.cursor().endBackoffs(); // their timers died with the previous incarnation
    for (Subscribers.ActorSubscriber subscriber : state.subscribers().actors()) {
      getContext().watchWith(subscriber.ref(), new SubscriberTerminated(subscriber.ref()));
    }
    for (Subscribers.ParkedRead read : state.subscribers().unparkAll()) {
      read.replyTo().tell(StatusReply.success(List.of()));
    }
    if (state.drainReply != null) {
      timers.startSingleTimer(DrainDeadline.INSTANCE, state.handlers().drainTimeout());
    }
    startTimeoutChecks();
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Read.class, this::onRead)
        .onMessage(Ack.class, this::onAck)
        .onMessage(AckUpTo.class, this::onAckUpTo)
        .onMessage(Nack.class, this::onNack)
        .onMessage(Seek.class, this::onSeek)
        .onMessage(Pause.class, this::onPause)
        .onMessage(Resume.class, this::onResume)
        .onMessage(GetInfo.class, this::onGetInfo)
        .onMessage(GetRef.class, this::onGetRef)
        .onMessage(Subscribe.class, this::onSubscribe)
        .onMessage(Unsubscribe.class, this::onUnsubscribe)
        .onMessage(SubscribeStream.class, this::onSubscribeStream)
        .onMessage(StreamDemand.class, this::onStreamDemand)
        .onMessage(StreamClosed.class, this::onStreamClosed)
        .onMessageEquals(MessagesAvailable.INSTANCE, this::onMessagesAvailable)
        .onMessage(AckDeadline.class, this::onAckDeadline)
        .onMessage(BackoffElapsed.class, this::onBackoffElapsed)
        .onMessage(ReadExpired.class, this::onReadExpired)
        .onMessage(SubscriberTerminated.class, this::onSubscriberTerminated)
        .onMessage(MessagesRemoved.class, this::onMessagesRemoved)
        .onMessageEquals(Tick.INSTANCE, this::onTick)
        .onMessage(SubscribeHandler.class, this::onSubscribeHandler)
        .onMessage(UnsubscribeHandler.class, this::onUnsubscribeHandler)
        .onMessage(HandlerDone.class, this::onHandlerDone)
        .onMessageEquals(CheckHandlerTimeouts.INSTANCE, this::onCheckHandlerTimeouts)
        .onMessage(BreakerChanged.class, this::onBreakerChanged)
        .onMessage(DeadLetterAppended.class, this::onDeadLetterAppended)
        .onMessage(Drain.class, this::onDrain)
        .onMessageEquals(DrainDeadline.INSTANCE, this::onDrainDeadline)
        .onMessage(GetTrace.class, this::onGetTrace)
        .onMessage(TraceShare.class, this::onTraceShare)
        .onMessage(Fail.class, this::onFail)
        .onMessage(PositionSaved.class, this::onPositionSaved)
        .onMessageEquals(ResendPosition.INSTANCE, this::onResendPosition)
        .onSignal(PostStop.class, signal -> onPostStop())
        .build();
  }

  // ---- pull

  private Behavior<Command> onRead(Read read) {
    String invalid = Dispatcher.invalidRead(read.max(), read.waitFor(), limits.maxReadBatch());
    if (invalid != null) {
      Request.fail(read, new SpoolException.InvalidConfiguration(invalid));
      return this;
    }
    touch();
    Subscribers<StreamElement> subscribers = state.subscribers();
    List<Delivery> got = state.halted() || subscribers.parkedReads() > 0 ? List.of()
        : dispatcher.take(read.max(), Subscribers.PULL_OWNER);
    Duration wait = read.waitFor() == null ? Duration.ZERO : min(read.waitFor(), limits.maxReadWait());
    boolean answerNow =
        !got.isEmpty() || wait.isZero() || state.draining() || subscribers.parkingFull(limits.maxParkedReads());
    if (!answerNow) {
      timers.startSingleTimer(new ReadExpired(subscribers.park(read.max(), read.replyTo()).id()), wait);
    }
    finishRound(); // before the answer: in ack mode none, what it read is released once the reader hears back
    if (answerNow) {
      read.replyTo().tell(StatusReply.success(got));
    }
    return this;
  }

  private Behavior<Command> onReadExpired(ReadExpired expired) {
    Subscribers.ParkedRead read = state.subscribers().unpark(expired.readId());
    if (read != null) {
      read.replyTo().tell(StatusReply.success(List.of()));
    }
    return this;
  }

  // ---- acknowledgement

  private Behavior<Command> onAck(Ack ack) {
    touch();
    acknowledged(ack.replyTo(), settlements.ack(ack.sequences()));
    return this;
  }

  private Behavior<Command> onAckUpTo(AckUpTo ack) {
    touch();
    acknowledged(ack.replyTo(), settlements.ackUpTo(ack.sequence()));
    return this;
  }

  private void acknowledged(ActorRef<StatusReply<AckResult>> replyTo, AckResult result) {
    if (result.acked() > 0) {
      counters.acked.add(result.acked());
    }
    reportProgress(false); // before the reply: once the acker hears back, the queue can free what it acked
    replyWhenDurable(replyTo, result);
    dispatch();
  }

  private Behavior<Command> onNack(Nack nack) {
    touch();
    settlements.nack(nack.sequences(), nack.requeue());
    nack.replyTo().tell(StatusReply.success(Done.getInstance()));
    dispatch();
    return this;
  }

  /** Dead-letters {@code sequence}, given up on; without a dead-letter queue it is dropped. */
  private void giveUp(long sequence, int attempts, String reason) {
    Message message = log.get(sequence);
    String deadLetterQueue = state.retry().deadLetterQueue();
    if (deadLetterQueue == null || message == null) {
      if (settlements.drop(sequence, attempts)) {
        counters.dropped.increment();
        getContext().getLog().debug("queue {}: consumer {} dropped sequence {} after {} attempts ({})",
            state.queue(), name, sequence, attempts, reason);
      }
      return;
    }
    Message copy = DeadLetters.copyOf(message, state.queue(), name, reason, attempts,
        state.retry().history(sequence), clock.millis());
    getContext().askWithStatus(Request.<Long>listClass(), manager, settings.askTimeout(),
        r -> new QueueManager.ToQueue(deadLetterQueue,
            new QueueActor.Publish(DeadLetters.DEAD_LETTER_PRODUCER, List.of(copy), r)),
        (appended, failure) -> new DeadLetterAppended(sequence, attempts, reason, appended, failure));
  }

  private Behavior<Command> onDeadLetterAppended(DeadLetterAppended result) {
    long sequence = result.sequence();
    String deadLetterQueue = state.retry().deadLetterQueue();
    if (result.failure() != null) {
      getContext().getLog().warn("queue {}: consumer {} could not dead-letter sequence {} to {} ({}); retrying later",
          state.queue(), name, sequence, deadLetterQueue, result.failure().getMessage());
      settlements.deadLetterFailed(sequence, result.attempts());
      return this;
    }
    settlements.deadLettered(sequence, result.attempts());
    counters.deadLettered.increment();
    long deadLetterSequence = result.appended().isEmpty() ? 0 : result.appended().get(0);
    Events.publish(getContext().getSystem(), new SpoolEvent.DeadLettered(clock.instant(), state.queue(), name,
        sequence, result.reason(), result.attempts(), deadLetterQueue, deadLetterSequence));
    reportProgress(false);
    dispatch();
    return this;
  }

  private Behavior<Command> onBackoffElapsed(BackoffElapsed elapsed) {
    if (state.cursor().backoffElapsed(elapsed.sequence())) {
      dispatch();
    }
    return this;
  }

  private Behavior<Command> onAckDeadline(AckDeadline deadline) {
    if (settlements.deadlinePassed(deadline.batch())) {
      dispatch();
    }
    return this;
  }

  // ---- position

  private Behavior<Command> onSeek(Seek seek) {
    long target;
    try {
      target = resolve(seek.to(), log);
    } catch (SpoolException e) {
      Request.fail(seek, e);
      return this;
    }
    for (long batch : state.cursor().openBatches()) {
      timers.cancel(new AckDeadline(batch));
    }
    settlements.seek(target);
    touch();
    reportProgress(true);
    replyWhenDurable(seek.replyTo(), Done.getInstance()); // a replay asked for must survive a restart
    dispatch();
    return this;
  }

  private Behavior<Command> onPause(Pause pause) {
    state.paused(true);
    journalPosition(true);
    replyWhenDurable(pause.replyTo(), Done.getInstance());
    return this;
  }

  private Behavior<Command> onResume(Resume resume) {
    state.paused(false);
    journalPosition(true);
    replyWhenDurable(resume.replyTo(), Done.getInstance());
    dispatch();
    return this;
  }

  // ---- subscribers

  private Behavior<Command> onSubscribe(Subscribe subscribe) {
    if (state.subscribers().subscribe(subscribe.subscriber())) {
      getContext().watchWith(subscribe.subscriber(), new SubscriberTerminated(subscribe.subscriber()));
    }
    subscribe.replyTo().tell(StatusReply.success(Done.getInstance()));
    dispatch();
    return this;
  }

  private Behavior<Command> onUnsubscribe(Unsubscribe unsubscribe) {
    settlements.releaseOwner(state.subscribers().unsubscribe(unsubscribe.subscriber()));
    getContext().unwatch(unsubscribe.subscriber());
    unsubscribe.replyTo().tell(StatusReply.success(Done.getInstance()));
    dispatch();
    return this;
  }

  private Behavior<Command> onSubscriberTerminated(SubscriberTerminated terminated) {
    settlements.releaseOwner(state.subscribers().unsubscribe(terminated.subscriber()));
    dispatch();
    return this;
  }

  private Behavior<Command> onSubscribeStream(SubscribeStream subscribe) {
    state.subscribers().addStream(subscribe.streamId(), subscribe.stream());
    dispatch();
    return this;
  }

  private Behavior<Command> onStreamDemand(StreamDemand demand) {
    if (state.subscribers().demand(demand.streamId())) {
      dispatch();
    }
    return this;
  }

  private Behavior<Command> onStreamClosed(StreamClosed closed) {
    long owner = state.subscribers().closeStream(closed.streamId());
    if (owner >= 0) {
      settlements.releaseOwner(owner);
      dispatch();
    }
    return this;
  }

  private Behavior<Command> onMessagesAvailable() {
    dispatcher.woken();
    dispatch();
    return this;
  }

  private Behavior<Command> onGetInfo(GetInfo get) {
    get.replyTo().tell(StatusReply.success(state.stats().info(name, state, log, clock.millis())));
    return this;
  }

  private Behavior<Command> onGetRef(GetRef get) {
    get.replyTo().tell(StatusReply.success(getContext().getSelf()));
    return this;
  }

  // ---- delivery

  private void dispatch() {
    dispatcher.dispatch();
    finishRound();
    if (state.position().durable() && !state.explicit()) {
      journalPosition(false); // at most once: what was delivered must not come again after a restart
    }
  }

  /** Arms the ack deadline of what this round delivered, asks to be woken if starved, reports progress. */
  private void finishRound() {
    long delivered = dispatcher.roundDelivered();
    if (delivered > 0) {
      counters.delivered.add(delivered);
      counters.redelivered.add(dispatcher.roundRedelivered());
      dispatcher.deliveriesCounted();
      touch();
    }
    long batch = dispatcher.closeBatch();
    if (batch != 0) {
      timers.startSingleTimer(new AckDeadline(batch), state.settings().ackTimeout());
    }
    if (dispatcher.shouldAwait()) {
      parent.tell(new QueueActor.AwaitMessages(name, state.cursor().next() - 1));
    }
    reportProgress(false);
  }

  private Behavior<Command> onMessagesRemoved(MessagesRemoved notice) {
    boolean expiry = notice.reason() == RemovalReason.EXPIRED;
    Settlements.Withdrawn gone = settlements.removed(notice.removed(), notice.epoch(),
        notice.reason() != RemovalReason.REDRIVEN, expiry ? DeliveryTrace.Kind.EXPIRED : DeliveryTrace.Kind.DROPPED);
    if (gone.count() > 0) {
      Events.publish(getContext().getSystem(), expiry
          ? new SpoolEvent.MessagesExpired(clock.instant(), state.queue(), name, gone.count(), gone.first(), gone.last())
          : new SpoolEvent.MessagesDropped(clock.instant(), state.queue(), name, gone.count(), gone.first(), gone.last()));
    }
    dispatch();
    return this;
  }

  /** The actor's side of the plain classes: its tells, timers, handler calls and the dead-letter queue. */
  private final class Effects implements Dispatcher.Outlet<StreamElement>, Settlements.Effects {
    @Override
    public void answer(Subscribers.ParkedRead read, List<Delivery> deliveries) {
      timers.cancel(new ReadExpired(read.id()));
      read.replyTo().tell(StatusReply.success(deliveries));
    }

    @Override
    public void send(Subscribers.ActorSubscriber subscriber, Delivery delivery) {
      subscriber.ref().tell(delivery);
    }

    @Override
    public void send(Subscribers.StreamSubscriber<StreamElement> stream, List<Delivery> batch) {
      stream.ref().tell(new Batch(batch));
    }

    @Override
    public void call(HandlerPool.Handler handler, Delivery delivery) {
      callHandler(handler, delivery);
    }

    @Override
    public void yieldRounds() {
      getContext().getSelf().tell(MessagesAvailable.INSTANCE);
    }

    @Override
    public void grouped(GroupTracker.Outcome outcome) {
      if (outcome.evicted() != null) {
        getContext().getLog().warn("queue {}: consumer {} tracks {} open groups; forgot group {}", state.queue(), name,
            limits.maxOpenGroups(), outcome.evicted());
      }
      if (outcome.completed() != null) {
        Events.publish(getContext().getSystem(), new SpoolEvent.GroupCompleted(clock.instant(), state.queue(), name,
            outcome.completed(), outcome.size()));
      }
    }

    @Override
    public void batchSettled(long batch) {
      timers.cancel(new AckDeadline(batch));
    }

    @Override
    public void retryAfter(long sequence, Duration delay) {
      timers.startSingleTimer(new BackoffElapsed(sequence), delay);
    }

    @Override
    public void giveUp(long sequence, int attempts, String reason) {
      ConsumerActor.this.giveUp(sequence, attempts, reason);
    }
  }

  // ---- handlers

  private Behavior<Command> onSubscribeHandler(SubscribeHandler subscribe) {
    HandlerSettings hs = subscribe.settings();
    String invalid = HandlerPool.invalid(subscribe.handler(), hs, subscribe.parallelism(), state.prefetch());
    Executor executor = null;
    try {
      executor = invalid != null ? null
          : getContext().getSystem().dispatchers().lookup(DispatcherSelector.fromConfig(hs.dispatcher()));
    } catch (RuntimeException noSuchDispatcher) {
      invalid = "no dispatcher '" + hs.dispatcher() + "' is configured for handlers";
    }
    if (invalid != null) {
      Request.fail(subscribe, new SpoolException.InvalidConfiguration(invalid));
      return this;
    }
    long owner = state.subscribers().newOwner();
    ActorRef<Command> self = getContext().getSelf();
    HandlerPool.Breaker breaker = HandlerPool.Breaker.pekko(Adapter.toClassic(getContext().getSystem()).scheduler(),
        hs, changed -> self.tell(new BreakerChanged(owner, changed)));
    // A call must time out no later than its delivery's ack deadline, or the deadline would hand the
    // message to another call while this one still runs.
    state.handlers().add(owner, subscribe.handler(), subscribe.parallelism(), executor, breaker,
        min(hs.timeout(), state.settings().ackTimeout()));
    startTimeoutChecks();
    touch();
    subscribe.replyTo().tell(StatusReply.success(owner));
    dispatch();
    return this;
  }

  /** Runs the handler on its dispatcher, behind its breaker, and pipes the outcome back. */
  private void callHandler(HandlerPool.Handler handler, Delivery delivery) {
    long id = state.handlers().started(handler, delivery.sequence(), delivery.attempt(), System.nanoTime());
    CompletionStage<Done> outcome =
        CompletableFuture.supplyAsync(() -> handler.function().apply(delivery), handler.executor())
            .thenCompose(ConsumerActor::nonNull);
    getContext().pipeToSelf(outcome,
        (done, failure) -> new HandlerDone(handler.owner(), id, delivery.sequence(), delivery.attempt(), failure));
  }

  private static CompletionStage<Done> nonNull(CompletionStage<Done> stage) {
    return stage != null ? stage : CompletableFuture.failedFuture(new NullPointerException("the handler returned null"));
  }

  private Behavior<Command> onHandlerDone(HandlerDone done) {
    HandlerPool.Handler handler = state.handlers().ended(done.subscription(), done.call());
    if (handler == null) {
      return this; // it timed out earlier, and was dealt with then
    }
    Throwable failure = done.failure() instanceof CompletionException && done.failure().getCause() != null
        ? done.failure().getCause()
        : done.failure();
    finished(handler, done.sequence(), done.attempt(), failure);
    dispatch();
    return this;
  }

  /** A call ended: {@code failure} is null on success, a {@link TimeoutException} when it timed out. */
  private void finished(HandlerPool.Handler handler, long sequence, int attempt, Throwable failure) {
    handler.outcome(attempt, failure == null);
    if (failure == null) {
      touch();
      if (settlements.handled(sequence, attempt)) {
        counters.acked.increment();
        reportProgress(false);
      }
    } else {
      // The class only: an exception's message may quote the payload, and logs never carry payloads.
      getContext().getLog().debug("queue {}: consumer {} handler {} failed on sequence {} (attempt {}): {}",
          state.queue(), name, handler.owner(), sequence, attempt, failure.getClass().getName());
      settlements.handlerFailed(handler.owner(), sequence, attempt, failure, failure instanceof TimeoutException);
    }
    if (handler.finished()) {
      detachHandler(handler);
    }
    if (state.drainReply != null && state.handlers().running() == 0) {
      finishDrain();
    }
  }

  private void startTimeoutChecks() {
    long shortest = state.handlers().shortestTimeoutMillis();
    if (shortest == Long.MAX_VALUE) {
      timers.cancel(CheckHandlerTimeouts.INSTANCE);
    } else {
      // a tenth of the shortest timeout: a call is failed at most 10 % after its timeout
      timers.startTimerWithFixedDelay(CheckHandlerTimeouts.INSTANCE, Duration.ofMillis(Math.max(10, shortest / 10)));
    }
  }

  private Behavior<Command> onCheckHandlerTimeouts() {
    List<HandlerPool.Expired> expired = state.handlers().timedOut(System.nanoTime());
    for (HandlerPool.Expired e : expired) {
      state.handlers().expire(e);
      finished(e.handler(), e.started().sequence(), e.started().attempt(),
          new TimeoutException("handler call timed out after " + e.handler().timeoutMillis() + " ms"));
    }
    if (!expired.isEmpty()) {
      dispatch();
    }
    return this;
  }

  private Behavior<Command> onBreakerChanged(BreakerChanged changed) {
    HandlerPool.Handler handler = state.handlers().get(changed.subscription());
    if (handler == null) {
      return this;
    }
    long owner = handler.owner();
    int failures = handler.breaker().failureCount();
    switch (changed.state()) {
      case OPEN -> {
        getContext().getLog().warn("queue {}: consumer {} handler {} failed {} times in a row; its breaker is open",
            state.queue(), name, owner, failures);
        Events.publish(getContext().getSystem(),
            new SpoolEvent.BreakerOpened(clock.instant(), state.queue(), name, owner, failures));
      }
      case CLOSED -> {
        getContext().getLog().info("queue {}: consumer {} handler {} recovered; its breaker is closed", state.queue(),
            name, owner);
        Events.publish(getContext().getSystem(),
            new SpoolEvent.BreakerClosed(clock.instant(), state.queue(), name, owner));
      }
      default -> getContext().getLog().debug("queue {}: consumer {} handler {} breaker half-open: one trial call",
          state.queue(), name, owner);
    }
    dispatch();
    return this;
  }

  private Behavior<Command> onUnsubscribeHandler(UnsubscribeHandler unsubscribe) {
    HandlerPool.Handler handler = state.handlers().cancel(unsubscribe.subscription(), unsubscribe.replyTo());
    if (handler == null) {
      unsubscribe.replyTo().tell(StatusReply.success(Done.getInstance())); // already gone: detaching is idempotent
      return this;
    }
    if (handler.finished()) {
      detachHandler(handler);
    }
    dispatch();
    return this;
  }

  private void detachHandler(HandlerPool.Handler handler) {
    List<ActorRef<StatusReply<Done>>> replies = state.handlers().detach(handler);
    startTimeoutChecks();
    settlements.releaseOwner(handler.owner());
    replies.forEach(r -> r.tell(StatusReply.success(Done.getInstance())));
  }

  // ---- shutdown

  private Behavior<Command> onDrain(Drain drain) {
    state.drain();
    // Nothing more is delivered: long-polls end now (empty), so that HTTP can finish its requests.
    for (Subscribers.ParkedRead read : state.subscribers().unparkAll()) {
      timers.cancel(new ReadExpired(read.id()));
      read.replyTo().tell(StatusReply.success(List.of()));
    }
    if (state.drainReply != null) {
      state.drainReply.tell(StatusReply.success(new DrainResult(0, 0))); // superseded by this one
    }
    state.drainReply = drain.replyTo();
    state.handlers().drainStarted(drain.timeout());
    if (state.handlers().running() == 0) {
      finishDrain();
    } else {
      timers.startSingleTimer(DrainDeadline.INSTANCE, drain.timeout());
    }
    return this;
  }

  private Behavior<Command> onDrainDeadline() {
    if (state.drainReply != null) {
      finishDrain();
    }
    return this;
  }

  private void finishDrain() {
    timers.cancel(DrainDeadline.INSTANCE);
    int abandoned = state.handlers().running();
    if (abandoned > 0) {
      getContext().getLog().warn("queue {}: consumer {} stops with {} handler calls still running; their deliveries "
          + "stay unacknowledged", state.queue(), name, abandoned);
    }
    state.drainReply.tell(StatusReply.success(new DrainResult(state.handlers().drainEnded(), abandoned)));
    state.drainReply = null;
  }

  private Behavior<Command> onFail(Fail fail) {
    throw new IllegalStateException("injected failure: " + fail.why());
  }

  // ---- trace and staleness

  private Behavior<Command> onGetTrace(GetTrace get) {
    get.replyTo().tell(StatusReply.success(state.trace().entries(name, get.sequence(), state, log)));
    return this;
  }

  private Behavior<Command> onTraceShare(TraceShare share) {
    state.trace().resize(share.events());
    return this;
  }

  private void touch() {
    state.stats().touch(clock.millis());
  }

  private Behavior<Command> onTick() {
    if (state.subscribers().anyAttached() || !state.handlers().isEmpty()) {
      touch(); // a consumer with a subscriber attached is in use, even when nothing arrives
      return this;
    }
    long idle = state.stats().idle(clock.millis());
    long lag = log.lastSequence() - state.committed();
    Duration inactiveTimeout = state.settings().inactiveTimeout();
    if (inactiveTimeout != null && idle >= inactiveTimeout.toMillis()) {
      parent.tell(new QueueActor.RemoveInactive(name, getContext().getSelf(), lag));
    } else if (state.stats().becameStale(idle, settings.janitor().staleAfter().toMillis())) {
      Events.publish(getContext().getSystem(),
          new SpoolEvent.ConsumerStale(clock.instant(), state.queue(), name, idle, lag));
    }
    return this;
  }

  // ---- progress and durable position

  /**
   * Shows the queue the lowest sequence this consumer still needs, and tells it whenever that
   * crosses a segment boundary (or moves back), so that the queue releases what every consumer
   * passed without being asked: one message per segment.
   */
  private void reportProgress(boolean force) {
    journalPosition(force);
    long watermark = state.committed() + 1;
    if (state.position().progressed(watermark, force, segmentShift)) {
      parent.tell(new QueueActor.ConsumerProgress(name, watermark));
    }
  }

  /**
   * On a durable queue, hands the position to the queue for its next journal write when it changed
   * since the last one: one position in flight per consumer, so a busy consumer costs one entry per
   * journal write, not one per ack.
   */
  private void journalPosition(boolean force) {
    if (state.position().durable() && state.position().changed(state.fingerprint(), force)) {
      sendPosition();
    }
  }

  private void sendPosition() {
    ConsumerPosition position = state.position().send(state.cursor(), state.explicit(), state.paused());
    parent.tell(new QueueActor.PositionChanged(name, getContext().getSelf(), state.position().version(), position));
  }

  private Behavior<Command> onPositionSaved(PositionSaved saved) {
    if (state.position().saved(saved.version())) {
      sendPosition();
    }
    return this;
  }

  private Behavior<Command> onResendPosition() {
    if (state.position().resend()) {
      sendPosition();
    }
    return this;
  }

  /** Answers with {@code result}, on a durable queue once the position as it is now is journaled. */
  private <T> void replyWhenDurable(ActorRef<StatusReply<T>> replyTo, T result) {
    PositionJournal journal = state.position();
    if (journal.stored()) {
      replyTo.tell(StatusReply.success(result));
    } else if (!journal.hold(() -> replyTo.tell(StatusReply.success(result)))) {
      replyTo.tell(StatusReply.error(new SpoolException.Timeout("consumer '" + name + "' of queue '" + state.queue()
          + "': the journal has not stored earlier changes yet; this one is applied but not yet durable,"
          + " send it again later")));
    }
  }

  private Behavior<Command> onPostStop() {
    for (Subscribers.StreamSubscriber<StreamElement> stream : state.subscribers().streams()) {
      stream.ref().tell(End.INSTANCE);
    }
    for (Subscribers.ParkedRead read : state.subscribers().unparkAll()) {
      read.replyTo().tell(StatusReply.error(new SpoolException.ConsumerNotFound(state.queue(), name)));
    }
    return this;
  }

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }
}
