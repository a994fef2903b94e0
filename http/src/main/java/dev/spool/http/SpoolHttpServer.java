package dev.spool.http;

import com.typesafe.config.Config;
import dev.spool.Spool;
import dev.spool.SpoolException;
import dev.spool.SpoolSettings;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.model.headers.ProductVersion;
import org.apache.pekko.http.javadsl.model.headers.Server;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.concurrent.duration.FiniteDuration;

/**
 * Spool's HTTP service: binds the API (http-api.md) on the actor system Spool runs on, and stops it
 * gracefully with that system. On a CoordinatedShutdown (SIGTERM) the port closes and readiness
 * fails first ({@code service-unbind}), then requests in flight get
 * {@code spool.http.termination-deadline} to finish and event streams end
 * ({@code service-requests-done}), and only then does Spool stop ({@code service-stop}).
 * Connections are accepted and bounded by {@link Listener} (spool.http.connections).
 *
 * @since 0.1.0
 */
public final class SpoolHttpServer {

  private static final Logger log = LoggerFactory.getLogger(SpoolHttpServer.class);

  /** Runs the connection shutdown a little after event streams ended (see {@link Binding#terminate}). */
  private static final Executor STREAM_END_GRACE = CompletableFuture.delayedExecutor(200, TimeUnit.MILLISECONDS);

  private SpoolHttpServer() {}

  /** A running server: where it listens, and how to stop it (CoordinatedShutdown also does). */
  public static final class Binding {
    private final Listener listener;
    private final HttpSettings settings;
    private final Lifecycle lifecycle;
    private final HealthRoutes health;
    private final EventStreams streams;
    private final SpoolMetrics metrics;
    private final Authenticator authenticator;
    private final AtomicBoolean stopped = new AtomicBoolean();
    private final CompletableFuture<Done> terminated = new CompletableFuture<>();

    private Binding(Listener listener, HttpSettings settings, Lifecycle lifecycle, HealthRoutes health,
        EventStreams streams, SpoolMetrics metrics, Authenticator authenticator) {
      this.listener = listener;
      this.authenticator = authenticator;
      this.settings = settings;
      this.lifecycle = lifecycle;
      this.health = health;
      this.streams = streams;
      this.metrics = metrics;
    }

    /** The tokens this server accepts: other endpoints of the service (RESP) accept the same. */
    public Authenticator authenticator() {
      return authenticator;
    }

    /** Where the service's meters live: what {@code /metrics} serves; other endpoints add theirs. */
    public io.micrometer.core.instrument.MeterRegistry meterRegistry() {
      return metrics.registry();
    }

    /** The port bound (useful with {@code spool.http.port = 0}). */
    public int port() {
      return listener.localAddress().getPort();
    }

    /** Connections open now. */
    int openConnections() {
      return listener.openConnections();
    }

    /** Connections open now in {@code phase}. */
    int openConnections(ConnectionGuard.Phase phase) {
      return listener.openConnections(phase);
    }

    /** The interface bound. */
    public String host() {
      return settings.host();
    }

    /** The base URL, e.g. {@code http://127.0.0.1:8080/}. */
    public String url() {
      String host = settings.host().contains(":") ? "[" + settings.host() + "]" : settings.host();
      return (settings.tls().enabled() ? "https" : "http") + "://" + host + ":" + port() + "/";
    }

    /** Closes the port and fails readiness; requests in flight continue, new reads are refused (503). */
    public CompletionStage<Done> unbind() {
      health.stopping();
      lifecycle.stop();
      return listener.unbind();
    }

    /**
     * Stops the server gracefully: closes the port, ends event streams, lets requests in flight
     * finish within the termination deadline, then closes every connection. Spool keeps running.
     */
    public CompletionStage<Done> terminate() {
      if (!stopped.compareAndSet(false, true)) {
        return terminated;
      }
      health.stopping();
      lifecycle.stop();
      // Streams end first, and their last event gets a moment to be written, so that their clients
      // see a clean end rather than a closed connection.
      streams.stopAll(settings.terminationDeadline())
          .thenComposeAsync(ended -> listener.terminate(settings.terminationDeadline()), STREAM_END_GRACE)
          .whenComplete((t, failure) -> {
            metrics.close();
            log.info("HTTP service stopped");
            terminated.complete(Done.getInstance());
          });
      return terminated;
    }
  }

  /**
   * Starts the service for {@code spool} with {@code config}'s {@code spool.http} settings and
   * prints the console line ({@code Spool console: http://HOST:PORT/…}) once bound. Fails with
   * {@code InvalidConfiguration} for settings it cannot serve with: a non-loopback host without
   * configured tokens, an unreadable keystore.
   */
  public static CompletionStage<Binding> start(Spool spool, Config config) {
    HttpSettings settings;
    Authenticator.Prepared auth;
    Optional<SSLContext> tls;
    PushSender push;
    Definitions.AtStart definitions = Definitions.read(config);
    try {
      settings = HttpSettings.create(config);
      tls = settings.tls().enabled() ? Optional.of(sslContext(settings.tls())) : Optional.empty();
      push = PushSender.create(spool.system(), config, settings.dataDir());
      auth = Authenticator.prepare(settings, definitions.tokens());
    } catch (SpoolException e) {
      return CompletableFuture.failedFuture(definitions.errors().isEmpty() ? e
          : new SpoolException.InvalidConfiguration(e.getMessage() + " (spool.definitions was refused: "
              + String.join("; ", definitions.errors()) + ")"));
    }
    ActorSystem<?> system = spool.system();
    HealthRoutes health = new HealthRoutes(spool, settings);
    EventStreams streams = new EventStreams(settings.sseHeartbeat());
    SpoolMetrics metrics = new SpoolMetrics(spool);
    Lifecycle lifecycle = new Lifecycle(system);
    DefinitionProblems definitionProblems = new DefinitionProblems();
    metrics.definitions(definitionProblems);
    metrics.push(push);
    // Push consumers (those recovered already, waiting, and those created from now on) push through it.
    spool.usePushTransport(push);
    ApiRoutes routes = new ApiRoutes(spool, settings, auth.authenticator(), health, metrics, streams, lifecycle,
        definitionProblems, push);

    return Listener.bind(system, settings, serverSettings(system, settings, spool.settings()), tls,
        routes.route()).thenApply(bound -> {
      Binding binding = new Binding(bound, settings, lifecycle, health, streams, metrics, auth.authenticator());
      registerShutdown(system, binding);
      Definitions.applyAtStart(spool, definitions, auth.refused(), definitionProblems);
      log.info("HTTP service listening on {} (max body {} bytes, tls {}, {} connections, {} per client)",
          binding.url(), settings.maxBody(), settings.tls().enabled() ? "on" : "off",
          settings.connections().max(), settings.connections().perClient());
      // The one place the token appears: standard output, once, when it was generated. Never a log.
      System.out.println("Spool console: " + binding.url() + auth.generatedToken().map(t -> "?token=" + t).orElse(""));
      return binding;
    }).whenComplete((binding, failure) -> {
      if (failure != null) {
        metrics.close();
        forgetUnshownToken(auth, settings);
      }
    });
  }

  /**
   * A token generated by a start that then failed was never printed: it is deleted, so that the
   * next start generates one and prints it.
   */
  private static void forgetUnshownToken(Authenticator.Prepared auth, HttpSettings settings) {
    if (auth.generatedToken().isPresent()) {
      try {
        Files.deleteIfExists(settings.tokenFile());
      } catch (java.io.IOException e) {
        log.warn("could not delete the unshown admin token file {}: {}", settings.tokenFile(), e.toString());
      }
    }
  }

  private static void registerShutdown(ActorSystem<?> system, Binding binding) {
    CoordinatedShutdown shutdown = CoordinatedShutdown.get(system);
    // Task names are per system; a second server on the same system gets its own.
    String name = "spool-http-" + binding.port();
    shutdown.addTask(CoordinatedShutdown.PhaseServiceUnbind(), name + "-unbind", binding::unbind);
    shutdown.addTask(CoordinatedShutdown.PhaseServiceRequestsDone(), name + "-terminate", binding::terminate);
  }

  /**
   * Pekko's server settings with ours: the body limit, a request timeout longer than the longest
   * long-poll, a {@code Server} header that names no version, and unparseable requests answered in
   * the error shape. Pekko's max-connections and idle-timeout do not apply: {@link Listener} bounds
   * and times connections itself.
   */
  private static ServerSettings serverSettings(ActorSystem<?> system, HttpSettings settings, SpoolSettings engine) {
    ServerSettings base = ServerSettings.create(system.classicSystem());
    Duration requestTimeout = engine.consumer().maxReadWait().plus(engine.askTimeout()).plusSeconds(5);
    return base
        .withServerHeader(Optional.of(Server.create(ProductVersion.create("Spool", ""))))
        .withParsingErrorHandler(ParsingErrors.class.getName())
        .withParserSettings(base.getParserSettings().withMaxContentLength(settings.maxBody()))
        .withTimeouts(base.getTimeouts().withRequestTimeout(
            FiniteDuration.create(requestTimeout.toMillis(), TimeUnit.MILLISECONDS)));
  }

  /** The server-side TLS context of {@code tls}'s keystore, for the service's listeners. */
  public static SSLContext sslContext(HttpSettings.Tls tls) {
    try (InputStream in = Files.newInputStream(Path.of(tls.keystore()))) {
      char[] password = tls.password().toCharArray();
      KeyStore keyStore = KeyStore.getInstance(tls.keystoreType());
      keyStore.load(in, password);
      KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      keys.init(keyStore, password);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(keys.getKeyManagers(), null, null);
      return context;
    } catch (IOException | GeneralSecurityException e) {
      throw new SpoolException.InvalidConfiguration("spool.http.tls: cannot load keystore " + tls.keystore()
          + ": " + e.getMessage());
    }
  }
}
