package dev.spool.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.RedisFuture;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.api.sync.RedisCommands;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Plain adds of many connections to one stream, published together by its appender, through real connections. */
class ConcurrentAddsTest extends SharedServerTest {

  /** Adds {@code count} entries "connection:i" of 1 KiB, pipelined in writes of {@code pipeline}; the ids in order. */
  static List<String> add(StatefulRedisConnection<String, String> connection, String stream, int connectionNo,
      int count, int pipeline) throws Exception {
    String kib = "x".repeat(1024);
    List<String> ids = new ArrayList<>();
    RedisAsyncCommands<String, String> async = connection.async();
    connection.setAutoFlushCommands(pipeline == 1);
    for (int i = 0; i < count; i += pipeline) {
      List<RedisFuture<String>> sent = new ArrayList<>();
      for (int k = i; k < Math.min(count, i + pipeline); k++) {
        sent.add(async.xadd(stream, Map.of("payload", connectionNo + ":" + k + ":" + kib)));
      }
      if (pipeline > 1) {
        connection.flushCommands();
      }
      for (RedisFuture<String> f : sent) {
        ids.add(f.get(30, TimeUnit.SECONDS));
      }
    }
    return ids;
  }

  @Test
  void twentyConnectionsAddingAtOnceToOneStreamGetDistinctIdsIncreasingPerConnection() throws Exception {
    int connections = 20;
    int perConnection = 500;
    List<StatefulRedisConnection<String, String>> opened = new ArrayList<>();
    for (int c = 0; c < connections; c++) {
      opened.add(server.connect(RedisTestServer.ADMIN));
    }
    List<CompletableFuture<List<String>>> runs = new ArrayList<>();
    for (int c = 0; c < connections; c++) {
      int no = c;
      // Every fourth connection pipelines 25 adds a write; the others wait for each reply.
      int pipeline = c % 4 == 0 ? 25 : 1;
      runs.add(CompletableFuture.supplyAsync(() -> {
        try {
          return add(opened.get(no), "s-many", no, perConnection, pipeline);
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      }, runnable -> new Thread(runnable, "adder-" + no).start()));
    }
    List<Long> all = new ArrayList<>();
    for (CompletableFuture<List<String>> run : runs) {
      List<String> ids = run.get(120, TimeUnit.SECONDS);
      assertThat(ids).hasSize(perConnection);
      List<Long> sequences = ids.stream().map(EntryIds::parse).map(EntryIds.Id::ms).toList();
      assertThat(sequences).isSorted().doesNotHaveDuplicates();
      all.addAll(sequences);
    }
    assertThat(new HashSet<>(all)).hasSize(connections * perConnection);
    assertThat(admin.xlen("s-many")).isEqualTo(connections * perConnection);
    // Each connection's entries are stored in the order it sent them.
    int[] next = new int[connections];
    String from = "-";
    int read = 0;
    while (read < connections * perConnection) {
      List<StreamMessage<String, String>> page = admin.xrange("s-many", io.lettuce.core.Range.create(from, "+"),
          io.lettuce.core.Limit.from(1000));
      for (StreamMessage<String, String> m : page) {
        String[] parts = m.getBody().get("payload").split(":", 3);
        int connection = Integer.parseInt(parts[0]);
        assertThat(Integer.parseInt(parts[1])).isEqualTo(next[connection]++);
        assertThat(parts[2]).hasSize(1024);
      }
      read += page.size();
      from = "(" + page.get(page.size() - 1).getId();
    }
  }

  @Test
  void aProducerAddingBesideAnAdminNeverCreatesTheStream() throws Exception {
    RedisCommands<String, String> producer = server.connect(RedisTestServer.PRODUCER).sync();
    RedisStreamsTest.assertThatFails(() -> producer.xadd("orders-missing", Map.of("payload", "x")),
        "NOPERM this token may not create streams");
    assertThat(admin.exists("orders-missing")).isZero();

    // Both pipeline into one missing stream at once: their adds may share publishes. The admin's
    // adds all land; the producer's land only once the stream exists, else fail as they would alone.
    StatefulRedisConnection<String, String> adminConnection = server.connect(RedisTestServer.ADMIN);
    StatefulRedisConnection<String, String> producerConnection = server.connect(RedisTestServer.PRODUCER);
    CompletableFuture<List<String>> admins = CompletableFuture.supplyAsync(() -> {
      try {
        return add(adminConnection, "orders-mixed", 0, 300, 30);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    producerConnection.setAutoFlushCommands(false);
    List<RedisFuture<String>> produced = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      produced.add(producerConnection.async().xadd("orders-mixed", Map.of("payload", "p" + i)));
      if (i % 30 == 29) {
        producerConnection.flushCommands();
      }
    }
    assertThat(admins.get(60, TimeUnit.SECONDS)).hasSize(300);
    int landed = 0;
    for (RedisFuture<String> f : produced) {
      try {
        f.get(30, TimeUnit.SECONDS);
        landed++;
      } catch (ExecutionException e) {
        assertThat(e.getCause().getMessage()).startsWith("NOPERM this token may not create streams");
      }
    }
    assertThat(admin.xlen("orders-mixed")).isEqualTo(300 + landed);
  }
}
