package dev.spool.durable;

import dev.spool.SpoolSettings;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.RecoveryFailed;
import org.apache.pekko.persistence.typed.SnapshotAdapter;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * Which durable queues exist, with their settings: journaled, so that the manager can bring every
 * durable queue back at start. A child of the {@code QueueManager}.
 */
public final class QueueRegistry
    extends JournaledBehavior<QueueRegistry.Command, RegistryEvent, QueueRegistry.State> {

  /** What the registry understands. */
  public interface Command {}

  /** Record a durable queue (created, or created again with a new incarnation). */
  public record Define(RegistryEvent.QueueDefined queue, ActorRef<StatusReply<Done>> replyTo) implements Command {}

  /** Forget a durable queue. */
  public record Remove(String name, ActorRef<StatusReply<Done>> replyTo) implements Command {}

  /** To itself: writes held back by the {@link PauseFence} may go ahead now. */
  private enum FenceCheck implements Command, org.apache.pekko.actor.NoSerializationVerificationNeeded {
    INSTANCE
  }

  /** What the registry tells the manager. */
  public interface Reply {}

  /** Every durable queue, sent to the manager after each recovery. */
  public record Recovered(Map<String, RegistryEvent.QueueDefined> queues) implements Reply {}

  /** The registry could not be read; it retries after a backoff. */
  public record Unavailable(Throwable cause) implements Reply {}

  /** Mutable, touched only by the registry; snapshots copy it. */
  static final class State {
    final LinkedHashMap<String, RegistryEvent.QueueDefined> queues = new LinkedHashMap<>();
  }

  /** @param engine the engine's name, so that engines on one actor system keep apart registries */
  public static Behavior<Command> create(String engine, SpoolSettings.Persistence settings,
      ActorRef<Reply> replyTo) {
    return Behaviors.setup(context -> new QueueRegistry(context, engine, settings, replyTo));
  }

  private final ActorContext<Command> context;
  private final ActorRef<Reply> replyTo;

  private QueueRegistry(ActorContext<Command> context, String engine, SpoolSettings.Persistence settings,
      ActorRef<Reply> replyTo) {
    super(PersistenceId.ofUniqueId("spool-registry-" + engine), settings, State::new, PauseFence.get(context.getSystem()));
    this.context = context;
    this.replyTo = replyTo;
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(100, 2).withDeleteEventsOnSnapshot();
  }

  @Override
  public SnapshotAdapter<State> snapshotAdapter() {
    return new SnapshotAdapter<>() {
      @Override
      public Object toJournal(State state) {
        return new RegistryEvent.Queues(new LinkedHashMap<>(state.queues));
      }

      @Override
      public State fromJournal(Object from) {
        State state = new State();
        state.queues.putAll(((RegistryEvent.Queues) from).queues());
        return state;
      }
    };
  }

  @Override
  public CommandHandler<Command, RegistryEvent, State> commandHandler() {
    return newCommandHandlerBuilder()
        .forAnyState()
        .onCommand(Define.class, (state, define) -> writesHeld(context, FenceCheck.INSTANCE) ? Effect().stash()
            : Effect().persist(define.queue())
                .thenRun(s -> define.replyTo().tell(StatusReply.success(Done.getInstance()))))
        .onCommand(Remove.class, (state, remove) -> writesHeld(context, FenceCheck.INSTANCE) ? Effect().stash()
            : Effect().persist(new RegistryEvent.QueueRemoved(remove.name()))
                .thenRun(s -> remove.replyTo().tell(StatusReply.success(Done.getInstance()))))
        .onCommand(FenceCheck.class, (state, check) ->
            stillHeld(context, FenceCheck.INSTANCE) ? Effect().none() : Effect().unstashAll())
        .build();
  }

  @Override
  public EventHandler<State, RegistryEvent> eventHandler() {
    return newEventHandlerBuilder()
        .forAnyState()
        .onEvent(RegistryEvent.QueueDefined.class, (state, defined) -> {
          State next = writable(state);
          next.queues.put(defined.name(), defined);
          return next;
        })
        .onEvent(RegistryEvent.QueueRemoved.class, (state, removed) -> {
          State next = writable(state);
          next.queues.remove(removed.name());
          return next;
        })
        .build();
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), state -> replyTo.tell(new Recovered(Map.copyOf(state.queues))))
        .onSignal(RecoveryFailed.class, (state, failed) -> {
          // The manager logs it (once for identical failures) and reports it to health probes.
          context.getLog().debug("the registry of durable queues could not be read; retrying: {}",
              failed.getFailure().toString());
          replyTo.tell(new Unavailable(failed.getFailure()));
        })
        .build();
  }
}
