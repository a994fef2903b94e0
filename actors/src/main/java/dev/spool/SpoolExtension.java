package dev.spool;

import dev.spool.actor.ClusterQueueManager;
import dev.spool.actor.ConsumerActor;
import dev.spool.actor.QueueManager;
import dev.spool.durable.WriterLock;
import dev.spool.durable.WriterLockSettings;
import dev.spool.storage.KeyRing;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.AskPattern;

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
  /** The engine's name: its manager's, and in cluster mode its queues' entity type's. */
  final String name;
  final ClusterSettings cluster;
  final ActorRef<QueueManager.Command> manager;
  /** The database's writer lock, or {@code null} without one. */
  final WriterLock writerLock;
  private final CompletableFuture<Done> ready = new CompletableFuture<>();
  /** Set by {@link Spool#shutdown()} on a shared system: calls fail fast with ShuttingDown. */
  volatile boolean stopped;
  /**
   * Set once draining began: publishes go by name through the manager, which refuses them, rather
   * than straight to a queue that may not have heard of the drain yet.
   */
  volatile boolean draining;

  private SpoolExtension(ActorSystem<?> system) {
    this(system, SpoolSettings.create(system), "spool");
  }

  private SpoolExtension(ActorSystem<?> system, SpoolSettings settings, String name) {
    KeyRing.get(system); // loaded and checked now: a bad key stops the start, not a queue's first write
    this.settings = settings;
    this.name = name;
    this.cluster = ClusterSettings.create(system.settings().config());
    if (cluster.enabled()) {
      requireClusterReady(system, settings);
    }
    WriterLockSettings lockSettings = WriterLockSettings.create(system.settings().config(),
        settings.persistence().registry());
    if (cluster.enabled()) { // members share the database through sharding; a standalone node is refused
      lockSettings = lockSettings.sharedByMembers();
    }
    this.writerLock = settings.persistence().enabled() && lockSettings.enabled() ? WriterLock.start(lockSettings) : null;
    try {
      this.manager = system.systemActorOf(cluster.enabled()
          ? ClusterQueueManager.create(settings, cluster, name, Spool.version(), ready)
          : QueueManager.create(settings, Spool.version(), ready, writerLock), name, Props.empty());
    } catch (RuntimeException e) {
      closeWriterLock();
      throw e;
    }
    if (writerLock != null) {
      writerLock.lost().thenAccept(reason -> {
        stopped = true; // the engine stops at once: calls fail fast rather than wait for a stopped manager
        manager.tell(new QueueManager.WriterLockLost(reason));
      });
      system.getWhenTerminated().thenRun(this::closeWriterLock); // released with the engine at the latest
    }
    // When the system shuts down (SIGTERM, CoordinatedShutdown.run), first refuse publishes and let
    // handler calls finish, then stop the engine, after services stopped taking requests.
    CoordinatedShutdown shutdown = CoordinatedShutdown.get(system);
    shutdown.addTask(CoordinatedShutdown.PhaseServiceRequestsDone(), name + "-drain",
        () -> drain(system).thenApply(drained -> Done.getInstance()));
    shutdown.addTask(CoordinatedShutdown.PhaseServiceStop(), name + "-stop", () -> stop(system));
  }

  /**
   * Cluster mode needs the cluster provider and a journal every member reaches: the embedded
   * SQLite file is one member's, so another member could not recover its queues (and two would
   * write two different files under one name).
   */
  private static void requireClusterReady(ActorSystem<?> system, SpoolSettings settings) {
    String provider = system.settings().config().getString("pekko.actor.provider");
    if (!provider.equals("cluster") && !provider.equals("org.apache.pekko.cluster.ClusterActorRefProvider")) {
      throw new SpoolException.InvalidConfiguration("spool.cluster.enabled is on, but the actor system is not a"
          + " cluster member: set pekko.actor.provider = cluster (Spool.start does so itself)");
    }
    requireSharedJournal(settings);
  }

  /** Cluster mode refuses a journal only one member can reach, before anything of the cluster starts. */
  static void requireSharedJournal(SpoolSettings settings) {
    String journal = settings.persistence().journalPluginId();
    if (journal.isEmpty() || journal.startsWith("spool.journal.sqlite")) {
      throw new SpoolException.InvalidConfiguration("cluster mode needs a journal every member shares: set"
          + " spool.journal.database = postgres (SPOOL_JOURNAL=postgres) with its URL; the embedded SQLite journal"
          + " is one member's file" + (journal.isEmpty() ? " (no journal is configured)" : ""));
    }
  }

  /** Completes once the engine serves every queue; durable queues recover before this completes. */
  CompletionStage<Done> ready() {
    return ready.minimalCompletionStage();
  }

  /** Refuses publishes from now on and waits (bounded) for handler calls in flight. */
  CompletionStage<Done> drain(ActorSystem<?> system) {
    if (stopped) {
      return CompletableFuture.completedFuture(Done.getInstance());
    }
    draining = true;
    Duration timeout = settings.shutdownDrainTimeout();
    return AskPattern.<QueueManager.Command, ConsumerActor.DrainResult>askWithStatus(manager,
            r -> new QueueManager.Drain(timeout, r), timeout.plus(settings.askTimeout()).plus(settings.askTimeout()),
            system.scheduler())
        .handle((drained, failure) -> Done.getInstance()); // a failed drain must not keep the engine from stopping
  }

  /** Emits Shutdown and stops the engine; later calls fail with ShuttingDown. */
  CompletionStage<Done> stop(ActorSystem<?> system) {
    if (stopped) {
      return CompletableFuture.completedFuture(Done.getInstance());
    }
    stopped = true;
    return AskPattern.<QueueManager.Command, Done>askWithStatus(manager, QueueManager.Stop::new,
            settings.askTimeout(), system.scheduler())
        .exceptionally(alreadyStopped -> Done.getInstance())
        .thenApply(done -> {
          closeWriterLock(); // after the last durable write
          return done;
        });
  }

  /** Releases the database's writer lock (closes its connection), if there is one. */
  private void closeWriterLock() {
    if (writerLock != null) {
      writerLock.close();
    }
  }

  /** An engine apart from the system's default one (not registered as the extension). */
  static SpoolExtension standalone(ActorSystem<?> system, SpoolSettings settings) {
    return new SpoolExtension(system, settings, "spool-" + STANDALONE.incrementAndGet());
  }
}
