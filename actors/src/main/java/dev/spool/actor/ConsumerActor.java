package dev.spool.actor;

import dev.spool.AckMode;
import dev.spool.AckResult;
import dev.spool.ConsumerInfo;
import dev.spool.ConsumerSettings;
import dev.spool.Delivery;
import dev.spool.DeliveryState;
import dev.spool.Message;
import dev.spool.MessageFilter;
import dev.spool.SpoolEvent;
import dev.spool.SpoolException;
import dev.spool.SpoolSettings;
import dev.spool.StartPosition;
import dev.spool.log.ConsumerCursor;
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
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
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
   * Attach an actor that receives deliveries. It holds at most {@code prefetch} unacknowledged
   * deliveries; acknowledging (or nacking) returns credit, in {@code none} ack mode too.
   */
  public record Subscribe(ActorRef<Delivery> subscriber, ActorRef<StatusReply<Done>> replyTo)
      implements Command, Request<Done> {}

  /** Detach an actor subscriber; what it held unacknowledged is redelivered. */
  public record Unsubscribe(ActorRef<Delivery> subscriber, ActorRef<StatusReply<Done>> replyTo)
      implements Command, Request<Done> {}

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

  /**
   * From the queue: removal step {@code epoch} removed these messages, in sequence order, because
   * they expired ({@code expiry}) or were evicted.
   */
  record MessagesRemoved(boolean expiry, long epoch, List<Message> removed) implements Command {}

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
    boolean paused;
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
    final Map<ActorRef<Delivery>, ActorSubscriber> actorSubscribers = new LinkedHashMap<>();
    final Map<Long, StreamSubscriber> streams = new LinkedHashMap<>();
    final ArrayDeque<ParkedRead> parkedReads = new ArrayDeque<>();
    /** In {@code none} mode: which actor subscriber holds which delivered sequence, for credit. */
    final Map<Long, ActorSubscriber> creditHeld = new HashMap<>();
    long ownerIds;
    long readIds;
    long reportedWatermark;
    boolean awaitingMessages;

    State(String queue, ConsumerSettings resolved, long start, long knownEpoch, long now) {
      this.queue = queue;
      this.knownEpoch = knownEpoch;
      this.lastActivity = now;
      this.settings = resolved;
      this.cursor = new ConsumerCursor(start);
      this.prefetch = resolved.prefetch();
      this.maxDeliveries = resolved.maxDeliveries() == null ? Integer.MAX_VALUE : resolved.maxDeliveries();
      this.explicit = resolved.ackMode() == AckMode.EXPLICIT;
      this.reportedWatermark = start;
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
    final long id;
    final ActorRef<StreamElement> ref;
    boolean demand = true; // the stream accepts its first element unasked

    StreamSubscriber(long id, ActorRef<StreamElement> ref) {
      this.id = id;
      this.ref = ref;
    }
  }

  private record ParkedRead(long id, int max, ActorRef<StatusReply<List<Delivery>>> replyTo) {}

  /**
   * @param parent the queue, told about progress and asked for wake-ups
   * @param log the queue's log, read directly
   * @param counters the queue's totals, added to
   */
  static Behavior<Command> create(String name, State state, SegmentedLog log, QueueCounters counters,
      ActorRef<QueueActor.Command> parent, SpoolSettings settings) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers ->
        new ConsumerActor(context, timers, name, state, log, counters, parent, settings)));
  }

  private final TimerScheduler<Command> timers;
  private final String name;
  private final State state;
  private final SegmentedLog log;
  private final QueueCounters counters;
  private final ActorRef<QueueActor.Command> parent;
  private final SpoolSettings.ConsumerDefaults limits;
  private final Clock clock;
  private final Duration staleAfter;
  private final MessageFilter filter;
  private final int segmentShift;
  /** The ack-deadline batch of the dispatch round under way, 0 when none was opened yet. */
  private long roundBatch;
  /** Deliveries of the round under way, added to the queue's shared totals once per round. */
  private long roundDelivered;
  private long roundRedelivered;

  private ConsumerActor(ActorContext<Command> context, TimerScheduler<Command> timers, String name, State state,
      SegmentedLog log, QueueCounters counters, ActorRef<QueueActor.Command> parent,
      SpoolSettings settings) {
    super(context);
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
    List<Delivery> got = state.paused || !state.parkedReads.isEmpty() ? List.of() : take(read.max(), PULL_OWNER);
    Duration wait = read.waitFor() == null ? Duration.ZERO : min(read.waitFor(), limits.maxReadWait());
    if (!got.isEmpty() || wait.isZero() || state.parkedReads.size() >= limits.maxParkedReads()) {
      read.replyTo().tell(StatusReply.success(got));
    } else {
      ParkedRead parked = new ParkedRead(++state.readIds, read.max(), read.replyTo());
      state.parkedReads.addLast(parked);
      timers.startSingleTimer(new ReadExpired(parked.id()), wait);
    }
    finishRound();
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
    for (long sequence : ack.sequences()) {
      if (!state.explicit) {
        returnCredit(sequence);
        already.add(sequence);
        continue;
      }
      switch (state.cursor.ack(sequence, this::batchSettled)) {
        case ACKED -> acked++;
        case ALREADY_SETTLED -> already.add(sequence);
        case UNKNOWN -> unknown.add(sequence);
      }
    }
    recordAcks(acked);
    reportProgress(false); // before the reply: once the acker hears back, the queue can free what it acked
    ack.replyTo().tell(StatusReply.success(new AckResult(acked, already, unknown)));
    dispatch();
    return this;
  }

  private Behavior<Command> onAckUpTo(AckUpTo ack) {
    touch();
    int acked = 0;
    if (state.explicit) {
      acked = state.cursor.ackUpTo(ack.sequence(), this::batchSettled);
    } else {
      state.creditHeld.keySet().removeIf(sequence -> sequence <= ack.sequence() && releaseCreditOf(sequence));
    }
    recordAcks(acked);
    reportProgress(false);
    List<Long> unknown = ack.sequence() >= state.cursor.next() ? List.of(ack.sequence()) : List.of();
    ack.replyTo().tell(StatusReply.success(new AckResult(acked, List.of(), unknown)));
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
      if (!nack.requeue() || attempt >= state.maxDeliveries) {
        // No dead-letter queue yet: the message is given up on, and counted.
        state.cursor.discard(sequence, this::batchSettled);
        state.dropped++;
        counters.dropped.increment();
        continue;
      }
      state.cursor.requeue(sequence, true, this::batchSettled);
      Duration delay = state.settings.backoff().delay(attempt);
      timers.startSingleTimer(new BackoffElapsed(sequence), delay);
    }
    nack.replyTo().tell(StatusReply.success(Done.getInstance()));
    dispatch();
    return this;
  }

  private Behavior<Command> onBackoffElapsed(BackoffElapsed elapsed) {
    if (state.cursor.backoffElapsed(elapsed.sequence())) {
      dispatch();
    }
    return this;
  }

  private Behavior<Command> onAckDeadline(AckDeadline deadline) {
    if (state.cursor.batchOpen(deadline.batch())) {
      state.cursor.expireBatch(deadline.batch(), state.maxDeliveries, this::givenUp);
      dispatch();
    }
    return this;
  }

  private void givenUp(long sequence) {
    state.dropped++;
    counters.dropped.increment();
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
    state.cursor.seek(target);
    state.creditHeld.clear();
    state.actorSubscribers.values().forEach(s -> s.held = 0);
    touch();
    reportProgress(true);
    seek.replyTo().tell(StatusReply.success(Done.getInstance()));
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
    pause.replyTo().tell(StatusReply.success(Done.getInstance()));
    return this;
  }

  private Behavior<Command> onResume(Resume resume) {
    state.paused = false;
    resume.replyTo().tell(StatusReply.success(Done.getInstance()));
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
    state.streams.put(subscribe.streamId(), new StreamSubscriber(subscribe.streamId(), subscribe.stream()));
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
    if (state.streams.remove(closed.streamId()) != null) {
      releaseOwner(closed.streamId());
      dispatch();
    }
    return this;
  }

  private void releaseOwner(long owner) {
    if (state.explicit) {
      state.cursor.releaseOwner(owner, state.maxDeliveries, this::givenUp);
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
    long lagAge = 0;
    if (committed < last) {
      Message oldest = log.get(committed + 1);
      lagAge = oldest == null ? 0 : Math.max(0, clock.millis() - oldest.timestamp());
    }
    return new ConsumerInfo(state.queue, name, state.settings, state.cursor.next(), committed, last,
        last - committed, lagAge, state.cursor.inFlight() + state.creditHeld.size(), state.cursor.waiting(),
        deliveryState(last), state.paused, Instant.ofEpochMilli(state.lastActivity),
        state.actorSubscribers.size() + state.streams.size(), state.parkedReads.size(),
        new ConsumerInfo.Counters(state.delivered, state.redelivered, state.acked, state.nacked,
            state.filtered, state.expired, state.dropped, state.deadLettered));
  }

  private long committed() {
    return state.explicit ? state.cursor.committed() : state.cursor.next() - 1;
  }

  private DeliveryState deliveryState(long last) {
    if (state.paused) {
      return DeliveryState.PAUSED;
    }
    boolean fresh = state.cursor.next() <= last;
    if (!fresh && !state.cursor.hasReady()) {
      return state.cursor.delayed() > 0 ? DeliveryState.BACKOFF : DeliveryState.CAUGHT_UP;
    }
    if (!state.cursor.hasReady() && state.explicit && state.cursor.unsettled() >= state.prefetch) {
      return state.cursor.inFlight() == 0 ? DeliveryState.BACKOFF : DeliveryState.CREDIT_EXHAUSTED;
    }
    if (state.actorSubscribers.isEmpty() && state.streams.isEmpty() && state.parkedReads.isEmpty()) {
      return DeliveryState.NO_SUBSCRIBERS;
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
    if (!state.paused) {
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
    if (state.actorSubscribers.isEmpty() && state.streams.isEmpty()) {
      return;
    }
    boolean progress = true;
    while (progress) {
      progress = false;
      int share = fairShare();
      for (StreamSubscriber stream : state.streams.values()) {
        if (stream.demand) {
          List<Delivery> got = take(Math.min(limits.streamBatch(), share), stream.id);
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
    }
  }

  /** So that competing subscribers split the credit instead of the first taking it all. */
  private int fairShare() {
    int takers = state.actorSubscribers.size() + state.streams.size();
    int credit = state.explicit ? state.prefetch - state.cursor.unsettled() + state.cursor.waiting() : state.prefetch;
    return Math.max(1, credit / Math.max(1, takers));
  }

  private List<Delivery> take(int max, long owner) {
    List<Delivery> out = new ArrayList<>(Math.min(max, 64));
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
          return new Delivery(name, message, attempt);
        }
      }
      if (cursor.unsettled() >= state.prefetch) {
        return null;
      }
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
      }
      state.delivered++;
      roundDelivered++;
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
    for (Message m : notice.removed()) {
      long sequence = m.sequence();
      boolean unacknowledged;
      if (state.explicit && state.cursor.discard(sequence, this::batchSettled)) {
        unacknowledged = true; // in flight or waiting: withdrawn, never redelivered
      } else {
        unacknowledged = sequence >= state.cursor.next() && (filter.matchesAll() || filter.matches(m));
      }
      if (unacknowledged) {
        count++;
        first = first == 0 ? sequence : first;
        last = sequence;
      }
    }
    state.knownEpoch = notice.epoch();
    skipRemoved();
    if (count > 0) {
      SpoolEvent event;
      if (notice.expiry()) {
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

  // ---- staleness

  private void touch() {
    state.lastActivity = clock.millis();
    state.staleReported = false;
  }

  private Behavior<Command> onTick() {
    if (!state.actorSubscribers.isEmpty() || !state.streams.isEmpty() || !state.parkedReads.isEmpty()) {
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
    if (state.paused) {
      return false;
    }
    if (state.explicit && state.cursor.unsettled() >= state.prefetch) {
      return false;
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
   * Tells the queue the lowest sequence this consumer still needs, whenever that crosses a segment
   * boundary (or moves back): enough for the queue to free whole segments, one message per segment.
   */
  private void reportProgress(boolean force) {
    long watermark = committed() + 1;
    if (force || (watermark - 1) >>> segmentShift != (state.reportedWatermark - 1) >>> segmentShift) {
      state.reportedWatermark = watermark;
      parent.tell(new QueueActor.ConsumerProgress(name, watermark));
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
