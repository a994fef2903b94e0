package dev.spool.actor;

import dev.spool.SpoolEvent;
import java.time.Clock;
import java.util.ArrayDeque;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.eventstream.EventStream;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * Feeds one {@code Spool.events()} stream from Pekko's event stream. It passes on one event per
 * demand signal and holds at most {@code bufferSize} more: a listener that falls behind loses the
 * oldest, and is told how many in an {@link SpoolEvent.EventsDropped} before the next event it gets,
 * so a slow listener never grows Spool's memory and never silently misses events.
 *
 * <p>It receives {@link SpoolEvent}s directly (its creator subscribes it to the event stream, so
 * that the subscription is in place before the creator does anything else) and the stream protocol
 * messages below; hence its message type is {@code Object}.
 */
public final class EventListener extends AbstractBehavior<Object> {

  /** The stream to feed. */
  public record Attach(ActorRef<SpoolEvent> stream) {}

  /** The stream took the last event and wants another. */
  public enum Demand {
    INSTANCE
  }

  /** The stream ended. */
  public enum Detach {
    INSTANCE
  }

  public static Behavior<Object> create(int bufferSize, Clock clock) {
    return Behaviors.setup(context -> new EventListener(context, bufferSize, clock));
  }

  private final int bufferSize;
  private final Clock clock;
  private final ArrayDeque<SpoolEvent> buffer = new ArrayDeque<>();
  private ActorRef<SpoolEvent> stream;
  private boolean demand = true; // the stream accepts its first element unasked
  private long dropped;

  private EventListener(ActorContext<Object> context, int bufferSize, Clock clock) {
    super(context);
    this.bufferSize = bufferSize;
    this.clock = clock;
  }

  @Override
  public Receive<Object> createReceive() {
    return newReceiveBuilder()
        .onMessage(SpoolEvent.class, this::onEvent)
        .onMessage(Attach.class, attach -> {
          stream = attach.stream();
          return pass();
        })
        .onMessageEquals(Demand.INSTANCE, () -> {
          demand = true;
          return pass();
        })
        .onMessageEquals(Detach.INSTANCE, Behaviors::stopped)
        .onSignal(PostStop.class, signal -> {
          getContext().getSystem().eventStream().tell(
              new EventStream.Unsubscribe<>(getContext().getSelf().<SpoolEvent>unsafeUpcast()));
          return this;
        })
        .build();
  }

  private Behavior<Object> onEvent(SpoolEvent event) {
    if (buffer.size() >= bufferSize) {
      buffer.pollFirst();
      dropped++;
    }
    buffer.addLast(event);
    return pass();
  }

  private Behavior<Object> pass() {
    if (stream == null || !demand) {
      return this;
    }
    if (dropped > 0) {
      stream.tell(new SpoolEvent.EventsDropped(clock.instant(), dropped));
      dropped = 0;
      demand = false;
    } else if (!buffer.isEmpty()) {
      stream.tell(buffer.pollFirst());
      demand = false;
    }
    return this;
  }
}
