package dev.spool.storage;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.journal.JournalUnavailableException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The segment table in PostgreSQL. Runs only when {@code SPOOL_TEST_POSTGRES_URL} names a
 * database (user and password {@code spool} unless {@code SPOOL_TEST_POSTGRES_USER} and
 * {@code SPOOL_TEST_POSTGRES_PASSWORD} say otherwise): {@code export SPOOL_TEST_POSTGRES_URL=$(.ci/postgres)}
 * starts one.
 */
class JdbcSegmentStoreTest extends SegmentStoreContract {

  static final String URL = System.getenv("SPOOL_TEST_POSTGRES_URL");
  static final String USER = env("SPOOL_TEST_POSTGRES_USER", "spool");
  static final String PASSWORD = env("SPOOL_TEST_POSTGRES_PASSWORD", "spool");

  private JdbcSegmentStore store;

  private static String env(String name, String otherwise) {
    String v = System.getenv(name);
    return v == null || v.isBlank() ? otherwise : v;
  }

  static JdbcSegmentStore jdbc(String url, int threads, int maxQueued) {
    return new JdbcSegmentStore(new JdbcSegmentStore.Settings(url, USER, PASSWORD, threads, maxQueued,
        Duration.ofSeconds(30)));
  }

  static Connection admin() throws Exception {
    return DriverManager.getConnection(URL, USER, PASSWORD);
  }

  @BeforeEach
  void open() {
    Assumptions.assumeTrue(URL != null && !URL.isBlank(), "SPOOL_TEST_POSTGRES_URL is not set: the PostgreSQL"
        + " segment store tests are skipped (export SPOOL_TEST_POSTGRES_URL=$(.ci/postgres) to run them)");
    store = jdbc(URL, 4, 100);
  }

  @AfterEach
  void close() {
    if (store != null) {
      store.close();
    }
  }

  @Override
  SegmentStore store() {
    return store;
  }

  @Test
  void aRowSurvivesClosingTheStoreAndItsTableIsCreatedOnce() throws Exception {
    String q = queue("orders");
    SegmentRow r = megabyte(q, 12);
    get(store.write(r));
    store.close();

    store = jdbc(URL, 2, 100); // CREATE TABLE IF NOT EXISTS again: finds it
    assertRow(r, get(store.read(q, 12)), true);
    assertEquals(1, get(store.list(q)).size());
  }

  @Test
  void theDataIsStoredAsItIsWithoutCompressingItAgain() throws Exception {
    String q = queue("orders");
    get(store.write(megabyte(q, 0)));
    try (Connection c = admin(); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT attstorage FROM pg_attribute WHERE attrelid = 'spool_segment'::regclass"
            + " AND attname = 'data'")) {
      assertTrue(rs.next());
      assertEquals("e", rs.getString(1), "external: out of line, not compressed");
    }
  }

  @Test
  void aDatabaseThatCannotBeReachedFailsTheStageAndTheStoreWorksOnceItCan() throws Exception {
    // A schema that does not exist yet: the table cannot be created, as with a database not there yet.
    String schema = "segments_" + UUID.randomUUID().toString().replace("-", "");
    String url = URL + (URL.contains("?") ? "&" : "?") + "currentSchema=" + schema;
    try (JdbcSegmentStore later = jdbc(url, 2, 100)) {
      String q = queue("orders");
      SegmentRow r = megabyte(q, 0);
      ExecutionException e = assertThrows(ExecutionException.class, () -> get(later.write(r)));
      assertInstanceOf(JournalUnavailableException.class, e.getCause());

      try (Connection c = admin(); Statement s = c.createStatement()) {
        s.execute("CREATE SCHEMA " + schema);
      }
      await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() -> {
        get(later.write(r));
        return true;
      });
      assertRow(r, get(later.read(q, 0)), true);
      try (Connection c = admin(); Statement s = c.createStatement()) {
        s.execute("DROP SCHEMA " + schema + " CASCADE");
      }
    }
  }

  @Test
  void aBrokenConnectionIsReplacedByAnother() throws Exception {
    String q = queue("orders");
    SegmentRow r = megabyte(q, 0);
    get(store.write(r));
    for (int i = 0; i < 8; i++) {
      get(store.read(q, 0)); // every thread has a connection open, very likely
    }
    try (Connection c = admin(); Statement s = c.createStatement()) {
      s.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = current_user"
          + " AND datname = current_database() AND pid <> pg_backend_pid()");
    }
    // an operation on a dead connection fails once; the thread then opens another
    int failed = 0;
    for (int i = 0; i < 12; i++) {
      try {
        assertRow(r, get(store.read(q, 0)), true);
      } catch (ExecutionException e) {
        assertInstanceOf(JournalUnavailableException.class, e.getCause());
        failed++;
      }
    }
    assertTrue(failed <= 4, failed + " of 12 reads failed after the connections were cut");
    for (int i = 0; i < 8; i++) {
      assertRow(r, get(store.read(q, 0)), true);
    }
  }

  private static long waitingForLocks(Statement s) throws Exception {
    try (ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_stat_activity WHERE usename = current_user"
        + " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  @Test
  void aFullQueueFailsTheStageAtOnce() throws Exception {
    store.close();
    store = jdbc(URL, 2, 6);
    String q = queue("orders");
    SegmentRow r = megabyte(q, 0);
    get(store.write(r));
    get(store.write(megabyte(q, 1))); // both threads connected (very likely) and the table exists

    List<CompletionStage<Void>> writes = new ArrayList<>();
    try (Connection lock = admin(); Statement s = lock.createStatement()) {
      lock.setAutoCommit(false);
      s.execute("LOCK TABLE spool_segment IN ACCESS EXCLUSIVE MODE"); // every operation waits for it
      writes.add(store.write(row(q, 2, 16, KIB, 2)));
      writes.add(store.write(row(q, 3, 16, KIB, 3)));
      await().atMost(Duration.ofSeconds(10)).until(() -> waitingForLocks(s) == 2); // both threads hold one
      for (int i = 4; i < 10; i++) {
        writes.add(store.write(row(q, i, 16, KIB, i)));
      }
      CompletableFuture<Void> refusedWrite = store.write(row(q, 10, 16, KIB, 10)).toCompletableFuture();
      assertTrue(refusedWrite.isCompletedExceptionally(), "refused without waiting");
      assertInstanceOf(JournalUnavailableException.class,
          assertThrows(ExecutionException.class, refusedWrite::get).getCause());
      CompletableFuture<SegmentRow> refused = store.read(q, 0).toCompletableFuture();
      assertTrue(refused.isCompletedExceptionally(), "refused without waiting");
      ExecutionException e = assertThrows(ExecutionException.class, refused::get);
      assertInstanceOf(JournalUnavailableException.class, e.getCause());
      assertTrue(e.getCause().getMessage().contains("waiting already"), e.getCause().getMessage());
      lock.rollback();
    }
    for (CompletionStage<Void> w : writes) {
      get(w);
    }
    assertEquals(10, get(store.list(q)).size(), "every accepted write is stored, the refused one is not");
  }
}
