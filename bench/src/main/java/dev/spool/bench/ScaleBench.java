package dev.spool.bench;

import com.typesafe.config.ConfigFactory;
import dev.spool.AckMode;
import dev.spool.ConsumerSettings;
import dev.spool.Message;
import dev.spool.QueueConsumer;
import dev.spool.QueuePublisher;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import org.apache.pekko.Done;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * How Spool scales in memory (transient queues, no journal): fan-out from one producer to
 * {1, 4, 100, 10,000} stream consumers of one queue (ack mode {@code none}, 100-byte messages), and
 * the heap an idle queue, an idle consumer and a retained message take. Each figure is the median
 * of its runs after a warm-up, with the spread; the targets and whether they are met are the
 * report's notes.
 *
 * <p>Fan-out is timed from the first publish of a round to the last delivery: the consumers and
 * their streams are created, attached and primed (each has received one message) before the clock
 * starts, so creating 10,000 of them is not what is measured. Every figure carries about the same
 * number of deliveries. Heap is the used heap after forced full collections, before and after.
 */
final class ScaleBench {

  private static final int PAYLOAD_BYTES = 100;
  private static final byte[] PAYLOAD = new byte[PAYLOAD_BYTES];
  private static final int[] CONSUMERS = {1, 4, 100, 10_000};
  private static final int REFERENCE_CONSUMERS = 4;
  private static final int PREFETCH = 1000;
  /** Calls in flight while creating thousands of queues or consumers. */
  private static final int CREATE_WINDOW = 200;

  // The targets this suite checks, from the scale issue.
  private static final double TARGET_WIDE_RATIO = 0.5;
  private static final double TARGET_IDLE_QUEUES_MB = 300;
  private static final int TARGET_IDLE_QUEUES = 10_000;
  private static final double TARGET_MESSAGE_OVERHEAD_BYTES = 64;

  private final boolean quick;
  private final int runs;
  private final Report report;
  private Spool spool;
  private long names;

  ScaleBench(boolean quick) {
    this.quick = quick;
    this.runs = quick ? 1 : 3;
    this.report = new Report("scale", quick);
  }

  void run() throws Exception {
    long started = System.nanoTime();
    // In memory only: transient queues, no journal. No memory threshold, so that nothing a
    // measurement retains is refused or evicted whatever the heap. A long ask timeout: while
    // 10,000 streams attach, a publish waits behind their subscriptions in the queue's mailbox,
    // and this suite measures throughput, not how soon a call gives up.
    spool = Spool.start(ConfigFactory.parseString("""
            pekko.loglevel = WARNING
            spool.persistence.journal-plugin = ""
            spool.memory.threshold = off
            spool.ask-timeout = 60s
            """).withFallback(ConfigFactory.load()));
    try {
      spool.ready().toCompletableFuture().get(60, TimeUnit.SECONDS);
      fanout();
      double queue = idleQueues();
      double consumer = idleConsumers();
      double message = retainedMessages();
      report.barChart("heap", "Heap per idle queue, idle consumer and retained 100-byte message (median)",
          "bytes", List.of("idle queue", "idle consumer", "retained message"),
          Map.of("heap per object", List.of(queue, consumer, message)), false);
      report.write();
      System.out.printf(Locale.ROOT, "scale suite took %.0f s%n", (System.nanoTime() - started) / 1e9);
    } finally {
      spool.shutdown().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }
  }

  // ---- 1. fan-out

  private void fanout() throws Exception {
    // Deliveries per figure: the same for every fan-out, so that each takes about as long.
    long deliveries = quick ? 2_000_000 : 10_000_000;
    Map<Integer, Report.Figure> rates = new LinkedHashMap<>();
    Map<Integer, Integer> messagesPer = new LinkedHashMap<>();
    for (int consumers : CONSUMERS) {
      int messages = (int) Math.max(200, deliveries / consumers);
      messagesPer.put(consumers, messages);
      System.out.printf(Locale.ROOT, "fan-out to %,d consumers, %,d messages a run …%n", consumers, messages);
      rates.put(consumers, Report.Figure.of(fanoutRuns(consumers, messages)));
    }
    Report.Table table = report.table("fanout",
        "Fan-out from one producer to N stream consumers of one queue (ack none, 100-byte messages)",
        "consumers:%,.0f", "messages a run:%,.0f", "delivered msgs/s:%,.0f", "per delivery vs 4 consumers:%.2f");
    double reference = rates.get(REFERENCE_CONSUMERS).median();
    List<String> categories = new ArrayList<>();
    List<Double> medians = new ArrayList<>();
    for (Map.Entry<Integer, Report.Figure> r : rates.entrySet()) {
      table.row(r.getKey(), messagesPer.get(r.getKey()), r.getValue(), r.getValue().median() / reference);
      categories.add(String.format(Locale.ROOT, "%,d", r.getKey()));
      medians.add(r.getValue().median());
    }
    report.note("Delivered msgs/s = messages × consumers / seconds from a round's first publish to its last delivery;"
        + " consumers (prefetch %d) are created, attached and primed before the clock starts. 'Per delivery vs 4"
        + " consumers' is that rate over the 4-consumer rate.", PREFETCH);
    double wide = rates.get(10_000).median() / reference;
    report.note("Target: 10,000 consumers deliver at ≥ %.0f %% of the 4-consumer rate per delivery: %.0f %% (%s).",
        TARGET_WIDE_RATIO * 100, wide * 100, wide >= TARGET_WIDE_RATIO ? "met" : "MISSED");
    report.barChart("fanout", "Delivered messages/s by consumers of one queue (median)", "delivered msgs/s",
        categories, Map.of("spool (ack none, stream consumers)", medians), false);
  }

  /** A warm-up round, then {@link #runs} timed rounds on one queue whose consumers stay attached. */
  private List<Double> fanoutRuns(int consumers, int messages) throws Exception {
    String queue = freshName("fanout");
    spool.createQueue(queue, QueueSettings.defaults()).toCompletableFuture().get(30, TimeUnit.SECONDS);
    Readers readers = new Readers(consumers);
    awaitAll(consumers, i -> {
      QueueConsumer c = spool.createConsumer(queue, ConsumerSettings.named("c" + i).ackMode(AckMode.NONE)
          .prefetch(PREFETCH));
      return c.ready().thenAccept(info -> readers.attach(c, i));
    });
    QueuePublisher publisher = spool.createPublisher(queue, "p");
    // Prime: every stream has a message, so every subscription is live before the clock starts.
    readers.round(1);
    publisher.publish(Message.of("t", PAYLOAD)).toCompletableFuture().get(30, TimeUnit.SECONDS);
    readers.await();
    List<Double> rates = new ArrayList<>();
    for (int r = 0; r <= runs; r++) {
      int n = r == 0 ? Math.max(1, messages / 5) : messages; // round 0 warms up
      readers.round(n);
      long start = System.nanoTime();
      Source.range(1, n).map(i -> Message.of("t", PAYLOAD))
          .runWith(publisher.sink(), spool.system()).toCompletableFuture().get(10, TimeUnit.MINUTES);
      readers.await();
      double seconds = (System.nanoTime() - start) / 1e9;
      if (r > 0) {
        rates.add((double) n * consumers / seconds);
      }
    }
    spool.deleteQueue(queue).toCompletableFuture().get(60, TimeUnit.SECONDS);
    readers.awaitEnd(); // the streams end once their consumers have stopped: the engine is idle again
    return rates;
  }

  /**
   * The consumers' streams: each counts what it received and counts down the round's latch when
   * it has its share. The target is set before a round's first publish, so no stream can pass it
   * early; each count is touched by its own stream only.
   */
  private final class Readers {
    private final long[] received;
    private final List<CompletableFuture<Done>> ended = Collections.synchronizedList(new ArrayList<>());
    private volatile long target;
    private volatile CountDownLatch done;

    Readers(int consumers) {
      this.received = new long[consumers];
    }

    void attach(QueueConsumer consumer, int index) {
      ended.add(consumer.source().runWith(Sink.foreach(d -> {
        if (++received[index] == target) {
          done.countDown();
        }
      }), spool.system()).toCompletableFuture());
    }

    void awaitEnd() throws Exception {
      CompletableFuture.allOf(ended.toArray(CompletableFuture[]::new)).get(5, TimeUnit.MINUTES);
    }

    void round(int messages) {
      done = new CountDownLatch(received.length);
      target += messages;
    }

    void await() throws InterruptedException {
      if (!done.await(10, TimeUnit.MINUTES)) {
        throw new IllegalStateException(done.getCount() + " consumers did not receive their messages");
      }
    }
  }

  // ---- 2. idle queues

  private double idleQueues() throws Exception {
    createAndDeleteQueues(1000); // warm-up: classes loaded, code compiled, maps grown
    Report.Table table = report.table("queues", "Heap per idle queue (transient, no consumers)",
        "queues:%,.0f", "heap per queue (bytes):%,.0f", "heap in all (MB):%,.1f");
    double perQueue = 0;
    double tenThousandMb = 0;
    for (int queues : new int[] {1, TARGET_IDLE_QUEUES}) {
      List<Double> perQueueRuns = new ArrayList<>();
      List<Double> totals = new ArrayList<>();
      // One queue's few KB are close to the noise of measuring the heap: more runs for its median.
      int queueRuns = queues == 1 ? 3 * runs : runs;
      for (int r = 0; r < queueRuns; r++) {
        long delta = createAndDeleteQueues(queues);
        perQueueRuns.add((double) delta / queues);
        totals.add(delta / 1e6);
      }
      Report.Figure per = Report.Figure.of(perQueueRuns);
      Report.Figure total = Report.Figure.of(totals);
      table.row(queues, per, total);
      if (queues == TARGET_IDLE_QUEUES) {
        perQueue = per.median();
        tenThousandMb = total.median();
      }
    }
    report.note("Heap for 1 queue or 100 consumers is within the noise of measuring the heap (± 10 KB, so it may"
        + " even come out negative); the 10,000 rows are the ones to read.");
    report.note("Target: %,d idle queues in under %.0f MB of heap: %.1f MB (%s).", TARGET_IDLE_QUEUES,
        TARGET_IDLE_QUEUES_MB, tenThousandMb, tenThousandMb < TARGET_IDLE_QUEUES_MB ? "met" : "MISSED");
    return perQueue;
  }

  /** Creates {@code n} idle queues, measures the heap they hold, deletes them; answers the bytes. */
  private long createAndDeleteQueues(int n) throws Exception {
    String prefix = freshName("idle");
    long before = Heap.usedAfterGc();
    awaitAll(n, i -> spool.createQueue(prefix + "-" + i, QueueSettings.defaults()));
    long after = Heap.usedAfterGc();
    awaitAll(n, i -> spool.deleteQueue(prefix + "-" + i));
    return after - before;
  }

  // ---- 3. idle consumers

  private double idleConsumers() throws Exception {
    createAndDeleteConsumers(1000); // warm-up
    Report.Table table = report.table("consumers",
        "Heap per idle consumer (ack none, no subscriber, all on one queue)",
        "consumers:%,.0f", "heap per consumer (bytes):%,.0f", "heap in all (MB):%,.1f");
    double perConsumer = 0;
    for (int consumers : new int[] {100, 10_000}) {
      List<Double> perRuns = new ArrayList<>();
      List<Double> totals = new ArrayList<>();
      for (int r = 0; r < runs; r++) {
        long delta = createAndDeleteConsumers(consumers);
        perRuns.add((double) delta / consumers);
        totals.add(delta / 1e6);
      }
      Report.Figure per = Report.Figure.of(perRuns);
      table.row(consumers, per, Report.Figure.of(totals));
      perConsumer = per.median();
    }
    return perConsumer;
  }

  /** Creates a queue, measures the heap {@code n} idle consumers of it hold, deletes it; answers the bytes. */
  private long createAndDeleteConsumers(int n) throws Exception {
    String queue = freshName("wide");
    spool.createQueue(queue, QueueSettings.defaults()).toCompletableFuture().get(30, TimeUnit.SECONDS);
    long before = Heap.usedAfterGc();
    awaitAll(n, i -> spool.createConsumer(queue, ConsumerSettings.named("c" + i).ackMode(AckMode.NONE)).ready());
    long after = Heap.usedAfterGc();
    spool.deleteQueue(queue).toCompletableFuture().get(60, TimeUnit.SECONDS);
    return after - before;
  }

  // ---- 4. retained messages

  private double retainedMessages() throws Exception {
    int messages = quick ? 200_000 : 1_000_000;
    retain(messages / 10); // warm-up
    List<Double> perMessage = new ArrayList<>();
    for (int r = 0; r < runs; r++) {
      perMessage.add(retain(messages));
    }
    Report.Figure bytes = Report.Figure.of(perMessage);
    Report.Figure overhead = Report.Figure.of(perMessage.stream().map(b -> b - PAYLOAD_BYTES).toList());
    report.table("retained", "Heap per retained message (no consumer, 100-byte payload, each its own array)",
            "messages:%,.0f", "heap per message (bytes):%.1f", "overhead beyond the payload (bytes):%.1f",
            "accounted per message (bytes):%,.0f")
        .row(messages, bytes, overhead, Message.of("t", PAYLOAD).appended(1, System.currentTimeMillis(), "p").sizeBytes());
    report.note("Overhead counts everything but the 100 payload bytes: the payload array's own header and"
        + " alignment (20 bytes on a 64-bit JVM with compressed references), the message object, its log slot"
        + " and any index entry.");
    report.note("Target: under %.0f bytes of overhead per retained message: %.1f (%s).",
        TARGET_MESSAGE_OVERHEAD_BYTES, overhead.median(),
        overhead.median() < TARGET_MESSAGE_OVERHEAD_BYTES ? "met" : "MISSED");
    return bytes.median();
  }

  /** Publishes {@code n} messages into a queue no one consumes; answers the heap per message. */
  private double retain(int n) throws Exception {
    String queue = freshName("retained");
    spool.createQueue(queue, QueueSettings.defaults()).toCompletableFuture().get(30, TimeUnit.SECONDS);
    QueuePublisher publisher = spool.createPublisher(queue, "p");
    long before = Heap.usedAfterGc();
    // A fresh payload array per message, as messages from the outside world arrive.
    Source.range(1, n).map(i -> Message.of("t", new byte[PAYLOAD_BYTES]))
        .runWith(publisher.sink(), spool.system()).toCompletableFuture().get(10, TimeUnit.MINUTES);
    long after = Heap.usedAfterGc();
    long depth = spool.queueStats(queue).toCompletableFuture().get(30, TimeUnit.SECONDS).depth();
    if (depth != n) {
      throw new IllegalStateException("retained " + depth + " of " + n + " messages");
    }
    spool.deleteQueue(queue).toCompletableFuture().get(60, TimeUnit.SECONDS);
    return (double) (after - before) / n;
  }

  // ---- helpers

  private String freshName(String prefix) {
    return prefix + "-" + (++names);
  }

  /**
   * Runs {@code n} calls with at most {@link #CREATE_WINDOW} in flight and waits for all of them:
   * enough to keep the engine busy, few enough that none waits in a mailbox past the ask timeout.
   */
  private static void awaitAll(int n, IntFunction<CompletionStage<?>> call) throws Exception {
    Semaphore window = new Semaphore(CREATE_WINDOW);
    CompletableFuture<Void> failed = new CompletableFuture<>();
    for (int i = 0; i < n && !failed.isDone(); i++) {
      window.acquire();
      call.apply(i).whenComplete((ok, failure) -> {
        window.release();
        if (failure != null) {
          failed.completeExceptionally(failure);
        }
      });
    }
    if (!window.tryAcquire(CREATE_WINDOW, 5, TimeUnit.MINUTES)) {
      throw new IllegalStateException("calls still unanswered after 5 minutes");
    }
    if (failed.isDone()) {
      failed.get(); // throws the first failure
    }
  }

}
