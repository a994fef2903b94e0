package dev.spool.redis;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spool.Spool;
import dev.spool.http.Authenticator;
import dev.spool.http.SpoolHttpServer;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Spool with its HTTP service and Redis Streams endpoint on free ports, one token per role
 * (producer and consumer restricted to {@code orders-*}), and Lettuce clients that close with it.
 */
final class RedisTestServer implements AutoCloseable {

  static final String ADMIN = "admin-token-0123456789abcdef";
  static final String PRODUCER = "producer-token-0123456789abcdef";
  static final String CONSUMER = "consumer-token-0123456789abcdef";
  static final String VIEWER = "viewer-token-0123456789abcdef";

  final Spool spool;
  final SpoolHttpServer.Binding http;
  final RedisServer.Binding redis;
  final Path dataDir;
  private final List<RedisClient> clients = new ArrayList<>();

  private RedisTestServer(Spool spool, SpoolHttpServer.Binding http, RedisServer.Binding redis, Path dataDir) {
    this.spool = spool;
    this.http = http;
    this.redis = redis;
    this.dataDir = dataDir;
  }

  static RedisTestServer start() {
    return start(ConfigFactory.empty());
  }

  static RedisTestServer start(Config overrides) {
    try {
      return start(overrides, Files.createTempDirectory("spool-redis-test"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static RedisTestServer start(Config overrides, Path dataDir) {
    try {
      Config config = overrides
          .withFallback(ConfigFactory.parseString("spool.http.port = 0\nspool.redis.port = 0\n"
              + "spool.redis.enabled = on\nspool.redis.new-stream-durability = transient\nspool.data-dir = \"" + dataDir + "\"\n"
              + "spool.http.auth.tokens = [" + token("admin", ADMIN, "admin", "*") + ","
              + token("orders-producer", PRODUCER, "producer", "orders-*") + ","
              + token("orders-consumer", CONSUMER, "consumer", "orders-*") + ","
              + token("viewer", VIEWER, "viewer", "*") + "]"))
          .withFallback(ConfigFactory.load());
      Spool spool = Spool.start(config);
      try {
        SpoolHttpServer.Binding http = SpoolHttpServer.start(spool, config).toCompletableFuture()
            .get(20, TimeUnit.SECONDS);
        RedisServer.Binding redis = RedisServer.startIfEnabled(spool, config, http.authenticator())
            .toCompletableFuture().get(20, TimeUnit.SECONDS).orElseThrow();
        return new RedisTestServer(spool, http, redis, dataDir);
      } catch (Exception e) {
        spool.shutdown().toCompletableFuture().get(30, TimeUnit.SECONDS);
        throw e;
      }
    } catch (Exception e) {
      throw new IllegalStateException("test server did not start: " + e, e);
    }
  }

  private static String token(String name, String token, String role, String queues) {
    return "{name = \"" + name + "\", sha256 = \"" + Authenticator.sha256Hex(token) + "\", roles = [" + role
        + "], queues = [\"" + queues + "\"]}";
  }

  int port() {
    return redis.port();
  }

  /** A Lettuce connection authenticated with {@code token} (RESP3 negotiated by HELLO, as Lettuce does). */
  StatefulRedisConnection<String, String> connect(String token) {
    RedisClient client = RedisClient.create(RedisURI.builder().withHost("127.0.0.1").withPort(port())
        .withPassword(token.toCharArray()).withTimeout(Duration.ofSeconds(20)).build());
    clients.add(client);
    return client.connect();
  }

  /** A raw connection speaking RESP by hand. */
  RawResp raw() throws IOException {
    return new RawResp("127.0.0.1", port());
  }

  @Override
  public void close() throws Exception {
    for (RedisClient client : clients) {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
    spool.shutdown().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }
}
