package dev.spool.app;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import dev.spool.Spool;
import dev.spool.SpoolException;
import dev.spool.SpoolSettings;
import dev.spool.http.SpoolHttpServer;
import dev.spool.redis.RedisServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.Properties;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Spool service. {@link #main} only loads configuration and calls {@link #init}, which does the
 * wiring and is what tests start. SIGTERM runs Pekko's CoordinatedShutdown (its JVM shutdown hook):
 * the HTTP port closes and requests in flight finish first, then the engine stops.
 *
 * <p>Its configuration is one file over built-in defaults (see {@link #configuration}): the
 * repository's top-level {@code application.conf} when started from there.
 *
 * <p>A journal that is slow, down or unreadable never stops the start: the engine and the HTTP
 * service come up, {@code /health/ready} answers 503 with the reason, and the journal's tables and
 * durable queues are retried with backoff until it answers. Only configuration that can never
 * work (invalid settings, a non-loopback host without tokens, an unreadable keystore, a port in
 * use, a configuration file that cannot be read) ends the process, with one ERROR line; so does
 * another Spool writing to the same PostgreSQL database ({@code spool.persistence.writer-lock}),
 * at start once {@code wait-at-start} passed, or while running if it took the lock over, through
 * CoordinatedShutdown and with status 1.
 */
public final class Main {

  private static final Logger log = LoggerFactory.getLogger(Main.class);

  /**
   * How long the start waits for the journal's tables before going on without them: an embedded
   * journal creates them in milliseconds, before its durable queues are read; a database that
   * does not answer within this is retried in the background.
   */
  private static final Duration SCHEMA_WAIT = Duration.ofSeconds(2);

  /**
   * The running service.
   *
   * @param spool the engine
   * @param http its HTTP service
   * @param redis its Redis Streams endpoint, when {@code spool.redis.enabled}
   */
  public record Service(Spool spool, SpoolHttpServer.Binding http, Optional<RedisServer.Binding> redis) {}

  private Main() {}

  /** Why the service shut itself down: another Spool holds its database's writer lock. */
  private enum WriterLockLost implements CoordinatedShutdown.Reason {
    INSTANCE
  }

  /**
   * The service's configuration and where it was read from.
   *
   * @param config the resolved configuration
   * @param source the file read over the built-in defaults, or that there was none
   */
  record Configuration(Config config, String source) {}

  /**
   * Reads the service's configuration: the file {@code -Dconfig.file} names, else
   * {@code application.conf} in {@code workingDirectory} when there is one, over the built-in defaults
   * (the {@code application.conf} inside the jar, a copy of the repository's, then every module's
   * {@code reference.conf}). A key the file does not set keeps its built-in default, and the file's
   * values are resolved together with the defaults, so that {@code ${spool.data-dir}} in them follows
   * the file. {@code -D} properties override everything. {@code -Dconfig.resource} and
   * {@code -Dconfig.url} keep Typesafe Config's meaning: they replace the built-in application.conf.
   *
   * @throws ConfigException when the file is missing (named by {@code -Dconfig.file}), not valid
   *     HOCON, or refers to a setting that does not exist; the message names the file and line
   */
  static Configuration configuration(Path workingDirectory, Properties system) {
    String named = system.getProperty("config.file");
    if (named == null && (system.getProperty("config.resource") != null || system.getProperty("config.url") != null)) {
      String source = system.getProperty("config.resource") != null
          ? "resource " + system.getProperty("config.resource") : system.getProperty("config.url");
      return new Configuration(ConfigFactory.load(), source);
    }
    Config builtIn = ConfigFactory.parseResourcesAnySyntax("application");
    Path file = named != null ? Path.of(named) : workingDirectory.resolve("application.conf");
    if (named == null && !Files.isRegularFile(file)) {
      return new Configuration(ConfigFactory.load(builtIn),
          "the built-in defaults (no application.conf in " + workingDirectory.toAbsolutePath().normalize() + ")");
    }
    Path absolute = file.toAbsolutePath().normalize();
    Config read = ConfigFactory.parseFile(absolute.toFile(), ConfigParseOptions.defaults().setAllowMissing(false));
    return new Configuration(ConfigFactory.load(read.withFallback(builtIn)), absolute + " over the built-in defaults");
  }

  public static void main(String[] args) {
    Configuration configuration;
    try {
      configuration = configuration(Path.of(""), System.getProperties());
    } catch (ConfigException e) { // an operator's mistake at start: say which file and line, and stop
      log.error("Spool cannot start: its configuration cannot be read: {}", e.getMessage());
      System.exit(1);
      return;
    }
    log.info("configuration: {}", configuration.source());
    try {
      Service service = init(configuration.config());
      // Another Spool writes to the database: init shuts the service down; it ends with status 1.
      service.spool().writerLockLost()
          .thenCompose(reason -> service.spool().system().getWhenTerminated())
          .thenRun(() -> {
            Thread exit = new Thread(() -> System.exit(1), "spool-exit");
            exit.setDaemon(false);
            exit.start();
          });
    } catch (RuntimeException e) {
      Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
      if (cause instanceof ConfigException) { // a missing or mistyped setting: the message names it and its file
        log.error("Spool cannot start: invalid configuration: {}", cause.getMessage());
      } else if (cause instanceof SpoolException) { // a configuration that can never work: its message says what
        log.error("Spool cannot start: {}", cause.getMessage());
      } else if (addressInUse(cause) != null) { // an operator's matter too: no stack trace
        log.error("Spool cannot start: {}", addressInUse(cause));
      } else {
        log.error("Spool failed to start: {}", cause.getMessage(), cause);
      }
      System.exit(1);
    }
  }

  /**
   * What to tell an operator when a port Spool listens on is taken, or {@code null} if
   * {@code failure} is not that.
   */
  static String addressInUse(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (t instanceof java.net.BindException bind) {
        return bind.getMessage() + ": another process listens there (perhaps another Spool); stop it, or give this"
            + " one another port (spool.http.port or SPOOL_HTTP_PORT; spool.redis.port for the Redis endpoint)";
      }
    }
    return null;
  }

  /**
   * Starts Spool and serves the HTTP API, whatever state the journal is in, and registers the
   * shutdown logging. If the HTTP service cannot start, the engine is stopped again.
   */
  public static Service init(Config config) {
    CompletableFuture<Done> tables = JournalTables.ensure(config);
    try {
      tables.get(SCHEMA_WAIT.toMillis(), TimeUnit.MILLISECONDS); // before the engine reads its durable queues
    } catch (TimeoutException | ExecutionException e) {
      // retried in the background; the durable queues retry too and come up once the tables exist
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    Spool spool = Spool.start(config);
    SpoolSettings s = spool.settings();
    log.info("Spool {} started: default-queue={}, ask-timeout={}, segment-size={}, max-message-bytes={},"
            + " prefetch={}, ack-timeout={}, data-dir={}",
        Spool.version(), s.defaultQueue(), s.askTimeout(), s.segmentSize(), s.maxMessageBytes(),
        s.consumer().prefetch(), s.consumer().ackTimeout(), config.getString("spool.data-dir"));
    SpoolHttpServer.Binding http;
    Optional<RedisServer.Binding> redis;
    try {
      http = SpoolHttpServer.start(spool, config).toCompletableFuture().join();
      redis = RedisServer.startIfEnabled(spool, config, http.authenticator(), http.meterRegistry()).toCompletableFuture().join();
    } catch (RuntimeException e) {
      tables.cancel(false);
      spool.shutdown().toCompletableFuture().join();
      throw e;
    }
    CoordinatedShutdown shutdown = CoordinatedShutdown.get(spool.system());
    shutdown.addTask(CoordinatedShutdown.PhaseServiceStop(), "spool-stopping", () -> {
      log.info("Spool stopping");
      tables.cancel(false);
      return CompletableFuture.completedFuture(Done.getInstance());
    });
    spool.system().getWhenTerminated().thenRun(() -> log.info("Spool stopped"));
    spool.writerLockLost().thenAccept(reason -> {
      // Two writers would corrupt the journal: the one case where the service stops on its own.
      log.error("Spool stops: {}", reason.getMessage());
      shutdown.runAll(WriterLockLost.INSTANCE);
    });
    return new Service(spool, http, redis);
  }

  /**
   * Creates the journal's tables ({@link JournalSchema}) on a thread of its own, retrying with the
   * journal's backoff ({@code spool.persistence.restart-backoff}) until it succeeds or the future
   * is cancelled. A failure is logged once (at ERROR when it names the recovery tool of a corrupt
   * journal file, else at WARN); the same failure again only at DEBUG.
   */
  static final class JournalTables {

    private JournalTables() {}

    static CompletableFuture<Done> ensure(Config config) {
      CompletableFuture<Done> done = new CompletableFuture<>();
      requireConfigured(config);
      Duration min = config.getDuration("spool.persistence.restart-backoff.min");
      Duration max = config.getDuration("spool.persistence.restart-backoff.max");
      ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "spool-journal-tables");
        t.setDaemon(true); // never keeps the JVM alive
        return t;
      });
      done.whenComplete((ok, cancelled) -> thread.shutdownNow());
      thread.execute(new Attempt(config, done, thread, min, max));
      return done;
    }

    /** One try; a failed one schedules the next after the backoff, which doubles up to the max. */
    private static final class Attempt implements Runnable {
      private final Config config;
      private final CompletableFuture<Done> done;
      private final ScheduledExecutorService thread;
      private final Duration max;
      private final long started = System.nanoTime();
      private Duration backoff;
      private String lastFailure;

      Attempt(Config config, CompletableFuture<Done> done, ScheduledExecutorService thread, Duration min,
          Duration max) {
        this.config = config;
        this.done = done;
        this.thread = thread;
        this.backoff = min;
        this.max = max;
      }

      @Override
      public void run() {
        if (done.isDone()) {
          return;
        }
        try {
          JournalSchema.ensure(config); // blocking JDBC: on this thread, never an actor's
          if (lastFailure != null) {
            log.info("journal tables ready after {} ms of retries", (System.nanoTime() - started) / 1_000_000);
          }
          done.complete(Done.getInstance());
        } catch (RuntimeException e) {
          String failure = String.valueOf(e.getMessage());
          if (failure.equals(lastFailure)) {
            log.debug("journal tables still cannot be created: {}", failure);
          } else if (failure.contains("RecoverJournal")) {
            log.error("the journal cannot be opened: {}", failure);
          } else {
            log.warn("the journal's tables cannot be created yet; retrying with backoff up to {}: {}", max, failure);
          }
          lastFailure = failure;
          try {
            thread.schedule(this, backoff.toMillis(), TimeUnit.MILLISECONDS);
          } catch (RejectedExecutionException stopped) {
            return; // the service stops
          }
          backoff = backoff.multipliedBy(2).compareTo(max) > 0 ? max : backoff.multipliedBy(2);
        }
      }
    }

    /**
     * A journal database that is not configured can never work: that ends the start. A database is
     * configured by its pekko-persistence-jdbc settings or, for an embedded one, under
     * {@code spool.journal.<name>}.
     */
    private static void requireConfigured(Config config) {
      String database = config.getString("spool.journal.database");
      if (!config.hasPath("pekko-persistence-jdbc.shared-databases." + database)
          && !config.hasPath("spool.journal." + database)) {
        throw new SpoolException.InvalidConfiguration("spool.journal.database is '" + database
            + "', which is not configured (neither pekko-persistence-jdbc.shared-databases." + database
            + " nor spool.journal." + database + ")");
      }
    }
  }
}
