package dev.spool;

import dev.spool.actor.QueueManager;
import java.util.concurrent.atomic.AtomicLong;
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

  private static final AtomicLong STANDALONE = new AtomicLong();

  final SpoolSettings settings;
  final ActorRef<QueueManager.Command> manager;
  /** Set by {@link Spool#shutdown()} on a shared system: calls fail fast with ShuttingDown. */
  volatile boolean stopped;

  private SpoolExtension(ActorSystem<?> system) {
    this(system, SpoolSettings.create(system), "spool");
  }

  private SpoolExtension(ActorSystem<?> system, SpoolSettings settings, String name) {
    this.settings = settings;
    this.manager = system.systemActorOf(QueueManager.create(settings), name, Props.empty());
  }

  /** An engine apart from the system's default one (not registered as the extension). */
  static SpoolExtension standalone(ActorSystem<?> system, SpoolSettings settings) {
    return new SpoolExtension(system, settings, "spool-" + STANDALONE.incrementAndGet());
  }
}
