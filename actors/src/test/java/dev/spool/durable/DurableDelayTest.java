package dev.spool.durable;

import static dev.spool.Await.result;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.spool.AckMode;
import dev.spool.ConsumerSettings;
import dev.spool.Delivery;
import dev.spool.Durability;
import dev.spool.ManualClock;
import dev.spool.Message;
import dev.spool.QueueConsumer;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import dev.spool.SpoolSettings;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Delayed messages of a persistent queue survive a restart of the engine: their delivery time is
 * journaled with them, and what consumers set aside until then is set aside again.
 */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class DurableDelayTest {

  @JUnit5TestKit
  ActorTestKit testKit = new JUnit5TestKitBuilder()
      .withCustomConfig(TestJournal.config("").withFallback(ManualTime.config()))
      .build();

  private static final AtomicInteger REGISTRIES = new AtomicInteger();
  private static final String KIB = "x".repeat(1024);
  private final ManualClock clock = new ManualClock();

  private Spool engine(String registry, int snapshotEvery) {
    SpoolSettings base = SpoolSettings.create(testKit.system()).withClock(clock);
    SpoolSettings.Persistence p = base.persistence();
    return Spool.create(testKit.system(), base.withPersistence(p.withSnapshotEvery(snapshotEvery).withRegistry(registry)));
  }

  private Spool restart(Spool spool, String registry, int snapshotEvery) {
    var manager = spool.queueManager();
    result(spool.shutdown());
    testKit.createTestProbe().expectTerminated(manager, Duration.ofSeconds(10));
    Spool next = engine(registry, snapshotEvery);
    result(next.ready(), 20);
    return next;
  }

  private static List<Long> sequences(List<Delivery> deliveries) {
    return deliveries.stream().map(Delivery::sequence).toList();
  }

  /** With a snapshot every other write (the snapshot format) and with events only (the event format). */
  @ParameterizedTest
  @ValueSource(ints = {2, 1000})
  void delayedMessagesAndWhatConsumersSetAsideSurviveARestart(int snapshotEvery) {
    String registry = "delay-" + REGISTRIES.incrementAndGet();
    Spool spool = engine(registry, snapshotEvery);
    result(spool.ready());
    result(spool.createQueue("held", QueueSettings.defaults().withDurability(Durability.PERSISTENT)));
    ConsumerSettings explicit = ConsumerSettings.named("explicit");
    ConsumerSettings none = ConsumerSettings.named("none").ackMode(AckMode.NONE);
    QueueConsumer e = spool.createConsumer("held", explicit);
    QueueConsumer n = spool.createConsumer("held", none);
    result(e.ready());
    result(n.ready());
    Instant due = clock.instant().plus(Duration.ofHours(1));
    result(spool.createPublisher("held", "p").publishAll(List.of(
        Message.text("t", "delayed:" + KIB).withDelay(Duration.ofHours(1)),
        Message.text("t", "now:" + KIB))));
    List<Delivery> got = result(e.readBatch(10));
    assertEquals(List.of(2L), sequences(got));
    result(e.acknowledgeBatch(got));
    assertEquals(List.of(2L), sequences(result(n.readBatch(10))));

    Spool after = restart(spool, registry, snapshotEvery);
    QueueConsumer e2 = after.createConsumer("held", explicit);
    QueueConsumer n2 = after.createConsumer("held", none);
    assertEquals(List.of(), result(e2.readBatch(10)), "not due after the restart either");
    assertEquals(List.of(), result(n2.readBatch(10)));
    assertEquals(0, result(e2.info()).committed(), "the set-aside message holds it");
    assertEquals(due, result(after.browse("held", 1, 1)).get(0).deliverAt().orElseThrow());

    clock.timePasses(testKit.system(), Duration.ofHours(1));
    List<Delivery> late = result(e2.readBatch(10));
    assertEquals(List.of(1L), sequences(late));
    assertEquals(1, late.get(0).attempt());
    assertEquals(due, late.get(0).message().deliverAt().orElseThrow());
    assertEquals(List.of(1L), sequences(result(n2.readBatch(10))));
    result(e2.acknowledgeBatch(late));
    assertEquals(2, result(e2.info()).committed());
    result(after.shutdown());
  }

  @Test
  void aDelayedMessageNobodyReadIsStillDelayedAfterARestart() {
    String registry = "delay-" + REGISTRIES.incrementAndGet();
    Spool spool = engine(registry, 1000);
    result(spool.ready());
    result(spool.createQueue("quiet", QueueSettings.defaults().withDurability(Durability.PERSISTENT)));
    ConsumerSettings settings = ConsumerSettings.named("c");
    result(spool.createConsumer("quiet", settings).ready());
    result(spool.createPublisher("quiet", "p").publish(Message.text("t", KIB).withDelay(Duration.ofMinutes(5))));
    Spool after = restart(spool, registry, 1000);
    QueueConsumer c = after.createConsumer("quiet", settings);
    assertEquals(List.of(), result(c.readBatch(10)));
    clock.timePasses(testKit.system(), Duration.ofMinutes(5));
    assertEquals(List.of(1L), sequences(result(c.readBatch(10))));
    result(after.shutdown());
  }

  @Test
  void aPriorityQueueKeepsItsMaxPriorityAndWhatItsConsumersLookedAheadOverAcrossARestart() {
    String registry = "delay-" + REGISTRIES.incrementAndGet();
    Spool spool = engine(registry, 1000);
    result(spool.ready());
    result(spool.createQueue("ranked",
        QueueSettings.defaults().withDurability(Durability.PERSISTENT).withMaxPriority(9)));
    ConsumerSettings settings = ConsumerSettings.named("c").prefetch(1);
    QueueConsumer c = spool.createConsumer("ranked", settings);
    result(c.ready());
    result(spool.createPublisher("ranked", "p").publishAll(List.of(
        Message.text("t", "a:" + KIB), Message.text("t", "b:" + KIB).withPriority(3),
        Message.text("t", "c:" + KIB).withPriority(9))));
    List<Delivery> first = result(c.readBatch(10));
    assertEquals(List.of(3L), sequences(first));
    result(c.acknowledgeBatch(first));

    Spool after = restart(spool, registry, 1000);
    assertEquals(9, result(after.queueInfo("ranked")).settings().maxPriority());
    QueueConsumer again = after.createConsumer("ranked", settings);
    List<Long> rest = new java.util.ArrayList<>();
    for (int i = 0; i < 2; i++) {
      List<Delivery> got = result(again.readBatch(10));
      rest.addAll(sequences(got));
      result(again.acknowledgeBatch(got));
    }
    assertEquals(List.of(2L, 1L), rest, "priority 3 before priority 0, after the restart too");
    assertEquals(3, result(again.info()).committed());
    result(after.shutdown());
  }
}
