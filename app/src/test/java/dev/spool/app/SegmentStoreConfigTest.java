package dev.spool.app;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The service keeps sealed segments in its journal's database, with the journal's address and credentials. */
class SegmentStoreConfigTest {

  private static Config config(Map<String, Object> overrides) {
    return ConfigFactory.load(ConfigFactory.parseMap(overrides)
        .withFallback(ConfigFactory.parseResourcesAnySyntax("application")));
  }

  @Test
  void theSqliteJournalKeepsSegmentsInItsFile() {
    assertEquals("sqlite", config(Map.of()).getString("spool.storage.segment-store"));
  }

  @Test
  void thePostgresJournalKeepsThemInItsDatabase() {
    Config c = config(Map.of("spool.journal.database", "postgres",
        "pekko-persistence-jdbc.shared-databases.postgres.db.url", "jdbc:postgresql://db:5432/queues",
        "pekko-persistence-jdbc.shared-databases.postgres.db.user", "queues",
        "pekko-persistence-jdbc.shared-databases.postgres.db.password", "s3cret"));
    assertEquals("postgres", c.getString("spool.storage.segment-store"));
    assertEquals("jdbc:postgresql://db:5432/queues", c.getString("spool.storage.jdbc.url"));
    assertEquals("queues", c.getString("spool.storage.jdbc.user"));
    assertEquals("s3cret", c.getString("spool.storage.jdbc.password"));
    assertEquals(4, c.getInt("spool.storage.jdbc.threads"), "the engine's defaults for the rest");
  }
}
