package dev.spool;

import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;

/**
 * What makes the HTTP requests of push consumers ({@link PushSettings}). The engine has none of its
 * own, so that it carries no HTTP client: the HTTP module registers one with
 * {@link Spool#usePushTransport}; an embedding application without it may register its own. Until
 * one is registered, push consumers wait ({@code no-subscribers}) and deliver nothing.
 *
 * @since 0.1.0
 */
public interface PushTransport {

  /**
   * The pusher of one push consumer, opened when its actor starts (for each partition of a
   * partitioned queue). Called on the consumer's actor thread: it must not block.
   *
   * @param queue the queue (or partition) the consumer reads
   * @param settings the consumer's settings, defaults resolved; {@code settings.push()} is set
   */
  Pusher open(String queue, ConsumerSettings settings);

  /**
   * Refuses a push consumer before it is created, for an endpoint this transport will not call
   * (its host, its scheme): throw {@link SpoolException.InvalidConfiguration} saying why. Every
   * endpoint is accepted unless overridden.
   */
  default void check(String queue, ConsumerSettings settings) {}

  /** Sends one consumer's deliveries. */
  interface Pusher {

    /**
     * Sends {@code delivery}: completes when the receiver accepted it, fails with a
     * {@link PermanentFailure} for an answer that must not be retried, and with anything else for
     * one that may be. At most the push's {@code maxOutstanding} calls run at once. It is called on
     * Pekko's default dispatcher: it must return at once, never block (a name lookup included).
     */
    CompletionStage<Done> push(Delivery delivery);

    /** The consumer's actor stopped (deleted, or its queue stopped): nothing more is pushed through it. */
    void close();
  }
}
