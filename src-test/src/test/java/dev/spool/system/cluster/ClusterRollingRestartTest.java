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
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A rolling restart under load: each of three members in turn gets SIGTERM (the service's graceful
 * stop: it leaves the cluster and sharding hands its queues over), is started again and rejoins,
 * while producers and consumers go on through every member. Nothing confirmed may be lost, no
 * confirmed acknowledgement delivered again, and every queue must serve after each restart.
 */
@Tag("slow")
class ClusterRollingRestartTest {

  static final int QUEUES = 12;

  @BeforeEach
  void postgres() throws Exception {
    ClusterNodes.requirePostgres();
  }

  @Test
  void restartingEveryMemberInTurnLosesNothingConfirmed() throws Exception {
    try (ClusterNodes nodes = new ClusterNodes("rolling", 3)) {
      nodes.startAll();
      ClusterLoad load = new ClusterLoad(nodes, QUEUES, 5, Duration.ofMillis(250));
      load.createQueues();
      load.start();
      Thread.sleep(10_000);
      List<String> steps = new ArrayList<>();
      boolean servedAfterEach = true;
      for (int i = 0; i < nodes.size(); i++) {
        Set<String> hosted = load.ofThese(nodes.hostedBy(i));
        long before = System.nanoTime();
        load.disrupted(Set.of(i));
        nodes.terminate(i, Duration.ofSeconds(60));
        long stoppedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - before);
        boolean served = load.awaitServedAgain(Duration.ofSeconds(60));
        servedAfterEach &= served;
        List<Long> times = hosted.stream().map(q -> load.servedAgainMillis().get(q)).filter(m -> m != null).toList();
        nodes.start(i);
        nodes.awaitReady(i);
        long rejoinedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - before);
        steps.add("member " + i + " (" + hosted.size() + " queues): stopped in " + stoppedMillis + " ms, its queues"
            + " served again after " + ClusterFailoverTest.stats(times) + (served ? "" : " (NOT ALL)")
            + ", ready again after " + rejoinedMillis + " ms");
        Thread.sleep(8_000); // load with every member up before the next restart
      }
      boolean drained = load.drain(Duration.ofSeconds(60), 0);
      String undrained = drained ? "" : load.undrained(0);
      load.stop();
      load.verify(0, "while running");
      // What the members confirmed must be what the journal holds: every queue recovers from it alone.
      nodes.restartAll();
      boolean recovered = load.awaitQueues(0, Duration.ofSeconds(90));
      load.verify(0, "after recovering from the journal");
      Files.write(nodes.dir().resolve("problems.txt"), load.problems());
      String report = "cluster rolling restart: " + String.join("; ", steps) + "\n" + load.summary();
      System.out.println(report);
      Files.writeString(Path.of("target", "cluster", "rolling-restart.txt"), report + "\n", StandardCharsets.UTF_8,
          StandardOpenOption.CREATE, StandardOpenOption.APPEND);

      assertTrue(servedAfterEach, "some queue did not serve again within 60 s of a restart: " + steps);
      assertTrue(drained, "the consumers did not acknowledge every confirmed message within 60 s; logs in " + nodes.dir()
          + undrained);
      assertTrue(recovered, "not every queue served after the restart of all members; logs in " + nodes.dir());
      assertEquals(List.of(), load.problems(), "logs in " + nodes.dir());
      assertEquals(List.of(), nodes.grepAll(ClusterNodes.JOURNAL_CONFLICTS), "journal conflicts");
    }
  }
}
