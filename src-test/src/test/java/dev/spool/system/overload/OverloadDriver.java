package dev.spool.system.overload;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spool.ConsumerSettings;
import dev.spool.Delivery;
import dev.spool.Durability;
import dev.spool.Message;
import dev.spool.MemoryStats;
import dev.spool.QueueConsumer;
import dev.spool.QueueInfo;
import dev.spool.QueuePublisher;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import dev.spool.SpoolException;
import dev.spool.app.JournalSchema;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The process {@link OverloadTest} runs: an embedded Spool on the service's journal with one
 * persistent queue, producers offering {@code rate} messages of 1 KiB a second and one consumer
 * acknowledging 50 a second, so the backlog grows until the memory threshold refuses publishes.
 * Every second it prints a {@code STAT} line (heap used and its peak, the survivor and old
 * generations, bytes retained, publishes accepted and refused); the first {@code QueueFull} prints
 * {@code FIRST-FULL}; {@code seconds} after the load began it prints {@code SURVIVED} and idles until killed. Run
 * with {@code -XX:+ExitOnOutOfMemoryError} so that an OutOfMemoryError ends it.
 *
 * <p>On a restart over the same data directory it prints {@code RECOVERED} (the queue serves) or
 * {@code REFUSED} (the queue refuses every command, the engine stays up) before the load starts.
 */
public final class OverloadDriver {

  static final String QUEUE = "overload";
  static final int PAYLOAD_BYTES = 1024;
  static final int ACKS_PER_SECOND = 50;
  /** Publishes (batches of {@link #BATCH}) a producer keeps in flight; more wait in the driver, not in Spool. */
  static final int IN_FLIGHT = 64;
  static final int BATCH = 30;

  private static final long STARTED = System.nanoTime();
  private static final AtomicLong accepted = new AtomicLong();
  private static final AtomicLong full = new AtomicLong();
  private static final AtomicLong timeouts = new AtomicLong();
  private static final AtomicLong otherErrors = new AtomicLong();
  private static final AtomicLong acked = new AtomicLong();
  private static final AtomicLong peakHeap = new AtomicLong();

  private OverloadDriver() {}

  /** Arguments: seconds of load, messages offered a second. */
  public static void main(String[] args) throws Exception {
    int seconds = Integer.parseInt(args[0]);
    int rate = Integer.parseInt(args[1]);
    Config config = ConfigFactory.load(); // spool.data-dir and the journal come as -D properties
    JournalSchema.ensure(config);
    Spool spool = Spool.start(config);
    spool.ready().toCompletableFuture().get(180, TimeUnit.SECONDS);
    say("STARTED t=" + seconds());
    Thread sampler = new Thread(OverloadDriver::sampleHeap, "heap-sampler");
    sampler.setDaemon(true);
    sampler.start();

    boolean existed = spool.listQueues().toCompletableFuture().get(30, TimeUnit.SECONDS).stream()
        .anyMatch(q -> q.name().equals(QUEUE));
    if (existed) {
      try {
        QueueInfo info = spool.queueInfo(QUEUE).toCompletableFuture().get(30, TimeUnit.SECONDS);
        say("RECOVERED t=" + seconds() + " depth=" + info.stats().depth() + " bytes=" + info.stats().bytes());
      } catch (Exception e) {
        say("REFUSED t=" + seconds() + " " + cause(e).getMessage());
        idle(spool, seconds);
        return;
      }
    } else {
      spool.createQueue(QUEUE, QueueSettings.defaults().withDurability(Durability.PERSISTENT))
          .toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
    QueueConsumer consumer = spool.createConsumer(QUEUE, ConsumerSettings.named("slow").prefetch(100));
    consumer.ready().toCompletableFuture().get(30, TimeUnit.SECONDS);
    Thread c = new Thread(() -> consume(consumer), "consumer");
    c.setDaemon(true);
    c.start();
    Thread p = new Thread(() -> produce(spool.createPublisher(QUEUE, "load"), rate), "producer");
    p.setDaemon(true);
    p.start();
    idle(spool, seconds);
  }

  /** Prints a STAT line every second for {@code seconds}, then SURVIVED, then waits to be killed. */
  private static void idle(Spool spool, int seconds) throws Exception {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (System.nanoTime() < end) {
      Thread.sleep(1000);
      String retained;
      try {
        MemoryStats m = spool.memoryStats().toCompletableFuture().get(5, TimeUnit.SECONDS);
        retained = m.totalBytes() + " pressure=" + m.underPressure();
      } catch (Exception e) {
        retained = "? (" + cause(e).getClass().getSimpleName() + ")";
      }
      say("STAT t=" + seconds() + " heapUsed=" + mib(heapUsed()) + " heapPeak=" + mib(peakHeap.get())
          + " survived=" + mib(survived()) + " accepted=" + accepted.get() + " full=" + full.get()
          + " timeout=" + timeouts.get() + " otherErrors=" + otherErrors.get() + " acked=" + acked.get()
          + " retained=" + retained);
    }
    say("SURVIVED t=" + seconds() + " heapPeak=" + mib(peakHeap.get()) + " accepted=" + accepted.get() + " full="
        + full.get() + " timeout=" + timeouts.get() + " otherErrors=" + otherErrors.get() + " acked=" + acked.get());
    Thread.sleep(Long.MAX_VALUE); // until killed
  }

  /** Offers {@code rate} messages a second in batches of {@link #BATCH}, answering nothing itself. */
  private static void produce(QueuePublisher publisher, int rate) {
    Semaphore inFlight = new Semaphore(IN_FLIGHT);
    long intervalNanos = TimeUnit.SECONDS.toNanos(1) * BATCH / rate;
    long next = System.nanoTime();
    while (true) {
      next += intervalNanos;
      long wait = next - System.nanoTime();
      if (wait > 0) {
        try {
          TimeUnit.NANOSECONDS.sleep(wait);
        } catch (InterruptedException e) {
          return;
        }
      }
      if (!inFlight.tryAcquire()) {
        continue; // Spool answers slower than offered: the offer is dropped here, as a client would time out
      }
      List<Message> batch = new ArrayList<>(BATCH);
      for (int i = 0; i < BATCH; i++) {
        byte[] payload = new byte[PAYLOAD_BYTES];
        ThreadLocalRandom.current().nextBytes(payload);
        batch.add(Message.of("load", payload));
      }
      publisher.publishAll(batch).whenComplete((sequences, failure) -> {
        inFlight.release();
        if (failure == null) {
          accepted.addAndGet(sequences.size());
        } else if (cause(failure) instanceof SpoolException.QueueFull) {
          if (full.getAndAdd(BATCH) == 0) {
            say("FIRST-FULL t=" + seconds() + " heapUsed=" + mib(heapUsed()) + " " + cause(failure).getMessage());
          }
        } else if (cause(failure) instanceof SpoolException.Timeout) {
          timeouts.addAndGet(BATCH);
        } else {
          if (otherErrors.getAndAdd(BATCH) == 0) {
            say("ERROR t=" + seconds() + " " + cause(failure));
          }
        }
      });
    }
  }

  /** Reads and acknowledges {@link #ACKS_PER_SECOND} a second. */
  private static void consume(QueueConsumer consumer) {
    int perTick = ACKS_PER_SECOND / 10;
    while (true) {
      long tick = System.nanoTime();
      try {
        List<Delivery> got = consumer.readBatch(perTick, Duration.ofMillis(100)).toCompletableFuture()
            .get(30, TimeUnit.SECONDS);
        if (!got.isEmpty()) {
          consumer.acknowledgeSequences(got.stream().map(Delivery::sequence).toList()).toCompletableFuture()
              .get(30, TimeUnit.SECONDS);
          acked.addAndGet(got.size());
        }
        long rest = TimeUnit.MILLISECONDS.toNanos(100) - (System.nanoTime() - tick);
        if (rest > 0) {
          TimeUnit.NANOSECONDS.sleep(rest);
        }
      } catch (InterruptedException e) {
        return;
      } catch (Exception e) {
        // a refused or timed-out read or ack: try again at the next tick
      }
    }
  }

  private static void sampleHeap() {
    while (true) {
      peakHeap.accumulateAndGet(heapUsed(), Math::max);
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private static long heapUsed() {
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  /** The survivor and old generations now: what outlived a young collection. */
  private static long survived() {
    long live = 0;
    for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
      if (pool.getType() == MemoryType.HEAP && !pool.getName().contains("Eden")) {
        live += pool.getUsage().getUsed();
      }
    }
    return live;
  }

  private static Throwable cause(Throwable t) {
    while ((t instanceof CompletionException || t instanceof java.util.concurrent.ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  private static String seconds() {
    return String.format("%.1f", (System.nanoTime() - STARTED) / 1e9);
  }

  private static String mib(long bytes) {
    return (bytes >> 20) + "MiB";
  }

  private static synchronized void say(String line) {
    System.out.println(line);
    System.out.flush();
  }
}
