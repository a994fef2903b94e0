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
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The engine's history and health of queues and consumers, on {@code ManualTime} and a manual clock:
 * samples on the janitor's ticks, a stuck consumer and one that reads and nacks, full and refusing
 * queues with their alarms, dead-letter queues named, a partitioned queue judged as one.
 */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class HealthAndHistoryTest {

  @JUnit5TestKit
  ActorTestKit testKit = new JUnit5TestKitBuilder().withCustomConfig(ManualClock.testKitConfig()).build();

  private static final AtomicInteger QUEUES = new AtomicInteger();
  private final ManualClock clock = new ManualClock();

  /** Samples every 5 s kept for a minute; stuck after 30 s, lagging after 20 s. */
  private Spool spool() {
    SpoolSettings settings = SpoolSettings.create(testKit.system()).withClock(clock);
    return Spool.create(testKit.system(), settings.withJanitor(settings.janitor().with(
        new SpoolSettings.History(Duration.ofSeconds(5), Duration.ofMinutes(1)),
        new SpoolSettings.Health(Duration.ofSeconds(30), Duration.ofSeconds(20), Duration.ofMinutes(5)))));
  }

  private static String queue(Spool spool, QueueSettings settings) {
    String q = "health-" + QUEUES.incrementAndGet();
    result(spool.createQueue(q, settings));
    return q;
  }

  private static List<Message> kib(int n) {
    return IntStream.range(0, n).mapToObj(i -> Message.of("t", new byte[1024])).toList();
  }

  /** Five janitor ticks, one second apart, then waits for the next history sample of each of {@code queues}. */
  private void nextSample(Spool spool, String... queues) {
    int[] before = new int[queues.length];
    for (int i = 0; i < queues.length; i++) {
      before[i] = result(spool.queueHistory(queues[i], 0)).samples().size();
    }
    for (int i = 0; i < 5; i++) {
      clock.timePasses(testKit.system(), Duration.ofSeconds(1));
    }
    for (int i = 0; i < queues.length; i++) {
      String q = queues[i];
      int was = before[i];
      await().atMost(Duration.ofSeconds(10)).until(() -> {
        int now = result(spool.queueHistory(q, 0)).samples().size();
        return now > was || now == 12;
      });
    }
  }

  private static QueueHealth.ConsumerHealth consumer(QueueHealth h, String name) {
    return h.consumers().stream().filter(c -> c.consumer().equals(name)).findFirst().orElseThrow();
  }

  @Test
  void anUnreadConsumerBecomesStuckAReaderThatNacksIsStuckWithItsReasonAndAWorkerIsOk() {
    Spool spool = spool();
    String q = queue(spool, QueueSettings.defaults());
    QueueConsumer idle = spool.createConsumer(q, ConsumerSettings.named("idle"));
    QueueConsumer nacker = spool.createConsumer(q, ConsumerSettings.named("nacker"));
    QueueConsumer worker = spool.createConsumer(q, ConsumerSettings.named("worker"));
    List.of(idle, nacker, worker).forEach(c -> result(c.ready()));
    result(spool.createPublisher(q, "p").publishAll(kib(50)));
    result(worker.acknowledgeBatch(result(worker.readBatch(50))));

    for (int i = 0; i < 8; i++) {
      List<Delivery> read = result(nacker.readBatch(5));
      result(nacker.nack(read.stream().map(Delivery::sequence).toList(), true));
      nextSample(spool, q);
    }

    QueueHistory history = result(spool.queueHistory(q, 0));
    assertEquals(8, history.samples().size());
    assertEquals(50, history.samples().get(7).depth());
    assertEquals(List.of("idle", "nacker", "worker"),
        history.consumers().stream().map(QueueHistory.ConsumerHistory::consumer).toList());
    QueueHistory.ConsumerHistory nacks = history.consumers().get(1);
    assertEquals(40, nacks.samples().stream().mapToLong(QueueHistory.ConsumerSample::nacked).sum(),
        "every nack, counted in the interval it happened in");
    assertTrue(nacks.samples().stream().allMatch(s -> s.lag() == 50));

    QueueHealth h = result(spool.queueHealth(q));
    assertEquals(HealthStatus.STUCK, consumer(h, "idle").status());
    assertEquals("50 messages waiting and nothing acknowledged for 40 s: nothing is reading (no subscriber attached,"
        + " last activity 40 s ago)", consumer(h, "idle").reason());
    assertEquals(HealthStatus.STUCK, consumer(h, "nacker").status());
    assertTrue(consumer(h, "nacker").reason().contains("it reads, but every delivery fails ("),
        consumer(h, "nacker").reason());
    assertEquals(HealthStatus.OK, consumer(h, "worker").status());
    assertEquals("caught up", consumer(h, "worker").reason());
    assertEquals(HealthStatus.STUCK, h.status());
    assertTrue(h.reason().startsWith("consumer idle: "), h.reason());

    // A pause shows at once, and a paused consumer is paused, not stuck.
    result(idle.pause());
    assertEquals(HealthStatus.PAUSED, consumer(result(spool.queueHealth(q)), "idle").status());

    // A deleted consumer's history goes with it at the next sample.
    result(spool.deleteConsumer(q, "worker"));
    nextSample(spool, q);
    assertEquals(List.of("idle", "nacker"), result(spool.queueHistory(q, 0)).consumers().stream()
        .map(QueueHistory.ConsumerHistory::consumer).toList());
  }

  @Test
  void droppedAndRefusedPublishesMarkTheQueueFullAndRaiseAlarmsAndDeadLettersAreNamed() {
    Spool spool = spool();
    String dropping = queue(spool, QueueSettings.defaults().withMaxLength(100).withOverflow(Overflow.DROP_OLDEST));
    String refusing = queue(spool, QueueSettings.defaults().withMaxLength(20).withOverflow(Overflow.REJECT));
    String dlq = queue(spool, QueueSettings.defaults());
    String source = queue(spool, QueueSettings.defaults().withDeadLetter(dlq, 1));
    nextSample(spool, dropping, refusing, dlq, source); // the first sample is the baseline the next ones count from

    QueuePublisher p = spool.createPublisher(dropping, "p");
    for (int i = 0; i < 5; i++) {
      result(p.publishAll(kib(100)));
    }
    QueuePublisher r = spool.createPublisher(refusing, "p");
    result(r.publishAll(kib(20)));
    for (int i = 0; i < 7; i++) {
      failure(r.publish(Message.of("t", new byte[1024])), Code.QueueFull);
    }
    QueueConsumer c = spool.createConsumer(source, ConsumerSettings.named("c"));
    result(c.ready());
    result(spool.createPublisher(source, "p").publishAll(kib(3)));
    result(c.nack(result(c.readBatch(3)).stream().map(Delivery::sequence).toList(), false));
    await().atMost(Duration.ofSeconds(10)).until(() -> result(spool.queueStats(dlq)).depth() == 3);
    nextSample(spool, dropping, refusing, dlq, source);

    QueueHistory dropped = result(spool.queueHistory(dropping, 0));
    assertEquals(400, dropped.samples().stream().mapToLong(QueueHistory.Sample::dropped).sum());
    SpoolHealth all = result(spool.healthOverview());
    QueueHealth d = all.queues().stream().filter(x -> x.queue().equals(dropping)).findFirst().orElseThrow();
    assertEquals(HealthStatus.FULL, d.status());
    assertEquals("full: 100 of at most 100 messages retained; 400 messages dropped in the last 5 min", d.reason());
    QueueHealth rq = all.queues().stream().filter(x -> x.queue().equals(refusing)).findFirst().orElseThrow();
    assertEquals(7, rq.recent().refused());
    assertTrue(all.alarms().contains(new SpoolHealth.Alarm("refused", "warning", refusing,
        "7 messages published to " + refusing + " refused in the last 5 min (QueueFull)")), all.alarms().toString());
    assertTrue(all.alarms().stream().anyMatch(a -> a.kind().equals("dropped") && dropping.equals(a.queue())));

    QueueHealth s = result(spool.queueHealth(source));
    assertEquals(HealthStatus.DEAD_LETTERING, s.status());
    assertEquals(HealthStatus.DEAD_LETTERING, consumer(s, "c").status());
    assertEquals(List.of(source), result(spool.queueHealth(dlq)).deadLetterFor());
    assertEquals(List.of(), s.deadLetterFor());
  }

  @Test
  void aPartitionedQueueIsSampledAndJudgedAsOne() {
    Spool spool = spool();
    String q = queue(spool, QueueSettings.defaults().withPartitions(3));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c"));
    result(c.ready());
    result(spool.createPublisher(q, "p").publishAll(IntStream.range(0, 30)
        .mapToObj(i -> Message.of("t", new byte[1024]).withKey("k" + i)).toList()));
    nextSample(spool, q);
    nextSample(spool, q);
    QueueHistory history = result(spool.queueHistory(q, 0));
    QueueHistory.Sample last = history.samples().get(history.samples().size() - 1);
    assertEquals(30, last.depth(), "the partitions' depths summed");
    assertEquals(30, history.consumers().get(0).samples().get(history.consumers().get(0).samples().size() - 1).lag());
    QueueHealth h = result(spool.queueHealth(q));
    assertEquals(q, h.queue());
    assertEquals(List.of("c"), h.consumers().stream().map(QueueHealth.ConsumerHealth::consumer).toList());
    assertTrue(result(spool.queueHistory(q + "#0", 0)).samples().size() >= 2, "a partition's own history can be read");
    assertEquals(1, result(spool.healthOverview()).queues().stream().filter(x -> x.queue().startsWith(q)).count(),
        "the overview lists the queue once, not its partitions");
  }

  @Test
  void unknownQueuesAnswerQueueNotFound() {
    Spool spool = spool();
    failure(spool.queueHistory("no-such-queue", 0), Code.QueueNotFound);
    failure(spool.queueHealth("no-such-queue"), Code.QueueNotFound);
  }

  @Test
  void historyAndHealthSettingsOutOfRangeAreRefusedAtStart() {
    for (String bad : List.of("spool.history.retain = 1s\nspool.history.interval = 5s", "spool.history.interval = 0s",
        "spool.history.interval = 1ms\nspool.history.retain = 1d", "spool.health.stuck-after = 0s",
        "spool.health.lagging-after = -1s", "spool.health.recent = 0s", "spool.history.max-bytes = lots")) {
      com.typesafe.config.Config config = com.typesafe.config.ConfigFactory.parseString(bad)
          .withFallback(com.typesafe.config.ConfigFactory.load());
      SpoolException e = org.junit.jupiter.api.Assertions.assertThrows(SpoolException.InvalidConfiguration.class,
          () -> SpoolSettings.create(config), bad);
      assertTrue(e.getMessage().startsWith("spool.h"), e.getMessage());
    }
    SpoolSettings.Janitor fine = SpoolSettings.create(com.typesafe.config.ConfigFactory.load()).janitor();
    assertEquals(SpoolSettings.History.DEFAULT, fine.history());
    assertEquals(SpoolSettings.Health.DEFAULT, fine.health());
  }
}
