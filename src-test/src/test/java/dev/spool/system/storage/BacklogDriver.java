package dev.spool.system.storage;

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
import dev.spool.StartPosition;
import dev.spool.app.JournalSchema;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The child JVM of {@link BacklogTest}: an embedded Spool configured as the service (its
 * application.conf, the embedded journal) in a small heap. {@code fill} publishes a backlog of 1 KiB
 * messages nobody reads, with confirmations; {@code read} reads it from {@code earliest}, checks
 * every payload and its order, acknowledges, and records in a file what was acknowledged (after the
 * acknowledgement was confirmed), so the test can kill it and check where it resumes;
 * {@code recover} only starts and reports how long recovery took.
 */
public final class BacklogDriver {

  static final String QUEUE = "backlog";
  static final String CONSUMER = "reader";
  static final int SIZE = 1024;

  private BacklogDriver() {}

  /** The payload of message {@code index} (0-based): its index, then bytes drawn from it. */
  static byte[] payload(long index) {
    byte[] bytes = new byte[SIZE];
    new SplittableRandom(index * 0x9E3779B97F4A7C15L).nextBytes(bytes);
    ByteBuffer.wrap(bytes).putLong(index);
    return bytes;
  }

  public static void main(String[] args) throws Exception {
    String mode = args[0];
    long messages = Long.parseLong(args[1]);
    Path acked = Path.of(args[2]);
    Config config = ConfigFactory.load();
    JournalSchema.ensure(config);
    Spool spool = Spool.start(config);
    // From the engine's start to its queues' recovery: not the JVM's or the actor system's start,
    // which do not depend on what is stored.
    long started = System.nanoTime();
    spool.ready().toCompletableFuture().get(300, TimeUnit.SECONDS);
    long recoveredMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
    spool.createQueue(QUEUE, QueueSettings.defaults().withDurability(Durability.PERSISTENT)
            .withMaxBytes(4L << 30))
        .toCompletableFuture().get(60, TimeUnit.SECONDS);
    var info = spool.queueInfo(QUEUE).toCompletableFuture().get(60, TimeUnit.SECONDS);
    System.out.println("RECOVERED " + recoveredMillis + " ms, " + info.stats().depth() + " messages");
    switch (mode) {
      case "fill" -> fill(spool, messages);
      case "read" -> read(spool, messages, acked);
      case "recover" -> { }
      default -> throw new IllegalArgumentException(mode);
    }
    spool.shutdown().toCompletableFuture().get(120, TimeUnit.SECONDS);
    System.out.println("DONE");
    System.exit(0);
  }

  private static void fill(Spool spool, long messages) throws Exception {
    QueuePublisher publisher = spool.createPublisher(QUEUE, "filler");
    long started = System.nanoTime();
    int batch = 256;
    for (long i = 0; i < messages; i += batch) {
      List<Message> out = new ArrayList<>(batch);
      for (long j = i; j < Math.min(messages, i + batch); j++) {
        out.add(Message.of("backlog", payload(j)));
      }
      publisher.publishAll(out).toCompletableFuture().get(120, TimeUnit.SECONDS);
    }
    long millis = Math.max(1, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
    System.out.println("FILLED " + messages + " in " + millis + " ms (" + (messages * SIZE / 1024 / millis) + " MB/s)");
  }

  private static void read(Spool spool, long messages, Path acked) throws Exception {
    QueueConsumer consumer = spool.createConsumer(QUEUE,
        ConsumerSettings.named(CONSUMER).prefetch(2000).startAt(StartPosition.earliest()));
    consumer.ready().toCompletableFuture().get(60, TimeUnit.SECONDS);
    long expected = -1;
    long started = System.nanoTime();
    long read = 0;
    while (expected < messages - 1) {
      List<Delivery> got = consumer.readBatch(1000, Duration.ofSeconds(1)).toCompletableFuture()
          .get(60, TimeUnit.SECONDS);
      if (got.isEmpty()) {
        continue;
      }
      for (Delivery d : got) {
        byte[] p = d.message().payload();
        long index = ByteBuffer.wrap(p).getLong();
        if (expected < 0) {
          System.out.println("FIRST " + index);
        } else if (index != expected + 1) {
          System.out.println("OUT OF ORDER: " + index + " after " + expected);
          System.exit(3);
        }
        if (!Arrays.equals(p, payload(index))) {
          System.out.println("PAYLOAD DIFFERS at " + index);
          System.exit(4);
        }
        expected = index;
      }
      read += got.size();
      consumer.acknowledgeUpTo(got.get(got.size() - 1).sequence()).toCompletableFuture().get(60, TimeUnit.SECONDS);
      append(acked, expected);
    }
    long millis = Math.max(1, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started));
    System.out.println("READ " + read + " in " + millis + " ms (" + (read * 1000 / millis) + " msgs/s)");
  }

  private static void append(Path file, long index) {
    try {
      Files.writeString(file, index + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
