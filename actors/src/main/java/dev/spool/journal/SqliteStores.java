package dev.spool.journal;

import com.typesafe.config.Config;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.apache.pekko.actor.AbstractExtensionId;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.Extension;

/**
 * The SQLite journal files of an actor system, one {@link SqliteStore} per file, so that a journal
 * plugin and a snapshot store on the same file share its writer. Closed when the system terminates.
 */
public final class SqliteStores implements Extension {

  /** The extension's id. */
  public static final class Id extends AbstractExtensionId<SqliteStores> {
    @Override
    public SqliteStores createExtension(ExtendedActorSystem system) {
      return new SqliteStores(system);
    }
  }

  public static final Id ID = new Id();

  private final ActorSystem system;
  private final Map<Path, SqliteStore> stores = new HashMap<>();
  private boolean terminated;

  private SqliteStores(ActorSystem system) {
    this.system = system;
    system.registerOnTermination(this::closeAll);
  }

  public static SqliteStores get(ActorSystem system) {
    return ID.get(system);
  }

  /**
   * The store a plugin configures: its {@code database} setting names the configuration block of
   * the file (e.g. {@code spool.journal.sqlite}). Opens nothing: the store opens on first use.
   */
  public SqliteStore forPlugin(Config pluginConfig) {
    return store(SqliteSettings.create(system.settings().config().getConfig(pluginConfig.getString("database"))));
  }

  /** The store of {@code settings.path()}, created with these settings if it is the first. */
  public synchronized SqliteStore store(SqliteSettings settings) {
    if (terminated) {
      throw new IllegalStateException("the actor system has terminated");
    }
    return stores.computeIfAbsent(settings.path(), p -> new SqliteStore(settings));
  }

  private void closeAll() {
    Map<Path, SqliteStore> open;
    synchronized (this) {
      terminated = true;
      open = new HashMap<>(stores);
      stores.clear();
    }
    open.values().forEach(SqliteStore::close);
  }
}
