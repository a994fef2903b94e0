package dev.spool.http;

import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * Whether the service is stopping: from the moment the port closes or the actor system's
 * CoordinatedShutdown starts. Reads consult it, because a draining engine answers a read with no
 * deliveries, which a client would take for an empty queue rather than a server going away.
 * Thread-safe.
 */
final class Lifecycle {

  private final AtomicBoolean stopping = new AtomicBoolean();
  private final CoordinatedShutdown shutdown;

  Lifecycle(ActorSystem<?> system) {
    this.shutdown = CoordinatedShutdown.get(system);
  }

  /** From now on the service is stopping. */
  void stop() {
    stopping.set(true);
  }

  boolean stopping() {
    return stopping.get() || shutdown.getShutdownReason().isPresent();
  }
}
