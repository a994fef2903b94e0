package dev.spool.cluster;

import static dev.spool.Await.failure;
import static dev.spool.Await.result;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spool.ConsumerSettings;
import dev.spool.Delivery;
import dev.spool.Durability;
import dev.spool.Message;
import dev.spool.QueueConsumer;
import dev.spool.QueueInfo;
import dev.spool.QueuePublisher;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import dev.spool.SpoolException;
import dev.spool.SpoolException.Code;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.persistence.testkit.PersistenceTestKitPlugin;
import org.apache.pekko.persistence.testkit.PersistenceTestKitSnapshotPlugin;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Cluster mode on a single member (Pekko's in-memory journal): the Java API works unchanged through
 * the sharded queues and the directory singleton. Several members and failover are tested against
 * PostgreSQL in the service's and the system tests.
 */
class OneMemberClusterTest {

  private Spool spool;

  static Config config(String extra) {
    return ConfigFactory.parseString(extra)
        .withFallback(ConfigFactory.parseString("""
            spool.cluster.enabled = on
            pekko.remote.artery.canonical.hostname = 127.0.0.1
            pekko.remote.artery.canonical.port = 0
            pekko.loglevel = WARNING
            spool.persistence.journal-plugin = "pekko.persistence.testkit.journal"
            spool.persistence.snapshot-plugin = "pekko.persistence.testkit.snapshotstore.pluginid"
            """))
        .withFallback(PersistenceTestKitPlugin.config())
        .withFallback(PersistenceTestKitSnapshotPlugin.config())
        .withFallback(ConfigFactory.load());
  }

  @BeforeEach
  void start() {
    spool = Spool.start(config(""));
    Cluster cluster = Cluster.get(spool.system());
    cluster.manager().tell(Join.create(cluster.selfMember().address()));
    result(spool.ready(), 20);
  }

  @AfterEach
  void stop() {
    if (spool != null) {
      result(spool.shutdown(), 30);
    }
  }

  private static List<Message> kib(int n) {
    String payload = "x".repeat(1024);
    return IntStream.range(0, n).mapToObj(i -> Message.text("t", i + payload)).toList();
  }

  @Test
  void queuesAreCreatedPublishedToConsumedAndDeletedThroughTheirShards() {
    QueueSettings persistent = QueueSettings.defaults().withDurability(Durability.PERSISTENT)
        .withDeadLetter("orders-dlq", 3);
    assertTrue(result(spool.declareQueue("orders", persistent)).created());
    assertFalse(result(spool.declareQueue("orders", persistent)).created()); // idempotent
    assertEquals(Code.QueueAlreadyExists, failure(spool.createQueue("orders", QueueSettings.defaults()),
        Code.QueueAlreadyExists).code());
    result(spool.createQueue("scratch", QueueSettings.defaults()));

    QueuePublisher publisher = spool.createPublisher("orders", "p");
    List<Long> sequences = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      sequences.addAll(result(publisher.publishAll(kib(50))));
    }
    assertEquals(200, sequences.size());
    assertEquals(1L, sequences.get(0));
    assertEquals(200L, sequences.get(199));

    QueueConsumer consumer = spool.createConsumer("orders", ConsumerSettings.named("c"));
    List<Delivery> read = new ArrayList<>();
    while (read.size() < 200) {
      List<Delivery> batch = result(consumer.readBatch(64));
      read.addAll(batch);
      result(consumer.acknowledgeBatch(batch));
    }
    assertEquals(sequences, read.stream().map(Delivery::sequence).toList());
    assertEquals(0, result(consumer.info()).lag());

    List<String> names = result(spool.listQueues()).stream().map(QueueInfo::name).toList();
    assertEquals(List.of("default", "orders", "orders-dlq", "scratch"), names);
    assertEquals(200, result(spool.queueInfo("orders")).stats().published());

    result(spool.deleteQueue("scratch"));
    failure(spool.queueInfo("scratch"), Code.QueueNotFound);
    failure(spool.deleteQueue("scratch"), Code.QueueNotFound);
    failure(spool.createPublisher("nowhere", "p").publish(Message.text("t", "x")), Code.QueueNotFound);
    failure(spool.deleteQueue("default"), Code.InvalidConfiguration);
    failure(spool.createQueue("bad name!", QueueSettings.defaults()), Code.InvalidName);
    assertEquals(List.of("default", "orders", "orders-dlq"),
        result(spool.listQueues()).stream().map(QueueInfo::name).toList());
  }

  @Test
  void unknownQueuesAreNotFound() {
    failure(spool.queueInfo("nowhere"), Code.QueueNotFound);
    failure(spool.createPublisher("nowhere", "p").publish(Message.text("t", "x")), Code.QueueNotFound);
    failure(spool.createPublisher("elsewhere", "p").publish(Message.text("t", "x")), Code.QueueNotFound);
  }

  @Test
  void theEmbeddedSqliteJournalIsRefusedInClusterMode() {
    result(spool.shutdown(), 30);
    spool = null;
    SpoolException refused = assertThrows(SpoolException.InvalidConfiguration.class, () -> Spool.start(config("""
        spool.persistence.journal-plugin = "spool.journal.sqlite.journal"
        spool.persistence.snapshot-plugin = "spool.journal.sqlite.snapshot-store"
        """)));
    assertTrue(refused.getMessage().contains("spool.journal.database = postgres"), refused.getMessage());
  }

  @Test
  void aDeletedQueueCanBeCreatedAgainEmpty() {
    QueueSettings persistent = QueueSettings.defaults().withDurability(Durability.PERSISTENT);
    result(spool.createQueue("again", persistent));
    result(spool.createPublisher("again", "p").publishAll(kib(10)));
    result(spool.deleteQueue("again"));
    result(spool.createQueue("again", persistent));
    assertEquals(0, result(spool.queueInfo("again")).stats().published());
  }

  @Test
  void spoolsClusterSettingsReplacePekkosDefaultsButNotTheApplications() {
    Config member = Spool.clusterMode(ConfigFactory.parseString("""
        spool.cluster.enabled = on
        spool.cluster.seed-nodes = "pekko://spool@127.0.0.1:25520, pekko://spool@127.0.0.1:25521"
        pekko.cluster.split-brain-resolver.stable-after = 9s
        """).withFallback(ConfigFactory.load()));
    assertEquals("cluster", member.getString("pekko.actor.provider"));
    assertEquals("org.apache.pekko.cluster.sbr.SplitBrainResolverProvider",
        member.getString("pekko.cluster.downing-provider-class"), "over Pekko's default (no downing)");
    assertEquals("none", member.getString("pekko.cluster.sharding.passivation.strategy"));
    assertEquals(16L << 20, member.getBytes("pekko.remote.artery.advanced.maximum-frame-size"));
    assertEquals(java.time.Duration.ofSeconds(9), member.getDuration("pekko.cluster.split-brain-resolver.stable-after"),
        "the application's own value stays");
    assertEquals(List.of("pekko://spool@127.0.0.1:25520", "pekko://spool@127.0.0.1:25521"),
        member.getStringList("pekko.cluster.seed-nodes"));
    Config standalone = ConfigFactory.load();
    assertEquals(standalone, Spool.clusterMode(standalone), "standalone, nothing changes");
  }

  @Test
  void aPartitionedQueueRunsAsOneEntityPerPartitionAndReadsAsOneQueue() {
    QueueSettings split = QueueSettings.defaults().withDurability(Durability.PERSISTENT).withPartitions(6);
    QueueInfo created = result(spool.createQueue("orders", split));
    assertEquals(6, created.settings().partitions());
    QueueConsumer consumer = spool.createConsumer("orders", ConsumerSettings.named("billing").prefetch(100));
    result(consumer.ready());
    List<Message> messages = new ArrayList<>();
    for (int n = 0; n < 20; n++) {
      for (int k = 0; k < 12; k++) {
        messages.add(Message.text("t", "x".repeat(1024)).withKey("k" + k).withHeader("n", Integer.toString(n)));
      }
    }
    List<Long> sequences = result(spool.createPublisher("orders", "p").publishAll(messages));
    assertEquals(240, new java.util.HashSet<>(sequences).size());
    java.util.Map<String, Integer> last = new java.util.HashMap<>();
    int read = 0;
    while (read < 240) {
      List<Delivery> batch = result(consumer.readBatch(50, java.time.Duration.ofSeconds(2)));
      assertFalse(batch.isEmpty());
      for (Delivery d : batch) {
        String key = d.message().key().orElseThrow();
        int n = Integer.parseInt(d.message().headers().get("n"));
        assertEquals(last.getOrDefault(key, -1) + 1, n, "order of " + key);
        last.put(key, n);
      }
      result(consumer.acknowledgeBatch(batch));
      read += batch.size();
    }
    QueueInfo info = result(spool.queueInfo("orders"));
    assertEquals(240, info.stats().published());
    assertEquals(6, info.settings().partitions());
    assertEquals(1, result(spool.queueInfo("orders#5")).settings().partitions());
    assertTrue(result(spool.listQueues()).stream().noneMatch(q -> q.name().contains("#")));
    failure(spool.deleteQueue("orders#2"), Code.InvalidConfiguration);
    result(spool.deleteQueue("orders"));
    failure(spool.queueInfo("orders"), Code.QueueNotFound);
    failure(spool.queueInfo("orders#1"), Code.QueueNotFound);
  }
}
