package dev.spool;

import static dev.spool.SpoolSettings.wholeNumber;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * Cluster mode ({@code spool.cluster}): every queue is an entity of Pekko Cluster Sharding, keyed by
 * its name, and the list of queues is kept by one cluster singleton. Membership, the Split Brain
 * Resolver and the remoting address are Pekko's own settings ({@code pekko.cluster.*},
 * {@code pekko.remote.artery.canonical.*}).
 *
 * @param enabled whether this engine joins a cluster; off, it is standalone
 * @param shards the number of shards queues are spread over: fixed for the life of a cluster, since
 *     a queue's shard follows from its name
 * @param wakeInterval how often the singleton starts every persistent queue that is not running,
 *     so that queues of a node that left serve again without waiting for a message
 * @since 0.1.0
 */
public record ClusterSettings(boolean enabled, int shards, Duration wakeInterval) {

  /** Checks the components; a value out of range fails with {@link SpoolException.InvalidConfiguration}. */
  public ClusterSettings {
    if (shards < 1) {
      throw new SpoolException.InvalidConfiguration("spool.cluster.shards must be at least 1");
    }
    if (wakeInterval == null || wakeInterval.isNegative() || wakeInterval.isZero()) {
      throw new SpoolException.InvalidConfiguration("spool.cluster.wake-interval must be positive");
    }
  }

  /** Reads {@code spool.cluster} from {@code config}. */
  public static ClusterSettings create(Config config) {
    Config c = config.getConfig("spool.cluster");
    return new ClusterSettings(c.getBoolean("enabled"), wholeNumber(c, "shards"), c.getDuration("wake-interval"));
  }
}
