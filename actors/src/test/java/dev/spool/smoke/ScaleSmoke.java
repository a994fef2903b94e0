package dev.spool.smoke;

import com.typesafe.config.ConfigFactory;
import dev.spool.AckMode;
import dev.spool.ConsumerSettings;
import dev.spool.Message;
import dev.spool.QueueConsumer;
import dev.spool.QueuePublisher;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.stream.javadsl.Source;

/**
 * A scale smoke run (not a test, not a benchmark): heap per idle queue, per consumer and per
 * retained message. The {@code bench} module will hold the real, repeatable measurements.
 *
 * <p>Run: {@code mvn -B -q -pl actors test-compile dependency:build-classpath -Dmdep.outputFile=/tmp/cp.txt
 * -Dmdep.includeScope=test && java -Xmx4g -cp "actors/target/classes:actors/target/test-classes:$(cat /tmp/cp.txt)"
 * dev.spool.smoke.ScaleSmoke}
 */
public final class ScaleSmoke {

  private ScaleSmoke() {}

  public static void main(String[] args) throws Exception {
    Spool spool = Spool.start(ConfigFactory.parseString("pekko.loglevel = WARNING").withFallback(ConfigFactory.load()));
    long base = usedHeap();

    int queues = 10_000;
    awaitAll(queues, i -> spool.createQueue("idle-" + i, QueueSettings.defaults()));
    long afterQueues = usedHeap();
    System.out.printf("%,d idle queues: %,d bytes of heap each (%,.1f MB in all)%n",
        queues, (afterQueues - base) / queues, (afterQueues - base) / 1e6);

    int consumers = 10_000;
    spool.createQueue("wide", QueueSettings.defaults()).toCompletableFuture().join();
    awaitAll(consumers, i -> spool.createConsumer("wide", ConsumerSettings.named("c" + i).ackMode(AckMode.NONE)).ready());
    long afterConsumers = usedHeap();
    System.out.printf("%,d consumers on one queue: %,d bytes of heap each (%,.1f MB in all)%n",
        consumers, (afterConsumers - afterQueues) / consumers, (afterConsumers - afterQueues) / 1e6);

    // Every consumer of the wide queue reads 100 messages: fan-out to 10,000 cursors.
    QueuePublisher wide = spool.createPublisher("wide", "p");
    byte[] payload = new byte[100];
    long t0 = System.nanoTime();
    wide.publishAll(java.util.Collections.nCopies(100, Message.of("t", payload))).toCompletableFuture().join();
    List<QueueConsumer> handles = new ArrayList<>();
    for (int i = 0; i < consumers; i++) {
      handles.add(spool.createConsumer("wide", ConsumerSettings.named("c" + i).ackMode(AckMode.NONE)));
    }
    awaitAll(consumers, i -> handles.get(i).readBatch(100));
    double seconds = (System.nanoTime() - t0) / 1e9;
    System.out.printf("10,000 consumers x 100 messages by pull reads: %,.0f deliveries/s%n", consumers * 100 / seconds);

    int messages = 1_000_000;
    spool.createQueue("retained", QueueSettings.defaults()).toCompletableFuture().join();
    long beforeMessages = usedHeap();
    Source.range(1, messages).map(i -> Message.of("t", new byte[100]))
        .runWith(spool.createPublisher("retained", "p").sink(), spool.system())
        .toCompletableFuture().join();
    long afterMessages = usedHeap();
    long depth = spool.queueStats("retained").toCompletableFuture().join().depth();
    System.out.printf("%,d retained 100-byte messages: %,d bytes of heap each, %,d beyond the payload%n",
        depth, (afterMessages - beforeMessages) / depth, (afterMessages - beforeMessages) / depth - 100);

    spool.shutdown().toCompletableFuture().join();
    System.exit(0);
  }

  private static void awaitAll(int n, java.util.function.IntFunction<CompletionStage<?>> call) {
    int chunk = 1000;
    for (int from = 0; from < n; from += chunk) {
      List<CompletableFuture<?>> batch = new ArrayList<>();
      for (int i = from; i < Math.min(n, from + chunk); i++) {
        batch.add(call.apply(i).toCompletableFuture());
      }
      CompletableFuture.allOf(batch.toArray(CompletableFuture[]::new)).join();
    }
  }

  private static long usedHeap() throws InterruptedException {
    Runtime rt = Runtime.getRuntime();
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(200);
    }
    return rt.totalMemory() - rt.freeMemory();
  }
}
