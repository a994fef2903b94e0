package dev.spool.consumer;

import dev.spool.Delivery;
import dev.spool.Limits;
import dev.spool.Message;
import dev.spool.MessageFilter;
import dev.spool.SpoolEvent;
import dev.spool.SpoolException;
import dev.spool.SpoolSettings;
import dev.spool.StartPosition;
import dev.spool.log.ConsumerCursor;
import dev.spool.log.DeliveryTrace;
import dev.spool.log.LogView;
import dev.spool.log.SetAside;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a consumer delivers next and to whom: redeliveries before new messages, passing over
 * messages removed by steps it has been told of and those its filter refuses; credit split fairly
 * between competing subscribers; rounds that serve parked reads first, then streams, actor
 * subscribers and handlers in turn; the end of a round (totals, the ack deadline of its batch, a
 * wake-up asked of the queue, progress); pull reads answered or parked; pausing; and what a new
 * incarnation of the actor re-arms.
 *
 * <p>One per actor incarnation (its round state dies with it); the {@link ConsumerState} it serves
 * outlives it. Single-threaded: driven by the owning {@code ConsumerActor}, which sends what it
 * hands out through its {@link Outlet}.
 *
 * @param <E> what a stream subscriber receives
 */
public final class Dispatcher<E> {

  /** Where a round's deliveries go: the actor's tells, calls and timers; and the queue, told the consumer's progress. */
  public interface Outlet<E> extends PositionJournal.Outlet {
    /** Answers a parked read. */
    void answer(Subscribers.ParkedRead read, List<Delivery> deliveries);

    void send(Subscribers.ActorSubscriber subscriber, Delivery delivery);

    void send(Subscribers.StreamSubscriber<E> stream, List<Delivery> batch);

    /** A read was parked: answer it empty after {@code wait} unless deliveries come first. */
    void parked(Subscribers.ParkedRead read, Duration wait);

    /** Runs the handler for a delivery. */
    void call(HandlerPool.Handler handler, Delivery delivery);

    /** The rounds of this turn are spent with more to deliver: come back after the mailbox. */
    void yieldRounds();

    /** Adds to the queue's totals. */
    void add(ConsumerStats.Total total, long count);

    /** The round's deliveries of {@code batch} are in flight: arm its ack deadline. */
    void ackDeadline(long batch);

    /** Ask the queue to wake this consumer when it appends past {@code after}. */
    void awaitMessages(long after);

    /**
     * Load the cold segment holding {@code sequence} (and read ahead) from storage; answer with
     * {@link Dispatcher#loaded} or {@link Dispatcher#loadFailed}, then dispatch again.
     */
    void load(long sequence);

    void publish(SpoolEvent event);

    /**
     * Dispatch again at {@code atMillis} (epoch ms of the engine's clock), when the earliest message
     * set aside falls due; 0: no such wake-up is needed any more. Replaces the one asked before.
     */
    default void wakeAt(long atMillis) {}
  }

  private static final Logger LOG = LoggerFactory.getLogger(Dispatcher.class);

  /** Rounds of serving one message may run before the actor yields to its mailbox. */
  static final int ROUNDS_PER_MESSAGE = 4;

  private final String name;
  private final ConsumerState<E> state;
  private final ConsumerCursor cursor;
  private final LogView log;
  private final MessageFilter filter;
  private final int streamBatch;
  private final int maxOpenGroups;
  private final Outlet<E> outlet;
  private final Clock clock;
  /** Bits of a sequence within its segment: the queue hears of progress once per segment. */
  private final int segmentShift;
  /** The ack-deadline batch of the dispatch round under way, 0 when none was opened yet. */
  private long roundBatch;
  /** The time of the deliveries and acks being handled now: one clock read per round, not per message; 0 between rounds. */
  private long roundMillis;
  /** Deliveries of the round under way, added to the queue's shared totals once per round. */
  private long roundDelivered;
  private long roundRedelivered;
  /** The queue was asked to wake this consumer on its next append. */
  private boolean awaitingMessages;
  /** The cold segment being loaded for the next delivery, -1 when none: delivery waits for it. */
  private long loading = -1;
  /**
   * The segments last loaded back, held so that they stay loaded while this consumer delivers and
   * settles them (the log reaches them only through a weak reference); the oldest is let go first.
   */
  private final Message[][] pinned = new Message[PINNED_SEGMENTS][];
  private int nextPin;
  /** Most not-due messages set aside; past it the cursor waits at the next not-due message. */
  private final int maxDeferred;
  /** Ready messages a consumer of a queue with priorities looks ahead over; 0 without priorities. */
  private final int priorityWindow;
  /** The due time of the not-due message the cursor waits at (the set-aside messages being at their bound), or 0. */
  private long blockedUntil;
  /** The wake-up asked of the outlet, 0 for none. */
  private long wakeAt;

  /** Loaded segments a consumer holds: the one it delivers, the one it settles, and its read-ahead. */
  static final int PINNED_SEGMENTS = 4;

  /** The longest a read that asked not to wait waits for a stored segment being read back. */
  static final Duration STORED_SEGMENT_WAIT = Duration.ofSeconds(5);
  /**
   * Reads that asked not to wait and were parked only while a segment is read back, by id: at most
   * {@code max-parked-reads} (a read is parked only when there is room).
   */
  private final List<Long> waitingForLoad = new ArrayList<>();
  /**
   * @param name the consumer's name, which its deliveries carry
   * @param streamBatch most deliveries in one stream batch
   * @param maxOpenGroups groups tracked toward completion, 0 for none
   */
  public Dispatcher(String name, ConsumerState<E> state, LogView log, int streamBatch, int maxOpenGroups,
      Outlet<E> outlet, Clock clock) {
    this(name, state, log, streamBatch, maxOpenGroups, DEFAULT_MAX_DEFERRED, DEFAULT_PRIORITY_WINDOW, outlet, clock);
  }

  static final int DEFAULT_MAX_DEFERRED = 10_000;
  static final int DEFAULT_PRIORITY_WINDOW = 256;

  /**
   * @param maxDeferred most not-due messages set aside ({@code spool.scheduling.max-deferred})
   * @param priorityWindow ready messages looked ahead over on a queue with priorities
   *     ({@code spool.scheduling.priority-window})
   */
  public Dispatcher(String name, ConsumerState<E> state, LogView log, int streamBatch, int maxOpenGroups,
      int maxDeferred, int priorityWindow, Outlet<E> outlet, Clock clock) {
    this.maxDeferred = maxDeferred;
    this.priorityWindow = state.maxPriority() > 0 ? priorityWindow : 0;
    this.name = name;
    this.state = state;
    this.cursor = state.cursor();
    this.log = log;
    this.filter = state.settings().filter();
    this.streamBatch = streamBatch;
    this.maxOpenGroups = maxOpenGroups;
    this.outlet = outlet;
    this.clock = clock;
    this.segmentShift = Integer.numberOfTrailingZeros(log.segmentSize());
  }

  /**
   * The sequence a start position points at in {@code log} now. In a partition of a partitioned
   * queue ({@code partition}), a sequence past the end is its end: the queue's sequence maps to
   * each partition's share of it, and the shorter partitions start at their next message.
   */
  public static long resolve(StartPosition position, LogView log, boolean partition) {
    if (partition && position instanceof StartPosition.AtSequence at && at.sequence() > log.nextSequence()) {
      return log.nextSequence();
    }
    return resolve(position, log);
  }

  /** The sequence a start position points at in {@code log} now. */
  public static long resolve(StartPosition position, LogView log) {
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

  /** Starts handling a batch of acks: their events carry one time, one clock read for all. */
  public void startRound() {
    roundMillis = clock.millis();
  }

  public void endRound() {
    roundMillis = 0;
  }

  /** The clock's time now, for events. */
  public Instant instant() {
    return clock.instant();
  }

  /** The time of the events happening now: the round's, else the clock's. */
  public long now() {
    return roundMillis != 0 ? roundMillis : clock.millis();
  }

  /**
   * Hands out everything that can go now: parked reads first, then subscribers in turn. Appends can
   * land while it runs, so it checks again before it stops, and if it has served its share of rounds
   * it asks to come back rather than starve its mailbox.
   */
  public void dispatch() {
    roundMillis = clock.millis();
    resolveUnknownDue();
    cursor.aside().release(roundMillis);
    try {
      if (!state.halted()) {
        for (int round = 0; round < ROUNDS_PER_MESSAGE; round++) {
          serveParkedReads();
          serveSubscribers();
          if (!(wantsMore() && available())) {
            break;
          }
          if (round == ROUNDS_PER_MESSAGE - 1) {
            outlet.yieldRounds();
          }
        }
      }
    } finally {
      roundMillis = 0;
    }
  }

  private boolean available() {
    // A cursor waiting at a not-due message (the set-aside ones at their bound) has nothing until its wake-up.
    return loading < 0 && (cursor.hasReady() || cursor.aside().ready() > 0
        || cursor.next() <= log.lastSequence() && blockedUntil == 0);
  }

  /**
   * Learns the due times of the messages set aside again after a restart while they were cold,
   * loading their segments in turn: until then they count as not due, in the lag and in the
   * delivery state, and cannot fall due.
   */
  private void resolveUnknownDue() {
    SetAside aside = cursor.aside();
    long sequence;
    while (loading < 0 && (sequence = aside.firstUnknownDue()) >= 0) {
      Message message = log.get(sequence);
      if (message != null) {
        aside.defer(sequence, message.deliverAtMillis(), state.priorityOf(message));
      } else if (log.cold(sequence)) {
        awaitLoad(sequence);
      } else {
        aside.remove(sequence); // removed meanwhile: its notice settles nothing more
      }
    }
  }

  /** Delivery waits for the cold segment holding {@code sequence}: it is loaded once. */
  private void awaitLoad(long sequence) {
    long segment = (sequence - 1) >>> segmentShift;
    if (loading != segment) {
      loading = segment;
      outlet.load(sequence);
    }
  }

  /** The segment holding {@code sequence} is loaded ({@code messages}, or null if it is not cold any more): delivery goes on. */
  public void loaded(long sequence, Message[] messages) {
    if (messages != null) {
      pinned[nextPin] = messages;
      nextPin = (nextPin + 1) % PINNED_SEGMENTS;
    }
    if (loading == (sequence - 1) >>> segmentShift) {
      loading = -1;
    }
  }

  /** Loading the segment holding {@code sequence} failed: the next dispatch asks for it again. */
  public void loadFailed(long sequence) {
    if (loading == (sequence - 1) >>> segmentShift) {
      loading = -1;
    }
  }

  /** Whether delivery waits for a cold segment to load. */
  public boolean loading() {
    return loading >= 0;
  }

  private void serveParkedReads() {
    if (exclusiveHeld()) {
      return;
    }
    Subscribers<E> subscribers = state.subscribers();
    Subscribers.ParkedRead read;
    while ((read = subscribers.firstParked()) != null) {
      List<Delivery> got = take(read.max(), Subscribers.PULL_OWNER);
      if (got.isEmpty()) {
        return;
      }
      subscribers.removeFirstParked();
      outlet.answer(read, got);
    }
  }

  private void serveSubscribers() {
    Subscribers<E> subscribers = state.subscribers();
    HandlerPool handlers = state.handlers();
    if (subscribers.attached() == 0 && handlers.isEmpty()) {
      return;
    }
    boolean explicit = state.explicit();
    // Exclusive: only the first attached subscriber receives; the others are hot standbys.
    long active = state.settings().exclusive() ? activeOwner() : -1;
    boolean progress = true;
    while (progress) {
      progress = false;
      int share = fairShare();
      // Each in turn from the one after the last served (an index walk: no iterator per round).
      List<Subscribers.StreamSubscriber<E>> streams = subscribers.streamTurns();
      for (int i = 0, n = streams.size(), first = subscribers.streamTurn(); i < n; i++) {
        int at = (first + i) % n;
        Subscribers.StreamSubscriber<E> stream = streams.get(at);
        if (stream.demand() && (active < 0 || stream.owner() == active)) {
          List<Delivery> got = take(Math.min(streamBatch, share), stream.owner());
          if (!got.isEmpty()) {
            stream.served();
            subscribers.streamServed(at);
            outlet.send(stream, got);
            progress = true;
          }
        }
      }
      List<Subscribers.ActorSubscriber> actors = subscribers.actorTurns();
      for (int i = 0, n = actors.size(), first = subscribers.actorTurn(); i < n; i++) {
        if (!explicit && subscribers.creditHeld() >= state.prefetch()) {
          break;
        }
        int at = (first + i) % n;
        Subscribers.ActorSubscriber subscriber = actors.get(at);
        if (active >= 0 && subscriber.owner() != active) {
          continue;
        }
        Delivery delivery = next(subscriber.owner());
        if (delivery != null) {
          if (!explicit) {
            subscribers.holdCredit(delivery.sequence(), subscriber);
          }
          subscribers.actorServed(at);
          outlet.send(subscriber, delivery);
          progress = true;
        }
      }
      for (HandlerPool.Handler handler : handlers.all()) {
        if (handler.canTake() && (active < 0 || handler.owner() == active)) {
          Delivery delivery = handler.wantsNewFirst() ? nextNewFirst(handler.owner()) : next(handler.owner());
          if (delivery != null) {
            outlet.call(handler, delivery);
            progress = true;
          }
        }
      }
    }
  }

  /**
   * The subscriber an exclusive consumer delivers to: the first attached (owner ids grow as they
   * attach) of its streams, actor subscribers and handler subscriptions; -1 when none is attached.
   */
  private long activeOwner() {
    long first = Long.MAX_VALUE;
    for (Subscribers.StreamSubscriber<E> stream : state.subscribers().streamTurns()) {
      first = Math.min(first, stream.owner());
    }
    for (Subscribers.ActorSubscriber actor : state.subscribers().actorTurns()) {
      first = Math.min(first, actor.owner());
    }
    for (HandlerPool.Handler handler : state.handlers().all()) {
      first = Math.min(first, handler.owner());
    }
    return first == Long.MAX_VALUE ? -1 : first;
  }

  /** An exclusive consumer whose deliveries an attached subscriber holds the right to: pull reads get none. */
  private boolean exclusiveHeld() {
    return state.settings().exclusive() && activeOwner() >= 0;
  }

  /** So that competing subscribers split the credit instead of the first taking it all. */
  int fairShare() {
    int takers = state.settings().exclusive() ? 1 : state.subscribers().attached();
    int credit = state.explicit() ? state.prefetch() - cursor.unsettled() + cursor.waiting() : state.prefetch();
    return Math.max(1, credit / Math.max(1, takers));
  }

  /**
   * Serves a pull read of up to {@code max}, waiting at most {@code waitFor} ({@code null}: not at
   * all) within {@code limits}: answers at once what there is (possibly nothing: while paused or
   * draining, behind reads parked earlier, or when too many are parked), or parks it
   * ({@link Outlet#parked}) until deliveries come or its wait ends. A bad read is refused with
   * InvalidConfiguration, changing nothing.
   */
  public void read(int max, Duration waitFor, ActorRef<StatusReply<List<Delivery>>> replyTo,
      SpoolSettings.ConsumerDefaults limits) {
    try {
      Limits.readMax(max, limits.maxReadBatch());
      Limits.readWait(waitFor);
    } catch (SpoolException.InvalidConfiguration invalid) {
      outlet.reply(replyTo, StatusReply.error(invalid));
      return;
    }
    long now = clock.millis();
    state.stats().touch(now);
    resolveUnknownDue();
    cursor.aside().release(now); // what fell due since the last round, should its wake-up still be on its way
    Subscribers<E> subscribers = state.subscribers();
    List<Delivery> got = state.halted() || subscribers.parkedReads() > 0 || exclusiveHeld() ? List.of()
        : take(max, Subscribers.PULL_OWNER);
    Duration maxWait = limits.maxReadWait();
    Duration wait = waitFor == null ? Duration.ZERO : waitFor.compareTo(maxWait) <= 0 ? waitFor : maxWait;
    boolean forLoad = got.isEmpty() && wait.isZero() && loading() && !state.halted() && !exclusiveHeld();
    if (forLoad) {
      // The next messages are in a stored segment being read back: "nothing" would tell a reader that
      // asked not to wait it has caught up, so the read waits for the segment (answered when it is in).
      wait = STORED_SEGMENT_WAIT;
    }
    boolean answerNow = !got.isEmpty() || wait.isZero() || state.draining()
        || subscribers.parkingFull(limits.maxParkedReads());
    if (!answerNow) {
      Subscribers.ParkedRead parked = subscribers.park(max, replyTo);
      if (forLoad) {
        waitingForLoad.add(parked.id());
      }
      outlet.parked(parked, wait);
    }
    finishRound(); // before the answer: in ack mode none, what it read is released once the reader hears back
    if (answerNow) {
      outlet.reply(replyTo, StatusReply.success(got));
    }
  }

  /**
   * Reading back ended (the segment is in and delivered from, or it failed): a read that asked not to
   * wait and waited only for it, still unanswered, is answered empty now, not at the end of
   * {@link #STORED_SEGMENT_WAIT}: what it waited for held nothing to deliver to it.
   */
  public void loadSettled() {
    if (!loading() && !waitingForLoad.isEmpty()) {
      for (long id : waitingForLoad) {
        readExpired(id);
      }
      waitingForLoad.clear();
    }
  }

  /** The wait of parked read {@code id} ended: it is answered empty, unless it was answered already. */
  public void readExpired(long id) {
    Subscribers.ParkedRead read = state.subscribers().unpark(id);
    if (read != null) {
      outlet.reply(read.replyTo(), StatusReply.success(List.of()));
    }
  }

  /**
   * The bytes of messages one batch (a pull read's answer, a stream's element) stops at, past the
   * first message: such a batch is one message to its reader, and between cluster members one
   * network frame (16 MiB), which this plus one message of up to 8 MiB always fits.
   */
  static final long BATCH_BYTES = 4L << 20;

  /** Up to {@code max} deliveries for {@code owner}, redeliveries first, stopping at {@link #BATCH_BYTES}. */
  public List<Delivery> take(int max, long owner) {
    // Sized for what can be taken now, so that a full batch never copies its array as it grows and
    // a consumer far behind does not allocate a batch's worth for a call its credit or a cold
    // segment cuts short.
    long available = log.lastSequence() - cursor.next() + 1 + cursor.waiting() + cursor.aside().ready();
    if (state.explicit()) {
      available = Math.min(available, Math.max(0, state.prefetch() - cursor.unsettled()) + cursor.waiting());
    }
    if (loading >= 0) {
      available = cursor.waiting();
    }
    List<Delivery> out = new ArrayList<>((int) Math.max(1, Math.min(max, available)));
    long bytes = 0;
    while (out.size() < max && bytes < BATCH_BYTES) {
      Delivery d = next(owner);
      if (d == null) {
        break;
      }
      out.add(d);
      bytes += d.message().sizeBytes();
    }
    return out;
  }

  /**
   * The next delivery for {@code owner}: a waiting redelivery first, else the next new message (one
   * set aside that is ready, before those past the cursor).
   */
  Delivery next(long owner) {
    Delivery redelivery = nextRedelivery(owner);
    return redelivery != null ? redelivery : nextFresh(owner);
  }

  private Delivery nextNewFirst(long owner) {
    Delivery fresh = nextFresh(owner);
    return fresh != null ? fresh : nextRedelivery(owner);
  }

  /**
   * The next message never delivered: without priorities, a ready one set aside (its sequence is
   * below the cursor's), else the one at the cursor; with priorities, the cursor first fills the
   * window of ready messages, and the highest priority of them goes.
   */
  private Delivery nextFresh(long owner) {
    if (priorityWindow > 0) {
      fillWindow();
      return nextAside(owner);
    }
    Delivery aside = nextAside(owner);
    return aside != null ? aside : nextNew(owner);
  }

  /** Passes messages at the cursor into the set-aside ready ones until {@link #priorityWindow} are ready. */
  private void fillWindow() {
    if (state.explicit() && cursor.unsettled() >= state.prefetch()) {
      return;
    }
    SetAside aside = cursor.aside();
    long last = log.lastSequence();
    while (aside.ready() < priorityWindow && cursor.next() <= last && loading < 0) {
      long sequence = cursor.next();
      Message message = accepted(sequence);
      if (message == null) {
        if (cursor.next() == sequence) {
          return; // waits: a load, a removal notice, or the set-aside bound
        }
        continue;
      }
      aside.addReady(sequence, state.priorityOf(message));
      cursor.skipTo(sequence + 1);
    }
  }

  /**
   * The message at the cursor if it can be delivered now; else null, with the cursor moved past it
   * when it is passed over (filtered out, gone, or set aside until due) and left at it when delivery
   * waits there (a cold segment loading, a removal notice on its way, too many set aside).
   */
  private Message accepted(long sequence) {
    Message message = log.get(sequence);
    if (message == null) {
      if (log.cold(sequence)) {
        awaitLoad(sequence);
        return null;
      }
      if (skippable(sequence)) {
        cursor.skipTo(sequence + 1);
      }
      return null;
    }
    if (!filter.matchesAll() && !filter.matches(message)) {
      cursor.skipTo(sequence + 1);
      state.stats().countFiltered();
      return null;
    }
    long now = now();
    if (message.notDueAt(now)) {
      if (cursor.aside().deferred() >= maxDeferred) {
        blockedUntil = message.deliverAtMillis();
        return null;
      }
      cursor.aside().defer(sequence, message.deliverAtMillis(), state.priorityOf(message));
      cursor.skipTo(sequence + 1);
      return null;
    }
    return message;
  }

  /** A ready message set aside, delivered for the first time; null when none is (or it waits for a load). */
  private Delivery nextAside(long owner) {
    SetAside aside = cursor.aside();
    if (aside.ready() == 0 || state.explicit() && cursor.unsettled() >= state.prefetch()) {
      return null;
    }
    long sequence;
    while ((sequence = aside.peekReady()) >= 0) {
      Message message = log.get(sequence);
      if (message == null) {
        if (log.cold(sequence)) {
          awaitLoad(sequence);
          return null;
        }
        aside.remove(sequence); // removed meanwhile: its notice settles nothing more
        continue;
      }
      if (message.notDueAt(now())) {
        aside.defer(sequence, message.deliverAtMillis(), state.priorityOf(message)); // restored before its time
        continue;
      }
      aside.remove(sequence);
      return deliverFresh(sequence, message, owner);
    }
    return null;
  }

  private Delivery deliverFresh(long sequence, Message message, long owner) {
    if (state.explicit()) {
      cursor.delivered(sequence, 1, roundBatch(), owner);
    } else {
      groupMemberAcked(message); // at most once: delivering is acknowledging
    }
    state.stats().countDelivered();
    roundDelivered++;
    state.trace().record(sequence, DeliveryTrace.Kind.DELIVERED, 1, owner, now(), log);
    return new Delivery(name, message, 1);
  }

  /** A waiting redelivery for {@code owner}, or null. */
  private Delivery nextRedelivery(long owner) {
    if (state.explicit()) {
      while (cursor.hasReady()) {
        long sequence = cursor.firstReady();
        Message message = log.get(sequence);
        if (message == null && log.cold(sequence)) {
          awaitLoad(sequence);
          return null;
        }
        int attempt = cursor.pollReady();
        if (message != null) {
          cursor.delivered(sequence, attempt, roundBatch(), owner);
          state.stats().countRedelivered();
          roundRedelivered++;
          state.trace().record(sequence, DeliveryTrace.Kind.DELIVERED, attempt, owner, now(), log);
          return new Delivery(name, message, attempt);
        }
      }
    }
    return null;
  }

  /** The next message never delivered, within the prefetch, or null. */
  private Delivery nextNew(long owner) {
    boolean explicit = state.explicit();
    if (explicit && cursor.unsettled() >= state.prefetch()) {
      return null;
    }
    long last = log.lastSequence();
    while (cursor.next() <= last) {
      long sequence = cursor.next();
      Message message = log.get(sequence);
      if (message == null) {
        if (log.cold(sequence)) {
          awaitLoad(sequence);
          return null;
        }
        if (!skippable(sequence)) {
          return null; // removed by a step whose notice is on its way: wait for it
        }
        cursor.skipTo(sequence + 1);
        continue;
      }
      if (!filter.matchesAll() && !filter.matches(message)) {
        cursor.skipTo(sequence + 1);
        state.stats().countFiltered();
        continue;
      }
      if (message.notDueAt(now())) {
        if (cursor.aside().deferred() >= maxDeferred) {
          blockedUntil = message.deliverAtMillis();
          return null; // the set-aside messages are at their bound: the cursor waits here
        }
        cursor.aside().defer(sequence, message.deliverAtMillis(), 0);
        cursor.skipTo(sequence + 1);
        continue;
      }
      if (explicit) {
        cursor.delivered(sequence, 1, roundBatch(), owner);
      } else {
        cursor.skipTo(sequence + 1);
        groupMemberAcked(message); // at most once: delivering is acknowledging
      }
      state.stats().countDelivered();
      roundDelivered++;
      state.trace().record(sequence, DeliveryTrace.Kind.DELIVERED, 1, owner, now(), log);
      return new Delivery(name, message, 1);
    }
    return null;
  }

  /** Counts an acknowledged member toward its group, telling the actor when that completed or evicted one. */
  public void groupMemberAcked(Message m) {
    GroupTracker.Outcome outcome = state.groups().memberAcked(m, maxOpenGroups);
    if (outcome == null) {
      return;
    }
    if (outcome.evicted() != null) {
      LOG.warn("queue {}: consumer {} tracks {} open groups; forgot group {}", state.queue(), name, maxOpenGroups,
          outcome.evicted());
    }
    if (outcome.completed() != null) {
      outlet.publish(new SpoolEvent.GroupCompleted(clock.instant(), state.queue(), name, outcome.completed(),
          outcome.size()));
    }
  }

  /** Whether acknowledged messages are counted toward their groups. */
  public boolean tracksGroups() {
    return maxOpenGroups > 0;
  }

  /**
   * Whether a sequence with no message can be passed over: freed (below every consumer's need or
   * before this consumer existed) or removed by a step this consumer has been told of.
   */
  boolean skippable(long sequence) {
    return log.removedEpoch(sequence) <= state.knownEpoch();
  }

  /** Moves the cursor over removed and freed sequences it has been told of, so that lag counts only what is left. */
  public void skipRemoved() {
    long last = log.lastSequence();
    while (cursor.next() <= last && log.get(cursor.next()) == null && !log.cold(cursor.next())
        && skippable(cursor.next())) {
      cursor.skipTo(cursor.next() + 1);
    }
  }

  /** Whether some taker could take a delivery now. */
  public boolean wantsMore() {
    if (state.halted()) {
      return false;
    }
    if (state.explicit() && cursor.unsettled() >= state.prefetch() && !cursor.hasReady()) {
      return false;
    }
    Subscribers<E> subscribers = state.subscribers();
    if (state.settings().exclusive()) {
      return activeWantsMore(activeOwner());
    }
    if (state.handlers().anyCanTake() || subscribers.parkedReads() > 0) {
      return true;
    }
    for (Subscribers.StreamSubscriber<E> stream : subscribers.streams()) {
      if (stream.demand()) {
        return true;
      }
    }
    return !subscribers.actors().isEmpty() && (state.explicit() || subscribers.creditHeld() < state.prefetch());
  }

  /** Whether an exclusive consumer's {@code active} subscriber (or, with none attached, a parked read) takes more. */
  private boolean activeWantsMore(long active) {
    Subscribers<E> subscribers = state.subscribers();
    if (active < 0) {
      return subscribers.parkedReads() > 0;
    }
    for (HandlerPool.Handler handler : state.handlers().all()) {
      if (handler.owner() == active) {
        return handler.canTake();
      }
    }
    for (Subscribers.StreamSubscriber<E> stream : subscribers.streams()) {
      if (stream.owner() == active) {
        return stream.demand();
      }
    }
    return state.explicit() || subscribers.creditHeld() < state.prefetch();
  }

  private long roundBatch() {
    if (roundBatch == 0) {
      roundBatch = cursor.newBatch();
    }
    return roundBatch;
  }

  /** Ends the round's batch: its id when its deliveries are still open (arm its ack deadline), else 0. */
  public long closeBatch() {
    long batch = roundBatch;
    roundBatch = 0;
    return batch != 0 && cursor.batchOpen(batch) ? batch : 0;
  }

  /** Delivers what can go now and finishes the round; in ack mode none the position is journaled at once. */
  public void round() {
    dispatch();
    finishRound();
    if (state.position().durable() && !state.explicit()) {
      state.position().journal(state, false, outlet); // at most once: what was delivered must not come again
    }
  }

  /** Counts what the round delivered, arms the ack deadline of its batch, asks to be woken if starved, reports progress. */
  public void finishRound() {
    if (roundDelivered + roundRedelivered > 0) {
      outlet.add(ConsumerStats.Total.DELIVERED, roundDelivered + roundRedelivered);
      if (roundRedelivered > 0) {
        outlet.add(ConsumerStats.Total.REDELIVERED, roundRedelivered);
      }
      roundDelivered = 0;
      roundRedelivered = 0;
      state.stats().touch(clock.millis());
    }
    long batch = closeBatch();
    if (batch != 0) {
      outlet.ackDeadline(batch);
    }
    if (shouldAwait()) {
      outlet.awaitMessages(cursor.next() - 1);
    }
    armWakeUp();
    reportProgress(false);
  }

  /** Asks to dispatch again when the earliest message set aside, or the one the cursor waits at, falls due. */
  private void armWakeUp() {
    long due = cursor.aside().nextDue();
    if (blockedUntil != 0 && (due == 0 || blockedUntil < due)) {
      due = blockedUntil;
    }
    blockedUntil = 0;
    if (due != wakeAt) {
      wakeAt = due;
      outlet.wakeAt(due);
    }
  }

  /** The wake-up asked for came: the next round asks again if one is still needed. */
  public void wokenAtDue() {
    wakeAt = 0;
  }

  /** Shows the queue the lowest sequence this consumer still needs (see {@link PositionJournal#report}). */
  public void reportProgress(boolean force) {
    state.position().report(state, force, segmentShift, outlet);
  }

  /**
   * Whether to ask the queue to wake this consumer on its next append: demand is left, which means
   * this round ran out of messages as far as it saw. Whether an append landed since is for the queue
   * to decide (it answers at once if it appended past the cursor); deciding it here would race with
   * the writer and could lose the wake-up. Asked once until {@link #woken()}.
   */
  public boolean shouldAwait() {
    if (!awaitingMessages && blockedUntil == 0 && wantsMore() && !cursor.hasReady()) {
      awaitingMessages = true;
      return true;
    }
    return false;
  }

  /**
   * Pauses delivery, or resumes it, answering {@code replyTo} once that is journaled: whether to
   * dispatch (on resuming).
   */
  public boolean pause(boolean paused, ActorRef<StatusReply<Done>> replyTo) {
    state.paused(paused);
    state.position().journal(state, true, outlet);
    state.position().replyWhenDurable(replyTo, Done.getInstance(), state.queue(), name, outlet);
    return !paused;
  }

  /** The queue appended past what this consumer had seen. */
  public void woken() {
    awaitingMessages = false;
  }

  /**
   * A fresh incarnation of the actor takes over: it is told of the restart, the ack deadlines of the
   * batches in flight are armed again, and what waited on the previous one's timers (backoffs,
   * long-polls) goes on at once. How many incarnations came before this one.
   */
  public int recover() {
    int restarts = state.incarnated();
    if (restarts > 0) {
      LOG.warn("queue {}: consumer {} restarted (restart {}), position kept at {}", state.queue(), name, restarts,
          cursor.next());
      outlet.publish(new SpoolEvent.ConsumerRestarted(clock.instant(), state.queue(), name, restarts));
    }
    for (long batch : cursor.openBatches()) {
      outlet.ackDeadline(batch);
    }
    cursor.endBackoffs();
    endParkedReads();
    return restarts;
  }

  /** Long-polls end now, empty: nothing more is delivered, or the timers that would end them are gone. */
  public void endParkedReads() {
    for (Subscribers.ParkedRead read : state.subscribers().unparkAll()) {
      outlet.answer(read, List.of());
    }
  }
}
