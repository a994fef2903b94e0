package dev.spool.durable;

import static dev.spool.Await.failure;
import static dev.spool.Await.result;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.ConsumerSettings;
import dev.spool.Delivery;
import dev.spool.Durability;
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
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Two journal writes of a queue under way at once ({@code writes-in-flight = 2}): when the first
 * fails and the second is stored anyway, both publishes are refused, the stored second write never
 * shows (not after the journal's recovery, not after a restart), and the sequences the refused
 * publishes had are handed out again without a duplicate. And many publishers with writes in
 * flight lose nothing confirmed.
 */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class PipelinedWritesTest {

  @JUnit5TestKit
  ActorTestKit testKit = new JUnit5TestKitBuilder()
      .withCustomConfig(TestJournal.config("""
          spool.persistence.restart-backoff.min = 50ms
          spool.persistence.restart-backoff.max = 200ms
          spool.persistence.write-stall-after = 5s
          """))
      .build();

  private static final AtomicInteger REGISTRIES = new AtomicInteger();
  private final JournalHealthTest.Outage outage = new JournalHealthTest.Outage();

  @AfterEach
  void healJournal() {
    CountDownLatch h = outage.hold;
    if (h != null) {
      h.countDown();
    }
    PersistenceTestKit.create(testKit.system()).resetPolicy();
  }

  private Spool engine(String registry) {
    SpoolSettings base = SpoolSettings.create(testKit.system());
    PersistenceTestKit.create(testKit.system()).withPolicy(outage);
    Spool spool = Spool.create(testKit.system(), base.withPersistence(base.persistence().withSnapshotEvery(1000)
        .withRegistry(registry).withWritesInFlight(2)));
    result(spool.ready());
    return spool;
  }

  private Spool restart(Spool spool, String registry) {
    var manager = spool.queueManager();
    result(spool.shutdown());
    testKit.createTestProbe().expectTerminated(manager, Duration.ofSeconds(10));
    return engine(registry);
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

  private static List<String> labels(List<Message> messages) {
    return messages.stream().map(PipelinedWritesTest::label).toList();
  }

  @Test
  void aWriteStoredAfterOneThatFailedIsRefusedWithItAndNeverShows() {
    String registry = "pipelined-" + REGISTRIES.incrementAndGet();
    Spool spool = engine(registry);
    result(spool.createQueue("orders", QueueSettings.defaults().withDurability(Durability.PERSISTENT)));
    QueuePublisher publisher = spool.createPublisher("orders", "p");
    assertEquals(1L, result(publisher.publish(kib("before"))));

    outage.holdWritesOf("orders");
    outage.failNext.set(1);
    CompletableFuture<Long> first = publisher.publish(kib("first")).toCompletableFuture();
    CompletableFuture<Long> second = publisher.publish(kib("second")).toCompletableFuture();
    // The second write goes out while the first hangs; the journal takes it once the first is answered.
    await().pollDelay(Duration.ofMillis(200)).atMost(Duration.ofSeconds(2))
        .until(() -> !first.isDone() && !second.isDone());
    outage.hold.countDown();

    SpoolException firstRefused = failure(first, Code.JournalUnavailable);
    SpoolException secondRefused = failure(second, Code.JournalUnavailable);
    assertTrue(firstRefused.getMessage().contains("nothing of it was kept"), firstRefused.getMessage());
    assertTrue(secondRefused.getMessage().contains("nothing of it was kept"), secondRefused.getMessage());
    List<String> stored = new ArrayList<>();
    for (Object e : PersistenceTestKit.create(testKit.system()).persistedInStorage(outage.seen)) {
      ((QueueEvent) e).messages().forEach(m -> stored.add(label(m)));
    }
    assertEquals(List.of("before", "second"), stored,
        "the second write was stored though the first failed: the case under test happened");

    Long third = await().atMost(Duration.ofSeconds(5)).ignoreExceptions()
        .until(() -> result(publisher.publish(kib("third"))), s -> s != null);
    assertEquals(2L, third, "the refused publishes' sequences are handed out again");
    assertEquals(List.of("before", "third"), labels(result(spool.browse("orders", 1, 10))));

    Spool after = restart(spool, registry);
    List<Message> recovered = result(after.browse("orders", 1, 10));
    assertEquals(List.of("before", "third"), labels(recovered), "the refused second write does not come back");
    assertEquals(List.of(1L, 2L), recovered.stream().map(Message::sequence).toList());
    assertEquals(3L, result(after.createPublisher("orders", "p").publish(kib("fourth"))));
    QueueConsumer consumer = after.createConsumer("orders", ConsumerSettings.named("audit").startAt(dev.spool.StartPosition.earliest()));
    List<Delivery> delivered = result(consumer.readBatch(10, Duration.ofSeconds(5)));
    assertEquals(List.of(1L, 2L, 3L), delivered.stream().map(Delivery::sequence).toList());
    result(after.shutdown());
  }

  @Test
  void manyPublishersWithWritesUnderWayLoseNothingConfirmedAcrossJournalFailuresAndARestart() throws Exception {
    String registry = "pipelined-" + REGISTRIES.incrementAndGet();
    Spool spool = engine(registry);
    result(spool.createQueue("events", QueueSettings.defaults().withDurability(Durability.PERSISTENT)));
    outage.on("events");
    List<Thread> publishers = new ArrayList<>();
    List<String> confirmed = java.util.Collections.synchronizedList(new ArrayList<>());
    for (int t = 0; t < 16; t++) {
      int id = t;
      Thread thread = new Thread(() -> {
        QueuePublisher publisher = spool.createPublisher("events", "p" + id);
        for (int i = 0; i < 60; i++) {
          String text = id + "-" + i;
          while (true) {
            try {
              publisher.publish(kib(text)).toCompletableFuture().get(10, java.util.concurrent.TimeUnit.SECONDS);
              confirmed.add(text);
              break;
            } catch (java.util.concurrent.ExecutionException refused) {
              if (!(refused.getCause() instanceof SpoolException.JournalUnavailable)) {
                throw new AssertionError("only refusals while the journal recovers are expected", refused);
              }
              // Refused while the journal recovers: nothing of it was kept, so publishing it again
              // cannot make a duplicate.
              try {
                Thread.sleep(20);
              } catch (InterruptedException e) {
                return;
              }
            } catch (InterruptedException | java.util.concurrent.TimeoutException e) {
              throw new AssertionError("a publish was not answered", e);
            }
          }
        }
      });
      publishers.add(thread);
      thread.start();
    }
    for (int f = 0; f < 8; f++) {
      Thread.sleep(80);
      outage.failNext.set(1); // one write fails now and then, with others under way
    }
    for (Thread thread : publishers) {
      thread.join(60_000);
    }
    assertEquals(960, confirmed.size());

    Spool after = restart(spool, registry);
    List<Message> recovered = result(after.browse("events", 1, 2000));
    List<Long> sequences = recovered.stream().map(Message::sequence).toList();
    assertEquals(sequences.stream().distinct().sorted().toList(), sequences, "ascending, no sequence twice");
    List<String> present = labels(recovered);
    assertEquals(new java.util.TreeSet<>(confirmed), new java.util.TreeSet<>(present),
        "every confirmed message, and nothing refused");
    assertEquals(960, present.size(), "no message twice");
    result(after.shutdown());
  }
}
