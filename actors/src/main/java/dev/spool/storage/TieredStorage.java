package dev.spool.storage;

import static dev.spool.SpoolSettings.wholeNumber;

import com.typesafe.config.Config;
import dev.spool.SpoolException;
import java.util.Optional;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;

/**
 * The tiered storage of an actor system's persistent queues, per {@code spool.storage}: one
 * {@link SegmentStorage} (store, codec, cache) shared by every queue, or none when
 * {@code segment-store} is empty. Closed when the system terminates.
 */
public final class TieredStorage implements Extension {

  /**
   * @param hotBytesPerQueue bytes of stored segments a queue keeps in the heap before it drops the
   *     oldest (the unsealed tail and segments not yet stored stay whatever this is)
   * @param cacheBytes the most bytes of segments read back the cache holds
   * @param readAhead cold segments a sequential reader loads ahead
   */
  public record Settings(long hotBytesPerQueue, long cacheBytes, int readAhead) {}

  private static final Id ID = new Id();

  private static final class Id extends ExtensionId<TieredStorage> {
    @Override
    public TieredStorage createExtension(ActorSystem<?> system) {
      return new TieredStorage(system);
    }
  }

  private final Settings settings;
  private final SegmentStorage storage;

  private TieredStorage(ActorSystem<?> system) {
    Config config = system.settings().config().getConfig("spool.storage");
    this.settings = settings(config);
    Optional<SegmentStore> store = SegmentStores.get(system).store();
    if (store.isEmpty()) {
      this.storage = null;
      return;
    }
    Executor executor = system.dispatchers().lookup(DispatcherSelector.fromConfig("spool.storage-dispatcher"));
    int segmentSize = wholeNumber(system.settings().config(), "spool.segment-size");
    // Reading a segment back holds its bytes about three times for a moment (the row, the
    // decompressed bytes, the messages): an eighth of the heap at a time stays clear of the memory
    // threshold's half.
    long readBudget = Math.max(settings.cacheBytes(), Runtime.getRuntime().maxMemory() / 8);
    this.storage = new SegmentStorage(store.get(), new SegmentCodec(KeyRing.get(system)), executor, segmentSize,
        settings.cacheBytes(), settings.readAhead(), readBudget);
    system.getWhenTerminated().thenRun(storage::close);
  }

  static Settings settings(Config config) {
    long hot = config.getBytes("hot-bytes-per-queue");
    int readAhead = wholeNumber(config, "read-ahead");
    if (hot < 0 || readAhead < 0) {
      throw new SpoolException.InvalidConfiguration("spool.storage.hot-bytes-per-queue and read-ahead must not be "
          + "negative");
    }
    return new Settings(hot, cacheBytes(config.getString("cache-size")), readAhead);
  }

  /** A size ("64MiB") or a share of the maximum heap ("5%"). */
  private static long cacheBytes(String value) {
    String v = value.trim();
    try {
      if (v.endsWith("%")) {
        double share = Double.parseDouble(v.substring(0, v.length() - 1)) / 100;
        if (share <= 0 || share > 0.5) {
          throw new SpoolException.InvalidConfiguration("spool.storage.cache-size must be over 0% and at most 50%");
        }
        return (long) (Runtime.getRuntime().maxMemory() * share);
      }
      return com.typesafe.config.ConfigFactory.parseString("v = \"" + v + "\"").getBytes("v");
    } catch (NumberFormatException | com.typesafe.config.ConfigException e) {
      throw new SpoolException.InvalidConfiguration("spool.storage.cache-size: not a size or percentage: " + value);
    }
  }

  public static TieredStorage get(ActorSystem<?> system) {
    return ID.apply(system);
  }

  /** The shared storage, or empty when persistent queues keep their backlog in the heap. */
  public Optional<SegmentStorage> storage() {
    return Optional.ofNullable(storage);
  }

  public Settings settings() {
    return settings;
  }
}
