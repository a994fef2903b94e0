package dev.spool.app.durability;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * kill -9 on the embedded H2 journal: an embedded Spool in a child JVM, killed with SIGKILL at a
 * random moment while producers publish with confirmations and consumers acknowledge, restarted on
 * the same data directory each time (see {@link KillNine} for what is checked).
 */
class KillNineTest {

  @Test
  void confirmedPublishesAndAcksSurviveThreeKills() throws Exception {
    KillNine k = new KillNine(KillNine.workDirectory("h2-3"), List.of());
    k.run(3);
    System.out.println("kill -9 on H2, 3 rounds: " + k);
    assertTrue(k.confirmedPublishes() > 1000, "publishes confirmed before the kills: " + k.confirmedPublishes());
    assertTrue(k.confirmedAcks() > 100, "acks confirmed before the kills: " + k.confirmedAcks());
  }

  @Test
  @Tag("slow")
  void confirmedPublishesAndAcksSurviveTenKills() throws Exception {
    KillNine k = new KillNine(KillNine.workDirectory("h2-10"), List.of());
    k.run(10);
    System.out.println("kill -9 on H2, 10 rounds: " + k);
    assertTrue(k.deliveriesAfterRestart() > 0, "consumers went on after the restarts");
  }
}
