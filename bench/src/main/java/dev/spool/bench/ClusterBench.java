package dev.spool.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.spool.http.Authenticator;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The HTTP service standalone, as a one-member cluster and as a three-member cluster, each member a
 * JVM of its own (512 MiB heap) on this machine, all on loopback: throughput of batch publishes
 * (100 messages of 256 bytes) and of pull reads (ack none), driven through every member at once,
 * and the members' CPU time per message. Honestly labelled: three JVMs and the load generator share
 * this machine's cores, so the three-member figures show the cost of the network hops, not the
 * scale a cluster of separate machines reaches. Needs {@code SPOOL_BENCH_POSTGRES_URL} (cluster mode
 * requires PostgreSQL; the queues measured are transient, so the database only holds the list of
 * queues). {@code SPOOL_BENCH_MEMBER_OPTS} adds JVM options to every member.
 */
final class ClusterBench {

  private static final String TOKEN = "bench-admin-token-0123456789abcdef";
  private static final int QUEUES = 6;
  private static final int BATCH = 100;
  private static final int PUBLISHERS = 16;
  private static final int READERS = 8;
  private static final long CLOCK_TICKS = 100; // USER_HZ on Linux: /proc/<pid>/stat counts CPU time in these

  private final boolean quick;
  private final String postgresUrl;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final ObjectMapper json = new ObjectMapper();
  private final String body;

  ClusterBench(boolean quick, String postgresUrl) {
    this.quick = quick;
    this.postgresUrl = postgresUrl;
    StringBuilder b = new StringBuilder("{\"messages\":[");
    String payload = "p".repeat(256);
    for (int i = 0; i < BATCH; i++) {
      b.append(i == 0 ? "" : ",").append("{\"type\":\"bench\",\"payload\":\"").append(payload).append("\"}");
    }
    this.body = b.append("]}").toString();
  }

  /**
   * A setup measured: its name, whether it is a cluster, how many members, and its queues: how many,
   * and how many partitions each has.
   */
  private record Setup(String name, boolean cluster, int members, int queues, int partitions) {
    Setup(String name, boolean cluster, int members) {
      this(name, cluster, members, QUEUES, 1);
    }
  }

  /** One measured run. */
  private record Sample(double publishedPerSecond, double deliveredPerSecond, double cpuMicrosPerMessage) {}

  void run() throws Exception {
    if (postgresUrl == null || postgresUrl.isBlank()) {
      throw new IllegalStateException("the cluster suite needs SPOOL_BENCH_POSTGRES_URL: cluster mode requires PostgreSQL");
    }
    // The last three: one busy queue, whole or in 6 partitions, which sharding spreads over the members.
    List<Setup> setups = List.of(new Setup("standalone", false, 1), new Setup("cluster of 1", true, 1),
        new Setup("cluster of 3", true, 3), new Setup("standalone, one queue", false, 1, 1, 1),
        new Setup("cluster of 3, one queue", true, 3, 1, 1),
        new Setup("cluster of 3, one queue of 6 partitions", true, 3, 1, 6));
    int rounds = quick ? 1 : 3;
    Duration duration = Duration.ofSeconds(quick ? 5 : 15);
    Report report = new Report("cluster", quick);
    Report.Table table = report.table("cluster", String.format(Locale.ROOT,
        "HTTP publish and pull-read throughput, every member a JVM with -Xmx512m on this %d-core machine with the"
            + " load generator; %d publishers (batches of %d × 256 B) and %d readers (ack none) over %d transient"
            + " queues (or one), spread over every member, %d s per run", Runtime.getRuntime().availableProcessors(),
        PUBLISHERS, BATCH, READERS, QUEUES, duration.toSeconds()),
        "setup", "published msgs/s:%,.0f", "delivered msgs/s:%,.0f", "CPU µs per message (members):%.1f",
        "vs standalone");
    List<List<Sample>> samples = new ArrayList<>();
    for (int i = 0; i < setups.size(); i++) {
      samples.add(new ArrayList<>());
    }
    // Rounds alternate the setups, so that the machine's noise falls on all of them alike.
    for (int round = 0; round < rounds; round++) {
      for (int i = 0; i < setups.size(); i++) {
        Sample s = measure(setups.get(i), duration);
        System.out.printf(Locale.ROOT, "%s, round %d: %.0f published/s, %.0f delivered/s, %.1f µs CPU per message%n",
            setups.get(i).name(), round + 1, s.publishedPerSecond(), s.deliveredPerSecond(), s.cpuMicrosPerMessage());
        samples.get(i).add(s);
      }
    }
    for (int i = 0; i < setups.size(); i++) {
      Setup setup = setups.get(i);
      // Compared with standalone on as many queues.
      int base = setups.indexOf(setups.stream().filter(x -> !x.cluster() && x.queues() == setup.queues()).findFirst()
          .orElseThrow());
      Report.Figure standalone = Report.Figure.of(samples.get(base).stream().map(Sample::publishedPerSecond).toList());
      Report.Figure published = Report.Figure.of(samples.get(i).stream().map(Sample::publishedPerSecond).toList());
      table.row(setups.get(i).name(), published,
          Report.Figure.of(samples.get(i).stream().map(Sample::deliveredPerSecond).toList()),
          Report.Figure.of(samples.get(i).stream().map(Sample::cpuMicrosPerMessage).toList()),
          String.format(Locale.ROOT, "%.0f %%", 100 * published.median() / standalone.median()));
    }
    report.note("Target: a one-member cluster keeps at least 70 %% of standalone publish throughput.");
    report.write();
  }

  private Sample measure(Setup setup, Duration duration) throws Exception {
    emptyDatabase();
    List<Member> members = new ArrayList<>();
    try {
      int seedPort = freePort();
      for (int i = 0; i < setup.members(); i++) {
        members.add(Member.start(setup, i, i == 0 ? seedPort : freePort(), seedPort, postgresUrl));
      }
      for (Member m : members) {
        m.awaitReady(http);
      }
      if (setup.cluster()) {
        awaitMembersUp(members.get(0), setup.members());
      }
      for (int q = 0; q < setup.queues(); q++) {
        send(members.get(q % members.size()), "PUT", "/api/v1/queues/bench-" + q,
            "{\"maxLength\":200000,\"overflow\":\"drop-oldest\",\"partitions\":" + setup.partitions() + "}");
        send(members.get((q + 1) % members.size()), "PUT", "/api/v1/queues/bench-" + q + "/consumers/reader",
            "{\"ackMode\":\"none\"}");
      }
      runLoad(members, setup.queues(), Duration.ofSeconds(quick ? 2 : 5)); // warm-up for the JIT
      long cpuBefore = cpuTicks(members);
      long[] counts = runLoad(members, setup.queues(), duration);
      long cpu = cpuTicks(members) - cpuBefore;
      double seconds = duration.toMillis() / 1000.0;
      long messages = counts[0] + counts[1];
      return new Sample(counts[0] / seconds, counts[1] / seconds,
          messages == 0 ? 0 : cpu * (1_000_000.0 / CLOCK_TICKS) / messages);
    } finally {
      for (Member m : members) {
        m.stop();
      }
    }
  }

  /** Publishers and readers for {@code duration}; answers messages published and delivered. */
  private long[] runLoad(List<Member> members, int queues, Duration duration) throws InterruptedException {
    AtomicLong published = new AtomicLong();
    AtomicLong delivered = new AtomicLong();
    long end = System.nanoTime() + duration.toNanos();
    ExecutorService pool = Executors.newFixedThreadPool(PUBLISHERS + READERS);
    for (int w = 0; w < PUBLISHERS + READERS; w++) {
      boolean reader = w >= PUBLISHERS;
      int worker = w;
      pool.execute(() -> {
        long n = worker;
        while (System.nanoTime() < end) {
          Member m = members.get((int) (n % members.size()));
          String queue = "bench-" + (n / members.size() % queues);
          n++;
          try {
            if (reader) {
              String answer = send(m, "POST", "/api/v1/queues/" + queue + "/consumers/reader/read?max=100&wait=PT0.2S",
                  null);
              delivered.addAndGet(json.readTree(answer).path("deliveries").size());
            } else {
              send(m, "POST", "/api/v1/queues/" + queue + "/messages", body);
              published.addAndGet(BATCH);
            }
          } catch (IOException | RuntimeException e) {
            // counted as nothing: a failed request adds no messages
          } catch (InterruptedException e) {
            return;
          }
        }
      });
    }
    pool.shutdown();
    pool.awaitTermination(duration.toSeconds() + 60, TimeUnit.SECONDS);
    return new long[] {published.get(), delivered.get()};
  }

  private String send(Member member, String method, String path, String requestBody)
      throws IOException, InterruptedException {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + member.httpPort + path))
        .timeout(Duration.ofSeconds(30))
        .header("Authorization", "Bearer " + TOKEN)
        .header("Content-Type", "application/json")
        .method(method, requestBody == null ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(requestBody));
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() >= 300) {
      throw new IllegalStateException(method + " " + path + ": " + r.statusCode() + " " + r.body());
    }
    return r.body();
  }

  private void awaitMembersUp(Member member, int expected) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      JsonNode view = json.readTree(send(member, "GET", "/api/v1/cluster", null));
      int up = 0;
      for (JsonNode m : view.path("members")) {
        up += m.path("status").asText().equals("Up") ? 1 : 0;
      }
      if (up == expected) {
        return;
      }
      Thread.sleep(250);
    }
    throw new IllegalStateException("the cluster did not reach " + expected + " members up");
  }

  private void emptyDatabase() throws Exception {
    String user = env("SPOOL_BENCH_POSTGRES_USER", "spool");
    String password = env("SPOOL_BENCH_POSTGRES_PASSWORD", "spool");
    try (Connection c = DriverManager.getConnection(postgresUrl, user, password); Statement s = c.createStatement()) {
      s.execute("DROP TABLE IF EXISTS event_tag, event_journal, snapshot, spool_segment");
    }
  }

  private static long cpuTicks(List<Member> members) throws IOException {
    long sum = 0;
    for (Member m : members) {
      String[] fields = Files.readString(Path.of("/proc", String.valueOf(m.process.pid()), "stat"))
          .replaceFirst("^.*\\) ", "").split(" ");
      sum += Long.parseLong(fields[11]) + Long.parseLong(fields[12]); // utime, stime
    }
    return sum;
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  static String env(String name, String otherwise) {
    String v = System.getenv(name);
    return v == null || v.isBlank() ? otherwise : v;
  }

  /** A service JVM, started as an operator would start it, through environment variables. */
  private static final class Member {
    final Process process;
    final int httpPort;
    final Path dataDir;

    private Member(Process process, int httpPort, Path dataDir) {
      this.process = process;
      this.httpPort = httpPort;
      this.dataDir = dataDir;
    }

    static Member start(Setup setup, int index, int clusterPort, int seedPort, String postgresUrl) throws IOException {
      Path dataDir = Files.createTempDirectory("spool-bench-cluster");
      int httpPort = freePort();
      List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "-Xmx512m", "-Dspool.http.auth.tokens.0.name=bench",
          "-Dspool.http.auth.tokens.0.sha256=" + Authenticator.sha256Hex(TOKEN),
          "-Dspool.http.auth.tokens.0.roles.0=admin",
          "-cp", System.getProperty("java.class.path"), "dev.spool.app.Main"));
      String opts = System.getenv("SPOOL_BENCH_MEMBER_OPTS"); // e.g. another GC or Artery setting to compare
      if (opts != null && !opts.isBlank()) {
        command.addAll(1, List.of(opts.trim().split("\\s+")));
      }
      ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true)
          .redirectOutput(dataDir.resolve("member.log").toFile());
      builder.environment().put("SPOOL_DATA_DIR", dataDir.toString());
      builder.environment().put("SPOOL_HTTP_PORT", String.valueOf(httpPort));
      builder.environment().put("SPOOL_JOURNAL", "postgres");
      builder.environment().put("SPOOL_JOURNAL_URL", postgresUrl);
      builder.environment().put("SPOOL_JOURNAL_USER", env("SPOOL_BENCH_POSTGRES_USER", "spool"));
      builder.environment().put("SPOOL_JOURNAL_PASSWORD", env("SPOOL_BENCH_POSTGRES_PASSWORD", "spool"));
      if (setup.cluster()) {
        builder.environment().put("SPOOL_CLUSTER_ENABLED", "on");
        builder.environment().put("SPOOL_CLUSTER_HOST", "127.0.0.1");
        builder.environment().put("SPOOL_CLUSTER_PORT", String.valueOf(clusterPort));
        builder.environment().put("SPOOL_CLUSTER_SEED_NODES", "pekko://spool@127.0.0.1:" + seedPort);
      }
      return new Member(builder.start(), httpPort, dataDir);
    }

    void awaitReady(HttpClient http) throws Exception {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
      while (System.nanoTime() < deadline) {
        if (!process.isAlive()) {
          throw new IllegalStateException("a member exited at start; see " + dataDir.resolve("member.log"));
        }
        try {
          HttpResponse<String> r = http.send(HttpRequest.newBuilder(
              URI.create("http://127.0.0.1:" + httpPort + "/health/ready")).build(), HttpResponse.BodyHandlers.ofString());
          if (r.statusCode() == 200) {
            return;
          }
        } catch (IOException notYet) {
          // not listening yet
        }
        Thread.sleep(250);
      }
      throw new IllegalStateException("a member did not become ready; see " + dataDir.resolve("member.log"));
    }

    void stop() throws InterruptedException {
      process.destroy();
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    }
  }
}
