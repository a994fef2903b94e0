package dev.spool;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigOrigin;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueFactory;
import dev.spool.actor.EventListener;
import dev.spool.actor.Janitor;
import dev.spool.actor.PushTransports;
import dev.spool.actor.QueueActor;
import dev.spool.actor.QueueEntity;
import dev.spool.actor.QueueManager;
import dev.spool.actor.Undelivered;
import dev.spool.durable.PauseFence;
import dev.spool.storage.KeyRing;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.eventstream.EventStream;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.ShardRegion.ClusterShardingStats;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingQuery;
import org.apache.pekko.cluster.sharding.typed.GetClusterShardingStats;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.typed.javadsl.ActorSource;

/**
 * Spool embedded in a JVM application: named queues with many producers and many independent
 * consumers. A thin facade over the actors: every call is a message to the {@link QueueManager},
 * nothing blocks a thread, results are {@link CompletionStage}s that fail with a
 * {@link SpoolException}.
 *
 * <pre>{@code
 * Spool spool = Spool.start(ConfigFactory.load());
 * spool.createQueue("orders", QueueSettings.defaults()).toCompletableFuture().join();
 * QueuePublisher publisher = spool.createPublisher("orders", "checkout");
 * QueueConsumer billing = spool.createConsumer("orders", ConsumerSettings.named("billing"));
 * publisher.publish(Message.text("order.created", "{\"id\":7}"));
 * billing.readBatch(100, Duration.ofSeconds(5))
 *     .thenCompose(billing::acknowledgeBatch);
 * }</pre>
 *
 * @since 0.1.0
 */
public final class Spool {

  private static final AtomicLong LISTENERS = new AtomicLong();

  private final ActorSystem<?> system;
  private final SpoolExtension engine;
  private final boolean ownsSystem;
  private ReplyInbox replies;

  private Spool(ActorSystem<?> system, SpoolExtension engine, boolean ownsSystem) {
    this.system = system;
    this.engine = engine;
    this.ownsSystem = ownsSystem;
  }

  /** Spool on an existing actor system (its manager runs as a system actor; one engine per system). */
  public static Spool create(ActorSystem<?> system) {
    return new Spool(system, SpoolExtension.ID.apply(system), false);
  }

  /**
   * A separate engine on an existing actor system with settings of the caller's choosing (e.g.
   * another clock or memory threshold): its own queues, manager and janitor, apart from the
   * system's default engine.
   */
  public static Spool create(ActorSystem<?> system, SpoolSettings settings) {
    return new Spool(system, SpoolExtension.standalone(system, settings), false);
  }

  /** Spool on an actor system of its own, configured by {@code config} (e.g. {@code ConfigFactory.load()}). */
  public static Spool start(Config config) {
    if (config.getBoolean("spool.cluster.enabled")) { // refused before the member joins anything
      SpoolExtension.requireSharedJournal(SpoolSettings.create(config));
    }
    ActorSystem<?> system = ActorSystem.create(Behaviors.empty(), "spool", clusterMode(config));
    try {
      return new Spool(system, SpoolExtension.ID.apply(system), true);
    } catch (RuntimeException e) {
      system.terminate(); // a bad setting (an encryption key …) must not leave the system running
      throw e;
    }
  }

  /**
   * In cluster mode, the actor system is a cluster member with Spool's Pekko settings
   * ({@code dev/spool/cluster.conf}: the Split Brain Resolver, no passivation, the frame size) where
   * the configuration leaves Pekko's defaults, and {@code spool.cluster.seed-nodes}
   * (comma-separated, the form an environment variable gives) replaces {@code pekko.cluster.seed-nodes}.
   * An application that creates its own actor system for a cluster member passes its
   * configuration through this first.
   */
  public static Config clusterMode(Config config) {
    if (!config.getBoolean("spool.cluster.enabled")) {
      return config;
    }
    Config member = config.withValue("pekko.actor.provider", ConfigValueFactory.fromAnyRef("cluster"));
    Config defaults = ConfigFactory.parseResources(Spool.class, "cluster.conf");
    for (Map.Entry<String, ConfigValue> setting : defaults.entrySet()) {
      String path = setting.getKey();
      if (!config.hasPath(path) || isDefault(config.getValue(path).origin())) {
        member = member.withValue(path, setting.getValue());
      }
    }
    String seeds = config.getString("spool.cluster.seed-nodes").trim();
    if (!seeds.isEmpty()) {
      List<String> nodes = Arrays.stream(seeds.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
      member = member.withValue("pekko.cluster.seed-nodes", ConfigValueFactory.fromIterable(nodes));
    }
    return member;
  }

  /** Whether a setting's value is a library's default (a {@code reference.conf}), not the application's. */
  private static boolean isDefault(ConfigOrigin origin) {
    String resource = origin.resource();
    return resource != null && resource.endsWith("reference.conf");
  }

  /**
   * Stops Spool gracefully: publishes are refused ({@code ShuttingDown}) at once, handler calls in
   * flight get up to {@code spool.shutdown.drain-timeout} to finish (their acknowledgements count),
   * then {@code Shutdown} is emitted and the engine stops. With its own actor system this runs
   * through the system's CoordinatedShutdown and terminates it. Transient queues are gone
   * afterwards; what was in flight stays unacknowledged.
   */
  public CompletionStage<Done> shutdown() {
    ReplyInbox inbox;
    synchronized (this) {
      inbox = replies;
      replies = null;
    }
    if (inbox != null) {
      return inbox.close().thenCompose(closed -> stop());
    }
    return stop();
  }

  private CompletionStage<Done> stop() {
    if (ownsSystem) {
      return CoordinatedShutdown.get(system).runAll(CoordinatedShutdown.unknownReason())
          .thenCompose(d -> system.getWhenTerminated())
          .thenApply(d -> Done.getInstance());
    }
    return engine.drain(system).thenCompose(drained -> engine.stop(system));
  }

  /**
   * Completes once Spool can serve every queue it holds: the durable queues it found at start are
   * recovered from their journal. Health checks report ready only after this.
   */
  public CompletionStage<Done> ready() {
    return engine.ready();
  }

  /**
   * The journals of durable queues that cannot write now, each with its state, why and since when:
   * being read at start, unreadable, a write failed or stalled. While a queue's journal cannot
   * write, publishes and other journaled changes to it fail at once with
   * {@code JournalUnavailable} (nothing stored). Answered from the engine's current view, so
   * frequent health probes cost one message.
   */
  public CompletionStage<JournalHealth> health() {
    return ask(QueueManager.GetJournalHealth::new);
  }

  /**
   * Completes, with the reason ({@link SpoolException.DatabaseInUse}, naming the other node), when
   * this engine must not write to its database because another Spool does
   * ({@code spool.persistence.writer-lock}): the lock was refused at start after
   * {@code wait-at-start} (no durable queue was read), or another node took it while this one's
   * connection was lost (every queue has stopped). Never completes without a writer lock, or while
   * it is held. The service exits on it.
   */
  public CompletionStage<SpoolException> writerLockLost() {
    CompletableFuture<SpoolException> lost = new CompletableFuture<>();
    if (engine.writerLock != null) {
      engine.writerLock.held().whenComplete((held, failure) -> {
        Throwable cause = failure instanceof CompletionException c && c.getCause() != null ? c.getCause() : failure;
        if (cause instanceof SpoolException.DatabaseInUse refused) {
          lost.complete(refused);
        }
      });
      engine.writerLock.lost().thenAccept(lost::complete);
    }
    return lost.minimalCompletionStage();
  }

  /** The version of Spool running. */
  public static String version() {
    try (InputStream in = Spool.class.getResourceAsStream("/dev/spool/version.properties")) {
      Properties p = new Properties();
      if (in != null) {
        p.load(in);
      }
      return p.getProperty("version", "unknown");
    } catch (IOException e) {
      return "unknown";
    }
  }

  /** The engine's settings. */
  public SpoolSettings settings() {
    return engine.settings;
  }

  /** The actor system Spool runs on. */
  public ActorSystem<?> system() {
    return system;
  }

  /**
   * Makes {@code transport} send the requests of push consumers ({@link PushSettings}) from now on:
   * those waiting for a transport start pushing, and pushers opened later use it. The HTTP module
   * registers its own when it starts.
   */
  public void usePushTransport(PushTransport transport) {
    if (transport == null) {
      throw new SpoolException.InvalidConfiguration("a push transport is required");
    }
    PushTransports.get(system).use(transport);
  }

  /**
   * The manager actor, for users who talk to the actors directly: every command carries an
   * {@code ActorRef<StatusReply<T>>} replyTo; commands for one queue go in {@link QueueManager.ToQueue}.
   */
  public ActorRef<QueueManager.Command> queueManager() {
    return engine.manager;
  }

  // ---- queues

  /** Creates a queue; succeeds without change if it exists with equal settings. */
  public CompletionStage<QueueInfo> createQueue(String name, QueueSettings settings) {
    return declareQueue(name, settings).thenApply(Created::value);
  }

  /**
   * Creates a queue, or finds it with equal settings (failing with {@code QueueAlreadyExists} for
   * other settings), telling which: an HTTP PUT answers 201 or 200 on it.
   */
  public CompletionStage<Created<QueueInfo>> declareQueue(String name, QueueSettings settings) {
    if (settings == null) {
      return failed(new SpoolException.InvalidConfiguration("queue settings are required"));
    }
    String keyId = settings.encryptionKeyId();
    if (keyId != null && !KeyRing.get(system).contains(keyId)) {
      return failed(new SpoolException.InvalidConfiguration("encryption key '" + keyId + "' is not configured: set "
          + KeyRing.CONFIG_PATH + "." + keyId));
    }
    return ask(r -> new QueueManager.CreateQueue(name, settings, r));
  }

  /** Deletes a queue with its messages and consumers. */
  public CompletionStage<Done> deleteQueue(String name) {
    return ask(r -> new QueueManager.DeleteQueue(name, r));
  }

  /** Every queue, by name. */
  public CompletionStage<List<QueueInfo>> listQueues() {
    return ask(QueueManager.ListQueues::new);
  }

  /** A queue with its settings and figures. */
  public CompletionStage<QueueInfo> queueInfo(String name) {
    return ask(r -> new QueueManager.ToQueue(name, new QueueActor.GetInfo(r)));
  }

  /** A queue's figures. */
  public CompletionStage<QueueStats> queueStats(String name) {
    return queueInfo(name).thenApply(QueueInfo::stats);
  }

  // ---- publishing and consuming

  /** A publisher to {@code queue} whose messages carry {@code producerId}. */
  public QueuePublisher createPublisher(String queue, String producerId) {
    return new QueuePublisher(this, queue, producerId);
  }

  /** Where replies to this Spool's requests arrive: made at the first request. */
  synchronized ReplyInbox replies() {
    if (replies == null) {
      replies = new ReplyInbox(this, system);
    }
    return replies;
  }

  /**
   * Answers {@code request} (a delivery of a message sent with {@link QueuePublisher#request}) with
   * {@code reply}: published to the request's {@code reply-to} queue with its {@code correlation-id},
   * under {@code producerId}; completes with the reply's sequence. {@code InvalidConfiguration} when
   * the request names no reply queue or correlation id.
   */
  public CompletionStage<Long> reply(Delivery request, Message reply, String producerId) {
    if (request == null || reply == null) {
      return failed(new SpoolException.InvalidConfiguration("a reply needs the request's delivery and a message"));
    }
    String replyTo = request.message().headers().get(ReplyInbox.REPLY_TO);
    String correlationId = request.message().headers().get(ReplyInbox.CORRELATION_ID);
    if (replyTo == null || correlationId == null) {
      return failed(new SpoolException.InvalidConfiguration("message " + request.sequence()
          + " is not a request: it has no reply-to and correlation-id headers"));
    }
    return createPublisher(replyTo, producerId).publish(reply.withHeader(ReplyInbox.CORRELATION_ID, correlationId));
  }

  /** A publisher to the default queue. */
  public QueuePublisher createPublisher(String producerId) {
    return createPublisher(engine.settings.defaultQueue(), producerId);
  }

  /**
   * A consumer of {@code queue}: created now (idempotently, for equal settings) and usable at once;
   * its operations fail with the creation's error if creating it failed.
   */
  public QueueConsumer createConsumer(String queue, ConsumerSettings settings) {
    return new QueueConsumer(this, queue, settings == null ? null : settings.name(),
        declareConsumer(queue, settings).thenApply(Created::value));
  }

  /**
   * Creates a consumer of {@code queue}, or finds it with equal settings (failing with
   * {@code ConsumerAlreadyExists} for other settings), telling which.
   */
  public CompletionStage<Created<ConsumerInfo>> declareConsumer(String queue, ConsumerSettings settings) {
    if (settings == null) {
      return failed(new SpoolException.InvalidConfiguration("consumer settings are required"));
    }
    PushTransport transport = settings.push() == null ? null : PushTransports.get(system).transport();
    if (transport != null) {
      try {
        transport.check(queue, settings);
      } catch (SpoolException refused) {
        return failed(refused);
      }
    }
    return ask(r -> new QueueManager.ToQueue(queue, new QueueActor.CreateConsumer(settings, r)));
  }

  /**
   * A handle on the existing consumer {@code name} of {@code queue}, which never creates one: its
   * calls fail with {@code QueueNotFound} or {@code ConsumerNotFound} when there is none.
   */
  public QueueConsumer consumer(String queue, String name) {
    return new QueueConsumer(this, queue, name, CompletableFuture.completedFuture(null));
  }

  /** A consumer named {@code name} of the default queue, with default settings. */
  public QueueConsumer createConsumer(String name) {
    return createConsumer(engine.settings.defaultQueue(), ConsumerSettings.named(name));
  }

  /** Deletes a consumer and its position. */
  public CompletionStage<Done> deleteConsumer(String queue, String consumer) {
    return ask(r -> new QueueManager.ToQueue(queue, new QueueActor.DeleteConsumer(consumer, r)));
  }

  // ---- browsing, traces, dead letters

  /** Up to {@code max} retained messages of {@code queue} from sequence {@code from} on; moves no cursor. */
  public CompletionStage<List<Message>> browse(String queue, long from, int max) {
    return ask(r -> new QueueManager.ToQueue(queue, new QueueActor.Browse(from, max, r)));
  }

  /**
   * The retained messages of {@code queue} that {@code query} matches, one bounded scan at a time:
   * the page says where the scan stopped and where the next one goes on. Moves no cursor. A
   * partitioned queue is searched one partition ({@code queue#p}) at a time.
   */
  public CompletionStage<MessagePage> search(String queue, MessageQuery query) {
    return ask(r -> new QueueManager.ToQueue(queue, new QueueActor.Search(query, r)));
  }

  /**
   * How many of the newest retained messages of {@code queue} (at most {@link MessageQuery#MAX_SCAN}
   * per partition) carry each value of {@code header}: on a dead-letter queue, {@code x-death-reason}
   * says why its messages were dead-lettered and {@code x-death-queue} from where.
   *
   * @throws SpoolException.InvalidConfiguration (failing the stage) if the header name is empty or over 256 characters
   */
  public CompletionStage<HeaderCounts> countHeader(String queue, String header) {
    if (header == null || header.isEmpty() || header.length() > 256) {
      return CompletableFuture.failedFuture(new SpoolException.InvalidConfiguration(
          "a header name is 1 to 256 characters"));
    }
    return ask(r -> new QueueManager.ToQueue(queue, new QueueActor.CountHeader(header, r)));
  }

  /**
   * A retained message with its delivery trace: appended, and per consumer delivered (to which
   * subscriber, which attempt), acked, nacked, failed, dead-lettered. Fails with
   * {@code SequenceOutOfRange} once the message is no longer retained.
   */
  public CompletionStage<MessageTrace> messageTrace(String queue, long sequence) {
    return ask(r -> new QueueManager.ToQueue(queue, new QueueActor.GetMessageTrace(sequence, r)));
  }

  /**
   * Removes every message {@code queue} retains now, as dropped (consumers count what they had not
   * acknowledged as dropped), keeping its settings and consumers; on a durable queue the answer
   * comes once the journal holds the removal. Returns how many were removed. Publishes that arrive
   * meanwhile are kept.
   */
  public CompletionStage<Long> purge(String queue) {
    return ask(r -> new QueueManager.ToQueue(queue, new QueueActor.Purge(r)));
  }

  /**
   * Removes the messages of {@code queue} at {@code sequences}, wherever they are in its log, and
   * returns how many of them it still retained: a sequence never appended, already released or
   * removed, or given twice counts 0 (once). A consumer that had not acknowledged a removed message
   * counts it as dropped ({@code MessagesDropped}), never gets it again (acknowledging one it held in
   * flight answers it as already settled), and its lag leaves it out. On a durable queue the answer
   * comes once the journal holds the removal, which then survives a restart. A partitioned queue
   * sends each sequence to its partition.
   *
   * @throws SpoolException.InvalidConfiguration (failing the stage, changing nothing) if {@code sequences}
   *     is null or empty, holds a null, or holds more than {@link #MAX_DELETE_SELECTION}
   * @since 0.1.0
   */
  public CompletionStage<Long> deleteMessages(String queue, java.util.Collection<Long> sequences) {
    if (sequences == null || sequences.isEmpty() || sequences.size() > MAX_DELETE_SELECTION
        || sequences.stream().anyMatch(java.util.Objects::isNull)) {
      return CompletableFuture.failedFuture(new SpoolException.InvalidConfiguration("a deletion names 1 to "
          + MAX_DELETE_SELECTION + " sequences, none of them null"));
    }
    List<Long> distinct = sequences.stream().distinct().toList();
    return ask(r -> new QueueManager.ToQueue(queue, new QueueActor.DeleteMessages(distinct, r)));
  }

  /** The most sequences one {@link #deleteMessages} takes. */
  public static final int MAX_DELETE_SELECTION = 10_000;

  /**
   * Removes the oldest messages of {@code queue} until at most {@code maxLength} are left, as its own
   * {@code maxLength} would under {@code drop-oldest}, and returns how many it removed. Consumers
   * count what they had not acknowledged as dropped ({@code MessagesDropped}); on a durable queue the
   * answer comes once the journal holds the removal. A partitioned queue refuses it (its partitions
   * keep no common order): trim it with {@link #trimBelow}.
   *
   * @throws SpoolException.InvalidConfiguration (failing the stage, changing nothing) if {@code maxLength}
   *     is negative, or the queue is partitioned
   * @since 0.1.0
   */
  public CompletionStage<Long> trim(String queue, long maxLength) {
    if (maxLength < 0) {
      return CompletableFuture.failedFuture(new SpoolException.InvalidConfiguration(
          "a trim keeps 0 or more messages, not " + maxLength));
    }
    return ask(r -> new QueueManager.ToQueue(queue, new QueueActor.Trim(maxLength, 0, r)));
  }

  /**
   * Removes every message of {@code queue} with a sequence below {@code sequence} and returns how many
   * it removed; otherwise as {@link #trim}. A partitioned queue trims each partition below its share
   * of {@code sequence}: every message numbered below it goes.
   *
   * @since 0.1.0
   */
  public CompletionStage<Long> trimBelow(String queue, long sequence) {
    return ask(r -> new QueueManager.ToQueue(queue, new QueueActor.Trim(Long.MAX_VALUE, sequence, r)));
  }

  /**
   * Moves every dead-lettered message of {@code deadLetterQueue} back to its source queue as a new
   * message (without its {@code x-death-*} headers) and removes it from the dead-letter queue;
   * returns how many moved. Each message is removed only once its source queue appended it.
   */
  public CompletionStage<Long> redrive(String deadLetterQueue) {
    return redrive(deadLetterQueue, 1, Long.MAX_VALUE);
  }

  /**
   * {@link #redrive(String)} for the dead-letter messages at {@code sequences} (at most
   * {@link #MAX_REDRIVE_SELECTION}), moved one run of consecutive sequences after another; returns
   * how many moved (those no longer there are not counted).
   *
   * @throws SpoolException.InvalidConfiguration (failing the stage) if the selection is empty, too large or holds
   *     a sequence below 1
   */
  public CompletionStage<Long> redrive(String deadLetterQueue, java.util.Collection<Long> sequences) {
    if (sequences.isEmpty() || sequences.size() > MAX_REDRIVE_SELECTION
        || sequences.stream().anyMatch(s -> s == null || s < 1)) {
      return CompletableFuture.failedFuture(new SpoolException.InvalidConfiguration("a redrive selection holds 1 to "
          + MAX_REDRIVE_SELECTION + " sequences, each 1 or more"));
    }
    long[] sorted = sequences.stream().mapToLong(Long::longValue).sorted().distinct().toArray();
    CompletionStage<Long> moved = CompletableFuture.completedFuture(0L);
    int i = 0;
    while (i < sorted.length) {
      int j = i;
      while (j + 1 < sorted.length && sorted[j + 1] == sorted[j] + 1) {
        j++;
      }
      long from = sorted[i];
      long to = sorted[j];
      moved = moved.thenCompose(sum -> redrive(deadLetterQueue, from, to).thenApply(n -> sum + n));
      i = j + 1;
    }
    return moved;
  }

  /** The most sequences one {@link #redrive(String, java.util.Collection)} takes. */
  public static final int MAX_REDRIVE_SELECTION = 1000;

  /** {@link #redrive(String)} for the dead-letter sequences from {@code from} to {@code to}, inclusive. */
  public CompletionStage<Long> redrive(String deadLetterQueue, long from, long to) {
    return ask(r -> new QueueManager.ToQueue(deadLetterQueue, new QueueActor.Redrive(from, to, r)));
  }

  // ---- operations

  // ---- history and health

  /**
   * The history of {@code queue} and its consumers (samples every {@code spool.history.interval},
   * kept for {@code spool.history.retain}), the samples taken after {@code after} (epoch ms; 0 for all).
   */
  public CompletionStage<QueueHistory> queueHistory(String queue, long after) {
    return ask(r -> new QueueManager.ToQueue(queue, new QueueActor.GetHistory(after, r)));
  }

  /**
   * How {@code queue} and its consumers are doing, with the reason in words (a journal that cannot
   * write makes it {@code unavailable}), and which queues dead-letter to it.
   */
  public CompletionStage<QueueHealth> queueHealth(String queue) {
    CompletableFuture<QueueHealth> health = this.<QueueHealth>ask(
        r -> new QueueManager.ToQueue(queue, new QueueActor.GetHealth(r))).toCompletableFuture();
    CompletableFuture<List<QueueInfo>> queues = listQueues().toCompletableFuture();
    CompletableFuture<JournalHealth> journal = health().toCompletableFuture();
    return CompletableFuture.allOf(health, queues, journal).thenApply(done -> dev.spool.queue.HealthJudge.withJournal(
        health.getNow(null).withDeadLetterFor(deadLetterSources(queue, queues.getNow(List.of()))),
        journal.getNow(JournalHealth.HEALTHY)));
  }

  /**
   * Every queue's health, and the alarms raised now: memory and disk pressure, journals that cannot
   * write, and the queues that refused, dropped or expired messages recently. A queue that does not
   * answer is left out.
   */
  public CompletionStage<SpoolHealth> healthOverview() {
    CompletableFuture<MemoryStats> memory = memoryStats().toCompletableFuture();
    CompletableFuture<DiskStats> disk = diskStats().toCompletableFuture();
    CompletableFuture<JournalHealth> journal = health().toCompletableFuture();
    return listQueues().thenCompose(queues -> {
      List<CompletableFuture<QueueHealth>> each = queues.stream().map(q -> this.<QueueHealth>ask(
              r -> new QueueManager.ToQueue(q.name(), new QueueActor.GetHealth(r))).toCompletableFuture()
          .thenApply(h -> h.withDeadLetterFor(deadLetterSources(q.name(), queues)))
          .exceptionally(failure -> null)).toList();
      List<CompletableFuture<?>> all = new ArrayList<>(each);
      all.add(memory);
      all.add(disk);
      all.add(journal);
      // Every future is complete once allOf is: getNow reads them without waiting.
      return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).thenApply(done -> {
        JournalHealth journals = journal.getNow(JournalHealth.HEALTHY);
        List<QueueHealth> healths = each.stream().map(h -> h.getNow(null)).filter(h -> h != null)
            .map(h -> dev.spool.queue.HealthJudge.withJournal(h, journals))
            .sorted(java.util.Comparator.comparing(QueueHealth::queue)).toList();
        return new SpoolHealth(dev.spool.queue.HealthJudge.alarms(memory.getNow(null), disk.getNow(null), journals,
            healths), healths);
      });
    });
  }

  private static List<String> deadLetterSources(String queue, List<QueueInfo> queues) {
    return queues.stream().filter(q -> q.settings().deadLetter() != null
        && q.settings().deadLetter().queue().equals(queue)).map(QueueInfo::name).sorted().toList();
  }

  /** A consumer's position, lag, delivery state and counters. */
  public CompletionStage<ConsumerInfo> consumerInfo(String queue, String consumer) {
    return askConsumer(queue, consumer, dev.spool.actor.ConsumerActor.GetInfo::new, engine.settings.askTimeout());
  }

  /** Every consumer of {@code queue}, by name. */
  public CompletionStage<List<ConsumerInfo>> listConsumers(String queue) {
    return ask(r -> new QueueManager.ToQueue(queue, new QueueActor.ListConsumers(r)));
  }

  /**
   * A consumer's exact lag in messages: the queue's last sequence minus its committed position, less
   * the messages in between that no longer exist (see {@link ConsumerInfo#lag()}).
   */
  public CompletionStage<Long> consumerLag(String queue, String consumer) {
    return consumerInfo(queue, consumer).thenApply(ConsumerInfo::lag);
  }

  /** Lag over every consumer of every queue. */
  public CompletionStage<LagStats> lagStatistics() {
    return askJanitor(Janitor.GetLagStats::new);
  }

  // ---- janitor, memory, staleness

  /** Retained messages and bytes, per queue and in total, against the memory threshold. */
  public CompletionStage<MemoryStats> memoryStats() {
    return askJanitor(Janitor.GetMemoryStats::new);
  }

  /** The disk alarm of the embedded journal: whether it is raised, free bytes, limit and path. */
  public CompletionStage<DiskStats> diskStats() {
    return askJanitor(Janitor.GetDiskStats::new);
  }

  /** Sets the global memory threshold in bytes (0 for none); see semantics.md, "Memory". */
  public CompletionStage<Done> setMemoryThresholdBytes(long bytes) {
    return askJanitor(r -> new Janitor.SetMemoryThreshold(bytes, r));
  }

  /**
   * Checks for memory pressure now and, if found, collects garbage and applies every queue's
   * overflow policy. True when pressure was found and handled.
   */
  public CompletionStage<Boolean> checkMemoryPressure() {
    return askJanitor(Janitor.CheckMemoryPressure::new);
  }

  /** Frees now what every consumer has acknowledged (outside retention); returns how many messages were freed. */
  public CompletionStage<Long> collectGarbage() {
    return askJanitor(Janitor.CollectGarbage::new);
  }

  /** Consumers with no subscriber attached and no read or acknowledgement for {@code idle}, with their lag. */
  public CompletionStage<List<StaleConsumer>> detectStaleConsumers(Duration idle) {
    return askJanitor(r -> new Janitor.DetectStaleConsumers(idle, r));
  }

  /**
   * Removes the consumers that are stale (idle for {@code spool.janitor.stale-after}) and whose lag
   * exceeds {@code lagThreshold}; returns the ones removed, by queue and name, as they were when
   * judged stale ({@code ConsumerRemoved} each).
   */
  public CompletionStage<List<StaleConsumer>> cleanupStaleConsumers(long lagThreshold) {
    return cleanupStaleConsumers(lagThreshold, engine.settings.janitor().staleAfter());
  }

  /**
   * Removes the consumers that are stale for {@code idle}, by the rule {@link #detectStaleConsumers}
   * lists them with, and whose lag exceeds {@code lagThreshold}; returns the ones removed, by queue
   * and name ({@code ConsumerRemoved} each). A negative threshold or a missing or negative idle time is
   * {@code InvalidConfiguration} and removes nothing.
   */
  public CompletionStage<List<StaleConsumer>> cleanupStaleConsumers(long lagThreshold, Duration idle) {
    return askJanitor(r -> new Janitor.CleanupStaleConsumers(idle, lagThreshold, r));
  }

  /**
   * This member's status in the cluster ({@code Up}, {@code Joining}, {@code Leaving}, {@code Down}…,
   * or {@code Up, holding writes after a pause} for a few seconds after its JVM did not run), or
   * {@code null} standalone: cheap enough for every readiness probe.
   */
  public String memberStatus() {
    if (!engine.cluster.enabled()) {
      return null;
    }
    String status = org.apache.pekko.cluster.typed.Cluster.get(system).selfMember().status().toString();
    // Just resumed from a pause: it may have been downed without knowing it yet (PauseFence).
    return status.equals("Up") && !PauseFence.get(system).closedFor().isZero() ? "Up, holding writes after a pause"
        : status;
  }

  /**
   * The cluster as this member sees it: members, their status and reachability, and how many queues
   * each runs ({@link ClusterMembers#STANDALONE} without cluster mode). Answered from this member's
   * view of membership and one question to the sharding coordinator, so a member that does not
   * answer in time shows {@code -1} queues rather than failing the call.
   */
  public CompletionStage<ClusterMembers> clusterMembers() {
    if (!engine.cluster.enabled()) {
      return CompletableFuture.completedFuture(ClusterMembers.STANDALONE);
    }
    org.apache.pekko.cluster.typed.Cluster cluster = org.apache.pekko.cluster.typed.Cluster.get(system);
    org.apache.pekko.cluster.ClusterEvent.CurrentClusterState state = cluster.state();
    Duration timeout = engine.settings.askTimeout().dividedBy(2);
    CompletionStage<Map<String, Integer>> hosted = AskPattern.<ClusterShardingQuery, ClusterShardingStats>ask(
            ClusterSharding.get(system).shardState(),
            r -> new GetClusterShardingStats(QueueEntity.key(engine.name), timeout, r),
            timeout.plusSeconds(1), system.scheduler())
        .thenApply(stats -> {
          Map<String, Integer> counts = new HashMap<>();
          stats.getRegions().forEach((address, region) -> counts.put(address.toString(),
              region.getStats().values().stream().mapToInt(n -> ((Number) n).intValue()).sum()));
          return counts;
        });
    return hosted.exceptionally(failure -> Map.of()).thenApply(counts -> {
      List<ClusterMembers.Member> members = new ArrayList<>();
      for (org.apache.pekko.cluster.Member m : state.getMembers()) {
        String address = m.address().toString();
        members.add(new ClusterMembers.Member(address, m.status().toString(), !state.getUnreachable().contains(m),
            m.address().equals(state.getLeader()), counts.getOrDefault(address, -1)));
      }
      members.sort(java.util.Comparator.comparing(ClusterMembers.Member::address));
      return new ClusterMembers(true, cluster.selfMember().address().toString(), members);
    });
  }

  /**
   * Spool's events, live from the moment the stream starts. A listener that falls behind loses the
   * oldest events beyond {@code spool.events.buffer-size} and is told so by an
   * {@link SpoolEvent.EventsDropped}. Every materialization is an independent listener.
   */
  public Source<SpoolEvent, NotUsed> events() {
    return Source.<SpoolEvent, NotUsed>fromMaterializer((materializer, attributes) -> {
      ActorRef<Object> listener = system.systemActorOf(
          EventListener.create(engine.settings.events().bufferSize(), engine.settings.clock()),
          "spool-events-" + LISTENERS.incrementAndGet(), Props.empty());
      system.eventStream().tell(new EventStream.Subscribe<>(SpoolEvent.class, listener.narrow()));
      return ActorSource.<SpoolEvent, Object>actorRefWithBackpressure(listener, EventListener.Demand.INSTANCE,
              e -> Optional.empty(), e -> Optional.empty())
          .mapMaterializedValue(stream -> {
            listener.tell(new EventListener.Attach(stream));
            return NotUsed.notUsed();
          })
          .watchTermination((notUsed, done) -> {
            done.whenComplete((d, failure) -> listener.tell(EventListener.Detach.INSTANCE));
            return notUsed;
          });
    }).mapMaterializedValue(m -> NotUsed.notUsed());
  }

  // ---- plumbing

  <T> CompletionStage<T> askConsumer(String queue, String consumer,
      Function<ActorRef<StatusReply<T>>, dev.spool.actor.ConsumerActor.Command> command, Duration timeout) {
    return ask(r -> new QueueManager.ToQueue(queue, new QueueActor.ToConsumer(consumer, command.apply(r))), timeout);
  }

  private <T> CompletionStage<T> askJanitor(Function<ActorRef<StatusReply<T>>, Janitor.Command> command) {
    return ask(r -> new QueueManager.ToJanitor(command.apply(r)));
  }

  <T> CompletionStage<T> ask(Function<ActorRef<StatusReply<T>>, QueueManager.Command> command) {
    return ask(command, engine.settings.askTimeout());
  }

  <T> CompletionStage<T> ask(Function<ActorRef<StatusReply<T>>, QueueManager.Command> command, Duration timeout) {
    if (engine.stopped || system.getWhenTerminated().toCompletableFuture().isDone()) {
      return failed(new SpoolException.ShuttingDown());
    }
    CompletionStage<T> reply = AskPattern.askWithStatus(engine.manager, command::apply, timeout, system.scheduler());
    return reply.exceptionallyCompose(Spool::translate);
  }

  /**
   * Whether the facade may send publishes and acknowledgements straight to a queue's or consumer's
   * actor it located: standalone (in cluster mode they go by name through sharding) and not
   * draining (the manager refuses publishes from the moment it is told).
   */
  boolean routesDirectly() {
    return !engine.cluster.enabled() && !engine.draining;
  }

  /**
   * Asks {@code target}, a queue or consumer actor located earlier, straight: one hop, no manager
   * between. If it had stopped before it took the call (deleted, or its queue deleted; the call did
   * not happen: {@link Undelivered} answers {@code QueueNotFound} or {@code ConsumerNotFound}, which
   * these actors never answer themselves), {@code stale} runs, to forget the reference, and the call
   * goes through the manager by name instead ({@code byName}), which finds what has that name now
   * (created again) or answers that nothing has.
   */
  <T, C> CompletionStage<T> askDirect(ActorRef<C> target, Function<ActorRef<StatusReply<T>>, C> command,
      Runnable stale, java.util.function.Supplier<CompletionStage<T>> byName) {
    return askDirect(target, command, engine.settings.askTimeout(), false, stale, byName);
  }

  /**
   * {@link #askDirect(ActorRef, Function, Runnable, java.util.function.Supplier)} waiting at most
   * {@code timeout} for the actor's answer; with {@code byNameOnSilence}, a call left unanswered
   * that long also goes by name. For calls that may safely arrive twice (acknowledgements): a call
   * sent to a consumer's actor in the instant it stops can be lost without a dead letter (seen
   * under DirectRoutesTest: the reference known terminated 11 ms before, the ask then silent), and
   * the caller would otherwise wait its whole ask timeout.
   */
  <T, C> CompletionStage<T> askDirect(ActorRef<C> target, Function<ActorRef<StatusReply<T>>, C> command,
      Duration timeout, boolean byNameOnSilence, Runnable stale, java.util.function.Supplier<CompletionStage<T>> byName) {
    if (engine.stopped || system.getWhenTerminated().toCompletableFuture().isDone()) {
      return failed(new SpoolException.ShuttingDown());
    }
    long asked = System.nanoTime();
    CompletionStage<T> reply = AskPattern.askWithStatus(target, command::apply, timeout, system.scheduler());
    return reply.exceptionallyCompose(e -> {
      // Pekko fails an ask to an actor known to be terminated at once, as a timeout; one that stops
      // with the call in its mailbox is answered by Undelivered.
      Throwable cause = cause(e);
      if (cause instanceof SpoolException.QueueNotFound || cause instanceof SpoolException.ConsumerNotFound
          || cause instanceof TimeoutException && (byNameOnSilence || System.nanoTime() - asked < timeout.toNanos() / 2)) {
        stale.run();
        return byName.get();
      }
      return translate(e);
    });
  }

  private static Throwable cause(Throwable error) {
    return error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
  }

  private static <T> CompletionStage<T> translate(Throwable error) {
    Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
    if (cause instanceof TimeoutException) {
      return failed(new SpoolException.Timeout("Spool did not answer in time; the operation may or may not have happened"));
    }
    return failed(cause);
  }

  static <T> CompletionStage<T> failed(Throwable error) {
    return CompletableFuture.failedFuture(error);
  }
}
