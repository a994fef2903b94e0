package dev.spool.durable;

import static dev.spool.SpoolSettings.wholeNumber;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import dev.spool.SpoolException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Locale;

/**
 * The settings of the {@link WriterLock}, read from {@code spool.persistence.writer-lock}.
 *
 * @param database which journal database the lock guards: {@code postgres} (or {@code jdbc}) takes
 *     a PostgreSQL advisory lock at {@code url}; {@code ""} or {@code sqlite}: none
 * @param url the PostgreSQL database (the journal's); never logged with its query part
 * @param user the database user; empty: the URL's
 * @param password never logged; empty: none, or the URL's
 * @param shared whether the lock is shared (cluster members) rather than exclusive (a standalone node)
 * @param name what the lock's 64-bit key is derived from ({@link #key()})
 * @param checkInterval how often the lock's connection is checked
 * @param waitAtStart how long a start waits while another live node holds the lock before it is refused
 * @param keepaliveIdle the server's {@code tcp_keepalives_idle} for the lock's session
 * @param keepaliveInterval the server's {@code tcp_keepalives_interval}
 * @param keepaliveCount the server's {@code tcp_keepalives_count}
 * @param minBackoff first wait before a database that cannot be reached is tried again
 * @param maxBackoff longest wait between such tries
 */
public record WriterLockSettings(String database, String url, String user, String password, boolean shared,
    String name, Duration checkInterval, Duration waitAtStart, Duration keepaliveIdle, Duration keepaliveInterval,
    int keepaliveCount, Duration minBackoff, Duration maxBackoff) {

  public WriterLockSettings {
    if (enabled(database) && url.isBlank()) {
      throw new SpoolException.InvalidConfiguration("spool.persistence.writer-lock.url is empty: the writer lock on a "
          + database + " journal needs the database's JDBC URL (jdbc:postgresql://host:5432/db)");
    }
    if (enabled(database) && !url.startsWith("jdbc:postgresql:")) {
      throw new SpoolException.InvalidConfiguration("spool.persistence.writer-lock.url must be a PostgreSQL JDBC URL"
          + " (jdbc:postgresql://host:5432/db), not " + WriterLock.withoutQuery(url));
    }
    if (name.isBlank()) {
      throw new SpoolException.InvalidConfiguration("spool.persistence.writer-lock.name must not be empty");
    }
    if (!positive(checkInterval) || !positive(keepaliveIdle) || !positive(keepaliveInterval) || keepaliveCount < 1
        || waitAtStart.isNegative() || !positive(minBackoff) || maxBackoff.compareTo(minBackoff) < 0) {
      throw new SpoolException.InvalidConfiguration("spool.persistence.writer-lock: check-interval and the keepalive"
          + " settings must be positive and wait-at-start not negative");
    }
  }

  /**
   * The lock a cluster's queue directory holds exclusively, under its own key: one cluster per
   * database, so that members started with the wrong seed nodes, which form a second cluster, start
   * no queue of the first.
   */
  public WriterLockSettings forDirectory() {
    return new WriterLockSettings(database, url, user, password, false, name + "-directory", checkInterval,
        waitAtStart, keepaliveIdle, keepaliveInterval, keepaliveCount, minBackoff, maxBackoff);
  }

  /** These settings in shared mode: what every member of a cluster takes. */
  public WriterLockSettings sharedByMembers() {
    return new WriterLockSettings(database, url, user, password, true, name, checkInterval, waitAtStart, keepaliveIdle,
        keepaliveInterval, keepaliveCount, minBackoff, maxBackoff);
  }

  /**
   * Reads {@code spool.persistence.writer-lock} from the whole configuration.
   *
   * @param registry the engine's registry name ({@code spool.persistence.registry}), the lock's name
   *     when {@code name} is empty
   */
  public static WriterLockSettings create(Config config, String registry) {
    try {
      Config c = config.getConfig("spool.persistence.writer-lock");
      String database = c.getString("database").trim().toLowerCase(Locale.ROOT);
      if (!database.isEmpty() && !enabled(database) && !database.equals("sqlite")) {
        throw new SpoolException.InvalidConfiguration("spool.persistence.writer-lock.database is '" + database
            + "': use postgres (a PostgreSQL advisory lock), sqlite or \"\" (none); the service sets it to"
            + " spool.journal.database");
      }
      String mode = c.getString("mode").trim().toLowerCase(Locale.ROOT);
      if (!mode.equals("exclusive") && !mode.equals("shared")) {
        throw new SpoolException.InvalidConfiguration("spool.persistence.writer-lock.mode is '" + mode
            + "': use exclusive (a standalone node) or shared (a cluster member)");
      }
      String name = c.getString("name");
      return new WriterLockSettings(database, c.getString("url").trim(), c.getString("user"), c.getString("password"),
          mode.equals("shared"), name.isEmpty() ? registry : name, c.getDuration("check-interval"),
          c.getDuration("wait-at-start"), c.getDuration("keepalive.idle"), c.getDuration("keepalive.interval"),
          wholeNumber(c, "keepalive.count"), config.getDuration("spool.persistence.restart-backoff.min"),
          config.getDuration("spool.persistence.restart-backoff.max"));
    } catch (ConfigException e) {
      throw new SpoolException.InvalidConfiguration("spool.persistence.writer-lock: " + e.getMessage());
    }
  }

  /** Whether a lock is taken at all. */
  public boolean enabled() {
    return enabled(database);
  }

  private static boolean enabled(String database) {
    return database.equals("postgres") || database.equals("jdbc");
  }

  /**
   * The advisory lock's key: the first 8 bytes (big-endian) of the SHA-256 of the name in UTF-8.
   * For the default name {@code spool}: 7096548397574023925. Advisory locks are per database, so
   * Spools on different databases never meet; on one database, those with another name (another
   * registry) do not either.
   */
  public long key() {
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(name.getBytes(StandardCharsets.UTF_8));
      return ByteBuffer.wrap(digest, 0, 8).getLong();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
    }
  }

  private static boolean positive(Duration d) {
    return !d.isNegative() && !d.isZero();
  }
}
