package dev.spool.bench;

import dev.spool.AckMode;
import dev.spool.ConsumerSettings;
import dev.spool.Delivery;
import dev.spool.Durability;
import dev.spool.Message;
import dev.spool.QueueConsumer;
import dev.spool.QueuePublisher;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import dev.spool.SpoolException;
import dev.spool.StartPosition;
import dev.spool.bench.DurableBench.Run;
import dev.spool.bench.DurableBench.Shape;
import dev.spool.bench.Report.Figure;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * Persistent queues with tiered storage, in a JVM whose heap is smaller than the backlog (512 MiB,
 * a child JVM when this one has more): sealed segments go to the segment store and leave the heap,
 * and a consumer far behind reads them back.
 *
 * <ul>
 *   <li><b>Read-back</b>: a queue filled with no consumer (1 GiB, 128 MiB with {@code --quick}) of
 *       100-byte or 1 KiB messages, then consumers from {@code earliest} read it all, one after
 *       the other, alternating the two public ways: {@code readBatch(1000)} with
 *       {@code acknowledgeUpTo} of each batch, and the {@code batches()} stream with one
 *       {@code acknowledgeUpTo} per batch. All of them exist before the first reads, so the backlog
 *       stays retained for the next; each reads everything from storage but the hot tail.
 *   <li><b>Tail latency</b>: on a queue with such a backlog, an up-to-date consumer (from
 *       {@code latest}, {@code batches()}, explicit acks) receives messages published at a fixed
 *       rate; publish→delivery latency from each message's due time (so corrected for coordinated
 *       omission), alone and while another consumer of the same queue reads the backlog, windows
 *       alternating.
 *   <li><b>Publish</b>: the durable suite's closed loop on a persistent queue with tiered storage on
 *       and off ({@code segment-store = ""}: the whole backlog in the heap), two engines open side
 *       by side, runs alternating. A fixed short run each, so that "off" stays under the heap.
 * </ul>
 */
final class TieredBench {

  /** The heap of the JVM this suite runs in: smaller than the backlog, as the point is a backlog larger than it. */
  static final String HEAP = "512m";
  private static final long MAX_HEAP_HERE = 600L << 20;
  private static final int[] SIZES = {100, 1024};
  private static final int READ_BATCH = 1000;
  private static final String READ_BATCH_API = "readBatch(1000) + acknowledgeUpTo";
  private static final String STREAM_API = "batches() + acknowledgeUpTo per batch";
  private static final List<Shape> PUBLISH_SHAPES = List.of(new Shape(100, 1), new Shape(100, 64));

  private final boolean quick;
  private final String postgresUrl;
  private final long backlogBytes;
  private final int runs;
  private final Report report;
  /** The parts to run: all unless {@code SPOOL_BENCH_TIERED} names some, comma-separated. */
  private final List<String> parts = List.of(DurableBench.env("SPOOL_BENCH_TIERED", "publish,read-back,latency")
      .split(","));
  private final Random random = new Random(42);
  private String loadAtStart = "";
  /** Batches the last fill had to send again. */
  private long rejected;

  TieredBench(boolean quick, String postgresUrl) {
    this.quick = quick;
    this.postgresUrl = postgresUrl;
    this.backlogBytes = Long.parseLong(DurableBench.env("SPOOL_BENCH_BACKLOG_MIB", quick ? "128" : "1024")) << 20;
    this.runs = quick ? 1 : 2;
    this.report = new Report("durable-tiered", quick);
  }

  /**
   * Runs the suite in this JVM if its heap is at most {@link #HEAP}-ish, else in a child JVM with
   * that heap (options from {@code SPOOL_BENCH_JVM_OPTS} added, e.g. a flight recording).
   */
  static void run(boolean quick, String postgresUrl) throws Exception {
    if (Runtime.getRuntime().maxMemory() <= MAX_HEAP_HERE) {
      new TieredBench(quick, postgresUrl).run();
      return;
    }
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx" + HEAP);
    String opts = System.getenv("SPOOL_BENCH_JVM_OPTS");
    if (opts != null && !opts.isBlank()) {
      command.addAll(List.of(opts.trim().split("\\s+")));
    }
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), Bench.class.getName(), "durable",
        "--tiered"));
    if (quick) {
      command.add("--quick");
    }
    System.out.println("tiered storage: in a child JVM with -Xmx" + HEAP);
    int exit = new ProcessBuilder(command).inheritIO().start().waitFor();
    if (exit != 0) {
      throw new IllegalStateException("the tiered-storage child JVM exited with " + exit);
    }
  }

  void run() throws Exception {
    loadAtStart = loadAverage();
    Map<String, String> databases = new LinkedHashMap<>();
    databases.put("sqlite", "SQLite");
    if (postgresUrl != null && !postgresUrl.isBlank()) {
      databases.put("postgres", "PostgreSQL");
    } else {
      System.out.println("PostgreSQL skipped: set SPOOL_BENCH_POSTGRES_URL (e.g. from .ci/postgres)");
    }
    System.out.printf(Locale.ROOT, "tiered storage: backlog %d MiB, heap %d MiB, %d run(s) per variant%n",
        backlogBytes >> 20, Runtime.getRuntime().maxMemory() >> 20, runs);
    Report.Table publish = report.table("publish", "Confirmed publishes of 100-byte messages to a persistent"
            + " queue, tiered storage on and off (closed loop)", "database", "tiered storage", "batch", "in flight",
        "msgs/s:%,.0f", "p99 ms:%.2f", "on/off:%.2f");
    for (Map.Entry<String, String> db : databases.entrySet()) {
      if (parts.contains("publish")) {
        publish(publish, db.getKey(), db.getValue());
      }
    }
    Report.Table readBack = report.table("read-back", "Read-back of a backlog larger than the heap by a"
            + " consumer from earliest", "database", "message bytes", "backlog MiB:%,.0f", "filled at msgs/s:%,.0f",
        "fill batches resent:%,.0f", "API", "msgs/s:%,.0f", "MB/s:%,.1f");
    for (Map.Entry<String, String> db : databases.entrySet()) {
      for (int size : SIZES) {
        if (!parts.contains("read-back")) {
          break;
        }
        readBack(readBack, db.getKey(), db.getValue(), size);
      }
    }
    Report.Table latency = report.table("latency", "Publish→delivery latency of an up-to-date consumer,"
            + " 100-byte messages at a fixed rate, with and without a consumer reading the backlog (µs)",
        "database", "offered msgs/s:%,.0f", "backlog reader", "backlog read msgs/s:%,.0f", "p50 µs:%,.0f",
        "p99 µs:%,.0f", "p99.9 µs:%,.0f", "max µs:%,.0f");
    for (Map.Entry<String, String> db : databases.entrySet()) {
      if (!parts.contains("latency")) {
        break;
      }
      latency(latency, db.getKey(), db.getValue());
    }
    notes();
    report.write();
  }

  // ---- Publish, tiered storage on and off

  private void publish(Report.Table table, String db, String database) throws Exception {
    Duration measured = Duration.ofMillis(quick ? 400 : 800);
    int repeats = quick ? 3 : 5;
    // Two engines on one PostgreSQL database would share their queue manager's journal: there each
    // run opens its engine afresh; SQLite files are apart, so both stay open.
    boolean reopen = db.equals("postgres");
    Map<String, Path> dirs = new LinkedHashMap<>();
    Map<String, Spool> open = new LinkedHashMap<>();
    Map<String, Map<String, Object>> configs = Map.of("on", Map.of("spool.storage.segment-store", db),
        "off", Map.of("spool.storage.segment-store", ""));
    try {
      for (String variant : List.of("on", "off")) {
        dirs.put(variant, Files.createTempDirectory("spool-bench-" + variant));
        if (!reopen) {
          open.put(variant, DurableBench.start(db, dirs.get(variant), true, postgresUrl, configs.get(variant)));
        }
      }
      byte[] payload = new byte[100];
      random.nextBytes(payload);
      for (Shape shape : PUBLISH_SHAPES) {
        List<Message> batch = new ArrayList<>();
        for (int i = 0; i < shape.batch(); i++) {
          batch.add(Message.of("bench", payload));
        }
        Map<String, List<Run>> results = new LinkedHashMap<>();
        results.put("on", new ArrayList<>());
        results.put("off", new ArrayList<>());
        for (int r = -1; r < repeats; r++) { // run -1 warms both up
          for (String variant : r % 2 == 0 ? List.of("on", "off") : List.of("off", "on")) {
            String queue = variant + "-" + shape.inFlight() + "-" + (r + 1);
            Run run;
            if (reopen) {
              Spool spool = DurableBench.start(db, dirs.get(variant), true, postgresUrl, configs.get(variant));
              try {
                run = publishRun(spool, queue, shape, batch, measured);
              } finally {
                spool.shutdown().toCompletableFuture().get(60, TimeUnit.SECONDS);
              }
            } else {
              run = publishRun(open.get(variant), queue, shape, batch, measured);
            }
            if (r >= 0) {
              results.get(variant).add(run);
            }
          }
        }
        Figure onRate = Figure.of(results.get("on").stream().map(Run::msgsPerSecond).toList());
        Figure offRate = Figure.of(results.get("off").stream().map(Run::msgsPerSecond).toList());
        List<Double> ratios = new ArrayList<>();
        for (int r = 0; r < repeats; r++) {
          ratios.add(results.get("on").get(r).msgsPerSecond() / results.get("off").get(r).msgsPerSecond());
        }
        Figure ratio = Figure.of(ratios);
        table.row(database, "off", shape.batch(), shape.inFlight(), offRate,
            Figure.of(results.get("off").stream().map(Run::p99Ms).toList()), "");
        table.row(database, "on (" + db + ")", shape.batch(), shape.inFlight(), onRate,
            Figure.of(results.get("on").stream().map(Run::p99Ms).toList()), ratio);
        report.note("Publish, %s, %s: tiered storage on delivers %.0f %% of off (median of the paired runs' ratios,"
                + " %.0f–%.0f %%; aim ≥ 90 %%) — %s.", database, shape.label(), 100 * ratio.median(),
            100 * ratio.min(), 100 * ratio.max(), ratio.median() >= 0.9 ? (ratio.min() >= 0.9 ? "met" : "met (borderline)")
                : ratio.max() >= 0.9 ? "missed (borderline)" : "MISSED");
      }
    } finally {
      for (Spool s : open.values()) {
        s.shutdown().toCompletableFuture().get(60, TimeUnit.SECONDS);
      }
      dirs.values().forEach(DurableBench::deleteRecursively);
    }
  }

  private static Run publishRun(Spool spool, String queue, Shape shape, List<Message> batch, Duration duration)
      throws Exception {
    spool.createQueue(queue, QueueSettings.defaults().withDurability(Durability.PERSISTENT))
        .toCompletableFuture().get(30, TimeUnit.SECONDS);
    try {
      QueuePublisher publisher = spool.createPublisher(queue, "bench");
      return DurableBench.closedLoop(shape, duration, () -> publisher.publishAll(batch));
    } finally {
      spool.deleteQueue(queue).toCompletableFuture().get(60, TimeUnit.SECONDS);
    }
  }

  // ---- Read-back

  private void readBack(Report.Table table, String db, String database, int size) throws Exception {
    Path dir = Files.createTempDirectory("spool-bench-tiered");
    Spool spool = DurableBench.start(db, dir, true, postgresUrl, Map.of("spool.storage.segment-store", db));
    try {
      long messages = backlogBytes / size;
      String queue = "backlog";
      double fillRate = fill(spool, queue, size, messages, false);
      long fillRejected = rejected;
      // every reader exists before the first reads, so that the backlog stays for the last
      List<String> apis = new ArrayList<>();
      apis.add("warm-up");
      // alternating, readBatch first and last: the stream is the slower and the run's time goes to it once
      for (int r = 0; r < (quick ? 2 : 3); r++) {
        apis.add(r % 2 == 0 ? READ_BATCH_API : STREAM_API);
      }
      List<QueueConsumer> readers = new ArrayList<>();
      for (int i = 0; i < apis.size(); i++) {
        QueueConsumer c = spool.createConsumer(queue, ConsumerSettings.named("reader-" + i)
            .startAt(StartPosition.earliest()).prefetch(2 * READ_BATCH));
        c.ready().toCompletableFuture().get(30, TimeUnit.SECONDS);
        readers.add(c);
      }
      Map<String, List<Double>> rates = new LinkedHashMap<>();
      for (int i = 0; i < apis.size(); i++) {
        String api = apis.get(i);
        long count = api.equals("warm-up") ? Math.min(messages, messages / 5 + 100_000) : messages;
        long start = System.nanoTime();
        long read = api.equals(STREAM_API) ? readStream(spool, readers.get(i), count)
            : readPulling(readers.get(i), count, null);
        double seconds = (System.nanoTime() - start) / 1e9;
        spool.deleteConsumer(queue, readers.get(i).name()).toCompletableFuture().get(60, TimeUnit.SECONDS);
        System.out.printf(Locale.ROOT, "  %s %d B, %s: %,d msgs in %.1f s (%,.0f msgs/s), until %s%n", database, size,
            api, read, seconds, read / seconds, java.time.Instant.now());
        if (!api.equals("warm-up")) {
          rates.computeIfAbsent(api, k -> new ArrayList<>()).add(read / seconds);
        }
      }
      for (Map.Entry<String, List<Double>> e : rates.entrySet()) {
        Figure rate = Figure.of(e.getValue());
        Figure mbps = Figure.of(e.getValue().stream().map(r -> r * size / 1e6).toList());
        table.row(database, size, (double) messages * size / (1 << 20), fillRate, fillRejected, e.getKey(), rate,
            mbps);
        if (size == 100 && db.equals("sqlite")) {
          report.note("Read-back of 100-byte messages on SQLite, %s: %,.0f msgs/s (aim ≥ 500,000) — %s.", e.getKey(),
              rate.median(), rate.median() >= 500_000 ? (rate.min() >= 500_000 ? "met" : "met (borderline)")
                  : rate.max() >= 500_000 ? "missed (borderline)" : "MISSED");
        }
      }
    } finally {
      spool.shutdown().toCompletableFuture().get(60, TimeUnit.SECONDS);
      DurableBench.deleteRecursively(dir);
    }
  }

  /**
   * Publishes {@code messages} of {@code size} bytes in batches of 1000, 8 outstanding, and answers
   * msgs/s. {@code distinct}: each message its own payload array, else a few hundred shared.
   */
  private double fill(Spool spool, String queue, int size, long messages, boolean distinct) throws Exception {
    spool.createQueue(queue, QueueSettings.defaults().withDurability(Durability.PERSISTENT))
        .toCompletableFuture().get(30, TimeUnit.SECONDS);
    QueuePublisher publisher = spool.createPublisher(queue, "bench");
    List<byte[]> payloads = new ArrayList<>();
    for (int i = 0; i < 257; i++) { // incompressible, and not the same array everywhere
      byte[] p = new byte[size];
      random.nextBytes(p);
      payloads.add(p);
    }
    long start = System.nanoTime();
    rejected = 0;
    java.util.ArrayDeque<Map.Entry<List<Message>, CompletableFuture<List<Long>>>> window = new java.util.ArrayDeque<>();
    for (long i = 0; i < messages; ) {
      int n = (int) Math.min(1000, messages - i);
      List<Message> batch = new ArrayList<>(n);
      for (int k = 0; k < n; k++) {
        byte[] p = payloads.get((int) ((i + k) % payloads.size()));
        batch.add(Message.of("bench", distinct ? p.clone() : p));
      }
      i += n;
      window.add(Map.entry(batch, publisher.publishAll(batch).toCompletableFuture()));
      if (window.size() == 8) {
        confirm(publisher, window.poll());
      }
    }
    while (!window.isEmpty()) {
      confirm(publisher, window.poll());
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    System.out.printf(Locale.ROOT, "  filled %,d messages of %d B in %.1f s, %,d batch(es) rejected with QueueFull"
        + " (or timed out) and sent again%n", messages, size, seconds, rejected);
    return messages / seconds;
  }

  /**
   * Waits for a batch's confirmation; a {@code QueueFull} rejection (the engine's memory threshold,
   * reached when storing segments lags behind publishing), a stalled journal or a timeout is counted
   * and the batch sent again after a pause, as a client would on HTTP 429 or 503, for at most two
   * minutes. A batch resent after a timeout may be stored twice: readers read the count filled.
   */
  private void confirm(QueuePublisher publisher, Map.Entry<List<Message>, CompletableFuture<List<Long>>> sent)
      throws Exception {
    CompletableFuture<List<Long>> pending = sent.getValue();
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
    while (true) {
      try {
        pending.get(60, TimeUnit.SECONDS);
        return;
      } catch (java.util.concurrent.ExecutionException e) {
        boolean retry = e.getCause() instanceof SpoolException.QueueFull
            || e.getCause() instanceof SpoolException.Timeout
            || e.getCause() instanceof SpoolException.JournalUnavailable;
        if (!retry || System.nanoTime() > deadline) {
          throw e;
        }
        rejected++;
        Thread.sleep(20);
        pending = publisher.publishAll(sent.getKey()).toCompletableFuture();
      }
    }
  }

  /**
   * Reads {@code count} messages with {@code readBatch}, acknowledging each batch (one
   * acknowledgement outstanding while the next batch is read), checking that sequences rise;
   * stops early when {@code stop} is set. Answers how many were read.
   */
  private static long readPulling(QueueConsumer consumer, long count, AtomicBoolean stop) throws Exception {
    long read = 0;
    long last = -1;
    CompletableFuture<Integer> acked = CompletableFuture.completedFuture(0);
    while (read < count && (stop == null || !stop.get())) {
      List<Delivery> got = consumer.readBatch(READ_BATCH, Duration.ofSeconds(5)).toCompletableFuture()
          .get(60, TimeUnit.SECONDS);
      if (got.isEmpty()) {
        throw new TimeoutException("nothing delivered for 5 s after " + read + " of " + count);
      }
      for (Delivery d : got) {
        if (d.sequence() <= last) {
          throw new IllegalStateException("sequence " + d.sequence() + " after " + last);
        }
        last = d.sequence();
      }
      read += got.size();
      acked.get(60, TimeUnit.SECONDS);
      acked = consumer.acknowledgeUpTo(last).toCompletableFuture();
    }
    acked.get(60, TimeUnit.SECONDS);
    return read;
  }

  /** Reads {@code count} messages from the {@code batches()} stream, one {@code acknowledgeUpTo} per batch. */
  private static long readStream(Spool spool, QueueConsumer consumer, long count) throws Exception {
    AtomicLong read = new AtomicLong();
    AtomicLong last = new AtomicLong(-1);
    consumer.batches()
        .map(batch -> {
          for (Delivery d : batch) {
            if (d.sequence() <= last.get()) {
              throw new IllegalStateException("sequence " + d.sequence() + " after " + last.get());
            }
            last.set(d.sequence());
          }
          read.addAndGet(batch.size());
          return batch;
        })
        .mapAsync(1, batch -> consumer.acknowledgeUpTo(batch.get(batch.size() - 1).sequence()))
        .takeWhile(n -> read.get() < count, true)
        .runWith(Sink.ignore(), spool.system())
        .toCompletableFuture().get(30, TimeUnit.MINUTES);
    return read.get();
  }

  // ---- Tail latency with and without a backlog reader

  private void latency(Report.Table table, String db, String database) throws Exception {
    int rate = 10_000;
    Duration window = Duration.ofSeconds(quick ? 4 : 8);
    int windows = quick ? 2 : 3;
    Path dir = Files.createTempDirectory("spool-bench-tiered");
    Spool spool = DurableBench.start(db, dir, true, postgresUrl, Map.of("spool.storage.segment-store", db));
    try {
      String queue = "live";
      // enough that each window's fresh reader reads from storage throughout
      long backlog = Math.min(backlogBytes, 512L << 20) / 100;
      fill(spool, queue, 100, backlog, false);
      // the backlog readers exist before the live consumer: a queue keeps only what some consumer has yet to read
      List<QueueConsumer> backlogReaders = new ArrayList<>();
      for (int i = 0; i < windows; i++) {
        QueueConsumer reader = spool.createConsumer(queue, ConsumerSettings.named("backlog-" + i)
            .startAt(StartPosition.earliest()).prefetch(2 * READ_BATCH));
        reader.ready().toCompletableFuture().get(30, TimeUnit.SECONDS);
        backlogReaders.add(reader);
      }
      QueueConsumer live = spool.createConsumer(queue, ConsumerSettings.named("live")
          .startAt(StartPosition.latest()).ackMode(AckMode.EXPLICIT).prefetch(1000));
      live.ready().toCompletableFuture().get(30, TimeUnit.SECONDS);
      Recorder recorder = new Recorder(TimeUnit.SECONDS.toNanos(60), 3);
      AtomicReference<Throwable> failed = new AtomicReference<>();
      CompletableFuture<?> liveDone = live.batches()
          .map(batch -> {
            long now = System.nanoTime();
            for (Delivery d : batch) {
              recorder.recordValue(Math.max(0, now - ByteBuffer.wrap(d.message().payload()).getLong(0)));
            }
            return batch;
          })
          .mapAsync(1, batch -> live.acknowledgeUpTo(batch.get(batch.size() - 1).sequence()))
          .runWith(Sink.ignore(), spool.system()).toCompletableFuture();
      liveDone.whenComplete((d, e) -> {
        if (e != null) {
          failed.compareAndSet(null, e);
        }
      });
      Pacer pacer = new Pacer(spool.createPublisher(queue, "live"), rate, failed);
      Thread publishing = new Thread(pacer, "tiered-pacer");
      publishing.start();
      try {
        Thread.sleep(window.toMillis() / 2); // warm: the pacer and the live consumer reach steady state
        recorder.getIntervalHistogram();
        Map<Boolean, List<Histogram>> results = new LinkedHashMap<>();
        Map<Boolean, List<Double>> readRates = new LinkedHashMap<>();
        results.put(false, new ArrayList<>());
        results.put(true, new ArrayList<>());
        readRates.put(true, new ArrayList<>());
        int readers = 0;
        for (int w = 0; w < 2 * windows; w++) {
          boolean withReader = w % 4 == 1 || w % 4 == 2; // without, with, with, without, ...
          if (withReader) {
            QueueConsumer reader = backlogReaders.get(readers++);
            AtomicBoolean stop = new AtomicBoolean();
            CompletableFuture<Long> reading = CompletableFuture.supplyAsync(() -> {
              try {
                return readPulling(reader, Long.MAX_VALUE, stop);
              } catch (Exception e) {
                throw new IllegalStateException(e);
              }
            });
            recorder.getIntervalHistogram();
            long start = System.nanoTime();
            Thread.sleep(window.toMillis());
            results.get(true).add(recorder.getIntervalHistogram());
            stop.set(true);
            long read = reading.get(60, TimeUnit.SECONDS);
            double seconds = (System.nanoTime() - start) / 1e9;
            readRates.get(true).add(read / seconds);
            if (read >= backlog) {
              System.out.println("  the backlog reader caught up within the window: a larger backlog measures longer");
            }
            spool.deleteConsumer(queue, reader.name()).toCompletableFuture().get(60, TimeUnit.SECONDS);
          } else {
            recorder.getIntervalHistogram();
            Thread.sleep(window.toMillis());
            results.get(false).add(recorder.getIntervalHistogram());
          }
          if (failed.get() != null) {
            throw new IllegalStateException("publishing or the live consumer failed", failed.get());
          }
        }
        Map<Boolean, Figure> p99s = new LinkedHashMap<>();
        for (Map.Entry<Boolean, List<Histogram>> e : results.entrySet()) {
          List<Histogram> hs = e.getValue();
          Figure p99 = micros(hs, 99);
          p99s.put(e.getKey(), p99);
          table.row(database, rate, e.getKey() ? "reading from earliest" : "none",
              e.getKey() ? Figure.of(readRates.get(true)) : "", micros(hs, 50), p99, micros(hs, 99.9),
              micros(hs, 100));
        }
        double ratio = p99s.get(true).median() / p99s.get(false).median();
        report.note("Tail latency, %s: p99 with a backlog reader is %.2f× the p99 without (aim ≤ 2×) — %s.",
            database, ratio, ratio <= 2 ? "met" : "MISSED");
      } finally {
        pacer.stop();
        publishing.join(60_000);
      }
    } finally {
      spool.shutdown().toCompletableFuture().get(60, TimeUnit.SECONDS);
      DurableBench.deleteRecursively(dir);
    }
  }

  private static Figure micros(List<Histogram> windows, double percentile) {
    return Figure.of(windows.stream().map(h -> percentile >= 100 ? h.getMaxValue() / 1e3
        : h.getValueAtPercentile(percentile) / 1e3).toList());
  }

  /**
   * Publishes 100-byte messages at a fixed rate, each carrying its due time, the messages due
   * together in one {@code publishAll}, at most 8 outstanding.
   */
  private static final class Pacer implements Runnable {
    private final QueuePublisher publisher;
    private final long interval;
    private final AtomicReference<Throwable> failed;
    private volatile boolean running = true;

    Pacer(QueuePublisher publisher, int rate, AtomicReference<Throwable> failed) {
      this.publisher = publisher;
      this.interval = TimeUnit.SECONDS.toNanos(1) / rate;
      this.failed = failed;
    }

    void stop() {
      running = false;
    }

    @Override
    public void run() {
      long first = System.nanoTime();
      long sent = 0;
      java.util.ArrayDeque<CompletableFuture<List<Long>>> outstanding = new java.util.ArrayDeque<>();
      try {
        while (running) {
          long due = (System.nanoTime() - first) / interval + 1;
          if (due <= sent) {
            LockSupport.parkNanos(Math.min(interval, 50_000));
            continue;
          }
          List<Message> batch = new ArrayList<>();
          for (long i = sent; i < due && batch.size() < 512; i++) {
            byte[] p = new byte[100];
            ByteBuffer.wrap(p).putLong(0, first + i * interval);
            batch.add(Message.of("live", p));
          }
          sent += batch.size();
          outstanding.add(publisher.publishAll(batch).toCompletableFuture());
          while (!outstanding.isEmpty() && (outstanding.size() > 8 || outstanding.peek().isDone())) {
            outstanding.poll().get(60, TimeUnit.SECONDS);
          }
        }
        for (CompletableFuture<List<Long>> f : outstanding) {
          f.get(60, TimeUnit.SECONDS);
        }
      } catch (Exception e) {
        failed.compareAndSet(null, e);
      }
    }
  }

  private static String loadAverage() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
    } catch (java.io.IOException | RuntimeException e) {
      return "unknown";
    }
  }

  private void notes() {
    report.note("Child JVM heap %d MiB; spool.storage defaults (hot-bytes-per-queue 32 MiB, cache-size 5 %% of the"
            + " heap, read-ahead 2); segments of 1024 messages; random (incompressible) payloads; uncompressed"
            + " segments. Figures are medians (min–max), variants alternating in one run: publish %d paired runs,"
            + " read-back %d readBatch and 1 stream read per backlog, latency %d windows each. Load average (1 min)"
            + " at the start and end: %s and %s: the machine's other work is in these figures.",
        Runtime.getRuntime().maxMemory() >> 20, quick ? 3 : 5, quick ? 1 : 2, quick ? 2 : 3, loadAtStart, loadAverage());
    report.note("Read-back: every reader is created before the first reads and reads the whole backlog, so all"
        + " but the hot tail (32 MiB) comes from the segment store; a discarded warm-up reader reads the first"
        + " fifth first, then readBatch, batches()%s. Fills send 1000-message batches, 8 outstanding; a batch"
        + " refused (QueueFull: storing segments lagged behind publishing and the heap reached the memory"
        + " threshold) or timed out is sent again after 20 ms and counted. Publish: fresh queue per run, %d ms runs (short, so that \"off\" keeps its backlog in the"
        + " heap), one discarded warm-up pair.", quick ? "" : ", readBatch again", quick ? 400 : 800);
    report.note("Tail latency: 10,000 msgs/s offered in batches of what is due, each message timed from its due"
        + " time (corrected for coordinated omission); windows of %d s alternate without and with a consumer"
        + " reading the backlog from earliest with readBatch(1000).", quick ? 4 : 8);
    if (quick) {
      report.note("Quick run: a smaller backlog, single runs on a shared machine; indicative only.");
    }
  }
}
