package dev.spool.app.durability;

import static org.junit.jupiter.api.Assertions.assertTrue;

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
 * kill -9 on the PostgreSQL journal. Needs a PostgreSQL at {@code SPOOL_TEST_POSTGRES_URL}
 * (default {@code jdbc:postgresql://127.0.0.1:54329/spool}, user and password {@code spool}), which
 * {@code .ci/postgres} starts and {@code .ci/run} provides; skipped with a message when none answers.
 */
class KillNinePostgresTest {

  static final String URL = env("SPOOL_TEST_POSTGRES_URL", "jdbc:postgresql://127.0.0.1:54329/spool");
  static final String USER = env("SPOOL_TEST_POSTGRES_USER", "spool");
  static final String PASSWORD = env("SPOOL_TEST_POSTGRES_PASSWORD", "spool");

  private static String env(String name, String otherwise) {
    String v = System.getenv(name);
    return v == null || v.isBlank() ? otherwise : v;
  }

  /** Requires a reachable PostgreSQL and empties Spool's tables in it, so each run starts afresh. */
  @BeforeEach
  void freshDatabase() {
    try (Connection c = DriverManager.getConnection(URL, USER, PASSWORD); Statement s = c.createStatement()) {
      s.execute("DROP TABLE IF EXISTS event_tag, event_journal, snapshot");
    } catch (SQLException e) {
      Assumptions.abort("no PostgreSQL at " + URL + " (" + e.getMessage() + "); run .ci/postgres to start one,"
          + " or set SPOOL_TEST_POSTGRES_URL");
    }
  }

  private static List<String> postgres() {
    String db = "-Dpekko-persistence-jdbc.shared-databases.postgres.db.";
    return List.of("-Dspool.journal.database=postgres", db + "url=" + URL, db + "user=" + USER,
        db + "password=" + PASSWORD);
  }

  @Test
  void confirmedPublishesAndAcksSurviveThreeKills() throws Exception {
    KillNine k = new KillNine(KillNine.workDirectory("postgres-3"), postgres());
    k.run(3);
    System.out.println("kill -9 on PostgreSQL, 3 rounds: " + k);
    assertTrue(k.confirmedPublishes() > 1000, "publishes confirmed before the kills: " + k.confirmedPublishes());
    assertTrue(k.confirmedAcks() > 100, "acks confirmed before the kills: " + k.confirmedAcks());
  }

  @Test
  @Tag("slow")
  void confirmedPublishesAndAcksSurviveTenKills() throws Exception {
    KillNine k = new KillNine(KillNine.workDirectory("postgres-10"), postgres());
    k.run(10);
    System.out.println("kill -9 on PostgreSQL, 10 rounds: " + k);
    assertTrue(k.deliveriesAfterRestart() > 0, "consumers went on after the restarts");
  }
}
