package dev.spool.durable;

import com.typesafe.config.ConfigFactory;
import dev.spool.SpoolSettings;
import dev.spool.storage.TieredStorage;
import org.slf4j.LoggerFactory;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.persistence.DeleteMessagesFailure;
import org.apache.pekko.persistence.DeleteMessagesSuccess;
import org.apache.pekko.persistence.DeleteSnapshotsFailure;
import org.apache.pekko.persistence.DeleteSnapshotsSuccess;
import org.apache.pekko.persistence.JournalProtocol;
import org.apache.pekko.persistence.Persistence;
import org.apache.pekko.persistence.SnapshotProtocol;
import org.apache.pekko.persistence.SnapshotSelectionCriteria;
import org.slf4j.Logger;

/**
 * Deletes a durable queue's events and snapshots older than a snapshot, through the journal and
 * snapshot store plugins' own protocol: what Pekko's {@code RetentionCriteria} does after the
 * snapshots it times itself, which a journal that postpones snapshots cannot use (in Pekko 1.x a
 * snapshot chosen by {@code shouldSnapshot} deletes nothing). Pekko's persistence-typed sends the
 * same messages to the same plugin actors.
 *
 * <p>Single writer: only the owning journal actor calls it. Deletions are idempotent, so one lost
 * or failed is made good by the next.
 */
public final class JournalCleanup {

  private final String persistenceId;
  private final org.apache.pekko.actor.ActorRef journal;
  private final org.apache.pekko.actor.ActorRef snapshotStore;
  private final org.apache.pekko.actor.ActorRef replyTo;

  JournalCleanup(ActorSystem<?> system, String persistenceId, SpoolSettings.Persistence settings,
      ActorRef<Object> replyTo) {
    Persistence persistence = Persistence.get(Adapter.toClassic(system));
    this.persistenceId = persistenceId;
    this.journal = persistence.journalFor(settings.journalPluginId(), ConfigFactory.empty());
    this.snapshotStore = persistence.snapshotStoreFor(settings.snapshotPluginId(), ConfigFactory.empty());
    this.replyTo = Adapter.toClassic(replyTo);
  }

  /**
   * Deletes the events up to {@code sequenceNr} and the snapshots before it: recovery then starts
   * at that snapshot or a younger one.
   */
  void deleteBefore(long sequenceNr) {
    journal.tell(new JournalProtocol.DeleteMessagesTo(persistenceId, sequenceNr, replyTo), replyTo);
    snapshotStore.tell(new SnapshotProtocol.DeleteSnapshots(persistenceId,
        SnapshotSelectionCriteria.create(sequenceNr - 1, Long.MAX_VALUE, 0L, 0L)), replyTo);
  }

  /**
   * Deletes every event and snapshot of {@code persistenceId}, and its stored segments: a deleted
   * queue leaves nothing behind. Fire and forget: a deletion that fails leaves rows no queue reads
   * (a queue created again under the name has a new persistence id), logged at WARN.
   */
  public static void purge(ActorSystem<?> system, String persistenceId, SpoolSettings.Persistence settings) {
    Persistence persistence = Persistence.get(Adapter.toClassic(system));
    org.apache.pekko.actor.ActorRef ignore = Adapter.toClassic(system.ignoreRef());
    persistence.journalFor(settings.journalPluginId(), ConfigFactory.empty())
        .tell(new JournalProtocol.DeleteMessagesTo(persistenceId, Long.MAX_VALUE, ignore), ignore);
    persistence.snapshotStoreFor(settings.snapshotPluginId(), ConfigFactory.empty())
        .tell(new SnapshotProtocol.DeleteSnapshots(persistenceId, SnapshotSelectionCriteria.latest()), ignore);
    TieredStorage.get(system).storage().ifPresent(storage -> storage.deleteQueue(persistenceId)
        .whenComplete((done, failure) -> {
          if (failure != null) {
            LoggerFactory.getLogger(JournalCleanup.class).warn("the stored segments of deleted queue {} could not be "
                + "deleted: {}", persistenceId, failure.toString());
          }
        }));
  }

  /** Logs a failed deletion (the next snapshot's deletion covers it); successes are quiet. */
  void onResponse(Object response, Logger log) {
    if (response instanceof DeleteMessagesFailure f) {
      log.warn("journal {}: events up to {} could not be deleted (the next snapshot tries again): {}",
          persistenceId, f.toSequenceNr(), f.cause().toString());
    } else if (response instanceof DeleteSnapshotsFailure f) {
      log.warn("journal {}: older snapshots could not be deleted (the next snapshot tries again): {}",
          persistenceId, f.cause().toString());
    } else if (response instanceof DeleteMessagesSuccess s) {
      log.debug("journal {}: events to sequenceNr {} deleted", persistenceId, s.toSequenceNr());
    } else if (response instanceof DeleteSnapshotsSuccess s) {
      log.debug("journal {}: snapshots to sequenceNr {} deleted", persistenceId, s.criteria().maxSequenceNr());
    }
  }
}
