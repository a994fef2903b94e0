package dev.spool.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A partitioned queue over HTTP: declared with {@code partitions}, published to and read as one
 * queue (order kept per key), its partitions readable on their own as {@code queue%23p}; bad
 * values are 400 and create nothing, and a partition cannot be deleted on its own.
 */
class PartitionedRoutesTest {

  private static TestServer server;

  @BeforeAll
  static void start() {
    server = TestServer.start();
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
  }

  @Test
  void aPartitionedQueueIsPublishedToAndReadAsOneQueueInOrderPerKey() {
    TestServer.Response created = server.put("/api/v1/queues/orders", "{\"partitions\":3}");
    assertEquals(201, created.status(), created.body());
    assertEquals(3, created.json().path("settings").path("partitions").asInt());
    assertEquals(200, server.put("/api/v1/queues/orders", "{\"partitions\":3}").status(), "idempotent");
    assertEquals(409, server.put("/api/v1/queues/orders", "{\"partitions\":4}").status());
    assertEquals(201, server.put("/api/v1/queues/orders/consumers/c", "{\"prefetch\":100}").status());

    String payload = "x".repeat(1024);
    StringBuilder batch = new StringBuilder("{\"messages\":[");
    for (int i = 0; i < 60; i++) {
      batch.append(i == 0 ? "" : ",").append("{\"key\":\"k").append(i % 6).append("\",\"headers\":{\"n\":\"")
          .append(i / 6).append("\"},\"payload\":\"").append(payload).append("\"}");
    }
    TestServer.Response published = server.post("/api/v1/queues/orders/messages", batch.append("]}").toString());
    assertEquals(201, published.status(), published.body());

    Map<String, Integer> last = new HashMap<>();
    Set<Long> sequences = new HashSet<>();
    int read = 0;
    while (read < 60) {
      JsonNode deliveries = server.post("/api/v1/queues/orders/consumers/c/read?max=25&wait=PT2S", null)
          .json().path("deliveries");
      assertTrue(deliveries.size() > 0 && deliveries.size() <= 25, deliveries.toString());
      StringBuilder ack = new StringBuilder("{\"sequences\":[");
      for (int i = 0; i < deliveries.size(); i++) {
        JsonNode m = deliveries.get(i).path("message");
        String key = m.path("key").asText();
        int n = Integer.parseInt(m.path("headers").path("n").asText());
        assertEquals(last.getOrDefault(key, -1) + 1, n, "order of " + key);
        last.put(key, n);
        assertTrue(sequences.add(m.path("sequence").asLong()));
        ack.append(i == 0 ? "" : ",").append(m.path("sequence").asLong());
      }
      TestServer.Response acked = server.post("/api/v1/queues/orders/consumers/c/ack", ack.append("]}").toString());
      assertEquals(deliveries.size(), acked.json().path("acked").asInt(), acked.body());
      read += deliveries.size();
    }

    JsonNode info = server.get("/api/v1/queues/orders").json();
    assertEquals(60, info.path("stats").path("published").asLong());
    long perPartition = 0;
    for (int p = 0; p < 3; p++) {
      TestServer.Response partition = server.get("/api/v1/queues/orders%23" + p);
      assertEquals(200, partition.status(), partition.body());
      perPartition += partition.json().path("stats").path("published").asLong();
    }
    assertEquals(60, perPartition, "the partitions' figures add up to the queue's");
    assertEquals(0, server.get("/api/v1/queues/orders/consumers/c").json().path("lag").asLong());
    TestServer.Response partitionStream = server.get("/api/v1/queues/orders%231/consumers/c/stream");
    assertEquals(400, partitionStream.status(), partitionStream.body());
    assertTrue(partitionStream.json().path("message").asText().contains("through 'orders'"), partitionStream.body());
    TestServer.Response partitionPublish = server.post("/api/v1/queues/orders%231/messages", "{\"payload\":\"x\"}");
    assertEquals(400, partitionPublish.status(), partitionPublish.body());
    TestServer.Response partitionDelete = server.delete("/api/v1/queues/orders%231");
    assertEquals(400, partitionDelete.status(), partitionDelete.body());
    assertTrue(partitionDelete.json().path("message").asText().contains("delete the queue"), partitionDelete.body());
  }

  @Test
  void badPartitionCountsAre400AndCreateNothing() {
    for (String bad : new String[] {"0", "257", "-1", "\"two\"", "1.5"}) {
      TestServer.Response r = server.put("/api/v1/queues/bad-partitions", "{\"partitions\":" + bad + "}");
      assertEquals(400, r.status(), bad + " -> " + r.body());
    }
    TestServer.Response r = server.put("/api/v1/queues/bad-partitions", "{\"partitions\":0}");
    assertTrue(r.json().path("message").asText().contains("partitions"), r.body());
    assertEquals(404, server.get("/api/v1/queues/bad-partitions").status());
  }
}
