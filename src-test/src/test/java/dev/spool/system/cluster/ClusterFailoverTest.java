package dev.spool.system.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * kill -9 of a cluster member under load: three members (separate JVMs, one PostgreSQL journal), 30
 * persistent queues created through all three, a producer and a consumer per queue going through
 * every member in turn (see {@link ClusterLoad}). After {@value #LOAD_SECONDS} s the oldest member,
 * which also holds the queue directory and the shard coordinator, is killed with SIGKILL; the load
 * goes on through the two others. Then every confirmed message must be in its queue's log exactly
 * once, no confirmed acknowledgement may be delivered again, every consumer must resume after its
 * confirmed acknowledgements, and every queue must serve again. The time from the kill until each
 * queue served again is printed and written to {@code target/cluster/failover-times.txt}; only a
 * generous bound is asserted, the aim (15 s) is for the reader.
 */
class ClusterFailoverTest {

  static final int QUEUES = 30;
  static final int LOAD_SECONDS = 15;
  /** Far above the aim: a failure means a queue did not come back, not that failover was slow. */
  static final Duration SERVE_AGAIN_WITHIN = Duration.ofSeconds(60);

  @BeforeEach
  void postgres() throws Exception {
    ClusterNodes.requirePostgres();
  }

  @Test
  void killNineOfAMemberLosesNothingConfirmedAndItsQueuesServeAgain() throws Exception {
    try (ClusterNodes nodes = new ClusterNodes("failover", 3)) {
      nodes.startAll();
      ClusterLoad load = new ClusterLoad(nodes, QUEUES, 5, Duration.ofMillis(250));
      load.createQueues();
      load.start();
      Thread.sleep(LOAD_SECONDS * 1000L);
      int victim = 0;
      Set<String> hosted = load.ofThese(nodes.hostedBy(victim));
      long confirmedBefore = load.confirmedPublishes();
      long ackedBefore = load.confirmedAcks();
      nodes.kill9(victim);
      load.disrupted(Set.of(victim)); // from its death: a publish sent just before may still have been confirmed
      boolean served = load.awaitServedAgain(SERVE_AGAIN_WITHIN);
      Thread.sleep(5_000); // load on the survivors after the failover
      boolean drained = load.drain(Duration.ofSeconds(60), 1);
      String undrained = drained ? "" : load.undrained(1);
      load.stop();
      load.verify(1, "after the kill");

      Map<String, Long> times = load.servedAgainMillis();
      List<Long> ofVictim = new ArrayList<>();
      List<Long> others = new ArrayList<>();
      times.forEach((q, ms) -> (hosted.contains(q) ? ofVictim : others).add(ms));
      String report = "cluster failover (kill -9 of member " + victim + ", which hosted " + hosted.size()
          + " of " + QUEUES + " queues " + hosted + "; " + confirmedBefore + " publishes and " + ackedBefore
          + " acks confirmed before the kill): time from the kill until each queue served again: its queues "
          + stats(ofVictim) + ", the others " + stats(others) + "; all " + times + "\n" + load.summary();
      System.out.println(report);
      Files.write(nodes.dir().resolve("problems.txt"), load.problems());
      Files.writeString(Path.of("target", "cluster", "failover-times.txt"), report + "\n", StandardCharsets.UTF_8,
          StandardOpenOption.CREATE, StandardOpenOption.APPEND);

      assertTrue(served, "some queues did not serve again within " + SERVE_AGAIN_WITHIN + ": " + times
          + "; logs in " + nodes.dir());
      assertTrue(drained, "the consumers did not acknowledge every confirmed message within 60 s; logs in " + nodes.dir()
          + undrained);
      assertEquals(List.of(), load.problems(), "logs in " + nodes.dir());
      assertTrue(confirmedBefore > 0 && load.confirmedPublishes() > confirmedBefore, load.summary());
      assertEquals(List.of(), nodes.grepAll(ClusterNodes.JOURNAL_CONFLICTS), "journal conflicts");
    }
  }

  /** min / median / max of {@code millis}. */
  static String stats(List<Long> millis) {
    if (millis.isEmpty()) {
      return "none";
    }
    return "min " + millis.stream().mapToLong(Long::longValue).min().getAsLong() + " ms, median "
        + ClusterLoad.median(millis) + " ms, max " + millis.stream().mapToLong(Long::longValue).max().getAsLong()
        + " ms (" + millis.size() + ")";
  }
}
