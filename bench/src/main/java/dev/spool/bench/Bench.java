package dev.spool.bench;

import java.util.Arrays;
import java.util.List;

/**
 * Spool's benchmarks: {@code java -jar bench/target/spool-bench.jar <suite> [--quick]}. Suites:
 * {@code fanout} (in-JVM fan-out and latency at fixed rates beside Disruptor, blocking queues,
 * BroadcastHub and actors), {@code durable} (journal throughput, confirm latency and recovery
 * beside the database's JDBC ceiling and Redis Streams; PostgreSQL too when
 * {@code SPOOL_BENCH_POSTGRES_URL} is set, Redis when {@code redis-server} is installed; then
 * tiered storage in a 512 MiB child JVM (alone with {@code --tiered}, left out with {@code --no-tiered}): read-back of a backlog larger
 * than the heap, tail latency beside a backlog reader, publishes with tiering on and off),
 * {@code queues} (1, 10 and 100 busy queues in one engine, aggregate delivered msgs/s),
 * {@code fanout+queues} (both in one run), {@code scale} (fan-out to up to 10,000 consumers of one queue, heap per idle queue, per idle
 * consumer and per retained message) and {@code http} (wrk against the service beside a minimal
 * Pekko HTTP route), {@code poison} (handler throughput with 1 % poison messages beside none) and
 * {@code filter} (a consumer filter's cost per message: exact match beside CEL expressions) and
 * {@code push} (push consumers' throughput to a loopback receiver with 1 and 100 requests in
 * flight, and their publish-to-receive latency at a steady rate).
 * {@code redis} (the Redis Streams endpoint beside {@code redis-server}: {@code XADD} through
 * {@code redis-benchmark}, transient and persistent, and a consumer group's read and ack through Lettuce).
 * {@code cluster} (the HTTP service standalone, as a one-member and as a three-member cluster, each
 * member a JVM of its own; needs {@code SPOOL_BENCH_POSTGRES_URL}).
 * {@code --quick} runs a small version of each figure. {@code docs} rewrites
 * {@code docs/benchmarks.md} from the latest full results.
 */
public final class Bench {

  private Bench() {}

  public static void main(String[] args) throws Exception {
    List<String> a = Arrays.asList(args);
    boolean quick = a.contains("--quick");
    String suite = a.stream().filter(s -> !s.startsWith("--")).findFirst().orElse("");
    try {
      switch (suite) {
        case "durable" -> {
          String postgres = System.getenv("SPOOL_BENCH_POSTGRES_URL");
          if (!a.contains("--tiered")) {
            new DurableBench(quick, postgres).run();
          }
          if (!a.contains("--no-tiered")) {
            TieredBench.run(quick, postgres);
          }
        }
        case "fanout" -> new FanoutBench(quick).run();
        case "queues" -> new QueuesBench(quick).run();
        case "fanout+queues" -> { // side by side in one run, as docs/benchmarks.md shows them
          new FanoutBench(quick).run();
          new QueuesBench(quick).run();
        }
        case "scale" -> new ScaleBench(quick).run();
        case "http" -> new HttpBench(quick).run();
        case "poison" -> PoisonBench.run(quick);
        case "filter" -> FilterBench.run(quick);
        case "push" -> PushBench.run(quick);
        case "redis" -> new RedisBench(quick).run();
        case "cluster" -> new ClusterBench(quick, System.getenv("SPOOL_BENCH_POSTGRES_URL")).run();
        case "docs" -> Docs.write();
        default -> {
          System.err.println("usage: java -jar spool-bench.jar fanout|queues|fanout+queues|durable [--tiered|--no-tiered]|scale|http|poison|filter|push|redis|cluster|docs [--quick]");
          System.exit(2);
        }
      }
    } catch (Exception e) {
      e.printStackTrace();
      System.exit(1); // the actor systems' threads would keep a failed run alive
    }
    System.exit(0);
  }
}
