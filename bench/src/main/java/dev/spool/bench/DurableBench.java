package dev.spool.bench;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spool.Durability;
import dev.spool.Message;
import dev.spool.QueuePublisher;
import dev.spool.durable.JournalTimings;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import dev.spool.app.JournalSchema;
import dev.spool.bench.Report.Figure;
import dev.spool.durable.JournalSerializer;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.codec.RedisCodec;
import io.lettuce.core.codec.StringCodec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * Durable publishing, on the same machine in one run: Spool's persistent queues on the SQLite and the
 * PostgreSQL journal, beside the raw ceiling of the same database and beside Redis Streams; then
 * the recovery of a queue retaining 1,000,000 messages (time from start to ready, heap then held).
 *
 * <p>Every system gets the same shapes: 100-byte messages, a <em>batch</em> of 1 or 100 messages
 * confirmed together, and 1 or 64 such batches <em>in flight</em>. Each is a closed loop: a new
 * batch goes out as soon as one of the in-flight ones is confirmed, for a fixed time, after which
 * the outstanding ones are awaited. Msgs/s counts confirmed messages over that time; latency is per
 * batch, from send to confirmation (HdrHistogram), so it is the latency at saturation for that
 * concurrency, not at a fixed offered rate. How each system is driven:
 * <ul>
 *   <li><b>Spool</b>: one publisher, {@code publishAll(batch)} with up to <em>in flight</em>
 *       outstanding. A persistent queue group-commits: one journal row carries everything gathered
 *       while the previous write was under way.
 *   <li><b>JDBC batch insert</b> (the database's ceiling): <em>in flight</em> threads, each with its
 *       own connection, inserting realistic rows into the journal's own {@code event_journal} table
 *       (persistence id, sequence number, writer, timestamp, a 100-byte {@code event_payload},
 *       serializer id and manifest), <em>batch</em> rows per {@code executeBatch} + {@code commit}.
 *       JDBC blocks, so concurrency needs connections; the database group-commits their flushes.
 *       It writes one row per message, so it is the ceiling of that layout: Spool may pass it when
 *       it puts many messages in one row. SQLite has one writer, so its threads take turns on one
 *       connection, in Spool's mode (WAL, {@code synchronous=FULL}: every commit is fsynced), each
 *       commit its own fsync: Spool's journal shares one among every queue's waiting writes.
 *       PostgreSQL is the same server and database as Spool's.
 *   <li><b>Redis Streams</b>: {@code redis-server} started here with {@code appendonly yes} and
 *       {@code appendfsync always} or {@code everysec}, no RDB snapshots; one Lettuce connection
 *       with <em>in flight</em> pipelines outstanding, each <em>batch</em> {@code XADD}s flushed
 *       together and confirmed when all their replies are in. One connection, like Spool's one
 *       publisher: Redis serves all clients on one thread and, with {@code always}, writes and
 *       fsyncs its append-only file once per event-loop pass before replying to every command read
 *       in it, so pipelined requests share an fsync as 64 connections would, without 64 client
 *       threads competing with the server for the cores. Skipped when no {@code redis-server} is found.
 * </ul>
 * For each shape every system is opened afresh (a new Spool with an empty journal, a new SQLite file or
 * an emptied PostgreSQL table, a new redis-server), warmed up by one discarded run, then measured;
 * a figure is the median of its runs with the spread. Shapes are the outer loop, so the systems
 * compared on one shape are measured close together in time.
 */
final class DurableBench {

  private static final int MESSAGE_BYTES = 100;
  private static final List<Shape> SHAPES = List.of(new Shape(1, 1), new Shape(1, 64), new Shape(100, 1),
      new Shape(100, 64));
  private static final String SPOOL = "Spool";
  /** Spool with two journal writes in flight per queue, beside the default one. */
  private static final String SPOOL_TWO_WRITES = "Spool, 2 writes in flight";
  private static final String JDBC = "JDBC batch insert";
  private static final String REDIS = "Redis Streams";
  private static final String SQLITE = "SQLite";
  private static final String POSTGRES = "PostgreSQL";
  private static final String AOF_ALWAYS = "AOF always";
  private static final String AOF_EVERYSEC = "AOF everysec";
  private static final RedisCodec<String, byte[]> REDIS_CODEC = RedisCodec.of(StringCodec.UTF8,
      ByteArrayCodec.INSTANCE);
  // pekko-persistence-jdbc's columns.
  private static final String INSERT_POSTGRES = "INSERT INTO event_journal (persistence_id, sequence_number,"
      + " deleted, writer, write_timestamp, adapter_manifest, event_payload, event_ser_id, event_ser_manifest)"
      + " VALUES (?, ?, FALSE, ?, ?, '', ?, ?, ?)";
  // The columns of Spool's SQLite journal (dev.spool.journal.SqliteJournal).
  private static final String CREATE_SQLITE = "CREATE TABLE journal (persistence_id TEXT NOT NULL,"
      + " sequence_nr INTEGER NOT NULL, writer_uuid TEXT NOT NULL, write_timestamp INTEGER NOT NULL,"
      + " adapter_manifest TEXT NOT NULL, ser_id INTEGER NOT NULL, ser_manifest TEXT NOT NULL, payload BLOB NOT NULL,"
      + " PRIMARY KEY (persistence_id, sequence_nr))";
  private static final String INSERT_SQLITE = "INSERT INTO journal (persistence_id, sequence_nr, writer_uuid,"
      + " write_timestamp, adapter_manifest, payload, ser_id, ser_manifest) VALUES (?, ?, ?, ?, '', ?, ?, ?)";

  /** How many messages one write confirms together, and how many writes are outstanding at once. */
  record Shape(int batch, int inFlight) {

    String label() {
      return "batch " + batch + " × " + inFlight + " in flight";
    }
  }

  /** One measured run. */
  record Run(double msgsPerSecond, double p50Ms, double p99Ms, double seconds) {}

  /** One system on one shape: the medians of its runs. */
  private record Measured(String system, String database, Shape shape, Figure rate, Figure p50, Figure p99) {

    String series() {
      return system + " " + database;
    }
  }

  /** A system opened for one shape: its runs share the warm state. */
  private interface Session extends AutoCloseable {
    Run run(Duration duration) throws Exception;
  }

  /** Opens a {@link Session}; may throw. */
  private interface Opener {
    Session open(Shape shape) throws Exception;
  }

  private final boolean quick;
  private final String postgresUrl;
  private final Duration warmUp;
  /** Of each system once, before the first shape. */
  private final Duration jvmWarmUp;
  private final Duration measured;
  private final int runs;
  private final byte[] payload = new byte[MESSAGE_BYTES];
  private final Report report;
  private final List<Measured> results = new ArrayList<>();
  /** Messages per journal write of Spool's runs (warm-ups included), by database and shape. */
  private final Map<String, List<Double>> perWrite = new java.util.concurrent.ConcurrentHashMap<>();
  private String redisVersion = "";
  private String postgresSettings = "PostgreSQL not measured.";

  DurableBench(boolean quick, String postgresUrl) {
    this.quick = quick;
    this.postgresUrl = postgresUrl;
    this.warmUp = quick ? Duration.ofMillis(200) : Duration.ofSeconds(2);
    this.jvmWarmUp = quick ? Duration.ofSeconds(1) : Duration.ofSeconds(8);
    this.measured = quick ? Duration.ofMillis(600) : Duration.ofSeconds(4);
    this.runs = quick ? 1 : 3;
    this.report = new Report("durable", quick);
    new Random(42).nextBytes(payload); // incompressible, as a real payload may be
  }

  void run() throws Exception {
    Map<String, String> databases = new LinkedHashMap<>();
    databases.put("sqlite", SQLITE);
    if (postgresUrl != null && !postgresUrl.isBlank()) {
      databases.put("postgres", POSTGRES);
    } else {
      System.out.println("PostgreSQL skipped: set SPOOL_BENCH_POSTGRES_URL (e.g. from .ci/postgres)");
    }
    Optional<Path> redis = RedisServer.binary();
    if (redis.isEmpty()) {
      System.out.println("Redis Streams skipped: no executable redis-server on the PATH or at"
          + " SPOOL_BENCH_REDIS_SERVER (Debian: apt-get install -y redis-server)");
    }
    System.out.printf(Locale.ROOT, "each shape: %d ms warm-up, then %d run(s) of %d ms%n", warmUp.toMillis(), runs,
        measured.toMillis());
    Report.Table table = report.table("throughput", "Confirmed publishes of 100-byte messages (closed loop)",
        "system", "database", "batch", "in flight", "msgs/s:%,.0f", "p50 ms:%.2f", "p99 ms:%.2f");
    // The JIT compiles Spool's write path (and the drivers' and Lettuce's) over its first seconds: measured, a queue's
    // confirmed singles rose fourfold over four seconds. Every system gets the same warm-up once,
    // before the first shape, so that no row pays for the JVM's start.
    Shape warmUpShape = new Shape(1, 64);
    for (Map.Entry<String, String> db : databases.entrySet()) {
      warmUp(warmUpShape, jvmWarmUp, s -> spool(db.getKey(), s, SPOOL));
      warmUp(warmUpShape, jvmWarmUp, s -> jdbc(db.getKey(), s));
    }
    if (redis.isPresent()) {
      warmUp(warmUpShape, jvmWarmUp, s -> redis(redis.get(), "always", s));
    }
    for (Shape shape : SHAPES) {
      for (Map.Entry<String, String> db : databases.entrySet()) {
        measure(table, SPOOL, db.getValue(), shape, s -> spool(db.getKey(), s, SPOOL));
        if (shape.batch() == 1) {
          measure(table, SPOOL_TWO_WRITES, db.getValue(), shape, s -> spool(db.getKey(), s, SPOOL_TWO_WRITES));
        }
        measure(table, JDBC, db.getValue(), shape, s -> jdbc(db.getKey(), s));
      }
      if (redis.isPresent()) {
        measure(table, REDIS, AOF_ALWAYS, shape, s -> redis(redis.get(), "always", s));
        measure(table, REDIS, AOF_EVERYSEC, shape, s -> redis(redis.get(), "everysec", s));
      }
    }
    Report.Table recovery = report.table("recovery", "Recovery of a queue retaining 100-byte messages",
        "database", "retained:%,.0f", "filled at msgs/s:%,.0f", "s to ready:%.2f", "heap held MB:%.0f");
    int retained = quick ? 20_000 : 1_000_000;
    for (Map.Entry<String, String> db : databases.entrySet()) {
      recovery(recovery, db.getKey(), db.getValue(), retained);
    }
    targets(databases.containsKey("postgres"), redis.isPresent());
    notes();
    charts();
    report.write();
  }

  private void measure(Report.Table table, String system, String database, Shape shape, Opener opener)
      throws Exception {
    List<Run> measuredRuns = new ArrayList<>();
    try (Session session = opener.open(shape)) {
      session.run(warmUp);
      for (int r = 0; r < runs; r++) {
        measuredRuns.add(session.run(measured));
      }
    }
    Measured m = new Measured(system, database, shape, figure(measuredRuns, Run::msgsPerSecond),
        figure(measuredRuns, Run::p50Ms), figure(measuredRuns, Run::p99Ms));
    results.add(m);
    table.row(system, database, shape.batch(), shape.inFlight(), m.rate(), m.p50(), m.p99());
  }

  private static void warmUp(Shape shape, Duration duration, Opener opener) throws Exception {
    try (Session session = opener.open(shape)) {
      session.run(duration);
    }
  }

  private static Figure figure(List<Run> runs, Function<Run, Double> value) {
    return Figure.of(runs.stream().map(value).toList());
  }

  // ---- Spool

  /** @param system {@link #SPOOL} (default writes in flight) or {@link #SPOOL_TWO_WRITES} */
  private Session spool(String db, Shape shape, String system) throws Exception {
    Path dir = Files.createTempDirectory("spool-bench");
    Spool spool;
    try {
      spool = start(db, dir, true, postgresUrl, system.equals(SPOOL_TWO_WRITES)
          ? Map.<String, Object>of("spool.persistence.writes-in-flight", 2) : Map.of());
    } catch (Exception e) {
      deleteRecursively(dir);
      throw e;
    }
    List<Message> batch = new ArrayList<>(shape.batch());
    for (int i = 0; i < shape.batch(); i++) {
      batch.add(Message.of("bench", payload));
    }
    AtomicInteger queues = new AtomicInteger();
    LongAdder writes = new LongAdder();
    JournalTimings.get(spool.system()).listen(new JournalTimings.Listener() {
      @Override
      public void written(String queue, long nanos) {
        writes.increment();
      }

      @Override
      public void recovered(String queue, long nanos) {}
    });
    return new Session() {
      @Override
      public Run run(Duration duration) throws Exception {
        // a fresh queue per run, deleted after, so that no run pays for the retained messages of another
        String queue = "bench-" + queues.incrementAndGet();
        spool.createQueue(queue, QueueSettings.defaults().withDurability(Durability.PERSISTENT))
            .toCompletableFuture().get(30, TimeUnit.SECONDS);
        try {
          QueuePublisher publisher = spool.createPublisher(queue, "bench");
          long writesBefore = writes.sum();
          Run run = closedLoop(shape, duration, () -> publisher.publishAll(batch));
          long written = writes.sum() - writesBefore;
          perWrite.computeIfAbsent(system + " " + db + " " + shape.label(), k -> new ArrayList<>())
              .add(written == 0 ? 0 : run.msgsPerSecond() * run.seconds() / written);
          return run;
        } finally {
          spool.deleteQueue(queue).toCompletableFuture().get(60, TimeUnit.SECONDS);
        }
      }

      @Override
      public void close() throws Exception {
        try {
          spool.shutdown().toCompletableFuture().get(60, TimeUnit.SECONDS);
        } finally {
          deleteRecursively(dir);
        }
      }
    };
  }

  // ---- The database's ceiling: JDBC batched inserts into the journal table

  private Session jdbc(String db, Shape shape) throws Exception {
    Path dir = Files.createTempDirectory("spool-bench-jdbc");
    List<JournalWriter> writers = new ArrayList<>();
    ThreadPoolExecutor threads = (ThreadPoolExecutor) Executors.newFixedThreadPool(shape.inFlight());
    threads.prestartAllCoreThreads();
    try {
      Config config = config(db, dir);
      JournalSchema.ensure(config);
      String writer = UUID.randomUUID().toString();
      if (db.equals("sqlite")) {
        Path file = Path.of(config.getString("spool.journal.sqlite.path"));
        Files.createDirectories(file.getParent());
        Connection connection = DriverManager.getConnection("jdbc:sqlite:" + file);
        try (Statement s = connection.createStatement()) {
          s.execute("PRAGMA journal_mode = WAL");
          s.execute("PRAGMA synchronous = " + config.getString("spool.journal.sqlite.synchronous"));
          s.execute(CREATE_SQLITE);
        }
        for (int i = 0; i < shape.inFlight(); i++) { // one writer: the threads take turns on one connection
          writers.add(new JournalWriter(connection, INSERT_SQLITE, i == 0, "bench-" + i, writer, payload));
        }
      } else {
        Config c = config.getConfig("pekko-persistence-jdbc.shared-databases." + db + ".db");
        String url = c.getString("url");
        String user = c.getString("user");
        String password = c.getString("password");
        try (Connection connection = DriverManager.getConnection(url, user, password);
            Statement s = connection.createStatement()) {
          s.execute("TRUNCATE event_tag, event_journal");
          postgresSettings = "PostgreSQL " + show(s, "server_version") + ", fsync " + show(s, "fsync")
              + ", synchronous_commit " + show(s, "synchronous_commit") + ".";
        }
        for (int i = 0; i < shape.inFlight(); i++) {
          writers.add(new JournalWriter(DriverManager.getConnection(url, user, password), INSERT_POSTGRES, true,
              "bench-" + i, writer, payload));
        }
      }
    } catch (Exception e) {
      closeAll(writers, threads, dir);
      throw e;
    }
    return new Session() {
      @Override
      public Run run(Duration duration) throws Exception {
        return threadLoop(shape, duration, writers, threads);
      }

      @Override
      public void close() throws Exception {
        closeAll(writers, threads, dir);
      }
    };
  }

  private static String show(Statement s, String setting) throws SQLException {
    try (java.sql.ResultSet r = s.executeQuery("SHOW " + setting)) {
      return r.next() ? r.getString(1) : "?";
    }
  }

  private static void closeAll(List<JournalWriter> writers, ExecutorService threads, Path dir) throws Exception {
    threads.shutdownNow();
    for (int i = writers.size() - 1; i >= 0; i--) { // the connection's owner, the first, last
      writers.get(i).close();
    }
    deleteRecursively(dir); // after the last connection has closed the database
  }

  /**
   * Journal rows inserted in transactions of their own on a connection, which writers may share:
   * each write holds the connection for its transaction.
   */
  private static final class JournalWriter implements AutoCloseable {
    private final Connection connection;
    private final PreparedStatement insert;
    private final boolean owner;
    private final String persistenceId;
    private final String writer;
    private final byte[] payload;
    private long sequence;

    /** @param owner whether this writer closes the connection */
    JournalWriter(Connection connection, String insert, boolean owner, String persistenceId, String writer,
        byte[] payload) throws SQLException {
      this.connection = connection;
      this.owner = owner;
      this.persistenceId = persistenceId;
      this.writer = writer;
      this.payload = payload;
      connection.setAutoCommit(false);
      this.insert = connection.prepareStatement(insert);
    }

    /** Inserts {@code rows} rows in one JDBC batch and commits them. */
    void write(int rows) throws SQLException {
      synchronized (connection) {
        long now = System.currentTimeMillis();
        for (int i = 0; i < rows; i++) {
          insert.setString(1, persistenceId);
          insert.setLong(2, ++sequence);
          insert.setString(3, writer);
          insert.setLong(4, now);
          insert.setBytes(5, payload);
          insert.setInt(6, JournalSerializer.IDENTIFIER);
          insert.setString(7, "QE1");
          insert.addBatch();
        }
        insert.executeBatch();
        connection.commit();
      }
    }

    @Override
    public void close() throws SQLException {
      insert.close();
      if (owner) {
        connection.close();
      }
    }
  }

  // ---- Redis Streams

  private Session redis(Path binary, String appendfsync, Shape shape) throws Exception {
    RedisServer server = RedisServer.start(binary, appendfsync);
    RedisClient client = null;
    try {
      client = RedisClient.create(RedisURI.create("127.0.0.1", server.port()));
      StatefulRedisConnection<String, byte[]> connection = client.connect(REDIS_CODEC);
      RedisAsyncCommands<String, byte[]> redis = connection.async();
      String info = redis.info("server").get(10, TimeUnit.SECONDS);
      String policy = connection.sync().configGet("appendfsync").get("appendfsync");
      if (!appendfsync.equals(policy)) {
        throw new IllegalStateException("redis-server runs with appendfsync " + policy + ", not " + appendfsync);
      }
      redisVersion = info.lines().filter(l -> l.startsWith("redis_version:")).map(l -> l.substring(14).trim())
          .findFirst().orElse("");
      // the one dispatching thread (the closed loop's) flushes each batch as one pipeline
      connection.setAutoFlushCommands(false);
      Map<String, byte[]> body = Map.of("payload", payload);
      AtomicInteger streams = new AtomicInteger();
      RedisClient opened = client;
      return new Session() {
        @Override
        public Run run(Duration duration) throws Exception {
          String stream = "bench-" + streams.incrementAndGet();
          try {
            return closedLoop(shape, duration, () -> {
              CompletableFuture<?>[] replies = new CompletableFuture<?>[shape.batch()];
              for (int i = 0; i < replies.length; i++) {
                replies[i] = redis.xadd(stream, body).toCompletableFuture();
              }
              connection.flushCommands();
              return replies.length == 1 ? replies[0] : CompletableFuture.allOf(replies);
            });
          } finally {
            // like Spool's deleted queue: no run keeps the memory of another
            CompletableFuture<Long> deleted = redis.del(stream).toCompletableFuture();
            connection.flushCommands();
            deleted.get(60, TimeUnit.SECONDS);
          }
        }

        @Override
        public void close() throws Exception {
          try {
            opened.shutdown(Duration.ZERO, Duration.ofSeconds(2));
          } finally {
            server.close();
          }
        }
      };
    } catch (Exception e) {
      try {
        if (client != null) {
          client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        }
      } finally {
        server.close();
      }
      throw e;
    }
  }

  // ---- The two loops

  /** Asynchronous writes: one thread sends, up to {@code inFlight} outstanding. */
  static Run closedLoop(Shape shape, Duration duration, Supplier<CompletionStage<?>> send)
      throws Exception {
    Histogram latency = new ConcurrentHistogram(3);
    Semaphore slots = new Semaphore(shape.inFlight());
    LongAdder confirmed = new LongAdder();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    long start = System.nanoTime();
    long deadline = start + duration.toNanos();
    while (System.nanoTime() < deadline && failure.get() == null) {
      if (!slots.tryAcquire(60, TimeUnit.SECONDS)) {
        throw new TimeoutException("no write confirmed within 60 s");
      }
      long sent = System.nanoTime();
      send.get().whenComplete((ok, e) -> {
        try {
          if (e != null) {
            failure.compareAndSet(null, e);
          } else {
            latency.recordValue(System.nanoTime() - sent);
            confirmed.increment();
          }
        } finally {
          slots.release();
        }
      });
    }
    if (!slots.tryAcquire(shape.inFlight(), 60, TimeUnit.SECONDS)) {
      throw new TimeoutException("outstanding writes not confirmed within 60 s");
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    if (failure.get() != null) {
      throw new IllegalStateException("a write failed", failure.get());
    }
    return run(confirmed.sum() * shape.batch(), seconds, latency);
  }

  /** Blocking writes: {@code inFlight} threads, each with its own writer. */
  private static Run threadLoop(Shape shape, Duration duration, List<JournalWriter> writers,
      ExecutorService threads) throws Exception {
    Histogram latency = new ConcurrentHistogram(3);
    LongAdder confirmed = new LongAdder();
    long start = System.nanoTime();
    long deadline = start + duration.toNanos();
    List<Future<?>> done = new ArrayList<>();
    for (JournalWriter writer : writers) {
      done.add(threads.submit(() -> {
        do { // at least once, should a loaded machine start the thread past the deadline
          long sent = System.nanoTime();
          writer.write(shape.batch());
          latency.recordValue(System.nanoTime() - sent);
          confirmed.increment();
        } while (System.nanoTime() < deadline);
        return null;
      }));
    }
    for (Future<?> f : done) {
      f.get(duration.toSeconds() + 60, TimeUnit.SECONDS);
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    return run(confirmed.sum() * shape.batch(), seconds, latency);
  }

  private static Run run(long messages, double seconds, Histogram latency) {
    if (messages == 0) {
      throw new IllegalStateException("nothing was confirmed");
    }
    return new Run(messages / seconds, latency.getValueAtPercentile(50) / 1e6,
        latency.getValueAtPercentile(99) / 1e6, seconds);
  }

  // ---- Recovery

  private void recovery(Report.Table table, String db, String database, int retained) throws Exception {
    Path dir = Files.createTempDirectory("spool-bench");
    try {
      Spool spool = start(db, dir, true);
      double fillSeconds;
      try {
        fillSeconds = fill(spool, retained);
      } finally {
        spool.shutdown().toCompletableFuture().get(60, TimeUnit.SECONDS);
      }
      List<Double> seconds = new ArrayList<>();
      List<Double> heap = new ArrayList<>();
      for (int r = 0; r < runs; r++) {
        long heapBefore = Heap.usedAfterGc();
        long start = System.nanoTime();
        Spool again = start(db, dir, false);
        try {
          seconds.add((System.nanoTime() - start) / 1e9);
          long depth = again.queueInfo("retained").toCompletableFuture().get(30, TimeUnit.SECONDS).stats().depth();
          if (depth != retained) {
            throw new IllegalStateException("recovered " + depth + " of " + retained + " messages");
          }
          heap.add((Heap.usedAfterGc() - heapBefore) / 1e6);
        } finally {
          again.shutdown().toCompletableFuture().get(60, TimeUnit.SECONDS);
        }
      }
      table.row(database, retained, retained / fillSeconds, Figure.of(seconds), Figure.of(heap));
    } finally {
      deleteRecursively(dir);
    }
  }

  /** Publishes {@code retained} messages in batches of 1000, 8 outstanding; answers the seconds taken. */
  private double fill(Spool spool, int retained) throws Exception {
    spool.createQueue("retained", QueueSettings.defaults().withDurability(Durability.PERSISTENT))
        .toCompletableFuture().get(30, TimeUnit.SECONDS);
    QueuePublisher publisher = spool.createPublisher("retained", "bench");
    List<Message> thousand = new ArrayList<>(1000);
    for (int i = 0; i < 1000; i++) {
      thousand.add(Message.of("bench", payload));
    }
    long start = System.nanoTime();
    List<CompletableFuture<List<Long>>> window = new ArrayList<>();
    for (int i = 0; i < retained / 1000; i++) {
      window.add(publisher.publishAll(thousand).toCompletableFuture());
      if (window.size() == 8) {
        for (CompletableFuture<List<Long>> f : window) {
          f.get(60, TimeUnit.SECONDS);
        }
        window.clear();
      }
    }
    for (CompletableFuture<List<Long>> f : window) {
      f.get(60, TimeUnit.SECONDS);
    }
    return (System.nanoTime() - start) / 1e9;
  }

  // ---- What the figures say

  /**
   * The targets of durable publishing on PostgreSQL, per shape: at least half the JDBC ceiling, at
   * least Redis Streams with {@code appendfsync always}, p99 confirm under 20 ms.
   */
  private void targets(boolean postgres, boolean redis) {
    report.note("Targets for Spool on PostgreSQL: ≥ 50 %% of the raw batched-JDBC ceiling, ≥ Redis Streams with"
        + " AOF always, p99 confirm < 20 ms. Judged on medians; \"borderline\" when the runs' spreads reach"
        + " across the line.");
    for (Shape shape : SHAPES) {
      if (!postgres) {
        report.note("Targets not judged: PostgreSQL was not measured (SPOOL_BENCH_POSTGRES_URL unset).");
        break;
      }
      Measured spool = find(SPOOL, POSTGRES, shape);
      Measured ceiling = find(JDBC, POSTGRES, shape);
      StringBuilder s = new StringBuilder(shape.label()).append(": Spool on PostgreSQL ")
          .append(String.format(Locale.ROOT, "%,.0f msgs/s", spool.rate().median()));
      s.append(String.format(Locale.ROOT, "; %.0f %% of the JDBC ceiling (%,.0f) — %s", 100 * ratio(spool, ceiling),
          ceiling.rate().median(), verdict(spool, ceiling, 0.5)));
      if (redis) {
        Measured always = find(REDIS, AOF_ALWAYS, shape);
        s.append(String.format(Locale.ROOT, "; %.2f× Redis AOF always (%,.0f) — %s", ratio(spool, always),
            always.rate().median(), verdict(spool, always, 1.0)));
      } else {
        s.append("; Redis not measured");
      }
      Figure p99 = spool.p99();
      String latency = p99.max() < 20 ? "met" : p99.median() < 20 ? "met (borderline)"
          : p99.min() < 20 ? "missed (borderline)" : "MISSED";
      s.append(String.format(Locale.ROOT, "; p99 %.2f ms — %s.", p99.median(), latency));
      report.note("%s", s);
    }
    report.note("A persistent queue has up to spool.persistence.writes-in-flight journal writes under way (1 by"
        + " default, as Pekko's event-sourced actors allow: they send the next write only once the one under way"
        + " is stored) and gathers what arrives meanwhile into the next (group commit): with 64 single publishes"
        + " in flight, half then wait for the write under way while the other half is written. \"%s\" is the same"
        + " engine with two writes under way, the next already at the database when one completes. Messages per"
        + " journal write (median of each shape's runs, warm-ups included): %s.", SPOOL_TWO_WRITES, perWriteSummary());
    for (Shape shape : SHAPES) {
      if (shape.batch() != 1) {
        continue;
      }
      for (String database : postgres ? List.of(SQLITE, POSTGRES) : List.of(SQLITE)) {
        Measured one = find(SPOOL, database, shape);
        Measured two = find(SPOOL_TWO_WRITES, database, shape);
        report.note("%s on %s: 2 writes in flight %,.0f msgs/s, 1 write in flight %,.0f msgs/s (%.2f×).",
            shape.label(), database, two.rate().median(), one.rate().median(), ratio(two, one));
      }
    }
    for (Shape shape : SHAPES) {
      Measured spool = find(SPOOL, SQLITE, shape);
      Measured ceiling = find(JDBC, SQLITE, shape);
      report.note("%s, for comparison: Spool on SQLite %,.0f msgs/s, %.0f %% of SQLite's JDBC ceiling (%,.0f).",
          shape.label(), spool.rate().median(), 100 * ratio(spool, ceiling), ceiling.rate().median());
    }
  }

  private String perWriteSummary() {
    List<String> parts = new ArrayList<>();
    for (Shape shape : SHAPES) {
      for (String system : List.of(SPOOL, SPOOL_TWO_WRITES)) {
        for (String db : List.of("sqlite", "postgres")) {
          List<Double> values = perWrite.get(system + " " + db + " " + shape.label());
          if (values != null && !values.isEmpty()) {
            parts.add(String.format(Locale.ROOT, "%s on %s %s %.1f", system, db.equals("sqlite") ? SQLITE : POSTGRES,
                shape.label(), Figure.of(values).median()));
          }
        }
      }
    }
    return String.join("; ", parts);
  }

  private static double ratio(Measured a, Measured b) {
    return a.rate().median() / b.rate().median();
  }

  private static String verdict(Measured a, Measured b, double target) {
    boolean median = ratio(a, b) >= target;
    double worst = a.rate().min() / b.rate().max();
    double best = a.rate().max() / b.rate().min();
    if (median) {
      return worst >= target ? "met" : "met (borderline)";
    }
    return best >= target ? "missed (borderline)" : "MISSED";
  }

  private Measured find(String system, String database, Shape shape) {
    return results.stream().filter(m -> m.system().equals(system) && m.database().equals(database)
        && m.shape().equals(shape)).findFirst().orElseThrow();
  }

  private void notes() {
    report.note("Before the first shape, each system ran %d s of batch 1 × 64 in flight, discarded (the JVM's JIT warm-up: Spool's, the JDBC drivers' and Lettuce's code). Each shape: one discarded warm-up run of %d ms, then %d run(s) of %d ms; figures are medians"
        + " (min–max). Closed loops: latency is at saturation for that concurrency.", jvmWarmUp.toSeconds(),
        warmUp.toMillis(), runs,
        measured.toMillis());
    report.note("Spool writes one journal row per group commit, which may carry many messages; the JDBC"
        + " ceiling writes one row per message, so Spool can pass it.");
    report.note("%s %s SQLite in Spool's mode: WAL, synchronous=FULL, every commit fsynced (it survives kill -9"
        + " and power loss), as PostgreSQL and Redis AOF always do; SQLite has one writer, so its JDBC ceiling's"
        + " threads take turns, each commit its own fsync. Temporary files on %s.", redisVersion.isEmpty() ? "Redis Streams not measured."
        : "Redis " + redisVersion + ": one Lettuce connection with the in-flight batches pipelined on it.",
        postgresSettings, tempFileSystem());
    if (quick) {
      report.note("Quick run: short, single runs on a shared machine; indicative only.");
    }
  }

  private void charts() throws IOException {
    List<String> categories = SHAPES.stream().map(s -> "b" + s.batch() + " × " + s.inFlight()).toList();
    Map<String, List<Double>> rates = new LinkedHashMap<>();
    Map<String, List<Double>> p99s = new LinkedHashMap<>();
    for (Measured m : results) {
      if (m.system().equals(SPOOL_TWO_WRITES)) {
        continue; // measured on single publishes only: in the table and notes, not the per-shape charts
      }
      rates.computeIfAbsent(m.series(), k -> new ArrayList<>()).add(m.rate().median());
      p99s.computeIfAbsent(m.series(), k -> new ArrayList<>()).add(m.p99().median());
    }
    report.barChart("throughput", "Confirmed msgs/s per shape (batch × in flight), 100-byte messages", "msgs/s",
        categories, rates, true);
    report.barChart("p99", "p99 confirm latency per shape (batch × in flight)", "ms", categories, p99s, true);
  }

  private static String tempFileSystem() {
    try {
      return Files.getFileStore(Path.of(System.getProperty("java.io.tmpdir"))).type();
    } catch (IOException e) {
      return "unknown";
    }
  }

  // ---- Spool's configuration

  private Config config(String db, Path dir) {
    return config(db, dir, postgresUrl, Map.of());
  }

  /** Spool's configuration for {@code db} ("sqlite" or "postgres") in {@code dir}, the service's defaults under {@code extra}. */
  static Config config(String db, Path dir, String postgresUrl, Map<String, Object> extra) {
    Map<String, Object> overrides = new HashMap<>(extra);
    overrides.put("spool.data-dir", dir.toString());
    overrides.put("spool.journal.database", db);
    if (db.equals("postgres")) {
      String p = "pekko-persistence-jdbc.shared-databases.postgres.db.";
      overrides.put(p + "url", postgresUrl);
      overrides.put(p + "user", env("SPOOL_BENCH_POSTGRES_USER", "spool"));
      overrides.put(p + "password", env("SPOOL_BENCH_POSTGRES_PASSWORD", "spool"));
    }
    return ConfigFactory.load(ConfigFactory.parseMap(overrides)
        .withFallback(ConfigFactory.parseResourcesAnySyntax("application")));
  }

  private Spool start(String db, Path dir, boolean fresh) throws Exception {
    return start(db, dir, fresh, postgresUrl, Map.of());
  }

  /** A started, ready Spool; {@code fresh} empties PostgreSQL's tables first. */
  static Spool start(String db, Path dir, boolean fresh, String postgresUrl, Map<String, Object> extra)
      throws Exception {
    if (db.equals("postgres") && fresh) {
      try (Connection c = DriverManager.getConnection(postgresUrl, env("SPOOL_BENCH_POSTGRES_USER", "spool"),
          env("SPOOL_BENCH_POSTGRES_PASSWORD", "spool")); Statement s = c.createStatement()) {
        s.execute("DROP TABLE IF EXISTS event_tag, event_journal, snapshot, spool_segment");
      }
    }
    Config config = config(db, dir, postgresUrl, extra);
    JournalSchema.ensure(config);
    Spool spool = Spool.start(config);
    try {
      spool.ready().toCompletableFuture().get(10, TimeUnit.MINUTES);
    } catch (Exception e) {
      spool.shutdown().toCompletableFuture().get(60, TimeUnit.SECONDS);
      throw e;
    }
    return spool;
  }

  static void deleteRecursively(Path dir) {
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      System.err.println("could not remove " + dir + ": " + e.getMessage());
    }
  }

  static String env(String name, String otherwise) {
    String v = System.getenv(name);
    return v == null || v.isBlank() ? otherwise : v;
  }

  /** The median of column {@code i}, with the lowest and highest. */
  static String median(List<double[]> results, int i, String format) {
    double[] values = results.stream().mapToDouble(r -> r[i]).sorted().toArray();
    String m = String.format(Locale.ROOT, format, values[values.length / 2]);
    if (values.length == 1) {
      return m;
    }
    return m + " (" + String.format(Locale.ROOT, format, values[0]) + "–"
        + String.format(Locale.ROOT, format, values[values.length - 1]) + ")";
  }
}
