package dev.spool;

import dev.spool.queue.Partitions;
import java.util.ArrayList;
import java.util.concurrent.CompletableFuture;

import dev.spool.actor.ConsumerActor;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.stream.javadsl.Source;

/**
 * A handle on one consumer of one queue: pull reads with long-poll, acknowledgements, seek and
 * pause, and push delivery to streams and actors. Thread-safe; every call is a message to the
 * consumer's actor.
 *
 * @since 0.1.0
 */
public final class QueueConsumer {

  private final Spool spool;
  private final String queue;
  private final String name;
  private final CompletionStage<ConsumerInfo> created;
  /** What completes each stream this handle started, while it runs. */
  private final Set<Runnable> streams = ConcurrentHashMap.newKeySet();
  /** How long an acknowledgement sent straight to the consumer's actor waits before it goes by name. */
  private static final Duration SETTLE_SILENCE = Duration.ofSeconds(1);

  /** The consumer's actor, located by the first acknowledgement or nack; see {@link #settle}. */
  private final java.util.concurrent.atomic.AtomicReference<ActorRef<ConsumerActor.Command>> route =
      new java.util.concurrent.atomic.AtomicReference<>();
  /** Set once the consumer turned out to be a partitioned queue's: acknowledgements go by name. */
  private volatile boolean byNameOnly;

  QueueConsumer(Spool spool, String queue, String name, CompletionStage<ConsumerInfo> created) {
    this.spool = spool;
    this.queue = queue;
    this.name = name;
    this.created = created;
  }

  /** The queue consumed. */
  public String queue() {
    return queue;
  }

  /** The consumer's name. */
  public String name() {
    return name;
  }

  /** Completes when the consumer exists (with its info as created), or fails with why it could not be created. */
  public CompletionStage<ConsumerInfo> ready() {
    return created;
  }

  /** The consumer's position, lag, delivery state and counters now. */
  public CompletionStage<ConsumerInfo> info() {
    return call(ConsumerActor.GetInfo::new);
  }

  // ---- pull

  /** The next delivery, if one is available now. */
  public CompletionStage<Optional<Delivery>> read() {
    return readBatch(1).thenApply(ds -> ds.stream().findFirst());
  }

  /** Up to {@code max} deliveries available now (possibly none). */
  public CompletionStage<List<Delivery>> readBatch(int max) {
    return readBatch(max, Duration.ZERO);
  }

  /**
   * Up to {@code max} deliveries; if none is available, waits up to {@code wait} (at most
   * {@code spool.consumer.max-read-wait}) for the first (long-poll) and completes as soon as one
   * arrives, or with an empty list.
   */
  public CompletionStage<List<Delivery>> readBatch(int max, Duration wait) {
    Duration w = wait == null ? Duration.ZERO : wait;
    // The consumer waits at most spool.consumer.max-read-wait, however long was asked for; so does the ask.
    Duration cap = spool.settings().consumer().maxReadWait();
    Duration timeout = spool.settings().askTimeout().plus(w.isNegative() ? Duration.ZERO : w.compareTo(cap) > 0 ? cap : w);
    return created.thenCompose(ready -> {
      long notAfter = System.currentTimeMillis() + timeout.toMillis();
      return spool.askConsumer(queue, name, r -> new ConsumerActor.Read(max, w, notAfter, r), timeout);
    });
  }

  // ---- acknowledgement

  /** Acknowledges one delivery; completes with 1 if it was newly acknowledged, else 0. */
  public CompletionStage<Integer> acknowledge(Delivery delivery) {
    return acknowledgeBatch(java.util.Collections.singletonList(delivery));
  }

  /** Acknowledges deliveries; completes with how many were newly acknowledged (repeats are not errors). */
  public CompletionStage<Integer> acknowledgeBatch(List<Delivery> deliveries) {
    List<Long> sequences;
    try {
      sequences = sequencesOf(deliveries);
    } catch (SpoolException e) {
      return Spool.failed(e);
    }
    return this.<AckResult>settle(r -> new ConsumerActor.Ack(sequences, r)).thenApply(AckResult::acked);
  }

  /** Acknowledges sequences, reporting which were new, already acknowledged or never delivered. */
  public CompletionStage<AckResult> acknowledgeSequences(List<Long> sequences) {
    if (sequences == null || sequences.stream().anyMatch(java.util.Objects::isNull)) {
      return Spool.failed(new SpoolException.InvalidConfiguration("sequences must not be null"));
    }
    List<Long> copy = List.copyOf(sequences);
    return settle(r -> new ConsumerActor.Ack(copy, r));
  }

  /** Acknowledges every delivered sequence at or below {@code sequence}; completes with how many were new. */
  public CompletionStage<Integer> acknowledgeUpTo(long sequence) {
    return this.<AckResult>settle(r -> new ConsumerActor.AckUpTo(sequence, r)).thenApply(AckResult::acked);
  }

  /** Gives a delivery back: redelivered after the backoff with {@code requeue}, else given up on. */
  public CompletionStage<Done> nack(Delivery delivery, boolean requeue) {
    List<Long> sequences;
    try {
      sequences = sequencesOf(java.util.Collections.singletonList(delivery));
    } catch (SpoolException e) {
      return Spool.failed(e);
    }
    return this.<Integer>settle(r -> new ConsumerActor.Nack(sequences, requeue, r)).thenApply(n -> Done.getInstance());
  }

  /**
   * Gives deliveries back by sequence: with {@code requeue} they are delivered again after the
   * backoff, without it they are given up on (dead-lettered, or dropped without a dead-letter queue).
   * Completes with how many were in flight and so nacked: a sequence never delivered, already
   * settled or unknown changes nothing and is not counted (in ack mode {@code none} none is).
   */
  public CompletionStage<Integer> nack(List<Long> sequences, boolean requeue) {
    if (sequences == null || sequences.stream().anyMatch(java.util.Objects::isNull)) {
      return Spool.failed(new SpoolException.InvalidConfiguration("sequences to nack are required"));
    }
    List<Long> copy = List.copyOf(sequences);
    return settle(r -> new ConsumerActor.Nack(copy, requeue, r));
  }

  private List<Long> sequencesOf(List<Delivery> deliveries) {
    long[] sequences = new long[deliveries.size()];
    int i = 0;
    for (Delivery d : deliveries) {
      if (d == null || !d.consumer().equals(name)) {
        throw new SpoolException.InvalidConfiguration("a delivery of consumer '"
            + (d == null ? null : d.consumer()) + "' cannot be acknowledged through consumer '" + name + "'");
      }
      sequences[i++] = d.sequence();
    }
    return new Sequences(sequences);
  }

  /**
   * Sequences to settle, unboxed: a batch of a thousand acknowledgements holds one array, not a
   * thousand {@code Long}s; read back one by one on the consumer's thread, each box is short-lived.
   */
  private static final class Sequences extends java.util.AbstractList<Long> implements java.util.RandomAccess {
    private final long[] sequences;

    Sequences(long[] sequences) {
      this.sequences = sequences;
    }

    @Override
    public Long get(int index) {
      return sequences[index];
    }

    @Override
    public int size() {
      return sequences.length;
    }
  }

  // ---- position

  /** Moves the cursor; deliveries in flight are dropped. */
  public CompletionStage<Done> seek(StartPosition to) {
    if (to == null) {
      return Spool.failed(new SpoolException.InvalidConfiguration("a seek position is required"));
    }
    return call(r -> new ConsumerActor.Seek(to, r));
  }

  /** Stops delivering, keeping the position. */
  public CompletionStage<Done> pause() {
    return call(ConsumerActor.Pause::new);
  }

  /** Delivers again after {@link #pause()}. */
  public CompletionStage<Done> resume() {
    return call(ConsumerActor.Resume::new);
  }

  // ---- push

  /**
   * Deliveries as a stream, back-pressured by its demand and by the consumer's prefetch. Several
   * sources (and pull reads, and actor subscribers) on one consumer share its messages. In
   * {@code explicit} ack mode acknowledge each delivery; when the stream ends, what it held
   * unacknowledged is redelivered. The stream completes when the consumer is deleted.
   */
  public Source<Delivery, NotUsed> source() {
    String partition = partitionRefusal();
    return partition != null ? Source.failed(new SpoolException.InvalidConfiguration(partition))
        : Source.fromGraph(ConsumerStream.deliveries(this::feeds, streams));
  }

  /**
   * {@link #source()} as the batches the consumer hands out, in order: whatever is ready when the
   * stream asks, up to {@code spool.consumer.stream-batch} deliveries and never empty. For
   * consumers that work a batch at a time (bulk writes, batched acks), it saves the stream's work
   * per delivery. Back-pressure, prefetch, acknowledgement and ending are those of {@link #source()}.
   */
  public Source<List<Delivery>, NotUsed> batches() {
    String partition = partitionRefusal();
    return partition != null ? Source.failed(new SpoolException.InvalidConfiguration(partition))
        : Source.fromGraph(ConsumerStream.batches(this::feeds, streams));
  }

  /** Why this handle cannot stream, when its queue is a partition of another; else {@code null}. */
  private String partitionRefusal() {
    String partitioned = Partitions.parentOf(queue);
    return partitioned == null ? null : "'" + queue + "' is a partition of queue '" + partitioned
        + "': consume it through '" + partitioned + "'";
  }

  /**
   * The consumer actors a stream reads, found when it starts: this consumer's, or a partitioned
   * queue's consumer in each partition, its deliveries numbered as the queue's (so order holds per
   * partition, and so per key). The stream talks to them directly: a consumer that stops ends its
   * streams first (deleted) or keeps its reference (restarted), so a reference never goes stale
   * under a live stream.
   */
  private CompletionStage<List<ConsumerStream.Feed>> feeds() {
    return created.thenCompose(ready -> spool.queueInfo(queue)).thenCompose(info -> {
      if (!info.settings().partitioned()) {
        return consumerRef(queue).thenApply(ref -> List.of(new ConsumerStream.Feed(ref, batch -> batch)));
      }
      Partitions partitions = new Partitions(queue, info.settings().partitions());
      List<CompletableFuture<ConsumerStream.Feed>> each = new ArrayList<>();
      for (int p = 0; p < partitions.count(); p++) {
        int partition = p;
        each.add(consumerRef(partitions.name(p)).thenApply(ref -> new ConsumerStream.Feed(ref,
            batch -> partitions.deliveries(batch, partition))).toCompletableFuture());
      }
      return CompletableFuture.allOf(each.toArray(CompletableFuture[]::new))
          .thenApply(done -> each.stream().map(CompletableFuture::join).toList());
    });
  }

  private CompletionStage<ActorRef<ConsumerActor.Command>> consumerRef(String queueOrPartition) {
    return spool.askConsumer(queueOrPartition, name, ConsumerActor.GetRef::new, spool.settings().askTimeout());
  }

  /**
   * Attaches an actor that receives deliveries. It holds at most {@code prefetch} unacknowledged
   * deliveries; acknowledging or nacking returns credit (in {@code none} ack mode too). When it
   * stops, what it held unacknowledged is redelivered.
   */
  public CompletionStage<Done> subscribe(ActorRef<Delivery> subscriber) {
    return call(r -> new ConsumerActor.Subscribe(subscriber, r));
  }

  /**
   * Runs {@code handler} for each delivery, at most {@code parallelism} calls at once, supervised:
   * a call whose stage completes acknowledges the delivery; one that throws, fails or outlives
   * {@code spool.handler.timeout} nacks it, and it is redelivered after the consumer's backoff and
   * dead-lettered after {@code maxDeliveries}. Repeated failures open the handler's circuit breaker
   * ({@code BreakerOpened}): calls pause until a trial call succeeds ({@code BreakerClosed}). The
   * handler runs on {@code spool.handler.dispatcher}, a pool apart from Pekko's, so it may block.
   * Several subscriptions on one consumer share its messages.
   *
   * @param parallelism at most this many calls at once, between 1 and the consumer's prefetch
   */
  public Subscription subscribe(Function<Delivery, CompletionStage<Done>> handler, int parallelism) {
    return subscribe(handler, parallelism, spool.settings().handler());
  }

  /** {@link #subscribe(Function, int)} with another timeout, dispatcher or breaker. */
  public Subscription subscribe(Function<Delivery, CompletionStage<Done>> handler, int parallelism,
      HandlerSettings settings) {
    CompletionStage<Long> id = handler == null || settings == null
        ? Spool.failed(new SpoolException.InvalidConfiguration("a handler and handler settings are required"))
        : this.<Long>call(r -> new ConsumerActor.SubscribeHandler(handler, parallelism, settings, r));
    return new Subscription() {
      @Override
      public String consumer() {
        return name;
      }

      @Override
      public CompletionStage<Long> ready() {
        return id;
      }

      @Override
      public CompletionStage<Done> cancel() {
        Duration timeout = spool.settings().askTimeout().plus(settings == null ? Duration.ZERO : settings.timeout());
        return id.thenCompose(subscription -> spool.askConsumer(queue, name,
            r -> new ConsumerActor.UnsubscribeHandler(subscription, r), timeout));
      }

      @Override
      public String toString() {
        return "Subscription(" + queue + "/" + name + ")";
      }
    };
  }

  /** Detaches an actor subscriber; what it held unacknowledged is redelivered. */
  public CompletionStage<Done> unsubscribe(ActorRef<Delivery> subscriber) {
    return call(r -> new ConsumerActor.Unsubscribe(subscriber, r));
  }

  /** Detaches the streams this handle started; the consumer and its position stay. */
  public CompletionStage<Done> close() {
    streams.forEach(Runnable::run);
    return created.handle((info, failure) -> Done.getInstance());
  }

  private <T> CompletionStage<T> call(Function<ActorRef<StatusReply<T>>, ConsumerActor.Command> command) {
    return created.thenCompose(ready -> spool.askConsumer(queue, name, command, spool.settings().askTimeout()));
  }

  /**
   * An acknowledgement or nack, sent straight to the consumer's actor once located (one hop, as
   * stream demand goes), not through the manager and the queue. If that actor has stopped (the
   * consumer deleted, perhaps created again), the call goes by name once more, which reaches the
   * consumer that has the name now or answers {@code ConsumerNotFound}; the next call locates it
   * again. A partitioned queue's consumer is one per partition, and its calls go by name.
   */
  private <T> CompletionStage<T> settle(Function<ActorRef<StatusReply<T>>, ConsumerActor.Command> command) {
    if (byNameOnly || !spool.routesDirectly()) {
      return call(command);
    }
    return created.thenCompose(ready -> {
      ActorRef<ConsumerActor.Command> located = route.get();
      if (located != null) {
        return straight(located, command);
      }
      return spool.<ActorRef<ConsumerActor.Command>>askConsumer(queue, name, ConsumerActor.GetRef::new,
              spool.settings().askTimeout())
          .handle((ref, failure) -> {
            if (failure != null && cause(failure) instanceof SpoolException.InvalidConfiguration) {
              byNameOnly = true; // partitioned
            }
            return ref;
          })
          .thenCompose(ref -> {
            if (ref == null) {
              return spool.askConsumer(queue, name, command, spool.settings().askTimeout());
            }
            route.compareAndSet(null, ref);
            return straight(ref, command);
          });
    });
  }

  private <T> CompletionStage<T> straight(ActorRef<ConsumerActor.Command> ref,
      Function<ActorRef<StatusReply<T>>, ConsumerActor.Command> command) {
    // Settling twice is harmless (the second finds it settled): after a short silence, by name.
    Duration silence = spool.settings().askTimeout().compareTo(SETTLE_SILENCE) < 0 ? spool.settings().askTimeout()
        : SETTLE_SILENCE;
    return spool.askDirect(ref, command, silence, true, () -> route.compareAndSet(ref, null),
        () -> spool.askConsumer(queue, name, command, spool.settings().askTimeout()));
  }

  private static Throwable cause(Throwable failure) {
    return failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null
        ? failure.getCause() : failure;
  }
}
