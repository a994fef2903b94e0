package dev.spool.system.durability;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spool.ConsumerInfo;
import dev.spool.ConsumerSettings;
import dev.spool.Delivery;
import dev.spool.Durability;
import dev.spool.Message;
import dev.spool.QueueConsumer;
import dev.spool.QueuePublisher;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import dev.spool.SpoolException;
import dev.spool.app.JournalSchema;
import java.io.IOException;
import java.io.Writer;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The process {@link KillNine} kills: an embedded Spool started from the service's own
 * configuration (only the data directory and {@code spool.persistence.snapshot-every} are set by
 * the test), with producers publishing with confirmations and consumers reading and acknowledging,
 * each outcome written to a log as soon as it is known (a write(2) survives the process being
 * killed).
 *
 * <p>Modes: {@code run} publishes and consumes until killed; {@code drain} only consumes, until
 * every consumer has read and acknowledged everything the queue holds, then stops cleanly.
 *
 * <p>Each message's payload is derived from its id ({@link #payload}), so a reader regenerates it
 * and compares byte for byte; the id says its producer, cycle, counter and size.
 *
 * <p>Log lines: {@code T producer cycle from to} publishes of counters {@code from..to} about to be
 * sent; {@code P seq id} a confirmed publish; {@code F producer code} a publish that failed (its
 * messages are uncertain); {@code D consumer seq attempt id ok|BAD} a delivery
 * and whether its payload was intact; {@code S consumer seq…} acks sent; {@code A consumer seq…}
 * acks confirmed. Ids are hexadecimal.
 */
public final class KillNineDriver {

  static final String QUEUE = "kill";
  static final List<String> CONSUMERS = List.of("c1", "c2");
  static final int PRODUCERS = 4;
  static final int SMALL = 1024;
  static final int LARGE = 64 * 1024;

  /** Which payload sizes the producers send. */
  enum Sizes {
    SMALL, LARGE, MIXED
  }

  private KillNineDriver() {}

  /** A message id: a size bit, the cycle, the producer and its counter. Never 0. */
  static long id(boolean large, int cycle, int producer, long counter) {
    return (large ? 1L << 62 : 0) | ((long) cycle << 48) | ((long) producer << 40) | counter;
  }

  static boolean large(long id) {
    return (id >>> 62 & 1) == 1;
  }

  static int cycle(long id) {
    return (int) (id >>> 48 & 0x3FFF);
  }

  static int producer(long id) {
    return (int) (id >>> 40 & 0xFF);
  }

  static long counter(long id) {
    return id & 0xFF_FFFF_FFFFL;
  }

  /** The payload of message {@code id}: the id, then bytes drawn from a generator seeded with it. */
  static byte[] payload(long id) {
    byte[] b = new byte[large(id) ? LARGE : SMALL];
    ByteBuffer.wrap(b).putLong(id);
    SplittableRandom r = new SplittableRandom(id);
    for (int i = 8; i < b.length; i += 8) {
      long v = r.nextLong();
      for (int k = 0; k < 8 && i + k < b.length; k++) {
        b[i + k] = (byte) (v >>> (8 * k));
      }
    }
    return b;
  }

  /** The id a payload claims, or 0 when it is too short to claim one. */
  static long claimedId(byte[] payload) {
    return payload.length < 8 ? 0 : ByteBuffer.wrap(payload).getLong();
  }

  /** Whether {@code payload} is, byte for byte, the payload of the id it claims. */
  static boolean intact(byte[] payload) {
    long id = claimedId(payload);
    return id != 0 && Arrays.equals(payload, payload(id));
  }

  public static void main(String[] args) throws Exception {
    String mode = args[0];
    Log log = new Log(Path.of(args[1]));
    Sizes sizes = Sizes.valueOf(args[2]);
    int cycle = Integer.parseInt(args[3]);
    long seed = Long.parseLong(args[4]);
    long started = System.nanoTime();
    Config config = ConfigFactory.load(); // the service's application.conf; the test sets only -D properties
    JournalSchema.ensure(config);
    Spool spool = Spool.start(config);
    spool.ready().toCompletableFuture().get(60, TimeUnit.SECONDS);
    // No retention: acknowledged messages leave the queue, so snapshots hold only the backlog.
    spool.createQueue(QUEUE, QueueSettings.defaults().withDurability(Durability.PERSISTENT))
        .toCompletableFuture().get(60, TimeUnit.SECONDS);
    List<QueueConsumer> consumers = new ArrayList<>();
    for (String name : CONSUMERS) {
      QueueConsumer c = spool.createConsumer(QUEUE, ConsumerSettings.named(name).prefetch(200));
      c.ready().toCompletableFuture().get(60, TimeUnit.SECONDS);
      consumers.add(c);
    }
    System.out.println("RECOVERED " + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
    if (mode.equals("drain")) {
      drain(consumers, log, seed);
      spool.shutdown().toCompletableFuture().get(60, TimeUnit.SECONDS);
      System.exit(0);
    }
    Backlog backlog = new Backlog(sizes);
    backlog.watch(consumers);
    for (int p = 0; p < PRODUCERS; p++) {
      QueuePublisher publisher = spool.createPublisher(QUEUE, "p" + p);
      int producer = p;
      SplittableRandom random = new SplittableRandom(seed * 31 + p);
      Thread t = new Thread(() -> produce(publisher, producer, cycle, sizes, random, backlog, log), "producer-" + p);
      t.setDaemon(true);
      t.start();
    }
    for (int i = 0; i < consumers.size(); i++) {
      QueueConsumer c = consumers.get(i);
      SplittableRandom random = new SplittableRandom(seed * 37 + i);
      Thread t = new Thread(() -> {
        while (true) {
          consumeOnce(c, random, log);
        }
      }, "consumer-" + c.name());
      t.setDaemon(true);
      t.start();
    }
    System.out.println("READY");
    System.out.flush();
    Thread.sleep(Long.MAX_VALUE); // until killed
  }

  private static void produce(QueuePublisher publisher, int producer, int cycle, Sizes sizes, SplittableRandom random,
      Backlog backlog, Log log) {
    long n = 0;
    while (true) {
      // A third of the sends are single publishes, the rest batches.
      boolean single = random.nextInt(3) == 0;
      int size = single ? 1 : random.nextInt(1, sizes == Sizes.LARGE ? 9 : 41);
      backlog.awaitRoom();
      long[] ids = new long[size];
      List<Message> batch = new ArrayList<>(size);
      for (int i = 0; i < size; i++) {
        boolean large = switch (sizes) {
          case SMALL -> false;
          case LARGE -> true;
          case MIXED -> random.nextInt(8) == 0;
        };
        ids[i] = id(large, cycle, producer, n++);
        batch.add(Message.of("t", payload(ids[i])));
      }
      log.write("T " + producer + ' ' + cycle + ' ' + counter(ids[0]) + ' ' + counter(ids[size - 1]) + '\n');
      try {
        List<Long> sequences = single
            ? List.of(publisher.publish(batch.get(0)).toCompletableFuture().get(30, TimeUnit.SECONDS))
            : publisher.publishAll(batch).toCompletableFuture().get(30, TimeUnit.SECONDS);
        StringBuilder line = new StringBuilder();
        for (int i = 0; i < size; i++) {
          line.append("P ").append(sequences.get(i)).append(' ').append(Long.toHexString(ids[i])).append('\n');
        }
        log.write(line.toString());
      } catch (Exception notConfirmed) {
        // Not confirmed (refused or timed out): uncertain, the check makes no claim about it.
        Throwable cause = notConfirmed.getCause() != null ? notConfirmed.getCause() : notConfirmed;
        String why = cause instanceof SpoolException e ? e.code().name() : cause.getClass().getSimpleName();
        log.write("F " + producer + ' ' + why + '\n');
        try {
          Thread.sleep(20); // as a client would, rather than spin on a refusing queue
        } catch (InterruptedException e) {
          return;
        }
      }
    }
  }

  /** One read and its acknowledgements: in chunks of random sizes, a chunk of one acknowledged alone. */
  private static int consumeOnce(QueueConsumer c, SplittableRandom random, Log log) {
    try {
      List<Delivery> got = c.readBatch(100, Duration.ofMillis(200)).toCompletableFuture().get(30, TimeUnit.SECONDS);
      StringBuilder delivered = new StringBuilder();
      for (Delivery d : got) {
        byte[] payload = d.message().payload();
        delivered.append("D ").append(c.name()).append(' ').append(d.sequence()).append(' ').append(d.attempt())
            .append(' ').append(Long.toHexString(claimedId(payload))).append(intact(payload) ? " ok" : " BAD")
            .append('\n');
      }
      if (!got.isEmpty()) {
        log.write(delivered.toString());
      }
      int from = 0;
      while (from < got.size()) {
        int to = Math.min(got.size(), from + random.nextInt(1, got.size() + 1));
        List<Delivery> chunk = got.subList(from, to);
        StringBuilder seqs = new StringBuilder();
        List<Long> sequences = new ArrayList<>(chunk.size());
        for (Delivery d : chunk) {
          seqs.append(' ').append(d.sequence());
          sequences.add(d.sequence());
        }
        log.write("S " + c.name() + seqs + "\n");
        if (chunk.size() == 1) {
          c.acknowledge(chunk.get(0)).toCompletableFuture().get(30, TimeUnit.SECONDS);
        } else {
          c.acknowledgeSequences(sequences).toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
        log.write("A " + c.name() + seqs + "\n");
        from = to;
      }
      return got.size();
    } catch (Exception e) {
      return -1; // a timed-out read or ack: go on; unconfirmed acks are only "sent"
    }
  }

  /** Reads and acknowledges until every consumer has nothing left, then says so. */
  private static void drain(List<QueueConsumer> consumers, Log log, long seed) throws Exception {
    for (int i = 0; i < consumers.size(); i++) {
      QueueConsumer c = consumers.get(i);
      SplittableRandom random = new SplittableRandom(seed * 41 + i);
      int empty = 0;
      while (true) {
        int got = consumeOnce(c, random, log);
        empty = got == 0 ? empty + 1 : 0;
        if (empty >= 3) {
          ConsumerInfo info = c.info().toCompletableFuture().get(30, TimeUnit.SECONDS);
          if (info.lag() == 0 && info.inFlight() == 0) {
            System.out.println("DRAINED " + c.name() + " at " + info.committed() + " of " + info.lastSequence());
            break;
          }
        }
      }
    }
    System.out.println("DRAIN DONE");
    System.out.flush();
  }

  /**
   * Keeps the queue's backlog (what the slowest consumer has not acknowledged, which every
   * snapshot holds) near a bound whatever the relative speeds: several megabytes, so a snapshot
   * spans several of the journal's chunks, but not a growing heap.
   */
  private static final class Backlog {
    private final AtomicLong lag = new AtomicLong();
    private final long limit;

    Backlog(Sizes sizes) {
      this.limit = switch (sizes) {
        case SMALL -> 8000;
        case LARGE -> 300;
        case MIXED -> 2000;
      };
    }

    /** Follows the consumers' lag, as the queue reports it, until the process ends. */
    void watch(List<QueueConsumer> consumers) {
      Thread t = new Thread(() -> {
        while (true) {
          try {
            long most = 0;
            for (QueueConsumer c : consumers) {
              most = Math.max(most, c.info().toCompletableFuture().get(30, TimeUnit.SECONDS).lag());
            }
            lag.set(most);
            Thread.sleep(20);
          } catch (Exception e) {
            // a slow answer: keep the last figure and ask again
          }
        }
      }, "backlog");
      t.setDaemon(true);
      t.start();
    }

    void awaitRoom() {
      while (lag.get() > limit) {
        try {
          Thread.sleep(2);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
    }
  }

  /** One log file; each line reaches the operating system before the caller goes on. */
  private static final class Log {
    private final Writer writer;

    Log(Path file) throws IOException {
      this.writer = Files.newBufferedWriter(file, StandardCharsets.UTF_8);
    }

    synchronized void write(String lines) {
      try {
        writer.write(lines);
        writer.flush();
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }
  }
}
