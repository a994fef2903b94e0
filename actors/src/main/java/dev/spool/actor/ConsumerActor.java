package dev.spool.actor;

import dev.spool.AckMode;
import dev.spool.AckResult;
import dev.spool.BreakerState;
import dev.spool.ConsumerInfo;
import dev.spool.ConsumerSettings;
import dev.spool.Delivery;
import dev.spool.DeliveryState;
import dev.spool.HandlerSettings;
import dev.spool.Message;
import dev.spool.MessageFilter;
import dev.spool.MessageTrace;
import dev.spool.QueueSettings;
import dev.spool.SpoolEvent;
import dev.spool.SpoolException;
import dev.spool.SpoolSettings;
import dev.spool.StartPosition;
import dev.spool.durable.ConsumerPosition;
import dev.spool.log.ConsumerCursor;
import dev.spool.log.DeliveryTrace;
import dev.spool.log.SegmentedLog;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
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
import org.apache.pekko.pattern.CircuitBreaker;
import org.apache.pekko.pattern.StatusReply;

/**
 * One consumer of a queue: a child of its {@link QueueActor}, with its own cursor, committed
 * position and in-flight set. It reads the queue's {@link SegmentedLog} directly (messages are
 * shared, never copied) and hands deliveries to its subscribers: pull reads (with long-poll),
 * {@code ActorRef<Delivery>} subscribers and streams, never more than {@code prefetch} unacknowledged
 * at once, redeliveries before new messages.
 *
 * <p>Messages removed from the log (expired, evicted) leave a marker of their removal step (epoch)
 * in their slot. The queue tells every consumer what each step removed ({@link MessagesRemoved}); the
 * consumer counts exactly the ones it had not acknowledged, withdraws those in flight, and skips
 * markers of steps it has been told of. A marker of a step whose notice has not arrived yet stops
 * delivery there until it does, so no removal is ever missed or counted twice.
 *
 * <p>When it has demand but has delivered everything, it asks its queue once to be woken by the
 * next append ({@code AwaitMessages}), so a publish costs one message per waiting consumer and
 * none per busy one. Its state lives in a {@link State} that its parent creates, so a restart after
 * a failure resumes with cursor, committed position and in-flight set intact.
 *
 * <p>Handler subscriptions run the user's function for each delivery on a dispatcher apart from the
 * actors', at most {@code parallelism} calls at once, each subscription with its own Pekko
 * {@link CircuitBreaker}: a failed or timed-out call nacks the delivery (redelivered after the
 * backoff); repeated failures of first attempts open the breaker, and deliveries to that handler
 * pause until a trial call succeeds. Retries of a failing message do not count toward opening it,
 * so a few poison messages never pause the healthy traffic. A message given up on (nacked without requeue, or out of attempts) is set aside,
 * appended to the queue's dead-letter queue with its attempt history, and only then settled.
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

  /** Pull reads hold deliveries under this owner id. */
  private static final long PULL_OWNER = 0;

  /** Gone or settled sequences one info passes over at most looking for the oldest unacknowledged: some microseconds. */
  private static final int LAG_AGE_SCAN_LIMIT = 8192;

  /**
   * A consumer's state, created by its queue and handed to every incarnation of the actor, so that
   * a restart keeps the position. Touched only by the consumer actor.
   */
  static final class State {
    final String queue;
    final ConsumerSettings settings;
    final ConsumerCursor cursor;
    final int prefetch;
    final int maxDeliveries;
    final boolean explicit;
    /** Where given-up messages go, or {@code null}: then they are dropped and counted. */
    final String deadLetterQueue;
    boolean paused;
    boolean draining;
    long lastActivity;
    /** A stale episode was reported (ConsumerStale); activity ends it. */
    boolean staleReported;
    /** The last removal step this consumer knows of: markers up to it are skipped. */
    long knownEpoch;
    int incarnations;
    long delivered;
    long redelivered;
    long acked;
    long nacked;
    long filtered;
    long expired;
    long dropped;
    long deadLettered;
    long errors;
    int drainFinished;
    Duration drainTimeout;
    ActorRef<StatusReply<DrainResult>> drainReply;
    final Map<ActorRef<Delivery>, ActorSubscriber> actorSubscribers = new LinkedHashMap<>();
    final Map<Long, HandlerSubscriber> handlers = new LinkedHashMap<>();
    /** Failed attempts of sequences still unsettled, for the dead-letter history. Bounded by prefetch. */
    final Map<Long, List<DeadLetters.Attempt>> failures = new HashMap<>();
    /** Groups with acknowledged members, toward GroupCompleted; insertion order, so the oldest is evicted first. */
    final LinkedHashMap<String, int[]> groups = new LinkedHashMap<>();
    final DeliveryTrace trace;
    /** The lowest sequence this consumer could have been delivered: its start, lowered by seeks back. */
    long traceReach;
    /**
     * Where this consumer began on a durable queue's recovery: the events of sequences from its
     * original start up to here happened before the restart and are not held.
     */
    long tracedFrom = Long.MIN_VALUE;
    /** The start this consumer was created with. */
    long firstStart;
    /** The highest sequence a seek back made deliverable again: below it, one delivery may repeat another. */
    long replayedUpTo = Long.MIN_VALUE;
    /** The most recent seeks forward: {from, to (exclusive), at millis} each, oldest overwritten first. */
    final long[][] seeksForward = new long[MAX_SEEKS_TRACED][];
    long seeksForwardCount;
    final Map<Long, StreamSubscriber> streams = new LinkedHashMap<>();
    final ArrayDeque<ParkedRead> parkedReads = new ArrayDeque<>();
    /** In {@code none} mode: which actor subscriber holds which delivered sequence, for credit. */
    final Map<Long, ActorSubscriber> creditHeld = new HashMap<>();
    long ownerIds;
    long readIds;
    long reportedWatermark;
    /**
     * The lowest sequence this consumer still needs, as of its last change: written by this
     * consumer, read by its queue when it releases messages, so that an acknowledgement counts at
     * once without a message per acknowledgement.
     */
    volatile long needFrom;
    boolean awaitingMessages;
    /** On a durable queue: positions are journaled, and acks are answered once theirs is. */
    boolean durable;
    /** Bumped whenever the position to journal changes; the journal has stored {@link #savedVersion}. */
    long positionVersion;
    long savedVersion;
    /** A position is with the queue, not yet stored: the next is sent when it is (one in flight). */
    boolean positionSent;
    /** What the last journaled change looked like, so that unchanged positions are not written again. */
    long positionFingerprint = Long.MIN_VALUE;
    /** Answers waiting for their position to be stored. Bounded by {@link #MAX_WAITING_REPLIES}. */
    final ArrayDeque<WaitingReply> waitingReplies = new ArrayDeque<>();

    /**
     * @param deadLetter the queue's dead-letter setting, or {@code null}
     * @param traceEvents delivery events kept for traces: this consumer's share of its queue's cap
     */
    State(String queue, ConsumerSettings resolved, QueueSettings.DeadLetter deadLetter, long start,
        long knownEpoch, long now, int traceEvents) {
      this.queue = queue;
      this.deadLetterQueue = deadLetter == null ? null : deadLetter.queue();
      this.trace = new DeliveryTrace(traceEvents);
      this.traceReach = start;
      this.firstStart = start;
      this.knownEpoch = knownEpoch;
      this.lastActivity = now;
      this.settings = resolved;
      this.cursor = new ConsumerCursor(start);
      this.prefetch = resolved.prefetch();
      this.maxDeliveries = resolved.maxDeliveries() != null ? resolved.maxDeliveries()
          : deadLetter != null ? deadLetter.maxDeliveries() : Integer.MAX_VALUE;
      this.explicit = resolved.ackMode() == AckMode.EXPLICIT;
      this.reportedWatermark = start;
      this.needFrom = start;
    }

    /**
     * On a durable queue's recovery: the consumer was created at {@code createdAt} and goes on from
     * {@code next}; what happened in between is not held.
     */
    void restoredTrace(long createdAt, long next) {
      firstStart = createdAt;
      traceReach = createdAt;
      tracedFrom = next;
    }
  }

  private static final class ActorSubscriber {
    final long owner;
    final ActorRef<Delivery> ref;
    int held;

    ActorSubscriber(long owner, ActorRef<Delivery> ref) {
      this.owner = owner;
      this.ref = ref;
    }
  }

  private static final class StreamSubscriber {
    final long owner;
    final ActorRef<StreamElement> ref;
    boolean demand = true; // the stream accepts its first element unasked

    StreamSubscriber(long owner, ActorRef<StreamElement> ref) {
      this.owner = owner;
      this.ref = ref;
    }
  }

  private record ParkedRead(long id, int max, ActorRef<StatusReply<List<Delivery>>> replyTo) {}

  /** An answer (an ack's, a seek's, a pause's) held until the journal stored the position that includes it. */
  private record WaitingReply(long version, Runnable answer) {}

  /**
   * Ack answers one consumer holds while its journal is slow or down; beyond it acks are applied but
   * answered with Timeout at once (acks are idempotent: the caller may send them again).
   */
  private static final int MAX_WAITING_REPLIES = 10_000;

  /** A handler call running: which delivery, and since when (for its timeout). */
  private record Call(long sequence, int attempt, long startedNanos) {}

  /** A handler subscription: the user's function, its concurrency and its circuit breaker. */
  private static final class HandlerSubscriber {
    final long owner;
    final Function<Delivery, CompletionStage<Done>> handler;
    final int parallelism;
    final Executor executor;
    final CircuitBreaker breaker;
    final long timeoutMillis;
    final List<ActorRef<StatusReply<Done>>> cancelReplies = new ArrayList<>(0);
    /** Calls running, by call id, oldest first. */
    final LinkedHashMap<Long, Call> calls = new LinkedHashMap<>();
    long callIds;
    int running;
    boolean cancelled;

    HandlerSubscriber(long owner, Function<Delivery, CompletionStage<Done>> handler, int parallelism,
        Executor executor, CircuitBreaker breaker, long timeoutMillis) {
      this.owner = owner;
      this.handler = handler;
      this.parallelism = parallelism;
      this.executor = executor;
      this.breaker = breaker;
      this.timeoutMillis = timeoutMillis;
    }

    /** Whether it can start another call: a half-open breaker lets one trial call through. */
    boolean canTake() {
      if (cancelled || running >= parallelism || breaker.isOpen()) {
        return false;
      }
      return !breaker.isHalfOpen() || running == 0;
    }

    BreakerState breakerState() {
      return breaker.isOpen() ? BreakerState.OPEN : breaker.isHalfOpen() ? BreakerState.HALF_OPEN : BreakerState.CLOSED;
    }
  }

  /**
   * @param parent the queue, told about progress and asked for wake-ups
   * @param log the queue's log, read directly
   * @param counters the queue's totals, added to
   */
  static Behavior<Command> create(String name, State state, SegmentedLog log, QueueCounters counters,
      ActorRef<QueueActor.Command> parent, ActorRef<QueueManager.Command> manager, SpoolSettings settings) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers ->
        new ConsumerActor(context, timers, name, state, log, counters, parent, manager, settings)));
  }

  private final TimerScheduler<Command> timers;
  private final String name;
  private final State state;
  private final SegmentedLog log;
  private final QueueCounters counters;
  private final ActorRef<QueueActor.Command> parent;
  private final ActorRef<QueueManager.Command> manager;
  private final SpoolSettings settings;
  private final SpoolSettings.ConsumerDefaults limits;
  private final Clock clock;
  private final Duration staleAfter;
  private final MessageFilter filter;
  private final int segmentShift;
  /** The ack-deadline batch of the dispatch round under way, 0 when none was opened yet. */
  private long roundBatch;
  /** The time of the deliveries and acks being handled now: one clock read per round, not per message; 0 between rounds. */
  private long roundMillis;
  /** Deliveries of the round under way, added to the queue's shared totals once per round. */
  private long roundDelivered;
  private long roundRedelivered;
  /** Below this sequence nothing retained is unacknowledged: where the lag-age search resumes. */
  private long lagAgeFrom;
  /** The cursor when {@link #lagAgeFrom} was found; a seek back replays, so the cursor moving down forgets it. */
  private long lagAgeCursor;

  private ConsumerActor(ActorContext<Command> context, TimerScheduler<Command> timers, String name, State state,
      SegmentedLog log, QueueCounters counters, ActorRef<QueueActor.Command> parent,
      ActorRef<QueueManager.Command> manager, SpoolSettings settings) {
    super(context);
    this.manager = manager;
    this.settings = settings;
    this.timers = timers;
    this.name = name;
    this.state = state;
    this.log = log;
    this.counters = counters;
    this.parent = parent;
    this.limits = settings.consumer();
    this.clock = settings.clock();
    this.staleAfter = settings.janitor().staleAfter();
    this.filter = state.settings.filter();
    this.segmentShift = Integer.numberOfTrailingZeros(log.segmentSize());
    recoverAfterRestart();
    dispatch();
  }

  /** A fresh incarnation re-arms what the previous one's timers and watches covered. */
  private void recoverAfterRestart() {
    if (++state.incarnations > 1) {
      getContext().getLog().warn("queue {}: consumer {} restarted (restart {}), position kept at {}", state.queue,
          name, state.incarnations - 1, state.cursor.next());
      Events.publish(getContext().getSystem(),
          new SpoolEvent.ConsumerRestarted(clock.instant(), state.queue, name, state.incarnations - 1));
    }
    for (long batch : state.cursor.openBatches()) {
      timers.startSingleTimer(new AckDeadline(batch), state.settings.ackTimeout());
    }
    state.cursor.endBackoffs(); // their timers died with the previous incarnation
    for (ActorRef<Delivery> ref : state.actorSubscribers.keySet()) {
      getContext().watchWith(ref, new SubscriberTerminated(ref));
    }
    for (ParkedRead read : state.parkedReads) {
      read.replyTo().tell(StatusReply.success(List.of()));
    }
    state.parkedReads.clear();
    state.awaitingMessages = false;
    if (state.drainReply != null) {
      timers.startSingleTimer(DrainDeadline.INSTANCE, state.drainTimeout);
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
        .onMessage(GetRef.class, get -> {
          get.replyTo().tell(StatusReply.success(getContext().getSelf()));
          return this;
        })
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
        .onMessage(TraceShare.class, share -> {
          state.trace.resize(share.events());
          return this;
        })
        .onMessage(Fail.class, this::onFail)
        .onMessage(PositionSaved.class, this::onPositionSaved)
        .onMessageEquals(ResendPosition.INSTANCE, this::onResendPosition)
        .onSignal(PostStop.class, signal -> onPostStop())
        .build();
  }

  // ---- pull

  private Behavior<Command> onRead(Read read) {
    if (read.max() < 1 || read.max() > limits.maxReadBatch()) {
      Request.fail(read, new SpoolException.InvalidConfiguration(
          "read max must be between 1 and " + limits.maxReadBatch() + ", not " + read.max()));
      return this;
    }
    if (read.waitFor() != null && read.waitFor().isNegative()) {
      Request.fail(read, new SpoolException.InvalidConfiguration("read wait must not be negative"));
      return this;
    }
    touch();
    List<Delivery> got = halted() || !state.parkedReads.isEmpty() ? List.of() : take(read.max(), PULL_OWNER);
    Duration wait = read.waitFor() == null ? Duration.ZERO : min(read.waitFor(), limits.maxReadWait());
    boolean answerNow =
        !got.isEmpty() || wait.isZero() || state.draining || state.parkedReads.size() >= limits.maxParkedReads();
    if (!answerNow) {
      ParkedRead parked = new ParkedRead(++state.readIds, read.max(), read.replyTo());
      state.parkedReads.addLast(parked);
      timers.startSingleTimer(new ReadExpired(parked.id()), wait);
    }
    finishRound(); // before the answer: in ack mode none, what it read is released once the reader hears back
    if (answerNow) {
      read.replyTo().tell(StatusReply.success(got));
    }
    return this;
  }

  private Behavior<Command> onReadExpired(ReadExpired expired) {
    for (Iterator<ParkedRead> it = state.parkedReads.iterator(); it.hasNext(); ) {
      ParkedRead read = it.next();
      if (read.id() == expired.readId()) {
        it.remove();
        read.replyTo().tell(StatusReply.success(List.of()));
        break;
      }
    }
    return this;
  }

  // ---- acknowledgement

  private Behavior<Command> onAck(Ack ack) {
    touch();
    int acked = 0;
    List<Long> already = new ArrayList<>(0);
    List<Long> unknown = new ArrayList<>(0);
    roundMillis = clock.millis();
    for (long sequence : ack.sequences()) {
      if (!state.explicit) {
        returnCredit(sequence);
        already.add(sequence);
        continue;
      }
      switch (state.cursor.ack(sequence, this::batchSettled)) {
        case ACKED -> {
          acked++;
          settled(sequence, DeliveryTrace.Kind.ACKED, 0);
        }
        case ALREADY_SETTLED -> already.add(sequence);
        case UNKNOWN -> unknown.add(sequence);
      }
    }
    roundMillis = 0;
    recordAcks(acked);
    reportProgress(false); // before the reply: once the acker hears back, the queue can free what it acked
    replyAck(ack.replyTo(), new AckResult(acked, already, unknown));
    dispatch();
    return this;
  }

  private Behavior<Command> onAckUpTo(AckUpTo ack) {
    touch();
    int acked = 0;
    if (state.explicit) {
      acked = state.cursor.ackUpTo(ack.sequence(), this::batchSettled,
          sequence -> settled(sequence, DeliveryTrace.Kind.ACKED, 0));
    } else {
      state.creditHeld.keySet().removeIf(sequence -> sequence <= ack.sequence() && releaseCreditOf(sequence));
    }
    recordAcks(acked);
    reportProgress(false);
    List<Long> unknown = ack.sequence() >= state.cursor.next() ? List.of(ack.sequence()) : List.of();
    replyAck(ack.replyTo(), new AckResult(acked, List.of(), unknown));
    dispatch();
    return this;
  }

  private void recordAcks(int acked) {
    if (acked > 0) {
      state.acked += acked;
      counters.acked.add(acked);
    }
  }

  private Behavior<Command> onNack(Nack nack) {
    touch();
    for (long sequence : nack.sequences()) {
      if (!state.explicit) {
        returnCredit(sequence);
        continue;
      }
      int attempt = state.cursor.attemptInFlight(sequence);
      if (attempt == 0) {
        continue; // not in flight: already settled or never delivered; nothing to redeliver
      }
      state.nacked++;
      trace(sequence, DeliveryTrace.Kind.NACKED, attempt, state.cursor.ownerOf(sequence));
      recordFailure(sequence, attempt, nack.requeue() ? "nacked" : "rejected", null);
      retryOrGiveUp(sequence, attempt, nack.requeue());
    }
    nack.replyTo().tell(StatusReply.success(Done.getInstance()));
    dispatch();
    return this;
  }

  /**
   * After a failed attempt of an in-flight {@code sequence}: redeliver it after the backoff, or,
   * without {@code requeue} or out of attempts, give up on it.
   */
  private void retryOrGiveUp(long sequence, int attempt, boolean requeue) {
    if (!requeue || attempt >= state.maxDeliveries) {
      state.cursor.hold(sequence, this::batchSettled);
      giveUp(sequence, attempt, requeue ? "max-deliveries" : "rejected");
      return;
    }
    state.cursor.requeue(sequence, true, this::batchSettled);
    timers.startSingleTimer(new BackoffElapsed(sequence), state.settings.backoff().delay(attempt));
  }

  /**
   * A {@link ConsumerCursor#hold held} sequence is given up on: appended to the dead-letter queue
   * and settled once that append is confirmed, or without one dropped and counted.
   */
  private void giveUp(long sequence, int attempts, String reason) {
    Message message = log.get(sequence);
    if (state.deadLetterQueue == null || message == null) {
      // Without a dead-letter queue it is dropped; a message already removed (expired) was counted then.
      if (state.cursor.discard(sequence, this::batchSettled) && message != null) {
        state.dropped++;
        counters.dropped.increment();
        trace(sequence, DeliveryTrace.Kind.DROPPED, attempts, -1);
        getContext().getLog().debug("queue {}: consumer {} dropped sequence {} after {} attempts ({})", state.queue,
            name, sequence, attempts, reason);
      }
      state.failures.remove(sequence);
      return;
    }
    Message copy = DeadLetters.copyOf(message, state.queue, name, reason, attempts, state.failures.get(sequence),
        clock.millis());
    getContext().askWithStatus(Request.<Long>listClass(), manager, settings.askTimeout(),
        r -> new QueueManager.ToQueue(state.deadLetterQueue,
            new QueueActor.Publish(DeadLetters.DEAD_LETTER_PRODUCER, List.of(copy), r)),
        (appended, failure) -> new DeadLetterAppended(sequence, attempts, reason, appended, failure));
  }

  private Behavior<Command> onDeadLetterAppended(DeadLetterAppended result) {
    long sequence = result.sequence();
    if (result.failure() != null) {
      // Keep it: nothing is given up on until the dead-letter queue has it. It comes back after the
      // backoff, and its next failure tries the dead-letter queue again.
      getContext().getLog().warn("queue {}: consumer {} could not dead-letter sequence {} to {} ({}); retrying later",
          state.queue, name, sequence, state.deadLetterQueue, result.failure().getMessage());
      if (state.cursor.releaseHeld(sequence) > 0) {
        timers.startSingleTimer(new BackoffElapsed(sequence), state.settings.backoff().delay(result.attempts()));
      }
      return this;
    }
    if (state.cursor.isHeld(sequence)) { // else a seek or an expiry settled it meanwhile
      state.cursor.discard(sequence, this::batchSettled);
      state.failures.remove(sequence);
    }
    state.deadLettered++;
    counters.deadLettered.increment();
    trace(sequence, DeliveryTrace.Kind.DEAD_LETTERED, result.attempts(), -1);
    long deadLetterSequence = result.appended().isEmpty() ? 0 : result.appended().get(0);
    Events.publish(getContext().getSystem(), new SpoolEvent.DeadLettered(clock.instant(), state.queue, name, sequence,
        result.reason(), result.attempts(), state.deadLetterQueue, deadLetterSequence));
    reportProgress(false);
    dispatch();
    return this;
  }

  /** Remembers a failed attempt for the dead-letter history (the most recent ones, bounded). */
  private void recordFailure(long sequence, int attempt, String outcome, Throwable error) {
    List<DeadLetters.Attempt> history = state.failures.computeIfAbsent(sequence, s -> new ArrayList<>(4));
    if (history.size() >= MAX_HISTORY) {
      history.remove(0);
    }
    history.add(new DeadLetters.Attempt(attempt, clock.millis(), outcome, DeadLetters.describe(error)));
  }

  /** Failed attempts remembered per message for its dead-letter history. */
  private static final int MAX_HISTORY = 16;

  private Behavior<Command> onBackoffElapsed(BackoffElapsed elapsed) {
    if (state.cursor.backoffElapsed(elapsed.sequence())) {
      dispatch();
    }
    return this;
  }

  private Behavior<Command> onAckDeadline(AckDeadline deadline) {
    if (state.cursor.batchOpen(deadline.batch())) {
      // A handler's deliveries are timed out by the handler's own timeout (at most the ack timeout,
      // checked a little late); expiring them here too would hand one to a second call while the
      // first still runs.
      state.cursor.expireBatch(deadline.batch(), state.maxDeliveries, this::outOfAttempts,
          state.handlers::containsKey);
      dispatch();
    }
    return this;
  }

  /** The cursor held {@code sequence}: its last attempt timed out or its subscriber went away. */
  private void outOfAttempts(long sequence) {
    giveUp(sequence, state.maxDeliveries, "max-deliveries");
  }

  private void batchSettled(long batch) {
    timers.cancel(new AckDeadline(batch));
  }

  private void returnCredit(long sequence) {
    if (releaseCreditOf(sequence)) {
      state.creditHeld.remove(sequence);
    }
  }

  private boolean releaseCreditOf(long sequence) {
    ActorSubscriber holder = state.creditHeld.get(sequence);
    if (holder == null) {
      return false;
    }
    holder.held--;
    return true;
  }

  // ---- position

  private Behavior<Command> onSeek(Seek seek) {
    long target;
    try {
      target = resolve(seek.to());
    } catch (SpoolException e) {
      Request.fail(seek, e);
      return this;
    }
    for (long batch : state.cursor.openBatches()) {
      timers.cancel(new AckDeadline(batch));
    }
    traceSeek(target);
    state.cursor.seek(target);
    state.failures.clear();
    state.groups.clear();
    state.creditHeld.clear();
    state.actorSubscribers.values().forEach(s -> s.held = 0);
    touch();
    reportProgress(true);
    replyWhenDurable(seek.replyTo(), Done.getInstance()); // a replay asked for must survive a restart
    dispatch();
    return this;
  }

  /** The sequence a start position points at now. Also used by the queue for new consumers. */
  static long resolve(StartPosition position, SegmentedLog log) {
    if (position instanceof StartPosition.Earliest) {
      return log.firstSequence();
    }
    if (position instanceof StartPosition.Latest) {
      return log.nextSequence();
    }
    if (position instanceof StartPosition.AtSequence at) {
      if (at.sequence() > log.nextSequence()) {
        throw new SpoolException.SequenceOutOfRange("sequence " + at.sequence()
            + " is past the end of the queue (the next message gets " + log.nextSequence() + ")");
      }
      return Math.max(at.sequence(), log.firstSequence());
    }
    return log.firstSequenceAtOrAfter(((StartPosition.AtTime) position).time().toEpochMilli());
  }

  private long resolve(StartPosition position) {
    return resolve(position, log);
  }

  private Behavior<Command> onPause(Pause pause) {
    state.paused = true;
    journalPosition(true);
    replyWhenDurable(pause.replyTo(), Done.getInstance());
    return this;
  }

  private Behavior<Command> onResume(Resume resume) {
    state.paused = false;
    journalPosition(true);
    replyWhenDurable(resume.replyTo(), Done.getInstance());
    dispatch();
    return this;
  }

  // ---- subscribers

  private Behavior<Command> onSubscribe(Subscribe subscribe) {
    if (!state.actorSubscribers.containsKey(subscribe.subscriber())) {
      state.actorSubscribers.put(subscribe.subscriber(), new ActorSubscriber(++state.ownerIds, subscribe.subscriber()));
      getContext().watchWith(subscribe.subscriber(), new SubscriberTerminated(subscribe.subscriber()));
    }
    subscribe.replyTo().tell(StatusReply.success(Done.getInstance()));
    dispatch();
    return this;
  }

  private Behavior<Command> onUnsubscribe(Unsubscribe unsubscribe) {
    detach(unsubscribe.subscriber());
    getContext().unwatch(unsubscribe.subscriber());
    unsubscribe.replyTo().tell(StatusReply.success(Done.getInstance()));
    dispatch();
    return this;
  }

  private Behavior<Command> onSubscriberTerminated(SubscriberTerminated terminated) {
    detach(terminated.subscriber());
    dispatch();
    return this;
  }

  private void detach(ActorRef<Delivery> ref) {
    ActorSubscriber subscriber = state.actorSubscribers.remove(ref);
    if (subscriber != null) {
      releaseOwner(subscriber.owner);
      state.creditHeld.values().removeIf(holder -> holder == subscriber);
    }
  }

  private Behavior<Command> onSubscribeStream(SubscribeStream subscribe) {
    // Its owner id comes from the same numbering as the other subscribers', so deliveries held by
    // one are never released as another's.
    state.streams.put(subscribe.streamId(), new StreamSubscriber(++state.ownerIds, subscribe.stream()));
    dispatch();
    return this;
  }

  private Behavior<Command> onStreamDemand(StreamDemand demand) {
    StreamSubscriber stream = state.streams.get(demand.streamId());
    if (stream != null) {
      stream.demand = true;
      dispatch();
    }
    return this;
  }

  private Behavior<Command> onStreamClosed(StreamClosed closed) {
    StreamSubscriber stream = state.streams.remove(closed.streamId());
    if (stream != null) {
      releaseOwner(stream.owner);
      dispatch();
    }
    return this;
  }

  private void releaseOwner(long owner) {
    if (state.explicit) {
      state.cursor.releaseOwner(owner, state.maxDeliveries, this::outOfAttempts);
    }
  }

  private Behavior<Command> onMessagesAvailable() {
    state.awaitingMessages = false;
    dispatch();
    return this;
  }

  // ---- info

  private Behavior<Command> onGetInfo(GetInfo get) {
    get.replyTo().tell(StatusReply.success(info()));
    return this;
  }

  private ConsumerInfo info() {
    long last = log.lastSequence();
    long committed = committed();
    Message oldest = oldestUnacknowledged(committed, last);
    long lagAge = oldest == null ? 0 : Math.max(0, clock.millis() - oldest.timestamp());
    return new ConsumerInfo(state.queue, name, state.settings, state.cursor.next(), committed, last,
        last - committed, lagAge, state.cursor.inFlight() + state.creditHeld.size(), state.cursor.waiting(),
        deliveryState(last), state.paused, Instant.ofEpochMilli(state.lastActivity),
        state.actorSubscribers.size() + state.streams.size() + state.handlers.size(), state.parkedReads.size(),
        handlerCalls(), breakerState(),
        new ConsumerInfo.Counters(state.delivered, state.redelivered, state.acked, state.nacked,
            state.filtered, state.expired, state.dropped, state.deadLettered, state.errors));
  }

  /**
   * The oldest retained message this consumer has not acknowledged (delivered and unsettled, or not
   * delivered yet), or null when there is none. Usually the one just past {@code committed}; past
   * sequences found gone (expired, evicted, released) or settled (acknowledged out of order) the
   * search resumes next time where it stopped, so each is passed over once, and one call passes over
   * at most {@link #LAG_AGE_SCAN_LIMIT}. When that limit stops it, the newest message stands in: it
   * is younger than what lies before it, so the age reported is a lower bound until later calls
   * reach the oldest.
   */
  private Message oldestUnacknowledged(long committed, long last) {
    ConsumerCursor cursor = state.cursor;
    long next = cursor.next();
    if (next < lagAgeCursor) {
      lagAgeFrom = 0;
    }
    lagAgeCursor = next;
    long sequence = Math.max(Math.max(committed + 1, lagAgeFrom), log.firstSequence());
    for (int budget = LAG_AGE_SCAN_LIMIT; sequence <= last && budget > 0; sequence++, budget--) {
      Message m = log.get(sequence);
      if (m != null && (sequence >= next
          || state.explicit && cursor.standingOf(sequence) != ConsumerCursor.Standing.SETTLED)) {
        lagAgeFrom = sequence;
        return m;
      }
    }
    lagAgeFrom = sequence;
    return sequence > last ? null : log.get(last);
  }

  private int handlerCalls() {
    int running = 0;
    for (HandlerSubscriber h : state.handlers.values()) {
      running += h.running;
    }
    return running;
  }

  /** The most telling breaker state over the handler subscriptions: open, then half-open, then closed. */
  private BreakerState breakerState() {
    BreakerState worst = BreakerState.NONE;
    for (HandlerSubscriber h : state.handlers.values()) {
      BreakerState b = h.breakerState();
      if (b.ordinal() > worst.ordinal()) {
        worst = b;
      }
    }
    return worst;
  }

  private long committed() {
    return state.explicit ? state.cursor.committed() : state.cursor.next() - 1;
  }

  private DeliveryState deliveryState(long last) {
    if (halted()) {
      return DeliveryState.PAUSED;
    }
    boolean fresh = state.cursor.next() <= last;
    if (!fresh && !state.cursor.hasReady()) {
      return state.cursor.delayed() > 0 ? DeliveryState.BACKOFF : DeliveryState.CAUGHT_UP;
    }
    if (!state.cursor.hasReady() && state.explicit && state.cursor.unsettled() >= state.prefetch) {
      return state.cursor.inFlight() == 0 ? DeliveryState.BACKOFF : DeliveryState.CREDIT_EXHAUSTED;
    }
    boolean others = !state.actorSubscribers.isEmpty() || !state.streams.isEmpty() || !state.parkedReads.isEmpty();
    if (!others && state.handlers.isEmpty()) {
      return DeliveryState.NO_SUBSCRIBERS;
    }
    if (!others && state.handlers.values().stream().allMatch(h -> h.breaker.isOpen())) {
      return DeliveryState.BREAKER_OPEN;
    }
    return DeliveryState.CREDIT_EXHAUSTED; // subscribers are attached but none can take more now
  }

  // ---- delivery

  /** Rounds of serving one message may run before the actor yields to its mailbox. */
  private static final int ROUNDS_PER_MESSAGE = 4;

  /**
   * Hands out everything that can go now: parked reads first, then subscribers in turn. Appends
   * can land while it runs, so it checks again before it stops, and if it has served its share of
   * rounds it re-queues itself rather than starve its mailbox.
   */
  private void dispatch() {
    roundMillis = clock.millis();
    try {
      dispatchRounds();
    } finally {
      roundMillis = 0;
    }
  }

  private void dispatchRounds() {
    if (!halted()) {
      for (int round = 0; round < ROUNDS_PER_MESSAGE; round++) {
        serveParkedReads();
        serveSubscribers();
        if (!(wantsMore() && available())) {
          break;
        }
        if (round == ROUNDS_PER_MESSAGE - 1) {
          getContext().getSelf().tell(MessagesAvailable.INSTANCE);
        }
      }
    }
    finishRound();
    if (state.durable && !state.explicit) {
      journalPosition(false); // at most once: what was delivered must not come again after a restart
    }
  }

  private boolean available() {
    return state.cursor.hasReady() || state.cursor.next() <= log.lastSequence();
  }

  private void serveParkedReads() {
    while (!state.parkedReads.isEmpty()) {
      ParkedRead read = state.parkedReads.peekFirst();
      List<Delivery> got = take(read.max(), PULL_OWNER);
      if (got.isEmpty()) {
        return;
      }
      state.parkedReads.pollFirst();
      timers.cancel(new ReadExpired(read.id()));
      read.replyTo().tell(StatusReply.success(got));
    }
  }

  private void serveSubscribers() {
    if (state.actorSubscribers.isEmpty() && state.streams.isEmpty() && state.handlers.isEmpty()) {
      return;
    }
    boolean progress = true;
    while (progress) {
      progress = false;
      int share = fairShare();
      for (StreamSubscriber stream : state.streams.values()) {
        if (stream.demand) {
          List<Delivery> got = take(Math.min(limits.streamBatch(), share), stream.owner);
          if (!got.isEmpty()) {
            stream.demand = false;
            stream.ref.tell(new Batch(got));
            progress = true;
          }
        }
      }
      for (ActorSubscriber subscriber : state.actorSubscribers.values()) {
        if (!state.explicit && state.creditHeld.size() >= state.prefetch) {
          break;
        }
        Delivery delivery = next(subscriber.owner);
        if (delivery != null) {
          if (!state.explicit) {
            state.creditHeld.put(delivery.sequence(), subscriber);
            subscriber.held++;
          }
          subscriber.ref.tell(delivery);
          progress = true;
        }
      }
      for (HandlerSubscriber handler : state.handlers.values()) {
        if (handler.canTake()) {
          // The trial call of a half-open breaker should test the downstream, not a message that
          // already failed: a new message when there is one.
          Delivery delivery = handler.breaker.isHalfOpen() ? nextNewFirst(handler.owner) : next(handler.owner);
          if (delivery != null) {
            call(handler, delivery);
            progress = true;
          }
        }
      }
    }
  }

  /** So that competing subscribers split the credit instead of the first taking it all. */
  private int fairShare() {
    int takers = state.actorSubscribers.size() + state.streams.size();
    int credit = state.explicit ? state.prefetch - state.cursor.unsettled() + state.cursor.waiting() : state.prefetch;
    return Math.max(1, credit / Math.max(1, takers));
  }

  private List<Delivery> take(int max, long owner) {
    // sized for what is there to take, so that a full batch never copies its array as it grows
    long available = log.lastSequence() - state.cursor.next() + 1 + state.cursor.waiting();
    List<Delivery> out = new ArrayList<>((int) Math.max(1, Math.min(max, available)));
    while (out.size() < max) {
      Delivery d = next(owner);
      if (d == null) {
        break;
      }
      out.add(d);
    }
    return out;
  }

  /** The next delivery for {@code owner}: a waiting redelivery first, else the next new message. */
  private Delivery next(long owner) {
    Delivery redelivery = nextRedelivery(owner);
    return redelivery != null ? redelivery : nextNew(owner);
  }

  private Delivery nextNewFirst(long owner) {
    Delivery fresh = nextNew(owner);
    return fresh != null ? fresh : nextRedelivery(owner);
  }

  /** A waiting redelivery for {@code owner}, or null. */
  private Delivery nextRedelivery(long owner) {
    ConsumerCursor cursor = state.cursor;
    if (state.explicit) {
      while (cursor.hasReady()) {
        long sequence = cursor.firstReady();
        int attempt = cursor.pollReady();
        Message message = log.get(sequence);
        if (message != null) {
          cursor.delivered(sequence, attempt, roundBatch(), owner);
          state.delivered++;
          state.redelivered++;
          roundRedelivered++;
          trace(sequence, DeliveryTrace.Kind.DELIVERED, attempt, owner);
          return new Delivery(name, message, attempt);
        }
      }
    }
    return null;
  }

  /** The next message never delivered, within the prefetch, or null. */
  private Delivery nextNew(long owner) {
    ConsumerCursor cursor = state.cursor;
    if (state.explicit && cursor.unsettled() >= state.prefetch) {
      return null;
    }
    long last = log.lastSequence();
    while (cursor.next() <= last) {
      long sequence = cursor.next();
      Message message = log.get(sequence);
      if (message == null) {
        if (!skippable(sequence)) {
          return null; // removed by a step whose notice is on its way: wait for it
        }
        cursor.skipTo(sequence + 1);
        continue;
      }
      if (!filter.matchesAll() && !filter.matches(message)) {
        cursor.skipTo(sequence + 1);
        state.filtered++;
        continue;
      }
      if (state.explicit) {
        cursor.delivered(sequence, 1, roundBatch(), owner);
      } else {
        cursor.skipTo(sequence + 1);
        groupMemberAcked(message); // at most once: delivering is acknowledging
      }
      state.delivered++;
      roundDelivered++;
      trace(sequence, DeliveryTrace.Kind.DELIVERED, 1, owner);
      return new Delivery(name, message, 1);
    }
    return null;
  }

  /**
   * Whether a sequence with no message can be passed over: freed (below every consumer's need or
   * before this consumer existed) or removed by a step this consumer has been told of.
   */
  private boolean skippable(long sequence) {
    return log.removedEpoch(sequence) <= state.knownEpoch;
  }

  /** Moves the cursor over removed and freed sequences it has been told of, so that lag counts only what is left. */
  private void skipRemoved() {
    long last = log.lastSequence();
    ConsumerCursor cursor = state.cursor;
    while (cursor.next() <= last && log.get(cursor.next()) == null && skippable(cursor.next())) {
      cursor.skipTo(cursor.next() + 1);
    }
  }

  // ---- expiry and eviction

  private Behavior<Command> onMessagesRemoved(MessagesRemoved notice) {
    long count = 0;
    long first = 0;
    long last = 0;
    boolean expiry = notice.reason() == RemovalReason.EXPIRED;
    for (Message m : notice.removed()) {
      long sequence = m.sequence();
      boolean unacknowledged;
      if (state.explicit && state.cursor.discard(sequence, this::batchSettled)) {
        unacknowledged = true; // in flight or waiting: withdrawn, never redelivered
        state.failures.remove(sequence);
      } else {
        unacknowledged = sequence >= state.cursor.next() && (filter.matchesAll() || filter.matches(m));
      }
      if (unacknowledged && notice.reason() != RemovalReason.REDRIVEN) {
        trace(sequence, expiry ? DeliveryTrace.Kind.EXPIRED : DeliveryTrace.Kind.DROPPED, 0, -1);
        count++;
        first = first == 0 ? sequence : first;
        last = sequence;
      }
    }
    state.knownEpoch = notice.epoch();
    skipRemoved();
    if (count > 0) {
      SpoolEvent event;
      if (expiry) {
        state.expired += count;
        event = new SpoolEvent.MessagesExpired(clock.instant(), state.queue, name, count, first, last);
      } else {
        state.dropped += count;
        event = new SpoolEvent.MessagesDropped(clock.instant(), state.queue, name, count, first, last);
      }
      Events.publish(getContext().getSystem(), event);
    }
    dispatch();
    return this;
  }

  // ---- handlers

  private Behavior<Command> onSubscribeHandler(SubscribeHandler subscribe) {
    HandlerSettings hs = subscribe.settings();
    if (subscribe.handler() == null || hs == null || subscribe.parallelism() < 1
        || subscribe.parallelism() > state.prefetch) {
      Request.fail(subscribe, new SpoolException.InvalidConfiguration("a handler subscription needs a handler and a "
          + "parallelism between 1 and the consumer's prefetch (" + state.prefetch + "), not "
          + subscribe.parallelism()));
      return this;
    }
    Executor executor;
    try {
      executor = getContext().getSystem().dispatchers().lookup(DispatcherSelector.fromConfig(hs.dispatcher()));
    } catch (RuntimeException noSuchDispatcher) {
      Request.fail(subscribe, new SpoolException.InvalidConfiguration(
          "no dispatcher '" + hs.dispatcher() + "' is configured for handlers"));
      return this;
    }
    long owner = ++state.ownerIds;
    ActorRef<Command> self = getContext().getSelf();
    // A call must time out no later than its delivery's ack deadline, or the deadline would hand the
    // message to another call while this one still runs. The actor times calls out itself (see
    // onCheckHandlerTimeouts): the breaker's own call timeout schedules a task per call, which
    // measured five times slower.
    Duration callTimeout = min(hs.timeout(), state.settings.ackTimeout());
    CircuitBreaker breaker = CircuitBreaker
        .create(Adapter.toClassic(getContext().getSystem()).scheduler(), hs.maxFailures(), Duration.ZERO,
            hs.resetTimeout())
        .withExponentialBackoff(hs.maxResetTimeout())
        .addOnOpenListener(() -> self.tell(new BreakerChanged(owner, BreakerState.OPEN)))
        .addOnHalfOpenListener(() -> self.tell(new BreakerChanged(owner, BreakerState.HALF_OPEN)))
        .addOnCloseListener(() -> self.tell(new BreakerChanged(owner, BreakerState.CLOSED)));
    state.handlers.put(owner, new HandlerSubscriber(owner, subscribe.handler(), subscribe.parallelism(), executor,
        breaker, callTimeout.toMillis()));
    startTimeoutChecks();
    touch();
    subscribe.replyTo().tell(StatusReply.success(owner));
    dispatch();
    return this;
  }

  /** Runs the handler on its dispatcher, behind its breaker, and pipes the outcome back. */
  private void call(HandlerSubscriber handler, Delivery delivery) {
    handler.running++;
    long id = ++handler.callIds;
    handler.calls.put(id, new Call(delivery.sequence(), delivery.attempt(), System.nanoTime()));
    CompletionStage<Done> outcome =
        CompletableFuture.supplyAsync(() -> handler.handler.apply(delivery), handler.executor)
            .thenCompose(ConsumerActor::nonNull);
    getContext().pipeToSelf(outcome,
        (done, failure) -> new HandlerDone(handler.owner, id, delivery.sequence(), delivery.attempt(), failure));
  }

  private static CompletionStage<Done> nonNull(CompletionStage<Done> stage) {
    return stage != null ? stage : CompletableFuture.failedFuture(new NullPointerException("the handler returned null"));
  }

  private Behavior<Command> onHandlerDone(HandlerDone done) {
    HandlerSubscriber handler = state.handlers.get(done.subscription());
    if (handler == null || handler.calls.remove(done.call()) == null) {
      return this; // it timed out earlier, and was dealt with then
    }
    handler.running--;
    if (state.drainReply != null) {
      state.drainFinished++;
    }
    Throwable failure = done.failure() instanceof CompletionException && done.failure().getCause() != null
        ? done.failure().getCause()
        : done.failure();
    finished(handler, done, failure);
    dispatch();
    return this;
  }

  /** A call ended: {@code failure} is null on success, a {@link TimeoutException} when it timed out. */
  private void finished(HandlerSubscriber handler, HandlerDone done, Throwable failure) {
    long sequence = done.sequence();
    boolean current = state.explicit && state.cursor.attemptInFlight(sequence) == done.attempt();
    if (failure == null) {
      handler.breaker.succeed();
      touch();
      if (current && state.cursor.ack(sequence, this::batchSettled) == ConsumerCursor.AckOutcome.ACKED) {
        recordAcks(1);
        settled(sequence, DeliveryTrace.Kind.ACKED, done.attempt());
        reportProgress(false);
      }
    } else {
      // The breaker measures the handler's downstream, not bad messages: a retry of a message that
      // failed before is expected to fail again and does not count, unless it is the trial call.
      if (done.attempt() == 1 || handler.breaker.isHalfOpen()) {
        handler.breaker.fail();
      }
      handlerFailed(done, failure, current);
    }
    if (handler.cancelled && handler.running == 0) {
      detachHandler(handler);
    }
    if (state.drainReply != null && handlerCalls() == 0) {
      finishDrain();
    }
  }

  private void startTimeoutChecks() {
    long shortest = Long.MAX_VALUE;
    for (HandlerSubscriber h : state.handlers.values()) {
      shortest = Math.min(shortest, h.timeoutMillis);
    }
    if (shortest == Long.MAX_VALUE) {
      timers.cancel(CheckHandlerTimeouts.INSTANCE);
    } else {
      // a tenth of the shortest timeout: a call is failed at most 10 % after its timeout
      timers.startTimerWithFixedDelay(CheckHandlerTimeouts.INSTANCE, Duration.ofMillis(Math.max(10, shortest / 10)));
    }
  }

  private Behavior<Command> onCheckHandlerTimeouts() {
    long now = System.nanoTime();
    boolean any = false;
    for (HandlerSubscriber handler : List.copyOf(state.handlers.values())) {
      long limit = handler.timeoutMillis * 1_000_000L;
      for (Iterator<Map.Entry<Long, Call>> it = handler.calls.entrySet().iterator(); it.hasNext(); ) {
        Map.Entry<Long, Call> e = it.next();
        Call call = e.getValue();
        if (now - call.startedNanos() < limit) {
          break; // oldest first: the rest are younger
        }
        it.remove();
        handler.running--;
        any = true;
        finished(handler, new HandlerDone(handler.owner, e.getKey(), call.sequence(), call.attempt(), null),
            new TimeoutException("handler call timed out after " + handler.timeoutMillis + " ms"));
      }
    }
    if (any) {
      dispatch();
    }
    return this;
  }

  private void handlerFailed(HandlerDone done, Throwable failure, boolean current) {
    state.errors++;
    boolean timedOut = failure instanceof TimeoutException;
    long owner = done.subscription();
    trace(done.sequence(), timedOut ? DeliveryTrace.Kind.TIMED_OUT : DeliveryTrace.Kind.FAILED, done.attempt(), owner);
    // The class only: an exception's message may quote the payload, and logs never carry payloads.
    getContext().getLog().debug("queue {}: consumer {} handler {} failed on sequence {} (attempt {}): {}", state.queue,
        name, owner, done.sequence(), done.attempt(), failure.getClass().getName());
    if (current) {
      recordFailure(done.sequence(), done.attempt(), timedOut ? "timed-out" : "failed",
          timedOut ? null : failure);
      retryOrGiveUp(done.sequence(), done.attempt(), true);
    }
  }

  private Behavior<Command> onBreakerChanged(BreakerChanged changed) {
    HandlerSubscriber handler = state.handlers.get(changed.subscription());
    if (handler == null) {
      return this;
    }
    switch (changed.state()) {
      case OPEN -> {
        getContext().getLog().warn("queue {}: consumer {} handler {} failed {} times in a row; its breaker is open",
            state.queue, name, handler.owner, handler.breaker.currentFailureCount());
        Events.publish(getContext().getSystem(), new SpoolEvent.BreakerOpened(clock.instant(), state.queue, name,
            handler.owner, handler.breaker.currentFailureCount()));
      }
      case CLOSED -> {
        getContext().getLog().info("queue {}: consumer {} handler {} recovered; its breaker is closed", state.queue,
            name, handler.owner);
        Events.publish(getContext().getSystem(),
            new SpoolEvent.BreakerClosed(clock.instant(), state.queue, name, handler.owner));
      }
      default -> getContext().getLog().debug("queue {}: consumer {} handler {} breaker half-open: one trial call",
          state.queue, name, handler.owner);
    }
    dispatch();
    return this;
  }

  private Behavior<Command> onUnsubscribeHandler(UnsubscribeHandler unsubscribe) {
    HandlerSubscriber handler = state.handlers.get(unsubscribe.subscription());
    if (handler == null) {
      unsubscribe.replyTo().tell(StatusReply.success(Done.getInstance())); // already gone: detaching is idempotent
      return this;
    }
    handler.cancelled = true;
    handler.cancelReplies.add(unsubscribe.replyTo());
    if (handler.running == 0) {
      detachHandler(handler);
    }
    dispatch();
    return this;
  }

  private void detachHandler(HandlerSubscriber handler) {
    state.handlers.remove(handler.owner);
    startTimeoutChecks();
    releaseOwner(handler.owner);
    handler.cancelReplies.forEach(r -> r.tell(StatusReply.success(Done.getInstance())));
    handler.cancelReplies.clear();
  }

  // ---- shutdown

  private Behavior<Command> onDrain(Drain drain) {
    state.draining = true;
    // Nothing more is delivered: long-polls end now (empty), so that HTTP can finish its requests.
    for (ParkedRead read : state.parkedReads) {
      timers.cancel(new ReadExpired(read.id()));
      read.replyTo().tell(StatusReply.success(List.of()));
    }
    state.parkedReads.clear();
    if (state.drainReply != null) {
      state.drainReply.tell(StatusReply.success(new DrainResult(0, 0))); // superseded by this one
    }
    state.drainReply = drain.replyTo();
    state.drainTimeout = drain.timeout();
    state.drainFinished = 0;
    if (handlerCalls() == 0) {
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
    int abandoned = handlerCalls();
    if (abandoned > 0) {
      getContext().getLog().warn("queue {}: consumer {} stops with {} handler calls still running; their deliveries "
          + "stay unacknowledged", state.queue, name, abandoned);
    }
    state.drainReply.tell(StatusReply.success(new DrainResult(state.drainFinished, abandoned)));
    state.drainReply = null;
  }

  /** Whether nothing is delivered now: paused by an operator, or draining for shutdown. */
  private boolean halted() {
    return state.paused || state.draining;
  }

  private Behavior<Command> onFail(Fail fail) {
    throw new IllegalStateException("injected failure: " + fail.why());
  }

  // ---- trace and groups

  private void trace(long sequence, DeliveryTrace.Kind kind, int attempt, long owner) {
    DeliveryTrace trace = state.trace;
    if (trace.full()) {
      trace.forgetBelow(log.firstSequence()); // room from messages no trace can be asked about, before the cap's
    }
    trace.record(sequence, roundMillis != 0 ? roundMillis : clock.millis(), kind, attempt, owner);
  }

  /**
   * Before a seek to {@code target}: unacknowledged deliveries it passes over are traced as
   * skipped, a range of never-delivered messages it jumps over is remembered, and a seek back
   * marks the sequences that may be delivered a second time.
   */
  private void traceSeek(long target) {
    long next = state.cursor.next();
    long now = clock.millis();
    for (Map.Entry<Long, Integer> unsettled : state.cursor.unsettledAttempts().entrySet()) {
      if (unsettled.getKey() < target) {
        trace(unsettled.getKey(), DeliveryTrace.Kind.SKIPPED, unsettled.getValue(), -1);
      }
    }
    if (target > next) {
      state.seeksForward[(int) (state.seeksForwardCount++ % MAX_SEEKS_TRACED)] = new long[] {next, target, now};
    } else {
      state.replayedUpTo = Math.max(state.replayedUpTo, next - 1);
      state.traceReach = Math.min(state.traceReach, target);
    }
  }

  /** Seeks forward a consumer remembers for its traces; an older seek's range then says {@code settled}. */
  private static final int MAX_SEEKS_TRACED = 16;

  /** A delivery was settled by acknowledgement: traced, and counted toward its group. */
  private void settled(long sequence, DeliveryTrace.Kind kind, int attempt) {
    if (!state.failures.isEmpty()) {
      state.failures.remove(sequence);
    }
    trace(sequence, kind, attempt, -1);
    if (limits.maxOpenGroups() > 0) {
      Message m = log.get(sequence);
      if (m != null) {
        groupMemberAcked(m);
      }
    }
  }

  /**
   * Counts an acknowledged member of the message's group; when the acknowledged members reach the
   * declared {@code group-size}, emits {@code GroupCompleted} and forgets the group.
   */
  private void groupMemberAcked(Message m) {
    Map<String, String> headers = m.headers();
    String groupId = headers.isEmpty() || limits.maxOpenGroups() == 0 ? null : headers.get(GROUP_ID);
    if (groupId == null) {
      return;
    }
    int[] group = state.groups.get(groupId); // {acknowledged, declared size}
    if (group == null) {
      if (state.groups.size() >= limits.maxOpenGroups()) {
        String eldest = state.groups.keySet().iterator().next();
        state.groups.remove(eldest);
        getContext().getLog().warn("queue {}: consumer {} tracks {} open groups; forgot group {}", state.queue, name,
            limits.maxOpenGroups(), eldest);
      }
      group = new int[2];
      state.groups.put(groupId, group);
    }
    group[0]++;
    String size = headers.get(GROUP_SIZE);
    if (size != null) {
      try {
        group[1] = Integer.parseInt(size.trim());
      } catch (NumberFormatException notANumber) {
        // a malformed size declares nothing; another member may declare it
      }
    }
    if (group[1] > 0 && group[0] >= group[1]) {
      state.groups.remove(groupId);
      Events.publish(getContext().getSystem(),
          new SpoolEvent.GroupCompleted(clock.instant(), state.queue, name, groupId, group[1]));
    }
  }

  private static final String GROUP_ID = "group-id";
  private static final String GROUP_SIZE = "group-size";

  /**
   * This consumer's part of a message's trace: the events it recorded, then where the message
   * stands now when that adds something. Nothing is derived that the position does not make certain:
   * a message below its start is {@code before-start}, one its filter refuses {@code filtered};
   * when the trace cap (or a restart) lost older events, {@code events-dropped} says so, and a
   * settled message whose settling event is gone is just {@code settled}.
   */
  private Behavior<Command> onGetTrace(GetTrace get) {
    long sequence = get.sequence();
    List<DeliveryTrace.Event> held = state.trace.eventsOf(sequence);
    List<MessageTrace.Entry> entries = new ArrayList<>(held.size() + 2);
    if (held.isEmpty() && sequence < state.traceReach) {
      entries.add(untimed("before-start"));
      get.replyTo().tell(StatusReply.success(entries));
      return this;
    }
    Message message = log.get(sequence);
    if (held.isEmpty() && message != null && !filter.matchesAll() && !filter.matches(message)) {
      entries.add(untimed("filtered"));
      get.replyTo().tell(StatusReply.success(entries));
      return this;
    }
    boolean lostInRestart = sequence >= state.firstStart && sequence < state.tracedFrom;
    boolean wholeHistoryHeld = !held.isEmpty() && held.get(0).kind() == DeliveryTrace.Kind.DELIVERED
        && held.get(0).attempt() == 1 && sequence > state.replayedUpTo;
    if (lostInRestart || (state.trace.mayHaveDropped(sequence) && !wholeHistoryHeld)) {
      entries.add(untimed("events-dropped"));
    }
    for (DeliveryTrace.Event e : held) {
      entries.add(new MessageTrace.Entry(e.kind().wireName(), name, Instant.ofEpochMilli(e.atMillis()), e.attempt(),
          subscriberName(e.owner())));
    }
    DeliveryTrace.Event last = held.isEmpty() ? null : held.get(held.size() - 1);
    switch (state.explicit ? state.cursor.standingOf(sequence)
        : sequence < state.cursor.next() ? ConsumerCursor.Standing.SETTLED : ConsumerCursor.Standing.PENDING) {
      case IN_FLIGHT -> entries.add(new MessageTrace.Entry("in-flight", name, null,
          state.cursor.attemptInFlight(sequence), subscriberName(state.cursor.ownerOf(sequence))));
      case WAITING -> entries.add(untimed("waiting"));
      case HELD -> entries.add(untimed("dead-lettering"));
      case PENDING -> entries.add(untimed("pending"));
      case SETTLED -> {
        // Settled is certain; how, only a recorded event says (at most once, delivering settles).
        boolean told = last != null && (last.kind().ends() || !state.explicit && last.kind() == DeliveryTrace.Kind.DELIVERED);
        if (!told) {
          long[] seek = seekPast(sequence);
          entries.add(seek != null
              ? new MessageTrace.Entry(DeliveryTrace.Kind.SKIPPED.wireName(), name, Instant.ofEpochMilli(seek[2]), 0, null)
              : untimed("settled"));
        }
      }
    }
    get.replyTo().tell(StatusReply.success(entries));
    return this;
  }

  private MessageTrace.Entry untimed(String event) {
    return new MessageTrace.Entry(event, name, null, 0, null);
  }

  /** The most recent remembered seek forward that jumped over {@code sequence} undelivered, or null. */
  private long[] seekPast(long sequence) {
    long[][] seeks = state.seeksForward;
    for (long n = state.seeksForwardCount - 1; n >= Math.max(0, state.seeksForwardCount - MAX_SEEKS_TRACED); n--) {
      long[] seek = seeks[(int) (n % MAX_SEEKS_TRACED)];
      if (sequence >= seek[0] && sequence < seek[1]) {
        return seek;
      }
    }
    return null;
  }

  private String subscriberName(long owner) {
    if (owner < 0) {
      return null;
    }
    if (owner == PULL_OWNER) {
      return "pull";
    }
    if (state.handlers.containsKey(owner)) {
      return "handler-" + owner;
    }
    for (StreamSubscriber stream : state.streams.values()) {
      if (stream.owner == owner) {
        return "stream-" + owner;
      }
    }
    return "subscriber-" + owner;
  }

  // ---- staleness

  private void touch() {
    state.lastActivity = clock.millis();
    state.staleReported = false;
  }

  private Behavior<Command> onTick() {
    if (!state.actorSubscribers.isEmpty() || !state.streams.isEmpty() || !state.parkedReads.isEmpty()
        || !state.handlers.isEmpty()) {
      touch(); // a consumer with a subscriber attached is in use, even when nothing arrives
      return this;
    }
    long idle = clock.millis() - state.lastActivity;
    long lag = log.lastSequence() - committed();
    Duration inactiveTimeout = state.settings.inactiveTimeout();
    if (inactiveTimeout != null && idle >= inactiveTimeout.toMillis()) {
      parent.tell(new QueueActor.RemoveInactive(name, getContext().getSelf(), lag));
    } else if (idle >= staleAfter.toMillis() && !state.staleReported) {
      state.staleReported = true;
      Events.publish(getContext().getSystem(),
          new SpoolEvent.ConsumerStale(clock.instant(), state.queue, name, idle, lag));
    }
    return this;
  }

  private long roundBatch() {
    if (roundBatch == 0) {
      roundBatch = state.cursor.newBatch();
    }
    return roundBatch;
  }

  /** Arms the ack deadline of what this round delivered, asks to be woken if starved, reports progress. */
  private void finishRound() {
    if (roundDelivered + roundRedelivered > 0) {
      counters.delivered.add(roundDelivered + roundRedelivered);
      counters.redelivered.add(roundRedelivered);
      roundDelivered = 0;
      roundRedelivered = 0;
      touch();
    }
    if (roundBatch != 0) {
      if (state.cursor.batchOpen(roundBatch)) {
        timers.startSingleTimer(new AckDeadline(roundBatch), state.settings.ackTimeout());
      }
      roundBatch = 0;
    }
    // Demand left means this round ran out of messages (as far as it saw). Whether an append landed
    // since is for the queue to decide: it answers at once if it appended past our cursor. Deciding
    // it here would race with the writer and could lose the wake-up.
    if (!state.awaitingMessages && wantsMore() && !state.cursor.hasReady()) {
      state.awaitingMessages = true;
      parent.tell(new QueueActor.AwaitMessages(name, state.cursor.next() - 1));
    }
    reportProgress(false);
  }

  private boolean wantsMore() {
    if (halted()) {
      return false;
    }
    if (state.explicit && state.cursor.unsettled() >= state.prefetch && !state.cursor.hasReady()) {
      return false;
    }
    for (HandlerSubscriber handler : state.handlers.values()) {
      if (handler.canTake()) {
        return true;
      }
    }
    if (!state.parkedReads.isEmpty()) {
      return true;
    }
    for (StreamSubscriber stream : state.streams.values()) {
      if (stream.demand) {
        return true;
      }
    }
    return !state.actorSubscribers.isEmpty() && (state.explicit || state.creditHeld.size() < state.prefetch);
  }

  /**
   * Shows the queue the lowest sequence this consumer still needs ({@link State#needFrom}), and
   * tells it whenever that crosses a segment boundary (or moves back), so that the queue releases
   * what every consumer passed without being asked: one message per segment.
   */
  private void reportProgress(boolean force) {
    journalPosition(force);
    long watermark = committed() + 1;
    if (state.needFrom != watermark) {
      state.needFrom = watermark;
    }
    if (force || (watermark - 1) >>> segmentShift != (state.reportedWatermark - 1) >>> segmentShift) {
      state.reportedWatermark = watermark;
      parent.tell(new QueueActor.ConsumerProgress(name, watermark));
    }
  }

  // ---- durable position

  /**
   * On a durable queue, hands the position to the queue for its next journal write when it changed
   * since the last one: one position in flight per consumer, so a busy consumer costs one entry per
   * journal write, not one per ack. Deliveries alone do not count in explicit mode: what was
   * delivered and not settled is delivered again after a restart either way.
   */
  private void journalPosition(boolean force) {
    if (!state.durable) {
      return;
    }
    long fingerprint = state.explicit
        ? ((committed() * 31 + state.acked) * 31 + state.deadLettered) * 31 + state.nacked * 7 + state.dropped
        : state.cursor.next();
    if (!force && fingerprint == state.positionFingerprint) {
      return;
    }
    state.positionFingerprint = fingerprint;
    state.positionVersion++;
    if (!state.positionSent) {
      sendPosition();
    }
  }

  private void sendPosition() {
    long next = state.cursor.next();
    long[] unsettled;
    int[] attempts;
    if (state.explicit) {
      TreeMap<Long, Integer> open = state.cursor.unsettledAttempts();
      unsettled = new long[open.size()];
      attempts = new int[open.size()];
      int i = 0;
      for (Map.Entry<Long, Integer> e : open.entrySet()) {
        unsettled[i] = e.getKey();
        attempts[i++] = e.getValue();
      }
    } else {
      unsettled = new long[0];
      attempts = new int[0];
    }
    state.positionSent = true;
    parent.tell(new QueueActor.PositionChanged(name, getContext().getSelf(), state.positionVersion,
        new ConsumerPosition(next, unsettled, attempts, state.paused)));
  }

  private Behavior<Command> onPositionSaved(PositionSaved saved) {
    state.savedVersion = Math.max(state.savedVersion, saved.version());
    state.positionSent = false;
    while (!state.waitingReplies.isEmpty() && state.waitingReplies.peekFirst().version() <= state.savedVersion) {
      state.waitingReplies.pollFirst().answer().run();
    }
    if (state.positionVersion > state.savedVersion) {
      sendPosition();
    }
    return this;
  }

  private Behavior<Command> onResendPosition() {
    state.positionSent = false;
    if (state.positionVersion > state.savedVersion) {
      sendPosition();
    }
    return this;
  }

  /** Answers an ack, on a durable queue once the position including it is journaled. */
  private void replyAck(ActorRef<StatusReply<AckResult>> replyTo, AckResult result) {
    replyWhenDurable(replyTo, result);
  }

  /** Answers with {@code result}, on a durable queue once the position as it is now is journaled. */
  private <T> void replyWhenDurable(ActorRef<StatusReply<T>> replyTo, T result) {
    if (!state.durable || state.positionVersion <= state.savedVersion) {
      replyTo.tell(StatusReply.success(result));
    } else if (state.waitingReplies.size() >= MAX_WAITING_REPLIES) {
      replyTo.tell(StatusReply.error(new SpoolException.Timeout("consumer '" + name + "' of queue '" + state.queue
          + "': the journal has not stored earlier changes yet; this one is applied but not yet durable,"
          + " send it again later")));
    } else {
      state.waitingReplies.addLast(new WaitingReply(state.positionVersion,
          () -> replyTo.tell(StatusReply.success(result))));
    }
  }

  private Behavior<Command> onPostStop() {
    for (StreamSubscriber stream : state.streams.values()) {
      stream.ref.tell(End.INSTANCE);
    }
    for (ParkedRead read : state.parkedReads) {
      read.replyTo().tell(StatusReply.error(new SpoolException.ConsumerNotFound(state.queue, name)));
    }
    return this;
  }

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }
}
