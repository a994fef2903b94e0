package dev.spool.actor;

import dev.spool.ConsumerInfo;
import dev.spool.ConsumerSettings;
import dev.spool.JournalHealth;
import dev.spool.Message;
import dev.spool.MessageTrace;
import dev.spool.Names;
import dev.spool.Overflow;
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
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
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

  private record Redriven(List<Long> deadLettered, Throwable failure, RedriveRun run) implements Command {}

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

  /** A position to journal: which consumer actor handed it in, and its count of changes then. */
  private record GatheredPosition(ConsumerPosition position, ActorRef<ConsumerActor.Command> from, long version) {}

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
    /** The consumer's state, of which this queue reads only {@link ConsumerActor.State#needFrom}. */
    final ConsumerActor.State state;
    /** Where this consumer counts in {@link #watermarks}. */
    long watermark;

    ConsumerEntry(ActorRef<ConsumerActor.Command> ref, ConsumerSettings settings, ConsumerActor.State state,
        long watermark) {
      this.ref = ref;
      this.settings = settings;
      this.state = state;
      this.watermark = watermark;
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
  /** Sequences a redrive under way is moving, so that a second one does not move them again. */
  private final Set<Long> redriving = new HashSet<>();
  /** High half of the ids of messages the producer gave none (see {@link Message#newIdSeed()}). */
  private final long idSeed;
  /** A durable queue's journal, or {@code null} for a transient queue. */
  private final ActorRef<QueueJournal.Command> journal;
  /** A durable queue's timers (the stalled-write check), or {@code null} for a transient queue. */
  private final TimerScheduler<Command> timers;
  /** Whether a durable queue's journal writes; new journaled changes are refused while it does not. */
  private final JournalCondition journalCondition;
  /** The journal write under way (at most one), and what gathers for the next. */
  private JournalWrite writing;
  private JournalWrite gathering;
  private long writeIds;
  private final List<ActorRef<StatusReply<Done>>> flushed = new ArrayList<>(0);
  /** Messages (and their bytes) with sequences and reserved memory, waiting for the journal. */
  private int pendingMessages;
  private long pendingBytes;
  /** Producer-chosen ids of pending messages, so that a retry while one is pending is deduplicated. */
  private final Map<UUID, Long> pendingIds = new HashMap<>();
  /** The freed point the journal knows, or that the gathering write carries. */
  private long journaledFreedBelow;
  private final boolean dropOldest;
  private final QueueCounters counters = new QueueCounters();
  private final Map<String, ConsumerEntry> consumers = new HashMap<>();
  /** Consumers came or went since their shares of the trace cap were last told (see shareTraceCap). */
  private boolean traceSharesChanged;
  /** The share of the trace cap consumers were last told. */
  private int toldTraceShare;
  /** Consumers' watermarks as a multiset: the lowest is what garbage collection may not pass. */
  private final TreeMap<Long, Integer> watermarks = new TreeMap<>();
  private final List<ActorRef<ConsumerActor.Command>> waiting = new ArrayList<>();
  private long incarnations;
  private long lastTimestamp;
  private long published;
  private long duplicates;
  /** The last message given a sequence, whose envelope the next one reuses when equal. */
  private Message lastPrepared;
  /** The last removal step; consumers created since know of every removal up to it. */
  private long removalEpoch;
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
    this.idSeed = idSeed;
    this.manager = manager;
    this.name = name;
    this.queueSettings = queueSettings;
    this.settings = settings;
    this.memory = memory;
    this.dropOldest = queueSettings.overflow() == Overflow.DROP_OLDEST;
    this.log = new SegmentedLog(settings.segmentSize());
    this.dedup = new DedupIndex(settings.dedupMaxEntries());
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
        Prepared prepared = prepare(publish.producerId(), publish.messages());
        commit(prepared);
        publish.replyTo().tell(StatusReply.success(prepared.sequences()));
      }
    } catch (SpoolException e) {
      Request.fail(publish, e);
    }
    return this;
  }

  /**
   * A publish checked, deduplicated, given its sequences and its memory, not yet in the log.
   *
   * @param fresh the messages new to the queue ({@code freshCount} of them), each with its sequence
   * @param dropped how many of them, the oldest, {@code drop-oldest} drops at once: a batch larger
   *     than the queue can hold keeps its newest messages
   * @param keptBytes the bytes of the others, reserved with the memory monitor
   * @param waitsForPending a duplicate of a message still waiting for the journal: answered with it
   */
  private record Prepared(List<Long> sequences, Message[] fresh, int freshCount, int dropped, long keptBytes,
      int duplicates, boolean waitsForPending) {

    /** How many of the fresh messages join the log. */
    int kept() {
      return freshCount - dropped;
    }
  }

  private long nextSequence() {
    return log.nextSequence() + pendingMessages;
  }

  private Prepared prepare(String producerId, List<Message> messages) {
    int count = messages.size();
    if (count > settings.maxBatchMessages()) {
      throw new SpoolException.InvalidConfiguration("a publish may carry at most " + settings.maxBatchMessages()
          + " messages, not " + count);
    }
    long now = Math.max(settings.clock().millis(), lastTimestamp); // append times never go back
    long window = queueSettings.dedupWindow().toMillis();
    Long[] sequences = new Long[count];
    Message[] appended = new Message[count];
    Map<UUID, Long> idsInBatch = null;
    int fresh = 0;
    long freshBytes = 0;
    boolean waitsForPending = false;
    for (int i = 0; i < count; i++) {
      Message m = messages.get(i);
      if (m == null) {
        throw new SpoolException.InvalidConfiguration("message " + (i + 1) + " of " + count + " is missing");
      }
      long bodyBytes = m.sizeBytes() - Message.FIXED_OVERHEAD_BYTES;
      if (bodyBytes > settings.maxMessageBytes()) {
        throw new SpoolException.MessageTooLarge("message " + (i + 1) + " of " + count + " has " + bodyBytes
            + " bytes; the limit is " + settings.maxMessageBytes());
      }
      if (m.hasProducerId()) {
        long original = dedup.find(m.id(), window, now);
        Long pending = original > 0 || pendingIds.isEmpty() ? null : pendingIds.get(m.id());
        Long inBatch = idsInBatch == null ? null : idsInBatch.get(m.id());
        if (original > 0 || pending != null || inBatch != null) {
          sequences[i] = original > 0 ? original : pending != null ? pending : inBatch;
          waitsForPending |= pending != null;
          continue;
        }
      }
      long sequence = nextSequence() + fresh;
      Message stored = m.appended(sequence, now, producerId, idSeed, fresh > 0 ? appended[fresh - 1] : lastPrepared);
      requireFits(stored, i, count);
      appended[fresh++] = stored;
      freshBytes += stored.sizeBytes();
      sequences[i] = sequence;
      if (m.hasProducerId()) {
        if (idsInBatch == null) {
          idsInBatch = new HashMap<>();
        }
        idsInBatch.put(m.id(), sequence);
      }
    }
    int dropped = fresh == 0 ? 0 : makeRoom(appended, fresh, freshBytes);
    long keptBytes = freshBytes;
    for (int i = 0; i < dropped; i++) {
      keptBytes -= appended[i].sizeBytes();
    }
    lastTimestamp = now;
    if (fresh > 0) {
      lastPrepared = appended[fresh - 1];
    }
    return new Prepared(List.of(sequences), appended, fresh, dropped, keptBytes, count - fresh, waitsForPending);
  }

  /**
   * Appends a prepared publish to the log and wakes the consumers. The messages {@code drop-oldest}
   * dropped from the batch take their sequences as removed slots, and every consumer is told of
   * them like of any eviction.
   */
  private void commit(Prepared prepared) {
    int fresh = prepared.freshCount();
    int dropped = prepared.dropped();
    Message[] appended = prepared.fresh();
    Removal droppedFromBatch = dropped == 0 ? null : new Removal(ConsumerActor.RemovalReason.EVICTED, false);
    for (int i = 0; i < dropped; i++) {
      droppedFromBatch.neverStored(appended[i]);
    }
    log.appendAll(appended, dropped, fresh - dropped);
    boolean messageAdded = settings.events().messageAdded();
    for (int i = 0; i < fresh; i++) {
      Message stored = appended[i];
      if (stored.hasProducerId()) {
        dedup.remember(stored.id(), stored.sequence(), stored.timestamp());
      }
      if (i < dropped) {
        continue;
      }
      if (stored.expiresAtMillis() != 0) {
        expiries.add(stored.expiresAtMillis(), stored.sequence());
      }
      if (messageAdded) {
        publishMessageAdded(stored);
      }
    }
    published += fresh;
    duplicates += prepared.duplicates();
    if (droppedFromBatch != null) {
      droppedFromBatch.finish();
    }
    if (dropOldest && overBounds(0, 0)) {
      // Publishes that waited for the journal together may pass the bounds only together: the oldest go.
      Removal eviction = null;
      while (overBounds(0, 0) && log.oldest() != null) {
        eviction = evictOldest(eviction);
      }
      eviction.finish();
    }
    if (fresh > 0) {
      wakeWaiting();
    }
  }

  /** Whether the log, with what waits for the journal and {@code messages} more, passes the queue's bounds. */
  private boolean overBounds(long messages, long bytes) {
    long maxLength = queueSettings.maxLength();
    long maxBytes = queueSettings.maxBytes();
    return maxLength > 0 && log.retainedMessages() + pendingMessages + messages > maxLength
        || maxBytes > 0 && log.retainedBytes() + pendingBytes + bytes > maxBytes;
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

  /**
   * The heap a durable publish of {@code freshBytes} holds until the journal write that stores it
   * completes: its serialized form, one exactly sized array no larger than the messages' accounted
   * bytes (the SQLite driver's copy of it is native memory, outside the heap). It is reserved with
   * the publish, so that the write never takes the accounted bytes past the threshold.
   */
  private static long writeHold(long freshBytes) {
    return freshBytes;
  }

  /** Refuses a message that could never fit, whatever the queue evicted: before anything is. */
  private void requireFits(Message stored, int index, int count) {
    long size = stored.sizeBytes();
    long maxBytes = queueSettings.maxBytes();
    if (maxBytes > 0 && size > maxBytes) {
      throw new SpoolException.MessageTooLarge("message " + (index + 1) + " of " + count + " takes " + size
          + " bytes; it can never fit in queue '" + name + "', whose maxBytes is " + maxBytes);
    }
    long threshold = memory.threshold();
    long reserved = journal == null ? size : size + writeHold(size);
    if (threshold > 0 && reserved > threshold) {
      throw globalFull(reserved);
    }
  }

  /**
   * Makes room for the {@code count} fresh messages of a publish ({@code freshBytes} in all) under
   * the queue's bounds and the global memory threshold, reserving their bytes (and as much again
   * for the journal write of a durable queue). Under {@code reject} it first releases what the
   * consumers have acknowledged since, then refuses with {@code QueueFull}. Under
   * {@code drop-oldest} it evicts this queue's oldest messages; a batch larger than the queue can
   * hold keeps its newest messages and drops the rest of it. A message that could never fit is
   * refused before anything is evicted.
   *
   * @return how many of the fresh messages, the oldest of the batch, are dropped
   */
  private int makeRoom(Message[] fresh, int count, long freshBytes) {
    long threshold = memory.threshold();
    int hold = journal == null ? 0 : 1; // a durable publish also holds its serialized form until written
    if (!dropOldest) {
      requireBatchFits(count, freshBytes);
      if (overBounds(count, freshBytes)) {
        releaseAcknowledged();
        if (overBounds(count, freshBytes)) {
          throw refusal(count, freshBytes);
        }
      }
      long held = writeHold(freshBytes) * hold;
      if (!memory.tryReserve(freshBytes, held)) {
        if (releaseAcknowledged() == 0 || !memory.tryReserve(freshBytes, held)) {
          throw globalFull(freshBytes + held);
        }
      }
      return 0;
    }
    int dropped = droppedFromBatch(fresh, count, hold);
    long keptBytes = freshBytes;
    for (int i = 0; i < dropped; i++) {
      keptBytes -= fresh[i].sizeBytes();
    }
    long held = writeHold(keptBytes) * hold;
    long reserved = keptBytes + held;
    Removal eviction = null;
    while (overBounds(count - dropped, keptBytes) && log.oldest() != null) {
      eviction = evictOldest(eviction);
    }
    if (eviction != null) {
      eviction.release(); // what the queue's own bounds evicted counts toward the global threshold too
    }
    while (true) {
      // Its own oldest go first, to stay under the threshold: reaching it puts every queue under
      // pressure, and other drop-oldest queues would pay for this one's publish.
      long needed = threshold > 0 ? memory.bytes() + reserved - threshold + 1 : 0;
      if (needed > 0 && log.oldest() != null) {
        long freedBefore = eviction == null ? 0 : eviction.bytes;
        do {
          eviction = evictOldest(eviction);
        } while (eviction.bytes - freedBefore < needed && log.oldest() != null);
        eviction.release();
      } else if (memory.tryReserve(keptBytes, held)) {
        break;
      } else if (log.oldest() == null) {
        if (eviction != null) {
          eviction.finish();
        }
        throw globalFull(reserved);
      }
    }
    if (eviction != null) {
      eviction.finish();
    }
    return dropped;
  }

  /**
   * Under {@code drop-oldest}: how many of a batch's oldest messages cannot be kept even in an
   * empty queue, by its {@code maxLength}, its {@code maxBytes}, or the global threshold beside
   * what the other queues hold.
   *
   * @param hold 1 if a durable write holds as much again as the messages, else 0
   */
  private int droppedFromBatch(Message[] fresh, int count, int hold) {
    long maxLength = queueSettings.maxLength();
    long maxBytes = queueSettings.maxBytes();
    long threshold = memory.threshold();
    long room = threshold - (memory.bytes() - log.retainedBytes());
    int dropped = maxLength > 0 && count > maxLength ? (int) (count - maxLength) : 0;
    long bytes = 0;
    long reserved = 0;
    for (int i = count - 1; i >= dropped; i--) {
      long size = fresh[i].sizeBytes();
      bytes += size;
      reserved += size * (1 + hold);
      if (maxBytes > 0 && bytes > maxBytes || threshold > 0 && reserved > room) {
        if (i == count - 1) {
          throw globalFull(reserved); // not even the newest fits beside what the other queues hold
        }
        return i + 1;
      }
    }
    return dropped;
  }

  /**
   * Under {@code reject}, refuses a batch that could not fit even in an empty queue: waiting would
   * not help, so it is not {@code QueueFull}.
   */
  private void requireBatchFits(int count, long freshBytes) {
    long maxLength = queueSettings.maxLength();
    long maxBytes = queueSettings.maxBytes();
    if (maxLength > 0 && count > maxLength) {
      throw new SpoolException.MessageTooLarge("a batch of " + count + " messages can never fit in queue '" + name
          + "', whose maxLength is " + maxLength + "; publish at most " + maxLength + " at a time");
    }
    if (maxBytes > 0 && freshBytes > maxBytes) {
      throw new SpoolException.MessageTooLarge("a batch of " + freshBytes + " bytes can never fit in queue '" + name
          + "', whose maxBytes is " + maxBytes + "; publish fewer messages at a time");
    }
  }

  private SpoolException refusal(int count, long freshBytes) {
    long maxLength = queueSettings.maxLength();
    String held = " not released yet (a message is released once every consumer has acknowledged it and all"
        + " before it, and it is past the queue's retention)";
    if (maxLength > 0 && log.retainedMessages() + pendingMessages + count > maxLength) {
      return new SpoolException.QueueFull("queue '" + name + "' holds " + (log.retainedMessages() + pendingMessages)
          + " messages" + held + "; " + count + " more would pass its maxLength of " + maxLength);
    }
    return new SpoolException.QueueFull("queue '" + name + "' holds " + (log.retainedBytes() + pendingBytes)
        + " bytes of messages" + held + "; " + freshBytes + " more would pass its maxBytes of "
        + queueSettings.maxBytes());
  }

  private SpoolException globalFull(long freshBytes) {
    return new SpoolException.QueueFull("Spool holds " + memory.bytes() + " bytes over all queues; " + freshBytes
        + " more would pass the memory threshold of " + memory.threshold() + " bytes (queue '" + name
        + "' overflow: " + queueSettings.overflow().wireName() + ")");
  }

  private Removal evictOldest(Removal eviction) {
    Removal r = eviction != null ? eviction : new Removal(ConsumerActor.RemovalReason.EVICTED, true);
    Message oldest = log.oldest();
    if (oldest != null) {
      r.remove(oldest.sequence());
    }
    return r;
  }

  /**
   * Messages removed in one step (one epoch) for one reason, released and told to every consumer
   * when the step finishes.
   */
  private final class Removal {
    final ConsumerActor.RemovalReason reason;
    /** Whether its messages were in the log (and the journal): not so for a batch's own dropped messages. */
    final boolean stored;
    final long epoch = ++removalEpoch;
    final List<Message> removed = new ArrayList<>();
    long bytes;
    long released;
    boolean sorted = true;

    Removal(ConsumerActor.RemovalReason reason, boolean stored) {
      this.reason = reason;
      this.stored = stored;
    }

    /** A message dropped before it joined the log: its sequence becomes a removed slot. */
    void neverStored(Message m) {
      log.appendRemoved(m.sequence(), epoch);
      removed.add(m);
    }

    void remove(long sequence) {
      Message m = log.remove(sequence, epoch);
      if (m != null) {
        if (!removed.isEmpty() && removed.get(removed.size() - 1).sequence() > sequence) {
          sorted = false;
        }
        removed.add(m);
        bytes += m.sizeBytes();
      }
    }

    /** Gives the bytes removed so far back to the memory monitor. */
    void release() {
      memory.release(bytes - released);
      released = bytes;
    }

    long finish() {
      release();
      if (removed.isEmpty()) {
        return 0;
      }
      if (!sorted) {
        removed.sort(Comparator.comparingLong(Message::sequence));
      }
      switch (reason) {
        case EXPIRED -> counters.expired.add(removed.size());
        case EVICTED -> counters.dropped.add(removed.size());
        case REDRIVEN -> { } // moved, not lost
      }
      if (journal != null && stored && reason != ConsumerActor.RemovalReason.EXPIRED) {
        // expiry is worked out again from the messages after a restart; evictions and redrives are not
        JournalWrite w = gathering();
        removed.forEach(m -> w.removed.add(m.sequence()));
        flush();
      }
      List<Message> notice = Collections.unmodifiableList(removed);
      for (ConsumerEntry entry : consumers.values()) {
        entry.ref.tell(new ConsumerActor.MessagesRemoved(reason, epoch, notice));
      }
      getContext().getLog().debug("queue {}: {} {} messages (sequences {} to {})", name,
          reason.name().toLowerCase(java.util.Locale.ROOT), removed.size(), removed.get(0).sequence(),
          removed.get(removed.size() - 1).sequence());
      collectGarbage();
      return removed.size();
    }
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
    releaseAcknowledged();
    return new QueueInfo(name, queueSettings, new QueueStats(
        log.firstSequence(), log.lastSequence(), log.retainedMessages(), log.retainedBytes(), log.segmentCount(),
        published, duplicates, counters.delivered.sum(), counters.acked.sum(), counters.redelivered.sum(),
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
    PendingConsumer pending = existing == null && journal != null ? pendingConsumer(resolved.name()) : null;
    if (pending != null) {
      if (pending.settings.equals(resolved)) {
        pending.replies.add(create.replyTo()); // answered with the first, once the journal stored it
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
      PendingConsumer c = new PendingConsumer(resolved, start);
      c.replies.add(create.replyTo());
      gathering().created.put(resolved.name(), c);
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
        removalEpoch, settings.clock().millis(), traceShare(consumers.size() + 1));
    long watermark = next;
    if (journal != null) {
      state.durable = true;
      if (position != null) {
        state.restoredTrace(start, next);
        for (int i = 0; i < position.unsettled().length; i++) {
          if (log.get(position.unsettled()[i]) != null) {
            state.cursor.restoreUnsettled(position.unsettled()[i], position.attempts()[i]);
          }
        }
        watermark = state.cursor.committed() + 1;
        state.reportedWatermark = watermark;
        state.needFrom = watermark;
        state.paused = position.paused();
      }
    }
    // Restart keeps the State (cursor, committed position, in flight, handlers), which this queue
    // holds, not the actor; a failure in one consumer never touches the log or its siblings.
    ActorRef<ConsumerActor.Command> ref = getContext().spawn(
        Behaviors.supervise(ConsumerActor.create(resolved.name(), state, log, counters, getContext().getSelf(),
                manager, settings))
            .onFailure(SupervisorStrategy.restart()),
        "consumer-" + resolved.name() + "-" + (++incarnations));
    getContext().watchWith(ref, new ConsumerTerminated(resolved.name(), ref));
    consumers.put(resolved.name(), new ConsumerEntry(ref, resolved, state, watermark));
    traceSharesChanged = true;
    if (consumers.size() == 1 || traceShare(consumers.size()) * 2L <= toldTraceShare) {
      shareTraceCap(); // halved: told at once, so that the queue's consumers never hold over twice the cap
    }
    watermarks.merge(watermark, 1, Integer::sum);
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
      gathering().deleted.get(delete.consumer()).add(delete.replyTo()); // answered once the journal stored it
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
    watermarks.computeIfPresent(entry.watermark, (w, n) -> n == 1 ? null : n - 1);
    getContext().unwatch(entry.ref);
    getContext().stop(entry.ref);
    if (journal != null) {
      JournalWrite w = gathering();
      w.deleted.computeIfAbsent(consumer, c -> new ArrayList<>(1));
      w.positions.remove(consumer); // callers flush, after adding what they wait for
    }
    collectGarbage();
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
    ConsumerEntry entry = consumers.get(progress.consumer());
    if (entry != null && entry.watermark != progress.watermark()) {
      moveWatermark(entry, progress.watermark());
      collectGarbage();
    }
    return this;
  }

  private void moveWatermark(ConsumerEntry entry, long watermark) {
    watermarks.computeIfPresent(entry.watermark, (w, n) -> n == 1 ? null : n - 1);
    entry.watermark = watermark;
    watermarks.merge(watermark, 1, Integer::sum);
  }

  /**
   * Releases what every consumer has passed as of now, reading each one's current need
   * ({@link ConsumerActor.State#needFrom}) rather than waiting for its next progress report.
   * O(consumers): run where an exact count matters (a bound about to refuse, stats, an explicit
   * collection, the janitor's tick), not per message.
   *
   * @return how many retained messages were released
   */
  private long releaseAcknowledged() {
    for (ConsumerEntry entry : consumers.values()) {
      long needFrom = entry.state.needFrom;
      if (needFrom != entry.watermark) {
        moveWatermark(entry, needFrom);
      }
    }
    return collectGarbage();
  }

  /**
   * Releases the messages below the lowest sequence any consumer still needs and outside the
   * retention. Nothing at or past a consumer's committed position is released; with no consumers,
   * only what was already removed (expired or evicted) is.
   *
   * @return how many retained messages were released
   */
  private long collectGarbage() {
    long limit = watermarks.isEmpty() ? log.oldestSequence() : Math.min(watermarks.firstKey(), log.nextSequence());
    long appendedNotAfter = queueSettings.retention().isZero()
        ? Long.MAX_VALUE
        : settings.clock().millis() - queueSettings.retention().toMillis();
    long bytesBefore = log.retainedBytes();
    long freed = log.releaseBefore(limit, appendedNotAfter);
    memory.release(bytesBefore - log.retainedBytes());
    expiries.dropBelow(log.firstSequence(), log.retainedMessages());
    if (journal != null && freed > 0 && log.firstSequence() > journaledFreedBelow) {
      // so that the journal lets go of the freed messages (and a snapshot leaves them out)
      gathering().freedBelow = log.firstSequence();
      flush();
    }
    return freed;
  }

  private Behavior<Command> onCollectGarbage(CollectGarbage collect) {
    collect.replyTo().tell(StatusReply.success(releaseAcknowledged()));
    return this;
  }

  private Behavior<Command> onRelieve(Relieve relieve) {
    relieve.replyTo().tell(StatusReply.success(releaseAcknowledged() + evictUnderPressure()));
    return this;
  }

  /** Under {@code drop-oldest}, evicts this queue's share of the bytes over the low-water mark. */
  private long evictUnderPressure() {
    long excess = memory.excessOverLowWater();
    if (!dropOldest || excess == 0 || log.retainedBytes() == 0) {
      return 0;
    }
    long share = (long) Math.ceil((double) excess * log.retainedBytes() / Math.max(1, memory.bytes()));
    Removal eviction = null;
    while ((eviction == null || eviction.bytes < share) && log.oldest() != null) {
      eviction = evictOldest(eviction);
    }
    return eviction == null ? 0 : eviction.finish();
  }

  // ---- the janitor's tick

  private Behavior<Command> onTick(Tick tick) {
    long now = settings.clock().millis();
    expire(now);
    releaseAcknowledged();
    if (tick.relieve()) {
      evictUnderPressure();
    }
    sampleRates(now);
    for (ConsumerEntry entry : consumers.values()) {
      entry.ref.tell(ConsumerActor.Tick.INSTANCE);
    }
    shareTraceCap();
    return this;
  }

  /** Removes what passed the queue's ttl or its own expiry, in one step. */
  private void expire(long now) {
    Duration ttl = queueSettings.ttl();
    Removal expiry = null;
    if (ttl != null) {
      long appendedNotAfter = now - ttl.toMillis();
      for (Message m = log.oldest(); m != null && m.timestamp() <= appendedNotAfter; m = log.oldest()) {
        expiry = expiry != null ? expiry : new Removal(ConsumerActor.RemovalReason.EXPIRED, true);
        expiry.remove(m.sequence());
      }
    }
    if (expiries.earliest() <= now) {
      Removal r = expiry != null ? expiry : new Removal(ConsumerActor.RemovalReason.EXPIRED, true);
      expiries.pollExpired(now, r::remove);
      expiry = r;
    }
    if (expiry != null) {
      expiry.finish();
    }
  }

  private void sampleRates(long now) {
    long elapsed = now - rateSampledAt;
    if (elapsed <= 0) {
      return;
    }
    long delivered = counters.delivered.sum();
    publishRate = (published - rateSampledPublished) * 1000.0 / elapsed;
    deliverRate = (delivered - rateSampledDelivered) * 1000.0 / elapsed;
    rateSampledAt = now;
    rateSampledPublished = published;
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
      Request.fail(get, new SpoolException.SequenceOutOfRange("queue '" + name + "' does not retain sequence "
          + get.sequence() + " (retained: " + log.firstSequence() + " to " + log.lastSequence() + ")"));
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

  /** One redrive: the dead-letter sequences it moves, per source queue, and the replies outstanding. */
  private static final class RedriveRun {
    final ActorRef<StatusReply<Long>> replyTo;
    final List<Long> moved = new ArrayList<>();
    final List<String> failures = new ArrayList<>();
    int outstanding;

    RedriveRun(ActorRef<StatusReply<Long>> replyTo) {
      this.replyTo = replyTo;
    }
  }

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
    RedriveRun run = new RedriveRun(redrive.replyTo());
    if (bySource.isEmpty()) {
      redrive.replyTo().tell(StatusReply.success(0L));
      return this;
    }
    int batch = settings.maxBatchMessages();
    for (Map.Entry<String, List<Message>> e : bySource.entrySet()) {
      List<Message> messages = e.getValue();
      List<Long> sequences = sequencesBySource.get(e.getKey());
      for (int i = 0; i < messages.size(); i += batch) {
        List<Message> chunk = List.copyOf(messages.subList(i, Math.min(messages.size(), i + batch)));
        List<Long> chunkSequences = List.copyOf(sequences.subList(i, Math.min(sequences.size(), i + batch)));
        run.outstanding++;
        getContext().askWithStatus(Request.<Long>listClass(), manager, settings.askTimeout(),
            r -> new QueueManager.ToQueue(e.getKey(), new Publish(DeadLetters.REDRIVE_PRODUCER, chunk, r)),
            (appended, failure) -> new Redriven(chunkSequences, failure == null ? null
                : new IllegalStateException("to '" + e.getKey() + "': " + failure.getMessage()), run));
      }
    }
    return this;
  }

  private Behavior<Command> onRedriven(Redriven result) {
    RedriveRun run = result.run();
    if (result.failure() == null) {
      run.moved.addAll(result.deadLettered());
    } else {
      run.failures.add(result.failure().getMessage());
      redriving.removeAll(result.deadLettered()); // not moved: it stays here, and a later redrive may try again
    }
    if (--run.outstanding > 0) {
      return this;
    }
    // Removed only once the source queue confirmed the append: a message is never in neither queue.
    Removal removal = new Removal(ConsumerActor.RemovalReason.REDRIVEN, true);
    run.moved.stream().sorted().forEach(removal::remove);
    removal.finish();
    redriving.removeAll(run.moved);
    if (!run.failures.isEmpty()) {
      getContext().getLog().warn("queue {}: redrive moved {} messages; some could not be moved: {}", name,
          run.moved.size(), run.failures);
    } else {
      getContext().getLog().info("queue {}: redrive moved {} messages back to their source queues", name,
          run.moved.size());
    }
    if (run.moved.isEmpty() && !run.failures.isEmpty()) {
      run.replyTo.tell(StatusReply.error(new SpoolException.InvalidConfiguration(
          "redrive moved nothing: " + String.join("; ", run.failures))));
    } else {
      run.replyTo.tell(StatusReply.success((long) run.moved.size()));
    }
    return this;
  }

  // ---- durability

  /**
   * One journal write: what a durable queue gathered while the previous write was under way. It
   * becomes one {@link QueueEvent}; its publishes are appended and answered once it is stored.
   */
  private static final class JournalWrite {
    long id;
    final List<Message> messages = new ArrayList<>();
    final List<PendingPublish> publishes = new ArrayList<>();
    final Map<String, PendingConsumer> created = new LinkedHashMap<>();
    /** Deleted consumers, with the requests to answer (none for stale or inactive removals). */
    final Map<String, List<ActorRef<StatusReply<Done>>>> deleted = new LinkedHashMap<>();
    final Map<String, GatheredPosition> positions = new HashMap<>();
    final List<Long> removed = new ArrayList<>();
    long freedBelow;

    /** Whether there is anything to write. A freed point rides along with a release. */
    boolean hasWork() {
      return !publishes.isEmpty() || !created.isEmpty() || !deleted.isEmpty() || !positions.isEmpty()
          || !removed.isEmpty() || freedBelow > 0;
    }

    QueueEvent event() {
      List<QueueEvent.ConsumerRecord> records = new ArrayList<>(created.size());
      created.values().forEach(c -> records.add(new QueueEvent.ConsumerRecord(c.settings, c.start)));
      return new QueueEvent(id, List.copyOf(messages), records, List.copyOf(deleted.keySet()), positionsToWrite(),
          removed.stream().mapToLong(Long::longValue).toArray(), freedBelow);
    }

    private Map<String, ConsumerPosition> positionsToWrite() {
      Map<String, ConsumerPosition> out = new HashMap<>();
      positions.forEach((consumer, p) -> out.put(consumer, p.position()));
      return out;
    }
  }

  private record PendingPublish(Prepared prepared, ActorRef<StatusReply<List<Long>>> replyTo) {}

  /** A consumer of a durable queue being created: it exists once the journal stored it. */
  private static final class PendingConsumer {
    final ConsumerSettings settings;
    final long start;
    final List<ActorRef<StatusReply<Created<ConsumerInfo>>>> replies = new ArrayList<>(1);

    PendingConsumer(ConsumerSettings settings, long start) {
      this.settings = settings;
      this.start = start;
    }
  }

  private JournalWrite gathering() {
    if (gathering == null) {
      gathering = new JournalWrite();
    }
    return gathering;
  }

  private void publishDurably(Publish publish) {
    requireWritableJournal();
    int limit = settings.persistence().maxPendingMessages();
    // Back-pressure, not a failure: nothing of the publish was kept, and a retry may succeed soon.
    if (pendingMessages + publish.messages().size() > limit) {
      throw new SpoolException.QueueFull("queue '" + name + "' has " + pendingMessages
          + " messages waiting for its journal (the most is " + limit + "); retry later");
    }
    long byteLimit = settings.persistence().maxPendingBytes();
    if (pendingBytes > 0 && pendingBytes >= byteLimit) { // one publish alone may pass it: it is bounded by its size limit
      throw new SpoolException.QueueFull("queue '" + name + "' has " + pendingBytes
          + " bytes waiting for its journal (the most is " + byteLimit + "); retry later");
    }
    Prepared prepared = prepare(publish.producerId(), publish.messages());
    if (prepared.freshCount() == 0 && !prepared.waitsForPending()) {
      commit(prepared); // duplicates of stored messages only: nothing to write
      publish.replyTo().tell(StatusReply.success(prepared.sequences()));
      return;
    }
    JournalWrite w = gathering();
    w.publishes.add(new PendingPublish(prepared, publish.replyTo()));
    for (int i = 0; i < prepared.freshCount(); i++) {
      Message m = prepared.fresh()[i];
      if (i >= prepared.dropped()) {
        w.messages.add(m);
      }
      if (m.hasProducerId()) {
        pendingIds.put(m.id(), m.sequence());
      }
    }
    pendingMessages += prepared.kept();
    pendingBytes += prepared.keptBytes();
    flush();
  }

  /** Starts the next journal write if none is under way: group commit. */
  private void flush() {
    if (journal == null || writing != null || gathering == null || !gathering.hasWork()) {
      return;
    }
    writing = gathering;
    gathering = null;
    writing.id = ++writeIds;
    journal.tell(new QueueJournal.Write(writing.event()));
    timers.startSingleTimer(STALL_TIMER, new WriteStalled(writing.id), settings.persistence().writeStallAfter());
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
    if (writing != null && writing.id == stalled.writeId() && journalCondition.writable()) {
      // Its publishes keep waiting for the write's outcome; new ones are refused until a write completes.
      journalState(JournalHealth.State.WRITE_STALLED, "a journal write has been under way for more than "
          + settings.persistence().writeStallAfter().toMillis() + " ms");
    }
    return this;
  }

  private Behavior<Command> onJournalReply(JournalReply reply) {
    if (reply.reply() instanceof QueueJournal.Written written) {
      if (writing != null && written.writeId() == writing.id) {
        JournalWrite done = writing;
        writing = null;
        timers.cancel(STALL_TIMER);
        completed(done);
        journalState(JournalHealth.State.OK, null);
      }
    } else if (reply.reply() instanceof QueueJournal.Recovered recovered) {
      // The journal restarted after a failed write: whether that write was stored, it now knows.
      writeIds = Math.max(writeIds, recovered.lastWriteId());
      journalState(JournalHealth.State.OK, null); // it reads, so it may write: the next write tells
      if (writing != null) {
        JournalWrite unsure = writing;
        writing = null;
        timers.cancel(STALL_TIMER);
        if (recovered.lastWriteId() >= unsure.id) {
          getContext().getLog().info("queue {}: the journal recovered; write {} was stored", name, unsure.id);
          completed(unsure);
        } else {
          getContext().getLog().warn("queue {}: the journal recovered; write {} was not stored and is refused", name,
              unsure.id);
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
  private void completed(JournalWrite w) {
    for (PendingPublish p : w.publishes) {
      settlePending(p.prepared());
      commit(p.prepared());
      p.replyTo().tell(StatusReply.success(p.prepared().sequences()));
    }
    for (PendingConsumer c : w.created.values()) {
      ActorRef<ConsumerActor.Command> ref = spawnConsumer(c.settings, c.start, null);
      getContext().getLog().debug("queue {}: consumer {} created at sequence {}", name, c.settings.name(), c.start);
      c.replies.forEach(r -> answerWithInfo(ref, true, r));
    }
    for (List<ActorRef<StatusReply<Done>>> replies : w.deleted.values()) {
      replies.forEach(r -> r.tell(StatusReply.success(Done.getInstance())));
    }
    for (Map.Entry<String, GatheredPosition> v : w.positions.entrySet()) {
      ConsumerEntry entry = consumers.get(v.getKey());
      if (entry != null && entry.ref.equals(v.getValue().from())) { // not a consumer created since under that name
        entry.ref.tell(new ConsumerActor.PositionSaved(v.getValue().version()));
      }
    }
    journaledFreedBelow = Math.max(journaledFreedBelow, w.freedBelow);
  }

  /**
   * A write was not stored. Its publishes fail (nothing of them was confirmed), and so do those
   * gathered since if it carried messages, as their sequences follow the lost ones; positions and
   * removals go into the next write.
   */
  private void failed(JournalWrite w) {
    // The journal read itself back and this write is not there: certainly not stored, so not a Timeout.
    SpoolException error = new SpoolException.JournalUnavailable("queue '" + name
        + "': the journal failed to store this publish; nothing of it was kept, publish it again");
    List<PendingPublish> refused = new ArrayList<>(w.publishes);
    if (!w.messages.isEmpty() && gathering != null) {
      refused.addAll(gathering.publishes);
      gathering.publishes.clear();
      gathering.messages.clear();
    }
    for (PendingPublish p : refused) {
      settlePending(p.prepared());
      memory.release(p.prepared().keptBytes());
      p.replyTo().tell(StatusReply.error(error));
    }
    if (!w.messages.isEmpty()) {
      lastPrepared = null;
    }
    SpoolException notStored = new SpoolException.JournalUnavailable("queue '" + name
        + "': the journal failed to store this change; nothing of it was kept, try again");
    for (PendingConsumer c : w.created.values()) {
      c.replies.forEach(r -> r.tell(StatusReply.error(notStored)));
    }
    JournalWrite next = gathering();
    // The deleted consumers are gone from memory already: their deletion goes into the next write
    // (ahead of any creation under the same name there, as the journal applies deletions first).
    w.deleted.forEach((consumer, replies) -> next.deleted.computeIfAbsent(consumer, c -> new ArrayList<>(1))
        .addAll(replies));
    // Positions are not carried over: a consumer deleted and created again since must not inherit
    // one. The consumers that handed them in send their current position again.
    w.positions.forEach((consumer, v) -> {
      ConsumerEntry entry = consumers.get(consumer);
      if (entry != null && entry.ref.equals(v.from())) {
        entry.ref.tell(ConsumerActor.ResendPosition.INSTANCE);
      }
    });
    next.removed.addAll(0, w.removed);
    next.freedBelow = Math.max(next.freedBelow, w.freedBelow);
  }

  /** A pending publish's write completed or failed: what was reserved for that write is given back. */
  private void settlePending(Prepared prepared) {
    pendingMessages -= prepared.kept();
    pendingBytes -= prepared.keptBytes();
    memory.releaseHeld(writeHold(prepared.keptBytes()));
    for (int i = 0; i < prepared.freshCount(); i++) {
      Message m = prepared.fresh()[i];
      if (m.hasProducerId()) {
        pendingIds.remove(m.id(), m.sequence());
      }
    }
  }

  private Behavior<Command> onFlush(Flush flush) {
    flushed.add(flush.replyTo());
    answerFlushed();
    return this;
  }

  private void answerFlushed() {
    if (!flushed.isEmpty() && writing == null && (gathering == null || !gathering.hasWork())) {
      flushed.forEach(r -> r.tell(StatusReply.success(Done.getInstance())));
      flushed.clear();
    }
  }

  private Behavior<Command> onPositionChanged(PositionChanged changed) {
    if (journal != null && consumers.containsKey(changed.consumer())) {
      JournalWrite w = gathering();
      w.positions.put(changed.consumer(),
          new GatheredPosition(changed.position(), changed.from(), changed.version()));
      flush();
    }
    return this;
  }

  /** The consumer being created in a write not stored yet, or null. */
  private PendingConsumer pendingConsumer(String consumer) {
    PendingConsumer c = writing == null ? null : writing.created.get(consumer);
    return c != null ? c : gathering == null ? null : gathering.created.get(consumer);
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
      lastPrepared = messages.get(messages.size() - 1);
      lastTimestamp = lastPrepared.timestamp();
      journaledFreedBelow = messages.get(0).sequence();
    }
    writeIds = recovered.lastWriteId();
    for (QueueEvent.ConsumerRecord c : recovered.consumers()) {
      ConsumerPosition position = recovered.positions().get(c.settings().name());
      spawnConsumer(c.settings(), c.start(), position);
    }
    collectGarbage();
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
    memory.release(log.retainedBytes() + pendingBytes);
    memory.releaseHeld(writeHold(pendingBytes));
    return this;
  }
}
