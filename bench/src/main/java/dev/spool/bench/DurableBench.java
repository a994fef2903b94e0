package dev.spool.bench;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spool.Durability;
import dev.spool.Message;
import dev.spool.QueuePublisher;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import dev.spool.app.JournalSchema;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

/**
 * Durable publish throughput and confirm latency on the H2 and PostgreSQL journals (100-byte
 * messages, batches of 1 and of 100), and recovery of a queue retaining 1,000,000 messages: the
 * time from start to ready and the heap it then takes. Each figure is the median of its runs, with
 * the spread. Latency is measured per publish from send to confirmation with a fixed number in
 * flight (a closed loop, so it is the latency at saturation, not at a fixed offered rate).
 */
final class DurableBench {

  private static final byte[] PAYLOAD = new byte[100];

  private final boolean quick;
  private final String postgresUrl;

  DurableBench(boolean quick, String postgresUrl) {
    this.quick = quick;
    this.postgresUrl = postgresUrl;
  }

  void run() throws Exception {
    List<String> databases = new ArrayList<>(List.of("h2"));
    if (postgresUrl != null) {
      databases.add("postgres");
    } else {
      System.out.println("PostgreSQL skipped: set SPOOL_BENCH_POSTGRES_URL (e.g. from .ci/postgres)");
    }
    int runs = quick ? 1 : 3;
    int messages = quick ? 20_000 : 200_000;
    System.out.printf(Locale.ROOT, "%-9s %-9s %-9s %14s %10s %10s%n", "journal", "batch", "in-flight",
        "msgs/s", "p50 ms", "p99 ms");
    for (String db : databases) {
      for (int[] shape : new int[][] {{1, 64}, {100, 8}}) {
        List<double[]> results = new ArrayList<>();
        for (int r = 0; r < runs + 1; r++) {
          double[] result = publish(db, shape[0], shape[1], r == 0 ? messages / 10 : messages);
          if (r > 0) { // the first run warms up
            results.add(result);
          }
        }
        System.out.printf(Locale.ROOT, "%-9s %-9d %-9d %14s %10s %10s%n", db, shape[0], shape[1],
            median(results, 0, "%.0f"), median(results, 1, "%.2f"), median(results, 2, "%.2f"));
      }
    }
    int retained = quick ? 100_000 : 1_000_000;
    for (String db : databases) {
      recovery(db, retained, runs);
    }
  }

  /** @return msgs/s, p50 and p99 confirm latency in ms */
  private double[] publish(String db, int batch, int inFlight, int messages) throws Exception {
    Path dir = Files.createTempDirectory("spool-bench");
    Spool spool = start(db, dir, true);
    try {
      spool.createQueue("bench", QueueSettings.defaults().withDurability(Durability.PERSISTENT))
          .toCompletableFuture().get(30, TimeUnit.SECONDS);
      QueuePublisher publisher = spool.createPublisher("bench", "bench");
      List<Message> one = new ArrayList<>(batch);
      for (int i = 0; i < batch; i++) {
        one.add(Message.of("bench", PAYLOAD));
      }
      Histogram latency = new ConcurrentHistogram(TimeUnit.SECONDS.toNanos(60), 3);
      Semaphore slots = new Semaphore(inFlight);
      int publishes = messages / batch;
      CompletableFuture<Void> all = new CompletableFuture<>();
      java.util.concurrent.atomic.AtomicInteger done = new java.util.concurrent.atomic.AtomicInteger();
      long start = System.nanoTime();
      for (int i = 0; i < publishes; i++) {
        slots.acquire();
        long sent = System.nanoTime();
        publisher.publishAll(one).whenComplete((seqs, failure) -> {
          latency.recordValue(System.nanoTime() - sent);
          slots.release();
          if (failure != null) {
            all.completeExceptionally(failure);
          } else if (done.incrementAndGet() == publishes) {
            all.complete(null);
          }
        });
      }
      all.get(10, TimeUnit.MINUTES);
      double seconds = (System.nanoTime() - start) / 1e9;
      return new double[] {publishes * (double) batch / seconds, latency.getValueAtPercentile(50) / 1e6,
          latency.getValueAtPercentile(99) / 1e6};
    } finally {
      spool.shutdown().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }
  }

  private void recovery(String db, int retained, int runs) throws Exception {
    Path dir = Files.createTempDirectory("spool-bench");
    Spool spool = start(db, dir, true);
    spool.createQueue("retained", QueueSettings.defaults().withDurability(Durability.PERSISTENT))
        .toCompletableFuture().get(30, TimeUnit.SECONDS);
    QueuePublisher publisher = spool.createPublisher("retained", "bench");
    List<Message> thousand = new ArrayList<>(1000);
    for (int i = 0; i < 1000; i++) {
      thousand.add(Message.of("bench", PAYLOAD));
    }
    long fillStart = System.nanoTime();
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
    double fillSeconds = (System.nanoTime() - fillStart) / 1e9;
    spool.shutdown().toCompletableFuture().get(60, TimeUnit.SECONDS);
    List<double[]> results = new ArrayList<>();
    for (int r = 0; r < runs; r++) {
      long heapBefore = usedHeapAfterGc();
      long start = System.nanoTime();
      Spool again = start(db, dir, false);
      again.ready().toCompletableFuture().get(10, TimeUnit.MINUTES);
      double seconds = (System.nanoTime() - start) / 1e9;
      long depth = again.queueInfo("retained").toCompletableFuture().get(30, TimeUnit.SECONDS).stats().depth();
      if (depth != retained) {
        throw new IllegalStateException("recovered " + depth + " of " + retained + " messages");
      }
      long heap = usedHeapAfterGc() - heapBefore;
      results.add(new double[] {seconds, heap / 1e6});
      again.shutdown().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }
    System.out.printf(Locale.ROOT, "recovery on %s of %,d retained 100-byte messages (filled at %.0f msgs/s in"
            + " batches of 1000): %s s to ready, %s MB of heap held after recovery%n", db, retained,
        retained / fillSeconds, median(results, 0, "%.2f"), median(results, 1, "%.0f"));
  }

  private Spool start(String db, Path dir, boolean fresh) throws Exception {
    Map<String, Object> overrides = new HashMap<>();
    overrides.put("spool.data-dir", dir.toString());
    overrides.put("spool.journal.database", db);
    if (db.equals("postgres")) {
      String p = "pekko-persistence-jdbc.shared-databases.postgres.db.";
      overrides.put(p + "url", postgresUrl);
      overrides.put(p + "user", env("SPOOL_BENCH_POSTGRES_USER", "spool"));
      overrides.put(p + "password", env("SPOOL_BENCH_POSTGRES_PASSWORD", "spool"));
      if (fresh) {
        try (Connection c = DriverManager.getConnection(postgresUrl, env("SPOOL_BENCH_POSTGRES_USER", "spool"),
            env("SPOOL_BENCH_POSTGRES_PASSWORD", "spool")); Statement s = c.createStatement()) {
          s.execute("DROP TABLE IF EXISTS event_tag, event_journal, snapshot");
        }
      }
    }
    // A fresh actor system name each time: the previous one may still be ending.
    Config config = ConfigFactory.load(ConfigFactory.parseMap(overrides)
        .withFallback(ConfigFactory.parseResourcesAnySyntax("application")));
    JournalSchema.ensure(config);
    Spool spool = Spool.start(config);
    spool.ready().toCompletableFuture().get(10, TimeUnit.MINUTES);
    return spool;
  }

  private static long usedHeapAfterGc() {
    for (int i = 0; i < 3; i++) {
      System.gc();
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
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
