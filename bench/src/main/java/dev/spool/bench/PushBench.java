package dev.spool.bench;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spool.ConsumerSettings;
import dev.spool.Message;
import dev.spool.PushSettings;
import dev.spool.QueuePublisher;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import dev.spool.StartPosition;
import dev.spool.http.PushSender;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.HdrHistogram.Recorder;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.settings.ConnectionPoolSettings;

/**
 * Push consumers against a receiver on loopback (Pekko HTTP's server in the same JVM, answering
 * 200 at once): the throughput of draining a backlog of 1 KiB messages with 1 and with 100 requests
 * in flight beside Pekko HTTP's client alone sending as many requests, and the publish-to-receive
 * latency at a steady rate of half that throughput, as percentiles. Everything runs on the same two cores: the receiver's cost is in the figures.
 *
 * <p>Run: {@code java -jar bench/target/spool-bench.jar push [--quick]}.
 */
final class PushBench {

  private static final String SENT = "bench-sent";
  /** How long the steady publishes took to be confirmed: whether a tail comes before the push or after. */
  private static final Recorder PUBLISH_ACK = new Recorder(3);

  private PushBench() {}

  static void run(boolean quick) throws Exception {
    Path data = Files.createTempDirectory("spool-push-bench");
    Config config = ConfigFactory.parseString("""
        spool.push.allowed-hosts = ["127.0.0.1"]
        spool.push.allow-http = on
        pekko.loglevel = WARNING
        """).withFallback(ConfigFactory.load());
    Spool spool = Spool.start(config);
    AtomicLong received = new AtomicLong();
    Recorder latency = new Recorder(3);
    try {
      spool.usePushTransport(PushSender.create(spool.system(), config, data));
      org.apache.pekko.japi.function.Function<HttpRequest, CompletionStage<HttpResponse>> receiver = request -> {
        request.getHeader("spool-header-" + SENT).ifPresent(h ->
            latency.recordValue(Math.max(0, System.nanoTime() - Long.parseLong(h.value())) / 1000));
        request.discardEntityBytes(spool.system());
        received.incrementAndGet();
        return CompletableFuture.completedFuture(HttpResponse.create().withStatus(StatusCodes.OK));
      };
      ServerBinding binding = Http.get(spool.system()).newServerAt("127.0.0.1", 0).bind(receiver)
          .toCompletableFuture().get(10, TimeUnit.SECONDS);
      String endpoint = "http://127.0.0.1:" + binding.localAddress().getPort() + "/in";
      int backlog = quick ? 5_000 : 30_000;
      System.out.printf("push to a loopback receiver, 1 KiB messages (%s, max heap %d MiB)%n",
          String.join(" + ", java.lang.management.ManagementFactory.getGarbageCollectorMXBeans().stream()
              .map(java.lang.management.GarbageCollectorMXBean::getName).toList()),
          Runtime.getRuntime().maxMemory() >> 20);
      for (int outstanding : new int[] {1, 100}) {
        String queue = "push-" + outstanding;
        spool.createQueue(queue, QueueSettings.defaults()).toCompletableFuture().get(10, TimeUnit.SECONDS);
        QueuePublisher publisher = spool.createPublisher(queue, "bench");
        // Warm-up: the pool's connections opened, the code paths compiled.
        drain(spool, publisher, queue, "warm", endpoint, outstanding, backlog / 5, received);
        double rate = drain(spool, publisher, queue, "hook", endpoint, outstanding, backlog, received);
        double client = clientAlone(spool, endpoint, outstanding, backlog);
        int paced = (int) Math.max(50, rate / 2);
        spool.declareConsumer(queue, ConsumerSettings.named("steady").startAt(StartPosition.latest())
            .push(PushSettings.to(endpoint).maxOutstanding(outstanding))).toCompletableFuture().get(10, TimeUnit.SECONDS);
        latency.reset();
        int steadyCount = (int) Math.min(paced * (quick ? 5L : 15L), 200_000);
        steady(publisher, paced, steadyCount, received);
        var h = latency.getIntervalHistogram();
        var ph = PUBLISH_ACK.getIntervalHistogram();
        System.out.printf("    steady publishes confirmed: p50 %.2f ms, p99 %.2f ms, max %.2f ms%n", ph.getValueAtPercentile(50) / 1000.0,
            ph.getValueAtPercentile(99) / 1000.0, ph.getMaxValue() / 1000.0);
        // The same rate through the client alone, timed from when each request was due to be sent
        // (not when a slot freed), as the messages above are timed from their publish.
        clientAlonePaced(spool, endpoint, outstanding, paced, steadyCount, received);
        var alone = latency.getIntervalHistogram();
        System.out.printf("  maxOutstanding %3d: %,9.0f msgs/s draining %,d (Pekko HTTP's client alone, same requests in"
            + " flight: %,.0f req/s); at %,d msgs/s publish->receive p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms"
            + " (%,d messages); the client alone at that rate p50 %.2f ms, p99 %.2f ms, max %.2f ms%n", outstanding,
            rate, backlog, client, paced,
            h.getValueAtPercentile(50) / 1000.0, h.getValueAtPercentile(99) / 1000.0,
            h.getValueAtPercentile(99.9) / 1000.0, h.getMaxValue() / 1000.0, h.getTotalCount(),
            alone.getValueAtPercentile(50) / 1000.0, alone.getValueAtPercentile(99) / 1000.0,
            alone.getMaxValue() / 1000.0);
        spool.deleteQueue(queue).toCompletableFuture().get(10, TimeUnit.SECONDS);
      }
      binding.unbind().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } finally {
      spool.shutdown().toCompletableFuture().get(60, TimeUnit.SECONDS);
      try (var files = Files.walk(data)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  /** Publishes {@code n} messages, then creates a push consumer from the earliest and times it until all arrived. */
  private static double drain(Spool spool, QueuePublisher publisher, String queue, String consumer, String endpoint,
      int outstanding, int n, AtomicLong received) throws Exception {
    byte[] payload = new byte[1024];
    List<Message> batch = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      batch.add(Message.of("bench", payload));
      if (batch.size() == 500 || i == n - 1) {
        publisher.publishAll(batch).toCompletableFuture().get(30, TimeUnit.SECONDS);
        batch = new ArrayList<>();
      }
    }
    long before = received.get();
    long t0 = System.nanoTime();
    spool.declareConsumer(queue, ConsumerSettings.named(consumer)
        .push(PushSettings.to(endpoint).maxOutstanding(outstanding))).toCompletableFuture().get(10, TimeUnit.SECONDS);
    while (received.get() - before < n) {
      Thread.sleep(2);
    }
    double seconds = (System.nanoTime() - t0) / 1e9;
    spool.deleteConsumer(queue, consumer).toCompletableFuture().get(10, TimeUnit.SECONDS);
    return n / seconds;
  }

  /**
   * The same number of 1 KiB POSTs through Pekko HTTP's client alone, {@code inFlight} at a time:
   * what the HTTP stack does on this machine without Spool, the baseline the push figures stand beside.
   */
  private static double clientAlone(Spool spool, String endpoint, int inFlight, int n) throws Exception {
    var classic = spool.system().classicSystem();
    ConnectionPoolSettings pool = ConnectionPoolSettings.create(classic).withMaxConnections(Math.min(inFlight, 64))
        .withMaxOpenRequests(Integer.highestOneBit(inFlight * 4 - 1)).withMaxRetries(0);
    byte[] body = new byte[1024];
    Semaphore slots = new Semaphore(inFlight);
    long t0 = System.nanoTime();
    for (int i = 0; i < n; i++) {
      slots.acquire();
      Http.get(classic).singleRequest(HttpRequest.POST(endpoint)
              .withEntity(HttpEntities.create(ContentTypes.APPLICATION_OCTET_STREAM, body)),
          Http.get(classic).defaultClientHttpsContext(), pool, classic.log())
          .whenComplete((response, failure) -> {
            if (response != null) {
              response.discardEntityBytes(spool.system());
            }
            slots.release();
          });
    }
    slots.acquire(inFlight);
    return n / ((System.nanoTime() - t0) / 1e9);
  }

  /**
   * {@code count} requests through the client alone at {@code perSecond}, {@code inFlight} at a time,
   * each stamped with when it was due to be sent, so a stall counts for every request it holds up.
   */
  private static void clientAlonePaced(Spool spool, String endpoint, int inFlight, int perSecond, int count,
      AtomicLong received) throws Exception {
    var classic = spool.system().classicSystem();
    ConnectionPoolSettings pool = ConnectionPoolSettings.create(classic).withMaxConnections(Math.min(inFlight, 64))
        .withMaxOpenRequests(Integer.highestOneBit(inFlight * 4 - 1)).withMaxRetries(0);
    byte[] body = new byte[1024];
    Semaphore slots = new Semaphore(inFlight);
    long before = received.get();
    long intervalNanos = 1_000_000_000L / perSecond;
    long next = System.nanoTime();
    for (int i = 0; i < count; i++) {
      long wait = next - System.nanoTime();
      if (wait > 0) {
        LockSupport.parkNanos(wait);
      }
      long due = next;
      next += intervalNanos;
      slots.acquire();
      Http.get(classic).singleRequest(HttpRequest.POST(endpoint)
              .addHeader(RawHeader.create("Spool-Header-" + SENT, Long.toString(due)))
              .withEntity(HttpEntities.create(ContentTypes.APPLICATION_OCTET_STREAM, body)),
          Http.get(classic).defaultClientHttpsContext(), pool, classic.log())
          .whenComplete((response, failure) -> {
            if (response != null) {
              response.discardEntityBytes(spool.system());
            }
            slots.release();
          });
    }
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (received.get() - before < count && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
  }

    /** Publishes {@code count} messages one at a time at {@code perSecond}, each stamped with when it was sent. */
  private static void steady(QueuePublisher publisher, int perSecond, int count, AtomicLong received) throws Exception {
    byte[] payload = new byte[1024];
    long before = received.get();
    long intervalNanos = 1_000_000_000L / perSecond;
    long next = System.nanoTime();
    for (int i = 0; i < count; i++) {
      long wait = next - System.nanoTime();
      if (wait > 0) {
        LockSupport.parkNanos(wait); // not a spin: the two cores are the receiver's and Spool's too
      }
      long t0 = System.nanoTime();
      publisher.publish(Message.of("bench", payload).withHeader(SENT, Long.toString(t0)))
          .thenRun(() -> PUBLISH_ACK.recordValue((System.nanoTime() - t0) / 1000));
      next += intervalNanos;
    }
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (received.get() - before < count && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
  }
}
