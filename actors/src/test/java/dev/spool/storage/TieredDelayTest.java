package dev.spool.storage;

import static dev.spool.Await.result;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.ConsumerInfo;
import dev.spool.ConsumerSettings;
import dev.spool.Delivery;
import dev.spool.DeliveryState;
import dev.spool.Durability;
import dev.spool.ManualClock;
import dev.spool.Message;
import dev.spool.QueueConsumer;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import dev.spool.SpoolSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Delayed messages a consumer set aside that are cold (in stored segments, not in the heap) after a
 * restart: they stay not due, out of its lag and its delivery state, before it reads anything.
 */
class TieredDelayTest {

  private static final String KIB = "x".repeat(1024);

  /** No hot share: every stored segment leaves the heap, so what was set aside is cold after the restart. */
  private static com.typesafe.config.Config config(Path file) {
    return com.typesafe.config.ConfigFactory.parseString("spool.storage.hot-bytes-per-queue = 0")
        .withFallback(ManualTime.config()).withFallback(TieredQueueTest.config(file));
  }

  private static Spool engine(ActorTestKit kit, ManualClock clock) {
    return Spool.create(kit.system(), SpoolSettings.create(kit.system()).withClock(clock));
  }

  @Test
  void setAsideMessagesThatAreColdAfterARestartStayOutOfTheLag(@TempDir Path dir) {
    Path file = dir.resolve("spool.db");
    ManualClock clock = new ManualClock();
    ActorTestKit first = ActorTestKit.create("tiered-delay-1",
        config(file));
    ConsumerSettings settings = ConsumerSettings.named("c").prefetch(1000);
    ConsumerInfo before;
    try {
      Spool spool = engine(first, clock);
      result(spool.ready(), 20);
      result(spool.createQueue("deferred", QueueSettings.defaults().withDurability(Durability.PERSISTENT)));
      QueueConsumer c = spool.createConsumer("deferred", settings);
      result(c.ready());
      List<Message> messages = new ArrayList<>();
      for (int i = 0; i < 1200; i++) {
        Message m = Message.text("t", i + ":" + KIB);
        messages.add(i % 2 == 0 ? m.withDelay(Duration.ofMinutes(10)) : m);
      }
      result(spool.createPublisher("deferred", "p").publishAll(messages));
      int read = 0;
      while (read < 600) {
        List<Delivery> got = result(c.readBatch(1000));
        assertTrue(!got.isEmpty());
        read += got.size();
        result(c.acknowledgeBatch(got));
      }
      before = result(c.info());
      assertEquals(0, before.lag(), "what it has not acknowledged is not due");
      assertEquals(DeliveryState.CAUGHT_UP, before.deliveryState());
      result(spool.shutdown(), 20);
    } finally {
      first.shutdownTestKit();
    }

    ActorTestKit second = ActorTestKit.create("tiered-delay-2",
        config(file));
    try {
      Spool after = engine(second, clock);
      result(after.ready(), 20);
      assertTrue(result(after.queueInfo("deferred")).stats().storedMessages() > 0, "part of the backlog is cold");
      QueueConsumer again = after.createConsumer("deferred", settings);
      ConsumerInfo info = result(again.info());
      assertEquals(DeliveryState.CAUGHT_UP, info.deliveryState(), "what it set aside is not due after the restart");
      assertEquals(before.lag(), info.lag());
      assertEquals(List.of(), result(again.readBatch(10)));
      assertEquals(before.lag(), result(again.info()).lag());
      clock.timePasses(second.system(), Duration.ofMinutes(10));
      List<Delivery> due = result(again.readBatch(2, Duration.ofSeconds(5)));
      assertEquals(600, result(again.info()).lag(), "due now: 598 to deliver, 2 in flight");
      assertEquals(List.of(1L, 3L), due.stream().map(Delivery::sequence).toList(), "due once their time came");
      result(after.shutdown(), 20);
    } finally {
      second.shutdownTestKit();
    }
  }
}
