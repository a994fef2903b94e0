package dev.spool.http;

import static dev.spool.SpoolSettings.wholeNumber;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import dev.spool.SpoolException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The HTTP service's settings, read from {@code spool.http} and {@code spool.data-dir}
 * ({@code reference.conf} holds every default, each with a comment).
 *
 * @param host the interface to bind
 * @param port the port to bind, 0 for any free one
 * @param dataDir where the generated admin token is kept
 * @param maxBody the largest request body in bytes
 * @param defaultReadMax deliveries a read returns when it names no max
 * @param maxBrowse most messages one browse returns
 * @param terminationDeadline how long a graceful stop lets requests in flight finish
 * @param sseHeartbeat interval of keep-alive comments on idle event streams
 * @param allowedOrigins origins besides the server's own that may send state-changing requests
 * @param tokens the configured bearer tokens (hashed)
 * @param tokenFile where a generated admin token is kept, under {@code dataDir}
 * @param importedTokenFile where tokens imported through {@code POST /api/v1/definitions} are kept,
 *     under {@code dataDir}
 * @param tls HTTPS settings
 * @param connections bounds and timeouts of the listener's connections
 */
public record HttpSettings(
    String host,
    int port,
    Path dataDir,
    long maxBody,
    int defaultReadMax,
    int maxBrowse,
    Duration terminationDeadline,
    Duration sseHeartbeat,
    Set<String> allowedOrigins,
    List<TokenEntry> tokens,
    Path tokenFile,
    Path importedTokenFile,
    Tls tls,
    Connections connections) {

  /**
   * One configured token.
   *
   * @param name who holds it; publishes through it carry this as their producer id
   * @param sha256 the SHA-256 of the token, 64 hex digits
   * @param roles what it may do
   * @param queues queue patterns ({@code *} wildcards) its producer and consumer roles apply to
   */
  public record TokenEntry(String name, String sha256, Set<Role> roles, List<String> queues) {

    /**
     * A token read from its written form, checked: a valid name, 64 hex digits, at least one known
     * role, and queue patterns ({@code ["*"]} when absent).
     *
     * @throws SpoolException.InvalidConfiguration saying what is wrong, without naming where it was read
     */
    static TokenEntry of(String name, String sha256, List<String> roles, List<String> queues) {
      dev.spool.Names.requireValid("token", name);
      String hash = sha256 == null ? "" : sha256.toLowerCase(java.util.Locale.ROOT);
      if (!hash.matches("[0-9a-f]{64}")) {
        throw new SpoolException.InvalidConfiguration("the sha256 of '" + name
            + "' is not 64 hex digits (printf %s \"$TOKEN\" | sha256sum)");
      }
      if (roles == null || roles.isEmpty()) {
        throw new SpoolException.InvalidConfiguration("'" + name + "' has no roles");
      }
      Set<Role> parsed = java.util.EnumSet.noneOf(Role.class);
      for (String role : roles) {
        parsed.add(Role.parse(role == null ? "" : role));
      }
      List<String> patterns = queues == null ? List.of("*") : List.copyOf(queues);
      if (patterns.isEmpty() || patterns.stream().anyMatch(q -> q.isBlank())) {
        throw new SpoolException.InvalidConfiguration("the queues of '" + name
            + "' must be non-empty patterns such as orders-* (omit them for every queue)");
      }
      return new TokenEntry(name, hash, Set.copyOf(parsed), patterns);
    }

    /** The principal this token authenticates as. */
    Principal principal() {
      return new Principal(name, roles, queues.stream().map(Principal::compile).toList());
    }
  }

  /**
   * HTTPS by configuration.
   *
   * @param enabled whether to serve HTTPS
   * @param keystore path of the keystore holding the key and certificate
   * @param password its password
   * @param keystoreType e.g. {@code PKCS12}
   */
  public record Tls(boolean enabled, String keystore, String password, String keystoreType) {
    @Override
    public String toString() {
      // Never the password: settings end up in logs.
      return "Tls[enabled=" + enabled + ", keystore=" + keystore + ", keystoreType=" + keystoreType + "]";
    }
  }

  /**
   * How many connections the listener serves and how long it waits on them ({@code spool.http.connections}).
   *
   * @param max connections served in full
   * @param healthReserve connections accepted beyond {@code max}, each for one request that only
   *     {@code /health/*} answers
   * @param perClient connections one client address may hold; more get one 429 answer and are closed
   * @param headerTimeout how long a request's head (request line and headers) may take to arrive
   * @param idleTimeout how long a kept-alive connection may wait for its next request
   * @param overLimitHeaderTimeout the head timeout of connections accepted over a limit
   */
  public record Connections(int max, int healthReserve, int perClient, Duration headerTimeout, Duration idleTimeout,
      Duration overLimitHeaderTimeout) {
    public Connections {
      if (max < 1 || healthReserve < 0 || perClient < 1) {
        throw new SpoolException.InvalidConfiguration("spool.http.connections: max and per-client must be positive, "
            + "health-reserve must not be negative");
      }
      for (Duration d : List.of(headerTimeout, idleTimeout, overLimitHeaderTimeout)) {
        if (d.isNegative() || d.isZero()) {
          throw new SpoolException.InvalidConfiguration("spool.http.connections: timeouts must be positive");
        }
      }
    }

    static Connections create(Config c) {
      return new Connections(wholeNumber(c, "max"), wholeNumber(c, "health-reserve"), wholeNumber(c, "per-client"),
          c.getDuration("header-timeout"), c.getDuration("idle-timeout"), c.getDuration("over-limit-header-timeout"));
    }
  }

  public HttpSettings {
    if (port < 0 || port > 65535) {
      throw new SpoolException.InvalidConfiguration("spool.http.port must be between 0 and 65535, not " + port);
    }
    if (maxBody < 1) {
      throw new SpoolException.InvalidConfiguration("spool.http.max-body must be positive");
    }
    if (defaultReadMax < 1 || maxBrowse < 1) {
      throw new SpoolException.InvalidConfiguration("spool.http.default-read-max and max-browse must be positive");
    }
    if (sseHeartbeat.isNegative() || sseHeartbeat.isZero()) {
      throw new SpoolException.InvalidConfiguration("spool.http.sse-heartbeat must be positive");
    }
  }

  /** Reads {@code spool.http} and {@code spool.data-dir} from {@code config}. */
  public static HttpSettings create(Config config) {
    try {
      Config c = config.getConfig("spool.http");
      if (c.hasPath("max-read-wait")) {
        // A cap of its own would be ignored unseen: refuse it, naming the one setting that caps every read.
        throw new SpoolException.InvalidConfiguration("spool.http.max-read-wait is no longer read: set"
            + " spool.consumer.max-read-wait, the engine's cap on a long-poll read's wait, which HTTP reads use too");
      }
      Path dataDir = Path.of(config.getString("spool.data-dir"));
      Config tls = c.getConfig("tls");
      return new HttpSettings(
          c.getString("host"),
          wholeNumber(c, "port"),
          dataDir,
          c.getBytes("max-body"),
          wholeNumber(c, "default-read-max"),
          wholeNumber(c, "max-browse"),
          c.getDuration("termination-deadline"),
          c.getDuration("sse-heartbeat"),
          Set.copyOf(c.getStringList("allowed-origins")),
          tokens(c.getConfigList("auth.tokens")),
          dataDir.resolve(c.getString("auth.token-file")),
          dataDir.resolve(c.getString("auth.imported-token-file")),
          new Tls(tls.getBoolean("enabled"), tls.getString("keystore"), tls.getString("password"),
              tls.getString("keystore-type")),
          Connections.create(c.getConfig("connections")));
    } catch (ConfigException e) {
      throw new SpoolException.InvalidConfiguration("HTTP configuration: " + e.getMessage());
    }
  }

  private static List<TokenEntry> tokens(List<? extends Config> entries) {
    List<TokenEntry> tokens = new ArrayList<>();
    for (Config t : entries) {
      String name = t.hasPath("name") ? t.getString("name") : null;
      try {
        tokens.add(TokenEntry.of(name, t.hasPath("sha256") ? t.getString("sha256") : null,
            t.hasPath("roles") ? t.getStringList("roles") : List.of(),
            t.hasPath("queues") ? t.getStringList("queues") : null));
      } catch (SpoolException e) {
        throw new SpoolException.InvalidConfiguration("spool.http.auth.tokens: " + e.getMessage());
      }
    }
    return List.copyOf(tokens);
  }
}
