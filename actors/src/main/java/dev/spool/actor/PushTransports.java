package dev.spool.actor;

import dev.spool.PushTransport;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;

/**
 * The push transport of an actor system, and the push consumers waiting for one: consumers of
 * durable queues start while the journal recovers, before the HTTP module has registered its
 * transport, so they wait here and are told when it comes. One set entry per live push consumer.
 */
public final class PushTransports implements Extension {

  /** The extension's id. */
  public static final ExtensionId<PushTransports> ID = new ExtensionId<>() {
    @Override
    public PushTransports createExtension(ActorSystem<?> system) {
      return new PushTransports();
    }
  };

  private PushTransport transport;
  private final Set<ActorRef<ConsumerActor.Command>> waiting = new HashSet<>();

  private PushTransports() {}

  /** The extension of {@code system}. */
  public static PushTransports get(ActorSystem<?> system) {
    return ID.apply(system);
  }

  /** Registers {@code transport} (replacing any other for pushers opened from now) and wakes the consumers waiting. */
  public void use(PushTransport transport) {
    List<ActorRef<ConsumerActor.Command>> wake;
    synchronized (this) {
      this.transport = transport;
      wake = List.copyOf(waiting);
      waiting.clear();
    }
    for (ActorRef<ConsumerActor.Command> consumer : wake) {
      consumer.tell(ConsumerActor.PushTransportReady.INSTANCE);
    }
  }

  /** The transport registered, or {@code null}. */
  public synchronized PushTransport transport() {
    return transport;
  }

  /** The transport, or {@code null} after registering {@code consumer} to be told when there is one. */
  synchronized PushTransport transportOrWait(ActorRef<ConsumerActor.Command> consumer) {
    if (transport == null) {
      waiting.add(consumer);
    }
    return transport;
  }

  /** {@code consumer} stopped: it no longer waits. */
  synchronized void forget(ActorRef<ConsumerActor.Command> consumer) {
    waiting.remove(consumer);
  }
}
