package dev.spool;

import static dev.spool.Await.failure;
import static dev.spool.Await.result;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * The disk alarm in a running engine on the embedded SQLite journal: free space measured by a
 * probe the test sets, checked on the janitor's tick under {@link ManualTime}; and, with the real
 * file system, a limit larger than any disk.
 */
class DiskAlarmEngineTest {

  private static final long GIB = 1L << 30;
  private static final long MIB = 1L << 20;

  static Config config(Path file, String diskFreeLimit) {
    return ConfigFactory.parseMap(Map.of(
            "spool.journal.sqlite.path", file.toString(),
            "spool.persistence.journal-plugin", "spool.journal.sqlite.journal",
            "spool.persistence.snapshot-plugin", "spool.journal.sqlite.snapshot-store",
            "spool.storage.disk-free-limit", diskFreeLimit))
        .withFallback(ConfigFactory.load());
  }

  private static List<Message> messages(int n, int size, int from) {
    return IntStream.range(from, from + n).mapToObj(i -> {
      byte[] payload = new byte[size];
      Arrays.fill(payload, (byte) ('a' + i % 26));
      return Message.of("order", payload);
    }).toList();
  }

  /** Events until none comes for a while: the disk alarm's, whichever arrived. */
  private static List<SpoolEvent> diskEvents(TestProbe<SpoolEvent> probe) {
    List<SpoolEvent> got = new ArrayList<>();
    while (true) {
      try {
        SpoolEvent e = probe.receiveMessage(Duration.ofMillis(500));
        if (e instanceof SpoolEvent.DiskLow || e instanceof SpoolEvent.DiskNormal) {
          got.add(e);
        }
      } catch (AssertionError quiet) {
        return got;
      }
    }
  }

  /** Waits until the janitor has taken in a measure of {@code bytes}. */
  private static void measured(Spool spool, long bytes) {
    await().until(() -> result(spool.diskStats()).freeBytes() == bytes);
  }

  @Test
  void whileDiskSpaceIsLowDurablePublishesFailAndEverythingElseGoesOnThenTheyResume(@TempDir Path dir)
      throws Exception {
    Path file = dir.resolve("journal").resolve("spool.db");
    ActorTestKit kit = ActorTestKit.create("disk", ManualTime.config().withFallback(config(file, "1GiB")));
    ManualClock clock = new ManualClock();
    AtomicLong free = new AtomicLong(10 * GIB);
    List<Long> confirmed = new ArrayList<>();
    ListAppender<ILoggingEvent> logs = new ListAppender<>();
    logs.start();
    Logger janitorLog = (Logger) LoggerFactory.getLogger("dev.spool.actor.Janitor");
    janitorLog.addAppender(logs);
    try {
      SpoolSettings settings = SpoolSettings.create(kit.system()).withClock(clock);
      assertEquals(file, settings.disk().journalFile(), "the embedded journal's file is watched");
      Spool spool = Spool.create(kit.system(), settings.withDisk(settings.disk().withFreeSpace(path -> free.get())));
      TestProbe<SpoolEvent> events = Events.probe(kit);
      result(spool.ready());
      measured(spool, 10 * GIB); // the janitor measures as it starts; a tick finding one under way skips its own
      result(spool.createQueue("orders", QueueSettings.defaults().withDurability(Durability.PERSISTENT)));
      result(spool.createQueue("clicks", QueueSettings.defaults()));
      QueuePublisher orders = spool.createPublisher("orders", "shop");
      QueuePublisher clicks = spool.createPublisher("clicks", "web");
      QueueConsumer billing = spool.createConsumer("orders", ConsumerSettings.named("billing").prefetch(1000));
      result(billing.ready());
      for (int batch = 0; batch < 10; batch++) {
        confirmed.addAll(result(orders.publishAll(messages(100, 1024, batch * 100))));
      }

      free.set(600 * MIB);
      clock.timePasses(kit.system(), Duration.ofSeconds(1));
      SpoolEvent.DiskLow low = Events.next(events, SpoolEvent.DiskLow.class, e -> true);
      assertEquals(new SpoolEvent.DiskLow(clock.instant(), 600 * MIB, GIB, file.toString()), low);
      assertEquals(new DiskStats(true, 600 * MIB, GIB, file.toString()), result(spool.diskStats()));

      SpoolException refused = failure(orders.publishAll(messages(10, 1024, 0)), SpoolException.Code.QueueFull);
      assertTrue(refused.getMessage().contains("disk space is low"), refused.getMessage());
      assertTrue(refused.getMessage().contains(Long.toString(600 * MIB)), refused.getMessage());
      assertTrue(refused.getMessage().contains(file.toString()), refused.getMessage());
      failure(orders.publish(Message.of("order", new byte[64 * 1024])), SpoolException.Code.QueueFull);

      assertEquals(20, result(clicks.publishAll(messages(20, 64 * 1024, 0))).size(), "transient queues go on");
      List<Delivery> read = result(billing.readBatch(300));
      assertEquals(confirmed.subList(0, 300), read.stream().map(Delivery::sequence).toList());
      assertEquals(300, result(billing.acknowledgeBatch(read)), "acknowledgements are journaled while low");

      // More ticks, still low, some just above the limit but within its margin: no new event, still refused.
      for (long stillLow : new long[] {500 * MIB, GIB + 10 * MIB, GIB + 40 * MIB}) {
        free.set(stillLow);
        clock.timePasses(kit.system(), Duration.ofSeconds(1));
        measured(spool, stillLow);
      }
      failure(orders.publishAll(messages(10, 1024, 0)), SpoolException.Code.QueueFull);
      assertEquals(List.of(), diskEvents(events), "DiskLow once per transition, not per tick");

      free.set(5 * GIB);
      clock.timePasses(kit.system(), Duration.ofSeconds(1));
      SpoolEvent.DiskNormal normal = Events.next(events, SpoolEvent.DiskNormal.class, e -> true);
      assertEquals(new SpoolEvent.DiskNormal(clock.instant(), 5 * GIB, GIB, file.toString()), normal);
      for (int batch = 10; batch < 15; batch++) {
        confirmed.addAll(result(orders.publishAll(messages(100, 1024, batch * 100))));
      }
      free.set(4 * GIB);
      clock.timePasses(kit.system(), Duration.ofSeconds(1));
      measured(spool, 4 * GIB);
      assertEquals(List.of(), diskEvents(events), "DiskNormal once");
      assertEquals(new DiskStats(false, 4 * GIB, GIB, file.toString()), result(spool.diskStats()));
      List<String> alarmLogs = logs.list.stream()
          .filter(e -> e.getFormattedMessage().startsWith("disk space"))
          .map(e -> e.getLevel() + " " + e.getFormattedMessage().split(":")[0])
          .toList();
      assertEquals(List.of("WARN disk space low", "INFO disk space back to normal"), alarmLogs,
          "one line per transition, none per refused publish or tick");
      result(spool.shutdown());
    } finally {
      janitorLog.detachAppender(logs);
      kit.shutdownTestKit();
    }

    // Nothing confirmed and not acknowledged was lost: a new engine on the same file has all of it.
    Spool again = Spool.start(config(file, "1GiB"));
    try {
      result(again.ready());
      List<Message> retained = result(again.browse("orders", 1, 2000));
      assertEquals(confirmed.subList(300, confirmed.size()), retained.stream().map(Message::sequence).toList());
      for (int i = 0; i < retained.size(); i++) {
        byte[] expected = new byte[1024];
        Arrays.fill(expected, (byte) ('a' + (300 + i) % 26));
        assertArrayEquals(expected, retained.get(i).payload(), "message " + retained.get(i).sequence());
      }
      QueueConsumer billing = again.consumer("orders", "billing");
      assertEquals(confirmed.get(300), result(billing.readBatch(1, Duration.ofSeconds(5))).get(0).sequence(),
          "the consumer goes on after what it acknowledged while the disk was low");
    } finally {
      result(again.shutdown());
    }
  }

  /** A limit larger than any disk: the engine sees "a tiny disk" with the real file system. */
  @Test
  void aLimitOverTheDisksFreeSpaceRefusesDurablePublishesFromTheStart(@TempDir Path dir) {
    Path file = dir.resolve("journal").resolve("spool.db");
    Spool spool = Spool.start(config(file, "1000TiB"));
    try {
      result(spool.ready());
      result(spool.createQueue("orders", QueueSettings.defaults().withDurability(Durability.PERSISTENT)));
      result(spool.createQueue("clicks", QueueSettings.defaults()));
      QueuePublisher orders = spool.createPublisher("orders", "shop");
      SpoolException refused = await().until(
          () -> {
            try {
              orders.publish(Message.of("order", new byte[1024])).toCompletableFuture().join();
              return null;
            } catch (java.util.concurrent.CompletionException e) {
              return (SpoolException) e.getCause();
            }
          },
          e -> e != null);
      assertEquals(SpoolException.Code.QueueFull, refused.code());
      assertTrue(refused.getMessage().contains("under spool.storage.disk-free-limit of " + (1000L << 40)),
          refused.getMessage());
      assertEquals(10, result(spool.createPublisher("clicks", "web").publishAll(messages(10, 1024, 0))).size());
    } finally {
      result(spool.shutdown());
    }
  }
}
