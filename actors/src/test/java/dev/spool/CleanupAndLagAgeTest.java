package dev.spool;

import static dev.spool.Await.failure;
import static dev.spool.Await.result;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.SpoolException.Code;
import java.time.Duration;
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
 * Stale-consumer cleanup with an idle time, and a consumer's lag age when messages it has not
 * acknowledged were removed, under {@link ManualTime} and a {@link ManualClock}.
 */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class CleanupAndLagAgeTest {

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
    String q = "cleanup-" + QUEUES.incrementAndGet();
    result(spool.createQueue(q, settings));
    return q;
  }

  private static List<Message> kib(int n) {
    return IntStream.range(0, n).mapToObj(i -> Message.of("t", new byte[1024])).toList();
  }

  private static List<String> stalerThan(Spool spool, String q, Duration idle, long lagThreshold) {
    return result(spool.detectStaleConsumers(idle)).stream()
        .filter(s -> s.queue().equals(q) && s.lag() > lagThreshold)
        .map(StaleConsumer::consumer).sorted().toList();
  }

  private static List<String> consumers(Spool spool, String q) {
    return result(spool.listConsumers(q)).stream().map(ConsumerInfo::name).sorted().toList();
  }

  @Test
  void cleanupRemovesExactlyWhatDetectionListsForTheSameIdleTime() {
    Spool spool = spool();
    TestProbe<SpoolEvent> events = Events.probe(testKit);
    String q = queue(spool, QueueSettings.defaults());
    result(spool.createPublisher(q, "p").publishAll(kib(200)));
    QueueConsumer laggard = spool.createConsumer(q, ConsumerSettings.named("laggard"));
    QueueConsumer halfway = spool.createConsumer(q, ConsumerSettings.named("halfway").prefetch(200));
    QueueConsumer recent = spool.createConsumer(q, ConsumerSettings.named("recent"));
    QueueConsumer edge = spool.createConsumer(q, ConsumerSettings.named("edge"));
    QueueConsumer streaming = spool.createConsumer(q, ConsumerSettings.named("streaming").prefetch(1));
    List.of(laggard, recent, edge).forEach(c -> result(c.ready()));
    result(halfway.acknowledgeBatch(result(halfway.readBatch(100)))); // lag 100: under the threshold
    var stream = streaming.source().runWith(Sink.ignore(), testKit.system());
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertEquals(1, result(streaming.info()).subscribers()));

    timePasses(Duration.ofSeconds(1));
    assertEquals(1, result(edge.readBatch(1)).size()); // read at +1 s: idle exactly 1 s at +2 s
    timePasses(Duration.ofSeconds(1));
    result(recent.readBatch(1)); // read at +2 s: not idle

    // The configured stale-after (5 min) has not passed: the one-argument form removes nothing.
    assertEquals(List.of(), result(spool.cleanupStaleConsumers(150)));
    assertEquals(List.of("edge", "halfway", "laggard", "recent", "streaming"), consumers(spool, q));

    // Bad input is refused and removes nothing.
    failure(spool.cleanupStaleConsumers(150, null), Code.InvalidConfiguration);
    failure(spool.cleanupStaleConsumers(150, Duration.ofSeconds(-1)), Code.InvalidConfiguration);
    failure(spool.cleanupStaleConsumers(-1, Duration.ofSeconds(1)), Code.InvalidConfiguration);
    failure(spool.cleanupStaleConsumers(150, Duration.ofHours(9_999_999_999_999L)), Code.InvalidConfiguration);
    failure(spool.detectStaleConsumers(Duration.ofHours(9_999_999_999_999L)), Code.InvalidConfiguration);
    assertEquals(5, consumers(spool, q).size());

    List<String> listed = stalerThan(spool, q, Duration.ofSeconds(1), 150);
    assertEquals(List.of("edge", "laggard"), listed);
    List<StaleConsumer> answered = result(spool.cleanupStaleConsumers(150, Duration.ofSeconds(1)));
    assertEquals(listed, answered.stream().map(StaleConsumer::consumer).toList(), "the answer names what it removed");
    assertTrue(answered.stream().allMatch(s -> s.queue().equals(q) && s.lag() > 150), answered.toString());
    List<String> removed = Events.next(events, SpoolEvent.ConsumerRemoved.class, e -> e.queue().equals(q), 2).stream()
        .map(SpoolEvent.ConsumerRemoved::consumer).sorted().toList();
    assertEquals(listed, removed, "cleanup removed exactly what detection listed over the threshold");
    assertEquals(List.of("halfway", "recent", "streaming"), consumers(spool, q));
    stream.toCompletableFuture().cancel(true);
  }

  @Test
  void lagAgeSkipsAnExpiredMessageJustPastTheCommittedPosition() {
    Spool spool = spool();
    String q = queue(spool, QueueSettings.defaults());
    QueueConsumer early = spool.createConsumer(q, ConsumerSettings.named("early"));
    // Created before the manual clock moves: an ask still under way when it jumps 5 s would time out.
    result(early.ready());
    QueuePublisher p = spool.createPublisher(q, "p");
    result(p.publish(Message.of("t", new byte[1024]).withTtl(Duration.ofSeconds(1))));
    timePasses(Duration.ofSeconds(5));
    result(p.publishAll(kib(10))); // appended at +5 s
    timePasses(Duration.ofSeconds(1)); // the first message expires at the janitor's tick, at +6 s
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertEquals(1, result(early.info()).counters().expired()));
    assertEquals(1000, result(early.info()).lagAgeMs());

    // A consumer created after the expiry starts at the queue's first sequence, the expired one.
    QueueConsumer late = spool.createConsumer(q, ConsumerSettings.named("late").startAt(StartPosition.earliest()));
    assertEquals(1000, result(late.info()).lagAgeMs(), "the age of the oldest live message, not 0 for the expired one");
    timePasses(Duration.ofSeconds(2));
    assertEquals(3000, result(late.info()).lagAgeMs());
  }

  @Test
  void lagAgeSkipsEvictedMessages() {
    Spool spool = spool();
    String q = queue(spool, QueueSettings.defaults().withMaxLength(100).withOverflow(Overflow.DROP_OLDEST));
    QueueConsumer early = spool.createConsumer(q, ConsumerSettings.named("early"));
    QueuePublisher p = spool.createPublisher(q, "p");
    result(p.publishAll(kib(50))); // at +0 s
    clock.advance(Duration.ofSeconds(10));
    result(p.publishAll(kib(50))); // at +10 s
    clock.advance(Duration.ofSeconds(10));
    result(p.publishAll(kib(50))); // at +20 s: the 50 from +0 s are evicted
    clock.advance(Duration.ofSeconds(5));
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertEquals(50, result(early.info()).counters().dropped()));
    assertEquals(15_000, result(early.info()).lagAgeMs(), "the oldest live one is from +10 s");

    QueueConsumer late = spool.createConsumer(q, ConsumerSettings.named("late").startAt(StartPosition.earliest()));
    assertEquals(15_000, result(late.info()).lagAgeMs());
    QueueConsumer seeker = spool.createConsumer(q, ConsumerSettings.named("seeker"));
    result(seeker.seek(StartPosition.sequence(1)));
    assertEquals(15_000, result(seeker.info()).lagAgeMs());
  }

  @Test
  void lagAgePassesOverALongRunOfExpiredMessagesAFewThousandAtATime() {
    Spool spool = spool();
    String q = queue(spool, QueueSettings.defaults());
    // The holder keeps sequence 1 unacknowledged, so no segment is freed under the expired run.
    QueueConsumer holder = spool.createConsumer(q, ConsumerSettings.named("holder"));
    QueuePublisher p = spool.createPublisher(q, "p");
    result(p.publishAll(kib(1)));
    for (int batch = 0; batch < 4; batch++) {
      result(p.publishAll(kib(5000).stream().map(m -> m.withTtl(Duration.ofSeconds(1))).toList()));
    }
    clock.advance(Duration.ofSeconds(5));
    result(p.publishAll(kib(5))); // at +5 s
    clock.advance(Duration.ofSeconds(3));
    result(p.publishAll(kib(5))); // at +8 s
    timePasses(Duration.ofSeconds(1)); // sequences 2 to 20,001 expire at +9 s
    await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertEquals(11, result(spool.queueStats(q)).depth()));
    assertEquals(9000, result(holder.info()).lagAgeMs());

    QueueConsumer late = spool.createConsumer(q, ConsumerSettings.named("late").startAt(StartPosition.sequence(2)));
    List<Long> ages = IntStream.range(0, 4).mapToObj(i -> result(late.info()).lagAgeMs()).toList();
    ages.forEach(age -> assertTrue(age >= 1000 && age <= 4000, "never older than the oldest live message: " + ages));
    assertEquals(4000, ages.get(3), "within a few calls it is exact: " + ages);
    timePasses(Duration.ofSeconds(1));
    assertEquals(5000, result(late.info()).lagAgeMs(), "and it stays exact");
  }

  @Test
  void lagAgeInExplicitModeIsTheOldestUnsettledLiveDelivery() {
    Spool spool = spool();
    String q = queue(spool, QueueSettings.defaults());
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c").prefetch(100));
    QueuePublisher p = spool.createPublisher(q, "p");
    for (int i = 0; i < 4; i++) {
      result(p.publishAll(kib(10))); // sequences 10i+1..10i+10 at +10i s
      clock.advance(Duration.ofSeconds(10));
    }
    List<Delivery> read = result(c.readBatch(40));
    assertEquals(40, read.size());
    assertEquals(40_000, result(c.info()).lagAgeMs());
    // Acknowledged out of order: 1..15 and 21..30; 16..20 and 31..40 are still unacknowledged.
    result(c.acknowledgeBatch(read.subList(0, 15)));
    result(c.acknowledgeBatch(read.subList(20, 30)));
    ConsumerInfo info = result(c.info());
    assertEquals(15, info.committed());
    assertEquals(30_000, info.lagAgeMs(), "16 was appended at +10 s");
    result(c.acknowledgeBatch(read.subList(15, 20)));
    info = result(c.info());
    assertEquals(30, info.committed());
    assertEquals(10_000, info.lagAgeMs(), "31 was appended at +30 s");
    result(c.acknowledgeBatch(read.subList(30, 40)));
    assertEquals(0, result(c.info()).lagAgeMs(), "nothing left unacknowledged");
    result(c.seek(StartPosition.sequence(1)));
    assertEquals(40_000, result(c.info()).lagAgeMs(), "a replay makes the first message unacknowledged again");
  }
}
