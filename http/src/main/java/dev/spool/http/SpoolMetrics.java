package dev.spool.http;

import dev.spool.ConsumerInfo;
import dev.spool.DiskStats;
import dev.spool.MemoryStats;
import dev.spool.QueueInfo;
import dev.spool.QueueStats;
import dev.spool.Spool;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.ToDoubleFunction;

/**
 * Spool's figures in Prometheus' text format, through Micrometer: per queue (depth, bytes, counters,
 * rates), per consumer (lag, lag age, in flight, counters), memory, the disk alarm, and the JVM.
 * The engine's figures are taken on each scrape (a few asks, never blocking) into a snapshot that
 * the meters read; meters of queues and consumers that are gone are removed, so a scrape shows only what
 * exists.
 */
final class SpoolMetrics implements AutoCloseable {

  /** The figures of one scrape. */
  private record Snapshot(Map<String, QueueStats> queues, Map<List<String>, ConsumerInfo> consumers,
      MemoryStats memory, DiskStats disk) {}

  private final Spool spool;
  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final JvmGcMetrics gcMetrics = new JvmGcMetrics();
  private final Map<String, List<Meter>> queueMeters = new HashMap<>();
  private final Map<List<String>, List<Meter>> consumerMeters = new HashMap<>();
  private volatile Snapshot snapshot = new Snapshot(Map.of(), Map.of(), new MemoryStats(0, 0, 0, false, List.of()),
      new DiskStats(false, -1, 0, null));

  SpoolMetrics(Spool spool) {
    this.spool = spool;
    new JvmMemoryMetrics().bindTo(registry);
    gcMetrics.bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    memoryGauge("spool.memory.retained.bytes", "Bytes accounted to retained messages over all queues",
        m -> m.totalBytes());
    memoryGauge("spool.memory.retained.messages", "Messages retained over all queues", m -> m.totalMessages());
    memoryGauge("spool.memory.threshold.bytes", "The global memory threshold, 0 for none", m -> m.thresholdBytes());
    memoryGauge("spool.memory.under.pressure", "1 while memory pressure is on", m -> m.underPressure() ? 1 : 0);
    diskGauge("spool.disk.low", "1 while the disk alarm is raised: publishes to persistent queues fail",
        d -> d.low() ? 1 : 0);
    diskGauge("spool.disk.free.bytes", "Usable bytes on the embedded journal's file system, -1 if not measured",
        d -> d.freeBytes());
    diskGauge("spool.disk.free.limit.bytes", "The disk free limit, 0 for no disk alarm", d -> d.limitBytes());
  }

  /** The exposition text, with the engine's figures as of now. */
  CompletionStage<String> scrape() {
    return refresh().thenApply(done -> registry.scrape());
  }

  private CompletionStage<Void> refresh() {
    return spool.listQueues().thenCompose(queues -> {
      List<CompletableFuture<List<ConsumerInfo>>> perQueue = new ArrayList<>();
      for (QueueInfo q : queues) {
        // A queue deleted since it was listed simply has no consumers to report.
        perQueue.add(spool.listConsumers(q.name()).exceptionally(gone -> List.of()).toCompletableFuture());
      }
      CompletableFuture<MemoryStats> memory = spool.memoryStats().toCompletableFuture();
      CompletableFuture<DiskStats> disk = spool.diskStats().toCompletableFuture();
      return CompletableFuture.allOf(perQueue.toArray(CompletableFuture[]::new))
          .thenCombine(memory, (all, mem) -> mem)
          .thenCombine(disk, (mem, diskStats) -> {
            Map<String, QueueStats> queueStats = new HashMap<>();
            queues.forEach(q -> queueStats.put(q.name(), q.stats()));
            Map<List<String>, ConsumerInfo> consumers = new HashMap<>();
            // Complete: allOf finished before this runs.
            perQueue.forEach(f -> f.join().forEach(c -> consumers.put(List.of(c.queue(), c.name()), c)));
            update(new Snapshot(queueStats, consumers, mem, diskStats));
            return null;
          });
    });
  }

  private synchronized void update(Snapshot next) {
    snapshot = next;
    queueMeters.keySet().removeIf(q -> {
      boolean gone = !next.queues().containsKey(q);
      if (gone) {
        queueMeters.get(q).forEach(registry::remove);
      }
      return gone;
    });
    consumerMeters.keySet().removeIf(key -> {
      boolean gone = !next.consumers().containsKey(key);
      if (gone) {
        consumerMeters.get(key).forEach(registry::remove);
      }
      return gone;
    });
    next.queues().keySet().forEach(q -> queueMeters.computeIfAbsent(q, this::registerQueue));
    next.consumers().keySet().forEach(key -> consumerMeters.computeIfAbsent(key, this::registerConsumer));
  }

  private List<Meter> registerQueue(String queue) {
    Tags tags = Tags.of("queue", queue);
    List<Meter> m = new ArrayList<>();
    m.add(queueGauge("spool.queue.depth", "Messages retained", tags, queue, QueueStats::depth));
    m.add(queueGauge("spool.queue.bytes", "Bytes accounted to retained messages", tags, queue, QueueStats::bytes));
    m.add(queueGauge("spool.queue.memory.bytes", "Heap the retained messages take", tags, queue,
        QueueStats::memoryBytes));
    m.add(queueGauge("spool.queue.stored.messages", "Retained messages only in stored segments", tags, queue,
        QueueStats::storedMessages));
    m.add(queueGauge("spool.queue.last.sequence", "Highest sequence appended", tags, queue, QueueStats::lastSequence));
    m.add(queueGauge("spool.queue.consumers", "Consumers of the queue", tags, queue, QueueStats::consumers));
    m.add(queueGauge("spool.queue.publish.rate", "Messages appended per second", tags, queue, QueueStats::publishRate));
    m.add(queueGauge("spool.queue.deliver.rate", "Deliveries per second", tags, queue, QueueStats::deliverRate));
    m.add(queueCounter("spool.queue.published", "Messages appended", tags, queue, QueueStats::published));
    m.add(queueCounter("spool.queue.duplicates", "Publishes answered from the dedup index", tags, queue,
        QueueStats::duplicates));
    m.add(queueCounter("spool.queue.delivered", "Deliveries, redeliveries included", tags, queue, QueueStats::delivered));
    m.add(queueCounter("spool.queue.acked", "Acknowledgements", tags, queue, QueueStats::acked));
    m.add(queueCounter("spool.queue.redelivered", "Redeliveries", tags, queue, QueueStats::redelivered));
    m.add(queueCounter("spool.queue.expired", "Messages expired", tags, queue, QueueStats::expired));
    m.add(queueCounter("spool.queue.dropped", "Messages dropped", tags, queue, QueueStats::dropped));
    m.add(queueCounter("spool.queue.dead.lettered", "Messages dead-lettered", tags, queue, QueueStats::deadLettered));
    return m;
  }

  private List<Meter> registerConsumer(List<String> key) {
    Tags tags = Tags.of("queue", key.get(0), "consumer", key.get(1));
    List<Meter> m = new ArrayList<>();
    m.add(consumerGauge("spool.consumer.lag", "Messages past the committed position (last sequence minus committed)", tags, key, ConsumerInfo::lag));
    m.add(consumerGauge("spool.consumer.lag.age.seconds", "Age of the oldest unacknowledged message", tags, key,
        c -> c.lagAgeMs() / 1000.0));
    m.add(consumerGauge("spool.consumer.in.flight", "Deliveries in flight", tags, key, ConsumerInfo::inFlight));
    m.add(consumerGauge("spool.consumer.cursor", "Next sequence to deliver", tags, key, ConsumerInfo::cursor));
    m.add(consumerGauge("spool.consumer.committed", "Committed position", tags, key, ConsumerInfo::committed));
    m.add(consumerGauge("spool.consumer.paused", "1 while paused", tags, key, c -> c.paused() ? 1 : 0));
    m.add(consumerCounter("spool.consumer.delivered", "Deliveries", tags, key, c -> c.counters().delivered()));
    m.add(consumerCounter("spool.consumer.redelivered", "Redeliveries", tags, key, c -> c.counters().redelivered()));
    m.add(consumerCounter("spool.consumer.acked", "Acknowledgements", tags, key, c -> c.counters().acked()));
    m.add(consumerCounter("spool.consumer.nacked", "Negative acknowledgements", tags, key, c -> c.counters().nacked()));
    m.add(consumerCounter("spool.consumer.expired", "Messages expired unacknowledged", tags, key,
        c -> c.counters().expired()));
    m.add(consumerCounter("spool.consumer.dropped", "Messages dropped unacknowledged", tags, key,
        c -> c.counters().dropped()));
    m.add(consumerCounter("spool.consumer.dead.lettered", "Messages dead-lettered", tags, key,
        c -> c.counters().deadLettered()));
    m.add(consumerCounter("spool.consumer.errors", "Handler calls that failed", tags, key, c -> c.counters().errors()));
    return m;
  }

  private void memoryGauge(String name, String help, ToDoubleFunction<MemoryStats> f) {
    Gauge.builder(name, this, self -> f.applyAsDouble(self.snapshot.memory())).description(help).register(registry);
  }

  private void diskGauge(String name, String help, ToDoubleFunction<DiskStats> f) {
    Gauge.builder(name, this, self -> f.applyAsDouble(self.snapshot.disk())).description(help).register(registry);
  }

  private Meter queueGauge(String name, String help, Tags tags, String queue, ToDoubleFunction<QueueStats> f) {
    return Gauge.builder(name, this, self -> queueValue(self, queue, f)).description(help).tags(tags).register(registry);
  }

  private Meter queueCounter(String name, String help, Tags tags, String queue, ToDoubleFunction<QueueStats> f) {
    return FunctionCounter.builder(name, this, self -> queueValue(self, queue, f)).description(help).tags(tags)
        .register(registry);
  }

  private Meter consumerGauge(String name, String help, Tags tags, List<String> key, ToDoubleFunction<ConsumerInfo> f) {
    return Gauge.builder(name, this, self -> consumerValue(self, key, f)).description(help).tags(tags)
        .register(registry);
  }

  private Meter consumerCounter(String name, String help, Tags tags, List<String> key,
      ToDoubleFunction<ConsumerInfo> f) {
    return FunctionCounter.builder(name, this, self -> consumerValue(self, key, f)).description(help).tags(tags)
        .register(registry);
  }

  private static double queueValue(SpoolMetrics self, String queue, ToDoubleFunction<QueueStats> f) {
    QueueStats s = self.snapshot.queues().get(queue);
    return s == null ? Double.NaN : f.applyAsDouble(s);
  }

  private static double consumerValue(SpoolMetrics self, List<String> key, ToDoubleFunction<ConsumerInfo> f) {
    ConsumerInfo c = self.snapshot.consumers().get(key);
    return c == null ? Double.NaN : f.applyAsDouble(c);
  }

  @Override
  public void close() {
    gcMetrics.close();
    registry.close();
  }
}
