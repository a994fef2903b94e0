package dev.spool.redis;

import static dev.spool.SpoolSettings.wholeNumber;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import dev.spool.Durability;
import dev.spool.SpoolException;
import dev.spool.http.HttpSettings;

/**
 * The Redis Streams endpoint's settings, from {@code spool.redis}.
 *
 * @param enabled whether the service starts the endpoint
 * @param host the address it binds
 * @param port the port it binds (0 picks a free one)
 * @param maxConnections connections open at once
 * @param maxArgumentBytes the largest argument a client may send
 * @param maxArguments the most arguments in one command
 * @param maxPipeline commands of one connection read ahead of the one being answered
 * @param maxPending pending entries one consumer group keeps
 * @param maxReplyBytes the most entry bytes one read's reply carries (one entry always fits)
 * @param newStreamDurability what a stream created over RESP is
 * @param newStreamRetention how long such a stream keeps entries every group has acknowledged
 * @param tls TLS, as the HTTP service's
 * @since 0.1.0
 */
public record RedisSettings(boolean enabled, String host, int port, int maxConnections, int maxArgumentBytes,
    int maxArguments, int maxPipeline, int maxPending, long maxReplyBytes, Durability newStreamDurability,
    java.time.Duration newStreamRetention, HttpSettings.Tls tls) {

  public RedisSettings {
    check(port >= 0 && port <= 65535, "port must be between 0 and 65535, not " + port);
    check(maxConnections >= 1, "max-connections must be 1 or more");
    check(maxArgumentBytes >= 1024, "max-argument-bytes must be at least 1 KiB");
    check(maxArguments >= 8, "max-arguments must be at least 8");
    check(maxPipeline >= 1 && maxPipeline <= 100_000, "max-pipeline must be between 1 and 100000");
    check(maxPending >= 1 && maxPending <= 100_000, "max-pending must be between 1 and 100000");
    check(maxReplyBytes >= 1024, "max-reply-bytes must be at least 1 KiB");
  }

  /** Reads {@code spool.redis}; a bad value fails with {@link SpoolException.InvalidConfiguration}. */
  public static RedisSettings create(Config config) {
    try {
      Config c = config.getConfig("spool.redis");
      Config tls = c.getConfig("tls");
      long argumentBytes = c.getBytes("max-argument-bytes");
      check(argumentBytes <= Integer.MAX_VALUE - 64, "max-argument-bytes must be below 2 GiB");
      Durability durability;
      try {
        durability = Durability.valueOf(c.getString("new-stream-durability").toUpperCase(java.util.Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new SpoolException.InvalidConfiguration("spool.redis.new-stream-durability must be transient or"
            + " persistent, not " + c.getString("new-stream-durability"));
      }
      return new RedisSettings(c.getBoolean("enabled"), c.getString("host"), wholeNumber(c, "port"),
          wholeNumber(c, "max-connections"), (int) argumentBytes, wholeNumber(c, "max-arguments"),
          wholeNumber(c, "max-pipeline"), wholeNumber(c, "max-pending"), c.getBytes("max-reply-bytes"), durability,
          c.getDuration("new-stream-retention"),
          new HttpSettings.Tls(tls.getBoolean("enabled"), tls.getString("keystore"), tls.getString("password"),
              tls.getString("keystore-type")));
    } catch (ConfigException e) {
      throw new SpoolException.InvalidConfiguration("spool.redis: " + e.getMessage());
    }
  }

  private static void check(boolean ok, String message) {
    if (!ok) {
      throw new SpoolException.InvalidConfiguration("spool.redis." + message);
    }
  }
}
