package dev.spool.storage;

import com.typesafe.config.Config;
import dev.spool.journal.SqliteSettings;
import dev.spool.journal.SqliteStores;
import java.util.Optional;
import org.apache.pekko.actor.AbstractExtensionId;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.Extension;

/**
 * The segment store of an actor system, as {@code spool.storage.segment-store} names it: "sqlite"
 * (a table in the SQLite journal's file, sharing its writer), "jdbc" or "postgres" (PostgreSQL,
 * {@code spool.storage.jdbc}; the second name lets a service set it to its journal database's
 * name), or "" (none). Created with the extension, without waiting for a database (the SQLite
 * file opens at its first operation, PostgreSQL connects in the background), and closed when the
 * system terminates.
 */
public final class SegmentStores implements Extension {

  /** The extension's id. */
  public static final class Id extends AbstractExtensionId<SegmentStores> {
    @Override
    public SegmentStores createExtension(ExtendedActorSystem system) {
      return new SegmentStores(system);
    }
  }

  public static final Id ID = new Id();

  private final Optional<SegmentStore> store;

  private SegmentStores(ActorSystem system) {
    this.store = create(system);
    store.ifPresent(s -> system.registerOnTermination(s::close));
  }

  public static SegmentStores get(ActorSystem system) {
    return ID.get(system);
  }

  public static SegmentStores get(org.apache.pekko.actor.typed.ActorSystem<?> system) {
    return ID.get(system.classicSystem());
  }

  /** The system's store; empty when {@code spool.storage.segment-store} is "". */
  public Optional<SegmentStore> store() {
    return store;
  }

  private static Optional<SegmentStore> create(ActorSystem system) {
    Config config = system.settings().config();
    String kind = config.getString("spool.storage.segment-store");
    return switch (kind) {
      case "" -> Optional.empty();
      case "sqlite" -> Optional.of(new SqliteSegmentStore(SqliteStores.get(system).store(sqliteSettings(config))));
      case "jdbc", "postgres" -> Optional.of(new JdbcSegmentStore(JdbcSegmentStore.Settings.create(
          config.getConfig("spool.storage.jdbc"))));
      default -> throw new IllegalArgumentException("spool.storage.segment-store must be \"sqlite\","
          + " \"jdbc\" (or \"postgres\") or \"\", not \"" + kind + "\"");
    };
  }

  /**
   * The file of the SQLite journal: the block the journal plugin's {@code database} names, so that
   * segments and the journal share one file and its writer; spool.journal.sqlite otherwise.
   */
  private static SqliteSettings sqliteSettings(Config config) {
    String plugin = config.getString("spool.persistence.journal-plugin");
    String database = "spool.journal.sqlite";
    if (!plugin.isEmpty() && config.hasPath(plugin + ".database")) {
      database = config.getString(plugin + ".database");
    }
    return SqliteSettings.create(config.getConfig(database));
  }
}
