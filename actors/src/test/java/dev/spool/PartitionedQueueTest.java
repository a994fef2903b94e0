package dev.spool;

import static dev.spool.Await.failure;
import static dev.spool.Await.result;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.SpoolException.Code;
import dev.spool.queue.Partitions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Partitioned queues on one node: keyed messages keep their order per key through pull reads and
 * streams, from many producers at once; figures add up and each partition's are there; a retried
 * publish deduplicates; bad settings and names are refused.
 */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class PartitionedQueueTest {

  @JUnit5TestKit
  ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  private static final byte[] KIB = new byte[1024];

  private Spool spool() {
    return Spool.create(testKit.system());
  }

  private static Message keyed(String key, int n) {
    return Message.of("order", KIB).withKey(key).withHeader("n", Integer.toString(n));
  }

  @Test
  void keyedMessagesFromManyProducersKeepTheirOrderPerKeyAcrossPartitions() throws Exception {
    Spool spool = spool();
    QueueInfo created = result(spool.createQueue("orders", QueueSettings.defaults().withPartitions(4)));
    assertEquals(4, created.settings().partitions());
    QueueConsumer consumer = spool.createConsumer("orders", ConsumerSettings.named("billing").prefetch(200));
    result(consumer.ready());

    int producers = 4;
    int keysPerProducer = 5;
    int perKey = 40;
    List<CompletableFuture<Void>> running = new ArrayList<>();
    for (int w = 0; w < producers; w++) {
      int producer = w;
      running.add(CompletableFuture.runAsync(() -> {
        QueuePublisher publisher = spool.createPublisher("orders", "p" + producer);
        for (int n = 0; n < perKey; n++) {
          List<Message> batch = new ArrayList<>();
          for (int k = 0; k < keysPerProducer; k++) {
            batch.add(keyed("k" + producer + "-" + k, n));
          }
          result(publisher.publishAll(batch));
        }
      }));
    }
    CompletableFuture.allOf(running.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
    int total = producers * keysPerProducer * perKey;

    Map<String, Integer> lastPerKey = new HashMap<>();
    Set<Integer> partitionsSeen = new HashSet<>();
    Set<Long> sequences = new HashSet<>();
    Partitions partitions = new Partitions("orders", 4);
    int read = 0;
    while (read < total) {
      List<Delivery> batch = result(consumer.readBatch(64, Duration.ofSeconds(2)));
      assertFalse(batch.isEmpty(), "messages remain after " + read);
      assertTrue(batch.size() <= 64, "a read never returns more than it was asked for");
      for (Delivery d : batch) {
        String key = d.message().key().orElseThrow();
        int n = Integer.parseInt(d.message().headers().get("n"));
        assertEquals(lastPerKey.getOrDefault(key, -1) + 1, n, "order of key " + key);
        lastPerKey.put(key, n);
        assertTrue(sequences.add(d.sequence()), "sequences are unique in the queue");
        partitionsSeen.add(partitions.partitionOfSequence(d.sequence()));
      }
      assertEquals(batch.size(), result(consumer.acknowledgeBatch(batch)));
      read += batch.size();
    }
    assertEquals(4, partitionsSeen.size(), "20 keys spread over every partition");
    assertTrue(result(consumer.readBatch(10)).isEmpty());

    QueueInfo info = result(spool.queueInfo("orders"));
    assertEquals(total, info.stats().published());
    assertEquals(total, info.stats().acked());
    ConsumerInfo billing = result(consumer.info());
    assertEquals(0, billing.lag());
    assertEquals(total, billing.counters().acked());
    long perPartition = 0;
    for (int p = 0; p < 4; p++) {
      QueueInfo one = result(spool.queueInfo("orders#" + p));
      assertEquals(1, one.settings().partitions());
      assertTrue(one.stats().published() > 0, "partition " + p + " has its own figures");
      perPartition += one.stats().published();
    }
    assertEquals(total, perPartition);
    List<QueueInfo> listed = result(spool.listQueues());
    assertTrue(listed.stream().anyMatch(q -> q.name().equals("orders")));
    assertTrue(listed.stream().noneMatch(q -> q.name().startsWith("orders#")), "partitions are listed as their queue");
  }

  @Test
  void aStreamMergesThePartitionsAndAcknowledgesThroughTheQueue() {
    Spool spool = spool();
    result(spool.createQueue("events", QueueSettings.defaults().withPartitions(3)));
    QueueConsumer consumer = spool.createConsumer("events", ConsumerSettings.named("s").prefetch(50));
    result(consumer.ready());
    List<Message> messages = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      messages.add(keyed("key-" + (i % 7), i / 7));
    }
    List<Long> published = result(spool.createPublisher("events", "p").publishAll(messages));
    assertEquals(300, new HashSet<>(published).size());

    Map<String, Integer> last = new ConcurrentHashMap<>();
    AtomicInteger outOfOrder = new AtomicInteger();
    List<Long> got = Collections.synchronizedList(new ArrayList<>());
    consumer.source().take(300).mapAsync(4, d -> {
      String key = d.message().key().orElseThrow();
      int n = Integer.parseInt(d.message().headers().get("n"));
      Integer before = last.put(key, n);
      if (before != null && before + 1 != n) {
        outOfOrder.incrementAndGet();
      }
      got.add(d.sequence());
      return consumer.acknowledge(d);
    }).runWith(Sink.ignore(), testKit.system()).toCompletableFuture().join();
    assertEquals(0, outOfOrder.get());
    assertEquals(new HashSet<>(published), new HashSet<>(got), "the stream delivers the sequences publish returned");
    ConsumerInfo info = result(consumer.info());
    assertEquals(300, info.counters().acked());
    assertEquals(0, info.lag());
  }

  @Test
  void aRetriedPublishWithTheSameIdsAppendsNothingTwice() {
    Spool spool = spool();
    result(spool.createQueue("payments", QueueSettings.defaults().withPartitions(5)));
    List<Message> batch = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      batch.add(Message.of("payment", KIB).withId(UUID.randomUUID()));
    }
    QueuePublisher publisher = spool.createPublisher("payments", "shop");
    List<Long> first = result(publisher.publishAll(batch));
    List<Long> again = result(publisher.publishAll(batch));
    assertEquals(first, again, "each id keeps its sequence");
    QueueInfo info = result(spool.queueInfo("payments"));
    assertEquals(50, info.stats().depth());
    assertEquals(50, info.stats().duplicates());

    List<Message> browsed = result(spool.browse("payments", 0, 100));
    assertEquals(first.stream().sorted().toList(), browsed.stream().map(Message::sequence).toList(),
        "a browse lists the queue in its numbering");
    Map<Long, UUID> ids = new HashMap<>();
    for (int i = 0; i < 50; i++) {
      ids.put(first.get(i), batch.get(i).id());
    }
    browsed.forEach(m -> assertEquals(ids.get(m.sequence()), m.id(), "ids are kept"));
    List<Message> page = result(spool.browse("payments", browsed.get(20).sequence(), 10));
    assertEquals(browsed.subList(20, 30).stream().map(Message::sequence).toList(),
        page.stream().map(Message::sequence).toList(), "browsing pages on from any sequence");
  }

  @Test
  void aBatchWithoutKeysOrIdsGoesToOnePartitionAndTheBatchesTakeTurns() {
    Spool spool = spool();
    result(spool.createQueue("jobs", QueueSettings.defaults().withPartitions(3)));
    Partitions partitions = new Partitions("jobs", 3);
    Set<Integer> used = new HashSet<>();
    for (int batch = 0; batch < 6; batch++) {
      List<Long> sequences = result(spool.createPublisher("jobs", "p").publishAll(
          java.util.stream.IntStream.range(0, 5).mapToObj(i -> Message.of("job", KIB)).toList()));
      Set<Integer> inBatch = new HashSet<>(sequences.stream().map(partitions::partitionOfSequence).toList());
      assertEquals(1, inBatch.size(), "one batch, one partition: " + sequences);
      used.addAll(inBatch);
    }
    assertEquals(Set.of(0, 1, 2), used, "the batches take turns");
    List<Message> all = result(spool.browse("jobs", 0, 100));
    assertEquals(30, new HashSet<>(all.stream().map(Message::id).toList()).size(), "no two messages share an id");
  }

  @Test
  void aLongPollOnAPartitionedQueueReturnsWhenAMessageArrives() throws Exception {
    Spool spool = spool();
    result(spool.createQueue("waits", QueueSettings.defaults().withPartitions(4)));
    QueueConsumer consumer = spool.createConsumer("waits", ConsumerSettings.named("w"));
    result(consumer.ready());
    long start = System.nanoTime();
    CompletableFuture<List<Delivery>> waiting = consumer.readBatch(10, Duration.ofSeconds(10)).toCompletableFuture();
    Thread.sleep(300);
    assertFalse(waiting.isDone(), "the read waits while nothing is there");
    result(spool.createPublisher("waits", "p").publish(keyed("late", 0)));
    List<Delivery> got = waiting.get(5, TimeUnit.SECONDS);
    assertEquals(1, got.size());
    assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(5), "it answered when the message came");
    assertTrue(result(consumer.readBatch(10, Duration.ofMillis(200))).isEmpty(), "an empty wait ends empty");
  }

  @Test
  void nackedMessagesAreDeadLetteredFromTheirPartitionAndAckUpToWorksPerPartition() {
    Spool spool = spool();
    result(spool.createQueue("work", QueueSettings.defaults().withPartitions(2).withDeadLetter("work-dlq", 1)));
    QueueConsumer consumer = spool.createConsumer("work", ConsumerSettings.named("c"));
    result(consumer.ready());
    result(spool.createPublisher("work", "p").publishAll(List.of(keyed("a", 0), keyed("a", 1), keyed("b", 0))));
    List<Delivery> batch = result(consumer.readBatch(10, Duration.ofSeconds(2)));
    assertEquals(3, batch.size());
    Delivery dead = batch.stream().filter(d -> d.message().key().orElseThrow().equals("b")).findFirst().orElseThrow();
    assertEquals(1, result(consumer.nack(List.of(dead.sequence()), false)));
    List<Delivery> a = batch.stream().filter(d -> d.message().key().orElseThrow().equals("a")).toList();
    assertEquals(2, result(consumer.acknowledgeUpTo(a.get(1).sequence())), "acked up to it in its partition");
    QueueConsumer dlq = spool.createConsumer("work-dlq", ConsumerSettings.named("d"));
    List<Delivery> lettered = result(dlq.readBatch(10, Duration.ofSeconds(5)));
    assertEquals(1, lettered.size());
    assertEquals("b", lettered.get(0).message().key().orElseThrow());
    assertEquals(1L, result(spool.redrive("work-dlq")), "a redrive returns it to its partition");
    List<Delivery> back = result(consumer.readBatch(10, Duration.ofSeconds(5)));
    assertEquals(1, back.size());
    assertEquals("b", back.get(0).message().key().orElseThrow());
    assertEquals(new Partitions("work", 2).partitionOfSequence(dead.sequence()),
        new Partitions("work", 2).partitionOfSequence(back.get(0).sequence()), "the key's partition");
    AckResult twice = result(consumer.acknowledgeSequences(List.of(a.get(0).sequence(), 1_000_000L)));
    assertEquals(0, twice.acked());
    assertEquals(List.of(a.get(0).sequence()), twice.alreadyAcked());
    assertEquals(List.of(1_000_000L), twice.unknown());
  }

  @Test
  void badPartitionSettingsAndPartitionNamesAreRefusedAndChangeNothing() {
    Spool spool = spool();
    assertEquals(Code.InvalidConfiguration, assertThrowsSpool(() -> QueueSettings.defaults().withPartitions(0)));
    assertEquals(Code.InvalidConfiguration, assertThrowsSpool(() -> QueueSettings.defaults().withPartitions(257)));
    failure(spool.createQueue("bad#1", QueueSettings.defaults()), Code.InvalidName);
    result(spool.createQueue("split", QueueSettings.defaults().withPartitions(2)));
    failure(spool.createQueue("split", QueueSettings.defaults().withPartitions(3)), Code.QueueAlreadyExists);
    failure(spool.deleteQueue("split#1"), Code.InvalidConfiguration);
    assertEquals(2, result(spool.queueInfo("split")).settings().partitions());
    result(spool.deleteQueue("split"));
    failure(spool.queueInfo("split"), Code.QueueNotFound);
    failure(spool.queueInfo("split#0"), Code.QueueNotFound);
    assertEquals(Set.of(), Set.copyOf(result(spool.listQueues()).stream().map(QueueInfo::name)
        .filter(n -> n.startsWith("split")).toList()));
    result(spool.createQueue("small", QueueSettings.defaults().withPartitions(4).withMaxBytes(3000)));
    List<Message> batch = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      batch.add(Message.of("t", new byte[100]).withKey("a" + i));
    }
    batch.add(Message.of("t", new byte[4000]).withKey("big"));
    SpoolException tooLarge = failure(spool.createPublisher("small", "p").publishAll(batch), Code.MessageTooLarge);
    assertTrue(tooLarge.getMessage().startsWith("message 6 of 6"), tooLarge.getMessage());
    assertEquals(0, result(spool.queueInfo("small")).stats().published(), "bad input changes nothing");
    QueueSettings bounded = QueueSettings.defaults().withPartitions(4).withMaxLength(10).withMaxBytes(4097);
    assertEquals(10, bounded.partitionSettings().maxLength(), "the bounds bound each partition");
    assertEquals(4097, bounded.partitionSettings().maxBytes());
    assertEquals(1, bounded.partitionSettings().partitions());
    assertNotEquals(bounded, bounded.partitionSettings());
  }

  @Test
  void aHandlerSubscriptionSeesEveryPartitionNumberedAsTheQueue() throws Exception {
    Spool spool = spool();
    result(spool.createQueue("handled", QueueSettings.defaults().withPartitions(3)));
    QueueConsumer consumer = spool.createConsumer("handled", ConsumerSettings.named("h"));
    result(consumer.ready());
    List<Long> published = result(spool.createPublisher("handled", "p").publishAll(
        java.util.stream.IntStream.range(0, 60).mapToObj(i -> keyed("k" + (i % 6), i / 6)).toList()));
    Set<Long> handled = ConcurrentHashMap.newKeySet();
    CountDownLatch all = new CountDownLatch(60);
    Subscription subscription = consumer.subscribe(d -> {
      if (handled.add(d.sequence())) {
        all.countDown();
      }
      return CompletableFuture.completedFuture(Done.getInstance());
    }, 2);
    result(subscription.ready());
    assertTrue(all.await(20, TimeUnit.SECONDS));
    assertEquals(new HashSet<>(published), handled);
    result(subscription.cancel());
  }

  @Test
  void aReadThatArrivesAfterItsDeadlineDeliversNothing() {
    Spool spool = spool();
    result(spool.createQueue("late", QueueSettings.defaults()));
    QueueConsumer consumer = spool.createConsumer("late", ConsumerSettings.named("c"));
    result(consumer.ready());
    result(spool.createPublisher("late", "p").publish(keyed("a", 0)));
    failure(spool.<List<Delivery>>askConsumer("late", "c", r -> new dev.spool.actor.ConsumerActor.Read(10,
        Duration.ZERO, System.currentTimeMillis() - 1_000, r), Duration.ofSeconds(5)), Code.Timeout);
    List<Delivery> got = result(consumer.readBatch(10, Duration.ofSeconds(2)));
    assertEquals(1, got.size());
    assertEquals(1, got.get(0).attempt(), "the late read delivered nothing: the message is delivered for the first time");
    assertEquals(1, result(consumer.info()).counters().delivered());
  }

  @Test
  void everyConsumerGetsEveryMessageAndExpiryWorksInEachPartition() {
    Spool spool = spool();
    result(spool.createQueue("fanout", QueueSettings.defaults().withPartitions(4)));
    QueueConsumer one = spool.createConsumer("fanout", ConsumerSettings.named("one").prefetch(500));
    QueueConsumer two = spool.createConsumer("fanout", ConsumerSettings.named("two").prefetch(500));
    result(one.ready());
    result(two.ready());
    List<Long> published = result(spool.createPublisher("fanout", "p").publishAll(
        java.util.stream.IntStream.range(0, 200).mapToObj(i -> keyed("k" + (i % 13), i / 13)).toList()));
    for (QueueConsumer c : List.of(one, two)) {
      Set<Long> got = new HashSet<>();
      while (got.size() < 200) {
        List<Delivery> batch = result(c.readBatch(100, Duration.ofSeconds(2)));
        assertFalse(batch.isEmpty());
        batch.forEach(d -> got.add(d.sequence()));
        result(c.acknowledgeBatch(batch));
      }
      assertEquals(new HashSet<>(published), got, c.name() + " gets every message");
    }

    List<Message> expiring = java.util.stream.IntStream.range(0, 40)
        .mapToObj(i -> keyed("e" + i, 0).withTtl(Duration.ofMillis(200))).toList();
    result(spool.createPublisher("fanout", "p").publishAll(expiring));
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(15)).untilAsserted(() ->
        assertEquals(40, result(spool.queueInfo("fanout")).stats().expired(), "expired in every partition"));
    assertEquals(40, result(one.info()).counters().expired());
    assertTrue(result(one.readBatch(10)).isEmpty(), "nothing expired is delivered");
  }

  @Test
  void aStaleConsumerIsJudgedOnItsSummedLagAndRemovedFromEveryPartitionOrNone() throws Exception {
    Spool spool = spool();
    result(spool.createQueue("stale", QueueSettings.defaults().withPartitions(3)));
    QueueConsumer consumer = spool.createConsumer("stale", ConsumerSettings.named("c"));
    result(consumer.ready());
    // 30 messages over uneven partitions: each partition's lag is under 25, the sum is not.
    result(spool.createPublisher("stale", "p").publishAll(
        java.util.stream.IntStream.range(0, 30).mapToObj(i -> keyed("k" + i, 0)).toList()));
    Thread.sleep(50);
    List<StaleConsumer> stale = result(spool.detectStaleConsumers(Duration.ZERO)).stream()
        .filter(c -> c.queue().startsWith("stale")).toList();
    assertEquals(1, stale.size(), "listed once, as the queue's: " + stale);
    assertEquals("stale", stale.get(0).queue());
    assertEquals(30, stale.get(0).lag());
    LagStats lag = result(spool.lagStatistics());
    assertTrue(lag.consumers().stream().anyMatch(c -> c.queue().equals("stale") && c.lag() == 30), lag.toString());
    assertTrue(lag.consumers().stream().noneMatch(c -> c.queue().startsWith("stale#")), lag.toString());
    assertEquals(List.of(), result(spool.cleanupStaleConsumers(30, Duration.ZERO)), "summed lag 30 is not over 30");
    for (int p = 0; p < 3; p++) {
      assertEquals("c", result(spool.consumerInfo("stale#" + p, "c")).name(), "kept in partition " + p);
    }
    List<StaleConsumer> removed = result(spool.cleanupStaleConsumers(25, Duration.ZERO));
    assertEquals(List.of("stale/c/30"), removed.stream().map(s -> s.queue() + "/" + s.consumer() + "/" + s.lag()).toList(),
        "one consumer, removed once, named by its queue with its summed lag");
    failure(spool.consumerInfo("stale", "c"), Code.ConsumerNotFound);
    for (int p = 0; p < 3; p++) {
      failure(spool.consumerInfo("stale#" + p, "c"), Code.ConsumerNotFound);
    }
  }

  @Test
  void aConsumerIdleInEveryPartitionForItsInactiveTimeoutIsRemovedFromAll() {
    Spool spool = spool();
    result(spool.createQueue("idle", QueueSettings.defaults().withPartitions(3)));
    QueueConsumer idle = spool.createConsumer("idle", ConsumerSettings.named("gone").inactiveTimeout(Duration.ofSeconds(1)));
    QueueConsumer busy = spool.createConsumer("idle", ConsumerSettings.named("busy").inactiveTimeout(Duration.ofSeconds(1)));
    result(idle.ready());
    result(busy.ready());
    long until = System.nanoTime() + Duration.ofSeconds(8).toNanos();
    boolean removed = false;
    while (System.nanoTime() < until && !removed) {
      result(busy.readBatch(10, Duration.ofMillis(100))); // an empty queue: every partition sees the read
      removed = result(spool.listConsumers("idle")).stream().noneMatch(c -> c.name().equals("gone"));
    }
    assertTrue(removed, "the idle consumer was removed");
    for (int p = 0; p < 3; p++) {
      failure(spool.consumerInfo("idle#" + p, "gone"), Code.ConsumerNotFound);
      assertEquals("busy", result(spool.consumerInfo("idle#" + p, "busy")).name(), "the busy one stays in " + p);
    }
  }

  @Test
  void aSeekWithinTheQueueMovesEveryPartitionAndOnePastItsEndChangesNothing() {
    Spool spool = spool();
    result(spool.createQueue("seek", QueueSettings.defaults().withPartitions(4)));
    // Created first, so that what it has not acknowledged is retained: a seek can only go where the log still is.
    QueueConsumer consumer = spool.createConsumer("seek", ConsumerSettings.named("c"));
    result(consumer.ready());
    // Partition lengths differ: every message has one key, so one partition holds them all.
    List<Long> sequences = new ArrayList<>(result(spool.createPublisher("seek", "p").publishAll(
        java.util.stream.IntStream.range(0, 40).mapToObj(i -> keyed("hot", i)).toList())));
    Partitions partitions = new Partitions("seek", 4);
    int hot = partitions.partitionOfSequence(sequences.get(0));
    long target = sequences.get(30);
    result(consumer.seek(StartPosition.sequence(target)));
    List<Delivery> got = result(consumer.readBatch(100, Duration.ofSeconds(2)));
    assertEquals(sequences.subList(30, 40), got.stream().map(Delivery::sequence).toList(),
        "from the sequence on, the shorter partitions at their end");
    assertTrue(got.stream().allMatch(d -> partitions.partitionOfSequence(d.sequence()) == hot));

    ConsumerInfo before = result(consumer.info());
    SpoolException past = failure(consumer.seek(StartPosition.sequence(sequences.get(39) + 1_000)), Code.SequenceOutOfRange);
    assertTrue(past.getMessage().contains("queue 'seek'") && past.getMessage().contains(String.valueOf(sequences.get(39))),
        past.getMessage());
    assertEquals(before.cursor(), result(consumer.info()).cursor(), "a refused seek changes nothing");
    failure(spool.declareConsumer("seek", ConsumerSettings.named("late").startAt(
        StartPosition.sequence(sequences.get(39) + 1_000))), Code.SequenceOutOfRange);
    failure(spool.consumerInfo("seek", "late"), Code.ConsumerNotFound);
    QueueConsumer mid = spool.createConsumer("seek", ConsumerSettings.named("mid").startAt(StartPosition.sequence(target)));
    assertEquals(10, result(mid.readBatch(100, Duration.ofSeconds(2))).size());
  }

  @Test
  void aPartitionIsReadOnItsOwnButChangedOnlyThroughItsQueue() {
    Spool spool = spool();
    result(spool.createQueue("whole", QueueSettings.defaults().withPartitions(2)));
    result(spool.createConsumer("whole", ConsumerSettings.named("c")).ready());
    result(spool.createPublisher("whole", "p").publish(keyed("a", 0)));
    SpoolException refused = failure(spool.createPublisher("whole#1", "p").publish(keyed("a", 1)),
        Code.InvalidConfiguration);
    assertTrue(refused.getMessage().contains("through 'whole'"), refused.getMessage());
    failure(spool.createConsumer("whole#0", ConsumerSettings.named("solo")).ready(), Code.InvalidConfiguration);
    failure(spool.consumer("whole#0", "c").readBatch(10), Code.InvalidConfiguration);
    failure(spool.consumer("whole#0", "c").pause(), Code.InvalidConfiguration);
    failure(spool.deleteConsumer("whole#0", "c"), Code.InvalidConfiguration);
    failure(spool.consumer("whole#0", "c").source().runWith(Sink.ignore(), testKit.system()), Code.InvalidConfiguration);
    assertEquals(1, result(spool.queueInfo("whole")).stats().depth(), "nothing changed");
    long inPartitions = result(spool.queueInfo("whole#0")).stats().depth() + result(spool.queueInfo("whole#1")).stats().depth();
    assertEquals(1, inPartitions, "a partition's figures are read on their own");
    assertEquals("c", result(spool.consumerInfo("whole#1", "c")).name());
    SpoolException missing = failure(spool.consumerInfo("whole", "nobody"), Code.ConsumerNotFound);
    assertTrue(missing.getMessage().contains("'whole'") && !missing.getMessage().contains("#"), missing.getMessage());
    SpoolException notRetained = failure(spool.messageTrace("whole", 999), Code.SequenceOutOfRange);
    assertTrue(notRetained.getMessage().contains("sequence 999"), notRetained.getMessage());
    SpoolException partitionName = failure(spool.createQueue("whole#3", QueueSettings.defaults()), Code.InvalidName);
    assertTrue(partitionName.getMessage().contains("partition"), partitionName.getMessage());
  }

  private static Code assertThrowsSpool(Runnable r) {
    try {
      r.run();
    } catch (SpoolException e) {
      return e.code();
    }
    throw new AssertionError("no SpoolException");
  }
}
