package dev.spool;

import dev.spool.actor.QueueManager;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;
import org.apache.pekko.actor.typed.Props;

/**
 * One Spool engine per actor system: its settings and its {@link QueueManager}, spawned as a
 * system actor the first time anyone asks. Every {@link Spool} facade on that system shares it.
 */
final class SpoolExtension implements Extension {

  static final ExtensionId<SpoolExtension> ID = new ExtensionId<>() {
    @Override
    public SpoolExtension createExtension(ActorSystem<?> system) {
      return new SpoolExtension(system);
    }
  };

  final SpoolSettings settings;
  final ActorRef<QueueManager.Command> manager;
  /** Set by {@link Spool#shutdown()} on a shared system: calls fail fast with ShuttingDown. */
  volatile boolean stopped;

  private SpoolExtension(ActorSystem<?> system) {
    this.settings = SpoolSettings.create(system);
    this.manager = system.systemActorOf(QueueManager.create(settings), "spool", Props.empty());
  }
}
