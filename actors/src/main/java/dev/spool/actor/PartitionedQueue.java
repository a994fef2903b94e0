package dev.spool.actor;

import dev.spool.AckResult;
import dev.spool.ConsumerInfo;
import dev.spool.ConsumerSettings;
import dev.spool.Created;
import dev.spool.Delivery;
import dev.spool.HeaderCounts;
import dev.spool.Message;
import dev.spool.QueueHealth;
import dev.spool.QueueHistory;
import dev.spool.QueueInfo;
import dev.spool.QueueSettings;
import dev.spool.SpoolEvent;
import dev.spool.SpoolException;
import dev.spool.SpoolSettings;
import dev.spool.StartPosition;
import dev.spool.queue.HealthJudge;
import dev.spool.queue.PartitionHistories;
import dev.spool.queue.Partitions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.pattern.StatusReply;

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

  static Behavior<QueueActor.Command> create(String queue, QueueSettings queueSettings, SpoolSettings settings,
      ActorRef<QueueManager.Command> manager) {
    return Behaviors.setup(context -> new PartitionedQueue(context, queue, queueSettings, settings, manager));
  }

  private final Partitions partitions;
  private final QueueSettings queueSettings;
  private final SpoolSettings settings;
  private final ActorRef<QueueManager.Command> manager;
  private final org.apache.pekko.actor.typed.ActorSystem<?> system;
  private final PartitionCalls calls;
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
    this.system = context.getSystem();
    this.calls = new PartitionCalls(context, partitions, settings, manager);
  }

  @Override
  public Receive<QueueActor.Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(QueueActor.Publish.class, this::onPublish)
        .onMessage(QueueActor.GetInfo.class, get -> reply(get.replyTo(),
            calls.all(QueueActor.GetInfo::new).thenApply(infos -> partitions.info(queueSettings, infos))))
        .onMessage(QueueActor.CreateConsumer.class, this::onCreateConsumer)
        .onMessage(QueueActor.DeleteConsumer.class, delete -> reply(delete.replyTo(),
            calls.everywhere(r -> new QueueActor.DeleteConsumer(delete.consumer(), r), SpoolException.Code.ConsumerNotFound)))
        .onMessage(QueueActor.ListConsumers.class, list -> reply(list.replyTo(),
            calls.all(QueueActor.ListConsumers::new).thenApply(partitions::consumers)))
        .onMessage(QueueActor.GetHistory.class, get -> reply(get.replyTo(), history(get.after())))
        .onMessage(QueueActor.GetHealth.class, get -> reply(get.replyTo(), health()))
        .onMessage(QueueActor.CountHeader.class, count -> reply(count.replyTo(),
            calls.all((ActorRef<StatusReply<HeaderCounts>> r) -> new QueueActor.CountHeader(count.header(), r))
                .thenApply(parts -> parts.stream().reduce(HeaderCounts::plus).orElseThrow())))
        .onMessage(QueueActor.ToConsumer.class, this::onToConsumer)
        .onMessage(QueueActor.CollectGarbage.class, gc -> reply(gc.replyTo(),
            calls.all(QueueActor.CollectGarbage::new).thenApply(PartitionedQueue::sumLongs)))
        .onMessage(QueueActor.Relieve.class, relieve -> reply(relieve.replyTo(),
            calls.all(QueueActor.Relieve::new).thenApply(PartitionedQueue::sumLongs)))
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
          return reply(trace.replyTo(), calls.notRetained(trace.sequence(), calls.<dev.spool.MessageTrace>one(p,
                  r -> new QueueActor.GetMessageTrace(partitions.sequenceIn(trace.sequence()), r))
              .thenApply(t -> partitions.trace(t, p))));
        })
        .onMessage(QueueActor.Redrive.class, this::onRedrive)
        .onMessage(QueueActor.Purge.class, purge -> reply(purge.replyTo(),
            calls.all(QueueActor.Purge::new).thenApply(each -> each.stream().mapToLong(Long::longValue).sum())))
        .onMessage(QueueActor.DeleteMessages.class, this::onDeleteMessages)
        .onMessage(QueueActor.Trim.class, this::onTrim)
        .onMessage(QueueActor.Drain.class, drain -> reply(drain.replyTo(),
            calls.<ConsumerActor.DrainResult>all(r -> new QueueActor.Drain(drain.timeout(), r),
                drain.timeout().plus(settings.askTimeout())).thenApply(ConsumerActor.DrainResult::sum)))
        .onMessage(QueueActor.Flush.class, flush -> reply(flush.replyTo(),
            calls.all(QueueActor.Flush::new).thenApply(done -> Done.getInstance())))
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
        || command instanceof QueueActor.Search || command instanceof QueueActor.GetHistory
        || command instanceof QueueActor.GetHealth || command instanceof QueueActor.CountHeader
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
    SpoolException bad = partitions.refusedWhole(messages, settings.maxBatchMessages(), settings.maxMessageBytes(),
        queueSettings.maxBytes());
    if (bad != null) {
      Request.fail(publish, bad);
      return this;
    }
    if (messages.isEmpty()) {
      return reply(publish.replyTo(), calls.one(0, r -> new QueueActor.Publish(publish.producerId(), messages, r)));
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
        calls.<List<Long>>one(p, r -> new QueueActor.Publish(publish.producerId(), part, r)).toCompletableFuture()));
    return reply(publish.replyTo(), calls.allOf(appended.values()).thenApply(done -> {
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

  // ---- consumers

  private Behavior<QueueActor.Command> onCreateConsumer(QueueActor.CreateConsumer create) {
    StartPosition start = create.settings() == null ? null : create.settings().startAt();
    return reply(create.replyTo(), calls.withinQueue(start).thenCompose(inRange -> {
      List<CompletableFuture<Created<ConsumerInfo>>> created = new ArrayList<>();
      for (int p = 0; p < partitions.count(); p++) {
        ConsumerSettings s = partitions.inPartition(create.settings(), p);
        created.add(calls.<Created<ConsumerInfo>>one(p, r -> new QueueActor.CreateConsumer(s, r)).toCompletableFuture());
        calls.completeLater(p, created.get(p), r -> new QueueActor.CreateConsumer(s, r), null);
      }
      return calls.allOf(created).thenApply(done -> {
        List<ConsumerInfo> infos = created.stream().map(f -> f.join().value()).toList();
        boolean isNew = created.stream().anyMatch(f -> f.join().created());
        return new Created<>(partitions.consumer(infos), isNew);
      });
    }));
  }

  private Behavior<QueueActor.Command> onToConsumer(QueueActor.ToConsumer envelope) {
    String consumer = envelope.consumer();
    ConsumerActor.Command c = envelope.command();
    if (c instanceof ConsumerActor.Read read) {
      int start = nextReadStart;
      nextReadStart = (nextReadStart + 1) % partitions.count();
      return reply(read.replyTo(), calls.read(consumer, read, start));
    } else if (c instanceof ConsumerActor.Ack ack) {
      Map<Integer, List<Long>> byPartition = partitions.bySequence(ack.sequences());
      List<Integer> order = List.copyOf(byPartition.keySet());
      List<CompletableFuture<AckResult>> acked = new ArrayList<>();
      for (int p : order) {
        acked.add(calls.<AckResult>one(p, consumer, r -> new ConsumerActor.Ack(byPartition.get(p), r))
            .toCompletableFuture());
      }
      return reply(ack.replyTo(), calls.allOf(acked).thenApply(done ->
          partitions.ackResult(acked.stream().map(CompletableFuture::join).toList(), order)));
    } else if (c instanceof ConsumerActor.AckUpTo upTo) {
      int p = partitions.partitionOfSequence(upTo.sequence());
      return reply(upTo.replyTo(), calls.<AckResult>one(p, consumer,
              r -> new ConsumerActor.AckUpTo(partitions.sequenceIn(upTo.sequence()), r))
          .thenApply(result -> partitions.ackResult(List.of(result), List.of(p))));
    } else if (c instanceof ConsumerActor.Nack nack) {
      Map<Integer, List<Long>> byPartition = partitions.bySequence(nack.sequences());
      List<CompletableFuture<Integer>> nacked = new ArrayList<>();
      byPartition.forEach((p, sequences) -> nacked.add(calls.<Integer>one(p, consumer,
          r -> new ConsumerActor.Nack(sequences, nack.requeue(), r)).toCompletableFuture()));
      return reply(nack.replyTo(), calls.allOf(nacked).thenApply(done ->
          nacked.stream().mapToInt(CompletableFuture::join).sum()));
    } else if (c instanceof ConsumerActor.Seek seek) {
      return reply(seek.replyTo(), calls.withinQueue(seek.to()).thenCompose(inRange -> {
        List<CompletableFuture<Done>> moved = new ArrayList<>();
        for (int p = 0; p < partitions.count(); p++) {
          StartPosition to = seek.to() instanceof StartPosition.AtSequence at
              ? StartPosition.sequence(partitions.fromIn(at.sequence(), p)) : seek.to();
          moved.add(calls.<Done>one(p, consumer, r -> new ConsumerActor.Seek(to, r)).toCompletableFuture());
        }
        return calls.allOf(moved).thenApply(done -> Done.getInstance());
      }));
    } else if (c instanceof ConsumerActor.Pause pause) {
      return reply(pause.replyTo(), calls.everywhere(r -> new QueueActor.ToConsumer(consumer, new ConsumerActor.Pause(r)),
          null));
    } else if (c instanceof ConsumerActor.Resume resume) {
      return reply(resume.replyTo(), calls.everywhere(r -> new QueueActor.ToConsumer(consumer, new ConsumerActor.Resume(r)),
          null));
    } else if (c instanceof ConsumerActor.GetInfo get) {
      return reply(get.replyTo(), calls.allConsumers(consumer, ConsumerActor.GetInfo::new).thenApply(partitions::consumer));
    } else if (c instanceof ConsumerActor.GetTrace trace) {
      int p = partitions.partitionOfSequence(trace.sequence());
      return reply(trace.replyTo(), calls.one(p, consumer,
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
        detached.add(calls.<Done>one(p, consumer, r -> new ConsumerActor.Unsubscribe(relay, r)).toCompletableFuture());
      }
      mine.forEach(getContext()::stop);
      return reply(unsubscribe.replyTo(), calls.allOf(detached).thenApply(done -> Done.getInstance()));
    } else if (c instanceof ConsumerActor.GetRef get) {
      Request.fail(get, new SpoolException.InvalidConfiguration("queue '" + partitions.queue() + "' has "
          + partitions.count() + " partitions, each with its own consumer '" + consumer
          + "': stream each partition (QueueConsumer.source() does)"));
    } else if (c instanceof Request<?> request) {
      Request.fail(request, unsupported(c.getClass().getSimpleName()));
    }
    return this;
  }

  private Behavior<QueueActor.Command> onSubscribeHandler(String consumer, ConsumerActor.SubscribeHandler subscribe) {
    List<CompletableFuture<Long>> ids = new ArrayList<>();
    for (int p = 0; p < partitions.count(); p++) {
      int partition = p;
      Function<Delivery, CompletionStage<Done>> handler = d -> subscribe.handler().apply(partitions.delivery(d, partition));
      ids.add(calls.<Long>one(p, consumer, r -> new ConsumerActor.SubscribeHandler(handler, subscribe.parallelism(),
          subscribe.settings(), r)).toCompletableFuture());
    }
    long id = ++subscriptions;
    ActorRef<QueueActor.Command> self = getContext().getSelf();
    ActorRef<StatusReply<Done>> nobody = getContext().getSystem().ignoreRef();
    calls.allOf(ids).whenComplete((done, failure) -> {
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
      subscribe.replyTo().tell(StatusReply.error(calls.unwrap(failure)));
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
      cancelled.add(calls.<Done>one(p, consumer, r -> new ConsumerActor.UnsubscribeHandler(id, r),
          settings.askTimeout().plus(settings.handler().timeout())).toCompletableFuture());
    }
    return calls.allOf(cancelled).thenApply(done -> Done.getInstance());
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
      attached.add(calls.<Done>one(p, consumer, r -> new ConsumerActor.Subscribe(relay, r)).toCompletableFuture());
    }
    return reply(subscribe.replyTo(), calls.allOf(attached).thenApply(done -> Done.getInstance()));
  }

  /**
   * Removes, in every partition, each consumer that {@code remove} picks from the consumers as one
   * (idle in every partition, lag summed); answers how many.
   */
  private CompletionStage<List<dev.spool.StaleConsumer>> removeWhere(java.util.function.Predicate<ConsumerInfo> remove,
      String reason) {
    return calls.all(QueueActor.ListConsumers::new).thenApply(partitions::consumers).thenCompose(consumers -> {
      List<ConsumerInfo> gone = consumers.stream().filter(remove).toList();
      List<CompletableFuture<Done>> deleted = new ArrayList<>();
      for (ConsumerInfo c : gone) {
        deleted.add(calls.<Done>all(r -> new QueueActor.DeleteConsumer(c.name(), r)).thenApply(done -> Done.getInstance())
            .toCompletableFuture());
      }
      return calls.allOf(deleted).thenApply(done -> {
        for (ConsumerInfo c : gone) {
          LOG.info("queue {}: consumer {} removed ({}, lag {})", partitions.queue(), c.name(), reason, c.lag());
          Events.publish(system, new SpoolEvent.ConsumerRemoved(settings.clock().instant(), partitions.queue(), c.name(),
              reason, c.lag()));
        }
        long now = settings.clock().millis();
        return gone.stream().map(c -> dev.spool.StaleConsumer.of(c, now)).toList();
      });
    });
  }

  // ---- reads of the log

  private Behavior<QueueActor.Command> onBrowse(QueueActor.Browse browse) {
    List<CompletableFuture<List<Message>>> read = new ArrayList<>();
    for (int p = 0; p < partitions.count(); p++) {
      long from = partitions.fromIn(browse.from(), p);
      read.add(calls.<List<Message>>one(p, r -> new QueueActor.Browse(from, browse.max(), r)).toCompletableFuture());
    }
    return reply(browse.replyTo(), calls.allOf(read).thenApply(done ->
        partitions.browsed(read.stream().map(CompletableFuture::join).toList(), browse.max())));
  }

  private Behavior<QueueActor.Command> onRedrive(QueueActor.Redrive redrive) {
    List<CompletableFuture<Long>> moved = new ArrayList<>();
    for (int p = 0; p < partitions.count(); p++) {
      long from = partitions.fromIn(redrive.from(), p);
      long to = partitions.toIn(redrive.to(), p);
      if (to >= from) {
        moved.add(calls.<Long>one(p, r -> new QueueActor.Redrive(from, to, r), settings.askTimeout().multipliedBy(3))
            .toCompletableFuture());
      }
    }
    return reply(redrive.replyTo(), calls.allOf(moved).thenApply(done ->
        moved.stream().mapToLong(CompletableFuture::join).sum()));
  }

  /** Each sequence goes to its partition as that partition's own, as an ack does. */
  private Behavior<QueueActor.Command> onDeleteMessages(QueueActor.DeleteMessages delete) {
    List<CompletableFuture<Long>> removed = new ArrayList<>();
    partitions.bySequence(delete.sequences()).forEach((p, sequences) -> removed.add(
        calls.<Long>one(p, r -> new QueueActor.DeleteMessages(sequences, r)).toCompletableFuture()));
    return reply(delete.replyTo(), calls.allOf(removed).thenApply(done ->
        removed.stream().mapToLong(CompletableFuture::join).sum()));
  }

  /**
   * Below a sequence, each partition trims below its share of it. To a length it is refused: the
   * partitions' messages interleave with no order across them, so there is no oldest to trim first.
   */
  private Behavior<QueueActor.Command> onTrim(QueueActor.Trim trim) {
    if (trim.maxLength() != Long.MAX_VALUE) {
      trim.replyTo().tell(StatusReply.error(new SpoolException.InvalidConfiguration("queue '" + partitions.queue()
          + "' is partitioned: its partitions keep no common order to trim to a length; trim below a sequence")));
      return this;
    }
    List<CompletableFuture<Long>> removed = new ArrayList<>();
    for (int p = 0; p < partitions.count(); p++) {
      long below = partitions.fromIn(trim.below(), p);
      removed.add(calls.<Long>one(p, r -> new QueueActor.Trim(Long.MAX_VALUE, below, r)).toCompletableFuture());
    }
    return reply(trim.replyTo(), calls.allOf(removed).thenApply(done ->
        removed.stream().mapToLong(CompletableFuture::join).sum()));
  }

  private static long sumLongs(List<Long> values) {
    return values.stream().mapToLong(Long::longValue).sum();
  }

  /**
   * Answers {@code replyTo} once {@code result} completes, from whichever thread completes it: only
   * the caller is told, no state of this actor is touched.
   */
  /** The partitions' histories as the queue's (see {@link PartitionHistories}). */
  private CompletionStage<QueueHistory> history(long after) {
    return calls.all((ActorRef<StatusReply<QueueHistory>> r) -> new QueueActor.GetHistory(after, r))
        .thenApply(parts -> PartitionHistories.merge(partitions.queue(), parts));
  }

  /** The queue judged as one, from its partitions' figures, consumers and histories merged. */
  private CompletionStage<QueueHealth> health() {
    CompletableFuture<QueueInfo> info = calls.all(QueueActor.GetInfo::new)
        .thenApply(infos -> partitions.info(queueSettings, infos)).toCompletableFuture();
    CompletableFuture<List<ConsumerInfo>> consumers = calls.all(QueueActor.ListConsumers::new)
        .thenApply(partitions::consumers).toCompletableFuture();
    long now = settings.clock().millis();
    CompletableFuture<QueueHistory> history = history(now - HealthJudge.window(settings.janitor().health(),
        settings.janitor().history().interval().toMillis())).toCompletableFuture();
    return CompletableFuture.allOf(info, consumers, history).thenApply(done -> HealthJudge.judge(info.join(),
        consumers.join(), history.join(), now, settings.janitor().health()));
  }

  private <T> Behavior<QueueActor.Command> reply(ActorRef<StatusReply<T>> replyTo, CompletionStage<T> result) {
    result.whenComplete((value, failure) -> replyTo.tell(failure == null
        ? StatusReply.success(value) : StatusReply.error(calls.asTheQueues(calls.unwrap(failure)))));
    return this;
  }

}
