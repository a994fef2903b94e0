package dev.spool.actor;

import dev.spool.AckResult;
import dev.spool.ConsumerInfo;
import dev.spool.ConsumerSettings;
import dev.spool.Created;
import dev.spool.Delivery;
import dev.spool.Message;
import dev.spool.QueueInfo;
import dev.spool.QueueSettings;
import dev.spool.SpoolEvent;
import dev.spool.SpoolException;
import dev.spool.SpoolSettings;
import dev.spool.StartPosition;
import dev.spool.queue.Partitions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Scheduler;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.pattern.Patterns;
import org.apache.pekko.pattern.StatusReply;
import scala.concurrent.ExecutionContextExecutor;

/**
 * A partitioned queue as one: it speaks the queue's protocol and answers each command from its
 * partitions, queues of their own named {@code queue#p} and reached by name through the manager
 * (locally, or wherever sharding runs them). {@link Partitions} decides where a message goes and
 * how the partitions' sequences and figures read as the queue's. It keeps no messages, so every
 * member runs one for each partitioned queue.
 *
 * <p>A publish spread over several partitions is all or none in each partition, not across them;
 * retried with the same message ids it appends nothing twice, as every id always maps to the same
 * partition. Messages without key or id go together to the next partition in turn. A read takes what the partitions have now, in turn from a rotating first one; a
 * long-poll that finds nothing looks again after 10 ms, then after up to 100 ms, until its wait ends.
 */
public final class PartitionedQueue extends AbstractBehavior<QueueActor.Command> {

  /** The subscriptions of handlers and actors, passed through this front: its own state, told to itself. */
  private record Subscribed(long id, List<Long> partitionIds, ActorRef<StatusReply<Long>> replyTo)
      implements QueueActor.Command, NoSerializationVerificationNeeded {}

  private record SubscriberGone(ActorRef<Delivery> subscriber)
      implements QueueActor.Command, NoSerializationVerificationNeeded {}

  /**
   * From partition 0, whose part of {@code consumer} passed its {@code inactiveTimeout}: remove the
   * consumer if it is idle in every partition.
   */
  public record CheckInactive(String consumer) implements QueueActor.Command {}

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(PartitionedQueue.class);
  private static final Duration FIRST_POLL = Duration.ofMillis(10);
  private static final Duration LAST_POLL = Duration.ofMillis(100);
  /** How long a read waits for one partition: a healthy one answers in milliseconds, a moving one is passed over. */
  private static final Duration READ_PART_TIMEOUT = Duration.ofSeconds(1);
  /** Kept free before a reader's deadline for the answer to reach it. */
  private static final Duration ANSWER_MARGIN = Duration.ofMillis(500);

  static Behavior<QueueActor.Command> create(String queue, QueueSettings queueSettings, SpoolSettings settings,
      ActorRef<QueueManager.Command> manager) {
    return Behaviors.setup(context -> new PartitionedQueue(context, queue, queueSettings, settings, manager));
  }

  private final Partitions partitions;
  private final QueueSettings queueSettings;
  private final SpoolSettings settings;
  private final ActorRef<QueueManager.Command> manager;
  private final Scheduler scheduler;
  private final org.apache.pekko.actor.typed.ActorSystem<?> system;
  private final org.apache.pekko.actor.Scheduler classicScheduler;
  private final ExecutionContextExecutor executor;
  /** Each partition's handler subscription ids, by the id this front gave the subscription. */
  private final Map<Long, List<Long>> handlers = new HashMap<>();
  /** Each actor subscriber's relays, one per partition, numbering its deliveries as the queue's. */
  private final Map<ActorRef<Delivery>, List<ActorRef<Delivery>>> relays = new HashMap<>();
  private long subscriptions;
  private int nextReadStart;

  private PartitionedQueue(ActorContext<QueueActor.Command> context, String queue, QueueSettings queueSettings,
      SpoolSettings settings, ActorRef<QueueManager.Command> manager) {
    super(context);
    this.partitions = new Partitions(queue, queueSettings.partitions());
    this.queueSettings = queueSettings;
    this.settings = settings;
    this.manager = manager;
    this.scheduler = context.getSystem().scheduler();
    this.system = context.getSystem();
    this.classicScheduler = Adapter.toClassic(context.getSystem()).scheduler();
    this.executor = context.getExecutionContext();
  }

  @Override
  public Receive<QueueActor.Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(QueueActor.Publish.class, this::onPublish)
        .onMessage(QueueActor.GetInfo.class, get -> reply(get.replyTo(),
            all(QueueActor.GetInfo::new).thenApply(infos -> partitions.info(queueSettings, infos))))
        .onMessage(QueueActor.CreateConsumer.class, this::onCreateConsumer)
        .onMessage(QueueActor.DeleteConsumer.class, delete -> reply(delete.replyTo(),
            everywhere(r -> new QueueActor.DeleteConsumer(delete.consumer(), r), SpoolException.Code.ConsumerNotFound)))
        .onMessage(QueueActor.ListConsumers.class, list -> reply(list.replyTo(),
            all(QueueActor.ListConsumers::new).thenApply(partitions::consumers)))
        .onMessage(QueueActor.ToConsumer.class, this::onToConsumer)
        .onMessage(QueueActor.CollectGarbage.class, gc -> reply(gc.replyTo(),
            all(QueueActor.CollectGarbage::new).thenApply(PartitionedQueue::sumLongs)))
        .onMessage(QueueActor.Relieve.class, relieve -> reply(relieve.replyTo(),
            all(QueueActor.Relieve::new).thenApply(PartitionedQueue::sumLongs)))
        .onMessage(QueueActor.CleanupStale.class, cleanup -> reply(cleanup.replyTo(), removeWhere(
            c -> c.isStale(settings.clock().millis(), cleanup.staleAfter()) && c.lag() > cleanup.lagThreshold(),
            "stale")))
        .onMessage(CheckInactive.class, check -> {
          removeWhere(c -> c.name().equals(check.consumer()) && c.settings().inactiveTimeout() != null
              && c.handlerCalls() == 0 && c.isStale(settings.clock().millis(), c.settings().inactiveTimeout()),
              "inactive");
          return this;
        })
        .onMessage(QueueActor.Browse.class, this::onBrowse)
        .onMessage(QueueActor.GetMessageTrace.class, trace -> {
          int p = partitions.partitionOfSequence(trace.sequence());
          return reply(trace.replyTo(), notRetained(trace.sequence(), this.<dev.spool.MessageTrace>one(p,
                  r -> new QueueActor.GetMessageTrace(partitions.sequenceIn(trace.sequence()), r))
              .thenApply(t -> partitions.trace(t, p))));
        })
        .onMessage(QueueActor.Redrive.class, this::onRedrive)
        .onMessage(QueueActor.Drain.class, drain -> reply(drain.replyTo(),
            this.<ConsumerActor.DrainResult>all(r -> new QueueActor.Drain(drain.timeout(), r),
                drain.timeout().plus(settings.askTimeout())).thenApply(ConsumerActor.DrainResult::sum)))
        .onMessage(QueueActor.Flush.class, flush -> reply(flush.replyTo(),
            all(QueueActor.Flush::new).thenApply(done -> Done.getInstance())))
        .onMessage(QueueActor.UseKey.class, use -> {
          partitions.names().forEach(name -> manager.tell(new QueueManager.ToPartition(name, use)));
          return this;
        })
        .onMessage(Subscribed.class, this::onSubscribed)
        .onMessage(SubscriberGone.class, gone -> {
          List<ActorRef<Delivery>> mine = relays.remove(gone.subscriber());
          if (mine != null) {
            mine.forEach(getContext()::stop); // each partition sees its relay stop and redelivers what it held
          }
          return this;
        })
        .onAnyMessage(this::onOther)
        .build();
  }

  /**
   * Whether {@code command}, sent to {@code queue} from outside, is refused because {@code queue} is
   * a partition that it would change (it was answered so): a partition is published to, consumed and
   * changed through its queue, which keeps its partitions alike; what reads it is allowed.
   */
  static boolean refusedFromOutside(String queue, QueueActor.Command command) {
    String parent = Partitions.parentOf(queue);
    if (parent == null || readsOnly(command)) {
      return false;
    }
    SpoolException refused = new SpoolException.InvalidConfiguration("'" + queue + "' is a partition of queue '"
        + parent + "': publish to it, consume it and change it through '" + parent + "'");
    if (command instanceof Request<?> request) {
      Request.fail(request, refused);
    } else if (command instanceof QueueActor.ToConsumer to && to.command() instanceof Request<?> request) {
      Request.fail(request, refused);
    }
    return true;
  }

  /** What reads a queue without changing it: its figures, its messages, its consumers' figures and streams. */
  static boolean readsOnly(QueueActor.Command command) {
    return command instanceof QueueActor.GetInfo || command instanceof QueueActor.ListConsumers
        || command instanceof QueueActor.Browse || command instanceof QueueActor.GetMessageTrace
        || command instanceof QueueActor.ToConsumer to && (to.command() instanceof ConsumerActor.GetInfo
            || to.command() instanceof ConsumerActor.GetTrace || to.command() instanceof ConsumerActor.GetRef);
  }

  /** Engine-internal commands (the janitor's ticks, a consumer's own messages) reach the partitions directly. */
  private Behavior<QueueActor.Command> onOther(QueueActor.Command command) {
    if (command instanceof Request<?> request) {
      Request.fail(request, unsupported(command.getClass().getSimpleName()));
    }
    return this;
  }

  private SpoolException unsupported(String what) {
    return new SpoolException.InvalidConfiguration(what + " is not available on partitioned queue '"
        + partitions.queue() + "'; use one of its partitions, " + partitions.name(0) + " to "
        + partitions.name(partitions.count() - 1));
  }

  // ---- publishing

  private Behavior<QueueActor.Command> onPublish(QueueActor.Publish publish) {
    List<Message> messages = publish.messages();
    SpoolException bad = refusedWhole(messages);
    if (bad != null) {
      Request.fail(publish, bad);
      return this;
    }
    if (messages.isEmpty()) {
      return reply(publish.replyTo(), one(0, r -> new QueueActor.Publish(publish.producerId(), messages, r)));
    }
    int[] placed = new int[messages.size()];
    int inTurn = partitions.nextInTurn();
    Map<Integer, List<Message>> byPartition = new LinkedHashMap<>();
    for (int i = 0; i < messages.size(); i++) {
      placed[i] = partitions.partitionOf(messages.get(i), inTurn);
      byPartition.computeIfAbsent(placed[i], p -> new ArrayList<>()).add(messages.get(i));
    }
    Map<Integer, CompletableFuture<List<Long>>> appended = new HashMap<>();
    byPartition.forEach((p, part) -> appended.put(p,
        this.<List<Long>>one(p, r -> new QueueActor.Publish(publish.producerId(), part, r)).toCompletableFuture()));
    return reply(publish.replyTo(), allOf(appended.values()).thenApply(done -> {
      Map<Integer, Integer> next = new HashMap<>();
      Long[] sequences = new Long[placed.length];
      for (int i = 0; i < placed.length; i++) {
        int p = placed[i];
        int at = next.merge(p, 1, Integer::sum) - 1;
        sequences[i] = partitions.encode(appended.get(p).join().get(at), p);
      }
      return List.of(sequences);
    }));
  }

  /**
   * What a partition would refuse in any case, checked for the whole batch before it is split, so
   * that bad input changes nothing and is reported by its place in the batch; {@code null} if none.
   */
  private SpoolException refusedWhole(List<Message> messages) {
    int count = messages.size();
    if (count > settings.maxBatchMessages()) {
      return new SpoolException.InvalidConfiguration("a publish may carry at most " + settings.maxBatchMessages()
          + " messages, not " + count);
    }
    for (int i = 0; i < count; i++) {
      Message m = messages.get(i);
      if (m == null) {
        return new SpoolException.InvalidConfiguration("message " + (i + 1) + " of " + count + " is missing");
      }
      long bodyBytes = m.sizeBytes() - Message.FIXED_OVERHEAD_BYTES;
      if (bodyBytes > settings.maxMessageBytes()) {
        return new SpoolException.MessageTooLarge("message " + (i + 1) + " of " + count + " has " + bodyBytes
            + " bytes; the limit is " + settings.maxMessageBytes());
      }
      long maxBytes = queueSettings.maxBytes();
      if (maxBytes > 0 && m.sizeBytes() > maxBytes) {
        return new SpoolException.MessageTooLarge("message " + (i + 1) + " of " + count + " takes at least "
            + m.sizeBytes() + " bytes; it can never fit in a partition of queue '" + partitions.queue()
            + "', whose maxBytes (for each partition) is " + maxBytes);
      }
    }
    return null;
  }

  // ---- consumers

  private Behavior<QueueActor.Command> onCreateConsumer(QueueActor.CreateConsumer create) {
    StartPosition start = create.settings() == null ? null : create.settings().startAt();
    return reply(create.replyTo(), withinQueue(start).thenCompose(inRange -> {
      List<CompletableFuture<Created<ConsumerInfo>>> created = new ArrayList<>();
      for (int p = 0; p < partitions.count(); p++) {
        ConsumerSettings s = inPartition(create.settings(), p);
        created.add(this.<Created<ConsumerInfo>>one(p, r -> new QueueActor.CreateConsumer(s, r)).toCompletableFuture());
        completeLater(p, created.get(p), r -> new QueueActor.CreateConsumer(s, r), null);
      }
      return allOf(created).thenApply(done -> {
        List<ConsumerInfo> infos = created.stream().map(f -> f.join().value()).toList();
        boolean isNew = created.stream().anyMatch(f -> f.join().created());
        return new Created<>(partitions.consumer(infos), isNew);
      });
    }));
  }

  /** A partition's {@code SequenceOutOfRange} in its own numbers, as the queue's: the sequence asked for. */
  private <T> CompletionStage<T> notRetained(long sequence, CompletionStage<T> result) {
    return result.exceptionallyCompose(failure -> CompletableFuture.failedFuture(
        unwrap(failure) instanceof SpoolException e && e.code() == SpoolException.Code.SequenceOutOfRange
            ? new SpoolException.SequenceOutOfRange("queue '" + partitions.queue() + "' does not retain sequence "
                + sequence)
            : unwrap(failure)));
  }

  /**
   * Refuses a start at a sequence past the end of the queue, before any partition changes; a
   * partition shorter than its share of a sequence within the queue starts at its end.
   */
  private CompletionStage<Done> withinQueue(StartPosition start) {
    if (!(start instanceof StartPosition.AtSequence at)) {
      return CompletableFuture.completedFuture(Done.getInstance());
    }
    return all(QueueActor.GetInfo::new).thenApply(infos -> {
      long last = 0;
      boolean anyReaches = false;
      for (int p = 0; p < infos.size(); p++) {
        long lastInPartition = infos.get(p).stats().lastSequence();
        last = Math.max(last, partitions.encode(lastInPartition, p));
        anyReaches |= partitions.fromIn(at.sequence(), p) <= lastInPartition + 1;
      }
      if (!anyReaches) {
        throw new SpoolException.SequenceOutOfRange("sequence " + at.sequence() + " is past the end of queue '"
            + partitions.queue() + "' (its last message has " + last + ")");
      }
      return Done.getInstance();
    });
  }

  /** A consumer's settings in one partition: a start at a sequence of the queue starts at that partition's share of it. */
  private ConsumerSettings inPartition(ConsumerSettings s, int p) {
    if (s == null || !(s.startAt() instanceof StartPosition.AtSequence at)) {
      return s;
    }
    return new ConsumerSettings(s.name(), StartPosition.sequence(partitions.fromIn(at.sequence(), p)), s.ackMode(),
        s.prefetch(), s.ackTimeout(), s.maxDeliveries(), s.filter(), s.backoff(), s.inactiveTimeout());
  }

  private Behavior<QueueActor.Command> onToConsumer(QueueActor.ToConsumer envelope) {
    String consumer = envelope.consumer();
    ConsumerActor.Command c = envelope.command();
    if (c instanceof ConsumerActor.Read read) {
      Duration cap = settings.consumer().maxReadWait();
      Duration wait = read.waitFor() == null || read.waitFor().isNegative() ? Duration.ZERO
          : read.waitFor().compareTo(cap) > 0 ? cap : read.waitFor();
      int start = nextReadStart;
      nextReadStart = (nextReadStart + 1) % partitions.count();
      long deadline = System.nanoTime() + wait.toNanos();
      // The reader's own deadline less a margin for the answer's way back; without one, this front's ask timeout.
      long now = System.currentTimeMillis();
      long answerBy = read.notAfter() > 0 ? read.notAfter() - ANSWER_MARGIN.toMillis()
          : now + partTimeout().toMillis() + wait.toMillis();
      return reply(read.replyTo(), poll(consumer, read.max(), start, deadline, answerBy, FIRST_POLL));
    } else if (c instanceof ConsumerActor.Ack ack) {
      Map<Integer, List<Long>> byPartition = bySequence(ack.sequences());
      List<Integer> order = List.copyOf(byPartition.keySet());
      List<CompletableFuture<AckResult>> acked = new ArrayList<>();
      for (int p : order) {
        acked.add(this.<AckResult>one(p, consumer, r -> new ConsumerActor.Ack(byPartition.get(p), r))
            .toCompletableFuture());
      }
      return reply(ack.replyTo(), allOf(acked).thenApply(done ->
          partitions.ackResult(acked.stream().map(CompletableFuture::join).toList(), order)));
    } else if (c instanceof ConsumerActor.AckUpTo upTo) {
      int p = partitions.partitionOfSequence(upTo.sequence());
      return reply(upTo.replyTo(), this.<AckResult>one(p, consumer,
              r -> new ConsumerActor.AckUpTo(partitions.sequenceIn(upTo.sequence()), r))
          .thenApply(result -> partitions.ackResult(List.of(result), List.of(p))));
    } else if (c instanceof ConsumerActor.Nack nack) {
      Map<Integer, List<Long>> byPartition = bySequence(nack.sequences());
      List<CompletableFuture<Integer>> nacked = new ArrayList<>();
      byPartition.forEach((p, sequences) -> nacked.add(this.<Integer>one(p, consumer,
          r -> new ConsumerActor.Nack(sequences, nack.requeue(), r)).toCompletableFuture()));
      return reply(nack.replyTo(), allOf(nacked).thenApply(done ->
          nacked.stream().mapToInt(CompletableFuture::join).sum()));
    } else if (c instanceof ConsumerActor.Seek seek) {
      return reply(seek.replyTo(), withinQueue(seek.to()).thenCompose(inRange -> {
        List<CompletableFuture<Done>> moved = new ArrayList<>();
        for (int p = 0; p < partitions.count(); p++) {
          StartPosition to = seek.to() instanceof StartPosition.AtSequence at
              ? StartPosition.sequence(partitions.fromIn(at.sequence(), p)) : seek.to();
          moved.add(this.<Done>one(p, consumer, r -> new ConsumerActor.Seek(to, r)).toCompletableFuture());
        }
        return allOf(moved).thenApply(done -> Done.getInstance());
      }));
    } else if (c instanceof ConsumerActor.Pause pause) {
      return reply(pause.replyTo(), everywhere(r -> new QueueActor.ToConsumer(consumer, new ConsumerActor.Pause(r)),
          null));
    } else if (c instanceof ConsumerActor.Resume resume) {
      return reply(resume.replyTo(), everywhere(r -> new QueueActor.ToConsumer(consumer, new ConsumerActor.Resume(r)),
          null));
    } else if (c instanceof ConsumerActor.GetInfo get) {
      return reply(get.replyTo(), allConsumers(consumer, ConsumerActor.GetInfo::new).thenApply(partitions::consumer));
    } else if (c instanceof ConsumerActor.GetTrace trace) {
      int p = partitions.partitionOfSequence(trace.sequence());
      return reply(trace.replyTo(), one(p, consumer,
          r -> new ConsumerActor.GetTrace(partitions.sequenceIn(trace.sequence()), r)));
    } else if (c instanceof ConsumerActor.SubscribeHandler subscribe) {
      return onSubscribeHandler(consumer, subscribe);
    } else if (c instanceof ConsumerActor.UnsubscribeHandler unsubscribe) {
      List<Long> ids = handlers.remove(unsubscribe.subscription());
      if (ids == null) {
        Request.fail(unsubscribe, new SpoolException.InvalidConfiguration("consumer '" + consumer
            + "' has no handler subscription " + unsubscribe.subscription()));
        return this;
      }
      return reply(unsubscribe.replyTo(), unsubscribeHandlers(consumer, ids));
    } else if (c instanceof ConsumerActor.Subscribe subscribe) {
      return onSubscribe(consumer, subscribe);
    } else if (c instanceof ConsumerActor.Unsubscribe unsubscribe) {
      List<ActorRef<Delivery>> mine = relays.remove(unsubscribe.subscriber());
      if (mine == null) {
        unsubscribe.replyTo().tell(StatusReply.success(Done.getInstance()));
        return this;
      }
      getContext().unwatch(unsubscribe.subscriber());
      List<CompletableFuture<Done>> detached = new ArrayList<>();
      for (int p = 0; p < partitions.count(); p++) {
        ActorRef<Delivery> relay = mine.get(p);
        detached.add(this.<Done>one(p, consumer, r -> new ConsumerActor.Unsubscribe(relay, r)).toCompletableFuture());
      }
      mine.forEach(getContext()::stop);
      return reply(unsubscribe.replyTo(), allOf(detached).thenApply(done -> Done.getInstance()));
    } else if (c instanceof ConsumerActor.GetRef get) {
      Request.fail(get, new SpoolException.InvalidConfiguration("queue '" + partitions.queue() + "' has "
          + partitions.count() + " partitions, each with its own consumer '" + consumer
          + "': stream each partition (QueueConsumer.source() does)"));
    } else if (c instanceof Request<?> request) {
      Request.fail(request, unsupported(c.getClass().getSimpleName()));
    }
    return this;
  }

  /**
   * One pass over the partitions from {@code start}, each asked without waiting for what it has now
   * (never more than {@code max} in all); an empty pass looks again until {@code deadline}
   * ({@link System#nanoTime()}). Whatever happens, the answer comes by {@code answerBy} (epoch ms),
   * before the reader gives up: deliveries answered later would be lost on the way.
   */
  private CompletionStage<List<Delivery>> poll(String consumer, int max, int start, long deadline, long answerBy,
      Duration pause) {
    return pass(consumer, max, start, 0, new ArrayList<>(), new boolean[1], answerBy).thenCompose(found -> {
      long left = Math.min(deadline - System.nanoTime(),
          TimeUnit.MILLISECONDS.toNanos(answerBy - System.currentTimeMillis() - READ_PART_TIMEOUT.toMillis()));
      if (!found.isEmpty() || left <= 0) {
        return CompletableFuture.completedFuture(found);
      }
      Duration delay = Duration.ofNanos(Math.min(left, pause.toNanos()));
      Duration longer = pause.multipliedBy(2).compareTo(LAST_POLL) > 0 ? LAST_POLL : pause.multipliedBy(2);
      return Patterns.after(delay, classicScheduler, executor,
          () -> poll(consumer, max, start, deadline, answerBy, longer));
    });
  }

  /**
   * A partition that does not answer within {@link #READ_PART_TIMEOUT} (it is moving to another
   * member) is passed over, so that what the others delivered reaches the reader in time; only when
   * no partition answered does the read fail.
   */
  private CompletionStage<List<Delivery>> pass(String consumer, int max, int start, int visited, List<Delivery> found,
      boolean[] anyAnswered, long answerBy) {
    long left = answerBy - System.currentTimeMillis();
    if (visited == partitions.count() || found.size() >= max || left <= 0) {
      if (!anyAnswered[0] && found.isEmpty() && visited < partitions.count()) {
        return CompletableFuture.failedFuture(new SpoolException.Timeout("queue '" + partitions.queue()
            + "': its partitions did not answer the read in time; try again"));
      }
      return CompletableFuture.completedFuture(found);
    }
    int p = (start + visited) % partitions.count();
    int want = max - found.size();
    Duration timeout = Duration.ofMillis(Math.min(left, READ_PART_TIMEOUT.toMillis()));
    long notAfter = System.currentTimeMillis() + timeout.toMillis();
    return this.<List<Delivery>>one(p, consumer, r -> new ConsumerActor.Read(want, Duration.ZERO, notAfter, r),
            timeout)
        .handle((got, failure) -> {
          if (failure != null && visited == partitions.count() - 1 && found.isEmpty() && !anyAnswered[0]) {
            throw new java.util.concurrent.CompletionException(unwrap(failure));
          }
          if (got != null) {
            anyAnswered[0] = true;
            found.addAll(partitions.deliveries(got, p));
          }
          return pass(consumer, max, start, visited + 1, found, anyAnswered, answerBy);
        })
        .thenCompose(next -> next);
  }

  private Behavior<QueueActor.Command> onSubscribeHandler(String consumer, ConsumerActor.SubscribeHandler subscribe) {
    List<CompletableFuture<Long>> ids = new ArrayList<>();
    for (int p = 0; p < partitions.count(); p++) {
      int partition = p;
      Function<Delivery, CompletionStage<Done>> handler = d -> subscribe.handler().apply(partitions.delivery(d, partition));
      ids.add(this.<Long>one(p, consumer, r -> new ConsumerActor.SubscribeHandler(handler, subscribe.parallelism(),
          subscribe.settings(), r)).toCompletableFuture());
    }
    long id = ++subscriptions;
    ActorRef<QueueActor.Command> self = getContext().getSelf();
    ActorRef<StatusReply<Done>> nobody = getContext().getSystem().ignoreRef();
    allOf(ids).whenComplete((done, failure) -> {
      if (failure == null) {
        self.tell(new Subscribed(id, ids.stream().map(CompletableFuture::join).toList(), subscribe.replyTo()));
        return;
      }
      // All partitions or none: the subscriptions that were made are cancelled again.
      for (int p = 0; p < ids.size(); p++) {
        CompletableFuture<Long> made = ids.get(p);
        if (!made.isCompletedExceptionally()) {
          int partition = p;
          made.thenAccept(subscription -> manager.tell(new QueueManager.ToPartition(partitions.name(partition),
              new QueueActor.ToConsumer(consumer, new ConsumerActor.UnsubscribeHandler(subscription, nobody)))));
        }
      }
      subscribe.replyTo().tell(StatusReply.error(unwrap(failure)));
    });
    return this;
  }

  private Behavior<QueueActor.Command> onSubscribed(Subscribed subscribed) {
    handlers.put(subscribed.id(), subscribed.partitionIds());
    subscribed.replyTo().tell(StatusReply.success(subscribed.id()));
    return this;
  }

  private CompletionStage<Done> unsubscribeHandlers(String consumer, List<Long> ids) {
    List<CompletableFuture<Done>> cancelled = new ArrayList<>();
    for (int p = 0; p < ids.size(); p++) {
      long id = ids.get(p);
      cancelled.add(this.<Done>one(p, consumer, r -> new ConsumerActor.UnsubscribeHandler(id, r),
          settings.askTimeout().plus(settings.handler().timeout())).toCompletableFuture());
    }
    return allOf(cancelled).thenApply(done -> Done.getInstance());
  }

  private Behavior<QueueActor.Command> onSubscribe(String consumer, ConsumerActor.Subscribe subscribe) {
    ActorRef<Delivery> subscriber = subscribe.subscriber();
    List<ActorRef<Delivery>> mine = relays.get(subscriber);
    if (mine == null) {
      mine = new ArrayList<>();
      for (int p = 0; p < partitions.count(); p++) {
        int partition = p;
        mine.add(getContext().spawnAnonymous(Behaviors.receiveMessage(d -> {
          subscriber.tell(partitions.delivery(d, partition));
          return Behaviors.same();
        })));
      }
      relays.put(subscriber, mine);
      getContext().watchWith(subscriber, new SubscriberGone(subscriber));
    }
    List<CompletableFuture<Done>> attached = new ArrayList<>();
    for (int p = 0; p < partitions.count(); p++) {
      ActorRef<Delivery> relay = mine.get(p);
      attached.add(this.<Done>one(p, consumer, r -> new ConsumerActor.Subscribe(relay, r)).toCompletableFuture());
    }
    return reply(subscribe.replyTo(), allOf(attached).thenApply(done -> Done.getInstance()));
  }

  /**
   * Removes, in every partition, each consumer that {@code remove} picks from the consumers as one
   * (idle in every partition, lag summed); answers how many.
   */
  private CompletionStage<Integer> removeWhere(java.util.function.Predicate<ConsumerInfo> remove, String reason) {
    return all(QueueActor.ListConsumers::new).thenApply(partitions::consumers).thenCompose(consumers -> {
      List<ConsumerInfo> gone = consumers.stream().filter(remove).toList();
      List<CompletableFuture<Done>> deleted = new ArrayList<>();
      for (ConsumerInfo c : gone) {
        deleted.add(this.<Done>all(r -> new QueueActor.DeleteConsumer(c.name(), r)).thenApply(done -> Done.getInstance())
            .toCompletableFuture());
      }
      return allOf(deleted).thenApply(done -> {
        for (ConsumerInfo c : gone) {
          LOG.info("queue {}: consumer {} removed ({}, lag {})", partitions.queue(), c.name(), reason, c.lag());
          Events.publish(system, new SpoolEvent.ConsumerRemoved(settings.clock().instant(), partitions.queue(), c.name(),
              reason, c.lag()));
        }
        return gone.size();
      });
    });
  }

  // ---- reads of the log

  private Behavior<QueueActor.Command> onBrowse(QueueActor.Browse browse) {
    List<CompletableFuture<List<Message>>> read = new ArrayList<>();
    for (int p = 0; p < partitions.count(); p++) {
      long from = partitions.fromIn(browse.from(), p);
      read.add(this.<List<Message>>one(p, r -> new QueueActor.Browse(from, browse.max(), r)).toCompletableFuture());
    }
    return reply(browse.replyTo(), allOf(read).thenApply(done ->
        partitions.browsed(read.stream().map(CompletableFuture::join).toList(), browse.max())));
  }

  private Behavior<QueueActor.Command> onRedrive(QueueActor.Redrive redrive) {
    List<CompletableFuture<Long>> moved = new ArrayList<>();
    for (int p = 0; p < partitions.count(); p++) {
      long from = partitions.fromIn(redrive.from(), p);
      long to = partitions.toIn(redrive.to(), p);
      if (to >= from) {
        moved.add(this.<Long>one(p, r -> new QueueActor.Redrive(from, to, r), settings.askTimeout().multipliedBy(3))
            .toCompletableFuture());
      }
    }
    return reply(redrive.replyTo(), allOf(moved).thenApply(done ->
        moved.stream().mapToLong(CompletableFuture::join).sum()));
  }

  // ---- asking the partitions

  /** How long a change made to some partitions is retried on the others, which are moving to another member. */
  private static final Duration COMPLETE_WITHIN = Duration.ofMinutes(2);
  private static final Duration RETRY_EVERY = Duration.ofSeconds(1);

  /**
   * A change to a consumer in every partition. A partition that does not answer (it is moving to
   * another member) gets it again every second for up to {@link #COMPLETE_WITHIN}, so that a change
   * the caller was told timed out is made in every partition or refused by it, never left half made.
   *
   * @param done a refusal that means the change holds already (a deleted consumer), or {@code null}
   */
  private CompletionStage<Done> everywhere(Function<ActorRef<StatusReply<Done>>, QueueActor.Command> change,
      SpoolException.Code done) {
    List<CompletableFuture<Done>> first = new ArrayList<>();
    List<CompletableFuture<Boolean>> changed = new ArrayList<>();
    for (int p = 0; p < partitions.count(); p++) {
      CompletableFuture<Done> answer = this.<Done>one(p, change).toCompletableFuture();
      completeLater(p, answer, change, done);
      first.add(answer);
      changed.add(answer.handle((ok, failure) -> failure == null ? Boolean.TRUE
          : done != null && isCode(failure, done) ? Boolean.FALSE : null));
    }
    return allOf(changed).thenCompose(all -> {
      for (int p = 0; p < first.size(); p++) {
        if (changed.get(p).join() == null) {
          return first.get(p).thenApply(d -> Done.getInstance()); // its failure
        }
      }
      // Refused by every partition as holding already (no such consumer anywhere): the caller hears so.
      boolean anyChanged = changed.stream().anyMatch(c -> Boolean.TRUE.equals(c.join()));
      return anyChanged ? CompletableFuture.completedFuture(Done.getInstance()) : first.get(0);
    });
  }

  /** Once {@code first} fails for want of an answer, asks partition {@code p} again until it answers. */
  private <T> void completeLater(int p, CompletableFuture<T> first, Function<ActorRef<StatusReply<T>>,
      QueueActor.Command> change, SpoolException.Code done) {
    long giveUpAt = System.nanoTime() + COMPLETE_WITHIN.toNanos();
    first.whenComplete((value, failure) -> {
      if (failure != null && unanswered(failure)) {
        retry(p, change, done, giveUpAt);
      }
    });
  }

  private <T> void retry(int p, Function<ActorRef<StatusReply<T>>, QueueActor.Command> change,
      SpoolException.Code done, long giveUpAt) {
    Patterns.after(RETRY_EVERY, classicScheduler, executor, () -> this.<T>one(p, change))
        .whenComplete((value, failure) -> {
          if (failure == null || !unanswered(failure) || done != null && isCode(failure, done)) {
            LOG.info("queue {}: a consumer change reached partition {} once it answered", partitions.queue(), p);
          } else if (System.nanoTime() < giveUpAt) {
            retry(p, change, done, giveUpAt);
          } else {
            LOG.warn("queue {}: partition {} did not answer a consumer change for {}; make the change again",
                partitions.queue(), p, COMPLETE_WITHIN);
          }
        });
  }

  /** A failure that says nothing of the change: the partition did not answer in time. */
  private static boolean unanswered(Throwable failure) {
    Throwable t = unwrap(failure);
    return t instanceof java.util.concurrent.TimeoutException || t instanceof org.apache.pekko.pattern.AskTimeoutException
        || t instanceof SpoolException e && (e.code() == SpoolException.Code.Timeout
            || e.code() == SpoolException.Code.JournalUnavailable);
  }

  private static boolean isCode(Throwable failure, SpoolException.Code code) {
    return unwrap(failure) instanceof SpoolException e && e.code() == code;
  }

  private Map<Integer, List<Long>> bySequence(List<Long> sequences) {
    Map<Integer, List<Long>> byPartition = new LinkedHashMap<>();
    for (Long s : sequences) {
      byPartition.computeIfAbsent(partitions.partitionOfSequence(s), p -> new ArrayList<>()).add(partitions.sequenceIn(s));
    }
    return byPartition;
  }

  /** Sub-requests end before the caller's own ask does, so that it hears why rather than a timeout. */
  private Duration partTimeout() {
    return settings.askTimeout().multipliedBy(4).dividedBy(5);
  }

  private <T> CompletionStage<T> one(int p, Function<ActorRef<StatusReply<T>>, QueueActor.Command> command) {
    return one(p, command, partTimeout());
  }

  private <T> CompletionStage<T> one(int p, Function<ActorRef<StatusReply<T>>, QueueActor.Command> command,
      Duration timeout) {
    String name = partitions.name(p);
    return AskPattern.askWithStatus(manager, r -> new QueueManager.ToPartition(name, command.apply(r)), timeout,
        scheduler);
  }

  private <T> CompletionStage<T> one(int p, String consumer,
      Function<ActorRef<StatusReply<T>>, ConsumerActor.Command> command) {
    return one(p, r -> new QueueActor.ToConsumer(consumer, command.apply(r)));
  }

  private <T> CompletionStage<T> one(int p, String consumer,
      Function<ActorRef<StatusReply<T>>, ConsumerActor.Command> command, Duration timeout) {
    return one(p, r -> new QueueActor.ToConsumer(consumer, command.apply(r)), timeout);
  }

  private <T> CompletionStage<List<T>> all(Function<ActorRef<StatusReply<T>>, QueueActor.Command> command) {
    return all(command, partTimeout());
  }

  private <T> CompletionStage<List<T>> all(Function<ActorRef<StatusReply<T>>, QueueActor.Command> command,
      Duration timeout) {
    List<CompletableFuture<T>> each = new ArrayList<>();
    for (int p = 0; p < partitions.count(); p++) {
      each.add(this.<T>one(p, command, timeout).toCompletableFuture());
    }
    return allOf(each).thenApply(done -> each.stream().map(CompletableFuture::join).toList());
  }

  private <T> CompletionStage<List<T>> allConsumers(String consumer,
      Function<ActorRef<StatusReply<T>>, ConsumerActor.Command> command) {
    return all(r -> new QueueActor.ToConsumer(consumer, command.apply(r)));
  }

  private static <T> CompletableFuture<Void> allOf(java.util.Collection<CompletableFuture<T>> futures) {
    return CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new));
  }

  private static long sumLongs(List<Long> values) {
    return values.stream().mapToLong(Long::longValue).sum();
  }

  /**
   * Answers {@code replyTo} once {@code result} completes, from whichever thread completes it: only
   * the caller is told, no state of this actor is touched.
   */
  private <T> Behavior<QueueActor.Command> reply(ActorRef<StatusReply<T>> replyTo, CompletionStage<T> result) {
    result.whenComplete((value, failure) -> replyTo.tell(failure == null
        ? StatusReply.success(value) : StatusReply.error(asTheQueues(unwrap(failure)))));
    return this;
  }

  /**
   * A partition's refusal that names it ({@code queue#p}: "consumer 'c' does not exist on queue
   * 'queue#2'") as the queue's, which is what the caller named.
   */
  private Throwable asTheQueues(Throwable failure) {
    if (!(failure instanceof SpoolException e) || e.getMessage() == null
        || e.code() == SpoolException.Code.EncryptionKeyMissing) {
      return failure;
    }
    String message = e.getMessage().replaceAll("'" + java.util.regex.Pattern.quote(partitions.queue()) + "#\\d+'",
        "'" + java.util.regex.Matcher.quoteReplacement(partitions.queue()) + "'");
    return message.equals(e.getMessage()) ? e : SpoolException.restore(e.code(), message, null);
  }

  private static Throwable unwrap(Throwable failure) {
    Throwable t = failure;
    while (t instanceof java.util.concurrent.CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }
}
