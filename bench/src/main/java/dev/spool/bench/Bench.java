package dev.spool.bench;

import java.util.Arrays;
import java.util.List;

/**
 * Spool's benchmarks: {@code java -jar bench/target/spool-bench.jar <suite> [--quick]}. Suites:
 * {@code durable} (journal throughput, confirm latency and recovery; PostgreSQL too when
 * {@code SPOOL_BENCH_POSTGRES_URL} is set). {@code --quick} runs a small version of each figure.
 */
public final class Bench {

  private Bench() {}

  public static void main(String[] args) throws Exception {
    List<String> a = Arrays.asList(args);
    boolean quick = a.contains("--quick");
    String suite = a.stream().filter(s -> !s.startsWith("--")).findFirst().orElse("");
    switch (suite) {
      case "durable" -> new DurableBench(quick, System.getenv("SPOOL_BENCH_POSTGRES_URL")).run();
      default -> {
        System.err.println("usage: java -jar spool-bench.jar durable [--quick]");
        System.exit(2);
      }
    }
    System.exit(0);
  }
}
