package dev.spool.system.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Load on a {@link ClusterNodes} cluster through its HTTP API, and what it was told, so that a test
 * can disrupt members meanwhile and check every promise afterwards. Per queue (persistent, with a
 * retention that keeps acknowledged messages browsable), one producer thread publishes batches of
 * 1 KiB messages and records each confirmed sequence; one consumer thread reads (HTTP pull, explicit
 * acks), checks each payload and acknowledges, recording the acknowledgements Spool confirmed. Both
 * go through every member in turn and simply try the next one when a request fails.
 *
 * <p>Each message carries its queue and a counter in its payload; a counter is never sent twice (a
 * failed publish is retried with new counters), so a counter found twice is a duplicate whatever the
 * publish's outcome was. A publish that failed or timed out is uncertain: it may be in the log or not.
 */
final class ClusterLoad {

  static final int PAYLOAD = 1024;
  /**
   * Most deliveries one read asks for, and messages one browse: a reply from another member must
   * fit in one Artery frame (256 KiB by default), or it is dropped and the request times out.
   */
  static final int PAGE = 100;
  static final String CONSUMER = "reader";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String TOKEN = "Bearer " + ClusterNodes.ADMIN;

  /** Longer than the service's ask timeout (5 s), so that its own answer (503 Timeout) arrives first. */
  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(7);

  private final ClusterNodes nodes;
  private final int batch;
  private final long pauseMillis;
  private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(2)).build();
  private final List<QueueState> queues = new ArrayList<>();
  private final List<Thread> threads = new ArrayList<>();
  private final List<String> problems = new CopyOnWriteArrayList<>();
  private final Map<String, AtomicLong> failures = new ConcurrentHashMap<>();
  /** The queues whose consumer had not committed every confirmed message when {@link #drain} gave up. */
  private final List<QueueState> undrained = new CopyOnWriteArrayList<>();
  private volatile boolean producing;
  private volatile boolean consuming;
  private volatile long disruptedAt;

  /** What one queue was sent and told. Sequences map to counters. */
  static final class QueueState {
    final String name;
    final int index;
    final AtomicLong nextCounter = new AtomicLong();
    final Map<Long, Long> confirmed = new ConcurrentHashMap<>();
    final Set<Long> acked = new ConcurrentSkipListSet<>();
    final Set<Long> delivered = new ConcurrentSkipListSet<>();
    /** per sequence, what this client saw: each attempt delivered to it and each acknowledgement's outcome */
    final Map<Long, List<String>> seen = new ConcurrentHashMap<>();
    final AtomicLong uncertain = new AtomicLong();
    final AtomicLong deliveries = new AtomicLong();
    final AtomicLong ackedDeliveredAgain = new AtomicLong();
    /** nanoTime of the first confirmed publish sent after the disruption; 0 until then */
    volatile long servedAgainAt;
    /** the consumer's contiguous confirmed acknowledgements when the disruption began */
    volatile long ackedPrefixAtDisruption = -1;
    /** the first sequence delivered after the disruption (a redelivery included) */
    volatile long firstDeliveryAfterDisruption = -1;

    QueueState(String name, int index) {
      this.name = name;
      this.index = index;
    }

    /** The highest sequence up to which every sequence was confirmed acknowledged (0 for none). */
    long ackedPrefix() {
      long s = 0;
      while (acked.contains(s + 1)) {
        s++;
      }
      return s;
    }
  }

  ClusterLoad(ClusterNodes nodes, int queueCount, int batch, Duration pause) {
    this.nodes = nodes;
    this.batch = batch;
    this.pauseMillis = pause.toMillis();
    for (int i = 0; i < queueCount; i++) {
      queues.add(new QueueState(String.format("cq-%02d", i), i));
    }
  }

  List<QueueState> queues() {
    return queues;
  }

  /** Those of {@code names} that are queues of this load, sorted. */
  Set<String> ofThese(Set<String> names) {
    Set<String> mine = new java.util.TreeSet<>(names);
    mine.retainAll(queues.stream().map(q -> q.name).toList());
    return mine;
  }

  List<String> problems() {
    return problems;
  }

  /** Creates every queue through member {@code i % n} and its consumer through the next member. */
  void createQueues() throws Exception {
    int n = nodes.size();
    for (QueueState q : queues) {
      expect(send(q.index % n, "PUT", "/api/v1/queues/" + q.name,
          "{\"durability\":\"persistent\",\"retention\":\"PT1H\"}"), 201, "create " + q.name);
      expect(send((q.index + 1) % n, "PUT", "/api/v1/queues/" + q.name + "/consumers/" + CONSUMER,
          "{\"startAt\":\"earliest\",\"ackMode\":\"explicit\",\"ackTimeout\":\"PT10S\",\"prefetch\":200}"), 201,
          "create the consumer of " + q.name);
    }
  }

  private static void expect(HttpResponse<String> r, int status, String what) {
    if (r.statusCode() != status) {
      throw new AssertionError(what + ": " + r.statusCode() + " " + r.body());
    }
  }

  /** Starts a producer and a consumer thread per queue. */
  void start() {
    producing = true;
    consuming = true;
    for (QueueState q : queues) {
      threads.add(thread("produce-" + q.name, () -> produce(q)));
      threads.add(thread("consume-" + q.name, () -> consume(q)));
    }
  }

  private static Thread thread(String name, Runnable body) {
    Thread t = new Thread(body, name);
    t.setDaemon(true);
    t.start();
    return t;
  }

  /**
   * From now on the first confirmed publish of each queue sent after this counts as its serving
   * again; until each queue served, a probe publishes one message to it every
   * {@value #PROBE_EVERY_MILLIS} ms through the members not in {@code down} without waiting for
   * the previous answer, so that the time measured does not depend on how long a failing request
   * took.
   */
  void disrupted(Set<Integer> down) {
    for (QueueState q : queues) {
      q.ackedPrefixAtDisruption = q.ackedPrefix();
      q.servedAgainAt = 0;
      q.firstDeliveryAfterDisruption = -1;
    }
    disruptedAt = System.nanoTime();
    long started = disruptedAt;
    List<Integer> up = ClusterNodes.indexes(nodes.size()).stream().filter(i -> !down.contains(i)).toList();
    threads.add(thread("probe", () -> {
      int round = 0;
      while (producing && disruptedAt == started && queues.stream().anyMatch(q -> q.servedAgainAt == 0)) {
        for (QueueState q : queues) {
          if (q.servedAgainAt == 0) {
            probe(q, up.get((q.index + round) % up.size()));
          }
        }
        round++;
        sleep(PROBE_EVERY_MILLIS);
      }
    }));
  }

  private static final long PROBE_EVERY_MILLIS = 500;

  private void probe(QueueState q, int member) {
    long counter = q.nextCounter.getAndIncrement();
    long sent = System.nanoTime();
    ObjectNode body = JSON.createObjectNode().put("payload", payload(q.name, counter));
    client.sendAsync(request(member, "POST", "/api/v1/queues/" + q.name + "/messages", body.toString(),
            Duration.ofSeconds(30)), HttpResponse.BodyHandlers.ofString())
        .whenComplete((r, failure) -> {
          if (failure == null && r.statusCode() == 201) {
            try {
              confirmed(q, counter, JSON.readTree(r.body()).get("sequences"), sent);
              return;
            } catch (IOException e) {
              failed("probe " + e.getClass().getSimpleName());
            }
          } else {
            failed("probe " + (failure != null ? failure.getClass().getSimpleName()
                : r.statusCode() + " " + errorCode(r.body())));
          }
          q.uncertain.incrementAndGet();
        });
  }

  /** Records that the messages from counter {@code first} on were confirmed at {@code sequences}. */
  private void confirmed(QueueState q, long first, JsonNode sequences, long sent) {
    for (int k = 0; k < sequences.size(); k++) {
      Long before = q.confirmed.put(sequences.get(k).asLong(), first + k);
      if (before != null) {
        problems.add(q.name + ": sequence " + sequences.get(k).asLong() + " confirmed for counter " + before
            + " and again for counter " + (first + k));
      }
    }
    synchronized (q) {
      if (disruptedAt != 0 && sent >= disruptedAt && q.servedAgainAt == 0) {
        q.servedAgainAt = System.nanoTime();
      }
    }
  }

  long disruptedAt() {
    return disruptedAt;
  }

  /** Waits until every queue confirmed a publish sent after {@link #disrupted()}, or {@code within} passed. */
  boolean awaitServedAgain(Duration within) throws InterruptedException {
    long deadline = System.nanoTime() + within.toNanos();
    while (System.nanoTime() < deadline) {
      if (queues.stream().allMatch(q -> q.servedAgainAt != 0)) {
        return true;
      }
      Thread.sleep(100);
    }
    return false;
  }

  /** Milliseconds from the disruption until each queue served again; -1 for a queue that did not. */
  Map<String, Long> servedAgainMillis() {
    Map<String, Long> m = new TreeMap<>();
    for (QueueState q : queues) {
      m.put(q.name, q.servedAgainAt == 0 ? -1 : TimeUnit.NANOSECONDS.toMillis(q.servedAgainAt - disruptedAt));
    }
    return m;
  }

  /**
   * Stops the producers and lets the consumers read and acknowledge until each consumer's committed
   * position, asked through {@code member}, covers every confirmed message of its queue, or
   * {@code within} passed. (An acknowledgement whose answer was lost may have been applied: the
   * committed position, not the confirmed acknowledgements, says when a consumer is done.)
   */
  boolean drain(Duration within, int member) throws Exception {
    producing = false;
    long deadline = System.nanoTime() + within.toNanos();
    List<QueueState> left = new ArrayList<>(queues);
    undrained.clear();
    while (System.nanoTime() < deadline) {
      for (var it = left.iterator(); it.hasNext(); ) {
        QueueState q = it.next();
        long last = q.confirmed.keySet().stream().mapToLong(Long::longValue).max().orElse(0);
        HttpResponse<String> r = send(member, "GET", "/api/v1/queues/" + q.name + "/consumers/" + CONSUMER, null);
        if (r.statusCode() == 200 && JSON.readTree(r.body()).get("committed").asLong() >= last) {
          it.remove();
        }
      }
      if (left.isEmpty()) {
        return true;
      }
      Thread.sleep(500);
    }
    undrained.addAll(left);
    return false;
  }

  void stop() throws InterruptedException {
    producing = false;
    consuming = false;
    for (Thread t : threads) {
      t.join(TimeUnit.SECONDS.toMillis(15));
    }
  }

  // ---- producing

  private void produce(QueueState q) {
    int member = q.index % nodes.size();
    while (producing) {
      long first = q.nextCounter.getAndAdd(batch);
      ArrayNode messages = JSON.createArrayNode();
      for (long c = first; c < first + batch; c++) {
        messages.addObject().put("payload", payload(q.name, c));
      }
      ObjectNode body = JSON.createObjectNode();
      body.set("messages", messages);
      long sent = System.nanoTime();
      boolean ok = false;
      try {
        HttpResponse<String> r = send(member, "POST", "/api/v1/queues/" + q.name + "/messages", body.toString());
        if (r.statusCode() == 201) {
          JsonNode sequences = JSON.readTree(r.body()).get("sequences");
          if (sequences.size() != batch) {
            problems.add(q.name + ": " + batch + " published, " + sequences.size() + " sequences confirmed: " + r.body());
          }
          confirmed(q, first, sequences, sent);
          ok = true;
        } else {
          failed("publish " + r.statusCode() + " " + errorCode(r.body()));
        }
      } catch (IOException e) {
        failed("publish " + e.getClass().getSimpleName());
      } catch (InterruptedException e) {
        return;
      }
      if (!ok) {
        q.uncertain.addAndGet(batch);
      }
      member = (member + 1) % nodes.size();
      sleep(ok ? pauseMillis : 50);
    }
  }

  /** The payload of message {@code counter} of {@code queue}: both, then characters drawn from them. */
  static String payload(String queue, long counter) {
    StringBuilder b = new StringBuilder(PAYLOAD).append(queue).append(' ').append(counter).append(' ');
    SplittableRandom r = new SplittableRandom(queue.hashCode() * 31L + counter);
    while (b.length() < PAYLOAD) {
      b.append((char) ('a' + r.nextInt(26)));
    }
    return b.toString();
  }

  /** The counter a payload claims, after checking that it is intact and of {@code queue}; -1 otherwise. */
  static long counterOf(String queue, String payload) {
    String[] f = payload.split(" ", 3);
    if (f.length < 3 || !f[0].equals(queue)) {
      return -1;
    }
    try {
      long counter = Long.parseLong(f[1]);
      return payload(queue, counter).equals(payload) ? counter : -1;
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  // ---- consuming

  private void consume(QueueState q) {
    int member = (q.index + 2) % nodes.size();
    String consumer = "/api/v1/queues/" + q.name + "/consumers/" + CONSUMER;
    while (consuming) {
      List<Long> read = new ArrayList<>();
      try {
        HttpResponse<String> r = send(member, "POST", consumer + "/read?max=" + PAGE + "&wait=PT1S", null);
        if (r.statusCode() != 200) {
          failed("read " + r.statusCode() + " " + errorCode(r.body()));
          member = (member + 1) % nodes.size();
          sleep(50);
          continue;
        }
        for (JsonNode d : JSON.readTree(r.body()).get("deliveries")) {
          long seq = d.get("sequence").asLong();
          String payload = d.get("message").path("payload").asText(null);
          long counter = payload == null ? -1 : counterOf(q.name, payload);
          q.deliveries.incrementAndGet();
          if (counter < 0) {
            problem(q.name + ": sequence " + seq + " delivered with a payload that is not what was sent");
          } else if (counter >= q.nextCounter.get()) {
            problem(q.name + ": sequence " + seq + " delivered with counter " + counter + ", never sent");
          } else {
            Long confirmedCounter = q.confirmed.get(seq);
            if (confirmedCounter != null && confirmedCounter != counter) {
              problem(q.name + ": sequence " + seq + " was confirmed for counter " + confirmedCounter
                  + " but delivered with counter " + counter);
            }
          }
          if (q.acked.contains(seq)) {
            q.ackedDeliveredAgain.incrementAndGet();
            problem(q.name + ": sequence " + seq + " delivered again (attempt " + d.get("attempt").asInt()
                + ") after its acknowledgement was confirmed");
          }
          if (disruptedAt != 0 && q.firstDeliveryAfterDisruption < 0) {
            q.firstDeliveryAfterDisruption = seq;
          }
          q.delivered.add(seq);
          seen(q, seq, "delivered attempt " + d.get("attempt").asInt() + " via member " + member);
          read.add(seq);
        }
      } catch (IOException e) {
        failed("read " + e.getClass().getSimpleName());
        member = (member + 1) % nodes.size();
        continue;
      } catch (InterruptedException e) {
        return;
      }
      member = (member + 1) % nodes.size();
      if (read.isEmpty()) {
        continue;
      }
      ObjectNode ack = JSON.createObjectNode();
      ack.putArray("sequences").addAll(read.stream().map(s -> (JsonNode) JSON.getNodeFactory().numberNode(s)).toList());
      // A member that cannot be reached never saw the acknowledgement: the next one is tried at once, as a
      // client would. One that timed out may have applied it, and the redelivery after the ack timeout settles it.
      for (int attempt = 0; attempt < nodes.size(); attempt++) {
        boolean unreachable = false;
        try {
          HttpResponse<String> r = send(member, "POST", consumer + "/ack", ack.toString());
          if (r.statusCode() == 200) {
            JsonNode answer = JSON.readTree(r.body());
            List<Long> unknown = new ArrayList<>();
            answer.path("unknown").forEach(u -> unknown.add(u.asLong()));
            for (long seq : read) {
              if (!unknown.contains(seq)) {
                q.acked.add(seq);
              }
              seen(q, seq, "ack via member " + member + ": " + (unknown.contains(seq) ? "unknown" : "confirmed"));
            }
            if (!unknown.isEmpty()) {
              failed("ack answered unknown");
            }
          } else {
            failed("ack " + r.statusCode() + " " + errorCode(r.body()));
            for (long seq : read) {
              seen(q, seq, "ack via member " + member + ": " + r.statusCode() + " " + errorCode(r.body()));
            }
          }
        } catch (java.net.ConnectException | java.net.http.HttpConnectTimeoutException e) {
          failed("ack " + e.getClass().getSimpleName());
          unreachable = true;
        } catch (IOException e) {
          failed("ack " + e.getClass().getSimpleName());
          for (long seq : read) {
            seen(q, seq, "ack via member " + member + ": " + e.getClass().getSimpleName());
          }
        } catch (InterruptedException e) {
          return;
        }
        member = (member + 1) % nodes.size();
        if (!unreachable) {
          break;
        }
      }
    }
  }

  private static void seen(QueueState q, long seq, String what) {
    q.seen.computeIfAbsent(seq, k -> new CopyOnWriteArrayList<>()).add(
        java.time.LocalTime.now() + " " + what);
  }

  // ---- checking

  /**
   * Browses every queue's log through {@code member} and checks it against what was confirmed:
   * every confirmed message exactly once at its sequence, no counter twice, nothing never sent;
   * every confirmed acknowledgement at or below the consumer's committed position.
   */
  void verify(int member, String when) throws Exception {
    for (QueueState q : queues) {
      verify(q, member, when);
    }
  }

  /** Waits until every queue's consumer answers through {@code member} (after a restart, each recovers). */
  boolean awaitQueues(int member, Duration within) throws Exception {
    long deadline = System.nanoTime() + within.toNanos();
    List<QueueState> left = new ArrayList<>(queues);
    while (System.nanoTime() < deadline) {
      for (var it = left.iterator(); it.hasNext(); ) {
        if (send(member, "GET", "/api/v1/queues/" + it.next().name + "/consumers/" + CONSUMER, null).statusCode() == 200) {
          it.remove();
        }
      }
      if (left.isEmpty()) {
        return true;
      }
      Thread.sleep(500);
    }
    return false;
  }

  private void verify(QueueState q, int member, String when) throws Exception {
    Map<Long, Long> seqOfCounter = new HashMap<>();
    long from = 1;
    int browsed = 0;
    while (true) {
      HttpResponse<String> r = send(member, "GET", "/api/v1/queues/" + q.name + "/messages?from=" + from
          + "&limit=" + PAGE, null);
      if (r.statusCode() != 200) {
        problem(when + ", " + q.name + ": browse from " + from + " answered " + r.statusCode() + " " + r.body());
        break;
      }
      JsonNode page = JSON.readTree(r.body());
      if (page.isEmpty()) {
        break;
      }
      for (JsonNode m : page) {
        long seq = m.get("sequence").asLong();
        long counter = counterOf(q.name, m.path("payload").asText(""));
        browsed++;
        if (counter < 0) {
          problem(when + ", " + q.name + ": sequence " + seq + " in the log is not a message that was sent");
          continue;
        }
        Long before = seqOfCounter.put(counter, seq);
        if (before != null) {
          problem(when + ", " + q.name + ": counter " + counter + " is in the log twice, at " + before + " and " + seq);
        }
        from = seq + 1;
      }
    }
    long lost = 0;
    for (Map.Entry<Long, Long> c : new TreeMap<>(q.confirmed).entrySet()) {
      Long at = seqOfCounter.get(c.getValue());
      if (at == null) {
        lost++;
        problem(when + ", " + q.name + ": confirmed sequence " + c.getKey() + " (counter " + c.getValue() + ") is not in the log");
      } else if (!at.equals(c.getKey())) {
        problem(when + ", " + q.name + ": counter " + c.getValue() + " was confirmed at sequence " + c.getKey() + " but is at " + at);
      }
    }
    if (browsed < q.confirmed.size()) {
      problem(when + ", " + q.name + ": " + browsed + " messages in the log, " + q.confirmed.size() + " confirmed (" + lost
          + " lost)");
    }
    HttpResponse<String> info = send(member, "GET", "/api/v1/queues/" + q.name + "/consumers/" + CONSUMER, null);
    if (info.statusCode() != 200) {
      problem(when + ", " + q.name + ": its consumer answered " + info.statusCode() + " " + info.body());
    } else {
      long committed = JSON.readTree(info.body()).get("committed").asLong();
      long prefix = q.ackedPrefix();
      if (committed < prefix) {
        problem(when + ", " + q.name + ": the consumer's committed position " + committed + " is behind its confirmed"
            + " acknowledgements up to " + prefix);
      }
    }
    if (q.ackedPrefixAtDisruption >= 0 && q.firstDeliveryAfterDisruption >= 0
        && q.firstDeliveryAfterDisruption <= q.ackedPrefixAtDisruption) {
      problem(when + ", " + q.name + ": after the disruption the consumer resumed at " + q.firstDeliveryAfterDisruption
          + ", at or before its confirmed acknowledgements up to " + q.ackedPrefixAtDisruption);
    }
  }

  /**
   * For each queue {@link #drain} gave up on: the confirmed messages without a confirmed
   * acknowledgement (the first few), which of them the consumer was delivered, what the consumer
   * says about itself through {@code member}, and the trace of the first message past its
   * committed position.
   */
  String undrained(int member) {
    StringBuilder b = new StringBuilder();
    for (QueueState q : undrained) {
      List<Long> missing = new TreeMap<>(q.confirmed).keySet().stream().filter(s -> !q.acked.contains(s)).toList();
      b.append("\n  ").append(q.name).append(": ").append(missing.size()).append(" confirmed, not acknowledged: ")
          .append(missing.subList(0, Math.min(10, missing.size()))).append(", of them delivered: ")
          .append(missing.stream().filter(q.delivered::contains).limit(10).toList()).append("; consumer: ");
      try {
        String info = send(member, "GET", "/api/v1/queues/" + q.name + "/consumers/" + CONSUMER, null).body();
        b.append(info);
        long next = JSON.readTree(info).path("committed").asLong() + 1;
        String trace = send(member, "GET", "/api/v1/queues/" + q.name + "/messages/" + next, null).body();
        b.append("; the client saw of ").append(next).append(": ").append(q.seen.get(next));
        b.append("; message ").append(next).append(": ").append(trace.replaceAll("\"payload\":\"[^\"]*\"",
            "\"payload\":\"…\""));
      } catch (IOException | InterruptedException e) {
        b.append(e);
      }
    }
    return b.toString();
  }

  long confirmedPublishes() {
    return queues.stream().mapToLong(q -> q.confirmed.size()).sum();
  }

  long confirmedAcks() {
    return queues.stream().mapToLong(q -> q.acked.size()).sum();
  }

  /** One paragraph: what was sent, confirmed and acknowledged, the failures seen, the problems found. */
  String summary() {
    long uncertain = queues.stream().mapToLong(q -> q.uncertain.get()).sum();
    long deliveries = queues.stream().mapToLong(q -> q.deliveries.get()).sum();
    long again = queues.stream().mapToLong(q -> q.ackedDeliveredAgain.get()).sum();
    Map<String, Long> f = new TreeMap<>();
    failures.forEach((k, v) -> f.put(k, v.get()));
    return queues.size() + " queues: " + confirmedPublishes() + " confirmed publishes of " + PAYLOAD + " B, "
        + uncertain + " uncertain, " + deliveries + " deliveries, " + confirmedAcks() + " confirmed acks, " + again
        + " acked delivered again; failed requests " + f + "; " + problems.size() + " problems"
        + (problems.isEmpty() ? "" : ":\n  " + String.join("\n  ", problems.subList(0, Math.min(30, problems.size()))));
  }

  private void problem(String p) {
    if (problems.size() < 200) {
      problems.add(p);
    }
  }

  private void failed(String what) {
    failures.computeIfAbsent(what, k -> new AtomicLong()).incrementAndGet();
  }

  private static String errorCode(String body) {
    try {
      return JSON.readTree(body).path("error").asText("?");
    } catch (IOException e) {
      return "?";
    }
  }

  HttpResponse<String> send(int member, String method, String path, String body)
      throws IOException, InterruptedException {
    return client.send(request(member, method, path, body, REQUEST_TIMEOUT), HttpResponse.BodyHandlers.ofString());
  }

  private HttpRequest request(int member, String method, String path, String body, Duration timeout) {
    HttpRequest.Builder b = HttpRequest.newBuilder(nodes.uri(member, path)).timeout(timeout)
        .header("Authorization", TOKEN);
    if (body != null) {
      b.header("Content-Type", "application/json");
    }
    b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    return b.build();
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  static long median(List<Long> xs) {
    List<Long> s = new ArrayList<>(xs);
    Collections.sort(s);
    return s.isEmpty() ? -1 : s.get(s.size() / 2);
  }
}
