package dev.spool.redis;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * DEL of a persistent stream while many connections add to it: the adds caught by the deletion are
 * answered at once (the stream is created again by the next add, as in Redis), never left to the
 * engine's ask timeout, which once held every client of the stream for 5 s.
 */
class DeleteWhileAddingTest {

  @Test
  void addsCaughtByADeletionAreAnsweredAtOnceAndTheStreamIsCreatedAgain() throws Exception {
    Path dir = Files.createTempDirectory("spool-redis-delete");
    try (RedisTestServer server = RedisTestServer.start(ConfigFactory.parseString(
        "spool.redis.new-stream-durability = persistent\n"
            + "spool.persistence.journal-plugin = \"spool.journal.sqlite.journal\"\n"
            + "spool.persistence.snapshot-plugin = \"spool.journal.sqlite.snapshot-store\"\n"
            + "spool.journal.sqlite.path = \"" + dir.resolve("journal.db") + "\"\n"), dir)) {
      RedisCommands<String, String> admin = server.connect(RedisTestServer.ADMIN).sync();
      String kib = "x".repeat(1024);
      int clients = 10;
      AtomicBoolean stop = new AtomicBoolean();
      AtomicLong slowestNanos = new AtomicLong();
      AtomicLong added = new AtomicLong();
      ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
      CountDownLatch finished = new CountDownLatch(clients);
      List<StatefulRedisConnection<String, String>> connections = new ArrayList<>();
      for (int c = 0; c < clients; c++) {
        connections.add(server.connect(RedisTestServer.ADMIN));
      }
      for (int c = 0; c < clients; c++) {
        RedisCommands<String, String> client = connections.get(c).sync();
        new Thread(() -> {
          try {
            while (!stop.get()) {
              long started = System.nanoTime();
              try {
                client.xadd("s-deleted", Map.of("payload", kib));
                added.incrementAndGet();
              } catch (RedisCommandExecutionException e) {
                errors.add(e.getMessage());
              }
              slowestNanos.accumulateAndGet(System.nanoTime() - started, Math::max);
            }
          } finally {
            finished.countDown();
          }
        }, "adder-" + c).start();
      }
      for (int round = 0; round < 5; round++) {
        long before = added.get();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (added.get() < before + 200 && System.nanoTime() < deadline) {
          Thread.sleep(5);
        }
        assertThat(added.get()).as("adds go on between deletions").isGreaterThanOrEqualTo(before + 200);
        admin.del("s-deleted");
      }
      Thread.sleep(200);
      stop.set(true);
      assertThat(finished.await(30, TimeUnit.SECONDS)).isTrue();

      assertThat(errors).as("adds caught by a deletion may fail, but never wait out a timeout")
          .noneMatch(e -> e.contains("did not answer in time"));
      assertThat(TimeUnit.NANOSECONDS.toMillis(slowestNanos.get())).as("the slowest add, ms").isLessThan(2_000);
      assertThat(admin.xlen("s-deleted")).as("created again by the adds after the last deletion").isPositive();
      connections.forEach(StatefulRedisConnection::close);
    }
  }
}
