package dev.spool.bench;

import com.lmax.disruptor.BlockingWaitStrategy;
import com.lmax.disruptor.EventHandler;
import com.lmax.disruptor.dsl.Disruptor;
import com.lmax.disruptor.dsl.ProducerType;
import com.lmax.disruptor.util.DaemonThreadFactory;
import com.typesafe.config.ConfigFactory;
import dev.spool.AckMode;
import dev.spool.ConsumerSettings;
import dev.spool.Message;
import dev.spool.QueueConsumer;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.stream.javadsl.BroadcastHub;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * In-JVM fan-out, one producer to {1, 4, 64} consumers, 100-byte payloads, measured for Spool and
 * the peers users would pick instead, in one run on one machine: delivered messages per second
 * (messages × consumers / time from the first publish to the last delivery).
 *
 * <p>Peers: LMAX Disruptor 4 (blocking wait strategy), one {@link ArrayBlockingQueue} per consumer,
 * Pekko Streams {@code BroadcastHub}, and a plain typed-actor tell fan-out. Spool with ack mode
 * {@code none} and with explicit acks batched by 200. Throughput only so far: latency at fixed
 * offered rates and allocation per delivery are still to come.
 */
final class FanoutBench {

  private static final byte[] PAYLOAD = new byte[100];
  private static final int[] CONSUMERS = {1, 4, 64};

  private final boolean quick;

  FanoutBench(boolean quick) {
    this.quick = quick;
  }

  /** One measured system: runs one fan-out and answers its elapsed seconds. */
  private interface Run {
    double seconds(int messages, int consumers) throws Exception;
  }

  void run() throws Exception {
    // In memory only: transient queues, no journal.
    Spool spool = Spool.start(ConfigFactory.parseString("pekko.loglevel = WARNING\nspool.persistence.journal-plugin = \"\"")
        .withFallback(ConfigFactory.load()));
    Map<String, Run> systems = new LinkedHashMap<>();
    systems.put("spool (ack none)", (m, c) -> spool(spool, m, c, AckMode.NONE));
    systems.put("spool (explicit, acks batched by 200)", (m, c) -> spool(spool, m, c, AckMode.EXPLICIT));
    systems.put("disruptor 4 (blocking wait)", this::disruptor);
    systems.put("ArrayBlockingQueue per consumer", this::blockingQueues);
    systems.put("pekko BroadcastHub", (m, c) -> broadcastHub(spool.system(), m, c));
    systems.put("typed actor tell", (m, c) -> actors(spool.system(), m, c));
    int runs = quick ? 1 : 3;
    int[] counts = quick ? new int[] {4} : CONSUMERS;
    StringBuilder json = new StringBuilder("{\"suite\":\"fanout\",\"results\":[");
    System.out.printf(Locale.ROOT, "%-10s %-40s %30s%n", "consumers", "system", "delivered msgs/s");
    for (int consumers : counts) {
      // about the same number of deliveries per figure, whatever the fan-out
      int messages = Math.max(50_000, (quick ? 4_000_000 : 24_000_000) / consumers);
      Map<String, Double> medians = new LinkedHashMap<>();
      for (Map.Entry<String, Run> system : systems.entrySet()) {
        system.getValue().seconds(messages / 10, consumers); // warm-up
        List<double[]> rates = new ArrayList<>();
        for (int r = 0; r < runs; r++) {
          double seconds = system.getValue().seconds(messages, consumers);
          rates.add(new double[] {(double) messages * consumers / seconds});
        }
        double[] sorted = rates.stream().mapToDouble(x -> x[0]).sorted().toArray();
        medians.put(system.getKey(), sorted[sorted.length / 2]);
        System.out.printf(Locale.ROOT, "%-10d %-40s %30s%n", consumers, system.getKey(),
            DurableBench.median(rates, 0, "%,.0f"));
        json.append(String.format(Locale.ROOT,
            "{\"consumers\":%d,\"system\":\"%s\",\"messages\":%d,\"median\":%.0f,\"min\":%.0f,\"max\":%.0f},",
            consumers, system.getKey(), messages, sorted[sorted.length / 2], sorted[0], sorted[sorted.length - 1]));
      }
      double spoolNone = medians.get("spool (ack none)");
      System.out.printf(Locale.ROOT, "  ratios at %d consumers: spool/BroadcastHub %.2f, spool/disruptor %.2f,"
              + " explicit/none %.2f%n", consumers, spoolNone / medians.get("pekko BroadcastHub"),
          spoolNone / medians.get("disruptor 4 (blocking wait)"),
          medians.get("spool (explicit, acks batched by 200)") / spoolNone);
    }
    json.setLength(json.length() - 1);
    json.append("]}\n");
    write(json.toString());
    spool.shutdown().toCompletableFuture().get(60, TimeUnit.SECONDS);
  }

  private static void write(String json) throws IOException {
    // bench/results/ when run from the repository's root, else the working directory
    Path out = Files.isDirectory(Path.of("bench")) ? Path.of("bench", "results", "fanout.json") : Path.of("fanout.json");
    if (out.getParent() != null) {
      Files.createDirectories(out.getParent());
    }
    Files.writeString(out, json);
    System.out.println("written: " + out.toAbsolutePath());
  }

  private static double spool(Spool spool, int messages, int consumers, AckMode mode) throws Exception {
    String q = "fanout-" + System.nanoTime();
    spool.createQueue(q, QueueSettings.defaults()).toCompletableFuture().get(30, TimeUnit.SECONDS);
    List<CompletableFuture<?>> done = new ArrayList<>();
    for (int c = 0; c < consumers; c++) {
      QueueConsumer consumer = spool.createConsumer(q, ConsumerSettings.named("c" + c).ackMode(mode).prefetch(1000));
      consumer.ready().toCompletableFuture().get(30, TimeUnit.SECONDS);
      var source = consumer.source().take(messages);
      done.add((mode == AckMode.NONE
          ? source.runWith(Sink.ignore(), spool.system())
          : source.grouped(200).mapAsync(1, consumer::acknowledgeBatch).runWith(Sink.ignore(), spool.system()))
          .toCompletableFuture());
    }
    long start = System.nanoTime();
    Source.range(1, messages).map(i -> Message.of("t", PAYLOAD))
        .runWith(spool.createPublisher(q, "p").sink(), spool.system()).toCompletableFuture().get(10, TimeUnit.MINUTES);
    CompletableFuture.allOf(done.toArray(CompletableFuture[]::new)).get(10, TimeUnit.MINUTES);
    double seconds = (System.nanoTime() - start) / 1e9;
    spool.deleteQueue(q).toCompletableFuture().get(30, TimeUnit.SECONDS);
    return seconds;
  }

  /** The slot a Disruptor ring buffer reuses. */
  private static final class Slot {
    byte[] payload;
  }

  private double disruptor(int messages, int consumers) throws Exception {
    Disruptor<Slot> disruptor = new Disruptor<>(Slot::new, 1 << 16, DaemonThreadFactory.INSTANCE, ProducerType.SINGLE,
        new BlockingWaitStrategy());
    CountDownLatch done = new CountDownLatch(consumers);
    @SuppressWarnings("unchecked")
    EventHandler<Slot>[] handlers = new EventHandler[consumers];
    for (int c = 0; c < consumers; c++) {
      handlers[c] = new EventHandler<>() {
        long seen;
        long bytes;

        @Override
        public void onEvent(Slot slot, long sequence, boolean endOfBatch) {
          bytes += slot.payload.length; // touch what was delivered, as a consumer would
          if (++seen == messages) {
            done.countDown();
          }
        }
      };
    }
    disruptor.handleEventsWith(handlers);
    disruptor.start();
    long start = System.nanoTime();
    for (int i = 0; i < messages; i++) {
      disruptor.publishEvent((slot, sequence, payload) -> slot.payload = payload, PAYLOAD);
    }
    done.await(10, TimeUnit.MINUTES);
    double seconds = (System.nanoTime() - start) / 1e9;
    disruptor.shutdown();
    return seconds;
  }

  private double blockingQueues(int messages, int consumers) throws Exception {
    List<ArrayBlockingQueue<byte[]>> queues = new ArrayList<>();
    CountDownLatch done = new CountDownLatch(consumers);
    for (int c = 0; c < consumers; c++) {
      ArrayBlockingQueue<byte[]> q = new ArrayBlockingQueue<>(1024);
      queues.add(q);
      Thread t = new Thread(() -> {
        try {
          long bytes = 0;
          for (int i = 0; i < messages; i++) {
            bytes += q.take().length;
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
    long start = System.nanoTime();
    for (int i = 0; i < messages; i++) {
      for (ArrayBlockingQueue<byte[]> q : queues) {
        q.put(PAYLOAD);
      }
    }
    done.await(10, TimeUnit.MINUTES);
    return (System.nanoTime() - start) / 1e9;
  }

  private double broadcastHub(ActorSystem<?> system, int messages, int consumers) throws Exception {
    // starts once every consumer is attached, so that each gets every element
    Source<byte[], NotUsed> hub = Source.range(1, messages).map(i -> PAYLOAD)
        .runWith(BroadcastHub.of(byte[].class, consumers, 256), system);
    List<CompletableFuture<?>> done = new ArrayList<>();
    long start = System.nanoTime();
    for (int c = 0; c < consumers; c++) {
      done.add(hub.runWith(Sink.fold(0L, (n, p) -> n + p.length), system).toCompletableFuture());
    }
    CompletableFuture.allOf(done.toArray(CompletableFuture[]::new)).get(10, TimeUnit.MINUTES);
    return (System.nanoTime() - start) / 1e9;
  }

  private double actors(ActorSystem<?> system, int messages, int consumers) throws Exception {
    CountDownLatch done = new CountDownLatch(consumers);
    List<ActorRef<byte[]>> refs = new ArrayList<>();
    AtomicInteger names = new AtomicInteger();
    for (int c = 0; c < consumers; c++) {
      refs.add(system.systemActorOf(counter(messages, done), "fanout-" + System.nanoTime() + "-" + names.incrementAndGet(),
          org.apache.pekko.actor.typed.Props.empty()));
    }
    long start = System.nanoTime();
    for (int i = 0; i < messages; i++) {
      for (ActorRef<byte[]> ref : refs) {
        ref.tell(PAYLOAD);
      }
    }
    done.await(10, TimeUnit.MINUTES);
    return (System.nanoTime() - start) / 1e9;
  }

  private static Behavior<byte[]> counter(int messages, CountDownLatch done) {
    return Behaviors.setup(context -> {
      long[] seen = new long[1];
      return Behaviors.receiveMessage(payload -> {
        if (++seen[0] == messages) {
          done.countDown();
          return Behaviors.stopped();
        }
        return Behaviors.same();
      });
    });
  }
}
