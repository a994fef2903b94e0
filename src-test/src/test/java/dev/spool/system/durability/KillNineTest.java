package dev.spool.system.durability;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.spool.system.durability.KillNineDriver.Sizes;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * kill -9 on the service's default journal (the embedded SQLite file), configured as the service
 * configures it: an embedded Spool in a child JVM, killed with SIGKILL at random moments while producers publish
 * with confirmations and consumers acknowledge, restarted on the same data directory each time
 * (see {@link KillNine} for what is checked).
 */
class KillNineTest {

  /** The service's default journal, as its application.conf names it ("sqlite"). */
  static final String DEFAULT_JOURNAL = ConfigFactory.load().getString("spool.journal.database");

  /** The default run's short version: 1 KiB and 64 KiB messages mixed. */
  @Test
  void confirmedPublishesAndAcksSurviveSixKills() throws Exception {
    assertHeld(new KillNine(DEFAULT_JOURNAL + "-mixed", List.of(), Sizes.MIXED).run(6), 1);
  }

  /** With two journal writes under way per queue, so that kills land between a write and the one it follows. */
  @Test
  @Tag("slow")
  void confirmedPublishesAndAcksOf1KiBSurviveFiftyKills() throws Exception {
    int cycles = KillNine.slowCycles();
    assertHeld(new KillNine(DEFAULT_JOURNAL + "-1k-two-writes", List.of(KillNine.TWO_WRITES), Sizes.SMALL)
        .run(cycles), cycles / 5);
  }

  @Test
  @Tag("slow")
  void confirmedPublishesAndAcksOf64KiBSurviveFiftyKills() throws Exception {
    int cycles = KillNine.slowCycles();
    assertHeld(new KillNine(DEFAULT_JOURNAL + "-64k", List.of(), Sizes.LARGE).run(cycles), cycles / 5);
  }

  /**
   * Every promise held, and the run did enough for that to mean something: publishes, acks,
   * deliveries after restarts, and at least {@code snapshots} snapshots and half as many deletions.
   */
  static void assertHeld(KillNine k, int snapshots) {
    System.out.println(k);
    assertTrue(k.problems().isEmpty(), k.toString());
    assertTrue(k.confirmedPublishes() > 500, "publishes confirmed before the kills: " + k);
    assertTrue(k.confirmedAcks() > 500, "acks confirmed before the kills: " + k);
    assertTrue(k.deliveriesAfterRestart() > 0, "consumers went on after the restarts: " + k);
    assertTrue(k.snapshots() >= snapshots && k.deletions() >= Math.max(1, snapshots / 2),
        "snapshots were saved and events deleted: " + k);
  }
}
