package dev.spool.bench;

import com.typesafe.config.ConfigFactory;
import dev.spool.Backoff;
import dev.spool.ConsumerInfo;
import dev.spool.ConsumerSettings;
import dev.spool.Message;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import dev.spool.Subscription;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.Done;

/**
 * Handler throughput with and without poison messages: a handler subscription (parallelism 8)
 * consumes N messages; in the poison runs 1 % of them always throw, are retried after the backoff
 * and dead-lettered after 3 attempts. Reported: healthy messages handled per second, from the first
 * publish to the last healthy ack, median of three runs each.
 *
 * <p>Run: {@code java -jar bench/target/spool-bench.jar poison [--quick]}.
 */
public final class PoisonBench {

  private static final int PARALLELISM = Integer.getInteger("parallelism", 8);

  private PoisonBench() {}

  static void run(boolean quick) throws Exception {
    int messages = quick ? 20_000 : 200_000;
    Spool spool = Spool.start(ConfigFactory.parseString("pekko.loglevel = WARNING").withFallback(ConfigFactory.load()));
    run(spool, "warmup", messages / 2, false);
    double[] healthy = new double[3];
    double[] poison = new double[3];
    for (int i = 0; i < 3; i++) {
      healthy[i] = run(spool, "healthy-" + i, messages, false);
      poison[i] = run(spool, "poison-" + i, messages, true);
    }
    Arrays.sort(healthy);
    Arrays.sort(poison);
    System.out.printf("median: healthy %,.0f msgs/s, with 1%% poison %,.0f healthy msgs/s: factor %.2f%n",
        healthy[1], poison[1], healthy[1] / poison[1]);
    spool.shutdown().toCompletableFuture().join();
  }

  private static double run(Spool spool, String name, int messages, boolean withPoison) throws Exception {
    String q = "poison-smoke-" + name;
    spool.createQueue(q, QueueSettings.defaults().withDeadLetter(q + "-dlq", 3)).toCompletableFuture().join();
    var consumer = spool.createConsumer(q, ConsumerSettings.named("worker").prefetch(1000)
        .backoff(Backoff.exponential(Duration.ofMillis(10), Duration.ofMillis(100), 2.0, 0.2)));
    consumer.ready().toCompletableFuture().join();
    int healthyCount = withPoison ? messages - messages / 100 : messages;
    AtomicLong handled = new AtomicLong();
    CompletableFuture<Long> allHealthy = new CompletableFuture<>();
    CompletableFuture<Done> ok = CompletableFuture.completedFuture(Done.getInstance());
    long[] t0 = new long[1];
    Subscription subscription = consumer.subscribe(d -> {
      if (withPoison && d.sequence() % 100 == 0) {
        throw new IllegalStateException("poison");
      }
      if (handled.incrementAndGet() == healthyCount) {
        allHealthy.complete(System.nanoTime());
      }
      return ok;
    }, PARALLELISM, spool.settings().handler().withDispatcher("pekko.actor.default-dispatcher"));
    subscription.ready().toCompletableFuture().join();
    byte[] payload = new byte[100];
    var publisher = spool.createPublisher(q, "p");
    t0[0] = System.nanoTime();
    List<Message> batch = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      batch.add(Message.of("t", payload));
    }
    for (int i = 0; i < messages; i += 1000) {
      publisher.publishAll(batch).toCompletableFuture().join();
    }
    double publishSeconds = (System.nanoTime() - t0[0]) / 1e9;
    double seconds = (allHealthy.get() - t0[0]) / 1e9;
    double rate = healthyCount / seconds;
    while (true) { // let the poison messages reach the dead-letter queue before the next run
      ConsumerInfo info = consumer.info().toCompletableFuture().join();
      if (info.lag() == 0) {
        System.out.printf("%-10s %,d healthy in %.2f s (published in %.2f s): %,.0f msgs/s; dead-lettered %d, "
            + "errors %d%n", name, healthyCount, seconds, publishSeconds, rate, info.counters().deadLettered(),
            info.counters().errors());
        break;
      }
      Thread.sleep(50);
    }
    subscription.cancel().toCompletableFuture().join();
    spool.deleteQueue(q).toCompletableFuture().join();
    spool.deleteQueue(q + "-dlq").toCompletableFuture().join();
    return rate;
  }
}
