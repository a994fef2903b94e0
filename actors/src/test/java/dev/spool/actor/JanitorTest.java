package dev.spool.actor;

import static dev.spool.Await.failure;
import static dev.spool.Await.result;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.AckMode;
import dev.spool.ConsumerInfo;
import dev.spool.ConsumerSettings;
import dev.spool.Delivery;
import dev.spool.ManualClock;
import dev.spool.Message;
import dev.spool.QueueConsumer;
import dev.spool.QueueSettings;
import dev.spool.QueueStats;
import dev.spool.Spool;
import dev.spool.SpoolEvent;
import dev.spool.SpoolException.Code;
import dev.spool.StaleConsumer;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Expiry, garbage collection, rates and stale consumers, driven by the janitor's tick under
 * {@link ManualTime} and a {@link ManualClock}: no test waits for real time to pass.
 */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class JanitorTest {

  @JUnit5TestKit
  ActorTestKit testKit = new JUnit5TestKitBuilder()
      .withCustomConfig(ManualClock.testKitConfig())
      .build();

  private static final AtomicInteger QUEUES = new AtomicInteger();
  private final ManualClock clock = new ManualClock();

  private Spool spool() {
    return clock.spool(testKit.system());
  }

  private void timePasses(Duration d) {
    clock.timePasses(testKit.system(), d);
  }

  private static String queue(Spool spool, QueueSettings settings) {
    String q = "janitor-" + QUEUES.incrementAndGet();
    result(spool.createQueue(q, settings));
    return q;
  }

  private static List<Message> texts(int n) {
    return IntStream.rangeClosed(1, n).mapToObj(i -> Message.text("t", "m" + i)).toList();
  }

  @Test
  void expiryTellsEachConsumerExactlyWhatItHadNotAcknowledged() {
    Spool spool = spool();
    TestProbe<SpoolEvent> events = dev.spool.Events.probe(testKit);
    String q = queue(spool, QueueSettings.defaults().withTtl(Duration.ofSeconds(1)));
    QueueConsumer a = spool.createConsumer(q, ConsumerSettings.named("a").prefetch(1000));
    QueueConsumer b = spool.createConsumer(q, ConsumerSettings.named("b"));
    result(spool.createPublisher(q, "p").publishAll(texts(1000)));
    List<Delivery> read = result(a.readBatch(500));
    assertEquals(500, read.size());
    assertEquals(300, result(a.acknowledgeUpTo(300)));

    timePasses(Duration.ofSeconds(1));

    List<SpoolEvent.MessagesExpired> told = dev.spool.Events.next(events, SpoolEvent.MessagesExpired.class,
        e -> e.queue().equals(q), 2);
    SpoolEvent.MessagesExpired toA = told.stream().filter(e -> e.consumer().equals("a")).findFirst().orElseThrow();
    SpoolEvent.MessagesExpired toB = told.stream().filter(e -> e.consumer().equals("b")).findFirst().orElseThrow();
    assertEquals(List.of(700L, 301L, 1000L), List.of(toA.count(), toA.firstSequence(), toA.lastSequence()));
    assertEquals(List.of(1000L, 1L, 1000L), List.of(toB.count(), toB.firstSequence(), toB.lastSequence()));

    ConsumerInfo infoA = result(a.info());
    ConsumerInfo infoB = result(b.info());
    assertEquals(700, infoA.counters().expired());
    assertEquals(1000, infoB.counters().expired());
    assertEquals(0, infoA.lag());
    assertEquals(0, infoB.lag());
    assertEquals(0, infoA.inFlight(), "the 200 expired deliveries in flight were withdrawn");
    QueueStats stats = result(spool.queueStats(q));
    assertEquals(0, stats.depth());
    assertEquals(0, stats.bytes());
    assertEquals(1000, stats.expired(), "the queue counts each expired message once");

    // Withdrawn, not redelivered: not after the ack timeout either, and a late ack is harmless.
    timePasses(Duration.ofSeconds(31));
    assertEquals(List.of(), result(a.readBatch(100)));
    assertEquals(0, result(a.acknowledgeBatch(read.subList(300, 310))));
    assertEquals(List.of(), result(b.readBatch(100)));
  }

  @Test
  void perMessageTtlAndExpiryTimeExpireOnlyThoseMessages() {
    Spool spool = spool();
    String q = queue(spool, QueueSettings.defaults());
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c").ackMode(AckMode.NONE));
    Instant now = clock.instant();
    result(spool.createPublisher(q, "p").publishAll(List.of(
        Message.text("t", "forever"),
        Message.text("t", "ttl 2s").withTtl(Duration.ofSeconds(2)),
        Message.text("t", "at +5s").withExpiresAt(now.plusSeconds(5)),
        Message.text("t", "ttl 10s").withTtl(Duration.ofSeconds(10)))));
    timePasses(Duration.ofSeconds(3));
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertEquals(3, result(spool.queueStats(q)).depth()));
    timePasses(Duration.ofSeconds(3));
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertEquals(2, result(c.info()).counters().expired()));
    assertEquals(2, result(spool.queueStats(q)).depth());
    List<String> left = result(c.readBatch(10)).stream().map(d -> d.message().payloadAsString()).toList();
    assertEquals(List.of("forever", "ttl 10s"), left);
    QueueConsumer late = spool.createConsumer(q, ConsumerSettings.named("late"));
    timePasses(Duration.ofSeconds(5));
    await().atMost(Duration.ofSeconds(10)).untilAsserted(
        () -> assertEquals(1, result(late.info()).counters().expired(), "late had not read 'ttl 10s'"));
    assertEquals(2, result(c.info()).counters().expired(), "c had already read 'ttl 10s'");
  }

  @Test
  void garbageCollectionReleasesOnlyWhatEveryConsumerCommittedOutsideRetention() {
    Spool spool = spool();
    String q = queue(spool, QueueSettings.defaults().withRetention(Duration.ofMinutes(1)));
    QueueConsumer a = spool.createConsumer(q, ConsumerSettings.named("a").prefetch(10_000));
    QueueConsumer b = spool.createConsumer(q, ConsumerSettings.named("b").prefetch(10_000));
    result(spool.createPublisher(q, "p").publishAll(texts(5000)));
    result(a.readBatch(5000));
    result(b.readBatch(5000));
    result(a.acknowledgeUpTo(4000));
    result(b.acknowledgeUpTo(2100)); // two whole segments of 1024 below b's position, and 52 more
    assertEquals(0L, result(spool.collectGarbage()), "within retention nothing is released");
    QueueStats before = result(spool.queueStats(q));
    assertEquals(5000, before.depth());

    clock.advance(Duration.ofMinutes(2));
    assertEquals(2100L, result(spool.collectGarbage()));
    QueueStats after = result(spool.queueStats(q));
    assertEquals(2900, after.depth());
    assertEquals(before.segments() - 2, after.segments(), "the two segments wholly released are freed");
    assertTrue(after.bytes() < before.bytes());
    assertEquals(2101, after.firstSequence());
    assertEquals(0L, result(spool.collectGarbage()), "nothing above b's committed position is released");
    assertEquals(2900, result(b.info()).lag());
    // What b has not acknowledged is still there for it.
    result(b.seek(dev.spool.StartPosition.sequence(2101)));
    assertEquals(2101, result(b.readBatch(1)).get(0).sequence());
  }

  @Test
  void aQueueWithoutConsumersKeepsItsMessages() {
    Spool spool = spool();
    String q = queue(spool, QueueSettings.defaults());
    result(spool.createPublisher(q, "p").publishAll(texts(3000)));
    timePasses(Duration.ofHours(1));
    assertEquals(0L, result(spool.collectGarbage()));
    assertEquals(3000, result(spool.queueStats(q)).depth());
    QueueConsumer late = spool.createConsumer(q, ConsumerSettings.named("late").prefetch(5000));
    assertEquals(3000, result(late.readBatch(5000)).size());
  }

  @Test
  void ratesAreSampledOnTheTick() {
    Spool spool = spool();
    String q = queue(spool, QueueSettings.defaults());
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c").ackMode(AckMode.NONE).prefetch(1000));
    result(spool.createPublisher(q, "p").publishAll(texts(500)));
    result(c.readBatch(200));
    timePasses(Duration.ofSeconds(1)); // the first sample covers the second since the queue was created
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      QueueStats stats = result(spool.queueStats(q));
      assertEquals(500.0, stats.publishRate(), 0.001);
      assertEquals(200.0, stats.deliverRate(), 0.001);
    });
    timePasses(Duration.ofSeconds(1));
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      QueueStats stats = result(spool.queueStats(q));
      assertEquals(0.0, stats.publishRate(), 0.001, "a quiet second samples zero");
      assertEquals(0.0, stats.deliverRate(), 0.001);
    });
  }

  @Test
  void staleConsumersAreDetectedReportedAndCleanedUpByLag() {
    Spool spool = spool();
    TestProbe<SpoolEvent> events = dev.spool.Events.probe(testKit);
    String q = queue(spool, QueueSettings.defaults());
    result(spool.createPublisher(q, "p").publishAll(texts(10)));
    QueueConsumer laggard = spool.createConsumer(q, ConsumerSettings.named("laggard"));
    QueueConsumer done = spool.createConsumer(q, ConsumerSettings.named("done"));
    QueueConsumer busy = spool.createConsumer(q, ConsumerSettings.named("busy"));
    QueueConsumer streaming = spool.createConsumer(q, ConsumerSettings.named("streaming").ackMode(AckMode.NONE));
    result(done.acknowledgeBatch(result(done.readBatch(10))));
    result(laggard.ready());
    var stream = streaming.source().runWith(Sink.ignore(), testKit.system());
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertEquals(1, result(streaming.info()).subscribers()));

    timePasses(Duration.ofMinutes(6));
    result(busy.readBatch(1));

    List<StaleConsumer> stale = result(spool.detectStaleConsumers(Duration.ofMinutes(5))).stream()
        .filter(s -> s.queue().equals(q)).toList();
    assertEquals(List.of("done", "laggard"), stale.stream().map(StaleConsumer::consumer).sorted().toList());
    assertEquals(10, stale.stream().filter(s -> s.consumer().equals("laggard")).findFirst().orElseThrow().lag());
    SpoolEvent.ConsumerStale reported = dev.spool.Events.next(events, SpoolEvent.ConsumerStale.class,
        e -> e.queue().equals(q) && e.consumer().equals("laggard"));
    assertEquals(10, reported.lag());

    assertEquals(List.of("laggard"), result(spool.cleanupStaleConsumers(5)).stream().map(StaleConsumer::consumer).toList(),
        "only the laggard is both stale and over the lag");
    SpoolEvent.ConsumerRemoved removed = dev.spool.Events.next(events, SpoolEvent.ConsumerRemoved.class, e -> e.queue().equals(q));
    assertEquals(List.of("laggard", "stale", 10L), List.of(removed.consumer(), removed.reason(), removed.lag()));
    assertEquals(List.of("busy", "done", "streaming"),
        result(spool.listConsumers(q)).stream().map(ConsumerInfo::name).toList());
    stream.toCompletableFuture().cancel(true);

    failure(spool.cleanupStaleConsumers(-1), Code.InvalidConfiguration);
    failure(spool.detectStaleConsumers(Duration.ofSeconds(-1)), Code.InvalidConfiguration);
  }

  @Test
  void anInactiveConsumerIsRemovedAutomatically() {
    Spool spool = spool();
    TestProbe<SpoolEvent> events = dev.spool.Events.probe(testKit);
    String q = queue(spool, QueueSettings.defaults());
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("brief").inactiveTimeout(Duration.ofMinutes(1)));
    result(c.ready());
    timePasses(Duration.ofSeconds(30));
    await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2))
        .until(() -> result(spool.listConsumers(q)).size() == 1);
    timePasses(Duration.ofSeconds(31));
    SpoolEvent.ConsumerRemoved removed = dev.spool.Events.next(events, SpoolEvent.ConsumerRemoved.class, e -> e.queue().equals(q));
    assertEquals("inactive", removed.reason());
    assertEquals(List.of(), result(spool.listConsumers(q)));
  }
}
