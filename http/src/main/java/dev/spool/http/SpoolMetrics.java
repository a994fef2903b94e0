package dev.spool.http;

import dev.spool.BreakerState;
import dev.spool.ConsumerInfo;
import dev.spool.DeliveryState;
import dev.spool.HealthStatus;
import dev.spool.QueueHealth;
import dev.spool.DiskStats;
import dev.spool.MemoryStats;
import dev.spool.QueueInfo;
import dev.spool.QueueSettings;
import dev.spool.QueueStats;
import dev.spool.Spool;
import dev.spool.SpoolHealth;
import dev.spool.durable.JournalTimings;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.config.MeterFilter;
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
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.ToDoubleFunction;

/**
 * Spool's figures in Prometheus' text format, through Micrometer: per queue (depth, bytes, sequences,
 * limits, counters, health), per consumer (lag, lag age, in flight, prefetch, idle time, counters,
 * delivery, breaker and health states as state sets), memory, the disk alarm, HTTP request latency
 * per route template, refused publishes, the build, and the JVM. Rates are PromQL's to compute
 * ({@code rate()} over the counters).
 * The engine's figures are taken on each scrape (a few asks, never blocking) into a snapshot that
 * the meters read; meters of queues and consumers that are gone are removed, so a scrape shows only what
 * exists.
 */
final class SpoolMetrics implements AutoCloseable {

  /** The figures of one scrape: each queue's info and health, each consumer's info and health. */
  private record Snapshot(Map<String, QueueInfo> queues, Map<String, QueueHealth> health,
      Map<List<String>, ConsumerInfo> consumers, Map<List<String>, HealthStatus> consumerHealth, MemoryStats memory,
      DiskStats disk) {}

  private final Spool spool;
  /** Stops listening to the journal's timings. */
  private final Runnable stopTimings;
  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private volatile PushSender push;
  private final JvmGcMetrics gcMetrics = new JvmGcMetrics();
  private final Map<String, List<Meter>> queueMeters = new HashMap<>();
  private final Map<List<String>, List<Meter>> consumerMeters = new HashMap<>();
  /** Dead letters per queue and reason, registered as reasons first appear. */
  private final Map<List<String>, Meter> deadLetterMeters = new HashMap<>();
  private volatile Snapshot snapshot = new Snapshot(Map.of(), Map.of(), Map.of(), Map.of(),
      new MemoryStats(0, 0, 0, false, List.of()), new DiskStats(false, -1, 0, null));
  /** HTTP request timers by method, route template and status: a bounded set (routes are templates). */
  private final Map<List<String>, Timer> requestTimers = new ConcurrentHashMap<>();
  private final Map<String, Counter> refusedPublishes = new ConcurrentHashMap<>();

  /** The registry /metrics scrapes: other endpoints of the service register their meters here. */
  io.micrometer.core.instrument.MeterRegistry registry() {
    return registry;
  }

  SpoolMetrics(Spool spool) {
    this.spool = spool;
    // Names Prometheus' own linter (promtool check metrics) accepts: the processor binder's CPU time
    // would be process_cpu_time_ns_total and its CPU count system_cpu_count; the conventional
    // process_cpu_seconds_total is registered instead, and the count as system_cpus.
    registry.config().meterFilter(MeterFilter.deny(id -> id.getName().equals("process.cpu.time")));
    registry.config().meterFilter(new MeterFilter() {
      @Override
      public Meter.Id map(Meter.Id id) {
        return id.getName().equals("system.cpu.count") ? id.withName("system.cpus") : id;
      }
    });
    if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
        instanceof com.sun.management.OperatingSystemMXBean os) {
      FunctionCounter.builder("process.cpu", os, o -> o.getProcessCpuTime() / 1e9).baseUnit("seconds")
          .description("CPU time the JVM used").register(registry);
    }
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
    Timer writes = Timer.builder("spool.journal.write").description("Journal writes of durable queues, from sending"
        + " to the journal's answer").serviceLevelObjectives(LATENCY_BUCKETS).register(registry);
    Timer recoveries = Timer.builder("spool.journal.recovery").description("Durable queues read back from their"
        + " journal at start").serviceLevelObjectives(RECOVERY_BUCKETS).register(registry);
    // Per write, not per queue: a histogram per queue would multiply its buckets by the queue count.
    this.stopTimings = JournalTimings.get(spool.system()).listen(new JournalTimings.Listener() {
      @Override
      public void written(String queue, long nanos) {
        writes.record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
      }

      @Override
      public void recovered(String queue, long nanos) {
        recoveries.record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
      }
    });
    dev.spool.actor.HistoryBudget history = dev.spool.actor.HistoryBudget.get(spool.system());
    Gauge.builder("spool.history.bytes", history, dev.spool.actor.HistoryBudget::bytes)
        .description("Heap the queues' and consumers' histories take, about (bounded by spool.history.max-bytes)")
        .register(registry);
    Gauge.builder("spool.build.info", () -> 1).description("The running Spool's version, as a label")
        .tags("version", Spool.version(), "java", System.getProperty("java.version")).register(registry);
  }

  /** The push transport whose consumers' requests are counted. */
  void push(PushSender sender) {
    this.push = sender;
  }

  private static double pushValue(PushSender sender, List<String> key, ToDoubleFunction<PushSender.PushState> f) {
    return sender.state(key.get(0), key.get(1)).map(f::applyAsDouble).orElse(0.0);
  }

  /** Counts what {@code spool.definitions} left unapplied at this start (0 when it is fully in effect). */
  void definitions(DefinitionProblems problems) {
    Gauge.builder("spool.definitions.problems", problems, DefinitionProblems::count)
        .description("Definitions of spool.definitions not in effect since this start: a refused block, conflicts,"
            + " refused tokens").register(registry);
  }

  /**
   * Times one HTTP request under its route template ({@link RouteTemplates}): the latency histogram
   * per route that request-latency alerts are built on. A refused publish is also counted by the
   * reason its status stands for.
   */
  void requestServed(String method, String path, int status, long nanos) {
    String route = RouteTemplates.of(path);
    requestTimers.computeIfAbsent(List.of(method, route, Integer.toString(status)),
        key -> Timer.builder("spool.http.server.requests").description("HTTP requests, by route template")
            .tags("method", key.get(0), "route", key.get(1), "status", key.get(2))
            .serviceLevelObjectives(LATENCY_BUCKETS).register(registry))
        .record(nanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    if (status >= 400 && method.equals("POST") && route.equals(PUBLISH_ROUTE)) {
      refusedPublishes.computeIfAbsent(refusal(status), reason -> Counter.builder("spool.publish.refused")
          .description("Publishes through the API refused, by reason").tags("reason", reason).register(registry))
          .increment();
    }
  }

  /**
   * Histogram buckets: a dozen fixed bounds rather than Micrometer's ~70 percentile buckets per
   * series, so a scrape stays small; enough for histogram_quantile and latency alerts.
   */
  private static final java.time.Duration[] LATENCY_BUCKETS = java.util.stream.LongStream.of(1, 2, 5, 10, 25, 50,
      100, 250, 500, 1_000, 2_500, 5_000, 10_000).mapToObj(java.time.Duration::ofMillis)
      .toArray(java.time.Duration[]::new);
  private static final java.time.Duration[] RECOVERY_BUCKETS = java.util.stream.LongStream.of(10, 100, 500, 1_000,
      5_000, 10_000, 30_000, 60_000, 300_000).mapToObj(java.time.Duration::ofMillis).toArray(java.time.Duration[]::new);

  private static final String PUBLISH_ROUTE = "/api/v1/queues/{queue}/messages";

  /** The reason a publish's error status stands for: the API answers each refusal with its own status. */
  private static String refusal(int status) {
    return switch (status) {
      case 400 -> "bad-request";
      case 401 -> "unauthorized";
      case 403 -> "forbidden";
      case 404 -> "queue-not-found";
      case 413 -> "too-large";
      case 415 -> "unsupported-media-type";
      case 429 -> "queue-full";
      case 503 -> "unavailable";
      default -> "status-" + status;
    };
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
      CompletableFuture<SpoolHealth> health = spool.healthOverview().toCompletableFuture();
      List<CompletableFuture<?>> all = new ArrayList<>(perQueue);
      all.add(memory);
      all.add(disk);
      all.add(health);
      return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).thenApply(done -> {
        // Every future is complete once allOf is: getNow reads them without waiting.
        Map<String, QueueInfo> infos = new HashMap<>();
        queues.forEach(q -> infos.put(q.name(), q));
        Map<List<String>, ConsumerInfo> consumers = new HashMap<>();
        perQueue.forEach(f -> f.getNow(List.of()).forEach(c -> consumers.put(List.of(c.queue(), c.name()), c)));
        Map<String, QueueHealth> queueHealth = new HashMap<>();
        Map<List<String>, HealthStatus> consumerHealth = new HashMap<>();
        for (QueueHealth h : health.getNow(null).queues()) {
          queueHealth.put(h.queue(), h);
          h.consumers().forEach(c -> consumerHealth.put(List.of(h.queue(), c.consumer()), c.status()));
        }
        update(new Snapshot(infos, queueHealth, consumers, consumerHealth, memory.getNow(null), disk.getNow(null)));
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
    deadLetterMeters.keySet().removeIf(key -> {
      boolean gone = !next.queues().containsKey(key.get(0));
      if (gone) {
        registry.remove(deadLetterMeters.get(key));
      }
      return gone;
    });
    next.queues().forEach((q, info) -> info.stats().deadLetteredByReason().keySet().forEach(reason ->
        deadLetterMeters.computeIfAbsent(List.of(q, reason), key -> queueCounter("spool.queue.dead.lettered",
            "Messages dead-lettered, by reason", Tags.of("queue", q, "reason", reason), q,
            stats -> stats.deadLetteredByReason().getOrDefault(reason, 0L)))));
    next.consumers().forEach((key, info) -> consumerMeters.computeIfAbsent(key, k -> registerConsumer(k, info)));
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
    m.add(queueGauge("spool.queue.first.sequence", "Lowest retained sequence (last + 1 when none is retained)", tags,
        queue, QueueStats::firstSequence));
    m.add(queueGauge("spool.queue.oldest.message.age.seconds", "Age of the oldest retained message, 0 when none is"
        + " retained", tags, queue, q -> q.oldestTimestamp() == 0 ? 0
            : Math.max(0, System.currentTimeMillis() - q.oldestTimestamp()) / 1000.0));
    m.add(queueGauge("spool.queue.last.sequence", "Highest sequence appended", tags, queue, QueueStats::lastSequence));
    m.add(queueGauge("spool.queue.consumers", "Consumers of the queue", tags, queue, QueueStats::consumers));
    m.add(settingGauge("spool.queue.max.length", "The queue's length limit, 0 for none", tags, queue,
        s -> s.maxLength()));
    m.add(settingGauge("spool.queue.max.bytes", "The queue's byte limit, 0 for none", tags, queue, s -> s.maxBytes()));
    m.add(settingGauge("spool.queue.ttl.seconds", "The queue's message time to live, 0 for none", tags, queue,
        s -> s.ttl() == null ? 0 : s.ttl().toMillis() / 1000.0));
    m.add(queueCounter("spool.queue.published", "Messages appended", tags, queue, QueueStats::published));
    m.add(queueCounter("spool.queue.duplicates", "Publishes answered from the dedup index", tags, queue,
        QueueStats::duplicates));
    m.add(queueCounter("spool.queue.delivered", "Deliveries, redeliveries included", tags, queue, QueueStats::delivered));
    m.add(queueCounter("spool.queue.acked", "Acknowledgements", tags, queue, QueueStats::acked));
    m.add(queueCounter("spool.queue.redelivered", "Redeliveries", tags, queue, QueueStats::redelivered));
    m.add(queueCounter("spool.queue.expired", "Messages expired", tags, queue, QueueStats::expired));
    m.add(queueCounter("spool.queue.dropped", "Messages dropped", tags, queue, QueueStats::dropped));
    m.add(queueCounter("spool.queue.refused", "Messages whose publish was refused with QueueFull (limits, memory,"
        + " disk)", tags, queue, QueueStats::refused));
    // A state set: one series per status, 1 for the current one, so that an alert selects the status it is about.
    for (HealthStatus status : HealthStatus.values()) {
      m.add(Gauge.builder("spool.queue.health", this, self -> {
        QueueHealth h = self.snapshot.health().get(queue);
        return h == null ? Double.NaN : h.status() == status ? 1 : 0;
      }).description("1 for the queue's health status (the worst of its own and its consumers')")
          .tags(tags.and("status", status.wireName())).register(registry));
    }
    return m;
  }

  private List<Meter> registerConsumer(List<String> key, ConsumerInfo info) {
    Tags tags = Tags.of("queue", key.get(0), "consumer", key.get(1));
    List<Meter> m = new ArrayList<>();
    PushSender sender = push;
    if (sender != null && info != null && info.settings().push() != null) {
      m.add(Gauge.builder("spool.consumer.push.in.flight", sender, p -> pushValue(p, key, PushSender.PushState::inFlight))
          .description("Push requests sent and not answered yet").tags(tags).register(registry));
      m.add(FunctionCounter.builder("spool.consumer.push.requests", sender, p -> pushValue(p, key, PushSender.PushState::succeeded))
          .description("Push requests by outcome: succeeded (2xx), failed (retried, or dead-lettered at the last attempt), permanent (dead-lettered at once)")
          .tags(tags.and("outcome", "succeeded")).register(registry));
      m.add(FunctionCounter.builder("spool.consumer.push.requests", sender, p -> pushValue(p, key, PushSender.PushState::failed))
          .description("Push requests by outcome: succeeded (2xx), failed (retried, or dead-lettered at the last attempt), permanent (dead-lettered at once)")
          .tags(tags.and("outcome", "failed")).register(registry));
      m.add(FunctionCounter.builder("spool.consumer.push.requests", sender, p -> pushValue(p, key, PushSender.PushState::permanent))
          .description("Push requests by outcome: succeeded (2xx), failed (retried, or dead-lettered at the last attempt), permanent (dead-lettered at once)")
          .tags(tags.and("outcome", "permanent")).register(registry));
    }
    m.add(consumerGauge("spool.consumer.lag", "Messages past the committed position (while messages are held back by"
        + " delayed delivery or priority, less those not due and those acknowledged above a held one)", tags, key, ConsumerInfo::lag));
    m.add(consumerGauge("spool.consumer.lag.age.seconds", "Age of the oldest unacknowledged message", tags, key,
        c -> c.lagAgeMs() / 1000.0));
    m.add(consumerGauge("spool.consumer.in.flight", "Deliveries in flight", tags, key, ConsumerInfo::inFlight));
    m.add(consumerGauge("spool.consumer.prefetch", "Deliveries it may have in flight, 0 for no limit", tags, key,
        c -> c.settings().prefetch() == null ? 0 : c.settings().prefetch()));
    m.add(consumerGauge("spool.consumer.subscribers", "Subscribers attached (streams, actors, handlers)", tags, key,
        ConsumerInfo::subscribers));
    m.add(consumerGauge("spool.consumer.idle.seconds", "Time since its last read, acknowledgement or delivery", tags,
        key, c -> Math.max(0, System.currentTimeMillis() - c.lastActivity().toEpochMilli()) / 1000.0));
    m.add(consumerGauge("spool.consumer.cursor", "Next sequence to deliver", tags, key, ConsumerInfo::cursor));
    m.add(consumerGauge("spool.consumer.committed", "Committed position", tags, key, ConsumerInfo::committed));
    m.add(consumerGauge("spool.consumer.paused", "1 while paused", tags, key, c -> c.paused() ? 1 : 0));
    for (DeliveryState state : DeliveryState.values()) {
      m.add(consumerGauge("spool.consumer.delivery.state", "1 for why it is or is not delivering now",
          tags.and("state", state.wireName()), key, c -> c.deliveryState() == state ? 1 : 0));
    }
    for (BreakerState state : BreakerState.values()) {
      m.add(consumerGauge("spool.consumer.breaker.state", "1 for its handlers' circuit breaker state (the most open)",
          tags.and("state", state.wireName()), key, c -> c.breaker() == state ? 1 : 0));
    }
    for (HealthStatus status : HealthStatus.values()) {
      m.add(Gauge.builder("spool.consumer.health", this, self -> {
        HealthStatus h = self.snapshot.consumerHealth().get(key);
        return h == null ? Double.NaN : h == status ? 1 : 0;
      }).description("1 for the consumer's health status").tags(tags.and("status", status.wireName()))
          .register(registry));
    }
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

  private Meter settingGauge(String name, String help, Tags tags, String queue, ToDoubleFunction<QueueSettings> f) {
    return Gauge.builder(name, this, self -> {
      QueueInfo q = self.snapshot.queues().get(queue);
      return q == null ? Double.NaN : f.applyAsDouble(q.settings());
    }).description(help).tags(tags).register(registry);
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
    QueueInfo q = self.snapshot.queues().get(queue);
    return q == null ? Double.NaN : f.applyAsDouble(q.stats());
  }

  private static double consumerValue(SpoolMetrics self, List<String> key, ToDoubleFunction<ConsumerInfo> f) {
    ConsumerInfo c = self.snapshot.consumers().get(key);
    return c == null ? Double.NaN : f.applyAsDouble(c);
  }

  @Override
  public void close() {
    stopTimings.run();
    gcMetrics.close();
    registry.close();
  }
}
