package dev.spool.app.durability;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spool.ConsumerSettings;
import dev.spool.Delivery;
import dev.spool.Durability;
import dev.spool.Message;
import dev.spool.QueueConsumer;
import dev.spool.QueuePublisher;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import dev.spool.app.JournalSchema;
import java.io.IOException;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * The process {@link KillNineTest} kills. {@code run}: an embedded Spool on the configured journal
 * with producers publishing with confirmations at full speed and two consumers reading and
 * acknowledging, each outcome written to a log as soon as it is known (a write(2) survives the
 * process being killed). {@code inspect}: recovers and writes what the queue holds.
 *
 * <p>Log lines: {@code P seq payload} a confirmed publish; {@code D consumer seq attempt} a
 * delivery; {@code S consumer seq…} acks sent; {@code A consumer seq…} acks confirmed.
 */
public final class KillNineDriver {

  static final String QUEUE = "kill";
  static final List<String> CONSUMERS = List.of("c1", "c2");
  static final int PRODUCERS = 4;

  private KillNineDriver() {}

  public static void main(String[] args) throws Exception {
    String mode = args[0];
    Path out = Path.of(args[1]);
    Config config = ConfigFactory.load(); // spool.data-dir and the journal come as -D properties
    JournalSchema.ensure(config);
    Spool spool = Spool.start(config);
    spool.ready().toCompletableFuture().get(60, TimeUnit.SECONDS);
    // Retention keeps acknowledged messages, so the check can see every confirmed one afterwards.
    spool.createQueue(QUEUE, QueueSettings.defaults().withDurability(Durability.PERSISTENT)
        .withRetention(Duration.ofHours(1))).toCompletableFuture().get(30, TimeUnit.SECONDS);
    List<QueueConsumer> consumers = new ArrayList<>();
    for (String name : CONSUMERS) {
      QueueConsumer c = spool.createConsumer(QUEUE, ConsumerSettings.named(name).prefetch(200));
      c.ready().toCompletableFuture().get(30, TimeUnit.SECONDS);
      consumers.add(c);
    }
    if (mode.equals("inspect")) {
      inspect(spool, out);
      spool.shutdown().toCompletableFuture().get(60, TimeUnit.SECONDS);
      System.exit(0);
    }
    Log log = new Log(out);
    for (int p = 0; p < PRODUCERS; p++) {
      QueuePublisher publisher = spool.createPublisher(QUEUE, "p" + p);
      String prefix = out.getFileName() + "-p" + p + "-";
      Thread t = new Thread(() -> produce(publisher, prefix, log), "producer-" + p);
      t.setDaemon(true);
      t.start();
    }
    for (QueueConsumer c : consumers) {
      Thread t = new Thread(() -> consume(c, log), "consumer-" + c.name());
      t.setDaemon(true);
      t.start();
    }
    System.out.println("READY");
    System.out.flush();
    Thread.sleep(Long.MAX_VALUE); // until killed
  }

  private static void produce(QueuePublisher publisher, String prefix, Log log) {
    long n = 0;
    while (true) {
      int size = ThreadLocalRandom.current().nextInt(1, 21);
      List<Message> batch = new ArrayList<>(size);
      List<String> payloads = new ArrayList<>(size);
      for (int i = 0; i < size; i++) {
        String payload = prefix + (n++);
        payloads.add(payload);
        batch.add(Message.text("t", payload));
      }
      try {
        List<Long> sequences = publisher.publishAll(batch).toCompletableFuture().get(30, TimeUnit.SECONDS);
        StringBuilder line = new StringBuilder();
        for (int i = 0; i < size; i++) {
          line.append("P ").append(sequences.get(i)).append(' ').append(payloads.get(i)).append('\n');
        }
        log.write(line.toString());
      } catch (Exception notConfirmed) {
        // not confirmed: the check makes no claim about it
      }
    }
  }

  private static void consume(QueueConsumer c, Log log) {
    while (true) {
      try {
        List<Delivery> got = c.readBatch(100, Duration.ofMillis(200)).toCompletableFuture().get(30, TimeUnit.SECONDS);
        if (got.isEmpty()) {
          continue;
        }
        StringBuilder delivered = new StringBuilder();
        StringBuilder seqs = new StringBuilder();
        List<Long> sequences = new ArrayList<>(got.size());
        for (Delivery d : got) {
          delivered.append("D ").append(c.name()).append(' ').append(d.sequence()).append(' ').append(d.attempt())
              .append('\n');
          seqs.append(' ').append(d.sequence());
          sequences.add(d.sequence());
        }
        log.write(delivered + "S " + c.name() + seqs + "\n");
        c.acknowledgeSequences(sequences).toCompletableFuture().get(30, TimeUnit.SECONDS);
        log.write("A " + c.name() + seqs + "\n");
      } catch (Exception e) {
        // a timed-out read or ack: go on; unconfirmed acks are only "sent"
      }
    }
  }

  private static void inspect(Spool spool, Path out) throws Exception {
    try (PrintStream w = new PrintStream(Files.newOutputStream(out), false, StandardCharsets.UTF_8)) {
      long from = 1;
      while (true) {
        List<Message> page = spool.browse(QUEUE, from, 10_000).toCompletableFuture().get(30, TimeUnit.SECONDS);
        if (page.isEmpty()) {
          break;
        }
        for (Message m : page) {
          w.append("M ").append(Long.toString(m.sequence())).append(' ').append(m.payloadAsString()).append('\n');
        }
        from = page.get(page.size() - 1).sequence() + 1;
      }
      for (String name : CONSUMERS) {
        long committed = spool.consumerInfo(QUEUE, name).toCompletableFuture().get(30, TimeUnit.SECONDS).committed();
        w.append("C ").append(name).append(' ').append(Long.toString(committed)).append('\n');
      }
      w.append("END\n");
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
