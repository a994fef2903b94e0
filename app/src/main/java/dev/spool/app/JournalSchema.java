package dev.spool.app;

import com.typesafe.config.Config;
import dev.spool.SpoolException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates the PostgreSQL journal's tables when they are missing, before Spool starts, so that a
 * fresh database needs only an empty schema and a user. The embedded SQLite journal creates its
 * own file and tables when first used. Runs once at start, on the starting thread, not inside an
 * actor.
 */
public final class JournalSchema {

  private static final Logger log = LoggerFactory.getLogger(JournalSchema.class);

  private JournalSchema() {}

  /** Checks {@code spool.journal.database} and creates the PostgreSQL tables if it names PostgreSQL. */
  public static void ensure(Config config) {
    String database = config.getString("spool.journal.database");
    switch (database) {
      case "sqlite" -> log.info("journal: SQLite at {}",
          Path.of(config.getString("spool.journal.sqlite.path")).toAbsolutePath().normalize());
      case "postgres" -> createPostgresTables(config);
      default -> throw new SpoolException.InvalidConfiguration("spool.journal.database is '" + database
          + "': use sqlite or postgres");
    }
  }

  private static void createPostgresTables(Config config) {
    Config db = config.getConfig("pekko-persistence-jdbc.shared-databases.postgres.db");
    String url = db.getString("url");
    try (Connection c = DriverManager.getConnection(url, db.getString("user"), db.getString("password"));
        Statement s = c.createStatement()) {
      for (String statement : statements("/schema/postgres.sql")) {
        s.execute(statement);
      }
    } catch (SQLException e) {
      throw new SpoolException.InvalidConfiguration("the journal database (postgres, " + withoutSecrets(url)
          + ") cannot be used: " + e.getMessage());
    }
    log.info("journal: postgres at {}", withoutSecrets(url));
  }

  private static String[] statements(String resource) {
    try (InputStream in = JournalSchema.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("missing " + resource);
      }
      String sql = new String(in.readAllBytes(), StandardCharsets.UTF_8).replaceAll("(?m)^--.*$", "");
      return java.util.Arrays.stream(sql.split(";")).map(String::trim).filter(x -> !x.isEmpty())
          .toArray(String[]::new);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + resource, e);
    }
  }

  /** The URL without query parameters, which may carry a password. */
  static String withoutSecrets(String url) {
    int q = url.indexOf('?');
    return q < 0 ? url : url.substring(0, q);
  }
}
