package dev.spool.testkit;

import dev.spool.SpoolEvent;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.eventstream.EventStream;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * Keeps the Spool events published on a system's event stream, for a test to look at: the newest
 * {@link #CAPACITY}, so that a long test cannot grow it without bound.
 */
final class EventRecorder {

  /** Events kept; older ones are forgotten and counted. */
  static final int CAPACITY = 10_000;

  private enum Stop { INSTANCE }

  private final List<SpoolEvent> events = new ArrayList<>();
  private long forgotten;
  private final ActorSystem<?> system;
  private final ActorRef<Object> listener;

  EventRecorder(ActorSystem<?> system, String name) {
    this.system = system;
    this.listener = system.systemActorOf(behavior(), name, Props.empty());
    // Told before the engine starts: the event stream handles this before any event the engine publishes.
    system.eventStream().tell(new EventStream.Subscribe<>(SpoolEvent.class, listener.narrow()));
  }

  private Behavior<Object> behavior() {
    return Behaviors.receive(Object.class)
        .onMessage(SpoolEvent.class, this::record)
        .onMessageEquals(Stop.INSTANCE, Behaviors::stopped)
        .build();
  }

  private Behavior<Object> record(SpoolEvent event) {
    synchronized (events) {
      if (events.size() == CAPACITY) {
        events.remove(0);
        forgotten++;
      }
      events.add(event);
    }
    return Behaviors.same();
  }

  /** The events recorded so far, oldest first. */
  List<SpoolEvent> events() {
    synchronized (events) {
      return List.copyOf(events);
    }
  }

  /** Events forgotten because more than {@link #CAPACITY} came. */
  long forgotten() {
    synchronized (events) {
      return forgotten;
    }
  }

  void stop() {
    system.eventStream().tell(new EventStream.Unsubscribe<>(listener.narrow()));
    listener.tell(Stop.INSTANCE);
  }
}
