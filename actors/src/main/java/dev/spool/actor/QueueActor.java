package dev.spool.actor;

import dev.spool.ConsumerInfo;
import dev.spool.ConsumerSettings;
import dev.spool.Created;
import dev.spool.HeaderCounts;
import dev.spool.JournalHealth;
import dev.spool.Message;
import dev.spool.MessagePage;
import dev.spool.MessageQuery;
import dev.spool.MessageTrace;
import dev.spool.Names;
import dev.spool.QueueHealth;
import dev.spool.QueueHistory;
import dev.spool.QueueInfo;
import dev.spool.QueueSettings;
import dev.spool.QueueStats;
import dev.spool.SpoolEvent;
import dev.spool.SpoolException;
import dev.spool.SpoolSettings;
import dev.spool.durable.ConsumerPosition;
import dev.spool.durable.JournalTimings;
import dev.spool.durable.QueueEvent;
import dev.spool.durable.QueueJournal;
import dev.spool.log.DedupIndex;
import dev.spool.log.ExpiryIndex;
import dev.spool.log.SegmentedLog;
import dev.spool.queue.Appender;
import dev.spool.queue.Partitions;
import dev.spool.queue.ConsumerRegistry;
import dev.spool.queue.GroupCommit;
import dev.spool.queue.HealthJudge;
import dev.spool.queue.HistoryRecorder;
import dev.spool.queue.QueueRates;
import dev.spool.queue.QueueReads;
import dev.spool.queue.Redrives;
import dev.spool.queue.Recovery;
import dev.spool.queue.Retention;
import dev.spool.queue.Tiering;
import dev.spool.storage.SegmentRow;
import dev.spool.storage.SegmentStorage;
import dev.spool.storage.TieredStorage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.pattern.StatusReply;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One queue: the only writer of its {@link SegmentedLog}, and the parent of one {@link ConsumerActor}
 * per consumer. It keeps the protocol, the timers, the children and the tells; plain classes driven
 * on its thread do the work: {@link Appender} (checks, dedup, sequences, bounds), {@link QueueWrites}
 * (changes take effect at once, or once {@link DurableWrites} journaled them), {@link Retention}
 * (watermarks, collection, expiry, eviction), {@link ConsumerRegistry}, {@link QueueReads},
 * {@link Redrives} (each run by a {@link RedriveJob}) and {@link QueueRates}. A durable queue starts
 * as a {@link RecoveringQueue}. A queue with no consumers keeps its messages for one created later
 * with {@code earliest}; each byte it retains is reserved with the {@link MemoryMonitor} first.
 * Reached only by name through the {@link QueueManager}, so that it could run as a sharding entity.
 *
 * @since 0.1.0
 */
public final class QueueActor extends AbstractBehavior<QueueActor.Command>
    implements QueueWrites.Outlet<ActorRef<StatusReply<Created<ConsumerInfo>>>, ActorRef<ConsumerActor.Command>>,
    ConsumerRegistry.Outlet<ActorRef<ConsumerActor.Command>>, Tiering.Outlet {

  /** Everything a queue understands. */
  public interface Command {}

  /** Append {@code messages}, all or none; the reply holds their sequences (a duplicate id's original one). */
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

  /**
   * From the janitor: every consumer, as its lag and staleness are judged. A partition's consumers
   * are their queue's, judged over every partition: partition 0 answers with the queue's, the
   * others with none.
   */
  public record SurveyConsumers(ActorRef<StatusReply<List<ConsumerInfo>>> replyTo)
      implements Command, Request<List<ConsumerInfo>> {}

  /** Route {@code command} to the named consumer (answering {@code ConsumerNotFound} if there is none). */
  public record ToConsumer(String consumer, ConsumerActor.Command command) implements Command {}

  /** From the janitor: expire, collect, sample rates, tick the consumers; {@code relieve} evicts under pressure. */
  public record Tick(boolean relieve) implements Command {}

  /** Free what no consumer needs now; the reply is how many messages were freed. */
  public record CollectGarbage(ActorRef<StatusReply<Long>> replyTo) implements Command, Request<Long> {}

  /** Collect, then under {@code drop-oldest} evict this queue's share of the memory excess; the reply counts both. */
  public record Relieve(ActorRef<StatusReply<Long>> replyTo) implements Command, Request<Long> {}

  /** Remove consumers idle for {@code staleAfter} with a lag over {@code lagThreshold}; the reply names them. */
  public record CleanupStale(Duration staleAfter, long lagThreshold,
      ActorRef<StatusReply<List<dev.spool.StaleConsumer>>> replyTo)
      implements Command, Request<List<dev.spool.StaleConsumer>> {}

  // Piped to itself (a Throwable), never remote.
  private record StaleListed(List<ConsumerInfo> consumers, Throwable failure, CleanupStale request)
      implements Command, NoSerializationVerificationNeeded {}

  /** Up to {@code max} retained messages from sequence {@code from} on, in order; moves no cursor. */
  public record Browse(long from, int max, ActorRef<StatusReply<List<Message>>> replyTo)
      implements Command, Request<List<Message>> {}

  /** The retained messages {@code query} matches, a bounded scan at a time; moves no cursor. */
  public record Search(MessageQuery query, ActorRef<StatusReply<MessagePage>> replyTo)
      implements Command, Request<MessagePage> {}

  /** How many of the newest retained messages carry each value of {@code header}; moves no cursor. */
  public record CountHeader(String header, ActorRef<StatusReply<HeaderCounts>> replyTo)
      implements Command, Request<HeaderCounts> {}

  /** The queue's and its consumers' history, the samples taken after {@code after} (epoch ms). */
  public record GetHistory(long after, ActorRef<StatusReply<QueueHistory>> replyTo)
      implements Command, Request<QueueHistory> {}

  /** How the queue and its consumers are doing, judged from their figures and history. */
  public record GetHealth(ActorRef<StatusReply<QueueHealth>> replyTo) implements Command, Request<QueueHealth> {}

  // Piped to itself (a Throwable), never remote: the consumers' figures for a history sample or a health judgement.
  private record ConsumersListed(List<ConsumerInfo> consumers, Throwable failure, GetHealth health)
      implements Command, NoSerializationVerificationNeeded {}

  /** One retained message with its delivery trace ({@code SequenceOutOfRange} once it is not retained). */
  public record GetMessageTrace(long sequence, ActorRef<StatusReply<MessageTrace>> replyTo)
      implements Command, Request<MessageTrace> {}

  /** On a dead-letter queue: move the messages in {@code [from, to]} back where they came from; the reply counts. */
  public record Redrive(long from, long to, ActorRef<StatusReply<Long>> replyTo) implements Command, Request<Long> {}

  /** Remove every retained message, as dropped; the reply counts them. Consumers and settings stay. */
  public record Purge(ActorRef<StatusReply<Long>> replyTo) implements Command, Request<Long> {}

  /**
   * Remove the retained messages at {@code sequences}, as dropped; the reply counts those that were
   * retained. Answered once the journal holds the removal.
   */
  public record DeleteMessages(List<Long> sequences, ActorRef<StatusReply<Long>> replyTo)
      implements Command, Request<Long> {}

  /**
   * Remove the oldest retained messages until at most {@code maxLength} are left ({@code Long.MAX_VALUE}:
   * no bound), then every one below {@code below} (0: no bound), as dropped; the reply counts them.
   * Answered once the journal holds the removal.
   */
  public record Trim(long maxLength, long below, ActorRef<StatusReply<Long>> replyTo)
      implements Command, Request<Long> {}

  /** From a {@link RedriveJob}: which dead-lettered messages its source queues took, and which not. */
  record Redriven(List<Long> moved, List<Long> notMoved, List<String> failures, boolean onlyFull,
      ActorRef<StatusReply<Long>> replyTo)
      implements Command {}

  /** Stop delivering for shutdown; the reply sums the consumers' drain results. */
  public record Drain(Duration timeout, ActorRef<StatusReply<ConsumerActor.DrainResult>> replyTo)
      implements Command, Request<ConsumerActor.DrainResult> {}

  /** Answer once nothing waits for the journal: before the engine stops, so that what gathered is written. */
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

  /** What the queue's journal answered (read by {@link RecoveringQueue} until it is recovered). */
  record JournalReply(QueueJournal.Reply reply)
      implements Command, NoSerializationVerificationNeeded {} // from the queue's own journal, its child

  /** The journal write {@code writeId} has been under way for {@code write-stall-after}. */
  private record WriteStalled(long writeId) implements Command {}

  /**
   * From the manager, once the registry stored it: this persistent queue's encryption key is now
   * {@code keyId}. What is written from now on is encrypted under it; what was written before keeps
   * its own key id, so the old key must stay configured while that is retained.
   */
  record UseKey(String keyId) implements Command {}

  /** Storing sealed segment {@code segment} ended: committed, or {@code failure}. */
  private record SegmentWritten(long segment, Throwable failure)
      implements Command, NoSerializationVerificationNeeded {} // piped to itself, never remote

  /**
   * A read of the log ({@code request}: browse, trace, redrive) waits for the cold segments it
   * reads: loaded one at a time and {@code held} until it runs, or {@code failure}.
   */
  private record ColdLoaded(Command request, List<Message[]> held, Throwable failure)
      implements Command, NoSerializationVerificationNeeded {} // piped to itself, never remote

  /** A failed segment store's backoff passed. */
  private enum RetryStore implements Command { INSTANCE }

  /** A durable queue's journal identity: its persistence id's {@code incarnation}, the high half of its ids. */
  public record Durable(String incarnation, long idSeed) {}

  /**
   * A reply that arrived through this actor's own ask, passed on to the original asker: told to
   * itself, never over the network (the asker receives the StatusReply itself).
   */
  private record Answer<T>(StatusReply<T> reply, ActorRef<StatusReply<T>> replyTo)
      implements Command, NoSerializationVerificationNeeded {}

  private static final Logger LOG = LoggerFactory.getLogger(QueueActor.class);

  /** How often partition 0 asks its queue whether an idle consumer is idle in every partition. */
  private static final Duration INACTIVE_CHECK = Duration.ofSeconds(5);

  /** How long a failed segment store waits before it is tried again. */
  private static final Duration STORE_RETRY = Duration.ofSeconds(1);

  /** @param durable the journal identity of a durable queue, or {@code null} for a transient one */
  static Behavior<Command> create(String name, QueueSettings queueSettings, SpoolSettings settings,
      MemoryMonitor memory, ActorRef<QueueManager.Command> manager, Durable durable) {
    if (durable == null) {
      return Behaviors.setup(context -> new QueueActor(context, name, queueSettings, settings, memory, manager,
          null, null, Message.newIdSeed(), null));
    }
    return RecoveringQueue.create(name, queueSettings, settings, memory, manager, durable.incarnation(),
        (context, journal, timers) -> new QueueActor(context, name, queueSettings, settings, memory, manager, journal,
            timers, durable.idSeed(), QueueJournal.persistenceId(name, durable.incarnation()).id()));
  }

  private final String name;
  /** This queue's number as a partition of a partitioned queue, or -1. */
  private final int partition;
  /** When partition 0 last asked its queue about each idle consumer; one entry per consumer it has. */
  private final java.util.Map<String, Long> inactiveChecked = new java.util.HashMap<>();
  /** Its settings; only the encryption key changes, by {@link UseKey}. */
  private QueueSettings queueSettings;
  private final SpoolSettings settings;
  private final SegmentedLog log;
  private final ActorRef<QueueManager.Command> manager;
  private final Retention retention;
  private final QueueReads reads;
  private final Appender appender;
  private final Redrives redrives;
  /** A durable queue's journal and timers (the stalled-write check); {@code null} for a transient queue. */
  private final ActorRef<QueueJournal.Command> journal;
  private final TimerScheduler<Command> timers;
  private final QueueWrites<ActorRef<StatusReply<Created<ConsumerInfo>>>, ActorRef<ConsumerActor.Command>> writes;
  private final QueueCounters counters = new QueueCounters();
  private final ConsumerRegistry<ActorRef<ConsumerActor.Command>> consumers;
  private final QueueRates rates;
  private final HistoryRecorder history;
  /** Messages whose publish was refused with {@code QueueFull}, since the queue started. */
  private long refused;
  /**
   * Set by {@link Drain}: publishes are refused ({@code ShuttingDown}), as the manager refuses
   * those it routes, since the facade sends most publishes here straight.
   */
  private boolean draining;
  private final JournalTimings journalTimings;
  /** Numbers the consumers' actor names: one deleted and created again gets a fresh name at once. */
  private long incarnations;
  /**
   * Callers whose answer comes through an ask of this actor's own, with the actor asked (a consumer,
   * or this queue): answered with the error at once if that actor or this queue stops first, since
   * the ask's answer would then never reach them.
   */
  private final Map<ActorRef<?>, ActorRef<?>> answersOwed = new HashMap<>();
  /** A persistent queue's segment store and what it does with it; {@code null} without tiered storage. */
  private final SegmentStorage storage;
  private final Tiering tiering;
  /** The id of a durable queue's rows: its journal's persistence id. */
  private final String storageId;
  /** Whether it warned that a stored segment too large to read back stays in the heap. */
  private boolean warnedKeptHot;
  /** Rows below this segment are deleted (or being deleted). */
  private long rowsDeletedBelow;
  /** The cluster member it runs on, {@code null} standalone (an address without host and port). */
  private final String member;

  private QueueActor(ActorContext<Command> context, String name, QueueSettings queueSettings, SpoolSettings settings,
      MemoryMonitor memory, ActorRef<QueueManager.Command> manager, ActorRef<QueueJournal.Command> journal,
      TimerScheduler<Command> timers, long idSeed, String storageId) {
    super(context);
    context.setLoggerName(QueueActor.class);
    this.journal = journal;
    this.timers = timers;
    this.manager = manager;
    this.partition = Partitions.numberOf(name);
    this.name = name;
    this.queueSettings = queueSettings;
    this.settings = settings;
    this.log = new SegmentedLog(settings.segmentSize());
    DedupIndex dedup = new DedupIndex(settings.dedupMaxEntries());
    ExpiryIndex expiries = new ExpiryIndex();
    this.retention = new Retention(log, expiries, memory, queueSettings, settings.clock(), this::onRemoved,
        this::onFreed);
    this.appender = new Appender(name, log, dedup, expiries, retention, memory, queueSettings, settings, idSeed,
        journal != null);
    this.reads = new QueueReads(name, log, settings.consumer().maxReadBatch());
    this.redrives = new Redrives(log, DeadLetters::sourceQueue, m -> DeadLetters.redriven(m, name));
    this.consumers = new ConsumerRegistry<>(retention, settings.consumer().traceEventsPerQueue(), this);
    this.rates = new QueueRates(settings.clock().millis());
    this.journalTimings = JournalTimings.get(context.getSystem());
    this.history = new HistoryRecorder(settings.janitor().history().interval().toMillis(),
        settings.janitor().history().retain().toMillis(), settings.clock().millis(),
        HistoryBudget.get(context.getSystem()).allowance(settings.janitor().history().maxBytes()));
    this.storageId = storageId;
    org.apache.pekko.actor.Address address = context.getSystem().address();
    this.member = address.hasGlobalScope() ? address.toString() : null;
    TieredStorage tiered = TieredStorage.get(context.getSystem());
    this.storage = journal == null ? null : tiered.storage().orElse(null);
    this.tiering = storage == null ? null : new Tiering(log, memory, tiered.settings().hotBytesPerQueue(),
        storage.readBudget(), this);
    if (storage != null) {
      log.attach(storage.reader(storageId));
      retention.coolWith(tiering);
    }
    this.writes = journal == null ? QueueWrites.immediate(appender, this) : new DurableWrites<>(name, appender,
        new Recovery(name, log, dedup, expiries, memory), consumers, settings.persistence().writeStallAfter(),
        memory.disk(), settings.clock(), this, keyId(), settings.persistence().writesInFlight());
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Publish.class, this::onPublish)
        .onMessage(GetInfo.class, get -> reply(get.replyTo(), info()))
        .onMessage(CreateConsumer.class, this::onCreateConsumer)
        .onMessage(DeleteConsumer.class, this::onDeleteConsumer)
        .onMessage(ListConsumers.class, this::onListConsumers)
        .onMessage(SurveyConsumers.class, this::onSurveyConsumers)
        .onMessage(ToConsumer.class, this::onToConsumer)
        .onMessage(AwaitMessages.class, w -> wake(consumers.await(w.consumer(), w.afterSequence(), log.lastSequence())))
        .onMessage(ConsumerProgress.class, p -> { retention.progress(p.consumer(), p.watermark()); return this; })
        .onMessage(ConsumerTerminated.class, this::onConsumerTerminated)
        .onMessage(Answer.class, this::onAnswer)
        .onMessage(Tick.class, this::onTick)
        .onMessage(CollectGarbage.class, collect -> reply(collect.replyTo(), retention.releaseAcknowledged()))
        .onMessage(Relieve.class, relieve -> reply(relieve.replyTo(), retention.relieve()))
        .onMessage(CleanupStale.class, this::onCleanupStale)
        .onMessage(StaleListed.class, this::onStaleListed)
        .onMessage(RemoveInactive.class, this::onRemoveInactive)
        .onMessage(Browse.class, this::onBrowse)
        .onMessage(Search.class, this::onSearch)
        .onMessage(Purge.class, this::onPurge)
        .onMessage(DeleteMessages.class, this::onDeleteMessages)
        .onMessage(Trim.class, this::onTrim)
        .onMessage(CountHeader.class, count -> countHeader(count, List.of()))
        .onMessage(GetHistory.class, get -> reply(get.replyTo(), history.history(name, get.after())))
        .onMessage(GetHealth.class, this::onGetHealth)
        .onMessage(ConsumersListed.class, this::onConsumersListed)
        .onMessage(GetMessageTrace.class, this::onGetMessageTrace)
        .onMessage(Redrive.class, this::onRedrive)
        .onMessage(Redriven.class, this::onRedriven)
        .onMessage(Drain.class, this::onDrain)
        .onMessage(PositionChanged.class, this::onPositionChanged)
        .onMessage(Flush.class, flush -> { writes.awaitIdle(flush.replyTo()); return this; })
        .onMessage(JournalReply.class, reply -> { writes.settle(reply.reply()); return this; })
        .onMessage(WriteStalled.class, stalled -> { writes.checkStalled(stalled.writeId()); return this; })
        .onMessage(SegmentWritten.class, this::onSegmentWritten)
        .onMessage(ColdLoaded.class, this::onColdLoaded)
        .onMessage(UseKey.class, this::onUseKey)
        .onMessage(RetryStore.class, retry -> { tiering.retry(); return this; })
        .onSignal(PostStop.class, signal -> onPostStop())
        .build();
  }

  private Behavior<Command> onPublish(Publish publish) {
    try {
      if (draining && !DeadLetters.DEAD_LETTER_PRODUCER.equals(publish.producerId())) {
        throw new SpoolException.ShuttingDown(); // what handlers give up on while draining still goes
      }
      writes.publish(publish.producerId(), publish.messages(), publish.replyTo());
    } catch (SpoolException e) {
      if (e instanceof SpoolException.QueueFull) {
        refused += publish.messages().size();
      }
      Request.fail(publish, e);
    }
    return this;
  }

  /** Wakes {@code consumer}, unless {@code null}: not to be woken now. */
  private Behavior<Command> wake(ActorRef<ConsumerActor.Command> consumer) {
    if (consumer != null) {
      consumer.tell(ConsumerActor.MessagesAvailable.INSTANCE);
    }
    return this;
  }

  private <T> Behavior<Command> reply(ActorRef<StatusReply<T>> replyTo, T value) {
    replyTo.tell(StatusReply.success(value));
    return this;
  }

  private QueueInfo info() {
    retention.releaseAcknowledged();
    return new QueueInfo(name, queueSettings, new QueueStats(log.firstSequence(), log.lastSequence(),
        log.retainedMessages(), log.retainedBytes(), log.segmentCount(), appender.published(), appender.duplicates(),
        counters.delivered.sum(), counters.acked.sum(), counters.redelivered.sum(), retention.expired(),
        counters.dropped.sum() + retention.evicted(), counters.deadLettered.sum(), consumers.size(),
        rates.publishRate(), rates.deliverRate(), log.heldBytes(), log.coldMessages(), refused, oldestTimestamp(),
        counters.deadLetteredByReason()), member);
  }

  private long oldestTimestamp() {
    Message oldest = log.oldest();
    return oldest == null ? 0 : oldest.timestamp();
  }

  private Behavior<Command> onCreateConsumer(CreateConsumer create) {
    try {
      Names.requireValid("consumer", create.settings().name());
      ConsumerSettings resolved = create.settings().withDefaults(settings.consumer());
      // Idempotent for equal settings, whether the consumer exists or its creation waits for the journal.
      var existing = consumers.existing(name, resolved);
      if (existing != null) {
        answerWithInfo(existing.ref(), false, create.replyTo());
      } else if (!writes.joinPending(resolved, create.replyTo())) {
        writes.create(resolved, ConsumerActor.resolve(resolved.startAt(), log, partition >= 0), create.replyTo());
      }
    } catch (SpoolException e) {
      Request.fail(create, e);
    }
    return this;
  }

  /** Starts a consumer created at {@code start}; on a durable queue from the {@code position} it journaled. */
  private ActorRef<ConsumerActor.Command> spawnConsumer(ConsumerSettings resolved, long start,
      ConsumerPosition position) {
    long next = position != null ? position.next() : start;
    ConsumerActor.State state = new ConsumerActor.State(name, resolved, queueSettings.deadLetter(), queueSettings.maxPriority(), next,
        retention.removalEpoch(), settings.clock().millis(), consumers.newcomerTraceShare());
    long watermark = journal != null ? state.journaled(start, position, log) : next;
    // Restart keeps the State (cursor, committed position, in flight, handlers), which this queue
    // holds, not the actor; a failure in one consumer never touches the log or its siblings.
    ActorRef<ConsumerActor.Command> ref = getContext().spawn(
        Behaviors.supervise(ConsumerActor.create(resolved.name(), state, log, counters, getContext().getSelf(),
                manager, settings))
            .onFailure(SupervisorStrategy.restart()),
        "consumer-" + resolved.name() + "-" + (++incarnations));
    getContext().watchWith(ref, new ConsumerTerminated(resolved.name(), ref));
    if (consumers.add(resolved.name(), ref, resolved, watermark, state::needFrom)) {
      shareTraceCap();
    }
    return ref;
  }

  private void answerWithInfo(ActorRef<ConsumerActor.Command> consumer, boolean created,
      ActorRef<StatusReply<Created<ConsumerInfo>>> replyTo) {
    answersOwed.put(replyTo, consumer);
    getContext().askWithStatus(ConsumerInfo.class, consumer, settings.askTimeout(), ConsumerActor.GetInfo::new,
        (info, failure) -> new Answer<>(
            failure == null ? StatusReply.success(new Created<>(info, created)) : StatusReply.error(failure),
            replyTo));
  }

  private Behavior<Command> onDeleteConsumer(DeleteConsumer delete) {
    try {
      writes.requireWritable();
      consumers.delete(name, delete.consumer());
    } catch (SpoolException e) {
      Request.fail(delete, e);
      return this;
    }
    getContext().getLog().debug("queue {}: consumer {} deleted", name, delete.consumer());
    writes.awaitDeletion(delete.consumer(), delete.replyTo());
    return this;
  }

  @SuppressWarnings("unchecked")
  private Behavior<Command> onAnswer(Answer<?> answer) {
    // Absent: its caller was already told that the actor asked or this queue stopped.
    if (answersOwed.remove(answer.replyTo()) != null) {
      ((Answer<Object>) answer).replyTo().tell(((Answer<Object>) answer).reply());
    }
    return this;
  }

  /** Refuses with {@code error} the answers owed by {@code asked}, or every one when it is {@code null}. */
  @SuppressWarnings("unchecked")
  private void refuseAnswersOwed(ActorRef<?> asked, SpoolException error) {
    var owed = answersOwed.entrySet().iterator();
    while (owed.hasNext()) {
      var entry = owed.next();
      if (asked == null || entry.getValue().equals(asked)) {
        ((ActorRef<StatusReply<Object>>) entry.getKey()).tell(StatusReply.error(error));
        owed.remove();
      }
    }
  }

  private Behavior<Command> onConsumerTerminated(ConsumerTerminated terminated) {
    refuseAnswersOwed(terminated.ref(), new SpoolException.ConsumerNotFound(name, terminated.consumer()));
    if (consumers.remove(terminated.consumer(), terminated.ref())) {
      getContext().getLog().warn("queue {}: consumer {} stopped unexpectedly", name, terminated.consumer());
      writes.flush();
    }
    return this;
  }

  private Behavior<Command> onSurveyConsumers(SurveyConsumers survey) {
    if (partition > 0) {
      survey.replyTo().tell(StatusReply.success(List.of()));
    } else if (partition == 0) {
      manager.tell(new QueueManager.ToQueue(Partitions.parentOf(name), new ListConsumers(survey.replyTo())));
    } else {
      onListConsumers(new ListConsumers(survey.replyTo()));
    }
    return this;
  }

  private Behavior<Command> onListConsumers(ListConsumers list) {
    if (consumers.size() == 0) {
      list.replyTo().tell(StatusReply.success(List.of()));
      return this;
    }
    askConsumers(ConsumerActor.GetInfo::new, list.replyTo(),
        infos -> infos.stream().sorted(Comparator.comparing(ConsumerInfo::name)).toList(), settings.askTimeout());
    return this;
  }

  /** Asks every consumer through an {@link Aggregator} child, which answers or fails {@code replyTo} in {@code timeout}. */
  private <R, A> void askConsumers(Function<ActorRef<StatusReply<R>>, ConsumerActor.Command> question,
      ActorRef<StatusReply<A>> replyTo, Function<List<R>, A> combine, Duration timeout) {
    Aggregator.askEvery(getContext(), consumers.refs(), question, replyTo, combine, timeout);
  }

  private void tellConsumers(ConsumerActor.Command command) {
    for (var entry : consumers.entries()) {
      entry.ref().tell(command);
    }
  }

  /** Tells every consumer its share of the trace cap if consumers came or went since it was last told. */
  private void shareTraceCap() {
    int share = consumers.takeShareChange();
    if (share >= 0) {
      tellConsumers(new ConsumerActor.TraceShare(share));
    }
  }

  private Behavior<Command> onToConsumer(ToConsumer envelope) {
    var entry = consumers.get(envelope.consumer());
    if (entry != null) {
      entry.ref().tell(envelope.command());
    } else if (envelope.command() instanceof Request<?> request) {
      Request.fail(request, new SpoolException.ConsumerNotFound(name, envelope.consumer()));
    }
    return this;
  }

  /**
   * A removal step finished: journaled, then told to every consumer, which works out which of the
   * removed messages it had not acknowledged.
   */
  private void onRemoved(Retention.Removal removal) {
    writes.removed(removal);
    tellConsumers(new ConsumerActor.MessagesRemoved(removal.reason(), removal.epoch(), removal.messages()));
    getContext().getLog().debug("queue {}: {} {} messages (sequences {} to {})", name,
        removal.reason().name().toLowerCase(Locale.ROOT), removal.messages().size(), removal.firstSequence(),
        removal.lastSequence());
  }

  /** Collection freed the log below {@code firstSequence}: so that the journal lets go of it too. */
  private void onFreed(long firstSequence) {
    writes.freedBelow(firstSequence);
  }

  private Behavior<Command> onTick(Tick tick) {
    long now = settings.clock().millis();
    retention.tick(now, tick.relieve());
    rates.sample(now, appender.published(), counters.delivered.sum());
    if (history.begin(now)) {
      listConsumers(null);
    }
    tellConsumers(ConsumerActor.Tick.INSTANCE);
    shareTraceCap();
    return this;
  }

  /** Lists the consumers to itself: for a history sample, or for {@code health} when not null. */
  private void listConsumers(GetHealth health) {
    getContext().askWithStatus(Request.<ConsumerInfo>listClass(), getContext().getSelf(), settings.askTimeout(),
        ListConsumers::new, (infos, failure) -> new ConsumersListed(infos, failure, health));
  }

  private Behavior<Command> onGetHealth(GetHealth get) {
    listConsumers(get);
    return this;
  }

  private Behavior<Command> onConsumersListed(ConsumersListed listed) {
    long now = settings.clock().millis();
    if (listed.health() == null) {
      if (listed.failure() != null) {
        history.abandon(); // a consumer did not answer in time: the next tick samples again
      } else {
        history.record(now, info().stats(), listed.consumers());
      }
      return this;
    }
    if (listed.failure() != null) {
      listed.health().replyTo().tell(StatusReply.error(listed.failure()));
    } else {
      // Only the samples a judgement reads: the whole ring would be copied for nothing.
      long window = HealthJudge.window(settings.janitor().health(), settings.janitor().history().interval().toMillis());
      listed.health().replyTo().tell(StatusReply.success(HealthJudge.judge(info(), listed.consumers(),
          history.history(name, now - window), now, settings.janitor().health())));
    }
    return this;
  }

  private Behavior<Command> onCleanupStale(CleanupStale cleanup) {
    if (partition >= 0) {
      // A partition's consumer is one of its queue's: the queue judges it over every partition, asked
      // once through partition 0 (wherever the partitions run, each runs once).
      if (partition == 0) {
        manager.tell(new QueueManager.ToQueue(Partitions.parentOf(name), cleanup));
      } else {
        cleanup.replyTo().tell(StatusReply.success(List.of()));
      }
      return this;
    }
    getContext().askWithStatus(Request.<ConsumerInfo>listClass(), getContext().getSelf(), settings.askTimeout(),
        ListConsumers::new, (infos, failure) -> new StaleListed(infos, failure, cleanup));
    return this;
  }

  private Behavior<Command> onStaleListed(StaleListed listed) {
    CleanupStale request = listed.request();
    if (listed.failure() != null) {
      request.replyTo().tell(StatusReply.error(listed.failure()));
      return this;
    }
    List<dev.spool.StaleConsumer> removed = consumers.removeStale(listed.consumers(), settings.clock().millis(), request.staleAfter(),
        request.lagThreshold());
    writes.flush();
    request.replyTo().tell(StatusReply.success(removed));
    return this;
  }

  private Behavior<Command> onRemoveInactive(RemoveInactive inactive) {
    if (partition >= 0) {
      // Idle in one partition is not idle in the queue: partition 0 asks the queue, at most every few seconds.
      long now = settings.clock().millis();
      if (partition == 0 && now - inactiveChecked.getOrDefault(inactive.consumer(), 0L) >= INACTIVE_CHECK.toMillis()) {
        inactiveChecked.put(inactive.consumer(), now);
        manager.tell(new QueueManager.ToQueue(Partitions.parentOf(name),
            new PartitionedQueue.CheckInactive(inactive.consumer())));
      }
      return this;
    }
    if (consumers.removeInactive(inactive.consumer(), inactive.ref(), inactive.lag())) {
      writes.flush();
    }
    return this;
  }

  @Override
  public void stopped(String consumer, ActorRef<ConsumerActor.Command> ref) {
    getContext().unwatch(ref);
    getContext().stop(ref);
    writes.deleted(consumer);
    inactiveChecked.remove(consumer);
  }

  @Override
  public void removed(String consumer, String reason, long lag) {
    getContext().getLog().info("queue {}: consumer {} removed ({}, lag {})", name, consumer, reason, lag);
    Events.publish(getContext().getSystem(),
        new SpoolEvent.ConsumerRemoved(settings.clock().instant(), name, consumer, reason, lag));
  }

  /**
   * Whether {@code request} must wait for a cold segment among the first {@code max} retained
   * messages from {@code from} to {@code to}: then it is loaded, and the request handled again.
   */
  private boolean awaitsCold(Command request, long from, long to, long max, List<Message[]> held) {
    long cold = reads.firstCold(from, to, max);
    if (cold < 0) {
      return false;
    }
    getContext().pipeToSelf(log.load(cold, 0), (loaded, failure) -> {
      List<Message[]> now = new ArrayList<>(held);
      if (loaded != null) {
        now.add(loaded);
      }
      return new ColdLoaded(request, now, failure);
    });
    return true;
  }

  private Behavior<Command> onColdLoaded(ColdLoaded loaded) {
    if (loaded.failure() != null) {
      if (loaded.request() instanceof Request<?> request) {
        Request.fail(request, new SpoolException.JournalUnavailable("queue '" + name + "': a stored segment could not "
            + "be read back: " + loaded.failure().getMessage()));
      }
      return this;
    }
    if (loaded.request() instanceof Browse browse) {
      return browse(browse, loaded.held());
    }
    if (loaded.request() instanceof Search search) {
      return search(search, loaded.held());
    }
    if (loaded.request() instanceof CountHeader count) {
      return countHeader(count, loaded.held());
    }
    if (loaded.request() instanceof GetMessageTrace get) {
      return trace(get, loaded.held());
    }
    return loaded.request() instanceof Redrive redrive ? redrive(redrive, loaded.held()) : this;
  }

  private Behavior<Command> onBrowse(Browse browse) {
    return browse(browse, List.of());
  }

  private Behavior<Command> browse(Browse browse, List<Message[]> held) {
    if (browse.max() >= 1 && awaitsCold(browse, browse.from(), Long.MAX_VALUE, browse.max(), held)) {
      return this;
    }
    try {
      browse.replyTo().tell(StatusReply.success(reads.browse(browse.from(), browse.max())));
    } catch (SpoolException e) {
      Request.fail(browse, e);
    }
    return this;
  }

  private Behavior<Command> onSearch(Search search) {
    return search(search, List.of());
  }

  private Behavior<Command> search(Search search, List<Message[]> held) {
    long[] range = reads.scanRange(search.query());
    if (range[0] <= range[1] && awaitsCold(search, range[0], range[1], MessageQuery.MAX_SCAN, held)) {
      return this;
    }
    search.replyTo().tell(StatusReply.success(reads.search(search.query())));
    return this;
  }

  private Behavior<Command> countHeader(CountHeader count, List<Message[]> held) {
    long[] range = reads.countRange();
    if (range[0] <= range[1] && awaitsCold(count, range[0], range[1], MessageQuery.MAX_SCAN, held)) {
      return this;
    }
    count.replyTo().tell(StatusReply.success(reads.countHeader(count.header())));
    return this;
  }

  private Behavior<Command> onGetMessageTrace(GetMessageTrace get) {
    return trace(get, List.of());
  }

  private Behavior<Command> trace(GetMessageTrace get, List<Message[]> held) {
    if (awaitsCold(get, get.sequence(), get.sequence(), 1, held)) {
      return this;
    }
    Message m;
    try {
      m = reads.traced(get.sequence());
    } catch (SpoolException e) {
      Request.fail(get, e);
      return this;
    }
    askConsumers((ActorRef<StatusReply<List<MessageTrace.Entry>>> self) -> new ConsumerActor.GetTrace(get.sequence(),
        self), get.replyTo(), perConsumer -> QueueReads.trace(m, perConsumer), settings.askTimeout());
    return this;
  }

  private Behavior<Command> onPurge(Purge purge) {
    return removeOnRequest(purge, this::purge);
  }

  private long purge() {
    long purged = retention.purge();
    getContext().getLog().info("queue {}: purged {} messages", name, purged);
    return purged;
  }

  private Behavior<Command> onDeleteMessages(DeleteMessages delete) {
    return removeOnRequest(delete, () -> retention.delete(delete.sequences()));
  }

  private Behavior<Command> onTrim(Trim trim) {
    return removeOnRequest(trim, () -> retention.trim(trim.maxLength(), trim.below()));
  }

  /**
   * Runs {@code removal} unless the queue takes no writes now, and answers how many it removed once
   * the journal holds the removal: a removal the reply confirmed stays done after a crash.
   */
  private Behavior<Command> removeOnRequest(Request<Long> request, java.util.function.LongSupplier removal) {
    try {
      writes.requireWritable();
    } catch (SpoolException e) {
      Request.fail(request, e);
      return this;
    }
    long removed = removal.getAsLong();
    writes.flush();
    answersOwed.put(request.replyTo(), getContext().getSelf());
    getContext().askWithStatus(Done.class, getContext().getSelf(), settings.askTimeout(), Flush::new,
        (done, failure) -> new Answer<>(failure == null ? StatusReply.success(removed) : StatusReply.<Long>error(failure),
            request.replyTo()));
    return this;
  }

  private Behavior<Command> onRedrive(Redrive redrive) {
    return redrive(redrive, List.of());
  }

  private Behavior<Command> redrive(Redrive redrive, List<Message[]> held) {
    // Cold segments are loaded for one batch at most: a larger redrive moves what is loaded, the
    // rest stays for the next call, so a dead-letter queue larger than the heap is never loaded whole.
    if (redrive.from() <= redrive.to()
        && awaitsCold(redrive, redrive.from(), redrive.to(), settings.maxBatchMessages(), held)) {
      return this;
    }
    List<Redrives.Source> sources;
    try {
      writes.requireWritable();
      sources = redrives.start(redrive.from(), redrive.to());
    } catch (SpoolException e) {
      Request.fail(redrive, e);
      return this;
    }
    if (sources.isEmpty()) {
      redrive.replyTo().tell(StatusReply.success(0L));
    } else {
      getContext().spawnAnonymous(RedriveJob.create(sources, settings.maxBatchMessages(), manager,
          settings.askTimeout(), getContext().getSelf(), redrive.replyTo()));
    }
    return this;
  }

  private Behavior<Command> onRedriven(Redriven result) {
    // Removed only once the source queue confirmed the append: a message is never in neither queue.
    retention.removeRedriven(redrives.finished(result.moved(), result.notMoved()));
    result.replyTo().tell(Redrives.outcome(name, result.moved().size(), result.failures(), result.onlyFull()));
    return this;
  }

  /**
   * Builds the queue from what its journal holds, before any command runs, and starts its consumers
   * again from their journaled positions.
   *
   * @throws Recovery.Refused if its messages do not fit the memory threshold (its journal is stopped, freeing them)
   */
  void restore(QueueJournal.Recovered recovered, List<SegmentRow> rows, long tookNanos) {
    Recovery.Restored restored;
    try {
      restored = writes.restore(recovered, rows);
    } catch (Recovery.Refused refused) {
      getContext().stop(journal);
      Events.publish(getContext().getSystem(), new SpoolEvent.QueueRecoveryRefused(settings.clock().instant(), name,
          refused.recoveredBytes(), refused.usedBytes(), refused.thresholdBytes()));
      throw refused;
    }
    for (QueueEvent.ConsumerRecord c : restored.consumers()) {
      spawnConsumer(c.settings(), c.start(), restored.positions().get(c.settings().name()));
    }
    retention.collectGarbage();
    if (tiering != null) {
      tiering.restored(recovered.sealedThrough());
    }
    journalTimings.recovered(name, tookNanos);
    getContext().getLog().info("queue {} recovered in {} ms: {} messages ({} bytes, {} of them in stored segments), "
        + "last sequence {}, {} consumers", name, tookNanos / 1_000_000, restored.messages(), restored.bytes(),
        restored.coldMessages(), restored.lastSequence(), restored.consumers().size());
  }

  @Override
  public void store(long segment, List<Message> messages) {
    // Piped as Done, never as the write's empty result: an outcome reaching the queue after it stopped
    // becomes a dead letter, and Pekko's dead-letter logger fails on a piped null.
    getContext().pipeToSelf(storage.write(storageId, segment, messages, queueSettings.compression(), keyId())
            .thenApply(written -> Done.getInstance()),
        (done, failure) -> new SegmentWritten(segment, failure));
  }

  private Behavior<Command> onUseKey(UseKey use) {
    queueSettings = queueSettings.withEncryption(use.keyId());
    writes.useKey(use.keyId());
    if (journal != null) {
      journal.tell(new QueueJournal.UseKey(use.keyId()));
    }
    getContext().getLog().info("queue {}: encryption key is now {}", name, use.keyId());
    return this;
  }

  /** The queue's encryption key id, or {@code null}. */
  private String keyId() {
    return queueSettings.encryptionKeyId();
  }

  @Override
  public void sealed(long sealedThrough) {
    writes.sealed(sealedThrough);
  }

  @Override
  public void keptHot(long segment, long bytes) {
    if (!warnedKeptHot) {
      warnedKeptHot = true;
      getContext().getLog().warn("queue {}: segment {} holds {} MiB, more than segments may take while they are read"
          + " back ({} MiB: an eighth of the heap or spool.storage.cache-size); such segments stay in the heap, so its"
          + " backlog is bounded by the heap. A smaller spool.segment-size for queues of large messages (a new queue"
          + " takes it) lets their backlog leave the heap", name, segment, bytes >> 20, storage.readBudget() >> 20);
    }
  }

  private Behavior<Command> onSegmentWritten(SegmentWritten written) {
    if (written.failure() == null) {
      tiering.stored(written.segment());
    } else {
      tiering.storeFailed(written.segment());
      getContext().getLog().warn("queue {}: segment {} could not be stored; it stays in memory and is tried again in {}:"
          + " {}{}", name, written.segment(), STORE_RETRY, written.failure().toString(),
          outOfMemory(written.failure()) ? " (storing encodes a segment whole, about twice its bytes at once: with"
              + " large messages, a smaller spool.segment-size for new queues keeps segments within a few MiB)" : "");
      timers.startSingleTimer(RetryStore.INSTANCE, STORE_RETRY);
    }
    return this;
  }

  private static boolean outOfMemory(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof OutOfMemoryError) {
        return true;
      }
    }
    return false;
  }

  @Override
  public void freedStored(long freedBelow) {
    if (storage == null) {
      return;
    }
    long below = (freedBelow - 1) >>> Integer.numberOfTrailingZeros(log.segmentSize());
    if (below > rowsDeletedBelow) {
      rowsDeletedBelow = below;
      storage.deleteBelow(storageId, below).whenComplete((done, failure) -> {
        if (failure != null) {
          // Rows of freed segments are garbage: the next freed point deletes them too.
          LOG.debug("queue {}: segments below {} not deleted yet: {}", name, below, failure.toString());
        }
      });
    }
  }

  @Override
  public void write(GroupCommit.Write write) {
    journal.tell(new QueueJournal.Write(write.event(), write.epoch()));
    WriteStalled check = new WriteStalled(write.id());
    timers.startSingleTimer(check, check, settings.persistence().writeStallAfter()); // the check is its own key
  }

  @Override
  public void writeEnded(long writeId, long startedNanos) {
    timers.cancel(new WriteStalled(writeId));
    journalTimings.written(name, System.nanoTime() - startedNanos);
  }

  @Override
  public void appended(Appender.Prepared prepared) {
    if (tiering != null) {
      tiering.afterAppend();
    }
    if (settings.events().messageAdded()) {
      for (int i = prepared.dropped(); i < prepared.freshCount(); i++) {
        Events.publish(getContext().getSystem(), Appender.messageAdded(name, prepared.fresh()[i]));
      }
    }
    List<ActorRef<ConsumerActor.Command>> waiting = consumers.waiting();
    if (prepared.freshCount() > 0 && !waiting.isEmpty()) {
      for (ActorRef<ConsumerActor.Command> consumer : waiting) {
        consumer.tell(ConsumerActor.MessagesAvailable.INSTANCE);
      }
      consumers.clearWaiting();
    }
  }

  @Override
  public <T> void reply(ActorRef<StatusReply<T>> replyTo, StatusReply<T> reply) {
    replyTo.tell(reply);
  }

  @Override
  public void created(ConsumerSettings resolved, long start,
      List<ActorRef<StatusReply<Created<ConsumerInfo>>>> replies) {
    ActorRef<ConsumerActor.Command> ref = spawnConsumer(resolved, start, null);
    getContext().getLog().debug("queue {}: consumer {} created at sequence {}", name, resolved.name(), start);
    replies.forEach(r -> answerWithInfo(ref, true, r));
  }

  @Override
  public void notCreated(List<ActorRef<StatusReply<Created<ConsumerInfo>>>> replies, SpoolException error) {
    replies.forEach(r -> r.tell(StatusReply.error(error)));
  }

  @Override
  public void positionStored(ActorRef<ConsumerActor.Command> consumer, boolean stored, long version) {
    consumer.tell(stored ? new ConsumerActor.PositionSaved(version) : ConsumerActor.ResendPosition.INSTANCE);
  }

  @Override
  public void journalChanged(JournalHealth.Problem problem) {
    manager.tell(new QueueManager.JournalStateChanged(name, getContext().getSelf(), problem));
  }

  private Behavior<Command> onPositionChanged(PositionChanged changed) {
    writes.position(changed.consumer(), changed.position(), changed.from(), changed.version());
    return this;
  }

  private Behavior<Command> onDrain(Drain drain) {
    draining = true;
    askConsumers(self -> new ConsumerActor.Drain(drain.timeout(), self), drain.replyTo(),
        ConsumerActor.DrainResult::sum, drain.timeout().plus(settings.askTimeout()));
    return this;
  }

  private Behavior<Command> onPostStop() {
    // Stopped while writes were owed: deleted (its callers learn it is gone, at once rather than at
    // their ask timeout), or at the end of a shutdown's drain.
    SpoolException gone = draining ? new SpoolException.ShuttingDown() : new SpoolException.QueueNotFound(name);
    writes.stopped(gone);
    refuseAnswersOwed(null, gone);
    appender.releaseAll();
    history.close();
    return this;
  }
}
