package dev.spool.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Writes {@code docs/benchmarks.md} from the latest full run of each suite
 * ({@code bench/results/<suite>.md}), so that the page always shows figures a run produced and
 * never a hand-copied table. Charts are linked where the runs drew them.
 */
final class Docs {

  static final List<String> SUITES = List.of("fanout", "queues", "durable", "durable-tiered", "scale", "http",
      "redis");

  private Docs() {}

  static void write() throws IOException {
    Path results = Path.of("bench", "results");
    if (!Files.isDirectory(results)) {
      throw new IllegalStateException("run from the repository's root, after the suites: no bench/results/");
    }
    StringBuilder md = new StringBuilder("""
        # Benchmarks

        Spool measured beside the queues users would pick instead, each suite in one run on one
        machine, so that ratios hold even where the machine is noisy. Each figure is the median of
        its runs, with the lowest and highest in brackets. The targets are those set for Spool
        beside its peers; each suite's notes say which were met and which were not. The machine has 2 cores,
        shared with other builds while these ran: `fanout` and `queues` give the load average when
        they started, and were run together (`fanout+queues`); compare rows of one suite, not suites.
        The collector decides the tail latencies: on this machine G1's young pauses (median 11 ms,
        up to 100 ms while other builds ran) put p99 publish→deliver at 100,000 msgs/s at 5–200 ms
        for every system, Disruptor and BroadcastHub included, while with ZGC (JDK 17's, not
        generational) Spool's p99 there is under 1 ms with ack none and about 2 ms with explicit acks
        (the fanout tables below); so `fanout` runs with `-XX:+UseZGC`, and each suite names its
        collector. The service itself keeps the JVM's default collector: ZGC's concurrent work costs
        throughput, and on JDK 17 it is not generational; measure before choosing it.

        Rerun (from the repository's root, with a JDK 17 and Maven):

        ```
        mvn -B -q -DskipTests package
        java -jar bench/target/spool-bench.jar fanout     # in-JVM fan-out and latency
        java -jar bench/target/spool-bench.jar queues     # 1, 10 and 100 busy queues
        java -XX:+UseZGC -jar bench/target/spool-bench.jar fanout+queues  # both in one run, as below
        SPOOL_BENCH_POSTGRES_URL=$(.ci/postgres) java -jar bench/target/spool-bench.jar durable
        SPOOL_BENCH_POSTGRES_URL=$(.ci/postgres) java -jar bench/target/spool-bench.jar durable --tiered  # tiered storage only
        SPOOL_BENCH_POSTGRES_URL=$(.ci/postgres) java -jar bench/target/spool-bench.jar durable --no-tiered  # all but tiered storage
        java -jar bench/target/spool-bench.jar scale
        java -jar bench/target/spool-bench.jar http       # needs wrk (apt-get install wrk)
        java -Xmx512m -jar bench/target/spool-bench.jar redis  # the Redis Streams endpoint beside redis-server
        java -jar bench/target/spool-bench.jar docs       # rewrites this page from bench/results/
        ```

        `durable` compares Redis Streams when `redis-server` is installed (`apt-get install
        redis-server`; the suite starts and stops its own) and PostgreSQL when
        `SPOOL_BENCH_POSTGRES_URL` is set (`.ci/postgres` starts a throwaway one). `--quick` runs a
        short version of any suite in under a minute, written to `bench/results/quick/`. `durable`
        ends with tiered storage (`durable-tiered` below) in a child JVM with a 512 MiB heap, so that
        its 1 GiB backlog is larger than the heap; `SPOOL_BENCH_BACKLOG_MIB` sets another backlog and
        `SPOOL_BENCH_JVM_OPTS` adds options to that JVM (a flight recording, for one). `redis` drives
        Spool's Redis Streams endpoint and a `redis-server` it starts with the same clients:
        `redis-benchmark` for `XADD` and Lettuce for a consumer group's reads and acks (`apt-get install
        redis-server redis-tools`); without `redis-server` it measures Spool alone, without
        `redis-benchmark` it skips `XADD`.

        """);
    for (String suite : SUITES) {
      Path file = results.resolve(suite + ".md");
      if (!Files.exists(file)) {
        md.append("## ").append(suite).append("\n\nNot run yet: `java -jar bench/target/spool-bench.jar ")
            .append(suite.equals("durable-tiered") ? "durable --tiered" : suite).append("`.\n\n");
        continue;
      }
      // one level down: the suite's title becomes a section, its tables subsections
      for (String line : Files.readAllLines(file)) {
        if (line.startsWith("#")) {
          line = "#" + line;
        }
        if (line.startsWith("![")) {
          line = line.replace("](", "](../bench/results/");
        }
        md.append(line).append('\n');
      }
      md.append('\n');
    }
    Path out = Path.of("docs", "benchmarks.md");
    Files.createDirectories(out.getParent());
    Files.writeString(out, md);
    System.out.println("written: " + out.toAbsolutePath());
  }
}
