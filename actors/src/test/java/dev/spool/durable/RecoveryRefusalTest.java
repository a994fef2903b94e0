package dev.spool.durable;

import static dev.spool.Await.failure;
import static dev.spool.Await.result;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.spool.Durability;
import dev.spool.Message;
import dev.spool.QueuePublisher;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import dev.spool.SpoolEvent;
import dev.spool.SpoolException;
import dev.spool.SpoolException.Code;
import dev.spool.SpoolSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.eventstream.EventStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A durable queue whose recovered messages do not fit under the memory threshold is refused, not
 * started: it answers every command with a clear error, one ERROR line and a
 * {@code QueueRecoveryRefused} event say why, the engine and the other queues go on, and nothing
 * of it is lost (a restart with a larger threshold recovers all of it).
 */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class RecoveryRefusalTest {

  @JUnit5TestKit
  ActorTestKit testKit = new JUnit5TestKitBuilder()
      .withCustomConfig(org.apache.pekko.persistence.testkit.PersistenceTestKitPlugin.config()
          .withFallback(org.apache.pekko.persistence.testkit.PersistenceTestKitSnapshotPlugin.config())
          .withFallback(ConfigFactory.parseString("""
              spool.persistence.journal-plugin = "pekko.persistence.testkit.journal"
              spool.persistence.snapshot-plugin = "pekko.persistence.testkit.snapshotstore.pluginid"
              """)))
      .build();

  private static final QueueSettings DURABLE = QueueSettings.defaults().withDurability(Durability.PERSISTENT);
  private final String registry = "refusal-" + UUID.randomUUID().toString().substring(0, 8);

  private Spool engine(long thresholdBytes) {
    SpoolSettings base = SpoolSettings.create(testKit.system());
    SpoolSettings.Persistence p = base.persistence();
    return Spool.create(testKit.system(), base.withMemoryThresholdBytes(thresholdBytes)
        .withPersistence(p.withSnapshotEvery(1000).withRegistry(registry)));
  }

  private Spool restart(Spool spool, long thresholdBytes) {
    var manager = spool.queueManager();
    result(spool.shutdown());
    testKit.createTestProbe().expectTerminated(manager, Duration.ofSeconds(10));
    Spool next = engine(thresholdBytes);
    result(next.ready(), 20);
    return next;
  }

  private static List<Message> kibibytes(int n) {
    List<Message> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      byte[] payload = new byte[1024];
      ThreadLocalRandom.current().nextBytes(payload);
      out.add(Message.of("t", payload));
    }
    return out;
  }

  @Test
  void aQueueThatDoesNotFitUnderTheThresholdIsRefusedLoudlyAndTheOthersRecover() {
    Spool spool = engine(0);
    result(spool.ready());
    result(spool.createQueue("big", DURABLE));
    result(spool.createQueue("small", DURABLE));
    QueuePublisher big = spool.createPublisher("big", "p");
    for (int i = 0; i < 3; i++) {
      result(big.publishAll(kibibytes(100)));
    }
    result(spool.createPublisher("small", "p").publishAll(kibibytes(5)));
    long bigBytes = result(spool.queueInfo("big")).stats().bytes();

    TestProbe<SpoolEvent.QueueRecoveryRefused> refusals = testKit.createTestProbe();
    testKit.system().eventStream().tell(new EventStream.Subscribe<>(SpoolEvent.QueueRecoveryRefused.class,
        refusals.ref()));
    // 300 messages of 1 KiB (about 324 KB accounted) against a threshold of 100 KB
    Spool refusing = LoggingTestKit.error("queue big not recovered").withOccurrences(1)
        .expect(testKit.system(), () -> restart(spool, 100_000));

    SpoolEvent.QueueRecoveryRefused refused = refusals.receiveMessage();
    assertEquals("big", refused.queue());
    assertEquals(bigBytes, refused.recoveredBytes());
    assertEquals(100_000, refused.thresholdBytes());
    SpoolException f = failure(refusing.createPublisher("big", "p").publish(kibibytes(1).get(0)), Code.JournalUnavailable);
    assertTrue(f.getMessage().contains("do not fit under the memory threshold"), f.getMessage());
    assertTrue(failure(refusing.queueInfo("big"), Code.JournalUnavailable).getMessage().contains("not recovered"));
    assertTrue(result(refusing.memoryStats()).totalBytes() < 100_000, "nothing was reserved past the threshold");

    assertEquals(5, result(refusing.queueInfo("small")).stats().depth(), "the queue that fits recovered");
    assertEquals(6L, result(refusing.createPublisher("small", "p").publish(kibibytes(1).get(0))));

    Spool larger = restart(refusing, 0);
    assertEquals(300, result(larger.queueInfo("big")).stats().depth(), "nothing of the refused queue was lost");
    result(larger.shutdown());
  }
}
