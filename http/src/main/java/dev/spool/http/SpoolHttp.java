package dev.spool.http;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import dev.spool.Spool;
import java.nio.file.Path;
import java.util.concurrent.CompletionStage;

/**
 * Spool's HTTP API and web console inside an application that embeds Spool: one call serves them from
 * the application's own actor system, for the queues of its own engine, with the service's security
 * defaults. On a loopback address (the default, {@code 127.0.0.1}) and without configured tokens, an
 * admin token is generated at the first start, kept owner-only in the data directory, and printed
 * once to standard output as the console's address ({@code Spool console: http://127.0.0.1:8080/?token=…});
 * any other address needs tokens in {@code spool.http.auth.tokens}, or the start fails with
 * {@code InvalidConfiguration}.
 *
 * <pre>{@code
 * ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "shop");
 * Spool spool = Spool.create(system);
 * SpoolHttpServer.Binding http = SpoolHttp.start(spool, SpoolHttp.Settings.defaults().withPort(9090))
 *     .toCompletableFuture().join();
 * }</pre>
 *
 * <p>Everything else (TLS, tokens, connection bounds, {@code spool.definitions}) is read from the
 * actor system's configuration under {@code spool.http}, as the service reads it. The server stops
 * gracefully with the actor system (CoordinatedShutdown), or by {@link SpoolHttpServer.Binding#terminate()}.
 *
 * @since 0.1.0
 */
public final class SpoolHttp {

  private SpoolHttp() {}

  /**
   * Where the server listens and keeps its generated token, over the actor system's configuration:
   * a {@code null} field keeps the configured value ({@code spool.http.host}, {@code spool.http.port},
   * {@code spool.data-dir}).
   *
   * @param host the interface to bind; a non-loopback one needs configured tokens
   * @param port the port, 0 for any free one ({@link SpoolHttpServer.Binding#port()} tells which)
   * @param dataDir the directory of the generated admin token
   * @since 0.1.0
   */
  public record Settings(String host, Integer port, Path dataDir) {

    /** Everything as configured: {@code 127.0.0.1:8080} and {@code ./data} unless the configuration says otherwise. */
    public static Settings defaults() {
      return new Settings(null, null, null);
    }

    /** These settings on another interface. */
    public Settings withHost(String host) {
      return new Settings(host, port, dataDir);
    }

    /** These settings on another port (0 for any free one). */
    public Settings withPort(int port) {
      return new Settings(host, port, dataDir);
    }

    /** These settings with another directory for the generated admin token. */
    public Settings withDataDir(Path dataDir) {
      return new Settings(host, port, dataDir);
    }

    Config over(Config config) {
      Config chosen = ConfigFactory.empty();
      if (host != null) {
        chosen = chosen.withValue("spool.http.host", ConfigValueFactory.fromAnyRef(host));
      }
      if (port != null) {
        chosen = chosen.withValue("spool.http.port", ConfigValueFactory.fromAnyRef(port));
      }
      if (dataDir != null) {
        chosen = chosen.withValue("spool.data-dir", ConfigValueFactory.fromAnyRef(dataDir.toString()));
      }
      return chosen.withFallback(config);
    }
  }

  /** Serves the API and the console for {@code spool} as its actor system's configuration says. */
  public static CompletionStage<SpoolHttpServer.Binding> start(Spool spool) {
    return start(spool, Settings.defaults());
  }

  /**
   * Serves the API and the console for {@code spool} on its actor system, with {@code settings} over
   * that system's configuration. Completes once the port is bound; fails with
   * {@code InvalidConfiguration} for settings it cannot serve with (a non-loopback host without
   * tokens, an unreadable keystore) and with the bind's error for a port in use.
   */
  public static CompletionStage<SpoolHttpServer.Binding> start(Spool spool, Settings settings) {
    return SpoolHttpServer.start(spool, settings.over(spool.system().settings().config()));
  }
}
