package dev.spool.actor;

import dev.spool.AckResult;
import dev.spool.BreakerState;
import dev.spool.ConsumerInfo;
import dev.spool.ConsumerSettings;
import dev.spool.Delivery;
import dev.spool.HandlerSettings;
import dev.spool.Message;
import dev.spool.MessageTrace;
import dev.spool.PushSettings;
import dev.spool.PushTransport;
import dev.spool.QueueSettings;
import dev.spool.SpoolEvent;
import dev.spool.SpoolException;
import dev.spool.SpoolSettings;
import dev.spool.StartPosition;
import dev.spool.consumer.ConsumerState;
import dev.spool.consumer.ConsumerStats;
import dev.spool.consumer.Dispatcher;
import dev.spool.consumer.HandlerCalls;
import dev.spool.consumer.HandlerPool;
import dev.spool.consumer.PositionJournal;
import dev.spool.consumer.Settlements;
import dev.spool.consumer.Subscribers;
import dev.spool.durable.ConsumerPosition;
import dev.spool.log.LogView;
import dev.spool.queue.Retention;
import dev.spool.storage.TieredStorage;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
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
 * One consumer of a queue: a child of its {@link QueueActor}, reading the queue's log through a
 * {@link LogView} (shared, never copied) and handing deliveries to pull reads (long-poll), actor
 * subscribers, streams and handler subscriptions: at most {@code prefetch} unacknowledged,
 * redeliveries first. A message given up on goes to the dead-letter queue before it is settled.
 *
 * <p>It keeps the protocol, the timers, the tells and the replies. The decisions are plain classes
 * driven on its thread (no hop per delivery or ack) that reach back through the outlets it
 * implements: {@link Dispatcher} (what goes to whom), {@link Settlements}, {@link HandlerCalls} and
 * {@link PositionJournal}, over a {@link ConsumerState} that the queue keeps across restarts.
 *
 * <p>The queue tells every consumer what each removal step (epoch) removed ({@link MessagesRemoved});
 * a removal marker of a step not told of yet stops delivery there, so none is missed or counted
 * twice. A consumer that delivered everything asks once to be woken by the next append.
 *
 * @since 0.1.0
 */
public final class ConsumerActor extends AbstractBehavior<ConsumerActor.Command> implements
    Dispatcher.Outlet<ConsumerActor.StreamElement>, Settlements.Effects, HandlerCalls.Outlet, PositionJournal.Outlet {

  /** Everything a consumer understands. */
  public interface Command {}

  /**
   * Pull up to {@code max} deliveries; with a positive {@code wait}, park until one is available or it
   * ends (long-poll).
   *
   * @param notAfter when the reader stops waiting for the reply (epoch ms of the wall clock, 0 for
   *     never): a read that arrives later (held while its queue moved to another member, say) delivers
   *     nothing, as nobody would receive what it delivered and it would wait out its ack timeout
   */
  public record Read(int max, Duration waitFor, long notAfter, ActorRef<StatusReply<List<Delivery>>> replyTo)
      implements Command, Request<List<Delivery>> {

    /** A read without a deadline. */
    public Read(int max, Duration waitFor, ActorRef<StatusReply<List<Delivery>>> replyTo) {
      this(max, waitFor, 0, replyTo);
    }
  }

  /** Acknowledge these sequences. */
  public record Ack(List<Long> sequences, ActorRef<StatusReply<AckResult>> replyTo)
      implements Command, Request<AckResult> {}

  /** Acknowledge every delivered sequence at or below {@code sequence}. */
  public record AckUpTo(long sequence, ActorRef<StatusReply<AckResult>> replyTo)
      implements Command, Request<AckResult> {}

  /** Negatively acknowledge: redeliver after the backoff ({@code requeue}) or give up; the reply counts those in flight. */
  public record Nack(List<Long> sequences, boolean requeue, ActorRef<StatusReply<Integer>> replyTo)
      implements Command, Request<Integer> {}

  /** Move the cursor; deliveries in flight are dropped. */
  public record Seek(StartPosition to, ActorRef<StatusReply<Done>> replyTo) implements Command, Request<Done> {}

  /** Stop delivering, keeping the position. */
  public record Pause(ActorRef<StatusReply<Done>> replyTo) implements Command, Request<Done> {}

  /** Deliver again after a pause. */
  public record Resume(ActorRef<StatusReply<Done>> replyTo) implements Command, Request<Done> {}

  /** Describe the consumer. */
  public record GetInfo(ActorRef<StatusReply<ConsumerInfo>> replyTo) implements Command, Request<ConsumerInfo> {}

  /** The consumer's own reference, for a stream to signal demand to it directly: one hop per batch instead of three. */
  public record GetRef(ActorRef<StatusReply<ActorRef<Command>>> replyTo) implements Command, Request<ActorRef<Command>> {}

  /** Attach an actor that receives deliveries, at most {@code prefetch} unacknowledged (in {@code none} ack mode too). */
  public record Subscribe(ActorRef<Delivery> subscriber, ActorRef<StatusReply<Done>> replyTo)
      implements Command, Request<Done> {}

  /** Detach an actor subscriber; what it held unacknowledged is redelivered. */
  public record Unsubscribe(ActorRef<Delivery> subscriber, ActorRef<StatusReply<Done>> replyTo)
      implements Command, Request<Done> {}

  /**
   * Attach a handler, called at most {@code parallelism} times at once; the reply is the
   * subscription's id. A call that completes acknowledges; one that fails, throws or times out nacks.
   * Carries a Java function, so it only works where the consumer runs (embedded use), never over
   * the network.
   */
  public record SubscribeHandler(Function<Delivery, CompletionStage<Done>> handler, int parallelism,
      HandlerSettings settings, ActorRef<StatusReply<Long>> replyTo)
      implements Command, Request<Long>, NoSerializationVerificationNeeded {}

  /** Detach a handler subscription; the reply comes once its calls in flight have finished. */
  public record UnsubscribeHandler(long subscription, ActorRef<StatusReply<Done>> replyTo)
      implements Command, Request<Done> {}

  /** Stop delivering, for shutdown; answer once no handler call runs, or after {@code timeout}. */
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

  /**
   * Deliveries for a stream, with the id it subscribed with: a stream that reads several consumers
   * (a partitioned queue's, one per partition) tells by it whom to signal demand to.
   */
  public record Batch(long streamId, List<Delivery> deliveries) implements StreamElement {}

  /** The consumer is gone; the stream completes. */
  public enum End implements StreamElement { INSTANCE }

  /** The queue appended past what this consumer had seen. */
  enum MessagesAvailable implements Command { INSTANCE }

  /**
   * From the queue: removal step {@code epoch} removed these messages, in sequence order; expired ones
   * are counted so, evicted and deleted ones counted dropped, redriven ones not counted. The queue's own log
   * entries (placeholders of stored ones included), sent to its child: never over the network.
   */
  record MessagesRemoved(Retention.Reason reason, long epoch, List<Message> removed)
      implements Command, NoSerializationVerificationNeeded {}

  /** Fault injection for supervision tests: the consumer throws and its parent restarts it. Not in the public API. */
  record Fail(String why) implements Command {}

  /** From the queue: the journal stored this consumer's position as of {@code version}. */
  record PositionSaved(long version) implements Command {}

  /** From the queue: the write with this consumer's position failed; send the current one. */
  enum ResendPosition implements Command { INSTANCE }

  /** From the queue on the janitor's tick: report staleness, and leave if inactive too long. */
  enum Tick implements Command { INSTANCE }

  /** The process has a push transport now: a push consumer waiting for one subscribes its pusher. */
  enum PushTransportReady implements Command { INSTANCE }

  // internal: piped results, timers and watches; those carrying a Throwable or an array of loaded
  // messages are results of this actor's own work, told to itself, never over the network
  private record HandlerDone(long subscription, long call, long sequence, int attempt, Throwable failure)
      implements Command, NoSerializationVerificationNeeded {}
  private enum CheckHandlerTimeouts implements Command { INSTANCE }
  private record BreakerChanged(long subscription, BreakerState state) implements Command {}
  private record DeadLetterAppended(long sequence, int attempts, String reason, List<Long> appended,
      Throwable failure) implements Command, NoSerializationVerificationNeeded {}
  private enum DrainDeadline implements Command { INSTANCE }
  private record SegmentLoaded(long sequence, Message[] messages, Throwable failure)
      implements Command, NoSerializationVerificationNeeded {}
  private enum LoadAgain implements Command { INSTANCE }
  /** The earliest message set aside until its delivery time is due. */
  private enum Due implements Command { INSTANCE }
  private record GiveUpAgain(long sequence, int attempts, String reason) implements Command {}
  private record GiveUpLoaded(long sequence, int attempts, String reason, Message[] messages, Throwable failure)
      implements Command, NoSerializationVerificationNeeded {}
  private record AckDeadline(long batch) implements Command {}
  private record BackoffElapsed(long sequence) implements Command {}
  private record ReadExpired(long readId) implements Command {}
  private record SubscriberTerminated(ActorRef<Delivery> subscriber) implements Command {}

  /** A consumer's state, created by its queue and handed to every incarnation of the actor: a restart keeps it. */
  static final class State extends ConsumerState<StreamElement> {
    /** See {@link ConsumerState#ConsumerState}. */
    State(String queue, ConsumerSettings resolved, QueueSettings.DeadLetter deadLetter, int maxPriority, long start,
        long knownEpoch, long now, int traceEvents) {
      super(queue, resolved, deadLetter, maxPriority, start, knownEpoch, now, traceEvents);
    }
  }

  /** A consumer reading {@code log} directly, adding to its queue's {@code counters}, telling {@code parent}. */
  static Behavior<Command> create(String name, State state, LogView log, QueueCounters counters,
      ActorRef<QueueActor.Command> parent, ActorRef<QueueManager.Command> manager, SpoolSettings settings) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers ->
        new ConsumerActor(context, timers, name, state, log, counters, parent, manager, settings)));
  }

  /** The sequence a start position points at now. Also used by the queue for new consumers. */
  static long resolve(StartPosition position, LogView log, boolean partition) {
    return Dispatcher.resolve(position, log, partition);
  }

  private final TimerScheduler<Command> timers;
  private final String name;
  private final State state;
  private final LogView log;
  private final QueueCounters counters;
  private final ActorRef<QueueActor.Command> parent;
  private final ActorRef<QueueManager.Command> manager;
  private final SpoolSettings settings;
  private final Clock clock;
  private final Dispatcher<StreamElement> dispatcher;
  private final Settlements settlements;
  private final HandlerCalls handlers;
  /** How long a consumer waits before it reads a segment that could not be read back again. */
  private static final Duration LOAD_RETRY = Duration.ofSeconds(1);

  /** Cold segments loaded ahead of the one this consumer reads. */
  private final int readAhead;
  /** The segment whose last load failed, so a failing segment is logged once, not at every retry. */
  private long failedSegment = -1;

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
    this.clock = settings.clock();
    SpoolSettings.ConsumerDefaults limits = settings.consumer();
    this.dispatcher = new Dispatcher<>(name, state, log, limits.streamBatch(), limits.maxOpenGroups(),
        settings.scheduling().maxDeferred(), settings.scheduling().priorityWindow(), this, clock);
    this.settlements = new Settlements(name, state, log, dispatcher, this);
    this.handlers = new HandlerCalls(name, state, settlements, this, clock);
    this.readAhead = TieredStorage.get(context.getSystem()).settings().readAhead();
    recoverAfterRestart();
    attachPush();
    dispatch();
  }

  /**
   * A push consumer subscribes its pusher as a handler once, when the process has a push transport:
   * at its start, or when one is registered. The subscription lives in the state, so a restart of
   * this actor keeps it.
   */
  private void attachPush() {
    PushSettings push = state.settings().push();
    if (push == null || state.pusher() != null) {
      return;
    }
    PushTransport transport = PushTransports.get(getContext().getSystem()).transportOrWait(getContext().getSelf());
    if (transport == null) {
      return;
    }
    PushTransport.Pusher pusher = transport.open(state.queue(), state.settings());
    state.pusher(pusher);
    // A pusher never blocks (it hands the request to the transport and returns): it runs where the
    // actors do, not on the handlers' pool, saving a thread hand-off per message.
    HandlerSettings handler = settings.handler().withTimeout(push.ackDeadline())
        .withDispatcher("pekko.actor.default-dispatcher");
    // A receiver that is down fails every message: every failure counts, so its breaker opens and pauses
    // the pushes instead of spending each message's retries.
    handlers.subscribe(pusher::push, push.maxOutstanding(), handler, getContext().getSystem().ignoreRef(), true);
  }

  /** A fresh incarnation re-arms what the previous one's timers and watches covered. */
  private void recoverAfterRestart() {
    dispatcher.recover();
    handlers.recover();
    for (Subscribers.ActorSubscriber subscriber : state.subscribers().actors()) {
      getContext().watchWith(subscriber.ref(), new SubscriberTerminated(subscriber.ref()));
    }
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Read.class, this::onRead)
        .onMessage(Ack.class, ack -> acknowledged(ack.replyTo(), settlements.ack(ack.sequences())))
        .onMessage(AckUpTo.class, ack -> acknowledged(ack.replyTo(), settlements.ackUpTo(ack.sequence())))
        .onMessage(Nack.class, this::onNack)
        .onMessage(Seek.class, seek -> dispatchIf(settlements.seek(seek.to(), seek.replyTo())))
        .onMessage(Pause.class, pause -> dispatchIf(dispatcher.pause(true, pause.replyTo())))
        .onMessage(Resume.class, resume -> dispatchIf(dispatcher.pause(false, resume.replyTo())))
        .onMessage(GetInfo.class, get -> reply(get.replyTo(), state.stats().info(name, state, log, clock.millis())))
        .onMessage(GetRef.class, get -> reply(get.replyTo(), getContext().getSelf()))
        .onMessage(Subscribe.class, this::onSubscribe)
        .onMessage(Unsubscribe.class, this::onUnsubscribe)
        .onMessage(SubscribeStream.class, this::onSubscribeStream)
        .onMessage(StreamDemand.class, demand -> dispatchIf(state.subscribers().demand(demand.streamId())))
        .onMessage(StreamClosed.class, closed -> released(state.subscribers().closeStream(closed.streamId())))
        .onMessageEquals(MessagesAvailable.INSTANCE, this::onMessagesAvailable)
        .onMessage(AckDeadline.class, deadline -> dispatchIf(settlements.deadlinePassed(deadline.batch())))
        .onMessage(BackoffElapsed.class, elapsed -> dispatchIf(state.cursor().backoffElapsed(elapsed.sequence())))
        .onMessage(ReadExpired.class, this::onReadExpired)
        .onMessage(SubscriberTerminated.class, gone -> released(state.subscribers().unsubscribe(gone.subscriber())))
        .onMessage(MessagesRemoved.class, this::onMessagesRemoved)
        .onMessageEquals(Tick.INSTANCE, this::onTick)
        .onMessage(SubscribeHandler.class, this::onSubscribeHandler)
        .onMessageEquals(PushTransportReady.INSTANCE, () -> {
          attachPush();
          return dispatch();
        })
        .onMessage(UnsubscribeHandler.class, u -> dispatchIf(handlers.unsubscribe(u.subscription(), u.replyTo())))
        .onMessage(HandlerDone.class, this::onHandlerDone)
        .onMessageEquals(CheckHandlerTimeouts.INSTANCE, () -> dispatchIf(handlers.checkTimeouts(System.nanoTime())))
        .onMessage(BreakerChanged.class, c -> dispatchIf(handlers.breakerChanged(c.subscription(), c.state())))
        .onMessage(DeadLetterAppended.class, this::onDeadLetterAppended)
        .onMessage(SegmentLoaded.class, this::onSegmentLoaded)
        .onMessageEquals(LoadAgain.INSTANCE, this::dispatch)
        .onMessageEquals(Due.INSTANCE, this::onDue)
        .onMessage(GiveUpLoaded.class, this::onGiveUpLoaded)
        .onMessage(GiveUpAgain.class, again -> {
          giveUpWhenLoaded(again.sequence(), again.attempts(), again.reason());
          return this;
        })
        .onMessage(Drain.class, this::onDrain)
        .onMessageEquals(DrainDeadline.INSTANCE, this::onDrainDeadline)
        .onMessage(GetTrace.class, get -> reply(get.replyTo(), state.trace().entries(name, get.sequence(), state, log)))
        .onMessage(TraceShare.class, this::onTraceShare)
        .onMessage(Fail.class, this::onFail)
        .onMessage(PositionSaved.class, this::onPositionSaved)
        .onMessageEquals(ResendPosition.INSTANCE, this::onResendPosition)
        .onSignal(PostStop.class, signal -> onPostStop())
        .build();
  }

  private Behavior<Command> onRead(Read read) {
    if (read.notAfter() > 0 && System.currentTimeMillis() > read.notAfter()) {
      getContext().getLog().debug("consumer {} of {}: a read arrived after its reader gave up; nothing delivered",
          name, state.queue());
      read.replyTo().tell(StatusReply.error(new SpoolException.Timeout("the read arrived after its deadline")));
      return this;
    }
    dispatcher.read(read.max(), read.waitFor(), read.replyTo(), settings.consumer());
    return this;
  }

  private Behavior<Command> onReadExpired(ReadExpired expired) {
    dispatcher.readExpired(expired.readId());
    return this;
  }

  private Behavior<Command> acknowledged(ActorRef<StatusReply<AckResult>> replyTo, AckResult result) {
    state.position().replyWhenDurable(replyTo, result, state.queue(), name, this);
    return dispatch();
  }

  private Behavior<Command> onNack(Nack nack) {
    nack.replyTo().tell(StatusReply.success(settlements.nack(nack.sequences(), nack.requeue())));
    return dispatch();
  }

  private Behavior<Command> onDeadLetterAppended(DeadLetterAppended a) {
    if (a.failure() == null) {
      counters.deadLettered(a.reason());
    }
    return dispatchIf(settlements.deadLetterAppended(a.sequence(), a.attempts(), a.reason(), a.appended(), a.failure()));
  }

  private Behavior<Command> onMessagesRemoved(MessagesRemoved notice) {
    settlements.removal(notice.removed(), notice.epoch(), notice.reason() != Retention.Reason.REDRIVEN,
        notice.reason() == Retention.Reason.EXPIRED);
    return dispatch();
  }

  private Behavior<Command> onPositionSaved(PositionSaved saved) {
    state.position().saved(saved.version(), state, this);
    return this;
  }

  private Behavior<Command> onResendPosition() {
    state.position().resend(state, this);
    return this;
  }

  private Behavior<Command> onSubscribe(Subscribe subscribe) {
    if (state.subscribers().subscribe(subscribe.subscriber())) {
      getContext().watchWith(subscribe.subscriber(), new SubscriberTerminated(subscribe.subscriber()));
    }
    subscribe.replyTo().tell(StatusReply.success(Done.getInstance()));
    return dispatch();
  }

  private Behavior<Command> onUnsubscribe(Unsubscribe unsubscribe) {
    getContext().unwatch(unsubscribe.subscriber());
    unsubscribe.replyTo().tell(StatusReply.success(Done.getInstance()));
    return released(state.subscribers().unsubscribe(unsubscribe.subscriber()));
  }

  private Behavior<Command> onSubscribeStream(SubscribeStream subscribe) {
    state.subscribers().addStream(subscribe.streamId(), subscribe.stream());
    return dispatch();
  }

  private Behavior<Command> onDue() {
    dispatcher.wokenAtDue();
    return dispatch();
  }

  private Behavior<Command> onMessagesAvailable() {
    dispatcher.woken();
    return dispatch();
  }

  private Behavior<Command> onSubscribeHandler(SubscribeHandler s) {
    return dispatchIf(handlers.subscribe(s.handler(), s.parallelism(), s.settings(), s.replyTo()));
  }

  private Behavior<Command> onHandlerDone(HandlerDone done) {
    return dispatchIf(handlers.done(done.subscription(), done.call(), done.sequence(), done.attempt(), done.failure()));
  }

  private Behavior<Command> onDrain(Drain drain) {
    dispatcher.endParkedReads(); // nothing more is delivered: so that HTTP can finish its requests
    handlers.drain(drain.timeout(), (finished, abandoned) ->
        drain.replyTo().tell(StatusReply.success(new DrainResult(finished, abandoned))));
    return this;
  }

  private Behavior<Command> onDrainDeadline() {
    handlers.drainDeadline();
    return this;
  }

  private Behavior<Command> onFail(Fail fail) {
    throw new IllegalStateException("injected failure: " + fail.why());
  }

  private Behavior<Command> onTraceShare(TraceShare share) {
    state.trace().resize(share.events());
    return this;
  }

  private Behavior<Command> onTick() {
    ConsumerStats.Tick tick = state.stats().tick(state, log, clock.millis(), state.settings().inactiveTimeout(),
        settings.janitor().staleAfter());
    switch (tick.action()) {
      case REMOVE_INACTIVE -> parent.tell(new QueueActor.RemoveInactive(name, getContext().getSelf(), tick.lag()));
      case REPORT_STALE -> publish(
          new SpoolEvent.ConsumerStale(clock.instant(), state.queue(), name, tick.idleMillis(), tick.lag()));
      case NOTHING -> { }
    }
    return this;
  }

  private Behavior<Command> onPostStop() {
    PushTransports.get(getContext().getSystem()).forget(getContext().getSelf());
    if (state.pusher() != null) {
      state.pusher().close();
    }
    for (Subscribers.StreamSubscriber<StreamElement> stream : state.subscribers().streams()) {
      stream.ref().tell(End.INSTANCE);
    }
    // Deleted, with its queue or alone, or stopping with the engine: whoever still waits learns why now.
    SpoolException gone = state.draining() ? new SpoolException.ShuttingDown()
        : new SpoolException.ConsumerNotFound(state.queue(), name);
    for (Subscribers.ParkedRead read : state.subscribers().unparkAll()) {
      read.replyTo().tell(StatusReply.error(gone));
    }
    state.position().refuseWaiting(gone);
    return this;
  }

  private <T> Behavior<Command> reply(ActorRef<StatusReply<T>> replyTo, T result) {
    replyTo.tell(StatusReply.success(result));
    return this;
  }

  /** A subscriber went away (owner -1: none did): what it held is redelivered. */
  private Behavior<Command> released(long owner) {
    if (owner < 0) {
      return this;
    }
    settlements.releaseOwner(owner);
    return dispatch();
  }

  private Behavior<Command> dispatchIf(boolean changed) {
    return changed ? dispatch() : this;
  }

  /** Delivers what can go now. */
  private Behavior<Command> dispatch() {
    dispatcher.round();
    return this;
  }

  // the outlets of the plain classes: the tells, timers, handler calls and the dead-letter queue

  @Override
  public <T> void reply(ActorRef<StatusReply<T>> to, StatusReply<T> reply) {
    to.tell(reply);
  }

  @Override
  public void answer(Subscribers.ParkedRead read, List<Delivery> deliveries) {
    timers.cancel(new ReadExpired(read.id()));
    read.replyTo().tell(StatusReply.success(deliveries));
  }

  @Override
  public void parked(Subscribers.ParkedRead read, Duration wait) {
    timers.startSingleTimer(new ReadExpired(read.id()), wait);
  }

  @Override
  public void send(Subscribers.ActorSubscriber subscriber, Delivery delivery) {
    subscriber.ref().tell(delivery);
  }

  @Override
  public void send(Subscribers.StreamSubscriber<StreamElement> stream, List<Delivery> batch) {
    stream.ref().tell(new Batch(stream.streamId(), batch));
  }

  @Override
  public void call(HandlerPool.Handler handler, Delivery delivery) {
    handlers.call(handler, delivery);
  }

  @Override
  public void yieldRounds() {
    getContext().getSelf().tell(MessagesAvailable.INSTANCE);
  }

  @Override
  public void add(ConsumerStats.Total total, long count) {
    switch (total) {
      case DELIVERED -> counters.delivered.add(count);
      case REDELIVERED -> counters.redelivered.add(count);
      case ACKED -> counters.acked.add(count);
      case DROPPED -> counters.dropped.add(count);
      case DEAD_LETTERED -> counters.deadLettered.add(count);
    }
  }

  @Override
  public void ackDeadline(long batch) {
    timers.startSingleTimer(new AckDeadline(batch), state.settings().ackTimeout());
  }

  @Override
  public void wakeAt(long atMillis) {
    if (atMillis == 0) {
      timers.cancel(Due.INSTANCE);
    } else {
      timers.startSingleTimer(Due.INSTANCE, Duration.ofMillis(Math.max(0, atMillis - clock.millis())));
    }
  }

  @Override
  public void awaitMessages(long after) {
    parent.tell(new QueueActor.AwaitMessages(name, after));
  }

  @Override
  public void load(long sequence) {
    getContext().pipeToSelf(log.load(sequence, readAhead), (messages, failure) ->
        new SegmentLoaded(sequence, messages, failure));
  }

  private Behavior<Command> onSegmentLoaded(SegmentLoaded loaded) {
    long segment = (loaded.sequence() - 1) / log.segmentSize();
    if (loaded.failure() == null) {
      failedSegment = -1;
      dispatcher.loaded(loaded.sequence(), loaded.messages());
      Behavior<Command> next = dispatch();
      dispatcher.loadSettled();
      return next;
    }
    dispatcher.loadFailed(loaded.sequence());
    dispatcher.loadSettled();
    if (failedSegment != segment) {
      failedSegment = segment;
      getContext().getLog().error("queue {}: consumer {} cannot read segment {} (sequences {} to {}) back from storage;"
          + " it delivers nothing past it and tries again every {}: {}", state.queue(), name, segment,
          segment * log.segmentSize() + 1, (segment + 1) * log.segmentSize(), LOAD_RETRY, describe(loaded.failure()));
      publish(new SpoolEvent.SegmentUnreadable(clock.instant(), state.queue(), name, segment,
          describe(loaded.failure())));
    }
    timers.startSingleTimer(LoadAgain.INSTANCE, LOAD_RETRY);
    return this;
  }

  private static String describe(Throwable failure) {
    Throwable cause = failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null
        ? failure.getCause() : failure;
    return cause.getMessage() != null ? cause.getMessage() : cause.toString();
  }

  @Override
  public void giveUpWhenLoaded(long sequence, int attempts, String reason) {
    getContext().pipeToSelf(log.load(sequence, 0), (messages, failure) ->
        new GiveUpLoaded(sequence, attempts, reason, messages, failure));
  }

  private Behavior<Command> onGiveUpLoaded(GiveUpLoaded loaded) {
    if (loaded.failure() != null) {
      getContext().getLog().warn("queue {}: consumer {} cannot load sequence {} to dead-letter it; trying again in {}: {}",
          state.queue(), name, loaded.sequence(), LOAD_RETRY, describe(loaded.failure()));
      timers.startSingleTimer(new GiveUpAgain(loaded.sequence(), loaded.attempts(), loaded.reason()), LOAD_RETRY);
      return this;
    }
    // The loaded copy only while the log still retains it: removed or expired meanwhile, it is not dead-lettered.
    Message message = log.get(loaded.sequence());
    if (message == null && log.cold(loaded.sequence()) && loaded.messages() != null) {
      message = loaded.messages()[(int) ((loaded.sequence() - 1) & (log.segmentSize() - 1))];
    }
    settlements.giveUp(loaded.sequence(), loaded.attempts(), loaded.reason(), message);
    return dispatch();
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
  public void deadLetter(String queue, Message message, int attempts, String reason) {
    long sequence = message.sequence();
    Message copy = DeadLetters.copyOf(message, state.queue(), name, reason, attempts,
        state.retry().history(sequence), clock.millis());
    getContext().askWithStatus(Request.<Long>listClass(), manager, settings.askTimeout(),
        r -> new QueueManager.ToQueue(queue, new QueueActor.Publish(DeadLetters.DEAD_LETTER_PRODUCER, List.of(copy), r)),
        (appended, failure) -> new DeadLetterAppended(sequence, attempts, reason, appended, failure));
  }

  @Override
  public Executor executor(String dispatcherName) {
    return getContext().getSystem().dispatchers().lookup(DispatcherSelector.fromConfig(dispatcherName));
  }

  @Override
  public HandlerPool.Breaker breaker(long owner, HandlerSettings handlerSettings) {
    ActorRef<Command> self = getContext().getSelf();
    return HandlerPool.Breaker.pekko(Adapter.toClassic(getContext().getSystem()).scheduler(), handlerSettings,
        changed -> self.tell(new BreakerChanged(owner, changed)));
  }

  @Override
  public void pipe(CompletionStage<Done> outcome, long owner, long call, Delivery delivery) {
    getContext().pipeToSelf(outcome,
        (done, failure) -> new HandlerDone(owner, call, delivery.sequence(), delivery.attempt(), failure));
  }

  @Override
  public void checkTimeoutsEvery(Duration interval) {
    timers.cancel(CheckHandlerTimeouts.INSTANCE);
    if (interval != null) {
      timers.startTimerWithFixedDelay(CheckHandlerTimeouts.INSTANCE, interval);
    }
  }

  @Override
  public void drainDeadline(Duration timeout) {
    timers.cancel(DrainDeadline.INSTANCE);
    if (timeout != null) {
      timers.startSingleTimer(DrainDeadline.INSTANCE, timeout);
    }
  }

  @Override
  public void publish(SpoolEvent event) {
    Events.publish(getContext().getSystem(), event);
  }

  @Override
  public void progressed(long watermark) {
    parent.tell(new QueueActor.ConsumerProgress(name, watermark));
  }

  @Override
  public void positionChanged(long version, ConsumerPosition position) {
    parent.tell(new QueueActor.PositionChanged(name, getContext().getSelf(), version, position));
  }
}
