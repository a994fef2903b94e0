package dev.spool.bench;

import com.typesafe.config.Config;
import dev.spool.Spool;
import dev.spool.app.JournalSchema;
import dev.spool.bench.Report.Figure;
import dev.spool.http.Authenticator;
import dev.spool.http.HttpSettings;
import dev.spool.redis.RedisSettings;
import io.lettuce.core.Consumer;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisURI;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.XReadArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Spool's Redis Streams endpoint beside {@code redis-server}, on the same machine in one run, driven
 * by the same clients against both:
 * <ul>
 *   <li><b>XADD</b> of 1 KiB values through {@code redis-benchmark} with 1 and 50 clients, each one
 *       request at a time or 16 pipelined: Spool with transient streams beside Redis without
 *       persistence, then Spool with persistent streams (its SQLite journal, committed before the
 *       reply) beside Redis with {@code appendfsync always}. Every client appends to one stream, as
 *       producers of one topic do.
 *   <li><b>Consumer group read and ack</b> through Lettuce: a stream preloaded with 1 KiB entries,
 *       then 1 or 4 consumers, each on its own connection and thread, looping {@code XREADGROUP GROUP
 *       g cK COUNT 100 BLOCK 100 STREAMS s >} and {@code XACK} of what it got until every entry is
 *       acknowledged; Spool transient beside Redis without persistence.
 * </ul>
 * Spool runs in this JVM (its endpoint authenticating a configured token, as the service does), Redis
 * as a child process; both on loopback ports of their own. {@code redis-benchmark} takes a number of
 * requests, not a time, so each shape is first run once with a few thousand requests, discarded as
 * warm-up, whose rate sizes the measured runs to a few seconds each. Each run appends to a stream of
 * its own, checked with {@code XLEN} and deleted after, so that no run pays for another's entries.
 * Phases (transient, persistent) are the outer loop, so that only one Spool and one Redis run at a time;
 * within a phase, shapes are, so that the two systems compared on one shape are measured close together.
 *
 * <p>Run: {@code java -Xmx512m -jar bench/target/spool-bench.jar redis [--quick]}.
 */
final class RedisBench {

  private static final int VALUE_BYTES = 1024;
  private static final int MAX_REQUESTS = 150_000;
  private static final List<Shape> SHAPES = List.of(new Shape(1, 1), new Shape(1, 16), new Shape(50, 1),
      new Shape(50, 16));
  private static final List<Integer> CONSUMERS = List.of(1, 4);
  // A configured token, so that the endpoint authenticates as the service does and no admin token is generated.
  private static final String TOKEN = "spool-bench-token-0123456789abcdef";
  private static final RedisCodec<String, byte[]> CODEC = RedisCodec.of(StringCodec.UTF8, ByteArrayCodec.INSTANCE);
  private static final String NOT_MEASURED = "—";

  /** {@code redis-benchmark}'s clients, and the requests each keeps in flight ({@code -P}). */
  record Shape(int clients, int pipeline) {

    String label() {
      return clients + " × P" + pipeline;
    }
  }

  /** One {@code redis-benchmark} run, as its CSV line gives it. */
  private record Run(double requestsPerSecond, double p50Ms, double p99Ms) {}

  /** One run of the consumer-group workload. */
  private record Drain(double entriesPerSecond, double preloadPerSecond) {}

  /** A system under test: where it listens, the token it wants (or none), how to stop it. */
  private interface Target extends AutoCloseable {
    int port();

    Optional<String> token();
  }

  private final boolean quick;
  private final int runs;
  private final double secondsPerRun;
  private final int groupEntries;
  private final String value;
  private final Report report;
  private final Map<String, List<Double>> chart = new LinkedHashMap<>();
  private final AtomicInteger streams = new AtomicInteger();
  private final Set<String> warnings = new HashSet<>();
  private String redisVersion = "";

  RedisBench(boolean quick) {
    this.quick = quick;
    this.runs = quick ? 1 : 3;
    this.secondsPerRun = quick ? 1 : 4;
    this.groupEntries = quick ? 5_000 : 50_000;
    this.report = new Report("redis", quick);
    // printable, so that it passes as one argument of redis-benchmark's command line; random, so not a run of one byte
    char[] chars = new char[VALUE_BYTES];
    Random random = new Random(42);
    for (int i = 0; i < chars.length; i++) {
      chars[i] = (char) ('a' + random.nextInt(26));
    }
    this.value = new String(chars);
  }

  void run() throws Exception {
    Optional<Path> server = RedisServer.binary();
    Optional<Path> benchmark = RedisServer.onPath("redis-benchmark");
    if (server.isEmpty()) {
      System.out.println("Redis skipped: no executable redis-server on the PATH or at SPOOL_BENCH_REDIS_SERVER"
          + " (Debian: apt-get install -y redis-server); Spool measured alone");
    } else {
      redisVersion = version(server.get());
    }
    if (benchmark.isEmpty()) {
      System.out.println("XADD skipped: no executable redis-benchmark on the PATH (Debian: apt-get install -y"
          + " redis-tools)");
    }
    System.out.printf(Locale.ROOT, "each XADD shape: one warm-up run, then %d run(s) of about %.0f s;"
        + " consumer groups: %,d entries of %d bytes%n", runs, secondsPerRun, groupEntries, VALUE_BYTES);
    Report.Table xadd = report.table("xadd", "XADD of 1 KiB values through redis-benchmark, one stream",
        "streams", "clients", "pipeline", "Spool req/s:%,.0f", "Redis req/s:%,.0f", "Spool/Redis:%.2f",
        "Spool p50 ms:%.2f", "Redis p50 ms:%.2f", "Spool p99 ms:%.2f", "Redis p99 ms:%.2f");
    Report.Table groups = report.table("groups", "Consumer group read and ack through Lettuce (XREADGROUP COUNT 100"
        + " BLOCK 100, then XACK), transient streams, 1 KiB entries", "consumers", "entries:%,.0f",
        "Spool entries/s:%,.0f", "Redis entries/s:%,.0f", "Spool/Redis:%.2f", "Spool preload XADD/s:%,.0f",
        "Redis preload XADD/s:%,.0f");
    try (Target spool = SpoolEndpoint.start("transient");
        Target redis = server.isPresent() ? new RedisTarget(RedisServer.inMemory(server.get())) : null) {
      if (benchmark.isPresent()) {
        xadd(xadd, benchmark.get(), "transient", "Redis in memory", spool, redis);
      }
      for (int consumers : CONSUMERS) {
        groups(groups, consumers, spool, redis);
      }
    }
    if (benchmark.isPresent()) {
      try (Target spool = SpoolEndpoint.start("persistent");
          Target redis = server.isPresent() ? new RedisTarget(RedisServer.start(server.get(), "always")) : null) {
        xadd(xadd, benchmark.get(), "persistent", "Redis AOF always", spool, redis);
      }
    }
    notes(server.isPresent());
    if (!chart.isEmpty()) {
      report.barChart("xadd", "XADD req/s of 1 KiB values per shape (clients × pipeline)", "req/s",
          SHAPES.stream().map(Shape::label).toList(), chart, true);
    }
    report.write();
  }

  // ---- XADD through redis-benchmark

  private void xadd(Report.Table table, Path benchmark, String durability, String redisSeries, Target spool,
      Target redis) throws Exception {
    for (Shape shape : SHAPES) {
      List<Run> spoolRuns = xadd(benchmark, spool, shape);
      chart.computeIfAbsent("Spool " + durability, k -> new ArrayList<>())
          .add(figure(spoolRuns, Run::requestsPerSecond).median());
      if (redis == null) {
        table.row(durability, shape.clients(), shape.pipeline(), figure(spoolRuns, Run::requestsPerSecond),
            NOT_MEASURED, NOT_MEASURED, figure(spoolRuns, Run::p50Ms), NOT_MEASURED, figure(spoolRuns, Run::p99Ms),
            NOT_MEASURED);
        continue;
      }
      List<Run> redisRuns = xadd(benchmark, redis, shape);
      chart.computeIfAbsent(redisSeries, k -> new ArrayList<>())
          .add(figure(redisRuns, Run::requestsPerSecond).median());
      Figure spoolRate = figure(spoolRuns, Run::requestsPerSecond);
      Figure redisRate = figure(redisRuns, Run::requestsPerSecond);
      table.row(durability, shape.clients(), shape.pipeline(), spoolRate, redisRate,
          spoolRate.median() / redisRate.median(), figure(spoolRuns, Run::p50Ms), figure(redisRuns, Run::p50Ms),
          figure(spoolRuns, Run::p99Ms), figure(redisRuns, Run::p99Ms));
    }
  }

  /** A warm-up run that sizes the measured ones, then the measured runs. */
  private List<Run> xadd(Path benchmark, Target target, Shape shape) throws Exception {
    // enough requests that every client sends a good many pipelines, or connecting would dominate
    int least = Math.max(quick ? 1_024 : 2_048, shape.clients() * shape.pipeline() * (quick ? 10 : 20));
    Run warmUp = xadd(benchmark, target, shape, least);
    // a cap, so that a transient stream's entries stay well inside a 512 MiB heap
    int requests = (int) Math.max(least, Math.min(MAX_REQUESTS, warmUp.requestsPerSecond() * secondsPerRun));
    // redis-benchmark sends whole pipelines, so a count that is not a multiple of one overshoots
    requests = (requests + shape.pipeline() - 1) / shape.pipeline() * shape.pipeline();
    List<Run> measured = new ArrayList<>();
    for (int r = 0; r < runs; r++) {
      measured.add(xadd(benchmark, target, shape, requests));
    }
    return measured;
  }

  private Run xadd(Path benchmark, Target target, Shape shape, int requests) throws Exception {
    String stream = "bench-xadd-" + streams.incrementAndGet();
    List<String> command = new ArrayList<>(List.of(benchmark.toString(), "-h", "127.0.0.1",
        "-p", String.valueOf(target.port())));
    target.token().ifPresent(t -> command.addAll(List.of("-a", t)));
    // an error reply makes redis-benchmark exit at once, non-zero, the reply on its standard error
    command.addAll(List.of("-c", String.valueOf(shape.clients()), "-P", String.valueOf(shape.pipeline()),
        "-n", String.valueOf(requests), "--csv", "XADD", stream, "*", "payload", value));
    Path errors = Files.createTempFile("spool-bench-redis-benchmark", ".err");
    Process process = null;
    try {
      process = new ProcessBuilder(command).redirectError(errors.toFile()).start();
      process.getOutputStream().close();
      String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!process.waitFor(10, TimeUnit.MINUTES)) {
        throw new TimeoutException("redis-benchmark did not finish within 10 minutes");
      }
      String said = Files.readString(errors);
      Run run = parse(out, process.exitValue(), said);
      // anything but its warning about -a on the command line is news, said once
      said.lines().filter(l -> !l.isBlank() && !l.startsWith("Warning: Using a password"))
          .filter(warnings::add).forEach(l -> System.out.println("  redis-benchmark: " + l));
      try (Admin admin = Admin.connect(target)) {
        long length = admin.commands.xlen(stream);
        if (length != requests) {
          throw new IllegalStateException(stream + " holds " + length + " entries after " + requests + " XADDs");
        }
        admin.commands.del(stream);
      }
      return run;
    } finally {
      if (process != null && process.isAlive()) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
      Files.deleteIfExists(errors);
    }
  }

  /** The CSV line of the one test: {@code "XADD …","rps","avg","min","p50","p95","p99","max"}. */
  private static Run parse(String out, int exit, String errors) {
    List<String> lines = out.lines().filter(l -> !l.isBlank()).toList();
    List<String> failed = lines.stream().filter(l -> !l.startsWith("\"")).toList();
    if (exit != 0 || !failed.isEmpty() || lines.size() < 2) {
      throw new IllegalStateException("redis-benchmark exited with " + exit + ": "
          + String.join("\n", failed.isEmpty() ? lines : failed) + "\n" + errors);
    }
    String[] fields = lines.get(lines.size() - 1).replace("\"", "").split(",");
    double[] numbers = Arrays.stream(fields, fields.length - 7, fields.length).mapToDouble(Double::parseDouble)
        .toArray();
    return new Run(numbers[0], numbers[3], numbers[5]);
  }

  // ---- Consumer group read and ack through Lettuce

  private void groups(Report.Table table, int consumers, Target spool, Target redis) throws Exception {
    List<Drain> spoolRuns = groups(spool, consumers);
    if (redis == null) {
      table.row(consumers, groupEntries, drained(spoolRuns), NOT_MEASURED, NOT_MEASURED, preloaded(spoolRuns),
          NOT_MEASURED);
      return;
    }
    List<Drain> redisRuns = groups(redis, consumers);
    table.row(consumers, groupEntries, drained(spoolRuns), drained(redisRuns),
        drained(spoolRuns).median() / drained(redisRuns).median(), preloaded(spoolRuns), preloaded(redisRuns));
  }

  private static Figure drained(List<Drain> runs) {
    return Figure.of(runs.stream().map(Drain::entriesPerSecond).toList());
  }

  private static Figure preloaded(List<Drain> runs) {
    return Figure.of(runs.stream().map(Drain::preloadPerSecond).toList());
  }

  /** A warm-up run with a fifth of the entries, then the measured runs. */
  private List<Drain> groups(Target target, int consumers) throws Exception {
    groups(target, consumers, groupEntries / 5);
    List<Drain> measured = new ArrayList<>();
    for (int r = 0; r < runs; r++) {
      measured.add(groups(target, consumers, groupEntries));
    }
    return measured;
  }

  private Drain groups(Target target, int consumers, int entries) throws Exception {
    String stream = "bench-group-" + streams.incrementAndGet();
    try (Admin admin = Admin.connect(target)) {
      return groups(admin, stream, consumers, entries);
    }
  }

  private Drain groups(Admin admin, String stream, int consumers, int entries) throws Exception {
    byte[] payload = value.getBytes(StandardCharsets.US_ASCII);
    List<StatefulRedisConnection<String, byte[]>> connections = new ArrayList<>();
    ExecutorService threads = Executors.newFixedThreadPool(consumers);
    try {
      double preload = preload(admin, stream, payload, entries);
      admin.commands.xgroupCreate(XReadArgs.StreamOffset.from(stream, "0-0"), "g");
      for (int c = 0; c < consumers; c++) {
        connections.add(admin.client.connect(CODEC));
      }
      AtomicLong acknowledged = new AtomicLong();
      AtomicBoolean stop = new AtomicBoolean();
      AtomicReference<String> odd = new AtomicReference<>();
      List<Future<?>> done = new ArrayList<>();
      long start = System.nanoTime();
      for (int c = 0; c < consumers; c++) {
        RedisCommands<String, byte[]> commands = connections.get(c).sync();
        Consumer<String> consumer = Consumer.from("g", "c" + (c + 1));
        done.add(threads.submit(() -> {
          while (acknowledged.get() < entries && !stop.get()) {
            List<StreamMessage<String, byte[]>> got = commands.xreadgroup(consumer,
                XReadArgs.Builder.count(100).block(100), XReadArgs.StreamOffset.lastConsumed(stream));
            if (got.isEmpty()) {
              continue;
            }
            if (got.get(0).getBody().get("payload").length != VALUE_BYTES) {
              odd.compareAndSet(null, "an entry came back without its 1 KiB payload: " + got.get(0).getBody().keySet());
            }
            String[] ids = got.stream().map(StreamMessage::getId).toArray(String[]::new);
            acknowledged.addAndGet(commands.xack(stream, "g", ids));
          }
          return null;
        }));
      }
      awaitDrained(acknowledged, entries, stop, done);
      double seconds = (System.nanoTime() - start) / 1e9;
      if (odd.get() != null) {
        throw new IllegalStateException(odd.get());
      }
      if (acknowledged.get() != entries) {
        throw new IllegalStateException(acknowledged.get() + " acknowledged of " + entries + " entries");
      }
      admin.commands.del(stream);
      return new Drain(entries / seconds, preload);
    } finally {
      threads.shutdownNow();
      for (StatefulRedisConnection<String, byte[]> c : connections) {
        c.close();
      }
    }
  }

  /** Waits for every entry to be acknowledged; fails, stopping the consumers, when none is for 30 s. */
  private static void awaitDrained(AtomicLong acknowledged, int entries, AtomicBoolean stop, List<Future<?>> done)
      throws Exception {
    long last = -1;
    long progressed = System.nanoTime();
    while (acknowledged.get() < entries) {
      for (Future<?> f : done) {
        if (f.isDone()) {
          f.get(); // a consumer that failed: its exception, at once
        }
      }
      long now = acknowledged.get();
      if (now != last) {
        last = now;
        progressed = System.nanoTime();
      } else if (System.nanoTime() - progressed > TimeUnit.SECONDS.toNanos(30)) {
        stop.set(true);
        throw new TimeoutException("consumers stalled at " + now + " of " + entries + " acknowledged");
      }
      Thread.sleep(1);
    }
    for (Future<?> f : done) {
      f.get(30, TimeUnit.SECONDS);
    }
  }

  /** {@code entries} XADDs pipelined on one connection, 1,000 at a time; answers their rate. */
  private static double preload(Admin admin, String stream, byte[] payload, int entries) throws Exception {
    Map<String, byte[]> body = Map.of("payload", payload);
    try (StatefulRedisConnection<String, byte[]> connection = admin.client.connect(CODEC)) {
      connection.setAutoFlushCommands(false);
      RedisAsyncCommands<String, byte[]> async = connection.async();
      long start = System.nanoTime();
      for (int sent = 0; sent < entries; ) {
        List<RedisFuture<String>> batch = new ArrayList<>();
        for (int i = 0; i < 1_000 && sent < entries; i++, sent++) {
          batch.add(async.xadd(stream, body));
        }
        connection.flushCommands();
        for (RedisFuture<String> f : batch) {
          f.get(60, TimeUnit.SECONDS);
        }
      }
      return entries / ((System.nanoTime() - start) / 1e9);
    }
  }

  // ---- The systems

  /** A Lettuce client and one connection for setup and checks; closing shuts the client down. */
  private static final class Admin implements AutoCloseable {
    final RedisClient client;
    final RedisCommands<String, byte[]> commands;

    private Admin(RedisClient client, RedisCommands<String, byte[]> commands) {
      this.client = client;
      this.commands = commands;
    }

    static Admin connect(Target target) {
      RedisURI.Builder uri = RedisURI.builder().withHost("127.0.0.1").withPort(target.port())
          .withTimeout(Duration.ofSeconds(60));
      target.token().ifPresent(t -> uri.withPassword(t.toCharArray()));
      RedisClient client = RedisClient.create(uri.build());
      try {
        return new Admin(client, client.connect(CODEC).sync());
      } catch (RuntimeException e) {
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        throw e;
      }
    }

    @Override
    public void close() {
      client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
  }

  /** Spool in this JVM, its SQLite journal and data in a temporary directory, with the endpoint on a free port. */
  private static final class SpoolEndpoint implements Target {
    private final Spool spool;
    private final int port;
    private final Path dir;

    private SpoolEndpoint(Spool spool, int port, Path dir) {
      this.spool = spool;
      this.port = port;
      this.dir = dir;
    }

    /** The service's configuration (as the durable suite's Spool), streams created over RESP {@code durability}. */
    static SpoolEndpoint start(String durability) throws Exception {
      Path dir = Files.createTempDirectory("spool-bench-redis-endpoint");
      Spool spool = null;
      try {
        Config config = DurableBench.config("sqlite", dir, null, Map.of(
            "spool.redis.enabled", true,
            "spool.redis.port", 0,
            "spool.redis.new-stream-durability", durability,
            "spool.http.auth.tokens", List.of(Map.of("name", "bench", "sha256", Authenticator.sha256Hex(TOKEN),
                "roles", List.of("admin"), "queues", List.of("*")))));
        JournalSchema.ensure(config);
        spool = Spool.start(config);
        spool.ready().toCompletableFuture().get(2, TimeUnit.MINUTES);
        Authenticator authenticator = Authenticator.prepare(HttpSettings.create(config)).authenticator();
        int port = dev.spool.redis.RedisServer.start(spool, RedisSettings.create(config), authenticator)
            .toCompletableFuture().get(30, TimeUnit.SECONDS).port();
        return new SpoolEndpoint(spool, port, dir);
      } catch (Exception e) {
        try {
          if (spool != null) {
            spool.shutdown().toCompletableFuture().get(60, TimeUnit.SECONDS);
          }
        } finally {
          DurableBench.deleteRecursively(dir);
        }
        throw e;
      }
    }

    @Override
    public int port() {
      return port;
    }

    @Override
    public Optional<String> token() {
      return Optional.of(TOKEN);
    }

    @Override
    public void close() throws Exception {
      try {
        spool.shutdown().toCompletableFuture().get(60, TimeUnit.SECONDS);
      } finally {
        DurableBench.deleteRecursively(dir);
      }
    }
  }

  /** A {@code redis-server} child process, without authentication. */
  private record RedisTarget(RedisServer server) implements Target {
    @Override
    public int port() {
      return server.port();
    }

    @Override
    public Optional<String> token() {
      return Optional.empty();
    }

    @Override
    public void close() throws InterruptedException {
      server.close();
    }
  }

  // ---- What the figures say

  private static Figure figure(List<Run> runs, java.util.function.Function<Run, Double> value) {
    return Figure.of(runs.stream().map(value).toList());
  }

  private void notes(boolean redis) {
    report.note("Same machine, one run: 2 cores shared with other builds, so compare the rows of this run with"
        + " each other, not with other suites. Figures are medians (min–max) of %d run(s); Spool/Redis is the"
        + " ratio of the medians.", runs);
    report.note("XADD: redis-benchmark -c CLIENTS -P PIPELINE -n N --csv XADD <stream> '*' payload <1 KiB>, every"
        + " client on one stream; N sized by a discarded warm-up run to about %.0f s a run, at most %,d (a"
        + " transient stream's entries stay in the heap until the run's DEL), so Redis's fastest runs last"
        + " under a second; p50 and p99 are redis-benchmark's, per request. Against Spool, redis-benchmark"
        + " warns \"Could not fetch server CONFIG\": Spool's CONFIG GET answers empty, which only leaves its"
        + " settings out of its own report. Spool's streams created by the first XADD, transient (memory only)"
        + " or persistent (its SQLite journal in WAL mode with synchronous=FULL, committed before XADD answers);"
        + " Redis %s with --save '' and --appendonly no, or --appendonly yes --appendfsync always.",
        secondsPerRun, MAX_REQUESTS, redis ? redisVersion : "(not measured)");
    report.note("Consumer groups: the stream preloaded with %,d entries by one Lettuce connection pipelining"
        + " 1,000 XADDs at a time (its rate in the preload columns), a group created at 0, then each consumer"
        + " on its own connection and thread loops XREADGROUP COUNT 100 BLOCK 100 '>' and XACK of the ids it"
        + " got; entries/s from the first read to the last ack.", groupEntries);
    report.note("Spool runs in the benchmark's JVM (%s, max heap %d MiB), sharing the 2 cores with"
        + " redis-benchmark or the Lettuce clients; Redis serves from one thread of its own process.",
        String.join(" + ", java.lang.management.ManagementFactory.getGarbageCollectorMXBeans().stream()
            .map(java.lang.management.GarbageCollectorMXBean::getName).toList()),
        Runtime.getRuntime().maxMemory() >> 20);
    if (quick) {
      report.note("Quick run: short, single runs on a shared machine; indicative only.");
    }
  }

  private static String version(Path server) {
    try {
      Process p = new ProcessBuilder(server.toString(), "--version").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      p.waitFor(10, TimeUnit.SECONDS);
      return Arrays.stream(out.split("\\s+")).filter(w -> w.startsWith("v=")).map(w -> w.substring(2))
          .findFirst().orElse(out.trim());
    } catch (IOException e) {
      return "(version unknown)";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "(version unknown)";
    }
  }
}
