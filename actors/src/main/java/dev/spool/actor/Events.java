package dev.spool.actor;

import dev.spool.ClusterSettings;
import dev.spool.SpoolEvent;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.eventstream.EventStream;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.pubsub.Topic;

/**
 * Publishes Spool's events to Pekko's event stream, where {@code Spool.events()} listeners pick
 * them up. In cluster mode an event goes to a cluster-wide topic instead, and every member passes
 * what the topic brings (its own events included) to its event stream: a listener on any member
 * sees the events of every queue, wherever it runs, once each.
 */
final class Events implements Extension {

  private static final ExtensionId<Events> ID = new ExtensionId<>() {
    @Override
    public Events createExtension(ActorSystem<?> system) {
      return new Events(system);
    }
  };

  /** The cluster's topic, or {@code null} standalone. */
  private final ActorRef<Topic.Command<SpoolEvent>> topic;

  private Events(ActorSystem<?> system) {
    if (!ClusterSettings.create(system.settings().config()).enabled()) {
      topic = null;
      return;
    }
    topic = system.systemActorOf(Topic.create(SpoolEvent.class, "spool-events"), "spool-events-topic", Props.empty());
    ActorRef<SpoolEvent> bridge = system.systemActorOf(toEventStream(), "spool-events-bridge", Props.empty());
    topic.tell(Topic.subscribe(bridge));
  }

  private static Behavior<SpoolEvent> toEventStream() {
    return Behaviors.receive((context, event) -> {
      context.getSystem().eventStream().tell(new EventStream.Publish<>(event));
      return Behaviors.same();
    });
  }

  static void publish(ActorSystem<?> system, SpoolEvent event) {
    ActorRef<Topic.Command<SpoolEvent>> topic = ID.apply(system).topic;
    if (topic == null) {
      system.eventStream().tell(new EventStream.Publish<>(event));
    } else {
      topic.tell(Topic.publish(event));
    }
  }
}
