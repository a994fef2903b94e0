package dev.spool.actor;

import dev.spool.ConsumerInfo;
import dev.spool.ConsumerSettings;
import dev.spool.JournalHealth;
import dev.spool.Message;
import dev.spool.MessageTrace;
import dev.spool.Names;
import dev.spool.QueueInfo;
import dev.spool.QueueSettings;
import dev.spool.QueueStats;
import dev.spool.SpoolEvent;
import dev.spool.SpoolException;
import dev.spool.SpoolSettings;
import dev.spool.durable.ConsumerPosition;
import dev.spool.durable.QueueEvent;
import dev.spool.durable.QueueJournal;
import dev.spool.log.DedupIndex;
import dev.spool.log.ExpiryIndex;
import dev.spool.log.SegmentedLog;
import dev.spool.queue.Appender;
import dev.spool.queue.GroupCommit;
import dev.spool.queue.Retention;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.StashBuffer;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.pattern.StatusReply;

/**
 * One queue: the only writer of its {@link SegmentedLog}. It assigns sequences, deduplicates
 * producer ids, enforces the queue's bounds, and owns one {@link ConsumerActor} child per consumer.
 * It keeps the protocol, the timers and the tells; the work is done by plain classes it drives on
 * its own thread: {@link Appender} (the publish path), {@link Retention} (watermarks, collection,
 * expiry and eviction, in removal steps this actor tells the consumers of and journals) and, on a
 * durable queue, {@link GroupCommit} (the journal batches and their outcomes). Each redrive runs
 * in a {@link RedriveJob} child.
 *
 * <p>It releases each message below the lowest sequence any consumer still needs and outside the
 * queue's retention: consumers report their need once per segment they pass, and the queue reads
 * it directly wherever an exact count matters (a bound about to refuse, stats, a collection, the
 * janitor's tick); the slot arrays go in whole segments. A queue with no consumers keeps
 * its messages, so that a consumer created later with {@code earliest} still gets them.
 *
 * <p>On the janitor's {@link Tick} it expires messages past the queue's ttl or their own expiry.
 * Expired and evicted ({@code drop-oldest}) messages are removed in one step each, an
 * <em>epoch</em>: every consumer is told exactly which messages that step removed
 * ({@code ConsumerActor.MessagesRemoved}) and works out which of them it had not acknowledged.
 * Every byte it retains is reserved with the engine's {@link MemoryMonitor} first.
 *
 * <p>A durable queue tracks whether its journal writes ({@link JournalCondition}): a write failed,
 * a write under way longer than {@code write-stall-after}, or a journal that cannot be read makes
 * it refuse new publishes and other journaled changes at once with {@code JournalUnavailable}
 * (nothing of them is stored) and tell the manager, which answers health probes; the first write
 * that completes (or a journal that reads again) ends it. Writes already under way keep waiting
 * for their outcome, which a recovery of the journal settles.
 *
 * <p>Reached only by name through the {@link QueueManager}, so that it could run as a cluster
 * sharding entity unchanged.
 */
public final class QueueActor extends AbstractBehavior<QueueActor.Command> {

  /** Everything a queue understands. */
  public interface Command {}

  /**
   * Append {@code messages} in one step, all or none; the reply holds each message's sequence (the
   * original one for a duplicate id).
   */
  public record Publish(String producerId, List<Message> messages, ActorRef<StatusReply<List<Long>>> replyTo)
      implements Command, Request<List<Long>> {}

  /** Describe the queue with its figures. */
  public record GetInfo(ActorRef<StatusReply<QueueInfo>> replyTo) implements Command, Request<QueueInfo> {}

  /** Create a consumer; idempotent for equal settings. */
  public record CreateConsumer(ConsumerSettings settings, ActorRef<StatusReply<Created<ConsumerInfo>>> replyTo)
      implements Command, Request<Created<ConsumerInfo>> {}

  /** Delete a consumer and its position. */
  public record DeleteConsumer(String consumer, ActorRef<StatusReply<Done>> replyTo)
      implements Command, Request<Done> {}

  /** Describe every consumer. */
  public record ListConsumers(ActorRef<StatusReply<List<ConsumerInfo>>> replyTo)
      implements Command, Request<List<ConsumerInfo>> {}

  /** Route {@code command} to the named consumer (answering {@code ConsumerNotFound} if there is none). */
  public record ToConsumer(String consumer, ConsumerActor.Command command) implements Command {}

  /**
   * From the janitor: expire, collect garbage, sample rates and tick the consumers; with
   * {@code relieve}, also make room under memory pressure ({@code drop-oldest} queues evict).
   */
  public record Tick(boolean relieve) implements Command {}

  /** Free what no consumer needs now; the reply is how many messages were freed. */
  public record CollectGarbage(ActorRef<StatusReply<Long>> replyTo) implements Command, Request<Long> {}

  /**
   * Relieve memory pressure: collect garbage, then under {@code drop-oldest} evict this queue's share
   * of the excess over the low-water mark; the reply is how many messages were freed or evicted.
   */
  public record Relieve(ActorRef<StatusReply<Long>> replyTo) implements Command, Request<Long> {}

  /**
   * Remove consumers with no subscriber and no read or ack for {@code staleAfter} whose lag exceeds
   * {@code lagThreshold}; the reply is how many were removed.
   */
  public record CleanupStale(Duration staleAfter, long lagThreshold, ActorRef<StatusReply<Integer>> replyTo)
      implements Command, Request<Integer> {}

  private record StaleListed(List<ConsumerInfo> consumers, Throwable failure, CleanupStale request)
      implements Command {}

  /**
   * Up to {@code max} retained messages from sequence {@code from} on, in order; moves no cursor.
   */
  public record Browse(long from, int max, ActorRef<StatusReply<List<Message>>> replyTo)
      implements Command, Request<List<Message>> {}

  /** One retained message with its delivery trace ({@code SequenceOutOfRange} once it is not retained). */
  public record GetMessageTrace(long sequence, ActorRef<StatusReply<MessageTrace>> replyTo)
      implements Command, Request<MessageTrace> {}

  /**
   * On a dead-letter queue: move the dead-lettered messages with sequences in {@code [from, to]}
   * back to their source queues as new messages, removing them here; the reply is how many moved.
   */
  public record Redrive(long from, long to, ActorRef<StatusReply<Long>> replyTo) implements Command, Request<Long> {}

  /** From a {@link RedriveJob}: which dead-lettered messages its source queues took, and which not. */
  record Redriven(List<Long> moved, List<Long> notMoved, List<String> failures, ActorRef<StatusReply<Long>> replyTo)
      implements Command {}

  /** Stop delivering for shutdown; the reply sums the consumers' drain results. */
  public record Drain(Duration timeout, ActorRef<StatusReply<ConsumerActor.DrainResult>> replyTo)
      implements Command, Request<ConsumerActor.DrainResult> {}

  /**
   * Answer once nothing waits for the journal (at once for a transient queue): before the engine
   * stops, so that what was gathered is written rather than dropped.
   */
  public record Flush(ActorRef<StatusReply<Done>> replyTo) implements Command, Request<Done> {}

  /** From a consumer whose {@code inactiveTimeout} passed: remove me. */
  record RemoveInactive(String consumer, ActorRef<ConsumerActor.Command> ref, long lag) implements Command {}

  /** From a consumer: wake me with the first append after {@code afterSequence}. */
  record AwaitMessages(String consumer, long afterSequence) implements Command {}

  /** From a consumer: the lowest sequence I still need is {@code watermark}. */
  record ConsumerProgress(String consumer, long watermark) implements Command {}

  private record ConsumerTerminated(String consumer, ActorRef<ConsumerActor.Command> ref) implements Command {}

  /** From a consumer of a durable queue: journal my position ({@code version} counts my changes). */
  record PositionChanged(String consumer, ActorRef<ConsumerActor.Command> from, long version,
      ConsumerPosition position) implements Command {}

  private record JournalReply(QueueJournal.Reply reply) implements Command {}

  /** The journal write {@code writeId} has been under way for {@code write-stall-after}. */
  private record WriteStalled(long writeId) implements Command {}

  /**
   * A durable queue's identity in the journal.
   *
   * @param incarnation part of its persistence id (a queue created again starts afresh)
   * @param idSeed the high half of ids Spool gives messages, kept across restarts
   */
  public record Durable(String incarnation, long idSeed) {}

  /** A reply that arrived through this actor's own ask, passed on to the original asker. */
  private record Answer<T>(StatusReply<T> reply, ActorRef<StatusReply<T>> replyTo) implements Command {
    void deliver() {
      replyTo.tell(reply);
    }
  }

  private static final class ConsumerEntry {
    final ActorRef<ConsumerActor.Command> ref;
    final ConsumerSettings settings;
    /** The consumer's state, of which this queue reads only {@link ConsumerActor.State#needFrom()}. */
    final ConsumerActor.State state;

    ConsumerEntry(ActorRef<ConsumerActor.Command> ref, ConsumerSettings settings, ConsumerActor.State state) {
      this.ref = ref;
      this.settings = settings;
      this.state = state;
    }
  }

  /** Commands a durable queue holds while it recovers; more are refused with Timeout. */
  private static final int RECOVERY_STASH = 10_000;

  /** The key of the timer that finds a stalled journal write (one write is under way at most). */
  private static final Object STALL_TIMER = WriteStalled.class;

  /**
   * @param durable the journal identity of a durable queue, or {@code null} for a transient one
   */
  static Behavior<Command> create(String name, QueueSettings queueSettings, SpoolSettings settings,
      MemoryMonitor memory, ActorRef<QueueManager.Command> manager, Durable durable) {
    if (durable == null) {
      return Behaviors.setup(context -> new QueueActor(context, name, queueSettings, settings, memory, manager,
          null, null, Message.newIdSeed()));
    }
    return Behaviors.withStash(RECOVERY_STASH, stash -> Behaviors.withTimers(timers -> Behaviors.setup(context -> {
      ActorRef<QueueJournal.Reply> replies = context.messageAdapter(QueueJournal.Reply.class, JournalReply::new);
      // Persist failures restart it with backoff inside the behavior; anything else thrown does too.
      ActorRef<QueueJournal.Command> journal = context.spawn(
          Behaviors.supervise(QueueJournal.create(name, durable.incarnation(), settings.persistence(),
                  queueSettings.dedupWindow(), settings.dedupMaxEntries(), memory, replies))
              .onFailure(SupervisorStrategy.restartWithBackoff(settings.persistence().restartMinBackoff(),
                  settings.persistence().restartMaxBackoff(), 0.2)),
          "journal");
      return recovering(context, stash, () -> new QueueActor(context, name, queueSettings, settings, memory, manager,
          journal, timers, durable.idSeed()), manager, name, settings.clock());
    })));
  }

  /**
   * A durable queue until its journal is read: commands wait (bounded) and run once it is. Once a
   * read fails, what waited and what comes is refused with {@code JournalUnavailable} until a read
   * succeeds, so that nothing a caller gave up on runs later.
   */
  private static Behavior<Command> recovering(ActorContext<Command> context, StashBuffer<Command> stash,
      java.util.function.Supplier<QueueActor> queue, ActorRef<QueueManager.Command> manager, String name,
      java.time.Clock clock) {
    long started = System.nanoTime();
    JournalCondition condition = new JournalCondition(JournalHealth.State.RECOVERING, "reading the journal",
        clock.instant());
    return Behaviors.receive(Command.class)
        .onMessage(JournalReply.class, reply -> {
          if (reply.reply() instanceof QueueJournal.Recovered recovered) {
            QueueActor q = queue.get();
            try {
              q.restore(recovered, (System.nanoTime() - started) / 1_000_000);
            } catch (RuntimeException e) {
              // Not resumed into recovery (the journal's one answer is spent): the queue answers
              // every command with this error, and the other queues are not held up.
              if (e instanceof RecoveryRefused) {
                context.getLog().error(e.getMessage()); // expected, and said in full: no stack trace
              } else {
                context.getLog().error("queue {} could not be recovered from its journal; it refuses every command",
                    name, e);
              }
              manager.tell(new QueueManager.QueueRecovered(name, context.getSelf()));
              condition.moveTo(JournalHealth.State.UNAVAILABLE, "could not be recovered: "
                  + JournalCondition.describe(e), clock.instant());
              manager.tell(new QueueManager.JournalStateChanged(name, context.getSelf(), condition.problem(name)));
              // A queue too large for the heap says so: retrying soon will not help, a restart with more will.
              SpoolException broken = e instanceof RecoveryRefused
                  ? new SpoolException.JournalUnavailable(e.getMessage()) : condition.refusal(name);
              return stash.unstashAll(Behaviors.receive(Command.class)
                  .onAnyMessage(command -> {
                    refuse(command, broken);
                    return Behaviors.same();
                  })
                  .build());
            }
            manager.tell(new QueueManager.QueueRecovered(name, context.getSelf()));
            return stash.unstashAll(q);
          }
          if (reply.reply() instanceof QueueJournal.Unavailable unavailable) {
            // The journal retries after its backoff; the manager logs and reports the failure.
            if (condition.moveTo(JournalHealth.State.UNAVAILABLE, JournalCondition.describe(unavailable.cause()),
                clock.instant())) {
              manager.tell(new QueueManager.JournalStateChanged(name, context.getSelf(), condition.problem(name)));
            }
            SpoolException refusal = condition.refusal(name);
            stash.forEach(command -> refuse(command, refusal));
            stash.clear();
          }
          return Behaviors.same();
        })
        .onAnyMessage(command -> {
          if (condition.state() != JournalHealth.State.RECOVERING) {
            refuse(command, condition.refusal(name));
          } else if (stash.isFull()) {
            refuse(command, new SpoolException.Timeout("queue '" + name + "' is still recovering from its journal"));
          } else {
            stash.stash(command);
          }
          return Behaviors.same();
        })
        .build();
  }

  private static void refuse(Command command, SpoolException e) {
    if (command instanceof Request<?> request) {
      Request.fail(request, e);
    } else if (command instanceof ToConsumer toConsumer && toConsumer.command() instanceof Request<?> request) {
      Request.fail(request, e);
    }
  }

  private final String name;
  private final QueueSettings queueSettings;
  private final SpoolSettings settings;
  private final SegmentedLog log;
  private final DedupIndex dedup;
  private final ExpiryIndex expiries = new ExpiryIndex();
  private final MemoryMonitor memory;
  private final ActorRef<QueueManager.Command> manager;
  /** What the queue keeps and lets go of: watermarks, garbage collection, expiry, eviction. */
  private final Retention retention;
  /** The publish path: checks, deduplication, sequences, room under the bounds, appends. */
  private final Appender appender;
  /** Sequences a redrive under way is moving, so that a second one does not move them again. */
  private final Set<Long> redriving = new HashSet<>();
  /** A durable queue's journal, or {@code null} for a transient queue. */
  private final ActorRef<QueueJournal.Command> journal;
  /** A durable queue's timers (the stalled-write check), or {@code null} for a transient queue. */
  private final TimerScheduler<Command> timers;
  /** Whether a durable queue's journal writes; new journaled changes are refused while it does not. */
  private final JournalCondition journalCondition;
  /** A durable queue's journal batches, or {@code null} for a transient queue. */
  private final GroupCommit<ActorRef<StatusReply<Created<ConsumerInfo>>>, ActorRef<ConsumerActor.Command>> groupCommit;
  private final List<ActorRef<StatusReply<Done>>> flushed = new ArrayList<>(0);
  private final QueueCounters counters = new QueueCounters();
  private final Map<String, ConsumerEntry> consumers = new HashMap<>();
  /** Consumers came or went since their shares of the trace cap were last told (see shareTraceCap). */
  private boolean traceSharesChanged;
  /** The share of the trace cap consumers were last told. */
  private int toldTraceShare;
  private final List<ActorRef<ConsumerActor.Command>> waiting = new ArrayList<>();
  private long incarnations;
  private long rateSampledAt;
  private long rateSampledPublished;
  private long rateSampledDelivered;
  private double publishRate;
  private double deliverRate;

  private QueueActor(ActorContext<Command> context, String name, QueueSettings queueSettings, SpoolSettings settings,
      MemoryMonitor memory, ActorRef<QueueManager.Command> manager, ActorRef<QueueJournal.Command> journal,
      TimerScheduler<Command> timers, long idSeed) {
    super(context);
    this.journal = journal;
    this.timers = timers;
    this.journalCondition = new JournalCondition(JournalHealth.State.OK, null, settings.clock().instant());
    this.manager = manager;
    this.name = name;
    this.queueSettings = queueSettings;
    this.settings = settings;
    this.memory = memory;
    this.log = new SegmentedLog(settings.segmentSize());
    this.dedup = new DedupIndex(settings.dedupMaxEntries());
    this.retention = new Retention(log, expiries, memory, queueSettings, settings.clock(), this::onRemoved,
        this::onFreed);
    this.appender = new Appender(name, log, dedup, expiries, retention, memory, queueSettings, settings, idSeed,
        journal != null);
    this.groupCommit = journal == null ? null : new GroupCommit<>();
    this.rateSampledAt = settings.clock().millis();
  }


  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Publish.class, this::onPublish)
        .onMessage(GetInfo.class, this::onGetInfo)
        .onMessage(CreateConsumer.class, this::onCreateConsumer)
        .onMessage(DeleteConsumer.class, this::onDeleteConsumer)
        .onMessage(ListConsumers.class, this::onListConsumers)
        .onMessage(ToConsumer.class, this::onToConsumer)
        .onMessage(AwaitMessages.class, this::onAwaitMessages)
        .onMessage(ConsumerProgress.class, this::onConsumerProgress)
        .onMessage(ConsumerTerminated.class, this::onConsumerTerminated)
        .onMessage(Answer.class, this::onAnswer)
        .onMessage(Tick.class, this::onTick)
        .onMessage(CollectGarbage.class, this::onCollectGarbage)
        .onMessage(Relieve.class, this::onRelieve)
        .onMessage(CleanupStale.class, this::onCleanupStale)
        .onMessage(StaleListed.class, this::onStaleListed)
        .onMessage(RemoveInactive.class, this::onRemoveInactive)
        .onMessage(Browse.class, this::onBrowse)
        .onMessage(GetMessageTrace.class, this::onGetMessageTrace)
        .onMessage(Redrive.class, this::onRedrive)
        .onMessage(Redriven.class, this::onRedriven)
        .onMessage(Drain.class, this::onDrain)
        .onMessage(PositionChanged.class, this::onPositionChanged)
        .onMessage(Flush.class, this::onFlush)
        .onMessage(JournalReply.class, this::onJournalReply)
        .onMessage(WriteStalled.class, this::onWriteStalled)
        .onSignal(PostStop.class, signal -> onPostStop())
        .build();
  }

  // ---- publishing

  private Behavior<Command> onPublish(Publish publish) {
    try {
      if (journal != null) {
        publishDurably(publish);
      } else {
        Appender.Prepared prepared = appender.prepare(publish.producerId(), publish.messages());
        commit(prepared);
        publish.replyTo().tell(StatusReply.success(prepared.sequences()));
      }
    } catch (SpoolException e) {
      Request.fail(publish, e);
    }
    return this;
  }

  /** Appends a prepared publish to the log, announces the messages it kept and wakes the consumers. */
  private void commit(Appender.Prepared prepared) {
    appender.commit(prepared);
    if (settings.events().messageAdded()) {
      for (int i = prepared.dropped(); i < prepared.freshCount(); i++) {
        publishMessageAdded(prepared.fresh()[i]);
      }
    }
    if (prepared.freshCount() > 0) {
      wakeWaiting();
    }
  }

  private void publishMessageAdded(Message m) {
    String groupId = m.headers().get("group-id");
    int groupSize = 0;
    try {
      String size = m.headers().get("group-size");
      groupSize = size == null ? 0 : Integer.parseInt(size.trim());
    } catch (NumberFormatException notANumber) {
      // a malformed group-size is carried as unknown (0), not refused: the message is still valid
    }
    Events.publish(getContext().getSystem(), new SpoolEvent.MessageAdded(Instant.ofEpochMilli(m.timestamp()), name,
        m.sequence(), m.type(), groupId, groupSize));
  }

  private void wakeWaiting() {
    if (waiting.isEmpty()) {
      return;
    }
    for (ActorRef<ConsumerActor.Command> consumer : waiting) {
      consumer.tell(ConsumerActor.MessagesAvailable.INSTANCE);
    }
    waiting.clear();
  }

  private Behavior<Command> onAwaitMessages(AwaitMessages await) {
    ConsumerEntry entry = consumers.get(await.consumer());
    if (entry != null) {
      if (log.lastSequence() > await.afterSequence()) {
        entry.ref.tell(ConsumerActor.MessagesAvailable.INSTANCE);
      } else {
        waiting.add(entry.ref);
      }
    }
    return this;
  }

  // ---- info

  private Behavior<Command> onGetInfo(GetInfo get) {
    get.replyTo().tell(StatusReply.success(info()));
    return this;
  }

  private QueueInfo info() {
    retention.releaseAcknowledged();
    return new QueueInfo(name, queueSettings, new QueueStats(
        log.firstSequence(), log.lastSequence(), log.retainedMessages(), log.retainedBytes(), log.segmentCount(),
        appender.published(), appender.duplicates(), counters.delivered.sum(), counters.acked.sum(),
        counters.redelivered.sum(),
        counters.expired.sum(), counters.dropped.sum(), counters.deadLettered.sum(), consumers.size(),
        publishRate, deliverRate));
  }

  // ---- consumers

  private Behavior<Command> onCreateConsumer(CreateConsumer create) {
    ConsumerSettings resolved;
    try {
      Names.requireValid("consumer", create.settings().name());
      resolved = create.settings().withDefaults(settings.consumer());
    } catch (SpoolException e) {
      Request.fail(create, e);
      return this;
    }
    ConsumerEntry existing = consumers.get(resolved.name());
    var pending = existing == null && journal != null ? groupCommit.pendingConsumer(resolved.name()) : null;
    if (pending != null) {
      if (pending.settings().equals(resolved)) {
        pending.replies().add(create.replyTo()); // answered with the first, once the journal stored it
      } else {
        Request.fail(create, new SpoolException.ConsumerAlreadyExists(name, resolved.name()));
      }
      return this;
    }
    if (existing != null) {
      if (existing.settings.equals(resolved)) {
        answerWithInfo(existing.ref, false, create.replyTo());
      } else {
        Request.fail(create, new SpoolException.ConsumerAlreadyExists(name, resolved.name()));
      }
      return this;
    }
    long start;
    try {
      start = ConsumerActor.resolve(resolved.startAt(), log);
    } catch (SpoolException e) {
      Request.fail(create, e);
      return this;
    }
    if (journal != null) {
      if (!journalCondition.writable()) {
        Request.fail(create, journalCondition.refusal(name));
        return this;
      }
      groupCommit.create(resolved, start, create.replyTo());
      flush();
      return this;
    }
    ActorRef<ConsumerActor.Command> ref = spawnConsumer(resolved, start, null);
    getContext().getLog().debug("queue {}: consumer {} created at sequence {}", name, resolved.name(), start);
    answerWithInfo(ref, true, create.replyTo());
    return this;
  }

  /**
   * Starts a consumer created at {@code start}; on a durable queue with the {@code position} its
   * journal recorded, from which it goes on, delivering its unsettled deliveries again.
   */
  private ActorRef<ConsumerActor.Command> spawnConsumer(ConsumerSettings resolved, long start,
      ConsumerPosition position) {
    long next = position != null ? position.next() : start;
    ConsumerActor.State state = new ConsumerActor.State(name, resolved, queueSettings.deadLetter(), next,
        retention.removalEpoch(), settings.clock().millis(), traceShare(consumers.size() + 1));
    long watermark = next;
    if (journal != null) {
      watermark = state.journaled(start, position, log);
    }
    // Restart keeps the State (cursor, committed position, in flight, handlers), which this queue
    // holds, not the actor; a failure in one consumer never touches the log or its siblings.
    ActorRef<ConsumerActor.Command> ref = getContext().spawn(
        Behaviors.supervise(ConsumerActor.create(resolved.name(), state, log, counters, getContext().getSelf(),
                manager, settings))
            .onFailure(SupervisorStrategy.restart()),
        "consumer-" + resolved.name() + "-" + (++incarnations));
    getContext().watchWith(ref, new ConsumerTerminated(resolved.name(), ref));
    consumers.put(resolved.name(), new ConsumerEntry(ref, resolved, state));
    traceSharesChanged = true;
    if (consumers.size() == 1 || traceShare(consumers.size()) * 2L <= toldTraceShare) {
      shareTraceCap(); // halved: told at once, so that the queue's consumers never hold over twice the cap
    }
    retention.track(resolved.name(), watermark, state::needFrom);
    return ref;
  }

  private void answerWithInfo(ActorRef<ConsumerActor.Command> consumer, boolean created,
      ActorRef<StatusReply<Created<ConsumerInfo>>> replyTo) {
    getContext().askWithStatus(ConsumerInfo.class, consumer, settings.askTimeout(), ConsumerActor.GetInfo::new,
        (info, failure) -> new Answer<>(
            failure == null ? StatusReply.success(new Created<>(info, created)) : StatusReply.error(failure),
            replyTo));
  }

  private Behavior<Command> onAnswer(Answer<?> answer) {
    answer.deliver();
    return this;
  }

  private Behavior<Command> onDeleteConsumer(DeleteConsumer delete) {
    if (journal != null && !journalCondition.writable()) {
      Request.fail(delete, journalCondition.refusal(name));
      return this;
    }
    if (!remove(delete.consumer(), null)) {
      Request.fail(delete, new SpoolException.ConsumerNotFound(name, delete.consumer()));
      return this;
    }
    getContext().getLog().debug("queue {}: consumer {} deleted", name, delete.consumer());
    if (journal != null) {
      groupCommit.awaitDeletion(delete.consumer(), delete.replyTo()); // answered once the journal stored it
      flush();
    } else {
      delete.replyTo().tell(StatusReply.success(Done.getInstance()));
    }
    return this;
  }

  /**
   * Forgets a consumer (stopping it), then frees what only it still held; with {@code onlyRef},
   * only if that is still its actor.
   */
  private boolean remove(String consumer, ActorRef<ConsumerActor.Command> onlyRef) {
    ConsumerEntry entry = consumers.get(consumer);
    if (entry == null || (onlyRef != null && !entry.ref.equals(onlyRef))) {
      return false;
    }
    consumers.remove(consumer);
    traceSharesChanged = true;
    waiting.remove(entry.ref);
    retention.untrack(consumer);
    getContext().unwatch(entry.ref);
    getContext().stop(entry.ref);
    if (journal != null) {
      groupCommit.delete(consumer); // callers flush, after adding what they wait for
    }
    retention.collectGarbage();
    return true;
  }

  private Behavior<Command> onConsumerTerminated(ConsumerTerminated terminated) {
    if (remove(terminated.consumer(), terminated.ref())) {
      getContext().getLog().warn("queue {}: consumer {} stopped unexpectedly", name, terminated.consumer());
      flush();
    }
    return this;
  }

  private Behavior<Command> onListConsumers(ListConsumers list) {
    if (consumers.isEmpty()) {
      list.replyTo().tell(StatusReply.success(List.of()));
      return this;
    }
    List<ActorRef<ConsumerActor.Command>> refs = consumers.values().stream().map(e -> e.ref).toList();
    getContext().spawnAnonymous(Aggregator.<ConsumerInfo, List<ConsumerInfo>>create(
        self -> refs.forEach(ref -> ref.tell(new ConsumerActor.GetInfo(self))),
        refs.size(),
        list.replyTo(),
        infos -> infos.stream().sorted(Comparator.comparing(ConsumerInfo::name)).toList(),
        settings.askTimeout()));
    return this;
  }

  private Behavior<Command> onToConsumer(ToConsumer envelope) {
    ConsumerEntry entry = consumers.get(envelope.consumer());
    if (entry != null) {
      entry.ref.tell(envelope.command());
    } else if (envelope.command() instanceof Request<?> request) {
      Request.fail(request, new SpoolException.ConsumerNotFound(name, envelope.consumer()));
    }
    return this;
  }

  // ---- garbage collection

  private Behavior<Command> onConsumerProgress(ConsumerProgress progress) {
    retention.progress(progress.consumer(), progress.watermark());
    return this;
  }

  private Behavior<Command> onCollectGarbage(CollectGarbage collect) {
    collect.replyTo().tell(StatusReply.success(retention.releaseAcknowledged()));
    return this;
  }

  private Behavior<Command> onRelieve(Relieve relieve) {
    relieve.replyTo().tell(StatusReply.success(retention.releaseAcknowledged() + retention.evictUnderPressure()));
    return this;
  }

  /**
   * A removal step finished: journaled (expiry is worked out again from the messages after a
   * restart; evictions and redrives are not), then told to every consumer, which works out which
   * of the removed messages it had not acknowledged.
   */
  private void onRemoved(Retention.Removal removal) {
    int count = removal.messages().size();
    switch (removal.reason()) {
      case EXPIRED -> counters.expired.add(count);
      case EVICTED -> counters.dropped.add(count);
      case REDRIVEN -> { } // moved, not lost
    }
    if (journal != null && removal.stored() && removal.reason() != Retention.Reason.EXPIRED) {
      groupCommit.removed(removal.messages());
      flush();
    }
    ConsumerActor.MessagesRemoved notice = new ConsumerActor.MessagesRemoved(removalReason(removal.reason()),
        removal.epoch(), removal.messages());
    for (ConsumerEntry entry : consumers.values()) {
      entry.ref.tell(notice);
    }
    getContext().getLog().debug("queue {}: {} {} messages (sequences {} to {})", name,
        removal.reason().name().toLowerCase(java.util.Locale.ROOT), count, removal.firstSequence(),
        removal.lastSequence());
  }

  private static ConsumerActor.RemovalReason removalReason(Retention.Reason reason) {
    return switch (reason) {
      case EXPIRED -> ConsumerActor.RemovalReason.EXPIRED;
      case EVICTED -> ConsumerActor.RemovalReason.EVICTED;
      case REDRIVEN -> ConsumerActor.RemovalReason.REDRIVEN;
    };
  }

  /** Collection freed the log below {@code firstSequence}: so that the journal lets go of it too. */
  private void onFreed(long firstSequence) {
    if (journal != null && groupCommit.freedBelow(firstSequence)) {
      flush();
    }
  }


  // ---- the janitor's tick

  private Behavior<Command> onTick(Tick tick) {
    long now = settings.clock().millis();
    retention.expire(now);
    retention.releaseAcknowledged();
    if (tick.relieve()) {
      retention.evictUnderPressure();
    }
    sampleRates(now);
    for (ConsumerEntry entry : consumers.values()) {
      entry.ref.tell(ConsumerActor.Tick.INSTANCE);
    }
    shareTraceCap();
    return this;
  }

  private void sampleRates(long now) {
    long elapsed = now - rateSampledAt;
    if (elapsed <= 0) {
      return;
    }
    long delivered = counters.delivered.sum();
    publishRate = (appender.published() - rateSampledPublished) * 1000.0 / elapsed;
    deliverRate = (delivered - rateSampledDelivered) * 1000.0 / elapsed;
    rateSampledAt = now;
    rateSampledPublished = appender.published();
    rateSampledDelivered = delivered;
  }

  // ---- stale consumers

  private Behavior<Command> onCleanupStale(CleanupStale cleanup) {
    getContext().askWithStatus(Request.<ConsumerInfo>listClass(), getContext().getSelf(), settings.askTimeout(), ListConsumers::new,
        (infos, failure) -> new StaleListed(infos, failure, cleanup));
    return this;
  }

  private Behavior<Command> onStaleListed(StaleListed listed) {
    if (listed.failure() != null) {
      listed.request().replyTo().tell(StatusReply.error(listed.failure()));
      return this;
    }
    long now = settings.clock().millis();
    int removed = 0;
    for (ConsumerInfo c : listed.consumers()) {
      if (c.isStale(now, listed.request().staleAfter()) && c.lag() > listed.request().lagThreshold()
          && remove(c.name(), null)) {
        removed++;
        announceRemoval(c.name(), "stale", c.lag());
      }
    }
    flush();
    listed.request().replyTo().tell(StatusReply.success(removed));
    return this;
  }

  private Behavior<Command> onRemoveInactive(RemoveInactive inactive) {
    if (remove(inactive.consumer(), inactive.ref())) {
      announceRemoval(inactive.consumer(), "inactive", inactive.lag());
      flush();
    }
    return this;
  }

  private void announceRemoval(String consumer, String reason, long lag) {
    getContext().getLog().info("queue {}: consumer {} removed ({}, lag {})", name, consumer, reason, lag);
    Events.publish(getContext().getSystem(),
        new SpoolEvent.ConsumerRemoved(settings.clock().instant(), name, consumer, reason, lag));
  }

  // ---- browsing and traces

  private Behavior<Command> onBrowse(Browse browse) {
    if (browse.max() < 1 || browse.max() > settings.consumer().maxReadBatch()) {
      Request.fail(browse, new SpoolException.InvalidConfiguration(
          "browse max must be between 1 and " + settings.consumer().maxReadBatch() + ", not " + browse.max()));
      return this;
    }
    List<Message> out = new ArrayList<>(Math.min(browse.max(), 256));
    long last = log.lastSequence();
    for (long s = Math.max(browse.from(), log.firstSequence()); s <= last && out.size() < browse.max(); s++) {
      Message m = log.get(s);
      if (m != null) {
        out.add(m);
      }
    }
    browse.replyTo().tell(StatusReply.success(out));
    return this;
  }

  /** Each consumer's share of the queue's trace cap when it has {@code consumerCount} consumers. */
  private int traceShare(int consumerCount) {
    return settings.consumer().traceEventsPerQueue() / Math.max(1, consumerCount);
  }

  /**
   * Tells every consumer its share of the trace cap if consumers came or went since it was last
   * told: at the janitor's tick, or at once when the share halved. Creating n consumers so costs
   * about 2n messages, not n², while each consumer holds at most twice its share between ticks
   * (a consumer created gets its share at once).
   */
  private void shareTraceCap() {
    if (traceSharesChanged) {
      traceSharesChanged = false;
      toldTraceShare = traceShare(consumers.size());
      ConsumerActor.TraceShare share = new ConsumerActor.TraceShare(toldTraceShare);
      consumers.values().forEach(c -> c.ref.tell(share));
    }
  }

  private Behavior<Command> onGetMessageTrace(GetMessageTrace get) {
    Message m = log.get(get.sequence());
    if (m == null) {
      String retained = log.firstSequence() > log.lastSequence()
          ? "it retains nothing; the next message gets " + log.nextSequence()
          : "it retains " + log.firstSequence() + " to " + log.lastSequence();
      Request.fail(get, new SpoolException.SequenceOutOfRange("queue '" + name + "' does not retain sequence "
          + get.sequence() + " (released, removed or never appended; " + retained + ")"));
      return this;
    }
    MessageTrace.Entry appended = new MessageTrace.Entry("appended", null, Instant.ofEpochMilli(m.timestamp()), 0, null);
    List<ActorRef<ConsumerActor.Command>> refs = consumers.values().stream().map(e -> e.ref).toList();
    getContext().spawnAnonymous(Aggregator.<List<MessageTrace.Entry>, MessageTrace>create(
        self -> refs.forEach(ref -> ref.tell(new ConsumerActor.GetTrace(get.sequence(), self))),
        refs.size(),
        get.replyTo(),
        perConsumer -> traceOf(m, appended, perConsumer),
        settings.askTimeout()));
    return this;
  }

  /**
   * The consumers' parts merged in time order after {@code appended}, each consumer's own order
   * kept: an entry without a time (what a consumer's position says) stays just before that
   * consumer's next timed entry, or goes last when none follows.
   */
  private static MessageTrace traceOf(Message m, MessageTrace.Entry appended,
      List<List<MessageTrace.Entry>> perConsumer) {
    record Keyed(Instant key, MessageTrace.Entry entry) {}
    List<Keyed> keyed = new ArrayList<>();
    for (List<MessageTrace.Entry> part : perConsumer) {
      Instant key = Instant.MAX;
      List<Keyed> reversed = new ArrayList<>(part.size());
      for (int i = part.size() - 1; i >= 0; i--) {
        MessageTrace.Entry e = part.get(i);
        key = e.at() != null ? e.at() : key;
        reversed.add(new Keyed(key, e));
      }
      for (int i = reversed.size() - 1; i >= 0; i--) {
        keyed.add(reversed.get(i));
      }
    }
    keyed.sort(Comparator.comparing(Keyed::key)); // stable: equal times keep each consumer's order
    List<MessageTrace.Entry> entries = new ArrayList<>(keyed.size() + 1);
    entries.add(appended);
    keyed.forEach(k -> entries.add(k.entry()));
    return new MessageTrace(m, entries);
  }

  // ---- redrive

  private Behavior<Command> onRedrive(Redrive redrive) {
    if (journal != null && !journalCondition.writable()) {
      Request.fail(redrive, journalCondition.refusal(name));
      return this;
    }
    if (redrive.from() > redrive.to()) {
      Request.fail(redrive, new SpoolException.InvalidConfiguration(
          "redrive range is empty: from " + redrive.from() + " is after to " + redrive.to()));
      return this;
    }
    Map<String, List<Message>> bySource = new LinkedHashMap<>();
    Map<String, List<Long>> sequencesBySource = new HashMap<>();
    long last = Math.min(log.lastSequence(), redrive.to());
    for (long s = Math.max(redrive.from(), log.firstSequence()); s <= last; s++) {
      Message m = log.get(s);
      String source = m == null ? null : DeadLetters.sourceQueue(m);
      if (source != null && redriving.add(s)) {
        bySource.computeIfAbsent(source, q -> new ArrayList<>()).add(DeadLetters.redriven(m, name));
        sequencesBySource.computeIfAbsent(source, q -> new ArrayList<>()).add(s);
      }
    }
    if (bySource.isEmpty()) {
      redrive.replyTo().tell(StatusReply.success(0L));
      return this;
    }
    List<RedriveJob.Source> sources = bySource.entrySet().stream()
        .map(e -> new RedriveJob.Source(e.getKey(), e.getValue(), sequencesBySource.get(e.getKey())))
        .toList();
    getContext().spawnAnonymous(RedriveJob.create(sources, settings.maxBatchMessages(), manager,
        settings.askTimeout(), getContext().getSelf(), redrive.replyTo()));
    return this;
  }

  private Behavior<Command> onRedriven(Redriven result) {
    // Removed only once the source queue confirmed the append: a message is never in neither queue.
    retention.removeRedriven(result.moved().stream().sorted().toList());
    redriving.removeAll(result.moved());
    redriving.removeAll(result.notMoved());
    if (!result.failures().isEmpty()) {
      getContext().getLog().warn("queue {}: redrive moved {} messages; some could not be moved: {}", name,
          result.moved().size(), result.failures());
    } else {
      getContext().getLog().info("queue {}: redrive moved {} messages back to their source queues", name,
          result.moved().size());
    }
    if (result.moved().isEmpty() && !result.failures().isEmpty()) {
      result.replyTo().tell(StatusReply.error(new SpoolException.InvalidConfiguration(
          "redrive moved nothing: " + String.join("; ", result.failures()))));
    } else {
      result.replyTo().tell(StatusReply.success((long) result.moved().size()));
    }
    return this;
  }

  // ---- durability

  private void publishDurably(Publish publish) {
    requireWritableJournal();
    appender.requireRoomToWait(publish.messages().size());
    Appender.Prepared prepared = appender.prepare(publish.producerId(), publish.messages());
    if (prepared.freshCount() == 0 && !prepared.waitsForPending()) {
      commit(prepared); // duplicates of stored messages only: nothing to write
      publish.replyTo().tell(StatusReply.success(prepared.sequences()));
      return;
    }
    groupCommit.publish(prepared, publish.replyTo());
    appender.awaitJournal(prepared);
    flush();
  }

  /** Starts the next journal write if none is under way: group commit. */
  private void flush() {
    GroupCommit.Write write = journal == null ? null : groupCommit.next();
    if (write != null) {
      journal.tell(new QueueJournal.Write(write.event()));
      timers.startSingleTimer(STALL_TIMER, new WriteStalled(write.id()), settings.persistence().writeStallAfter());
    }
  }

  /**
   * Refuses a new journaled change while the journal cannot write: refused at once, it is never
   * stored, so its caller may retry it without creating a duplicate.
   */
  private void requireWritableJournal() {
    if (!journalCondition.writable()) {
      throw journalCondition.refusal(name);
    }
  }

  /** Records the journal's state, telling the manager (which logs it and answers health probes) of a change. */
  private void journalState(JournalHealth.State state, String detail) {
    if (journalCondition.moveTo(state, detail, settings.clock().instant())) {
      manager.tell(new QueueManager.JournalStateChanged(name, getContext().getSelf(), journalCondition.problem(name)));
    }
  }

  private Behavior<Command> onWriteStalled(WriteStalled stalled) {
    if (groupCommit.isWriting(stalled.writeId()) && journalCondition.writable()) {
      // Its publishes keep waiting for the write's outcome; new ones are refused until a write completes.
      journalState(JournalHealth.State.WRITE_STALLED, "a journal write has been under way for more than "
          + settings.persistence().writeStallAfter().toMillis() + " ms");
    }
    return this;
  }

  private Behavior<Command> onJournalReply(JournalReply reply) {
    if (reply.reply() instanceof QueueJournal.Written written) {
      var done = groupCommit.written(written.writeId());
      if (done != null) {
        timers.cancel(STALL_TIMER);
        completed(done);
        journalState(JournalHealth.State.OK, null);
      }
    } else if (reply.reply() instanceof QueueJournal.Recovered recovered) {
      // The journal restarted after a failed write: whether that write was stored, it now knows.
      var unsure = groupCommit.recovered(recovered.lastWriteId());
      journalState(JournalHealth.State.OK, null); // it reads, so it may write: the next write tells
      if (unsure != null) {
        timers.cancel(STALL_TIMER);
        if (recovered.lastWriteId() >= unsure.id()) {
          getContext().getLog().info("queue {}: the journal recovered; write {} was stored", name, unsure.id());
          completed(unsure);
        } else {
          getContext().getLog().warn("queue {}: the journal recovered; write {} was not stored and is refused", name,
              unsure.id());
          failed(unsure);
        }
      }
    } else if (reply.reply() instanceof QueueJournal.Unavailable unavailable) {
      // The manager logs it, once for identical failures; the journal retries after its backoff.
      journalState(JournalHealth.State.UNAVAILABLE, JournalCondition.describe(unavailable.cause()));
    } else if (reply.reply() instanceof QueueJournal.WriteFailed failed) {
      journalState(JournalHealth.State.WRITE_FAILED, JournalCondition.describe(failed.cause()));
    }
    flush();
    answerFlushed();
    return this;
  }

  /** A write is stored: its publishes join the log and are answered, its consumers exist. */
  private void completed(
      GroupCommit.Batch<ActorRef<StatusReply<Created<ConsumerInfo>>>, ActorRef<ConsumerActor.Command>> w) {
    for (GroupCommit.PendingPublish p : w.publishes()) {
      appender.settle(p.prepared());
      commit(p.prepared());
      p.replyTo().tell(StatusReply.success(p.prepared().sequences()));
    }
    for (var c : w.created().values()) {
      ActorRef<ConsumerActor.Command> ref = spawnConsumer(c.settings(), c.start(), null);
      getContext().getLog().debug("queue {}: consumer {} created at sequence {}", name, c.settings().name(),
          c.start());
      c.replies().forEach(r -> answerWithInfo(ref, true, r));
    }
    for (List<ActorRef<StatusReply<Done>>> replies : w.deleted().values()) {
      replies.forEach(r -> r.tell(StatusReply.success(Done.getInstance())));
    }
    w.positions().forEach((consumer, v) -> {
      ConsumerEntry entry = consumers.get(consumer);
      if (entry != null && entry.ref.equals(v.from())) { // not a consumer created since under that name
        entry.ref.tell(new ConsumerActor.PositionSaved(v.version()));
      }
    });
    groupCommit.stored(w);
  }

  /**
   * A write was not stored. Its publishes fail (nothing of them was confirmed), and so do those
   * gathered since if it carried messages; its consumers are not created; the consumers whose
   * positions it carried are asked for them again.
   */
  private void failed(
      GroupCommit.Batch<ActorRef<StatusReply<Created<ConsumerInfo>>>, ActorRef<ConsumerActor.Command>> w) {
    // The journal read itself back and this write is not there: certainly not stored, so not a Timeout.
    SpoolException error = new SpoolException.JournalUnavailable("queue '" + name
        + "': the journal failed to store this publish; nothing of it was kept, publish it again");
    var refused = groupCommit.failed(w);
    for (GroupCommit.PendingPublish p : refused.publishes()) {
      appender.abandon(p.prepared());
      p.replyTo().tell(StatusReply.error(error));
    }
    if (refused.lostMessages()) {
      appender.forgetLastPrepared();
    }
    SpoolException notStored = new SpoolException.JournalUnavailable("queue '" + name
        + "': the journal failed to store this change; nothing of it was kept, try again");
    for (var c : refused.created()) {
      c.replies().forEach(r -> r.tell(StatusReply.error(notStored)));
    }
    refused.positions().forEach((consumer, v) -> {
      ConsumerEntry entry = consumers.get(consumer);
      if (entry != null && entry.ref.equals(v.from())) {
        entry.ref.tell(ConsumerActor.ResendPosition.INSTANCE);
      }
    });
  }

  private Behavior<Command> onFlush(Flush flush) {
    flushed.add(flush.replyTo());
    answerFlushed();
    return this;
  }

  private void answerFlushed() {
    if (!flushed.isEmpty() && (groupCommit == null || groupCommit.idle())) {
      flushed.forEach(r -> r.tell(StatusReply.success(Done.getInstance())));
      flushed.clear();
    }
  }

  private Behavior<Command> onPositionChanged(PositionChanged changed) {
    if (journal != null && consumers.containsKey(changed.consumer())) {
      groupCommit.position(changed.consumer(), changed.position(), changed.from(), changed.version());
      flush();
    }
    return this;
  }

  /**
   * A durable queue's recovered messages do not fit under the memory threshold beside what the
   * other queues retain: the queue is not started, rather than run the heap out.
   */
  static final class RecoveryRefused extends RuntimeException {
    RecoveryRefused(String message) {
      super(message, null, false, false);
    }
  }

  /**
   * Builds the queue from what its journal holds, before any command runs.
   *
   * @throws RecoveryRefused if its messages do not fit under the memory threshold; its journal is
   *     stopped then, so that what it read is freed
   */
  private void restore(QueueJournal.Recovered recovered, long tookMillis) {
    List<Message> messages = recovered.messages();
    long bytes = 0;
    for (Message m : messages) {
      bytes += m.sizeBytes();
    }
    // Confirmed to its producers, so never dropped; but not reserved past the threshold either.
    if (!memory.tryReserveRecovered(bytes)) {
      long used = memory.bytes();
      getContext().stop(journal);
      Events.publish(getContext().getSystem(), new SpoolEvent.QueueRecoveryRefused(settings.clock().instant(), name,
          bytes, used, memory.threshold()));
      throw new RecoveryRefused("queue " + name + " not recovered: its " + messages.size() + " messages (" + bytes
          + " bytes) do not fit under the memory threshold of " + memory.threshold() + " bytes beside the " + used
          + " bytes other queues hold; it refuses every command until Spool restarts with a larger heap or "
          + "spool.memory.threshold (its journal is kept)");
    }
    // Ids of messages freed before the restart too: a producer retrying after a crash is still deduplicated.
    recovered.dedup().forEach(d -> dedup.remember(d.id(), d.sequence(), d.appendedAt()));
    for (Message m : messages) {
      if (m.expiresAtMillis() != 0) {
        expiries.add(m.expiresAtMillis(), m.sequence());
      }
    }
    long lastSequence = recovered.highestSequenceReferenced();
    if (lastSequence > recovered.lastSequence()) {
      getContext().getLog().warn("queue {}: its journal is missing messages {}..{} (consumer positions or remembered"
          + " ids reach {}, its newest stored message is {}): they were lost, as after recovering a damaged journal"
          + " file; new messages start at {}", name, recovered.lastSequence() + 1, lastSequence, lastSequence,
          recovered.lastSequence(), lastSequence + 1);
    }
    log.restore(messages, lastSequence);
    if (!messages.isEmpty()) {
      appender.restored(messages.get(messages.size() - 1));
    }
    groupCommit.restore(recovered.lastWriteId(), messages.isEmpty() ? 0 : messages.get(0).sequence());
    for (QueueEvent.ConsumerRecord c : recovered.consumers()) {
      ConsumerPosition position = recovered.positions().get(c.settings().name());
      spawnConsumer(c.settings(), c.start(), position);
    }
    retention.collectGarbage();
    getContext().getLog().info("queue {} recovered in {} ms: {} messages ({} bytes), last sequence {}, {} consumers",
        name, tookMillis, messages.size(), bytes, lastSequence, recovered.consumers().size());
  }

  // ---- shutdown

  private Behavior<Command> onDrain(Drain drain) {
    List<ActorRef<ConsumerActor.Command>> refs = consumers.values().stream().map(e -> e.ref).toList();
    getContext().spawnAnonymous(Aggregator.<ConsumerActor.DrainResult, ConsumerActor.DrainResult>create(
        self -> refs.forEach(ref -> ref.tell(new ConsumerActor.Drain(drain.timeout(), self))),
        refs.size(),
        drain.replyTo(),
        ConsumerActor.DrainResult::sum,
        drain.timeout().plus(settings.askTimeout())));
    return this;
  }

  private Behavior<Command> onPostStop() {
    appender.releaseAll();
    return this;
  }
}
