package dev.spool;

import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;

/**
 * A handler attached to a consumer by {@link QueueConsumer#subscribe(java.util.function.Function, int)}.
 * Deliveries flow to it until it is cancelled; the consumer and its position stay.
 *
 * @since 0.1.0
 */
public interface Subscription {

  /** The consumer it is attached to. */
  String consumer();

  /** Completes when the subscription is attached, or fails with why it could not be (its id otherwise). */
  CompletionStage<Long> ready();

  /**
   * Detaches the handler: no new calls start; completes when the calls in flight have finished
   * (their outcomes still acknowledge or nack). Idempotent.
   */
  CompletionStage<Done> cancel();
}
