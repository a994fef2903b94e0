package dev.spool.system.durability;

import static dev.spool.system.durability.KillNineTest.assertHeld;

import dev.spool.system.durability.KillNineDriver.Sizes;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * kill -9 on the PostgreSQL journal (see {@link KillNine}). Needs a PostgreSQL at
 * {@code SPOOL_TEST_POSTGRES_URL} (user and password {@code spool} unless
 * {@code SPOOL_TEST_POSTGRES_USER} and {@code SPOOL_TEST_POSTGRES_PASSWORD} say otherwise):
 * {@code export SPOOL_TEST_POSTGRES_URL=$(.ci/postgres)} starts one, and {@code .ci/run} does so
 * itself. Skipped with a message when the variable is not set.
 */
class KillNinePostgresTest {

  static final String URL = System.getenv("SPOOL_TEST_POSTGRES_URL");
  static final String USER = env("SPOOL_TEST_POSTGRES_USER", "spool");
  static final String PASSWORD = env("SPOOL_TEST_POSTGRES_PASSWORD", "spool");

  private static String env(String name, String otherwise) {
    String v = System.getenv(name);
    return v == null || v.isBlank() ? otherwise : v;
  }

  /** Requires a PostgreSQL and empties Spool's tables in it, so each run starts afresh. */
  @BeforeEach
  void freshDatabase() throws SQLException {
    Assumptions.assumeTrue(URL != null && !URL.isBlank(), "SPOOL_TEST_POSTGRES_URL is not set: the kill -9 test"
        + " on PostgreSQL is skipped (export SPOOL_TEST_POSTGRES_URL=$(.ci/postgres) to run it)");
    try (Connection c = DriverManager.getConnection(URL, USER, PASSWORD); Statement s = c.createStatement()) {
      s.execute("DROP TABLE IF EXISTS event_tag, event_journal, snapshot");
    }
  }

  private static List<String> postgres() {
    String db = "-Dpekko-persistence-jdbc.shared-databases.postgres.db.";
    return List.of("-Dspool.journal.database=postgres", db + "url=" + URL, db + "user=" + USER,
        db + "password=" + PASSWORD);
  }

  /**
   * The default run's short version: 1 KiB and 64 KiB messages mixed, with two journal writes under
   * way per queue (PostgreSQL commits them as independent transactions).
   */
  @Test
  void confirmedPublishesAndAcksSurviveSixKills() throws Exception {
    assertHeld(new KillNine("postgres-mixed-two-writes", twoWrites(postgres()), Sizes.MIXED).run(6), 1);
  }

  @Test
  @Tag("slow")
  void confirmedPublishesAndAcksOf1KiBSurviveFiftyKills() throws Exception {
    int cycles = KillNine.slowCycles();
    assertHeld(new KillNine("postgres-1k-two-writes", twoWrites(postgres()), Sizes.SMALL).run(cycles), cycles / 5);
  }

  private static List<String> twoWrites(List<String> options) {
    List<String> all = new java.util.ArrayList<>(options);
    all.add(KillNine.TWO_WRITES);
    return all;
  }

  @Test
  @Tag("slow")
  void confirmedPublishesAndAcksOf64KiBSurviveFiftyKills() throws Exception {
    int cycles = KillNine.slowCycles();
    assertHeld(new KillNine("postgres-64k", postgres(), Sizes.LARGE).run(cycles), cycles / 5);
  }
}
