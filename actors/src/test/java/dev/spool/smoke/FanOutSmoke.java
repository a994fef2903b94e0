package dev.spool.smoke;

import com.typesafe.config.ConfigFactory;
import dev.spool.AckMode;
import dev.spool.ConsumerSettings;
import dev.spool.Message;
import dev.spool.QueueConsumer;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;

/**
 * In-JVM fan-out smoke run (not a test, not the benchmark: the {@code bench} module will hold those):
 * one producer, C consumers on streams, 100-byte payloads, ack mode none and explicit batched acks.
 *
 * <p>Run: {@code mvn -B -q -pl actors test-compile dependency:build-classpath -Dmdep.outputFile=/tmp/cp.txt
 * -Dmdep.includeScope=test && java -Xmx4g -cp "actors/target/classes:actors/target/test-classes:$(cat /tmp/cp.txt)"
 * dev.spool.smoke.FanOutSmoke [messages] [consumers] [source|batches] [explicit]}
 */
public final class FanOutSmoke {

  private FanOutSmoke() {}

  public static void main(String[] args) {
    int messages = args.length > 0 ? Integer.parseInt(args[0]) : 1_000_000;
    int consumers = args.length > 1 ? Integer.parseInt(args[1]) : 4;
    batched = args.length > 2 && args[2].equals("batches");
    Spool spool = Spool.start(ConfigFactory.parseString("pekko.loglevel = WARNING").withFallback(ConfigFactory.load()));
    boolean explicitOnly = args.length > 3 && args[3].equals("explicit");
    run(spool, "warmup", messages / 4, consumers, explicitOnly ? AckMode.EXPLICIT : AckMode.NONE);
    for (int i = 0; i < (explicitOnly ? 0 : 3); i++) {
      run(spool, "none-" + i, messages, consumers, AckMode.NONE);
    }
    for (int i = 0; i < 3; i++) {
      run(spool, "explicit-" + i, messages, consumers, AckMode.EXPLICIT);
    }
    spool.shutdown().toCompletableFuture().join();
    System.exit(0);
  }

  /** Consumers on {@code batches()} instead of {@code source()}. */
  private static boolean batched;

  private static void run(Spool spool, String name, int messages, int consumers, AckMode mode) {
    String q = "fanout-" + name;
    spool.createQueue(q, QueueSettings.defaults()).toCompletableFuture().join();
    List<CompletableFuture<?>> done = new ArrayList<>();
    for (int c = 0; c < consumers; c++) {
      QueueConsumer consumer = spool.createConsumer(q, ConsumerSettings.named("c" + c).ackMode(mode).prefetch(1000));
      consumer.ready().toCompletableFuture().join();
      if (batched) {
        int[] seen = {0};
        var batches = consumer.batches().map(b -> {
          seen[0] += b.size();
          return b;
        });
        if (mode == AckMode.EXPLICIT) {
          batches = batches.mapAsync(1, b -> consumer.acknowledgeBatch(b).thenApply(n -> b));
        }
        done.add(batches.takeWhile(b -> seen[0] < messages, true).runWith(Sink.ignore(), spool.system())
            .toCompletableFuture());
        continue;
      }
      var source = consumer.source().take(messages);
      done.add((mode == AckMode.NONE
          ? source.runWith(Sink.ignore(), spool.system())
          : source.grouped(200).mapAsync(1, consumer::acknowledgeBatch).runWith(Sink.ignore(), spool.system()))
          .toCompletableFuture());
    }
    byte[] payload = new byte[100];
    com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    long cpu0 = os.getProcessCpuTime();
    long t0 = System.nanoTime();
    Source.range(1, messages).map(i -> Message.of("t", payload))
        .runWith(spool.createPublisher(q, "p").sink(), spool.system()).toCompletableFuture().join();
    double publishSeconds = (System.nanoTime() - t0) / 1e9;
    CompletableFuture.allOf(done.toArray(CompletableFuture[]::new)).join();
    double seconds = (System.nanoTime() - t0) / 1e9;
    double cpuPerDelivery = (os.getProcessCpuTime() - cpu0) / ((double) messages * consumers);
    System.out.printf("%-11s %,d msgs x %d consumers: published %,.0f msgs/s, delivered %,.0f deliveries/s,"
            + " %.0f CPU ns per delivery%n",
        name, messages, consumers, messages / publishSeconds, (double) messages * consumers / seconds, cpuPerDelivery);
    spool.deleteQueue(q).toCompletableFuture().join();
  }
}
