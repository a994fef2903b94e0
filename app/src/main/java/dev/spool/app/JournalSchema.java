package dev.spool.app;

import com.typesafe.config.Config;
import dev.spool.SpoolException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates the journal's tables when they are missing, before Spool starts, so that the embedded
 * H2 journal needs no setup and a fresh PostgreSQL database only an empty schema and a user. Runs
 * once at start, on the starting thread, not inside an actor.
 */
public final class JournalSchema {

  private static final Logger log = LoggerFactory.getLogger(JournalSchema.class);

  private JournalSchema() {}

  /** Creates the tables of the database {@code spool.journal.database} names, if missing. */
  public static void ensure(Config config) {
    String database = config.getString("spool.journal.database");
    String path = "pekko-persistence-jdbc.shared-databases." + database;
    if (!config.hasPath(path)) {
      throw new SpoolException.InvalidConfiguration("spool.journal.database is '" + database
          + "', but " + path + " is not configured (use h2 or postgres)");
    }
    Config db = config.getConfig(path + ".db");
    String url = db.getString("url");
    String script = database.equals("postgres") ? "/schema/postgres.sql" : "/schema/h2.sql";
    if (url.startsWith("jdbc:h2:file:")) {
      createDataDirectory(url);
    }
    try (Connection c = DriverManager.getConnection(url, db.getString("user"), db.getString("password"));
        Statement s = c.createStatement()) {
      for (String statement : statements(script)) {
        s.execute(statement);
      }
    } catch (SQLException e) {
      throw new SpoolException.InvalidConfiguration("the journal database (" + database + ", "
          + withoutSecrets(url) + ") cannot be used: " + e.getMessage());
    }
    log.info("journal: {} at {}", database, withoutSecrets(url));
  }

  private static void createDataDirectory(String url) {
    String file = url.substring("jdbc:h2:file:".length()).split(";", 2)[0];
    try {
      Path parent = Path.of(file).toAbsolutePath().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
    } catch (IOException e) {
      throw new SpoolException.InvalidConfiguration("cannot create the journal directory for " + file + ": "
          + e.getMessage());
    }
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
