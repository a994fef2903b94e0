package dev.spool.bench;

import com.lmax.disruptor.BlockingWaitStrategy;
import com.lmax.disruptor.EventHandler;
import com.lmax.disruptor.dsl.Disruptor;
import com.lmax.disruptor.dsl.ProducerType;
import com.lmax.disruptor.util.DaemonThreadFactory;
import com.typesafe.config.ConfigFactory;
import dev.spool.AckMode;
import dev.spool.ConsumerSettings;
import dev.spool.Delivery;
import dev.spool.Message;
import dev.spool.QueueConsumer;
import dev.spool.QueuePublisher;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Histogram;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.stream.BoundedSourceQueue;
import org.apache.pekko.stream.QueueOfferResult;
import org.apache.pekko.stream.javadsl.BroadcastHub;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * In-JVM fan-out, one producer to {1, 4, 64} consumers, 100-byte payloads, for Spool and the peers
 * users would pick instead, in one run on one machine:
 *
 * <ul>
 *   <li>delivered messages per second (messages × consumers / time from the first publish to the
 *       last delivery), with the bytes allocated and the CPU time spent per delivery;
 *   <li>publish→deliver latency at fixed offered rates (10,000 and 100,000 messages/s, 4
 *       consumers): each message carries the time it was due to be sent, and its latency is counted
 *       from then, so a producer held up by back-pressure does not hide the wait (coordinated
 *       omission). The producer wakes at most every 50 µs and sends what has fallen due.
 * </ul>
 *
 * <p>Peers: LMAX Disruptor 4 (blocking wait strategy), one {@link ArrayBlockingQueue} per consumer,
 * Pekko Streams {@code BroadcastHub}, and a plain typed-actor tell fan-out. Spool in memory, with
 * ack mode {@code none} and with explicit acks batched by 200, consumers on {@code source()}.
 * Every system gets a warm-up before its measured runs; each figure is the median of its runs.
 */
final class FanoutBench {

  private static final int PAYLOAD_BYTES = 100;
  private static final byte[] PAYLOAD = new byte[PAYLOAD_BYTES];

  /** What a flight recording of the per-element path showed, for the rows that miss their targets. */
  static final String WHY_PER_ELEMENT = "source() emits one stream element per delivery: each costs a push and a"
      + " pull through Pekko's stream interpreter, as a BroadcastHub consumer's element does, on top of Spool's"
      + " own work per delivery (the cursor, the delivery trace, the Delivery itself); a flight recording of 4"
      + " consumers shows these and no single hot spot, and one demand signal to the consumer's actor per batch"
      + " of up to 256 deliveries (spool.consumer.stream-batch; 1,024 made no difference beyond this machine's"
      + " noise). batches() hands a consumer's batch over as one element; it is the API for per-delivery rates"
      + " beyond a few million a second.";

  private final boolean quick;

  FanoutBench(boolean quick) {
    this.quick = quick;
  }

  /** One fan-out being run: its consumers are attached and counting. */
  private interface Trial {
    /**
     * Sends messages {@code from} (inclusive) to {@code to}. With {@code interval} > 0 message
     * {@code i} carries its due time {@code first + i × interval} in its first 8 bytes.
     */
    void send(int from, int to, long first, long interval) throws Exception;

    /** Waits until every consumer has received every message, then releases what the trial holds. */
    void finish() throws Exception;
  }

  /** A system under test: attaches {@code consumers} that each expect {@code messages}. */
  private interface FanoutSystem {
    /** @param latencies one per consumer to record publish→deliver latency into, or null */
    Trial start(int consumers, int messages, Histogram[] latencies) throws Exception;
  }

  void run() throws Exception {
    Spool spool = Spool.start(ConfigFactory.parseString("pekko.loglevel = WARNING\nspool.persistence.journal-plugin = \"\"")
        .withFallback(ConfigFactory.load()));
    Map<String, FanoutSystem> systems = new LinkedHashMap<>();
    systems.put(SPOOL_NONE, (c, m, h) -> spoolTrial(spool, c, m, h, AckMode.NONE, false));
    systems.put(SPOOL_EXPLICIT, (c, m, h) -> spoolTrial(spool, c, m, h, AckMode.EXPLICIT, false));
    systems.put(SPOOL_BATCHES_NONE, (c, m, h) -> spoolTrial(spool, c, m, h, AckMode.NONE, true));
    systems.put(SPOOL_BATCHES_EXPLICIT, (c, m, h) -> spoolTrial(spool, c, m, h, AckMode.EXPLICIT, true));
    systems.put(DISRUPTOR, this::disruptorTrial);
    systems.put("ArrayBlockingQueue per consumer", this::blockingQueueTrial);
    systems.put(BROADCAST_HUB, (c, m, h) -> broadcastHubTrial(spool.system(), c, m, h));
    systems.put("typed actor tell", (c, m, h) -> actorTrial(spool.system(), c, m, h));
    Report report = new Report("fanout", quick);
    report.note("Load average (1 min) when the suite started: %s, on 2 cores shared with other builds: the"
        + " machine is noisy, so compare the rows of one run, not runs.", QueuesBench.loadAverage());
    try {
      throughput(report, systems);
      latency(report, systems);
    } finally {
      spool.shutdown().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }
    report.write();
  }

  private static final String SPOOL_NONE = "spool (ack none)";
  private static final String SPOOL_EXPLICIT = "spool (explicit, acks batched by 200)";
  private static final String SPOOL_BATCHES_NONE = "spool batches() (ack none)";
  private static final String SPOOL_BATCHES_EXPLICIT = "spool batches() (explicit, one ack per batch)";
  private static final String DISRUPTOR = "disruptor 4 (blocking wait)";
  private static final String BROADCAST_HUB = "pekko BroadcastHub";

  // ---- throughput

  private void throughput(Report report, Map<String, FanoutSystem> systems) throws Exception {
    int runs = quick ? 1 : 3;
    int[] fanouts = quick ? new int[] {4} : new int[] {1, 4, 64};
    Report.Table table = report.table("throughput", "Delivered messages/s, 1 producer, 100-byte payloads",
        "consumers", "system", "delivered msgs/s:%,.0f", "allocated B/delivery:%,.0f", "CPU ns/delivery:%,.0f");
    Map<String, List<Double>> chart = new LinkedHashMap<>();
    for (int consumers : fanouts) {
      // about the same number of deliveries per figure, whatever the fan-out
      int messages = Math.max(50_000, (quick ? 1_500_000 : 16_000_000) / consumers);
      Map<String, Double> medians = new LinkedHashMap<>();
      for (Map.Entry<String, FanoutSystem> system : systems.entrySet()) {
        // warm-up: as long as a measured run, so that the JIT has compiled what the run executes
        measure(system.getValue(), consumers, messages);
        List<Double> rates = new ArrayList<>();
        List<Double> allocated = new ArrayList<>();
        List<Double> cpu = new ArrayList<>();
        for (int r = 0; r < runs; r++) {
          double[] m = measure(system.getValue(), consumers, messages);
          rates.add(m[0]);
          allocated.add(m[1]);
          cpu.add(m[2]);
        }
        Report.Figure rate = Report.Figure.of(rates);
        medians.put(system.getKey(), rate.median());
        chart.computeIfAbsent(system.getKey(), k -> new ArrayList<>()).add(rate.median());
        table.row(consumers, system.getKey(), rate, Report.Figure.of(allocated), Report.Figure.of(cpu));
      }
      String target = consumers == 64 ? "≥ 2×" : consumers == 4 ? "≥ 3×" : "none set";
      for (String[] api : new String[][] {{"source()", SPOOL_NONE, SPOOL_EXPLICIT},
          {"batches()", SPOOL_BATCHES_NONE, SPOOL_BATCHES_EXPLICIT}}) {
        double none = medians.get(api[1]);
        report.note("%d consumers, %s: Spool (ack none) is %.2f× BroadcastHub (target %s) and %.0f %% of the"
                + " Disruptor%s; explicit acks deliver %.0f %% of ack none (target ≥ 50 %%)", consumers, api[0],
            none / medians.get(BROADCAST_HUB), target, 100 * none / medians.get(DISRUPTOR),
            consumers == 4 ? " (target ≥ 30 %)" : "", 100 * medians.get(api[2]) / none);
      }
      double perElement = medians.get(SPOOL_NONE) / medians.get(SPOOL_BATCHES_NONE);
      report.note("%d consumers: source() delivers %.0f %% of batches() (ack none; target within 2×, ≥ 50 %%: %s)",
          consumers, 100 * perElement, perElement >= 0.5 ? "met" : "MISSED");
    }
    report.note(WHY_PER_ELEMENT);
    List<String> categories = new ArrayList<>();
    for (int c : fanouts) {
      categories.add(c + (c == 1 ? " consumer" : " consumers"));
    }
    report.barChart("throughput", "Delivered messages/s (log scale)", "deliveries/s", categories, chart, true);
  }

  /** @return delivered msgs/s, bytes allocated per delivery, CPU ns per delivery */
  private static double[] measure(FanoutSystem system, int consumers, int messages) throws Exception {
    com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    Trial trial = system.start(consumers, messages, null);
    System.gc(); // not to count the previous run's garbage against this one
    long allocatedBefore = threads.getTotalThreadAllocatedBytes();
    long cpuBefore = os.getProcessCpuTime();
    long start = System.nanoTime();
    trial.send(0, messages, 0, 0);
    trial.finish();
    double seconds = (System.nanoTime() - start) / 1e9;
    double deliveries = (double) messages * consumers;
    return new double[] {deliveries / seconds, (threads.getTotalThreadAllocatedBytes() - allocatedBefore) / deliveries,
        (os.getProcessCpuTime() - cpuBefore) / deliveries};
  }

  // ---- latency at fixed offered rates

  private void latency(Report report, Map<String, FanoutSystem> systems) throws Exception {
    int consumers = 4;
    int runs = quick ? 1 : 3;
    double seconds = quick ? 0.8 : 5;
    Report.Table table = report.table("latency", "Publish→deliver latency at a fixed offered rate, 4 consumers,"
            + " corrected for coordinated omission (µs)",
        "offered msgs/s", "system", "p50 µs:%,.0f", "p99 µs:%,.0f", "p99.9 µs:%,.0f", "max µs:%,.0f");
    Map<String, List<Double>> chart = new LinkedHashMap<>();
    List<String> categories = new ArrayList<>();
    for (int rate : new int[] {10_000, 100_000}) {
      categories.add(String.format("p99 at %,d msgs/s", rate));
      int messages = (int) (rate * seconds);
      for (Map.Entry<String, FanoutSystem> system : systems.entrySet()) {
        paced(system.getValue(), consumers, messages, rate); // warm-up
        List<Double> p50 = new ArrayList<>();
        List<Double> p99 = new ArrayList<>();
        List<Double> p999 = new ArrayList<>();
        List<Double> max = new ArrayList<>();
        for (int r = 0; r < runs; r++) {
          Histogram h = paced(system.getValue(), consumers, messages, rate);
          p50.add(h.getValueAtPercentile(50) / 1e3);
          p99.add(h.getValueAtPercentile(99) / 1e3);
          p999.add(h.getValueAtPercentile(99.9) / 1e3);
          max.add(h.getMaxValue() / 1e3);
        }
        Report.Figure p99Figure = Report.Figure.of(p99);
        chart.computeIfAbsent(system.getKey(), k -> new ArrayList<>()).add(p99Figure.median());
        table.row(rate, system.getKey(), Report.Figure.of(p50), p99Figure, Report.Figure.of(p999),
            Report.Figure.of(max));
        if (rate == 100_000 && system.getKey().equals(SPOOL_NONE)) {
          report.note("at 100,000 msgs/s offered Spool (ack none) delivers with p99 %.0f µs (target < 1,000 µs)",
              p99Figure.median());
        }
      }
    }
    report.barChart("latency", "p99 publish→deliver latency, 4 consumers (µs, log scale)", "µs", categories,
        chart, true);
  }

  /** One paced run: the merged latency histogram of every consumer, in nanoseconds. */
  private static Histogram paced(FanoutSystem system, int consumers, int messages, int rate) throws Exception {
    Histogram[] latencies = new Histogram[consumers];
    for (int c = 0; c < consumers; c++) {
      latencies[c] = new Histogram(TimeUnit.SECONDS.toNanos(60), 3);
    }
    Trial trial = system.start(consumers, messages, latencies);
    long interval = TimeUnit.SECONDS.toNanos(1) / rate;
    long first = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(1);
    int sent = 0;
    while (sent < messages) {
      long now = System.nanoTime();
      int due = now < first ? 0 : (int) Math.min(messages, (now - first) / interval + 1);
      if (due > sent) {
        trial.send(sent, due, first, interval);
        sent = due;
      } else {
        LockSupport.parkNanos(Math.min(interval, 50_000));
      }
    }
    trial.finish();
    Histogram all = new Histogram(TimeUnit.SECONDS.toNanos(60), 3);
    for (Histogram h : latencies) {
      all.add(h);
    }
    return all;
  }

  /** The payload of message {@code i}: shared when unpaced, else carrying its due time. */
  private static byte[] payload(int i, long first, long interval) {
    if (interval == 0) {
      return PAYLOAD;
    }
    byte[] p = new byte[PAYLOAD_BYTES];
    ByteBuffer.wrap(p).putLong(0, first + i * interval);
    return p;
  }

  /** Records a delivery's latency into {@code h} if latency is measured; touches the payload either way. */
  private static long received(Histogram h, byte[] payload) {
    if (h != null) {
      h.recordValue(Math.max(0, System.nanoTime() - ByteBuffer.wrap(payload).getLong(0)));
    }
    return payload.length;
  }

  // ---- the systems

  private static Trial spoolTrial(Spool spool, int consumers, int messages, Histogram[] latencies, AckMode mode,
      boolean batched) throws Exception {
    String q = "fanout-" + System.nanoTime();
    spool.createQueue(q, QueueSettings.defaults()).toCompletableFuture().get(30, TimeUnit.SECONDS);
    List<CompletableFuture<Done>> done = new ArrayList<>();
    for (int c = 0; c < consumers; c++) {
      QueueConsumer consumer = spool.createConsumer(q, ConsumerSettings.named("c" + c).ackMode(mode).prefetch(1000));
      consumer.ready().toCompletableFuture().get(30, TimeUnit.SECONDS);
      Histogram h = latencies == null ? null : latencies[c];
      if (batched) {
        int[] seen = {0};
        Source<List<Delivery>, NotUsed> source = consumer.batches().map(batch -> {
          for (Delivery d : batch) {
            received(h, d.message().payload());
          }
          seen[0] += batch.size();
          return batch;
        });
        if (mode == AckMode.EXPLICIT) {
          source = source.mapAsync(1, batch -> consumer.acknowledgeBatch(batch).thenApply(n -> batch));
        }
        done.add(source.takeWhile(batch -> seen[0] < messages, true).runWith(Sink.ignore(), spool.system())
            .toCompletableFuture());
        continue;
      }
      var source = consumer.source().take(messages).map(d -> {
        received(h, d.message().payload());
        return d;
      });
      done.add((mode == AckMode.NONE
          ? source.runWith(Sink.ignore(), spool.system())
          : source.groupedWithin(200, java.time.Duration.ofMillis(5)).mapAsync(1, consumer::acknowledgeBatch)
              .runWith(Sink.ignore(), spool.system()))
          .toCompletableFuture());
    }
    QueuePublisher publisher = spool.createPublisher(q, "p");
    Semaphore inFlight = new Semaphore(8); // publishes of up to 512 in flight, as the publisher's sink keeps
    AtomicReference<Throwable> failed = new AtomicReference<>();
    return new Trial() {
      @Override
      public void send(int from, int to, long first, long interval) throws Exception {
        for (int i = from; i < to; ) {
          int end = Math.min(to, i + 512);
          List<Message> batch = new ArrayList<>(end - i);
          for (int k = i; k < end; k++) {
            batch.add(Message.of("t", payload(k, first, interval)));
          }
          inFlight.acquire();
          publisher.publishAll(batch).whenComplete((s, e) -> {
            if (e != null) {
              failed.set(e);
            }
            inFlight.release();
          });
          i = end;
        }
      }

      @Override
      public void finish() throws Exception {
        inFlight.acquire(8);
        if (failed.get() != null) {
          throw new IllegalStateException("a publish failed", failed.get());
        }
        CompletableFuture.allOf(done.toArray(CompletableFuture[]::new)).get(10, TimeUnit.MINUTES);
        spool.deleteQueue(q).toCompletableFuture().get(30, TimeUnit.SECONDS);
      }
    };
  }

  /** The slot a Disruptor ring buffer reuses. */
  private static final class Slot {
    byte[] payload;
  }

  private Trial disruptorTrial(int consumers, int messages, Histogram[] latencies) {
    Disruptor<Slot> disruptor = new Disruptor<>(Slot::new, 1 << 16, DaemonThreadFactory.INSTANCE, ProducerType.SINGLE,
        new BlockingWaitStrategy());
    CountDownLatch done = new CountDownLatch(consumers);
    @SuppressWarnings("unchecked")
    EventHandler<Slot>[] handlers = new EventHandler[consumers];
    for (int c = 0; c < consumers; c++) {
      Histogram h = latencies == null ? null : latencies[c];
      handlers[c] = new EventHandler<>() {
        long seen;
        long bytes;

        @Override
        public void onEvent(Slot slot, long sequence, boolean endOfBatch) {
          bytes += received(h, slot.payload);
          if (++seen == messages) {
            done.countDown();
          }
        }
      };
    }
    disruptor.handleEventsWith(handlers);
    disruptor.start();
    return new Trial() {
      @Override
      public void send(int from, int to, long first, long interval) {
        for (int i = from; i < to; i++) {
          disruptor.publishEvent((slot, sequence, payload) -> slot.payload = payload, payload(i, first, interval));
        }
      }

      @Override
      public void finish() throws Exception {
        done.await(10, TimeUnit.MINUTES);
        disruptor.shutdown();
      }
    };
  }

  private Trial blockingQueueTrial(int consumers, int messages, Histogram[] latencies) {
    List<ArrayBlockingQueue<byte[]>> queues = new ArrayList<>();
    CountDownLatch done = new CountDownLatch(consumers);
    for (int c = 0; c < consumers; c++) {
      ArrayBlockingQueue<byte[]> q = new ArrayBlockingQueue<>(1024);
      queues.add(q);
      Histogram h = latencies == null ? null : latencies[c];
      Thread t = new Thread(() -> {
        try {
          long bytes = 0;
          for (int i = 0; i < messages; i++) {
            bytes += received(h, q.take());
          }
          if (bytes >= 0) {
            done.countDown();
          }
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }, "abq-consumer-" + c);
      t.setDaemon(true);
      t.start();
    }
    return new Trial() {
      @Override
      public void send(int from, int to, long first, long interval) throws InterruptedException {
        for (int i = from; i < to; i++) {
          byte[] p = payload(i, first, interval);
          for (ArrayBlockingQueue<byte[]> q : queues) {
            q.put(p);
          }
        }
      }

      @Override
      public void finish() throws Exception {
        done.await(10, TimeUnit.MINUTES);
      }
    };
  }

  private Trial broadcastHubTrial(ActorSystem<?> system, int consumers, int messages, Histogram[] latencies) {
    // starts once every consumer is attached, so that each gets every element
    Pair<BoundedSourceQueue<byte[]>, Source<byte[], NotUsed>> hub = Source.<byte[]>queue(1024)
        .toMat(BroadcastHub.of(byte[].class, consumers, 256), Keep.both()).run(system);
    List<CompletableFuture<?>> done = new ArrayList<>();
    for (int c = 0; c < consumers; c++) {
      Histogram h = latencies == null ? null : latencies[c];
      done.add(hub.second().take(messages).runWith(Sink.fold(0L, (n, p) -> n + received(h, p)), system)
          .toCompletableFuture());
    }
    BoundedSourceQueue<byte[]> queue = hub.first();
    return new Trial() {
      @Override
      public void send(int from, int to, long first, long interval) {
        for (int i = from; i < to; i++) {
          byte[] p = payload(i, first, interval);
          QueueOfferResult result;
          while ((result = queue.offer(p)) == QueueOfferResult.dropped()) {
            LockSupport.parkNanos(10_000); // full: wait for the hub, as a back-pressured producer would
          }
          if (result != QueueOfferResult.enqueued()) {
            throw new IllegalStateException("the hub refused an element: " + result);
          }
        }
      }

      @Override
      public void finish() throws Exception {
        CompletableFuture.allOf(done.toArray(CompletableFuture[]::new)).get(10, TimeUnit.MINUTES);
        queue.complete();
      }
    };
  }

  private static final AtomicInteger ACTOR_NAMES = new AtomicInteger();

  /**
   * The plain tell fan-out users write by hand: no back-pressure, so the mailboxes take whatever
   * the producer sends (unbounded, which is the peer's nature and the reason Spool uses credit).
   */
  private Trial actorTrial(ActorSystem<?> system, int consumers, int messages, Histogram[] latencies) {
    CountDownLatch done = new CountDownLatch(consumers);
    List<ActorRef<byte[]>> refs = new ArrayList<>();
    for (int c = 0; c < consumers; c++) {
      Histogram h = latencies == null ? null : latencies[c];
      refs.add(system.systemActorOf(counter(messages, done, h), "fanout-" + ACTOR_NAMES.incrementAndGet(),
          Props.empty()));
    }
    return new Trial() {
      @Override
      public void send(int from, int to, long first, long interval) {
        for (int i = from; i < to; i++) {
          byte[] p = payload(i, first, interval);
          for (ActorRef<byte[]> ref : refs) {
            ref.tell(p);
          }
        }
      }

      @Override
      public void finish() throws Exception {
        done.await(10, TimeUnit.MINUTES);
      }
    };
  }

  private static Behavior<byte[]> counter(int messages, CountDownLatch done, Histogram h) {
    return Behaviors.setup(context -> {
      long[] seen = new long[1];
      return Behaviors.receiveMessage(payload -> {
        received(h, payload);
        if (++seen[0] == messages) {
          done.countDown();
          return Behaviors.stopped();
        }
        return Behaviors.same();
      });
    });
  }
}
