package dev.spool.durable;

import org.apache.pekko.actor.typed.javadsl.ActorContext;

import dev.spool.SpoolSettings;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.slf4j.event.Level;

/**
 * What Spool's event-sourced actors share: the journal and snapshot store of
 * {@code spool.persistence}, a restart with backoff when a write fails, and a mutable state that
 * such a restart cannot see half-changed.
 *
 * <p>Pekko restarts a failed behavior from {@link #emptyState()}, the same object each time, and
 * applies an event to the state before writing it. So the empty state is a template never changed:
 * an event handler takes {@link #writable(Object)} of its state, and the first event starts a
 * state of its own.
 */
abstract class JournaledBehavior<C, E, S> extends EventSourcedBehavior<C, E, S> {

  final SpoolSettings.Persistence settings;
  private final Supplier<S> fresh;
  private final S empty;
  private final PauseFence.Gate fence;

  /**
   * @param fresh makes a new empty state
   * @param fence holds writes back after this member was paused (cluster mode)
   */
  JournaledBehavior(PersistenceId id, SpoolSettings.Persistence settings, Supplier<S> fresh, PauseFence fence) {
    // At DEBUG: the queue reports each failure to the manager, which logs it once, not once per retry.
    super(id, SupervisorStrategy.restartWithBackoff(settings.restartMinBackoff(), settings.restartMaxBackoff(), 0.2)
        .withLogLevel(Level.DEBUG));
    this.settings = settings;
    this.fresh = fresh;
    this.empty = fresh.get();
    this.fence = new PauseFence.Gate(fence);
  }

  /**
   * Whether writes must wait now ({@link PauseFence}): if so, a command that writes is stashed
   * ({@code Effect().stash()}) and {@code check} is sent to this actor when the fence may have
   * opened, to unstash them; meanwhile the queue sees a write under way, as with a slow journal.
   */
  final boolean writesHeld(ActorContext<C> context, C check) {
    return fence.held(in -> context.scheduleOnce(in, context.getSelf(), check));
  }

  /** {@code check} arrived: writes wait on (another check is scheduled) or may go ahead. */
  final boolean stillHeld(ActorContext<C> context, C check) {
    return fence.checked(in -> context.scheduleOnce(in, context.getSelf(), check));
  }

  @Override
  public final S emptyState() {
    return empty;
  }

  /** {@code state}, or a new empty state instead of the template: what an event handler may change. */
  final S writable(S state) {
    return state == empty ? fresh.get() : state;
  }

  @Override
  public String journalPluginId() {
    return settings.journalPluginId();
  }

  @Override
  public String snapshotPluginId() {
    return settings.snapshotPluginId();
  }
}
