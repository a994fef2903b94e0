package dev.spool.system.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
 * SIGSTOP of a cluster member under load for {@value #PAUSE_SECONDS} s, longer than the Split Brain
 * Resolver needs to down it and sharding to move its queues (failure detection, stable-after 4 s,
 * down-removal-margin 3 s), then SIGCONT: the member wakes up believing it still owns its queues,
 * with requests waiting in its sockets. It must not write as their owner again: it must find that
 * it was downed and stop (its process exits, or at least it is no longer ready). Nothing confirmed
 * may be lost and no journal write may conflict with the queues' new owners.
 */
@Tag("slow")
class ClusterPauseTest {

  static final int QUEUES = 12;
  static final int PAUSE_SECONDS = 25;
  /** How long the resumed member gets to notice it was downed and stop. */
  static final Duration STOPS_WITHIN = Duration.ofSeconds(45);

  @BeforeEach
  void postgres() throws Exception {
    ClusterNodes.requirePostgres();
  }

  @Test
  void aPausedMemberIsDownedAndNeverWritesAgain() throws Exception {
    try (ClusterNodes nodes = new ClusterNodes("pause", 3)) {
      nodes.startAll();
      ClusterLoad load = new ClusterLoad(nodes, QUEUES, 5, Duration.ofMillis(250));
      load.createQueues();
      load.start();
      Thread.sleep(10_000);
      int victim = 1;
      Set<String> hosted = load.ofThese(nodes.hostedBy(victim));
      nodes.pause(victim);
      load.disrupted(Set.of(victim));
      load.awaitServedAgain(Duration.ofSeconds(PAUSE_SECONDS));
      Thread.sleep(Math.max(0, TimeUnit.SECONDS.toMillis(PAUSE_SECONDS)
          - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - load.disruptedAt())));
      boolean servedWhilePaused = load.awaitServedAgain(Duration.ofSeconds(1));
      long resumedAt = System.nanoTime();
      nodes.resume(victim);

      // The resumed member must stop being a member: its process ends (CoordinatedShutdown) or it stops being ready.
      long deadline = resumedAt + STOPS_WITHIN.toNanos();
      boolean stopped = false;
      while (System.nanoTime() < deadline && !stopped) {
        stopped = !nodes.member(victim).alive() || nodes.ready(victim) == 503;
        Thread.sleep(200);
      }
      long stoppedAfterMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - resumedAt);
      Thread.sleep(2_000);
      String afterwards = nodes.member(victim).alive() ? "was still running, ready answering " + nodes.ready(victim)
          : "exited with " + nodes.member(victim).process.exitValue();
      Thread.sleep(5_000); // load goes on, through the survivors (and the resumed member, while it answers)
      boolean drained = load.drain(Duration.ofSeconds(60), 0);
      String undrained = drained ? "" : load.undrained(0);
      load.stop();
      load.verify(0, "while running");
      // What the members confirmed must be what the journal holds: every queue recovers from it alone.
      nodes.restartAll();
      boolean recovered = load.awaitQueues(0, Duration.ofSeconds(90));
      load.verify(0, "after recovering from the journal");
      Files.write(nodes.dir().resolve("problems.txt"), load.problems());

      List<String> downed = afterResume(nodes, victim, ClusterNodes.DOWNED);
      List<String> hostedAgain = afterResume(nodes, victim, " runs on this member");
      List<String> conflicts = nodes.grepAll(ClusterNodes.JOURNAL_CONFLICTS);
      String report = "cluster pause (SIGSTOP of member " + victim + " for " + PAUSE_SECONDS + " s, which hosted "
          + hosted.size() + " of " + QUEUES + " queues " + hosted + "): its queues served again on the others after "
          + ClusterFailoverTest.stats(hosted.stream().map(q -> load.servedAgainMillis().get(q)).filter(m -> m != null)
              .toList()) + " from the SIGSTOP; after SIGCONT the member stopped being ready after " + stoppedAfterMillis
          + " ms and 2 s later " + afterwards
          + "; its log after SIGCONT: " + downed.size() + " lines on being downed " + downed.stream().limit(5)
              .toList() + "\n" + load.summary();
      System.out.println(report);
      Files.writeString(Path.of("target", "cluster", "pause.txt"), report + "\n", StandardCharsets.UTF_8,
          StandardOpenOption.CREATE, StandardOpenOption.APPEND);

      assertTrue(stopped, "the resumed member still answers ready " + STOPS_WITHIN + " after SIGCONT; logs in "
          + nodes.dir());
      assertFalse(downed.isEmpty(), "the resumed member's log does not say it was downed; logs in " + nodes.dir());
      assertEquals(List.of(), hostedAgain, "queues started on the resumed member");
      assertEquals(List.of(), conflicts, "journal conflicts");
      assertTrue(drained, "the consumers did not acknowledge every confirmed message within 60 s; logs in " + nodes.dir()
          + undrained);
      assertTrue(recovered, "not every queue served after the restart of all members; logs in " + nodes.dir());
      assertEquals(List.of(), load.problems(), "logs in " + nodes.dir());
      assertTrue(servedWhilePaused, "the paused member's queues did not serve again on the others while it was"
          + " paused: " + load.servedAgainMillis() + " ms after the SIGSTOP; logs in " + nodes.dir());
    }
  }

  /** The lines of member {@code i}'s log after the harness's SIGCONT that contain any of {@code needles}. */
  private static List<String> afterResume(ClusterNodes nodes, int i, String... needles) throws Exception {
    List<String> lines = new ArrayList<>();
    boolean resumed = false;
    String[] withMark = new String[needles.length + 1];
    System.arraycopy(needles, 0, withMark, 0, needles.length);
    withMark[needles.length] = "==== harness: ";
    for (String line : nodes.grep(i, withMark)) {
      if (line.startsWith("==== harness: ")) {
        resumed = resumed || line.contains(" SIGCONT ");
      } else if (resumed) {
        lines.add(line);
      }
    }
    return lines;
  }
}
