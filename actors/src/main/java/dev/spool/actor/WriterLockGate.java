package dev.spool.actor;

import dev.spool.durable.QueueRegistry;
import dev.spool.durable.WriterLock;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.apache.pekko.Done;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;

/**
 * The registry of durable queues, started only once the engine holds its database's
 * {@link WriterLock}: until then nothing durable is read or written. While the lock is not held
 * for a reason worth reporting (another node holds it, the database cannot be reached, it was
 * refused), the manager hears that the registry is {@link QueueRegistry.Unavailable} with that
 * reason, so that readiness answers 503 with it and durable queues are refused meanwhile.
 */
final class WriterLockGate extends AbstractBehavior<Object> {

  /** How often the lock's state is looked at: cheap (a field), and readiness follows within a second. */
  static final Duration POLL = Duration.ofSeconds(1);

  // Its timer and its piped result: to itself only, never remote.
  private enum Poll implements NoSerializationVerificationNeeded { INSTANCE }

  private record Opened(Throwable failure) implements NoSerializationVerificationNeeded {}

  /**
   * Why the registry is not read yet, as health and refusals report it: handed to this JVM's
   * manager only, never sent on its own.
   */
  static final class WriterLockNotHeld extends RuntimeException implements NoSerializationVerificationNeeded {
    WriterLockNotHeld(String message) {
      super(message, null, false, false);
    }
  }

  /** {@code registry}, once {@code lock} is held; {@code registry} itself without a lock. */
  static Behavior<QueueRegistry.Command> registry(WriterLock lock, ActorRef<QueueRegistry.Reply> manager,
      Behavior<QueueRegistry.Command> registry) {
    if (lock == null) {
      return registry;
    }
    Behavior<Object> gate = Behaviors.setup(context -> {
      CompletableFuture<Done> held = lock.held().toCompletableFuture();
      if (held.isDone() && !held.isCompletedExceptionally()) {
        return widen(registry); // restarted by its supervisor after the lock was taken
      }
      context.pipeToSelf(lock.held(), (done, failure) -> new Opened(failure));
      return Behaviors.withTimers(timers -> {
        timers.startTimerWithFixedDelay(Poll.INSTANCE, POLL);
        return new WriterLockGate(context, timers, lock, manager, registry);
      });
    });
    return gate.narrow();
  }

  private final TimerScheduler<Object> timers;
  private final WriterLock lock;
  private final ActorRef<QueueRegistry.Reply> manager;
  private final Behavior<QueueRegistry.Command> registry;
  private String reported;

  private WriterLockGate(ActorContext<Object> context, TimerScheduler<Object> timers, WriterLock lock,
      ActorRef<QueueRegistry.Reply> manager, Behavior<QueueRegistry.Command> registry) {
    super(context);
    this.timers = timers;
    this.lock = lock;
    this.manager = manager;
    this.registry = registry;
  }

  @Override
  public Receive<Object> createReceive() {
    return newReceiveBuilder()
        .onMessage(Opened.class, this::onOpened)
        .onMessageEquals(Poll.INSTANCE, this::onPoll)
        .build();
  }

  private Behavior<Object> onOpened(Opened opened) {
    timers.cancelAll(); // the registry must never receive the gate's messages
    if (opened.failure() == null) {
      return widen(registry);
    }
    Throwable cause = opened.failure() instanceof CompletionException c && c.getCause() != null
        ? c.getCause() : opened.failure();
    manager.tell(new QueueRegistry.Unavailable(cause)); // refused: the registry is never read here
    return this;
  }

  private Behavior<Object> onPoll() {
    String status = lock.status();
    if (status != null && !Objects.equals(status, reported)) {
      reported = status;
      manager.tell(new QueueRegistry.Unavailable(new WriterLockNotHeld(status)));
    }
    return this;
  }

  @SuppressWarnings("unchecked")
  private static Behavior<Object> widen(Behavior<QueueRegistry.Command> registry) {
    return (Behavior<Object>) (Behavior<?>) registry; // the gate's own messages are gone once it opens
  }
}
