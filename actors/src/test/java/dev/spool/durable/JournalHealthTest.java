package dev.spool.durable;

import static dev.spool.Await.failure;
import static dev.spool.Await.result;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.spool.ConsumerSettings;
import dev.spool.Delivery;
import dev.spool.Durability;
import dev.spool.JournalHealth;
import dev.spool.Message;
import dev.spool.QueueConsumer;
import dev.spool.QueuePublisher;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import dev.spool.SpoolException;
import dev.spool.SpoolException.Code;
import dev.spool.SpoolSettings;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.persistence.testkit.JournalOperation;
import org.apache.pekko.persistence.testkit.ProcessingPolicy;
import org.apache.pekko.persistence.testkit.ProcessingResult;
import org.apache.pekko.persistence.testkit.ProcessingSuccess$;
import org.apache.pekko.persistence.testkit.ReadEvents;
import org.apache.pekko.persistence.testkit.ReadSeqNum$;
import org.apache.pekko.persistence.testkit.StorageFailure;
import org.apache.pekko.persistence.testkit.WriteEvents;
import org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.LoggerFactory;

/**
 * Journal health on Pekko's test journal, with writes and reads failed or held on purpose: a
 * queue whose journal cannot write refuses new publishes at once with {@code JournalUnavailable}
 * (and they are never stored), reports why through {@link Spool#health()}, and takes publishes
 * again once a write completes; nothing confirmed is lost.
 */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class JournalHealthTest {

  @JUnit5TestKit
  ActorTestKit testKit = new JUnit5TestKitBuilder()
      .withCustomConfig(TestJournal.config("""
          spool.persistence.restart-backoff.min = 50ms
          spool.persistence.restart-backoff.max = 200ms
          spool.persistence.write-stall-after = 300ms
          # The journal's circuit breaker opens after 10 failed reads; it lets calls through
          # again after this (30 s by default), which bounds how soon a healed journal is read.
          pekko.persistence.testkit.journal.circuit-breaker.reset-timeout = 500ms
          """))
      .build();

  private static final AtomicInteger REGISTRIES = new AtomicInteger();
  private static final QueueSettings DURABLE = QueueSettings.defaults().withDurability(Durability.PERSISTENT);
  /** What "at once" means for a refusal: far below the stall time and the ask timeout. */
  private static final long FAST_MILLIS = 250;

  /** Fails or holds the test journal's operations on persistence ids that start with {@link #prefix}. */
  static final class Outage implements ProcessingPolicy<JournalOperation> {
    volatile String prefix = "\u0000";
    volatile boolean failReads;
    volatile boolean failWrites;
    volatile CountDownLatch hold;
    volatile String message = "journal down (test)";
    /** Writes still to fail, after any hold, before writes succeed again. */
    final AtomicInteger failNext = new AtomicInteger();
    /** The persistence id of the journal the policy applied to last. */
    volatile String seen;

    /** From now on, the policy applies to {@code queue}'s journal. */
    void on(String queue) {
      prefix = "spool-queue|" + queue + "~";
    }

    /** {@code queue}'s next journal write hangs, as on a database that stopped answering, until {@link #hold} is counted down. */
    void holdWritesOf(String queue) {
      on(queue);
      hold = new CountDownLatch(1);
    }

    @Override
    public ProcessingResult tryProcess(String persistenceId, JournalOperation operation) {
      if (!persistenceId.startsWith(prefix)) {
        return ProcessingSuccess$.MODULE$;
      }
      seen = persistenceId;
      if (operation instanceof WriteEvents) {
        CountDownLatch h = hold;
        if (h != null) {
          try {
            h.await(30, TimeUnit.SECONDS); // a write that hangs, as on a database that stopped answering
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
        if (failWrites || failNext.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
          return new StorageFailure(new IllegalStateException(message));
        }
      }
      if (failReads && (operation instanceof ReadEvents || operation == ReadSeqNum$.MODULE$)) {
        return new StorageFailure(new IllegalStateException(message));
      }
      return ProcessingSuccess$.MODULE$;
    }
  }

  private final Outage outage = new Outage();

  @AfterEach
  void healJournal() {
    CountDownLatch h = outage.hold;
    if (h != null) {
      h.countDown();
    }
    PersistenceTestKit.create(testKit.system()).resetPolicy();
  }

  /** A ready engine on a registry of its own. */
  private Spool startedEngine() {
    Spool spool = engine("health-" + REGISTRIES.incrementAndGet());
    result(spool.ready());
    return spool;
  }

  /** Creates durable queue {@code queue}; its publisher. */
  private static QueuePublisher durableQueue(Spool spool, String queue) {
    result(spool.createQueue(queue, DURABLE));
    return spool.createPublisher(queue, "p");
  }

  private Spool engine(String registry) {
    SpoolSettings base = SpoolSettings.create(testKit.system());
    SpoolSettings.Persistence p = base.persistence();
    PersistenceTestKit.create(testKit.system()).withPolicy(outage);
    return Spool.create(testKit.system(), base.withPersistence(p.withSnapshotEvery(1000).withRegistry(registry)));
  }

  private static Message kib(String text) {
    byte[] payload = new byte[1024];
    Arrays.fill(payload, (byte) 'x');
    byte[] label = text.getBytes(StandardCharsets.UTF_8);
    System.arraycopy(label, 0, payload, 0, label.length);
    return Message.of("t", payload);
  }

  private static String label(Message m) {
    return m.payloadAsString().replaceAll("x+$", "");
  }

  /** Fails with JournalUnavailable, and at once: returns how long it took in milliseconds. */
  private static long refusedAtOnce(java.util.function.Supplier<java.util.concurrent.CompletionStage<?>> call) {
    long started = System.nanoTime();
    SpoolException e = failure(call.get(), Code.JournalUnavailable);
    long took = (System.nanoTime() - started) / 1_000_000;
    assertTrue(e.getMessage().contains("nothing was stored") || e.getMessage().contains("nothing was done"),
        e.getMessage());
    assertTrue(took < FAST_MILLIS, "refused in " + took + " ms");
    return took;
  }

  private static JournalHealth.Problem problemOf(Spool spool, String queue) {
    return result(spool.health()).problems().stream().filter(p -> queue.equals(p.queue())).findFirst().orElse(null);
  }

  @Test
  void publishesWaitingForAWriteAreAnsweredAtOnceWhenTheirQueueIsDeleted() {
    Spool spool = startedEngine();
    QueuePublisher publisher = durableQueue(spool, "doomed");
    assertEquals(1L, result(publisher.publish(kib("before"))));

    outage.holdWritesOf("doomed");
    CompletableFuture<Long> underWay = publisher.publish(kib("under way")).toCompletableFuture();
    CompletableFuture<Long> gathered = publisher.publish(kib("gathered")).toCompletableFuture();
    await().atMost(Duration.ofSeconds(3)).until(() -> result(spool.queueStats("doomed")).depth() == 1
        && !underWay.isDone() && !gathered.isDone());
    CompletableFuture<?> creating = spool.declareConsumer("doomed", ConsumerSettings.named("late"))
        .toCompletableFuture();

    long deleting = System.nanoTime();
    // The test journal handles one operation at a time, so the deletion's own registry write waits
    // behind the held one: the owed calls must be answered while the journal still hangs.
    CompletableFuture<?> deleted = spool.deleteQueue("doomed").toCompletableFuture();
    for (CompletableFuture<?> owed : List.of(underWay, gathered)) {
      failure(owed, Code.QueueNotFound);
    }
    long answeredMillis = (System.nanoTime() - deleting) / 1_000_000;
    assertTrue(answeredMillis < 2_000, "answered " + answeredMillis + " ms after the deletion, not at the ask timeout");
    // A creation gathered after the write stalled was refused at once (JournalUnavailable) or, gathered
    // before that, owed like the publishes: either way answered, never left to time out.
    java.util.concurrent.ExecutionException refused = org.junit.jupiter.api.Assertions.assertThrows(
        java.util.concurrent.ExecutionException.class, () -> creating.get(2, TimeUnit.SECONDS));
    Code code = ((SpoolException) refused.getCause()).code();
    assertTrue(code == Code.QueueNotFound || code == Code.JournalUnavailable, refused.getCause().toString());
    assertFalse(deleted.isDone(), "the journal still hangs");

    outage.hold.countDown();
    outage.prefix = "\u0000";
    result(deleted);
    result(spool.createQueue("doomed", DURABLE));
    assertEquals(List.of(), result(spool.browse("doomed", 1, 100)), "a queue created again starts empty");
    result(spool.shutdown());
  }

  @Test
  void aStalledWriteRefusesNewPublishesAtOnceUntilItCompletes() {
    Spool spool = startedEngine();
    QueuePublisher publisher = durableQueue(spool, "stall");
    assertEquals(1L, result(publisher.publish(kib("before"))));
    assertTrue(result(spool.health()).healthy());

    outage.holdWritesOf("stall");
    long stalledAt = System.nanoTime();
    CompletableFuture<Long> inFlight = publisher.publish(kib("in-flight")).toCompletableFuture();
    await().atMost(Duration.ofSeconds(3)).pollInterval(Duration.ofMillis(20))
        .until(() -> problemOf(spool, "stall") != null);
    long detectedMillis = (System.nanoTime() - stalledAt) / 1_000_000;
    JournalHealth.Problem problem = problemOf(spool, "stall");
    assertEquals(JournalHealth.State.WRITE_STALLED, problem.state());
    assertTrue(detectedMillis >= 250 && detectedMillis < 1500, "stall reported after " + detectedMillis + " ms");

    List<Long> refusals = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      int n = i;
      refusals.add(refusedAtOnce(() -> publisher.publish(kib("refused-" + n))));
    }
    refusedAtOnce(() -> spool.declareConsumer("stall", ConsumerSettings.named("late")));
    assertFalse(inFlight.isDone(), "the held write's publish waits for its outcome");

    outage.hold.countDown();
    assertEquals(2L, result(inFlight), "the held write completed: its publish is confirmed");
    await().atMost(Duration.ofSeconds(3)).until(() -> result(spool.health()).healthy());
    assertEquals(3L, result(publisher.publish(kib("after"))), "publishes are taken again, with no gap");
    List<String> stored = result(spool.browse("stall", 1, 100)).stream().map(JournalHealthTest::label).toList();
    assertEquals(List.of("before", "in-flight", "after"), stored);
    System.out.printf("stalled write: reported after %d ms; refusals took %s ms%n", detectedMillis, refusals);
    result(spool.shutdown());
  }

  @Test
  void publishesPastWhatMayWaitForTheJournalAreRefusedWithQueueFullAndNeverStored() {
    SpoolSettings base = SpoolSettings.create(testKit.system());
    PersistenceTestKit.create(testKit.system()).withPolicy(outage);
    // A slow journal, not a stalled one: the bound on what waits for it is what refuses.
    Spool spool = Spool.create(testKit.system(), base.withPersistence(base.persistence().withSnapshotEvery(1000)
        .withRegistry("health-" + REGISTRIES.incrementAndGet()).withWriteStallAfter(Duration.ofSeconds(30))
        .withMaxPending(4, 64L << 20)));
    result(spool.ready());
    QueuePublisher publisher = durableQueue(spool, "backlog");
    assertEquals(1L, result(publisher.publish(kib("before"))));

    outage.holdWritesOf("backlog");
    CompletableFuture<Long> inFlight = publisher.publish(kib("in-flight")).toCompletableFuture();
    List<CompletableFuture<Long>> waiting = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      waiting.add(publisher.publish(kib("waiting-" + i)).toCompletableFuture());
    }
    SpoolException refused = failure(publisher.publish(kib("refused")), Code.QueueFull);
    assertTrue(refused.getMessage().contains("4 messages waiting for its journal"), refused.getMessage());

    outage.hold.countDown();
    assertEquals(2L, result(inFlight));
    assertEquals(List.of(3L, 4L, 5L), waiting.stream().map(f -> result(f)).toList());
    List<String> stored = result(spool.browse("backlog", 1, 100)).stream().map(JournalHealthTest::label).toList();
    assertEquals(List.of("before", "in-flight", "waiting-0", "waiting-1", "waiting-2"), stored);
    result(spool.shutdown());
  }

  @Test
  void aFailingJournalRefusesAtOnceReportsWhyAndLosesNothingConfirmed() {
    Spool spool = startedEngine();
    QueuePublisher publisher = durableQueue(spool, "down");
    QueueConsumer consumer = spool.createConsumer("down", ConsumerSettings.named("c"));
    result(consumer.ready());
    Set<String> confirmed = new HashSet<>();
    for (int i = 0; i < 20; i++) {
      result(publisher.publish(kib("ok-" + i)));
      confirmed.add("ok-" + i);
    }

    outage.on("down");
    outage.failWrites = true;
    outage.failReads = true;
    // The first publish's write fails; whether it was stored, the journal's recovery will tell.
    CompletableFuture<Long> failing = publisher.publish(kib("failing")).toCompletableFuture();
    await().atMost(Duration.ofSeconds(2)).until(() -> problemOf(spool, "down") != null);
    await().atMost(Duration.ofSeconds(2)).until(() -> problemOf(spool, "down").state() == JournalHealth.State.UNAVAILABLE);
    JournalHealth.Problem problem = problemOf(spool, "down");
    assertTrue(problem.detail().contains("journal down (test)"), problem.detail());
    assertTrue(problem.since() != null);
    Set<String> refused = new HashSet<>();
    for (int i = 0; i < 10; i++) {
      String text = "refused-" + i;
      refusedAtOnce(() -> publisher.publish(kib(text)));
      refused.add(text);
    }

    outage.failWrites = false;
    outage.failReads = false;
    await().atMost(Duration.ofSeconds(5)).until(() -> result(spool.health()).healthy());
    assertTrue(failing.isDone(), "the failed write's publish was answered once the journal recovered");
    assertTrue(failing.isCompletedExceptionally(), "its write was not stored, so it is not confirmed");
    long next = result(publisher.publish(kib("after")));
    assertEquals(21L, next, "no sequence was taken by a refused publish");
    confirmed.add("after");

    List<String> delivered = new ArrayList<>();
    while (delivered.size() < confirmed.size()) {
      List<Delivery> got = result(consumer.readBatch(50, Duration.ofSeconds(2)));
      assertFalse(got.isEmpty(), "delivered " + delivered.size() + " of " + confirmed.size());
      got.forEach(d -> delivered.add(label(d.message())));
      result(consumer.acknowledgeSequences(got.stream().map(Delivery::sequence).toList()), 10);
    }
    assertEquals(confirmed, new HashSet<>(delivered));
    delivered.forEach(text -> assertFalse(refused.contains(text), "refused but stored: " + text));
    result(spool.shutdown());
  }

  @Test
  void anUnreadableRegistryKeepsTransientQueuesServingAndSaysWhyUntilItIsRead() {
    String registry = "health-" + REGISTRIES.incrementAndGet();
    outage.prefix = "spool-registry-" + registry;
    outage.failReads = true;
    Spool spool = engine(registry);
    await().atMost(Duration.ofSeconds(3)).until(() -> {
      JournalHealth.Problem p = result(spool.health()).problems().get(0);
      return p.queue() == null && p.state() == JournalHealth.State.UNAVAILABLE;
    });
    assertFalse(spool.ready().toCompletableFuture().isDone());
    // The transient default queue serves meanwhile.
    long seq = result(spool.createPublisher("p").publish(kib("transient")));
    assertEquals(List.of(seq), result(spool.createConsumer("meanwhile").readBatch(10, Duration.ofSeconds(1)))
        .stream().map(Delivery::sequence).toList());
    // What needs the list of durable queues is refused at once, not held.
    refusedAtOnce(() -> spool.createQueue("later", DURABLE));

    outage.failReads = false;
    result(spool.ready(), 10);
    assertTrue(result(spool.health()).healthy());
    result(spool.createQueue("later", DURABLE));
    assertEquals(1L, result(spool.createPublisher("later", "p").publish(kib("durable"))));
    result(spool.shutdown());
  }

  @Test
  void aCorruptJournalIsLoggedOnceAtErrorWhateverTheRetriesAndQueues() {
    String registry = "health-" + REGISTRIES.incrementAndGet();
    Spool first = engine(registry);
    result(first.ready());
    for (String q : List.of("a", "b", "c")) {
      result(first.createQueue(q, DURABLE));
      result(first.createPublisher(q, "p").publish(kib(q)));
    }
    var manager = first.queueManager();
    result(first.shutdown());
    testKit.createTestProbe().expectTerminated(manager, Duration.ofSeconds(10));

    ListAppender<ILoggingEvent> logs = new ListAppender<>();
    logs.start();
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    root.addAppender(logs);
    try {
      outage.prefix = "spool-queue|";
      outage.message = "/data/journal/spool.db is corrupt (database disk image is malformed); stop Spool and run"
          + " java -cp spool.jar dev.spool.journal.RecoverJournal /data/journal/spool.db";
      outage.failReads = true;
      Spool second = engine(registry);
      await().atMost(Duration.ofSeconds(5)).until(() -> result(second.health()).problems().size() == 3
          && result(second.health()).problems().stream().allMatch(p -> p.state() == JournalHealth.State.UNAVAILABLE));
      // A second of retries (50-200 ms backoff) for three queues.
      await().pollDelay(Duration.ofSeconds(1)).until(() -> true);
      List<String> errors = logs.list.stream().filter(e -> e.getLevel().isGreaterOrEqual(Level.ERROR))
          .map(ILoggingEvent::getFormattedMessage).toList();
      List<String> warnings = logs.list.stream().filter(e -> e.getLevel() == Level.WARN)
          .map(ILoggingEvent::getFormattedMessage).filter(m -> m.contains("RecoverJournal")).toList();
      assertEquals(1, errors.size(), "one ERROR line: " + errors);
      assertTrue(errors.get(0).contains("RecoverJournal") && errors.get(0).contains("/data/journal/spool.db"),
          errors.get(0));
      assertTrue(warnings.isEmpty(), "no WARN per retry: " + warnings);
      // The transient default queue serves; the durable ones refuse at once.
      assertTrue(result(second.createPublisher("p").publish(kib("transient"))) > 0);
      refusedAtOnce(() -> second.createPublisher("a", "p").publish(kib("refused")));

      outage.failReads = false;
      result(second.ready(), 10);
      await().atMost(Duration.ofSeconds(5)).until(() -> result(second.health()).healthy());
      assertEquals(List.of("a"), result(second.browse("a", 1, 10)).stream().map(JournalHealthTest::label).toList());
      assertNull(problemOf(second, "a"));
      result(second.shutdown());
    } finally {
      root.detachAppender(logs);
    }
  }
}
