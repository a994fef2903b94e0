package dev.spool.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spool.SpoolException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** spool.journal.database picks the journal plugins: SQLite in the data directory by default, or PostgreSQL. */
class JournalConfigTest {

  private static Config config(Map<String, Object> overrides) {
    return ConfigFactory.load(ConfigFactory.parseMap(overrides)
        .withFallback(ConfigFactory.parseResourcesAnySyntax("application")));
  }

  @Test
  void theDefaultIsTheSqliteJournalInTheDataDirectory() {
    Config c = config(Map.of("spool.data-dir", "/var/lib/spool"));
    String journal = c.getString("spool.persistence.journal-plugin");
    String snapshots = c.getString("spool.persistence.snapshot-plugin");
    assertEquals("dev.spool.journal.SqliteJournal", c.getString(journal + ".class"));
    assertEquals("dev.spool.journal.SqliteSnapshotStore", c.getString(snapshots + ".class"));
    assertEquals(Path.of("/var/lib/spool/journal/spool.db"),
        Path.of(c.getString(c.getString(journal + ".database") + ".path")));
    assertEquals("FULL", c.getString("spool.journal.sqlite.synchronous"));
  }

  @Test
  void postgresIsSelectedWithItsConnectionSettings() {
    Config c = config(Map.of("spool.journal.database", "postgres",
        "pekko-persistence-jdbc.shared-databases.postgres.db.url", "jdbc:postgresql://db:5432/spool"));
    String journal = c.getString("spool.persistence.journal-plugin");
    String snapshots = c.getString("spool.persistence.snapshot-plugin");
    assertTrue(c.getString(journal + ".class").startsWith("org.apache.pekko.persistence.jdbc."), journal);
    assertTrue(c.getString(snapshots + ".class").startsWith("org.apache.pekko.persistence.jdbc."), snapshots);
    assertEquals("postgres", c.getString(journal + ".use-shared-db"));
    assertEquals("postgres", c.getString(snapshots + ".use-shared-db"));
    assertEquals("jdbc:postgresql://db:5432/spool",
        c.getString("pekko-persistence-jdbc.shared-databases.postgres.db.url"));
  }

  @Test
  void anUnknownDatabaseIsRefusedClearly() {
    SpoolException.InvalidConfiguration e = assertThrows(SpoolException.InvalidConfiguration.class,
        () -> JournalSchema.ensure(config(Map.of("spool.journal.database", "h2"))));
    assertTrue(e.getMessage().contains("sqlite or postgres"), e.getMessage());
  }
}
