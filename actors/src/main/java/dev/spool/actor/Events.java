package dev.spool.actor;

import dev.spool.SpoolEvent;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.eventstream.EventStream;

/** Publishes Spool's events to Pekko's event stream, where {@code Spool.events()} listeners pick them up. */
final class Events {

  private Events() {}

  static void publish(ActorSystem<?> system, SpoolEvent event) {
    system.eventStream().tell(new EventStream.Publish<>(event));
  }
}
