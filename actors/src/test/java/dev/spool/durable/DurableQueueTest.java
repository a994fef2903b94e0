package dev.spool.durable;

import static dev.spool.Await.failure;
import static dev.spool.Await.result;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.AckMode;
import dev.spool.ConsumerInfo;
import dev.spool.ConsumerSettings;
import dev.spool.Delivery;
import dev.spool.Durability;
import dev.spool.Message;
import dev.spool.MessageFilter;
import dev.spool.QueueConsumer;
import dev.spool.QueueInfo;
import dev.spool.QueuePublisher;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import dev.spool.SpoolException;
import dev.spool.SpoolException.Code;
import dev.spool.SpoolSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit;
import org.apache.pekko.persistence.testkit.javadsl.SnapshotTestKit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Durable queues on Pekko's in-memory test journal (which serializes every event and snapshot,
 * so the binary format is exercised): what was confirmed survives a restart of the engine, with
 * consumers' positions; journal failures become errors and lose nothing confirmed.
 */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class DurableQueueTest {

  @JUnit5TestKit
  ActorTestKit testKit = new JUnit5TestKitBuilder()
      .withCustomConfig(TestJournal.config("""
          spool.persistence.restart-backoff.min = 50ms
          spool.persistence.restart-backoff.max = 200ms
          """))
      .build();

  private static final AtomicInteger REGISTRIES = new AtomicInteger();
  private static final QueueSettings DURABLE = QueueSettings.defaults().withDurability(Durability.PERSISTENT);

  /** An engine whose durable queues are listed under {@code registry}, so that a later engine finds them. */
  private Spool engine(String registry, int snapshotEvery) {
    SpoolSettings base = SpoolSettings.create(testKit.system());
    SpoolSettings.Persistence p = base.persistence();
    return Spool.create(testKit.system(), base.withPersistence(p.withSnapshotEvery(snapshotEvery).withRegistry(registry)));
  }

  /** Stops {@code spool} completely (no two writers of one journal), then starts its successor. */
  private Spool restart(Spool spool, String registry, int snapshotEvery) {
    var manager = spool.queueManager();
    result(spool.shutdown());
    testKit.createTestProbe().expectTerminated(manager, Duration.ofSeconds(10));
    Spool next = engine(registry, snapshotEvery);
    result(next.ready(), 20);
    return next;
  }

  private String registry() {
    return "durable-test-" + REGISTRIES.incrementAndGet();
  }

  private String queuePersistenceId(String registry, String queue) {
    PersistenceTestKit journal = PersistenceTestKit.create(testKit.system());
    String incarnation = null;
    for (Object e : journal.persistedInStorage("spool-registry-" + registry)) {
      if (e instanceof RegistryEvent.QueueDefined d && d.name().equals(queue)) {
        incarnation = d.incarnation();
      }
    }
    return QueueJournal.persistenceId(queue, incarnation).id();
  }

  /** Publishes {@code text}, retrying while the journal restarts after an injected failure; its sequence. */
  private static long publishOnceTheJournalIsBack(QueuePublisher publisher, String text) {
    return await().atMost(Duration.ofSeconds(10)).ignoreExceptions()
        .until(() -> result(publisher.publish(Message.text("t", text))), s -> s > 0);
  }

  @Test
  void confirmedMessagesAndCommittedPositionsSurviveARestart() {
    String registry = registry();
    Spool spool = engine(registry, 1000);
    result(spool.ready());
    result(spool.createQueue("orders", DURABLE));
    QueuePublisher publisher = spool.createPublisher("orders", "shop");
    UUID chosen = UUID.randomUUID();
    List<Message> batch = new ArrayList<>();
    for (int i = 1; i <= 100; i++) {
      Message m = Message.text("order.created", "order " + i).withKey("c-" + (i % 7)).withHeader("n", "" + i);
      batch.add(i == 5 ? m.withId(chosen) : m);
    }
    assertEquals(1L, result(publisher.publishAll(batch)).get(0));
    ConsumerSettings explicit = ConsumerSettings.named("billing").prefetch(10);
    QueueConsumer billing = spool.createConsumer("orders", explicit);
    result(billing.ready());
    List<Delivery> first = new ArrayList<>();
    while (first.size() < 30) {
      List<Delivery> got = result(billing.readBatch(10, Duration.ofSeconds(1)));
      first.addAll(got);
      List<Long> ack = got.stream().map(Delivery::sequence).filter(s -> s <= 20 || s == 25).toList();
      if (!ack.isEmpty()) {
        assertEquals(ack.size(), result(billing.acknowledgeSequences(ack)).acked());
      }
    }
    Map<Long, UUID> ids = new HashMap<>();
    for (Message m : result(spool.browse("orders", 1, 100))) {
      ids.put(m.sequence(), m.id());
    }
    assertEquals(chosen, ids.get(5L));

    Spool after = restart(spool, registry, 1000);

    QueueInfo info = result(after.queueInfo("orders"));
    assertEquals(100, info.stats().lastSequence());
    assertEquals(80, info.stats().depth(), "1..20, acknowledged by the only consumer, were released");
    List<Message> recovered = result(after.browse("orders", 1, 100));
    assertEquals(80, recovered.size());
    assertEquals(21, recovered.get(0).sequence());
    for (Message m : recovered) {
      assertEquals(ids.get(m.sequence()), m.id(), "ids stay the same across a restart");
      assertEquals("order " + m.sequence(), m.payloadAsString());
      assertEquals("" + m.sequence(), m.headers().get("n"));
      assertEquals("c-" + (m.sequence() % 7), m.key().orElseThrow());
      assertEquals("shop", m.producerId());
    }
    ConsumerInfo billingInfo = result(after.consumerInfo("orders", "billing"));
    assertEquals(20, billingInfo.committed(), "resumes at its committed position");
    // The same settings find the recovered consumer; the in-flight ones come again, the acked 25 never.
    QueueConsumer resumed = after.createConsumer("orders", explicit);
    List<Delivery> rest = new ArrayList<>();
    while (rest.size() < 79) {
      List<Delivery> got = result(resumed.readBatch(10, Duration.ofSeconds(1)));
      assertFalse(got.isEmpty(), "delivered " + rest.size() + " of 79 after the restart");
      rest.addAll(got);
      result(resumed.acknowledgeSequences(got.stream().map(Delivery::sequence).toList()));
    }
    Set<Long> seen = new HashSet<>();
    for (Delivery d : rest) {
      assertTrue(seen.add(d.sequence()), "delivered once: " + d.sequence());
      assertEquals(d.sequence() <= 30 ? 2 : 1, d.attempt(), "attempt of " + d.sequence());
    }
    assertFalse(seen.contains(25L));
    assertEquals(79, seen.size());
    // Sequences go on; a retried id is deduplicated against what was recovered.
    QueuePublisher again = after.createPublisher("orders", "shop");
    assertEquals(101L, result(again.publish(Message.text("order.created", "late"))));
    assertEquals(5L, result(again.publish(Message.text("order.created", "retry").withId(chosen))));
    result(after.shutdown());
  }

  @Test
  void consumersQueuesAndDeadLetterQueuesAreDurableToo() {
    String registry = registry();
    Spool spool = engine(registry, 1000);
    result(spool.createQueue("jobs", DURABLE.withDeadLetter("jobs-dlq", 2)));
    result(spool.createQueue("scratch", DURABLE));
    result(spool.createQueue("memory-only", QueueSettings.defaults()));
    result(spool.createConsumer("jobs", ConsumerSettings.named("keep")).ready());
    result(spool.createConsumer("jobs", ConsumerSettings.named("drop")).ready());
    result(spool.deleteConsumer("jobs", "drop"));
    result(spool.deleteQueue("scratch"));
    result(spool.createPublisher("jobs", "p").publish(Message.text("job", "x")));
    QueueConsumer keep = spool.createConsumer("jobs", ConsumerSettings.named("keep"));
    Delivery d = result(keep.readBatch(1, Duration.ofSeconds(1))).get(0);
    result(keep.nack(d, false)); // straight to the dead-letter queue
    await().atMost(Duration.ofSeconds(5)).until(() -> result(spool.queueInfo("jobs-dlq")).stats().depth() == 1);

    Spool after = restart(spool, registry, 1000);

    List<String> names = result(after.listQueues()).stream().map(QueueInfo::name).toList();
    assertTrue(names.containsAll(List.of("jobs", "jobs-dlq")), names.toString());
    assertFalse(names.contains("scratch"), "a deleted durable queue stays deleted");
    assertFalse(names.contains("memory-only"), "a transient queue is gone after a restart");
    assertEquals(Durability.PERSISTENT, result(after.queueInfo("jobs-dlq")).settings().durability());
    assertEquals(List.of("keep"), result(after.listConsumers("jobs")).stream().map(ConsumerInfo::name).toList());
    assertEquals(1, result(after.consumerInfo("jobs", "keep")).committed(), "dead-lettered counts as settled");
    Message dead = result(after.browse("jobs-dlq", 1, 10)).get(0);
    assertEquals("jobs", dead.headers().get("x-death-queue"));
    assertEquals(1, result(after.redrive("jobs-dlq")));
    result(after.shutdown());
  }

  @Test
  void aConsumersFilterExpressionIsDurable() {
    String registry = registry();
    // Snapshots every 3 writes: the consumer is read back from a snapshot, and from events after it.
    Spool spool = engine(registry, 3);
    result(spool.createQueue("orders", DURABLE));
    String filter = "type == 'order.created' && headers['region'] in ['eu', 'uk'] && payload.total > 100";
    result(spool.createConsumer("orders", ConsumerSettings.named("big-eu").filter(MessageFilter.expression(filter)))
        .ready());
    QueuePublisher publisher = spool.createPublisher("orders", "shop");
    String pad = "x".repeat(1024);
    for (int i = 0; i < 20; i++) {
      result(publisher.publish(Message.text(i % 4 == 3 ? "order.paid" : "order.created",
              "{\"total\":" + (i * 20) + ",\"pad\":\"" + pad + "\"}")
          .withContentType("application/json").withHeader("region", i % 2 == 0 ? "eu" : "us")));
    }

    Spool after = restart(spool, registry, 3);

    ConsumerInfo info = result(after.consumerInfo("orders", "big-eu"));
    assertEquals(filter, info.settings().filter().expression().source());
    QueueConsumer consumer = after.createConsumer("orders", ConsumerSettings.named("big-eu")
        .filter(MessageFilter.expression(filter)));
    List<Long> totals = result(consumer.readBatch(20, Duration.ofSeconds(1))).stream()
        .map(d -> Long.parseLong(d.message().payloadAsString().replaceAll("^\\{\"total\":(\\d+),.*$", "$1"))).toList();
    assertEquals(List.of(120L, 160L, 200L, 240L, 280L, 320L, 360L), totals,
        "even i (eu), created, total over 100: the filter still applies after the restart");
    result(after.shutdown());
  }

  @Test
  void concurrentPublishesShareJournalWrites() {
    String registry = registry();
    Spool spool = engine(registry, 100_000);
    result(spool.createQueue("busy", DURABLE));
    int producers = 16;
    int each = 400;
    List<CompletableFuture<Void>> running = new ArrayList<>();
    Set<Long> sequences = ConcurrentHashMap.newKeySet();
    for (int p = 0; p < producers; p++) {
      QueuePublisher publisher = spool.createPublisher("busy", "p" + p);
      running.add(CompletableFuture.runAsync(() -> {
        // 8 publishes in flight per producer, one message each
        List<CompletionStage<Long>> window = new ArrayList<>();
        for (int i = 0; i < each; i++) {
          window.add(publisher.publish(Message.text("t", "m" + i)));
          if (window.size() == 8) {
            window.forEach(s -> sequences.add(result(s)));
            window.clear();
          }
        }
        window.forEach(s -> sequences.add(result(s)));
      }));
    }
    running.forEach(f -> result(f, 60));
    int total = producers * each;
    assertEquals(total, sequences.size());
    int writes = PersistenceTestKit.create(testKit.system())
        .persistedInStorage(queuePersistenceId(registry, "busy")).size();
    assertTrue(writes < total / 2, total + " publishes took " + writes + " journal writes");
    result(spool.shutdown());
  }

  @Test
  void aFailedJournalWriteFailsItsPublishesAndLosesNothingConfirmed() {
    String registry = registry();
    Spool spool = engine(registry, 1000);
    result(spool.createQueue("fragile", DURABLE));
    QueuePublisher publisher = spool.createPublisher("fragile", "p");
    assertEquals(List.of(1L, 2L), result(publisher.publishAll(List.of(Message.text("t", "a"), Message.text("t", "b")))));
    String pid = queuePersistenceId(registry, "fragile");
    PersistenceTestKit journal = PersistenceTestKit.create(testKit.system());
    journal.failNextPersisted(pid);
    SpoolException refused = failure(publisher.publish(Message.text("t", "lost")), Code.JournalUnavailable);
    assertTrue(refused.getMessage().contains("journal"), refused.getMessage());
    // The journal restarts after its backoff and the queue takes publishes again.
    long next = publishOnceTheJournalIsBack(publisher, "c");
    assertEquals(3L, next, "the refused publish's sequence was never confirmed, so it is not a gap");

    // Acknowledgements wait for their position to be journaled, through a failure too.
    QueueConsumer c = spool.createConsumer("fragile", ConsumerSettings.named("c"));
    List<Delivery> got = result(c.readBatch(3, Duration.ofSeconds(1)));
    assertEquals(3, got.size());
    journal.failNextPersisted(pid);
    assertEquals(2, result(c.acknowledgeSequences(List.of(1L, 2L)), 10).acked());

    Spool after = restart(spool, registry, 1000);
    List<String> payloads = result(after.browse("fragile", 1, 10)).stream().map(Message::payloadAsString).toList();
    assertEquals(List.of("c"), payloads, "a and b were acknowledged by the only consumer, so released");
    assertEquals(2, result(after.consumerInfo("fragile", "c")).committed());
    result(after.shutdown());
  }

  @Test
  void aFailedFirstWriteIsNotConfirmedAndItsSequenceIsNotKept() {
    String registry = registry();
    Spool spool = engine(registry, 1000);
    result(spool.createQueue("first", DURABLE));
    QueuePublisher publisher = spool.createPublisher("first", "p");
    PersistenceTestKit.create(testKit.system()).failNextPersisted(queuePersistenceId(registry, "first"));
    failure(publisher.publish(Message.text("t", "lost")), Code.JournalUnavailable);
    long next = publishOnceTheJournalIsBack(publisher, "kept");
    assertEquals(1L, next);
    Spool after = restart(spool, registry, 1000);
    assertEquals(List.of("kept"), result(after.browse("first", 1, 10)).stream().map(Message::payloadAsString).toList());
    assertEquals(2L, result(after.createPublisher("first", "p").publish(Message.text("t", "after"))));
    result(after.shutdown());
  }

  @Test
  void aConsumerDeletionInAFailedWriteIsWrittenWithTheNextOne() {
    String registry = registry();
    Spool spool = engine(registry, 1000);
    result(spool.createQueue("churn", DURABLE));
    result(spool.createConsumer("churn", ConsumerSettings.named("x")).ready());
    PersistenceTestKit.create(testKit.system()).failNextPersisted(queuePersistenceId(registry, "churn"));
    // Answered once a later write stored it. The failure may instead meet the consumer's own position
    // write, still under way after ready(); the deletion is then refused (JournalUnavailable) until
    // the journal writes again, and asked again.
    await().atMost(Duration.ofSeconds(20)).ignoreExceptions()
        .until(() -> result(spool.deleteConsumer("churn", "x"), 10) != null);
    // Refused (JournalUnavailable) until the journal writes again, then created.
    await().atMost(Duration.ofSeconds(10)).ignoreExceptions()
        .until(() -> result(spool.createConsumer("churn", ConsumerSettings.named("y")).ready()) != null);
    Spool after = restart(spool, registry, 1000);
    assertEquals(List.of("y"), result(after.listConsumers("churn")).stream().map(ConsumerInfo::name).toList());
    result(after.shutdown());
  }

  @Test
  void aRetryAfterARestartIsDeduplicatedEvenOnceTheOriginalWasFreed() {
    String registry = registry();
    Spool spool = engine(registry, 1000);
    result(spool.createQueue("orders-dedup", DURABLE));
    QueueConsumer c = spool.createConsumer("orders-dedup", ConsumerSettings.named("c").ackMode(AckMode.NONE));
    result(c.ready());
    UUID chosen = UUID.randomUUID();
    QueuePublisher publisher = spool.createPublisher("orders-dedup", "p");
    assertEquals(1L, result(publisher.publish(Message.text("t", "order").withId(chosen))));
    List<Message> filler = new ArrayList<>();
    for (int i = 0; i < 1100; i++) {
      filler.add(Message.text("t", "f" + i));
    }
    result(publisher.publishAll(filler));
    int read = 0;
    while (read < 1101) { // at most once: reading settles
      read += result(c.readBatch(1000, Duration.ofSeconds(1))).size();
    }
    await().atMost(Duration.ofSeconds(5)).until(() -> {
      result(spool.collectGarbage());
      return result(spool.queueInfo("orders-dedup")).stats().firstSequence() > 1;
    });
    Spool after = restart(spool, registry, 1000);
    assertEquals(1L, result(after.createPublisher("orders-dedup", "p").publish(Message.text("t", "retry").withId(chosen))),
        "the retried id answers with the original sequence");
    assertEquals(1101, result(after.queueInfo("orders-dedup")).stats().lastSequence(), "nothing appended again");
    result(after.shutdown());
  }

  @Test
  void seekAndPauseAreDurable() {
    String registry = registry();
    Spool spool = engine(registry, 1000);
    result(spool.createQueue("replay", DURABLE.withRetention(Duration.ofHours(1))));
    QueuePublisher publisher = spool.createPublisher("replay", "p");
    for (int i = 1; i <= 20; i++) {
      result(publisher.publish(Message.text("t", "m" + i)));
    }
    QueueConsumer c = spool.createConsumer("replay", ConsumerSettings.named("c"));
    List<Delivery> got = result(c.readBatch(20, Duration.ofSeconds(1)));
    result(c.acknowledgeBatch(got));
    result(c.seek(dev.spool.StartPosition.sequence(5)));
    result(c.pause());
    Spool after = restart(spool, registry, 1000);
    ConsumerInfo info = result(after.consumerInfo("replay", "c"));
    assertTrue(info.paused(), "still paused after the restart");
    assertEquals(5, info.cursor(), "the seek back survived the restart");
    QueueConsumer resumed = after.consumer("replay", "c");
    result(resumed.resume());
    assertEquals(5L, result(resumed.readBatch(1, Duration.ofSeconds(2))).get(0).sequence());
    result(after.shutdown());
  }

  @Test
  void afterARestartTracesSayWhichEventsWereNotKeptRatherThanGuess() {
    String registry = registry();
    Spool spool = engine(registry, 1000);
    result(spool.createQueue("traced", DURABLE.withRetention(Duration.ofHours(1))));
    byte[] kib = new byte[1024];
    List<Message> batch = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      batch.add(Message.of("t", kib));
    }
    result(spool.createPublisher("traced", "p").publishAll(batch));
    QueueConsumer a = spool.createConsumer("traced", ConsumerSettings.named("a").prefetch(10));
    List<Delivery> got = result(a.readBatch(10, Duration.ofSeconds(1)));
    assertEquals(10, got.size());
    result(a.acknowledgeBatch(got.subList(0, 5))); // 6..10 stay in flight across the restart
    result(spool.createConsumer("traced", ConsumerSettings.named("late").startAt(dev.spool.StartPosition.latest()))
        .ready());

    Spool after = restart(spool, registry, 1000);
    java.util.function.BiFunction<Long, String, List<String>> events = (seq, consumer) ->
        result(after.messageTrace("traced", seq)).entries().stream().filter(e -> consumer.equals(e.consumer()))
            .map(e -> e.event() + (e.attempt() > 0 ? "#" + e.attempt() : "")).toList();
    assertEquals(List.of("events-dropped", "settled"), events.apply(3L, "a"), "acked before the restart: not kept");
    assertEquals(List.of("before-start"), events.apply(3L, "late"));
    assertEquals(List.of("pending"), events.apply(15L, "a"));
    QueueConsumer again = after.consumer("traced", "a");
    List<Delivery> redelivered = result(again.readBatch(5, Duration.ofSeconds(2)));
    assertEquals(6L, redelivered.get(0).sequence());
    result(again.acknowledgeBatch(redelivered));
    assertEquals(List.of("events-dropped", "delivered#2", "acked"), events.apply(7L, "a"));
    result(after.shutdown());
  }

  @Test
  void aPurgeIsJournaledBeforeItIsAnsweredAndStaysDoneAfterARestart() {
    String registry = registry();
    Spool spool = engine(registry, 1000);
    result(spool.createQueue("purged", DURABLE));
    QueuePublisher publisher = spool.createPublisher("purged", "p");
    for (int i = 0; i < 5; i++) {
      result(publisher.publishAll(java.util.stream.IntStream.range(0, 100)
          .mapToObj(n -> Message.of("t", new byte[1024])).toList()));
    }
    QueueConsumer c = spool.createConsumer("purged", ConsumerSettings.named("c").ackMode(AckMode.EXPLICIT));
    List<Delivery> got = result(c.readBatch(100, Duration.ofSeconds(1)));
    result(c.acknowledgeBatch(got.subList(0, 50)));

    long retained = result(spool.queueStats("purged")).depth();
    assertEquals(retained, result(spool.purge("purged")), "every message still retained, acknowledged or not");
    assertEquals(0, result(spool.queueStats("purged")).depth());
    ConsumerInfo info = result(c.info());
    assertEquals(0, info.lag(), "nothing is left for it");
    assertEquals(450, info.counters().dropped(), "what it had not acknowledged counts as dropped for it");
    result(publisher.publish(Message.text("t", "after")));

    Spool after = restart(spool, registry, 1000);
    assertEquals(1, result(after.queueStats("purged")).depth(), "the purged messages do not come back");
    List<Delivery> next = result(after.consumer("purged", "c").readBatch(10, Duration.ofSeconds(2)));
    assertEquals(List.of("after"), next.stream().map(d -> d.message().payloadAsString()).toList());
    result(after.shutdown());
  }

  @Test
  void deletionsAndTrimsAreJournaledAndStayDoneAfterRestartsWithLagExact() {
    String registry = registry();
    Spool spool = engine(registry, 3);
    result(spool.createQueue("trimmed", DURABLE));
    QueueConsumer c = spool.createConsumer("trimmed", ConsumerSettings.named("c"));
    QueueConsumer idle = spool.createConsumer("trimmed", ConsumerSettings.named("idle"));
    result(c.ready());
    result(idle.ready());
    result(spool.createPublisher("trimmed", "p").publishAll(java.util.stream.IntStream.range(0, 20)
        .mapToObj(n -> Message.of("t", new byte[1024])).toList()));

    assertEquals(2, result(spool.trim("trimmed", 18)));
    assertEquals(3, result(spool.deleteMessages("trimmed", List.of(4L, 10L, 15L, 99L))));
    List<Delivery> got = result(c.readBatch(5));
    assertEquals(List.of(3L, 5L, 6L, 7L, 8L), got.stream().map(Delivery::sequence).toList());
    result(c.acknowledgeBatch(got.subList(0, 2)));
    assertEquals(13, result(c.info()).lag(), "6..20 less 10 and 15");
    assertEquals(15, result(idle.info()).lag());
    assertEquals(15, result(spool.queueStats("trimmed")).depth());

    Spool after = restart(spool, registry, 3);
    List<Long> left = List.of(3L, 5L, 6L, 7L, 8L, 9L, 11L, 12L, 13L, 14L, 16L, 17L, 18L, 19L, 20L);
    assertEquals(left, result(after.browse("trimmed", 1, 100)).stream().map(Message::sequence).toList(),
        "what was deleted or trimmed does not come back");
    assertEquals(15, result(after.queueStats("trimmed")).depth());
    assertEquals(13, result(after.consumerLag("trimmed", "c")));
    assertEquals(15, result(after.consumerLag("trimmed", "idle")));

    assertEquals(3, result(after.trimBelow("trimmed", 7)), "3, 5 and 6, which c held in flight before the restart");
    Spool third = restart(after, registry, 3);
    assertEquals(12, result(third.queueStats("trimmed")).depth());
    assertEquals(12, result(third.consumerLag("trimmed", "c")));
    assertEquals(12, result(third.consumerLag("trimmed", "idle")));
    List<Delivery> redelivered = result(third.consumer("trimmed", "c").readBatch(100, Duration.ofSeconds(1)));
    assertEquals(left.subList(3, left.size()), redelivered.stream().map(Delivery::sequence).toList(),
        "7 and 8 again (in flight before the first restart), then the rest; nothing trimmed or deleted");
    result(third.shutdown());
  }

  @Test
  void snapshotsBoundRecoveryAndOldEventsAreDeleted() {
    String registry = registry();
    int snapshotEvery = 5;
    Spool spool = engine(registry, snapshotEvery);
    result(spool.createQueue("long", DURABLE));
    QueuePublisher publisher = spool.createPublisher("long", "p");
    QueueConsumer c = spool.createConsumer("long", ConsumerSettings.named("c").ackMode(AckMode.EXPLICIT));
    result(c.ready());
    for (int i = 1; i <= 200; i++) {
      result(publisher.publish(Message.text("t", "m" + i)));
      if (i % 10 == 0) {
        List<Delivery> got = result(c.readBatch(10, Duration.ofSeconds(1)));
        // leave every 10th unacknowledged: it must come back after the restart
        result(c.acknowledgeSequences(got.stream().map(Delivery::sequence).filter(s -> s % 10 != 0).toList()));
      }
    }
    String pid = queuePersistenceId(registry, "long");
    // A snapshot follows a write on the journal's own thread: on a loaded machine, seconds later.
    await().atMost(Duration.ofSeconds(20)).until(() ->
        !SnapshotTestKit.create(testKit.system()).persistedInStorage(pid).isEmpty());
    int events = PersistenceTestKit.create(testKit.system()).persistedInStorage(pid).size();
    assertTrue(events < 200, "events before the older snapshot are deleted: " + events + " left");

    Spool after = restart(spool, registry, snapshotEvery);
    ConsumerInfo info = result(after.consumerInfo("long", "c"));
    assertEquals(9, info.committed());
    assertEquals(200, result(after.queueInfo("long")).stats().lastSequence());
    QueueConsumer resumed = after.createConsumer("long", ConsumerSettings.named("c"));
    List<Long> again = new ArrayList<>();
    while (again.size() < 20) {
      List<Delivery> got = result(resumed.readBatch(20, Duration.ofSeconds(1)));
      assertFalse(got.isEmpty());
      got.forEach(d -> again.add(d.sequence()));
      result(resumed.acknowledgeSequences(got.stream().map(Delivery::sequence).toList()));
    }
    List<Long> expected = new ArrayList<>();
    for (long s = 10; s <= 200; s += 10) {
      expected.add(s);
    }
    assertEquals(expected, again, "exactly the unacknowledged ones come again");
    assertEquals(201L, result(after.createPublisher("long", "p").publish(Message.text("t", "next"))));
    result(after.shutdown());
  }

  @Test
  void shutdownWritesWhatWasGatheredAndAnswersEveryPublish() throws Exception {
    String registry = registry();
    Spool spool = engine(registry, 1000);
    result(spool.createQueue("closing", DURABLE));
    QueuePublisher publisher = spool.createPublisher("closing", "p");
    List<CompletableFuture<Long>> sent = new ArrayList<>();
    for (int i = 0; i < 3000; i++) {
      sent.add(publisher.publish(Message.text("t", "m" + i)).toCompletableFuture());
    }
    Spool after = restart(spool, registry, 1000);
    Set<Long> confirmed = new HashSet<>();
    for (CompletableFuture<Long> f : sent) {
      try {
        confirmed.add(f.get(1, java.util.concurrent.TimeUnit.SECONDS));
      } catch (java.util.concurrent.ExecutionException e) {
        assertEquals(Code.ShuttingDown, ((SpoolException) e.getCause()).code(), "refused, not dropped: " + e);
      }
    }
    assertFalse(confirmed.isEmpty());
    Set<Long> kept = new HashSet<>();
    result(after.browse("closing", 1, 10_000)).forEach(m -> kept.add(m.sequence()));
    assertTrue(kept.containsAll(confirmed), "every confirmed publish was written before the stop");
    result(after.shutdown());
  }

  private static final long MIB = 1 << 20;

  /** {@code count} messages of 64 KiB. */
  private static List<Message> large(int count) {
    List<Message> batch = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      byte[] payload = new byte[64 * 1024];
      java.util.Arrays.fill(payload, (byte) ('a' + i % 26));
      batch.add(Message.of("t", payload));
    }
    return batch;
  }

  private Spool engineWithThreshold(long threshold) {
    SpoolSettings base = SpoolSettings.create(testKit.system()).withMemoryThresholdBytes(threshold);
    return Spool.create(testKit.system(), base.withPersistence(base.persistence().withRegistry(registry())));
  }

  @Test
  void aDurablePublishReservesItsJournalWriteUnderTheMemoryThreshold() {
    Spool spool = engineWithThreshold(8 * MIB);
    result(spool.createQueue("big", DURABLE));
    result(spool.createQueue("light", QueueSettings.defaults()));
    QueuePublisher durable = spool.createPublisher("big", "p");
    // 80 × 64 KiB: 5 MiB retained and as much again for its journal write's serialized form
    SpoolException full = failure(durable.publishAll(large(80)), Code.QueueFull);
    assertTrue(full.getMessage().contains("memory threshold"), full.getMessage());
    assertEquals(0, result(spool.memoryStats()).totalBytes(), "nothing of the refused publish is kept");
    assertEquals(40, result(durable.publishAll(large(40))).size(), "2.5 MiB, 5 MiB while it is written, fits");
    // Once written, the durable queue holds its messages only: a transient queue takes the rest.
    assertEquals(80, result(spool.createPublisher("light", "p").publishAll(large(80))).size());
    assertTrue(result(spool.memoryStats()).totalBytes() <= 8 * MIB);
    result(spool.shutdown());
  }

  @Test
  void concurrentLargeBatchesOnADurableQueueAreRefusedBeforeTheThresholdAndLoseNothing() {
    long threshold = 24 * MIB;
    org.apache.pekko.actor.testkit.typed.javadsl.TestProbe<dev.spool.SpoolEvent> events =
        dev.spool.Events.probe(testKit);
    Spool spool = engineWithThreshold(threshold);
    result(spool.createQueue("mem", DURABLE));
    List<Message> batch = large(16); // 1 MiB, as 6 HTTP clients publishing batches of 64 KiB messages
    Set<Long> confirmed = ConcurrentHashMap.newKeySet();
    AtomicInteger refused = new AtomicInteger();
    List<CompletableFuture<Void>> producers = new ArrayList<>();
    for (int p = 0; p < 6; p++) {
      QueuePublisher publisher = spool.createPublisher("mem", "p" + p);
      producers.add(CompletableFuture.runAsync(() -> {
        int mine = 0;
        while (mine < 5) { // until this producer was refused five times: the queue stays full, nothing consumes
          List<CompletableFuture<List<Long>>> window = List.of(publisher.publishAll(batch).toCompletableFuture(),
              publisher.publishAll(batch).toCompletableFuture());
          for (CompletableFuture<List<Long>> f : window) {
            try {
              confirmed.addAll(f.get(10, java.util.concurrent.TimeUnit.SECONDS));
            } catch (java.util.concurrent.ExecutionException e) {
              assertEquals(Code.QueueFull, ((SpoolException) e.getCause()).code(), e.getCause().getMessage());
              refused.incrementAndGet();
              mine++;
            } catch (Exception e) {
              throw new IllegalStateException(e);
            }
          }
        }
      }));
    }
    producers.forEach(f -> result(f, 60));

    List<dev.spool.SpoolEvent.MemoryLow> lows = dev.spool.Events.next(events,
        dev.spool.SpoolEvent.MemoryLow.class, e -> e.thresholdBytes() == threshold, 1);
    lows.forEach(low -> assertTrue(low.usedBytes() <= threshold, "pressure began with " + low.usedBytes()
        + " bytes counted (retained and held for journal writes), past the threshold of " + threshold));
    assertTrue(refused.get() >= 30);
    assertEquals(confirmed.size(), result(spool.queueInfo("mem")).stats().depth(), "every confirmed message is kept");
    assertTrue(confirmed.size() * 64L * 1024 > threshold / 3, "the queue filled: " + confirmed.size() + " messages");
    assertTrue(result(spool.memoryStats()).totalBytes() <= threshold);
    result(spool.shutdown());
  }

  @Test
  void durableQueuesAreRefusedWithoutAJournal() {
    SpoolSettings base = SpoolSettings.create(testKit.system());
    Spool spool = Spool.create(testKit.system(), base.withPersistence(base.persistence().withPlugins("", "")));
    SpoolException e = failure(spool.createQueue("nope", DURABLE), Code.InvalidConfiguration);
    assertTrue(e.getMessage().contains("spool.persistence.journal-plugin"), e.getMessage());
    result(spool.shutdown());
  }
}
