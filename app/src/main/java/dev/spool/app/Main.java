package dev.spool.app;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spool.Spool;
import dev.spool.SpoolSettings;
import dev.spool.http.SpoolHttpServer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Spool service. {@link #main} only loads configuration and calls {@link #init}, which does the
 * wiring and is what tests start. SIGTERM runs Pekko's CoordinatedShutdown (its JVM shutdown hook):
 * the HTTP port closes and requests in flight finish first, then the engine stops.
 */
public final class Main {

  private static final Logger log = LoggerFactory.getLogger(Main.class);

  /**
   * The running service.
   *
   * @param spool the engine
   * @param http its HTTP service
   */
  public record Service(Spool spool, SpoolHttpServer.Binding http) {}

  private Main() {}

  public static void main(String[] args) {
    try {
      init(ConfigFactory.load());
    } catch (RuntimeException e) {
      Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
      log.error("Spool failed to start: {}", cause.getMessage(), cause);
      System.exit(1);
    }
  }

  /**
   * Starts Spool, checks that its default queue is up, serves the HTTP API, and registers the
   * shutdown logging. If the HTTP service cannot start, the engine is stopped again.
   */
  public static Service init(Config config) {
    JournalSchema.ensure(config); // before the engine reads its durable queues
    Spool spool = Spool.start(config);
    SpoolSettings s = spool.settings();
    // Fails (and so stops the start) if the engine did not come up.
    spool.queueInfo(s.defaultQueue()).toCompletableFuture().join();
    log.info("Spool {} started: default-queue={}, ask-timeout={}, segment-size={}, max-message-bytes={},"
            + " prefetch={}, ack-timeout={}, data-dir={}",
        Spool.version(), s.defaultQueue(), s.askTimeout(), s.segmentSize(), s.maxMessageBytes(),
        s.consumer().prefetch(), s.consumer().ackTimeout(), config.getString("spool.data-dir"));
    SpoolHttpServer.Binding http;
    try {
      http = SpoolHttpServer.start(spool, config).toCompletableFuture().join();
    } catch (RuntimeException e) {
      spool.shutdown().toCompletableFuture().join();
      throw e;
    }
    CoordinatedShutdown shutdown = CoordinatedShutdown.get(spool.system());
    shutdown.addTask(CoordinatedShutdown.PhaseServiceStop(), "spool-stopping", () -> {
      log.info("Spool stopping");
      return CompletableFuture.completedFuture(Done.getInstance());
    });
    spool.system().getWhenTerminated().thenRun(() -> log.info("Spool stopped"));
    return new Service(spool, http);
  }
}
