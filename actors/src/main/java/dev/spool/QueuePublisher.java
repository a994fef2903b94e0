package dev.spool;

import dev.spool.actor.QueueActor;
import dev.spool.actor.QueueManager;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.Done;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * Publishes to one queue under one producer id. Cheap, and holds no state but where its queue's
 * actor is: create one per producer, share it freely between threads.
 *
 * @since 0.1.0
 */
public final class QueuePublisher {

  /** Messages a {@link #sink()} gathers into one publish, and how long it waits to fill one. */
  private static final int SINK_BATCH = 512;

  private static final Duration SINK_LINGER = Duration.ofMillis(1);

  /** Batches a sink keeps in flight: enough to hide a round trip, few enough to bound memory. */
  private static final int SINK_PARALLELISM = 4;

  private final Spool spool;
  private final String queue;
  private final String producerId;
  /**
   * The queue's actor, located by the first publish and sent to straight from then on, so that
   * publishes to different queues do not pass one by one through the manager; forgotten when it
   * turns out to have stopped (the queue deleted, perhaps created again), which the next publish
   * finds out by name.
   */
  private final AtomicReference<ActorRef<QueueActor.Command>> route = new AtomicReference<>();
  /** Guards {@link #waiting}, and the sending of what waited before {@link #route} is set. */
  private final Object locating = new Object();
  /** Publishes waiting for the lookup under way, in the order they were made; null while none is. */
  private List<Waiting> waiting;

  /** A publish waiting for the queue's actor to be located. */
  private record Waiting(List<Message> messages, CompletableFuture<List<Long>> answer) {}

  QueuePublisher(Spool spool, String queue, String producerId) {
    this.spool = spool;
    this.queue = queue;
    this.producerId = producerId == null ? "" : producerId;
  }

  /** The queue published to. */
  public String queue() {
    return queue;
  }

  /** The producer id messages carry. */
  public String producerId() {
    return producerId;
  }

  /** Appends one message; completes with its sequence. */
  public CompletionStage<Long> publish(Message message) {
    return publishAll(Collections.singletonList(message)).thenApply(sequences -> sequences.get(0));
  }

  /**
   * Appends all of {@code messages} in one step (all or none) with one round trip; completes with
   * their sequences, in order. A message whose producer-chosen id was appended within the dedup
   * window is not appended again: its original sequence is returned.
   */
  public CompletionStage<List<Long>> publishAll(List<Message> messages) {
    if (messages == null || messages.stream().anyMatch(java.util.Objects::isNull)) {
      return Spool.failed(new SpoolException.InvalidConfiguration("messages must not be null"));
    }
    List<Message> copy = Collections.unmodifiableList(new ArrayList<>(messages));
    if (!spool.routesDirectly()) {
      return byName(copy);
    }
    ActorRef<QueueActor.Command> located = route.get();
    if (located != null) {
      return straight(located, copy);
    }
    return located(copy);
  }

  /**
   * A publish while the queue's actor is not known: it waits for the one lookup under way (or
   * starts it), and the publishes that waited are sent in the order they were made once it answers,
   * before any publish that finds the route, so that one producer's concurrent publishes (a
   * {@link #sink()}'s, say) keep their order. Those waiting are the calls made during one lookup's
   * round trip, each holding its caller's future.
   */
  private CompletionStage<List<Long>> located(List<Message> messages) {
    CompletableFuture<List<Long>> answer = new CompletableFuture<>();
    boolean lookUp;
    synchronized (locating) {
      ActorRef<QueueActor.Command> located = route.get();
      if (located != null) {
        return straight(located, messages);
      }
      lookUp = waiting == null;
      if (lookUp) {
        waiting = new ArrayList<>();
      }
      waiting.add(new Waiting(messages, answer));
    }
    if (lookUp) {
      spool.<ActorRef<QueueActor.Command>>ask(r -> new QueueManager.Locate(queue, r))
          .handle((ref, failure) -> ref) // no queue (or refusing publishes): by name, which answers why
          .thenAccept(this::send);
    }
    return answer;
  }

  /**
   * The lookup answered: what waited goes out in order, straight to {@code ref} or by name if it is
   * null. The publishes are sent while the lock is held, so that none made meanwhile overtakes them;
   * their callers hear back only after it is released, as an answer may run their next publish on
   * this thread.
   */
  private void send(ActorRef<QueueActor.Command> ref) {
    List<Waiting> sent;
    List<CompletionStage<List<Long>>> answers = new ArrayList<>();
    synchronized (locating) {
      sent = waiting;
      waiting = null;
      for (Waiting w : sent) {
        CompletionStage<List<Long>> answer;
        try {
          answer = ref == null ? byName(w.messages()) : straight(ref, w.messages());
        } catch (RuntimeException e) {
          answer = CompletableFuture.failedFuture(e);
        }
        answers.add(answer);
      }
      if (ref != null) {
        route.compareAndSet(null, ref); // after the waiting publishes went out, so none overtakes them
      }
    }
    for (int i = 0; i < sent.size(); i++) {
      CompletableFuture<List<Long>> answer = sent.get(i).answer();
      answers.get(i).whenComplete((sequences, failure) -> {
        if (failure != null) {
          answer.completeExceptionally(failure);
        } else {
          answer.complete(sequences);
        }
      });
    }
  }

  private CompletionStage<List<Long>> straight(ActorRef<QueueActor.Command> ref, List<Message> messages) {
    return spool.askDirect(ref, r -> new QueueActor.Publish(producerId, messages, r),
        () -> route.compareAndSet(ref, null), () -> byName(messages));
  }

  private CompletionStage<List<Long>> byName(List<Message> messages) {
    return spool.ask(r -> new QueueManager.ToQueue(queue, new QueueActor.Publish(producerId, messages, r)));
  }

  /**
   * Publishes {@code message} as a request and completes with the first reply to it: the message
   * carries this Spool's reply queue in its {@code reply-to} header and a fresh
   * {@code correlation-id}; a consumer answers with {@link Spool#reply}. Fails with
   * {@code Timeout} when no reply came within {@code timeout} (at most 10 minutes; a later reply is
   * dropped), with {@code QueueFull} when 10,000 requests already wait, and as the publish fails.
   */
  public CompletionStage<Message> request(Message message, Duration timeout) {
    return spool.replies().request(this, message, timeout);
  }

  /**
   * A back-pressured sink that publishes in batches (up to {@value #SINK_BATCH} messages or 1 ms).
   * It completes when every message is appended and fails with the first publish that fails.
   */
  public Sink<Message, CompletionStage<Done>> sink() {
    return Flow.<Message>create()
        .groupedWithin(SINK_BATCH, SINK_LINGER)
        .mapAsync(SINK_PARALLELISM, this::publishAll)
        .toMat(Sink.ignore(), Keep.right());
  }
}
