package dev.spool.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.spool.Durability;
import dev.spool.Message;
import dev.spool.QueuePublisher;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import dev.spool.SpoolException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.eventstream.EventStream;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.event.Logging;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tiered queues deleted while publishers fill them, so that segment writes (and journal writes and
 * snapshots) are under way when each queue stops. Their outcomes then reach a stopped actor:
 * nothing may fail on the way (a write's empty outcome once made Pekko's dead-letter logger fail
 * with a NullPointerException on every such deletion), publishes get their answer, the next queue
 * of the name works, and no row of a deleted queue stays behind.
 */
class TieredQueueDeletionTest {

  @Test
  void queuesDeletedWithSegmentWritesUnderWayLeaveNoFailureBehind(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("spool.db");
    ActorTestKit kit = ActorTestKit.create("tiered-deletion",
        TieredQueueTest.config(file).withFallback(
            ConfigFactory.parseString("spool.storage.hot-bytes-per-queue = 256KiB")));
    ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
    ActorRef<Logging.Error> errors = kit.spawn(Behaviors.receiveMessage(error -> {
      failures.add(error.logSource() + ": " + error.cause() + " " + error.message());
      return Behaviors.same();
    }));
    kit.system().eventStream().tell(new EventStream.Subscribe<>(Logging.Error.class, errors));
    try {
      Spool spool = Spool.create(kit.system());
      AtomicLong published = new AtomicLong();
      for (int cycle = 0; cycle < 12; cycle++) {
        spool.createQueue("orders", QueueSettings.defaults().withDurability(Durability.PERSISTENT))
            .toCompletableFuture().get(30, TimeUnit.SECONDS);
        QueuePublisher publisher = spool.createPublisher("orders", "shop");
        List<Message> batch = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
          batch.add(Message.of("order", TieredQueueTest.payload(i)));
        }
        long cycleStart = published.get();
        Thread filling = new Thread(() -> {
          try {
            while (true) {
              publisher.publishAll(batch).toCompletableFuture().get(30, TimeUnit.SECONDS);
              published.addAndGet(batch.size());
            }
          } catch (ExecutionException e) {
            if (!(e.getCause() instanceof SpoolException.QueueNotFound)) {
              failures.add("publish: " + e.getCause());
            }
          } catch (Exception e) {
            failures.add("publish: " + e);
          }
        });
        filling.start();
        // Past the first segment (1,024 messages), so that segments are stored; then a little more
        // each cycle, so that deletions meet writes at different points.
        Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> published.get() - cycleStart >= 1_200);
        Thread.sleep(30L * cycle);
        spool.deleteQueue("orders").toCompletableFuture().get(30, TimeUnit.SECONDS);
        filling.join(TimeUnit.SECONDS.toMillis(35));
        assertTrue(!filling.isAlive(), "the publisher learned its queue is gone");
      }
      // Writes under way at a deletion end after it: they leave no row of a deleted queue behind.
      Awaitility.await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
        assertEquals(0, rows(file, "SELECT count(*) FROM segment"), "segment rows");
        assertEquals(0, rows(file, "SELECT count(*) FROM journal WHERE persistence_id LIKE 'spool-queue|%'"),
            "events of the deleted queues");
        assertEquals(0, rows(file, "SELECT count(*) FROM snapshot WHERE persistence_id LIKE 'spool-queue|%'"),
            "snapshots of the deleted queues");
      });
      assertEquals(List.of(), new ArrayList<>(failures));
    } finally {
      kit.shutdownTestKit();
    }
  }

  private static long rows(Path file, String count) throws Exception {
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement();
        ResultSet r = s.executeQuery(count)) {
      r.next();
      return r.getLong(1);
    }
  }
}
