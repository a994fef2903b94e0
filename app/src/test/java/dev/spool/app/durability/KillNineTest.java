package dev.spool.app.durability;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.app.durability.KillNineDriver.Sizes;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * kill -9 on the embedded journal, configured as the service configures it by default: an
 * embedded Spool in a child JVM, killed with SIGKILL at random moments while producers publish
 * with confirmations and consumers acknowledge, restarted on the same data directory each time
 * (see {@link KillNine} for what is checked).
 */
class KillNineTest {

  /** The default run's short version: 1 KiB and 64 KiB messages mixed. */
  @Test
  void confirmedPublishesAndAcksSurviveSevenKills() throws Exception {
    KillNine k = new KillNine("embedded-mixed-7", List.of(), Sizes.MIXED).run(7);
    assertHeld(k);
  }

  @Test
  @Tag("slow")
  void confirmedPublishesAndAcksOf1KiBSurviveFiftyKills() throws Exception {
    assertHeld(new KillNine("embedded-1k-50", List.of(), Sizes.SMALL).run(50));
  }

  @Test
  @Tag("slow")
  void confirmedPublishesAndAcksOf64KiBSurviveFiftyKills() throws Exception {
    assertHeld(new KillNine("embedded-64k-50", List.of(), Sizes.LARGE).run(50));
  }

  /** Every promise held, and the run did enough for that to mean something. */
  static void assertHeld(KillNine k) {
    System.out.println(k);
    assertTrue(k.problems().isEmpty(), k.toString());
    assertTrue(k.confirmedPublishes() > 500, "publishes confirmed before the kills: " + k);
    assertTrue(k.confirmedAcks() > 500, "acks confirmed before the kills: " + k);
    assertTrue(k.deliveriesAfterRestart() > 0, "consumers went on after the restarts: " + k);
    assertTrue(k.snapshots() > 0 && k.deletions() > 0, "snapshots were saved and events deleted: " + k);
  }
}
