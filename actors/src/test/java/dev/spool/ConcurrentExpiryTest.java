package dev.spool;

import static dev.spool.Await.result;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Expiry and eviction racing with producers and consumers: whatever the interleaving, each
 * consumer accounts for every message exactly once, as delivered (and acknowledged) or as
 * expired/dropped, never both and never neither.
 */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class ConcurrentExpiryTest {

  @JUnit5TestKit
  ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  private static final int PRODUCERS = 4;
  private static final int PER_PRODUCER = 20_000;
  private static final int TOTAL = PRODUCERS * PER_PRODUCER;

  private Spool spool() {
    SpoolSettings settings = SpoolSettings.create(testKit.system())
        .withJanitor(new SpoolSettings.Janitor(Duration.ofMillis(5), Duration.ofMinutes(5)));
    return Spool.create(testKit.system(), settings);
  }

  @Test
  void expiryRacingWithConsumersCountsEveryMessageOnce() throws Exception {
    Spool spool = spool();
    String q = "race-expiry";
    result(spool.createQueue(q, QueueSettings.defaults()));
    runRace(spool, q, i -> Message.of("t", new byte[16]).withTtl(Duration.ofMillis(1 + ThreadLocalRandom.current().nextInt(30))));
  }

  @Test
  void evictionRacingWithConsumersCountsEveryMessageOnce() throws Exception {
    Spool spool = spool();
    String q = "race-evict";
    result(spool.createQueue(q, QueueSettings.defaults().withMaxLength(2000).withOverflow(Overflow.DROP_OLDEST)));
    runRace(spool, q, i -> Message.of("t", new byte[16]));
  }

  private void runRace(Spool spool, String q, java.util.function.IntFunction<Message> message) throws Exception {
    QueueConsumer explicit = spool.createConsumer(q, ConsumerSettings.named("explicit").prefetch(500));
    QueueConsumer none = spool.createConsumer(q, ConsumerSettings.named("none").ackMode(AckMode.NONE).prefetch(500));
    result(explicit.ready());
    result(none.ready());

    List<CompletableFuture<Void>> producers = new ArrayList<>();
    for (int p = 0; p < PRODUCERS; p++) {
      QueuePublisher publisher = spool.createPublisher(q, "p" + p);
      producers.add(CompletableFuture.runAsync(() -> {
        for (int i = 0; i < PER_PRODUCER; i += 50) {
          List<Message> batch = new ArrayList<>();
          for (int j = 0; j < 50; j++) {
            batch.add(message.apply(i + j));
          }
          publisher.publishAll(batch).toCompletableFuture().join();
        }
      }));
    }
    BitSet seenExplicit = new BitSet();
    BitSet seenNone = new BitSet();
    CompletableFuture<Void> explicitReader = CompletableFuture.runAsync(() -> drain(explicit, seenExplicit, true));
    CompletableFuture<Void> noneReader = CompletableFuture.runAsync(() -> drain(none, seenNone, false));
    CompletableFuture.allOf(producers.toArray(CompletableFuture[]::new)).get();

    await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
      assertEquals(0, result(explicit.info()).lag());
      assertEquals(0, result(none.info()).lag());
    });
    done = true;
    explicitReader.get();
    noneReader.get();

    ConsumerInfo ei = result(explicit.info());
    ConsumerInfo ni = result(none.info());
    long removedE = ei.counters().expired() + ei.counters().dropped();
    long removedN = ni.counters().expired() + ni.counters().dropped();
    assertTrue(removedE > 0 && removedN > 0, "the race removed something: " + removedE + ", " + removedN);
    assertEquals(TOTAL, ei.counters().acked() + removedE,
        "explicit: acked " + ei.counters().acked() + " + removed " + removedE);
    assertEquals(TOTAL, seenNone.cardinality() + removedN,
        "none: delivered " + seenNone.cardinality() + " + removed " + removedN);
    assertEquals(ni.counters().delivered(), seenNone.cardinality(), "no duplicate deliveries");
  }

  private volatile boolean done;

  /** Reads (and acknowledges) until the test is done; records each sequence delivered (one reader thread). */
  private void drain(QueueConsumer c, BitSet seen, boolean ack) {
    while (!done) {
      List<Delivery> got = c.readBatch(200, Duration.ofMillis(50)).toCompletableFuture().join();
      got.forEach(d -> seen.set((int) d.sequence()));
      if (ack && !got.isEmpty()) {
        c.acknowledgeBatch(got).toCompletableFuture().join();
      }
    }
  }
}
