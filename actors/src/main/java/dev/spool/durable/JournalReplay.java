package dev.spool.durable;

import java.time.Duration;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.persistence.JournalProtocol;
import org.apache.pekko.persistence.Persistence;
import org.apache.pekko.persistence.RecoveryPermitter;
import org.apache.pekko.persistence.SelectedSnapshot;
import org.apache.pekko.persistence.SnapshotProtocol;
import org.apache.pekko.persistence.SnapshotSelectionCriteria;

/**
 * One reading back of a queue's journal, for its {@link QueueJournal}: waits for a recovery permit
 * (Pekko's, shared with every event-sourced actor of the system, so that at most
 * {@code max-concurrent-recoveries} journals are read at once when many queues start), loads the
 * latest snapshot from the snapshot store, replays the events after it from the journal, and
 * answers once with what they add up to ({@link Replayed}) or why they could not be read
 * ({@link Failed}), then stops, which gives the permit back.
 *
 * <p>It receives the plugins' replies as they are: Pekko's classic protocol answers the sender,
 * and the permitter watches it, so it is addressed directly, not through an adapter. The permitter
 * is Pekko's internal API, the one its event-sourced actors use.
 *
 * <p>An actor of its own for each reading, so that a reading given up (it went quiet for longer
 * than the plugin's {@code recovery-event-timeout}) cannot feed its late events into the next one:
 * the plugins' replies carry nothing to tell two readings apart, but each goes to the actor that
 * asked.
 *
 * @param <S> what the events add up to
 */
final class JournalReplay<S> extends AbstractBehavior<Object> {

  /** To itself: the plugins said nothing for {@code quietFor}. */
  private enum Quiet implements NoSerializationVerificationNeeded {
    INSTANCE
  }

  /**
   * What the journal holds.
   *
   * @param state the snapshot and the events after it, applied
   * @param highestSequenceNr the highest sequence number the journal holds (0 for none)
   * @param snapshotSequenceNr the sequence number of the snapshot read, 0 for none
   */
  record Replayed<S>(S state, long highestSequenceNr, long snapshotSequenceNr)
      implements NoSerializationVerificationNeeded {}

  /** The journal or snapshot store could not be read. */
  record Failed(Throwable cause) implements NoSerializationVerificationNeeded {}

  /** How a reading builds its state. */
  interface Fold<S> {
    /** The state before any snapshot and event. */
    S empty();

    /** The state a snapshot the store holds stands for. */
    S fromSnapshot(Object snapshot);

    /** {@code state} after {@code event}, the next in the journal. */
    void apply(S state, Object event);
  }

  /**
   * @param journal the journal plugin actor
   * @param snapshotStore the snapshot store plugin actor
   * @param quietFor how long the plugins may go without a reply before the reading is given up
   * @param replyTo told {@link Replayed} or {@link Failed}, once
   */
  static <S> Behavior<Object> create(String persistenceId, org.apache.pekko.actor.ActorRef journal,
      org.apache.pekko.actor.ActorRef snapshotStore, Fold<S> fold, Duration quietFor, ActorRef<Object> replyTo) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers ->
        new JournalReplay<>(context, timers, persistenceId, journal, snapshotStore, fold, quietFor, replyTo)));
  }

  private final TimerScheduler<Object> timers;
  private final String persistenceId;
  private final org.apache.pekko.actor.ActorRef journal;
  private final org.apache.pekko.actor.ActorRef snapshotStore;
  private final org.apache.pekko.actor.ActorRef self;
  private final Fold<S> fold;
  private final Duration quietFor;
  private final ActorRef<Object> replyTo;
  private S state;
  private long snapshotSequenceNr;
  private boolean replaying;

  private JournalReplay(ActorContext<Object> context, TimerScheduler<Object> timers, String persistenceId,
      org.apache.pekko.actor.ActorRef journal, org.apache.pekko.actor.ActorRef snapshotStore, Fold<S> fold,
      Duration quietFor, ActorRef<Object> replyTo) {
    super(context);
    this.timers = timers;
    this.persistenceId = persistenceId;
    this.journal = journal;
    this.snapshotStore = snapshotStore;
    this.fold = fold;
    this.quietFor = quietFor;
    this.replyTo = replyTo;
    this.self = Adapter.toClassic(context.getSelf());
    Persistence.get(Adapter.toClassic(context.getSystem())).recoveryPermitter()
        .tell(RecoveryPermitter.RequestRecoveryPermit$.MODULE$, self);
  }

  @Override
  public Receive<Object> createReceive() {
    return newReceiveBuilder()
        .onMessageEquals(Quiet.INSTANCE, () -> fail(new TimeoutException("the journal of " + persistenceId
            + " did not answer for " + quietFor.toMillis() + " ms while it was being read")))
        .onAnyMessage(this::onResponse)
        .build();
  }

  private Behavior<Object> onResponse(Object response) {
    if (response == RecoveryPermitter.RecoveryPermitGranted$.MODULE$) {
      snapshotStore.tell(new SnapshotProtocol.LoadSnapshot(persistenceId, SnapshotSelectionCriteria.latest(),
          Long.MAX_VALUE), self);
      timers.startSingleTimer(Quiet.INSTANCE, quietFor);
      return this;
    }
    timers.startSingleTimer(Quiet.INSTANCE, quietFor);
    if (response instanceof JournalProtocol.ReplayedMessage replayed && replaying) {
      try {
        fold.apply(state, replayed.persistent().payload());
      } catch (RuntimeException e) {
        return fail(e);
      }
      return this;
    }
    if (response instanceof JournalProtocol.RecoverySuccess success && replaying) {
      replyTo.tell(new Replayed<>(state, Math.max(success.highestSequenceNr(), snapshotSequenceNr),
          snapshotSequenceNr));
      return Behaviors.stopped();
    }
    if (response instanceof JournalProtocol.ReplayMessagesFailure failure) {
      return fail(failure.cause());
    }
    if (response instanceof SnapshotProtocol.LoadSnapshotResult loaded && !replaying) {
      return replay(loaded.snapshot().isDefined() ? loaded.snapshot().get() : null);
    }
    if (response instanceof SnapshotProtocol.LoadSnapshotFailed failed) {
      return fail(failed.cause());
    }
    return this;
  }

  private Behavior<Object> replay(SelectedSnapshot snapshot) {
    try {
      state = snapshot == null ? fold.empty() : fold.fromSnapshot(snapshot.snapshot());
    } catch (RuntimeException e) {
      return fail(e);
    }
    snapshotSequenceNr = snapshot == null ? 0 : snapshot.metadata().sequenceNr();
    replaying = true;
    journal.tell(new JournalProtocol.ReplayMessages(snapshotSequenceNr + 1, Long.MAX_VALUE, Long.MAX_VALUE,
        persistenceId, self), self);
    return this;
  }

  private Behavior<Object> fail(Throwable cause) {
    replyTo.tell(new Failed(cause));
    return Behaviors.stopped();
  }
}
