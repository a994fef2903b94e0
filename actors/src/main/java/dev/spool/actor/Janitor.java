package dev.spool.actor;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;

/**
 * Ticks every queue on a timer: each queue then expires, collects garbage, samples its rates and
 * checks its consumers for staleness itself, so the janitor stays a scheduler, not a god actor.
 * When memory pressure begins it ticks them at once with {@code relieve}, so that garbage
 * collection and each queue's overflow policy run without waiting for the next tick.
 *
 * <p>A child of the {@link QueueManager}, which tells it which queues exist.
 */
public final class Janitor extends AbstractBehavior<Janitor.Command> {

  /** Everything the janitor understands. */
  public interface Command {}

  /** A queue to tick from now on. */
  record Track(String queue, ActorRef<QueueActor.Command> ref) implements Command {}

  /** A queue that is gone. */
  record Untrack(String queue) implements Command {}

  /** Memory pressure began: relieve it now. */
  enum PressureBegan implements Command {
    INSTANCE
  }

  private enum Tick implements Command {
    INSTANCE
  }

  static Behavior<Command> create(Duration interval, MemoryMonitor memory) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers -> {
      timers.startTimerWithFixedDelay(Tick.INSTANCE, interval);
      return new Janitor(context, memory);
    }));
  }

  private final MemoryMonitor memory;
  private final Map<String, ActorRef<QueueActor.Command>> queues = new HashMap<>();

  private Janitor(ActorContext<Command> context, MemoryMonitor memory) {
    super(context);
    this.memory = memory;
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Track.class, track -> {
          queues.put(track.queue(), track.ref());
          return this;
        })
        .onMessage(Untrack.class, untrack -> {
          queues.remove(untrack.queue());
          return this;
        })
        .onMessageEquals(Tick.INSTANCE, () -> tick(memory.needsRelief()))
        .onMessageEquals(PressureBegan.INSTANCE, () -> {
          getContext().getLog().warn("memory pressure: {} bytes retained, threshold {}; collecting garbage and "
              + "applying overflow policies", memory.bytes(), memory.threshold());
          return tick(true);
        })
        .build();
  }

  private Behavior<Command> tick(boolean relieve) {
    QueueActor.Tick tick = new QueueActor.Tick(relieve);
    for (ActorRef<QueueActor.Command> queue : queues.values()) {
      queue.tell(tick);
    }
    return this;
  }
}
