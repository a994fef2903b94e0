package dev.spool.durable;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import org.apache.pekko.persistence.testkit.PersistenceTestKitPlugin;
import org.apache.pekko.persistence.testkit.PersistenceTestKitSnapshotPlugin;

/** The configuration of an engine on Pekko's in-memory test journal and snapshot store. */
final class TestJournal {

  private TestJournal() {}

  /** The test journal and snapshot store as Spool's, with {@code settings} (HOCON) on top. */
  static Config config(String settings) {
    return ConfigFactory.parseString(settings)
        .withFallback(PersistenceTestKitPlugin.config())
        .withFallback(PersistenceTestKitSnapshotPlugin.config())
        .withFallback(ConfigFactory.parseString("""
            spool.persistence.journal-plugin = "pekko.persistence.testkit.journal"
            spool.persistence.snapshot-plugin = "pekko.persistence.testkit.snapshotstore.pluginid"
            """));
  }
}
