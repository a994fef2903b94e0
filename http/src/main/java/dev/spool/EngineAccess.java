package dev.spool;

import dev.spool.actor.ConsumerActor;
import dev.spool.actor.Created;
import dev.spool.actor.QueueActor;
import dev.spool.actor.QueueManager;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;

/**
 * What the HTTP service needs of the engine beyond the public {@link Spool} facade, until the facade
 * offers it: whether a create call created (201) or found an equal resource (200), a handle on an
 * existing consumer that never creates one, and a nack by sequence numbers. It lives in the engine's
 * package (in the http module) only to reach {@link Spool}'s package-private ask, with its timeout
 * and shutdown translation, and {@link QueueConsumer}'s constructor.
 */
public final class EngineAccess {

  private EngineAccess() {}

  /** {@link Spool#createQueue} telling whether this call created the queue. */
  public static CompletionStage<Created<QueueInfo>> createQueue(Spool spool, String name, QueueSettings settings) {
    return spool.ask(r -> new QueueManager.CreateQueue(name, settings, r));
  }

  /** {@link Spool#createConsumer} telling whether this call created the consumer. */
  public static CompletionStage<Created<ConsumerInfo>> createConsumer(Spool spool, String queue,
      ConsumerSettings settings) {
    return spool.ask(r -> new QueueManager.ToQueue(queue, new QueueActor.CreateConsumer(settings, r)));
  }

  /**
   * A handle on the consumer {@code name} of {@code queue} that never creates it: each call fails
   * with {@code QueueNotFound} or {@code ConsumerNotFound} when it does not exist.
   */
  public static QueueConsumer consumer(Spool spool, String queue, String name) {
    return new QueueConsumer(spool, queue, name, CompletableFuture.completedFuture(null));
  }

  /** Gives deliveries back by sequence: redelivered after the backoff with {@code requeue}, else given up on. */
  public static CompletionStage<Done> nack(Spool spool, String queue, String consumer, List<Long> sequences,
      boolean requeue) {
    List<Long> copy = List.copyOf(sequences);
    return spool.askConsumer(queue, consumer, r -> new ConsumerActor.Nack(copy, requeue, r),
        spool.settings().askTimeout());
  }
}
