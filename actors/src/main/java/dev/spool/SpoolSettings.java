package dev.spool;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * The engine's settings, read from {@code spool { … }} ({@code reference.conf} holds every default,
 * each with a comment).
 *
 * @param askTimeout how long an API call waits for the engine before failing with {@code Timeout}
 * @param segmentSize messages per log segment (a power of two)
 * @param maxMessageBytes the largest accepted message (payload plus headers)
 * @param maxBatchMessages the most messages one publish may carry
 * @param defaultQueue the queue that always exists
 * @param dedupMaxEntries the most producer ids one queue remembers for deduplication
 * @param consumer consumer defaults and limits
 * @param janitor the janitor's timing
 * @param memoryThresholdBytes retained bytes over all queues at which memory pressure begins; 0 for none
 * @param events what the event streams carry
 * @param handler defaults for handler subscriptions (timeout, dispatcher, circuit breaker)
 * @param shutdownDrainTimeout how long a graceful shutdown waits for handler calls in flight
 * @param persistence where durable queues are journaled
 * @param disk the disk alarm of the embedded journal
 * @param scheduling delayed delivery and priorities
 * @param clock the engine's wall clock (append times, expiry, staleness); tests pass a manual one
 * @since 0.1.0
 */
public record SpoolSettings(
    Duration askTimeout,
    int segmentSize,
    long maxMessageBytes,
    int maxBatchMessages,
    String defaultQueue,
    int dedupMaxEntries,
    ConsumerDefaults consumer,
    Janitor janitor,
    long memoryThresholdBytes,
    Events events,
    HandlerSettings handler,
    Duration shutdownDrainTimeout,
    Persistence persistence,
    Disk disk,
    Scheduling scheduling,
    Clock clock) {

  /**
   * Delayed delivery and priorities.
   *
   * @param maxDelay the furthest ahead a message's delivery time may be, from its append time; at
   *     most {@link Limits#MAX_TIMER} (a consumer arms one timer for the earliest)
   * @param maxDeferred the most not-yet-due messages one consumer sets aside to deliver the due
   *     messages behind them; past it the consumer waits at the next not-due message
   * @param priorityWindow the ready messages a consumer of a queue with a {@code maxPriority} looks
   *     ahead over to deliver higher priorities first
   */
  public record Scheduling(Duration maxDelay, int maxDeferred, int priorityWindow) {

    /** Checks the components; a value out of range fails with {@link SpoolException.InvalidConfiguration}. */
    public Scheduling {
      if (maxDelay == null || maxDelay.isNegative() || maxDelay.compareTo(Limits.MAX_TIMER) > 0) {
        throw new SpoolException.InvalidConfiguration("spool.scheduling.max-delay must be between 0 and "
            + Limits.MAX_TIMER.toDays() + " days, not " + maxDelay);
      }
      if (maxDeferred < 1 || priorityWindow < 1) {
        throw new SpoolException.InvalidConfiguration(
            "spool.scheduling.max-deferred and priority-window must be 1 or more");
      }
    }
  }

  /**
   * The janitor's timing.
   *
   * @param interval how often it ticks the queues (expiry, garbage collection, rates, staleness)
   * @param staleAfter a consumer with no read or ack for this long is stale
   * @param history what history each queue keeps
   * @param health how queues and consumers are judged
   */
  public record Janitor(Duration interval, Duration staleAfter, History history, Health health) {

    /** The given timing, with the default history (5 s for an hour) and health judgement. */
    public Janitor(Duration interval, Duration staleAfter) {
      this(interval, staleAfter, History.DEFAULT, Health.DEFAULT);
    }

    /** This timing with another history and health judgement. */
    public Janitor with(History history, Health health) {
      return new Janitor(interval, staleAfter, history, health);
    }
  }

  /**
   * The history each queue keeps of itself and its consumers, sampled on the janitor's ticks.
   *
   * @param interval time between samples; they are taken on the janitor's ticks, so never closer than its interval
   * @param retain how long samples are kept: {@code retain / interval} samples per queue and per consumer
   * @param maxBytes the heap all histories may take together: past it, rings keep only their last
   *     minute as new samples come; 0 for no bound
   */
  public record History(Duration interval, Duration retain, long maxBytes) {

    /** A sample every 5 s, kept for an hour (720 samples), all histories within 64 MiB. */
    public static final History DEFAULT = new History(Duration.ofSeconds(5), Duration.ofHours(1), 64L << 20);

    /** Samples every {@code interval} kept for {@code retain}, within the default 64 MiB. */
    public History(Duration interval, Duration retain) {
      this(interval, retain, DEFAULT.maxBytes());
    }
  }

  /**
   * How the engine judges queues and consumers (see {@code HealthJudge}).
   *
   * @param stuckAfter a consumer with messages waiting that acknowledged nothing for this long is stuck
   * @param laggingAfter a consumer whose oldest unacknowledged message is older than this is lagging
   * @param recent the window in which dead-lettering, drops, expiries and refused publishes count
   */
  public record Health(Duration stuckAfter, Duration laggingAfter, Duration recent) {

    /** Stuck after 1 min, lagging after 1 min, the last 5 min recent. */
    public static final Health DEFAULT = new Health(Duration.ofMinutes(1), Duration.ofMinutes(1), Duration.ofMinutes(5));
  }

  /**
   * What the event streams carry.
   *
   * @param messageAdded whether every append emits {@code MessageAdded}
   * @param bufferSize events one slow {@code events()} listener may fall behind before the oldest are dropped
   */
  public record Events(boolean messageAdded, int bufferSize) {}

  /**
   * Where and how durable queues are journaled.
   *
   * @param journalPluginId the Pekko persistence journal plugin; empty: durable queues are refused
   * @param snapshotPluginId the snapshot store plugin
   * @param snapshotEvery journal writes between snapshots of a queue (each snapshot holds what the
   *     queue retains; events before the previous snapshot are deleted); a snapshot the heap has no
   *     room for waits until it has
   * @param snapshotCopies whole serialized copies of a snapshot the snapshot store holds at once
   *     while writing it (0 for a store that streams it in chunks): what a snapshot costs the heap
   * @param maxPendingMessages messages waiting for the journal per queue before new publishes fail fast
   * @param maxPendingBytes bytes of messages waiting for the journal per queue, likewise (so one
   *     write stays a reasonable database row and array); at most a sixteenth of the maximum heap
   * @param restartMinBackoff first wait before a failed journal is retried
   * @param restartMaxBackoff longest wait between retries of a failed journal
   * @param registry names this engine's list of durable queues in the journal: engines that share
   *     one journal need different names, and an engine finds its queues again under the same one
   * @param writeStallAfter a journal write under way longer than this makes the queue refuse new
   *     journaled changes ({@code JournalUnavailable}) and readiness fail, until a write completes
   * @param snapshotAfterBytes bytes of messages journaled since a queue's last snapshot (or twice
   *     what the queue retains, if more) after which a snapshot is due even before {@code snapshotEvery}
   *     writes, so that the journal stays proportional to what queues retain
   */
  public record Persistence(String journalPluginId, String snapshotPluginId, int snapshotEvery,
      int maxPendingMessages, long maxPendingBytes, Duration restartMinBackoff, Duration restartMaxBackoff,
      String registry, Duration writeStallAfter, int snapshotCopies, long snapshotAfterBytes, int writesInFlight) {

    /** The most journal writes a durable queue has under way at once unless configured. */
    public static final int DEFAULT_WRITES_IN_FLIGHT = 1;

    /** Settings with the default {@code writes-in-flight}. */
    public Persistence(String journalPluginId, String snapshotPluginId, int snapshotEvery, int maxPendingMessages,
        long maxPendingBytes, Duration restartMinBackoff, Duration restartMaxBackoff, String registry,
        Duration writeStallAfter, int snapshotCopies, long snapshotAfterBytes) {
      this(journalPluginId, snapshotPluginId, snapshotEvery, maxPendingMessages, maxPendingBytes, restartMinBackoff,
          restartMaxBackoff, registry, writeStallAfter, snapshotCopies, snapshotAfterBytes, DEFAULT_WRITES_IN_FLIGHT);
    }

    /** Checks the components; a value out of range fails with {@link SpoolException.InvalidConfiguration}. */
    public Persistence {
      Names.requireValid("spool.persistence.registry", registry);
      if (snapshotEvery < 2 || maxPendingMessages < 1 || maxPendingBytes < 1) {
        throw new SpoolException.InvalidConfiguration(
            "spool.persistence.snapshot-every must be at least 2, max-pending-messages and max-pending-bytes at least 1");
      }
      if (writeStallAfter == null || writeStallAfter.isNegative() || writeStallAfter.isZero()) {
        throw new SpoolException.InvalidConfiguration("spool.persistence.write-stall-after must be positive");
      }
      if (snapshotCopies < 0) {
        throw new SpoolException.InvalidConfiguration("spool.persistence.snapshot-copies must not be negative");
      }
      if (snapshotAfterBytes < 1) {
        throw new SpoolException.InvalidConfiguration("spool.persistence.snapshot-after-bytes must be at least 1");
      }
      if (writesInFlight < 1 || writesInFlight > 16) {
        throw new SpoolException.InvalidConfiguration("spool.persistence.writes-in-flight must be between 1 and 16");
      }
    }

    /** These settings with another {@code writes-in-flight}. */
    public Persistence withWritesInFlight(int writesInFlight) {
      return new Persistence(journalPluginId, snapshotPluginId, snapshotEvery, maxPendingMessages, maxPendingBytes,
          restartMinBackoff, restartMaxBackoff, registry, writeStallAfter, snapshotCopies, snapshotAfterBytes,
          writesInFlight);
    }

    /** These settings with another journal and snapshot store, by plugin id. */
    public Persistence withPlugins(String journalPluginId, String snapshotPluginId) {
      return new Persistence(journalPluginId, snapshotPluginId, snapshotEvery, maxPendingMessages, maxPendingBytes,
          restartMinBackoff, restartMaxBackoff, registry, writeStallAfter, snapshotCopies, snapshotAfterBytes,
          writesInFlight);
    }

    /** These settings with another {@code snapshot-every}. */
    public Persistence withSnapshotEvery(int snapshotEvery) {
      return new Persistence(journalPluginId, snapshotPluginId, snapshotEvery, maxPendingMessages, maxPendingBytes,
          restartMinBackoff, restartMaxBackoff, registry, writeStallAfter, snapshotCopies, snapshotAfterBytes,
          writesInFlight);
    }

    /** These settings with another {@code registry}. */
    public Persistence withRegistry(String registry) {
      return new Persistence(journalPluginId, snapshotPluginId, snapshotEvery, maxPendingMessages, maxPendingBytes,
          restartMinBackoff, restartMaxBackoff, registry, writeStallAfter, snapshotCopies, snapshotAfterBytes,
          writesInFlight);
    }

    /** These settings with other bounds on what waits for the journal. */
    public Persistence withMaxPending(int maxPendingMessages, long maxPendingBytes) {
      return new Persistence(journalPluginId, snapshotPluginId, snapshotEvery, maxPendingMessages, maxPendingBytes,
          restartMinBackoff, restartMaxBackoff, registry, writeStallAfter, snapshotCopies, snapshotAfterBytes,
          writesInFlight);
    }

    /** These settings with another {@code write-stall-after}. */
    public Persistence withWriteStallAfter(Duration writeStallAfter) {
      return new Persistence(journalPluginId, snapshotPluginId, snapshotEvery, maxPendingMessages, maxPendingBytes,
          restartMinBackoff, restartMaxBackoff, registry, writeStallAfter, snapshotCopies, snapshotAfterBytes,
          writesInFlight);
    }

    /** These settings with another {@code snapshot-copies}. */
    public Persistence withSnapshotCopies(int snapshotCopies) {
      return new Persistence(journalPluginId, snapshotPluginId, snapshotEvery, maxPendingMessages, maxPendingBytes,
          restartMinBackoff, restartMaxBackoff, registry, writeStallAfter, snapshotCopies, snapshotAfterBytes,
          writesInFlight);
    }

    /** These settings with another {@code snapshot-after-bytes}. */
    public Persistence withSnapshotAfterBytes(long snapshotAfterBytes) {
      return new Persistence(journalPluginId, snapshotPluginId, snapshotEvery, maxPendingMessages, maxPendingBytes,
          restartMinBackoff, restartMaxBackoff, registry, writeStallAfter, snapshotCopies, snapshotAfterBytes,
          writesInFlight);
    }

    /** Whether a journal is configured, so that durable queues can be created. */
    public boolean enabled() {
      return !journalPluginId.isEmpty();
    }

    /**
     * Reads {@code spool.persistence}; a snapshot store plugin may declare in its own block what a
     * snapshot costs it ({@code snapshot-copies}), which then wins over the general setting.
     */
    /**
     * What waits for the journal is at most this fraction of the maximum heap, whatever
     * {@code max-pending-bytes} says: one write becomes one array of its size, which a small heap
     * must find room for (contiguous, beside the retained messages and requests in flight).
     */
    static final long PENDING_HEAP_SHARE = 16;

    static Persistence create(Config c, Config root) {
      String snapshotPlugin = c.getString("snapshot-plugin");
      String declared = snapshotPlugin.isEmpty() ? "" : snapshotPlugin + ".snapshot-copies";
      int snapshotCopies = !declared.isEmpty() && root.hasPath(declared)
          ? wholeNumber(root, declared) : wholeNumber(c, "snapshot-copies");
      return new Persistence(c.getString("journal-plugin"), c.getString("snapshot-plugin"),
          wholeNumber(c, "snapshot-every"),
          wholeNumber(c, "max-pending-messages"), Math.min(c.getBytes("max-pending-bytes"), Runtime.getRuntime().maxMemory()
              / PENDING_HEAP_SHARE), c.getDuration("restart-backoff.min"),
          c.getDuration("restart-backoff.max"),
          c.getString("registry"), c.getDuration("write-stall-after"), snapshotCopies,
          c.getBytes("snapshot-after-bytes"), wholeNumber(c, "writes-in-flight"));
    }
  }

  /** Usable bytes on the file system holding a path: a system call in production, a figure in tests. */
  @FunctionalInterface
  public interface FreeSpace {
    /** The usable bytes of the file system holding {@code path}. */
    long usableBytes(Path path) throws IOException;

    /** The file store's usable space, as the JVM sees it ({@code statvfs}). */
    FreeSpace FILE_STORE = path -> Files.getFileStore(path).getUsableSpace();
  }

  /**
   * The disk alarm of the embedded journal ({@code spool.storage.disk-free-limit}): checked on
   * the janitor's tick.
   *
   * @param freeLimitBytes usable bytes under which publishes to persistent queues are refused; 0 for no alarm
   * @param journalFile the embedded SQLite journal's file, whose file system is watched; {@code null}
   *     with another journal (PostgreSQL) or none: no alarm
   * @param freeSpace how usable space is measured
   */
  public record Disk(long freeLimitBytes, Path journalFile, FreeSpace freeSpace) {

    /** The journal plugin class whose file is watched. */
    static final String SQLITE_JOURNAL = "dev.spool.journal.SqliteJournal";

    /** Checks the components; a value out of range fails with {@link SpoolException.InvalidConfiguration}. */
    public Disk {
      if (freeLimitBytes < 0) {
        throw new SpoolException.InvalidConfiguration("spool.storage.disk-free-limit must not be negative");
      }
    }

    /** Whether there is an alarm: a limit and an embedded journal file to watch. */
    public boolean enabled() {
      return freeLimitBytes > 0 && journalFile != null;
    }

    /** These settings with another limit, e.g. more than the disk has, to see the alarm. */
    public Disk withFreeLimitBytes(long bytes) {
      return new Disk(bytes, journalFile, freeSpace);
    }

    /** These settings with another way of measuring free space. */
    public Disk withFreeSpace(FreeSpace freeSpace) {
      return new Disk(freeLimitBytes, journalFile, freeSpace);
    }

    /**
     * Reads {@code spool.storage.disk-free-limit}, and finds the file of the embedded SQLite journal
     * if {@code journalPluginId} is one (its block's {@code class}), through the block its
     * {@code database} names.
     */
    static Disk create(Config storage, Config root, String journalPluginId) {
      long limit = freeLimit(storage.getString("disk-free-limit"));
      Path file = null;
      if (!journalPluginId.isEmpty() && root.hasPath(journalPluginId + ".class")
          && SQLITE_JOURNAL.equals(root.getString(journalPluginId + ".class"))) {
        String database = root.getString(journalPluginId + ".database");
        String path = root.hasPath(database + ".path") ? root.getString(database + ".path") : "";
        file = path.isBlank() ? null : Path.of(path).toAbsolutePath().normalize();
      }
      return new Disk(limit, file, FreeSpace.FILE_STORE);
    }

    /** A size ({@code 1GiB}), or {@code 0} / {@code off} for no alarm. */
    static long freeLimit(String value) {
      String v = value.trim();
      if (v.equalsIgnoreCase("off")) {
        return 0;
      }
      try {
        long bytes = com.typesafe.config.ConfigFactory.parseString("v = \"" + v + "\"").getBytes("v");
        if (bytes < 0) {
          throw new SpoolException.InvalidConfiguration("spool.storage.disk-free-limit must not be negative");
        }
        return bytes;
      } catch (com.typesafe.config.ConfigException e) {
        throw new SpoolException.InvalidConfiguration("spool.storage.disk-free-limit: not a size or off: " + value);
      }
    }
  }

  /**
   * Consumer defaults and limits.
   *
   * @param prefetch default max deliveries in flight
   * @param ackTimeout default redelivery deadline
   * @param backoff default redelivery backoff after a nack
   * @param maxReadWait cap on a long-poll's wait
   * @param maxParkedReads most long-polls one consumer holds at once
   * @param maxReadBatch most deliveries one read returns
   * @param streamBatch most deliveries handed to a stream subscriber in one message
   * @param traceEventsPerQueue delivery events one queue's consumers keep together for message traces,
   *     divided evenly among them (0 for none)
   * @param maxOpenGroups message groups each consumer tracks toward {@code GroupCompleted} at once
   */
  public record ConsumerDefaults(
      int prefetch,
      Duration ackTimeout,
      Backoff backoff,
      Duration maxReadWait,
      int maxParkedReads,
      int maxReadBatch,
      int streamBatch,
      int traceEventsPerQueue,
      int maxOpenGroups) {}

  /** Checks the components; a value out of range fails with {@link SpoolException.InvalidConfiguration}. */
  public SpoolSettings {
    if (Integer.bitCount(segmentSize) != 1 || segmentSize < 16) {
      throw new SpoolException.InvalidConfiguration("spool.segment-size must be a power of two, at least 16");
    }
    Names.requireValid("default queue", defaultQueue);
    if (memoryThresholdBytes < 0) {
      throw new SpoolException.InvalidConfiguration("spool.memory.threshold must not be negative");
    }
    if (shutdownDrainTimeout.isNegative()) {
      throw new SpoolException.InvalidConfiguration("spool.shutdown.drain-timeout must not be negative");
    }
    if (consumer.traceEventsPerQueue() < 0 || consumer.maxOpenGroups() < 0) {
      throw new SpoolException.InvalidConfiguration(
          "spool.consumer.trace-events-per-queue and max-open-groups must not be negative");
    }
    if (janitor.interval().isNegative() || janitor.interval().isZero()) {
      throw new SpoolException.InvalidConfiguration("spool.janitor.interval must be positive");
    }
    if (!positive(janitor.history().interval()) || janitor.history().retain().compareTo(janitor.history().interval()) < 0
        || janitor.history().retain().dividedBy(janitor.history().interval()) > 100_000) {
      throw new SpoolException.InvalidConfiguration("spool.history.interval must be positive, and spool.history.retain"
          + " at least one interval and at most 100000 of them");
    }
    if (!positive(janitor.health().stuckAfter()) || !positive(janitor.health().laggingAfter())
        || !positive(janitor.health().recent())) {
      throw new SpoolException.InvalidConfiguration(
          "spool.health.stuck-after, lagging-after and recent must be positive");
    }
  }

  /** These settings with another clock. */
  public SpoolSettings withClock(Clock clock) {
    return new SpoolSettings(askTimeout, segmentSize, maxMessageBytes, maxBatchMessages, defaultQueue, dedupMaxEntries,
        consumer, janitor, memoryThresholdBytes, events, handler, shutdownDrainTimeout, persistence, disk, scheduling,
        clock);
  }

  /** These settings with another janitor timing. */
  public SpoolSettings withJanitor(Janitor janitor) {
    return new SpoolSettings(askTimeout, segmentSize, maxMessageBytes, maxBatchMessages, defaultQueue, dedupMaxEntries,
        consumer, janitor, memoryThresholdBytes, events, handler, shutdownDrainTimeout, persistence, disk, scheduling,
        clock);
  }

  /** These settings with other handler defaults. */
  public SpoolSettings withHandler(HandlerSettings handler) {
    return new SpoolSettings(askTimeout, segmentSize, maxMessageBytes, maxBatchMessages, defaultQueue, dedupMaxEntries,
        consumer, janitor, memoryThresholdBytes, events, handler, shutdownDrainTimeout, persistence, disk, scheduling,
        clock);
  }

  /** These settings with another shutdown drain timeout. */
  public SpoolSettings withShutdownDrainTimeout(Duration timeout) {
    return new SpoolSettings(askTimeout, segmentSize, maxMessageBytes, maxBatchMessages, defaultQueue, dedupMaxEntries,
        consumer, janitor, memoryThresholdBytes, events, handler, timeout, persistence, disk, scheduling,
        clock);
  }

  /** These settings with other consumer defaults. */
  public SpoolSettings withConsumer(ConsumerDefaults consumer) {
    return new SpoolSettings(askTimeout, segmentSize, maxMessageBytes, maxBatchMessages, defaultQueue, dedupMaxEntries,
        consumer, janitor, memoryThresholdBytes, events, handler, shutdownDrainTimeout, persistence, disk, scheduling,
        clock);
  }

  /** These settings with other event options. */
  public SpoolSettings withEvents(Events events) {
    return new SpoolSettings(askTimeout, segmentSize, maxMessageBytes, maxBatchMessages, defaultQueue, dedupMaxEntries,
        consumer, janitor, memoryThresholdBytes, events, handler, shutdownDrainTimeout, persistence, disk, scheduling,
        clock);
  }

  /** These settings with another memory threshold (0 for none). */
  public SpoolSettings withMemoryThresholdBytes(long bytes) {
    return new SpoolSettings(askTimeout, segmentSize, maxMessageBytes, maxBatchMessages, defaultQueue, dedupMaxEntries,
        consumer, janitor, bytes, events, handler, shutdownDrainTimeout, persistence, disk, scheduling,
        clock);
  }

  /** These settings with another journal setup for durable queues. */
  public SpoolSettings withPersistence(Persistence persistence) {
    return new SpoolSettings(askTimeout, segmentSize, maxMessageBytes, maxBatchMessages, defaultQueue, dedupMaxEntries,
        consumer, janitor, memoryThresholdBytes, events, handler, shutdownDrainTimeout, persistence, disk, scheduling,
        clock);
  }

  /** These settings with another disk alarm (its limit, journal file or way of measuring free space). */
  public SpoolSettings withDisk(Disk disk) {
    return new SpoolSettings(askTimeout, segmentSize, maxMessageBytes, maxBatchMessages, defaultQueue, dedupMaxEntries,
        consumer, janitor, memoryThresholdBytes, events, handler, shutdownDrainTimeout, persistence, disk, scheduling,
        clock);
  }

  /** These settings with other delay and priority bounds. */
  public SpoolSettings withScheduling(Scheduling scheduling) {
    return new SpoolSettings(askTimeout, segmentSize, maxMessageBytes, maxBatchMessages, defaultQueue, dedupMaxEntries,
        consumer, janitor, memoryThresholdBytes, events, handler, shutdownDrainTimeout, persistence, disk, scheduling,
        clock);
  }

  /** Reads {@code spool} from the system's configuration. */
  public static SpoolSettings create(ActorSystem<?> system) {
    return create(system.settings().config());
  }

  /** Reads {@code spool} from {@code config}. */
  public static SpoolSettings create(Config config) {
    Config c = config.getConfig("spool");
    Config consumer = c.getConfig("consumer");
    Config backoff = consumer.getConfig("backoff");
    if (consumer.hasPath("trace-events")) {
      // A per-consumer count from an older config would be ignored unseen: refuse it, naming the setting to use.
      throw new SpoolException.InvalidConfiguration("spool.consumer.trace-events is no longer read: set"
          + " spool.consumer.trace-events-per-queue, the events all consumers of one queue keep together");
    }
    Persistence persistence = Persistence.create(c.getConfig("persistence"), config);
    return new SpoolSettings(
        c.getDuration("ask-timeout"),
        wholeNumber(c, "segment-size"),
        c.getBytes("max-message-bytes"),
        wholeNumber(c, "max-batch-messages"),
        c.getString("default-queue"),
        wholeNumber(c, "dedup.max-entries"),
        new ConsumerDefaults(
            wholeNumber(consumer, "prefetch"),
            consumer.getDuration("ack-timeout"),
            Backoff.exponential(
                backoff.getDuration("initial"),
                backoff.getDuration("max"),
                backoff.getDouble("multiplier"),
                backoff.getDouble("jitter")),
            consumer.getDuration("max-read-wait"),
            wholeNumber(consumer, "max-parked-reads"),
            wholeNumber(consumer, "max-read-batch"),
            wholeNumber(consumer, "stream-batch"),
            wholeNumber(consumer, "trace-events-per-queue"),
            wholeNumber(consumer, "max-open-groups")),
        new Janitor(c.getDuration("janitor.interval"), c.getDuration("janitor.stale-after"),
            new History(c.getDuration("history.interval"), c.getDuration("history.retain"),
                historyBytes(c.getString("history.max-bytes"))),
            new Health(c.getDuration("health.stuck-after"), c.getDuration("health.lagging-after"),
                c.getDuration("health.recent"))),
        memoryThreshold(c.getString("memory.threshold")),
        new Events(c.getBoolean("events.message-added"), wholeNumber(c, "events.buffer-size")),
        new HandlerSettings(
            c.getDuration("handler.timeout"),
            c.getString("handler.dispatcher"),
            wholeNumber(c, "handler.breaker.max-failures"),
            c.getDuration("handler.breaker.reset-timeout"),
            c.getDuration("handler.breaker.max-reset-timeout")),
        c.getDuration("shutdown.drain-timeout"),
        persistence,
        Disk.create(c.getConfig("storage"), config, persistence.journalPluginId()),
        new Scheduling(c.getDuration("scheduling.max-delay"), wholeNumber(c, "scheduling.max-deferred"),
            wholeNumber(c, "scheduling.priority-window")),
        Clock.systemUTC());
  }

  /** {@code spool.history.max-bytes}: read as the memory threshold is, named as itself when refused. */
  private static long historyBytes(String value) {
    try {
      return memoryThreshold(value);
    } catch (SpoolException.InvalidConfiguration e) {
      throw new SpoolException.InvalidConfiguration(e.getMessage().replace("spool.memory.threshold",
          "spool.history.max-bytes"));
    }
  }

  private static boolean positive(Duration d) {
    return !d.isNegative() && !d.isZero();
  }

  /** A size ({@code 512MiB}), a share of the maximum heap ({@code 50%}) or {@code off}. */
  static long memoryThreshold(String value) {
    String v = value.trim();
    if (v.equalsIgnoreCase("off")) {
      return 0;
    }
    if (v.endsWith("%")) {
      double share;
      try {
        share = Double.parseDouble(v.substring(0, v.length() - 1).trim());
      } catch (NumberFormatException e) {
        throw new SpoolException.InvalidConfiguration("spool.memory.threshold: not a percentage: " + value);
      }
      if (share <= 0 || share > 100) {
        throw new SpoolException.InvalidConfiguration("spool.memory.threshold must be over 0% and at most 100%");
      }
      return (long) (Runtime.getRuntime().maxMemory() * share / 100);
    }
    try {
      return com.typesafe.config.ConfigFactory.parseString("v = \"" + v + "\"").getBytes("v");
    } catch (com.typesafe.config.ConfigException e) {
      throw new SpoolException.InvalidConfiguration("spool.memory.threshold: not a size, percentage or off: " + value);
    }
  }

  /**
   * An integer setting. Typesafe Config's {@code getInt} truncates a fractional value ("2.5" reads
   * as 2); this refuses it, naming where it was set. For Spool's modules reading their settings.
   */
  public static int wholeNumber(Config config, String path) {
    double value = config.getNumber(path).doubleValue();
    if (value != Math.rint(value)) {
      throw new ConfigException.BadValue(config.getValue(path).origin(), path,
          "must be a whole number, not " + config.getValue(path).render());
    }
    return config.getInt(path);
  }
}
