package dev.spool.bench;

import com.typesafe.config.ConfigFactory;
import dev.spool.AckMode;
import dev.spool.ConsumerSettings;
import dev.spool.Message;
import dev.spool.QueueConsumer;
import dev.spool.QueuePublisher;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * Many busy queues in one engine (in memory): 1, 10 and 100 queues, 4 stream consumers each
 * ({@code batches()}, ack mode {@code none}, prefetch 1000), every queue published to at once. It
 * shows whether publishes to different queues wait for one another in one actor: the aggregate
 * delivered msgs/s of 100 queues should be close to that of 1 (target ≥ 80 %).
 *
 * <p>One producer thread goes round the queues' publishers, each publish a batch of
 * {@value #BATCH} 100-byte messages, with at most {@value #IN_FLIGHT} publishes in flight per queue
 * (so each queue is as busy however many there are); every run carries the same number of deliveries whatever the number of queues. Timed from
 * the first publish to the last delivery; consumers are created and attached before the clock
 * starts. Each figure is the median of its runs after a warm-up run.
 */
final class QueuesBench {

  private static final byte[] PAYLOAD = new byte[100];
  private static final int[] QUEUES = {1, 10, 100};
  private static final int CONSUMERS = 4;
  private static final int BATCH = 100;
  /** Publishes in flight per queue: each queue is as busy, however many there are. */
  private static final int IN_FLIGHT = 4;
  private static final double TARGET = 0.8;

  private final boolean quick;

  QueuesBench(boolean quick) {
    this.quick = quick;
  }

  void run() throws Exception {
    Spool spool = Spool.start(ConfigFactory.parseString("""
            pekko.loglevel = WARNING
            spool.persistence.journal-plugin = ""
            spool.memory.threshold = off
            """).withFallback(ConfigFactory.load()));
    Report report = new Report("queues", quick);
    int runs = quick ? 1 : 3;
    int messages = quick ? 400_000 : 2_000_000; // over all queues, per run
    String load = loadAverage();
    try {
      Report.Table table = report.table("queues", "Many busy queues: aggregate delivered messages/s, 4 consumers"
              + " a queue (batches(), ack none), publishes of 100 × 100-byte messages, 4 in flight a queue",
          "queues", "messages a run:%,.0f", "published msgs/s:%,.0f", "delivered msgs/s:%,.0f", "vs 1 queue:%.2f",
          "CPU ns/delivery:%,.0f");
      Map<Integer, Double> medians = new LinkedHashMap<>();
      List<Double> chart = new ArrayList<>();
      for (int queues : QUEUES) {
        System.out.printf(Locale.ROOT, "%d busy queues …%n", queues);
        run(spool, queues, messages); // warm-up
        List<Double> published = new ArrayList<>();
        List<Double> delivered = new ArrayList<>();
        List<Double> cpu = new ArrayList<>();
        for (int r = 0; r < runs; r++) {
          double[] m = run(spool, queues, messages);
          published.add(m[0]);
          delivered.add(m[1]);
          cpu.add(m[2]);
        }
        Report.Figure rate = Report.Figure.of(delivered);
        medians.put(queues, rate.median());
        chart.add(rate.median());
        table.row(queues, messages, Report.Figure.of(published), rate, rate.median() / medians.get(1),
            Report.Figure.of(cpu));
      }
      double ratio = medians.get(100) / medians.get(1);
      report.note("100 queues deliver %.0f %% of 1 queue's aggregate msgs/s (target ≥ %.0f %%: %s)", 100 * ratio,
          100 * TARGET, ratio >= TARGET ? "met" : "MISSED");
      report.note("Publishers send straight to their queue's actor once they located it (the manager answers"
          + " where a queue is, once per publisher); before, every publish passed through the one manager actor.");
      report.note("Load average (1 min) when the suite started: %s; the machine's 2 cores are shared with other"
          + " builds, so compare the rows of one run, not runs.", load);
      List<String> categories = new ArrayList<>();
      for (int q : QUEUES) {
        categories.add(q + (q == 1 ? " queue" : " queues"));
      }
      report.barChart("delivered", "Aggregate delivered messages/s by busy queues (median)", "deliveries/s",
          categories, Map.of("spool", chart), false);
    } finally {
      spool.shutdown().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }
    report.write();
  }

  /** @return published msgs/s, delivered msgs/s, CPU ns per delivery */
  private static double[] run(Spool spool, int queues, int messages) throws Exception {
    int perQueue = messages / queues / BATCH * BATCH;
    List<QueuePublisher> publishers = new ArrayList<>();
    List<String> names = new ArrayList<>();
    CountDownLatch delivered = new CountDownLatch(queues * CONSUMERS);
    AtomicReference<Throwable> failed = new AtomicReference<>();
    List<QueueConsumer> consumers = new ArrayList<>();
    for (int q = 0; q < queues; q++) {
      String name = "busy-" + System.nanoTime() + "-" + q;
      names.add(name);
      spool.createQueue(name, QueueSettings.defaults()).toCompletableFuture().get(30, TimeUnit.SECONDS);
      publishers.add(spool.createPublisher(name, "producer"));
      for (int c = 0; c < CONSUMERS; c++) {
        QueueConsumer consumer = spool.createConsumer(name, ConsumerSettings.named("c" + c).ackMode(AckMode.NONE)
            .prefetch(1000));
        consumer.ready().toCompletableFuture().get(30, TimeUnit.SECONDS);
        consumers.add(consumer);
        int[] seen = {0};
        consumer.batches().takeWhile(batch -> {
          seen[0] += batch.size();
          if (seen[0] >= perQueue) {
            delivered.countDown();
            return false;
          }
          return true;
        }).runWith(Sink.ignore(), spool.system());
      }
    }
    List<Message> batch = new ArrayList<>();
    for (int i = 0; i < BATCH; i++) {
      batch.add(Message.of("busy", PAYLOAD));
    }
    com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    System.gc();
    int inFlight = IN_FLIGHT * queues;
    Semaphore window = new Semaphore(inFlight);
    long cpuBefore = os.getProcessCpuTime();
    long start = System.nanoTime();
    for (int sent = 0; sent < perQueue; sent += BATCH) {
      for (QueuePublisher publisher : publishers) {
        window.acquire();
        publisher.publishAll(batch).whenComplete((sequences, failure) -> {
          if (failure != null) {
            failed.compareAndSet(null, failure);
          }
          window.release();
        });
      }
    }
    window.acquire(inFlight);
    long publishedAt = System.nanoTime();
    if (failed.get() != null) {
      throw new IllegalStateException("a publish failed", failed.get());
    }
    if (!delivered.await(5, TimeUnit.MINUTES)) {
      throw new IllegalStateException("not every consumer received every message");
    }
    double seconds = (System.nanoTime() - start) / 1e9;
    double deliveries = (double) perQueue * queues * CONSUMERS;
    double cpu = (os.getProcessCpuTime() - cpuBefore) / deliveries;
    for (String name : names) {
      spool.deleteQueue(name).toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
    return new double[] {perQueue * (double) queues / ((publishedAt - start) / 1e9), deliveries / seconds, cpu};
  }

  static String loadAverage() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
    } catch (Exception e) {
      return "unknown";
    }
  }
}
