package dev.spool.system.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A partitioned queue across a member's kill -9: three members (separate JVMs, one PostgreSQL
 * journal), a persistent queue of 6 partitions spread by sharding. One producer publishes rounds of
 * one 1 KiB message per key (24 keys), each round retried with the same message ids through the next
 * member until confirmed; one consumer reads and acknowledges through the members in turn. The
 * member hosting the most partitions is killed under load (reads go through the two others, see
 * {@link Run#reader()}).
 *
 * <p>Afterwards, for every key: every confirmed message was delivered and acknowledged; no message
 * was delivered before one published earlier with its key had been (order per key: a redelivery may
 * repeat an earlier message, never skip one); no message whose acknowledgement was confirmed came
 * again; and a retried round appended nothing twice.
 */
class ClusterPartitionedTest {

  static final int PARTITIONS = 6;
  static final int KEYS = 24;
  static final String QUEUE = "orders";
  private static final ObjectMapper JSON = new ObjectMapper();

  @BeforeEach
  void postgres() throws Exception {
    ClusterNodes.requirePostgres();
  }

  @Test
  void orderPerKeyHoldsAcrossTheKillOfAMemberHostingPartitions() throws Exception {
    try (ClusterNodes nodes = new ClusterNodes("partitioned", 3)) {
      nodes.startAll();
      ClusterLoad http = new ClusterLoad(nodes, 0, 1, Duration.ZERO);
      HttpResponse<String> created = http.send(0, "PUT", "/api/v1/queues/" + QUEUE,
          "{\"durability\":\"persistent\",\"partitions\":" + PARTITIONS + "}");
      assertEquals(201, created.statusCode(), created.body());
      HttpResponse<String> consumer = http.send(1, "PUT", "/api/v1/queues/" + QUEUE + "/consumers/reader",
          "{\"startAt\":\"earliest\",\"ackMode\":\"explicit\",\"ackTimeout\":\"PT10S\",\"prefetch\":200}");
      assertEquals(201, consumer.statusCode(), consumer.body());

      int victim = 0;
      int most = -1;
      for (int i = 0; i < nodes.size(); i++) { // creating the queue started every partition
        int hosted = (int) nodes.hostedBy(i).stream().filter(q -> q.startsWith(QUEUE + "#")).count();
        if (hosted > most) {
          most = hosted;
          victim = i;
        }
      }
      Run run = new Run(nodes, http, victim);
      Thread producer = new Thread(run::produce, "producer");
      Thread reader = new Thread(run::consume, "consumer");
      producer.start();
      reader.start();
      Thread.sleep(12_000);
      long roundsBefore = run.rounds.get();
      nodes.kill9(victim);
      run.down.add(victim);
      Thread.sleep(20_000);
      run.producing.set(false);
      producer.join(60_000);
      long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
      while (!run.drained() && System.nanoTime() < deadline) {
        Thread.sleep(250);
      }
      run.consuming.set(false);
      reader.join(30_000);

      String summary = "partitioned queue: " + PARTITIONS + " partitions, " + KEYS + " keys; killed member " + victim
          + " hosting " + most + " partitions after " + roundsBefore + " rounds; " + run.rounds.get()
          + " rounds confirmed, " + run.retries.get() + " publish retries, " + run.deliveries.get() + " deliveries, "
          + run.acked.size() + " acks confirmed";
      System.out.println(summary);
      assertTrue(most > 0, "the killed member hosted partitions: " + summary);
      assertTrue(run.rounds.get() > roundsBefore, "rounds were confirmed after the kill: " + summary);
      assertTrue(run.drained(), "every confirmed message was acknowledged: " + run.missing() + "; " + summary
          + "; logs in " + nodes.dir());
      assertEquals(List.of(), run.problems, summary + "; logs in " + nodes.dir());
      assertEquals(List.of(), nodes.grepAll(ClusterNodes.JOURNAL_CONFLICTS), "journal conflicts");
    }
  }

  /** What the producer was told and the consumer saw. Messages are named {@code key/round}. */
  static final class Run {
    final ClusterNodes nodes;
    final ClusterLoad http;
    final AtomicBoolean producing = new AtomicBoolean(true);
    final AtomicBoolean consuming = new AtomicBoolean(true);
    final Set<Integer> down = ConcurrentHashMap.newKeySet();
    final AtomicLong rounds = new AtomicLong();
    final AtomicLong retries = new AtomicLong();
    final AtomicLong deliveries = new AtomicLong();
    /** Each message's sequence, as its confirmed publish returned it. */
    final Map<String, Long> confirmed = new ConcurrentHashMap<>();
    final Set<String> acked = ConcurrentHashMap.newKeySet();
    /** Per key, the highest round delivered so far. */
    final Map<String, Integer> highest = new HashMap<>();
    final List<String> problems = new CopyOnWriteArrayList<>();
    final AtomicInteger next = new AtomicInteger();

    /** The member to be killed: reads do not go through it (see {@link #reader()}). */
    final int victim;

    Run(ClusterNodes nodes, ClusterLoad http, int victim) {
      this.nodes = nodes;
      this.http = http;
      this.victim = victim;
    }

    /** The next member that is not known to be down. */
    int member() {
      for (int i = 0; i < nodes.size(); i++) {
        int m = Math.floorMod(next.getAndIncrement(), nodes.size());
        if (!down.contains(m)) {
          return m;
        }
      }
      return 0;
    }

    /**
     * The next member for a read: not the one to be killed. A read answered by a member as it dies
     * is lost in transit; Spool has delivered it and redelivers it after the ack timeout, after later
     * messages of its key, as any queue that leases deliveries must. That is not the partitions'
     * order, which this test is about; publishes and acknowledgements still go through every member.
     */
    int reader() {
      int m = member();
      return m == victim ? member() : m;
    }

    void produce() {
      String payload = "x".repeat(1024);
      for (int round = 0; producing.get(); round++) {
        StringBuilder body = new StringBuilder("{\"messages\":[");
        for (int k = 0; k < KEYS; k++) {
          String name = "k" + k + "/" + round;
          UUID id = UUID.nameUUIDFromBytes(name.getBytes(StandardCharsets.UTF_8));
          body.append(k == 0 ? "" : ",").append("{\"key\":\"k").append(k).append("\",\"id\":\"").append(id)
              .append("\",\"headers\":{\"m\":\"").append(name).append("\"},\"payload\":\"").append(payload)
              .append("\"}");
        }
        String batch = body.append("]}").toString();
        while (true) { // the same round, the same ids, until confirmed: what was appended before is not appended again
          try {
            HttpResponse<String> r = http.send(member(), "POST", "/api/v1/queues/" + QUEUE + "/messages", batch);
            if (r.statusCode() == 201) {
              JsonNode sequences = JSON.readTree(r.body()).path("sequences");
              for (int k = 0; k < KEYS; k++) {
                Long before = confirmed.put("k" + k + "/" + round, sequences.get(k).asLong());
                if (before != null && before != sequences.get(k).asLong()) {
                  problems.add("k" + k + "/" + round + " confirmed as " + before + " and " + sequences.get(k));
                }
              }
              rounds.incrementAndGet();
              break;
            }
          } catch (Exception e) {
            // unreachable member: the next one
          }
          retries.incrementAndGet();
          pause(100);
        }
        pause(50);
      }
    }

    void consume() {
      while (consuming.get()) {
        try {
          HttpResponse<String> r = http.send(reader(), "POST",
              "/api/v1/queues/" + QUEUE + "/consumers/reader/read?max=100&wait=PT1S", null);
          if (r.statusCode() != 200) {
            pause(100);
            continue;
          }
          JsonNode batch = JSON.readTree(r.body()).path("deliveries");
          List<Long> sequences = new ArrayList<>();
          List<String> names = new ArrayList<>();
          for (JsonNode d : batch) {
            JsonNode m = d.path("message");
            String name = m.path("headers").path("m").asText();
            deliveries.incrementAndGet();
            seen(name, m.path("sequence").asLong());
            sequences.add(m.path("sequence").asLong());
            names.add(name);
          }
          for (int i = 0; i < sequences.size(); i++) {
            pendingAcks.put(sequences.get(i), names.get(i));
          }
          acknowledge();
        } catch (Exception e) {
          pause(100);
        }
      }
    }

    /** Deliveries not yet acknowledged for sure, by sequence: an ack that failed is sent again with the next. */
    final Map<Long, String> pendingAcks = new HashMap<>();

    private void acknowledge() throws Exception {
      if (pendingAcks.isEmpty()) {
        return;
      }
      List<Long> sequences = new ArrayList<>(pendingAcks.keySet());
      HttpResponse<String> a = http.send(member(), "POST", "/api/v1/queues/" + QUEUE + "/consumers/reader/ack",
          "{\"sequences\":" + sequences + "}");
      if (a.statusCode() != 200) {
        return; // a partition is moving: the same acks go again with the next read's
      }
      JsonNode answer = JSON.readTree(a.body());
      Set<Long> unknown = new TreeSet<>();
      answer.path("unknown").forEach(s -> unknown.add(s.asLong()));
      for (Long seq : sequences) {
        String name = pendingAcks.remove(seq);
        if (!unknown.contains(seq)) {
          acked.add(name); // not delivered in its partition now (it restarted): it comes again and is acked then
        }
      }
    }

    private void seen(String name, long sequence) {
      String key = name.substring(0, name.indexOf('/'));
      int round = Integer.parseInt(name.substring(name.indexOf('/') + 1));
      int before = highest.getOrDefault(key, -1);
      if (round > before + 1) {
        problems.add(name + " (sequence " + sequence + ") delivered before " + key + "/" + (before + 1));
      }
      highest.put(key, Math.max(before, round));
      if (acked.contains(name)) {
        problems.add(name + " (sequence " + sequence + ") delivered again after its acknowledgement was confirmed");
      }
      Long published = confirmed.get(name);
      if (published != null && published != sequence) {
        problems.add(name + " delivered as sequence " + sequence + ", published as " + published + ": appended twice");
      }
    }

    boolean drained() {
      return acked.containsAll(confirmed.keySet());
    }

    String missing() {
      Set<String> left = new TreeSet<>(confirmed.keySet());
      left.removeAll(acked);
      return left.size() + " not acknowledged" + (left.isEmpty() ? "" : ", first " + left.iterator().next());
    }

    private static void pause(long millis) {
      try {
        Thread.sleep(millis);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
