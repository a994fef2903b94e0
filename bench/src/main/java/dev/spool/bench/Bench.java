package dev.spool.bench;

import java.util.Arrays;
import java.util.List;

/**
 * Spool's benchmarks: {@code java -jar bench/target/spool-bench.jar <suite> [--quick]}. Suites:
 * {@code durable} (journal throughput, confirm latency and recovery; PostgreSQL too when
 * {@code SPOOL_BENCH_POSTGRES_URL} is set), {@code fanout} (in-JVM fan-out beside Disruptor,
 * blocking queues, BroadcastHub and actors) and {@code http} (the HTTP API under wrk on loopback
 * beside a minimal Pekko HTTP route; needs Debian's {@code wrk}). {@code --quick} runs a small
 * version of each figure.
 */
public final class Bench {

  private Bench() {}

  public static void main(String[] args) throws Exception {
    List<String> a = Arrays.asList(args);
    boolean quick = a.contains("--quick");
    String suite = a.stream().filter(s -> !s.startsWith("--")).findFirst().orElse("");
    try {
      switch (suite) {
        case "durable" -> new DurableBench(quick, System.getenv("SPOOL_BENCH_POSTGRES_URL")).run();
        case "fanout" -> new FanoutBench(quick).run();
        case "http" -> new HttpBench(quick).run();
        default -> {
          System.err.println("usage: java -jar spool-bench.jar durable|fanout|http [--quick]");
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
