package dev.spool.durable;

import dev.spool.SpoolSettings;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;

/**
 * What Spool's event-sourced actors share: the journal and snapshot store of
 * {@code spool.persistence}, and a restart with backoff when a write fails.
 */
abstract class JournaledBehavior<C, E, S> extends EventSourcedBehavior<C, E, S> {

  final SpoolSettings.Persistence settings;

  JournaledBehavior(PersistenceId id, SpoolSettings.Persistence settings) {
    super(id, SupervisorStrategy.restartWithBackoff(settings.restartMinBackoff(), settings.restartMaxBackoff(), 0.2));
    this.settings = settings;
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
