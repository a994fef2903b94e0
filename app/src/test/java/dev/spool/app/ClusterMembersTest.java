package dev.spool.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spool.ClusterMembers;
import dev.spool.ConsumerSettings;
import dev.spool.Delivery;
import dev.spool.Durability;
import dev.spool.Message;
import dev.spool.QueueConsumer;
import dev.spool.QueueInfo;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import dev.spool.SpoolEvent;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.apache.pekko.stream.javadsl.Sink;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three cluster members in one JVM on PostgreSQL: queues created, published to and consumed through
 * different members, events seen on every member, and a member leaving while the others take its
 * queues over from the shared journal with every confirmed message and committed position. The
 * crash cases (kill -9, SIGSTOP) are in the system tests, with separate JVMs. Needs
 * {@code SPOOL_TEST_POSTGRES_URL}; skipped otherwise.
 */
class ClusterMembersTest {

  private static final String URL = System.getenv("SPOOL_TEST_POSTGRES_URL");

  private final List<Spool> members = new ArrayList<>();

  private static String env(String name, String otherwise) {
    String v = System.getenv(name);
    return v == null || v.isBlank() ? otherwise : v;
  }

  private static <T> T get(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  private static Config member(Path dir, int port, int seedPort, String user, String password) throws IOException {
    Map<String, Object> overrides = new HashMap<>();
    overrides.put("spool.data-dir", Files.createDirectories(dir).toString());
    overrides.put("spool.http.port", 0);
    overrides.put("spool.journal.database", "postgres");
    overrides.put("pekko-persistence-jdbc.shared-databases.postgres.db.url", URL);
    overrides.put("pekko-persistence-jdbc.shared-databases.postgres.db.user", user);
    overrides.put("pekko-persistence-jdbc.shared-databases.postgres.db.password", password);
    overrides.put("spool.cluster.enabled", "on");
    overrides.put("spool.cluster.seed-nodes", "pekko://spool@127.0.0.1:" + seedPort);
    overrides.put("pekko.remote.artery.canonical.hostname", "127.0.0.1");
    overrides.put("pekko.remote.artery.canonical.port", port);
    overrides.put("pekko.coordinated-shutdown.exit-jvm", "off");
    return ConfigFactory.load(ConfigFactory.parseMap(overrides)
        .withFallback(ConfigFactory.parseResourcesAnySyntax("application")));
  }

  @AfterEach
  void stop() {
    for (Spool spool : members) {
      try {
        spool.shutdown().toCompletableFuture().get(60, TimeUnit.SECONDS);
      } catch (Exception e) {
        // already stopped by the test
      }
    }
  }

  private static List<Message> kib(int from, int n) {
    String pad = "k".repeat(1024);
    return IntStream.range(from, from + n).mapToObj(i -> Message.text("t", i + ":" + pad)).toList();
  }

  @Test
  void membersShareQueuesAndTakeOverThoseOfAMemberThatLeaves(@TempDir Path dir) throws Exception {
    Assumptions.assumeTrue(URL != null && !URL.isBlank(), "SPOOL_TEST_POSTGRES_URL is not set: skipped");
    String user = env("SPOOL_TEST_POSTGRES_USER", "spool");
    String password = env("SPOOL_TEST_POSTGRES_PASSWORD", "spool");
    try (Connection c = DriverManager.getConnection(URL, user, password); Statement s = c.createStatement()) {
      s.execute("DROP TABLE IF EXISTS event_tag, event_journal, snapshot, spool_segment");
    }
    int seed = freePort();
    List<Config> configs = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      configs.add(member(dir.resolve("m" + i), i == 0 ? seed : freePort(), seed, user, password));
    }
    JournalSchema.ensure(configs.get(0));
    for (Config config : configs) {
      members.add(Main.init(config).spool());
    }
    for (Spool spool : members) {
      get(spool.ready());
    }
    Awaitility.await().atMost(Duration.ofSeconds(30)).until(() ->
        get(members.get(0).clusterMembers()).members().stream().filter(m -> m.status().equals("Up")).count() == 3);

    ConcurrentLinkedQueue<SpoolEvent> seenOnFirst = new ConcurrentLinkedQueue<>();
    members.get(0).events().runWith(Sink.foreach(seenOnFirst::add), members.get(0).system());

    QueueSettings persistent = QueueSettings.defaults().withDurability(Durability.PERSISTENT);
    List<String> queues = IntStream.range(0, 9).mapToObj(i -> "orders-" + i).toList();
    for (int i = 0; i < queues.size(); i++) {
      get(members.get(i % 3).createQueue(queues.get(i), persistent));
    }
    Set<String> hosts = new HashSet<>();
    for (String q : queues) {
      hosts.add(get(members.get(0).queueInfo(q)).member());
    }
    assertTrue(hosts.size() >= 2, "queues are spread over the members: " + hosts);
    Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> seenOnFirst.stream()
        .filter(e -> e instanceof SpoolEvent.QueueCreated).count() >= queues.size());

    Map<String, List<Long>> confirmed = new HashMap<>();
    for (int i = 0; i < queues.size(); i++) {
      List<Long> sequences = new ArrayList<>();
      for (int batch = 0; batch < 4; batch++) {
        sequences.addAll(get(members.get((i + 1) % 3).createPublisher(queues.get(i), "p")
            .publishAll(kib(batch * 25, 25))));
      }
      confirmed.put(queues.get(i), sequences);
    }
    Map<String, Long> acked = new HashMap<>();
    for (int i = 0; i < queues.size(); i++) {
      QueueConsumer consumer = members.get((i + 2) % 3).createConsumer(queues.get(i), ConsumerSettings.named("c"));
      List<Delivery> read = new ArrayList<>();
      while (read.size() < 60) {
        read.addAll(get(consumer.readBatch(60 - read.size())));
      }
      assertEquals(confirmed.get(queues.get(i)).subList(0, 60), read.stream().map(Delivery::sequence).toList());
      get(consumer.acknowledgeBatch(read));
      acked.put(queues.get(i), read.get(read.size() - 1).sequence());
    }

    // Operations over every queue answer for the whole cluster, from any member.
    for (Spool spool : members) {
      dev.spool.LagStats lag = get(spool.lagStatistics());
      assertEquals(queues.size(), lag.totalConsumers(), "every member's consumers are counted");
      assertEquals(40, lag.maxLag());
      assertEquals(queues.size(), get(spool.memoryStats()).queues().stream()
          .filter(q -> q.queue().startsWith("orders-")).count());
    }

    // A handler subscription runs its function where the queue runs: refused for another member's queue.
    for (String q : queues) {
      String host = get(members.get(0).queueInfo(q)).member();
      for (Spool spool : members) {
        String self = get(spool.clusterMembers()).self();
        dev.spool.Subscription subscription = spool.createConsumer(q, ConsumerSettings.named("h-" + self.hashCode()))
            .subscribe(d -> java.util.concurrent.CompletableFuture.completedFuture(org.apache.pekko.Done.getInstance()), 1);
        if (self.equals(host)) {
          get(subscription.ready());
          get(subscription.cancel());
        } else {
          java.util.concurrent.ExecutionException refused = org.junit.jupiter.api.Assertions.assertThrows(
              java.util.concurrent.ExecutionException.class, () -> get(subscription.ready()));
          assertTrue(refused.getCause() instanceof dev.spool.SpoolException.InvalidConfiguration, refused.toString());
        }
      }
      break; // one queue shows it
    }

    // The member that is neither the seed nor the oldest leaves; the others take its queues over.
    Spool leaving = members.remove(2);
    String leavingAddress = get(leaving.clusterMembers()).self();
    get(leaving.shutdown());
    Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).until(() -> {
      ClusterMembers view = get(members.get(0).clusterMembers());
      return view.members().stream().noneMatch(m -> m.address().equals(leavingAddress));
    });
    for (String q : queues) {
      QueueInfo info = Awaitility.await().atMost(Duration.ofSeconds(60)).ignoreExceptions()
          .until(() -> get(members.get(1).queueInfo(q)), i -> i != null);
      assertTrue(!leavingAddress.equals(info.member()), q + " runs on a remaining member");
      assertEquals(100, info.stats().lastSequence(), q + " kept every confirmed message");
      QueueConsumer consumer = members.get(0).createConsumer(q, ConsumerSettings.named("c"));
      List<Delivery> rest = new ArrayList<>();
      while (rest.size() < 40) {
        rest.addAll(get(consumer.readBatch(40 - rest.size())));
      }
      assertEquals(acked.get(q) + 1, rest.get(0).sequence(), q + ": the consumer resumes after its last ack");
      assertEquals(confirmed.get(q).subList(60, 100), rest.stream().map(Delivery::sequence).toList());
    }
  }

  @Test
  void aStandaloneServiceIsRefusedWhileClusterMembersUseTheDatabase(@TempDir Path dir) throws Exception {
    Assumptions.assumeTrue(URL != null && !URL.isBlank(), "SPOOL_TEST_POSTGRES_URL is not set: skipped");
    String user = env("SPOOL_TEST_POSTGRES_USER", "spool");
    String password = env("SPOOL_TEST_POSTGRES_PASSWORD", "spool");
    int seed = freePort();
    Config memberConfig = member(dir.resolve("m0"), seed, seed, user, password);
    JournalSchema.ensure(memberConfig);
    members.add(Main.init(memberConfig).spool());
    get(members.get(0).ready());

    Map<String, Object> standalone = new HashMap<>();
    standalone.put("spool.data-dir", Files.createDirectories(dir.resolve("standalone")).toString());
    standalone.put("spool.http.port", 0);
    standalone.put("spool.journal.database", "postgres");
    standalone.put("pekko-persistence-jdbc.shared-databases.postgres.db.url", URL);
    standalone.put("pekko-persistence-jdbc.shared-databases.postgres.db.user", user);
    standalone.put("pekko-persistence-jdbc.shared-databases.postgres.db.password", password);
    standalone.put("spool.persistence.writer-lock.wait-at-start", "2s");
    standalone.put("pekko.coordinated-shutdown.exit-jvm", "off");
    Spool refused = Main.init(ConfigFactory.load(ConfigFactory.parseMap(standalone)
        .withFallback(ConfigFactory.parseResourcesAnySyntax("application")))).spool();
    members.add(refused);
    dev.spool.SpoolException reason = get(refused.writerLockLost());
    assertTrue(reason instanceof dev.spool.SpoolException.DatabaseInUse, reason.toString());
    assertTrue(reason.getMessage().contains("shared"), "names the cluster member's shared lock: " + reason.getMessage());
    assertTrue(get(members.get(0).clusterMembers()).selfUp(), "the cluster member serves on");
    get(members.get(0).createQueue("still-here", QueueSettings.defaults().withDurability(Durability.PERSISTENT)));
  }

  @Test
  void aMemberThatFormsASecondClusterOnTheDatabaseStartsNoQueue(@TempDir Path dir) throws Exception {
    Assumptions.assumeTrue(URL != null && !URL.isBlank(), "SPOOL_TEST_POSTGRES_URL is not set: skipped");
    String user = env("SPOOL_TEST_POSTGRES_USER", "spool");
    String password = env("SPOOL_TEST_POSTGRES_PASSWORD", "spool");
    int first = freePort();
    Config firstConfig = member(dir.resolve("a"), first, first, user, password);
    JournalSchema.ensure(firstConfig);
    members.add(Main.init(firstConfig).spool());
    get(members.get(0).ready());
    QueueSettings persistent = QueueSettings.defaults().withDurability(Durability.PERSISTENT);
    get(members.get(0).createQueue("orders", persistent));
    get(members.get(0).createPublisher("orders", "p").publishAll(kib(0, 10)));

    // Its seed nodes name only itself: it forms a cluster of its own on the same database.
    int second = freePort();
    members.add(Main.init(member(dir.resolve("b"), second, second, user, password)).spool());
    Spool rogue = members.get(1);
    get(rogue.ready());
    java.util.concurrent.ExecutionException refused = org.junit.jupiter.api.Assertions.assertThrows(
        java.util.concurrent.ExecutionException.class,
        () -> get(rogue.createPublisher("orders", "rogue").publish(Message.text("t", "never stored"))));
    assertTrue(refused.getCause() instanceof dev.spool.SpoolException, refused.toString());
    org.junit.jupiter.api.Assertions.assertThrows(java.util.concurrent.ExecutionException.class,
        () -> get(rogue.createQueue("other", persistent)));

    assertEquals(11L, get(members.get(0).createPublisher("orders", "p").publish(Message.text("t", "kept"))));
    assertEquals(11, get(members.get(0).queueInfo("orders")).stats().lastSequence(), "the rogue stored nothing");
  }
}
