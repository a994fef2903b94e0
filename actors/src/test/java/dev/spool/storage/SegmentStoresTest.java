package dev.spool.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spool.journal.JournalUnavailableException;
import dev.spool.journal.SqliteStores;
import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.ActorSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import scala.concurrent.Await;

/** The actor system's segment store, as spool.storage.segment-store names it, closed with the system. */
class SegmentStoresTest {

  private static ActorSystem system(String config) {
    Config c = ConfigFactory.parseString(config).withFallback(ConfigFactory.load());
    return ActorSystem.create("segments", c);
  }

  private static void terminate(ActorSystem system) throws Exception {
    Await.result(system.terminate(), scala.concurrent.duration.Duration.create(30, TimeUnit.SECONDS));
  }

  @Test
  void noneByDefault() throws Exception {
    ActorSystem system = system("");
    try {
      assertTrue(SegmentStores.get(system).store().isEmpty());
    } finally {
      terminate(system);
    }
  }

  @Test
  void sqliteSharesTheJournalsFileAndClosesWithTheSystem(@TempDir Path dir) throws Exception {
    Path db = dir.resolve("journal").resolve("spool.db");
    ActorSystem system = system("""
        spool.storage.segment-store = "sqlite"
        spool.persistence.journal-plugin = "spool.journal.sqlite.journal"
        spool.journal.sqlite.path = "%s"
        """.formatted(db.toString().replace("\\", "/")));
    SegmentStore store;
    try {
      store = SegmentStores.get(system).store().orElseThrow();
      assertInstanceOf(SqliteSegmentStore.class, store);
      assertSame(store, SegmentStores.get(system).store().orElseThrow(), "one per system");
      String q = SegmentStoreContract.queue("orders");
      SegmentRow r = SegmentStoreContract.megabyte(q, 0);
      SegmentStoreContract.get(store.write(r));
      // the journal's store of the file sees the row: the same file, the same writer
      var journalStore = SqliteStores.get(system).forPlugin(system.settings().config()
          .getConfig("spool.journal.sqlite.journal"));
      long rows = journalStore.read(c -> {
        try (PreparedStatement p = c.prepareStatement("SELECT count(*) FROM segment WHERE queue_id = ?")) {
          p.setString(1, q);
          try (ResultSet rs = p.executeQuery()) {
            rs.next();
            return rs.getLong(1);
          }
        }
      }).get(10, TimeUnit.SECONDS);
      assertEquals(1, rows);
    } finally {
      terminate(system);
    }
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> SegmentStoreContract.get(store.read("orders", 0)));
    assertInstanceOf(JournalUnavailableException.class, e.getCause(), "closed with the system");
  }

  @Test
  void jdbcReadsItsBlockAndConnectsOnlyWhenUsed() throws Exception {
    ActorSystem system = system("""
        spool.storage.segment-store = "jdbc"
        spool.storage.jdbc.url = "jdbc:postgresql://127.0.0.1:1/spool?password=s3cret"
        spool.storage.jdbc.user = "spool"
        spool.storage.jdbc.password = "s3cret"
        """);
    try {
      assertInstanceOf(JdbcSegmentStore.class, SegmentStores.get(system).store().orElseThrow());
    } finally {
      terminate(system);
    }
  }

  @Test
  void anUnknownStoreIsRefused() throws Exception {
    ActorSystem system = system("spool.storage.segment-store = \"s3\"");
    try {
      Exception e = assertThrows(Exception.class, () -> SegmentStores.get(system));
      assertTrue(String.valueOf(e.getMessage()).contains("segment-store") || String.valueOf(e.getCause()).contains(
          "segment-store"), String.valueOf(e));
    } finally {
      terminate(system);
    }
  }

  @Test
  void theJdbcSettingsNeverShowThePassword() {
    var settings = new JdbcSegmentStore.Settings("jdbc:postgresql://db:5432/spool?user=spool&password=s3cret",
        "spool", "s3cret", 4, 1000, Duration.ofSeconds(30));
    assertFalse(settings.toString().contains("s3cret"), settings.toString());
    assertEquals("jdbc:postgresql://db:5432/spool", settings.address());
    assertThrows(IllegalArgumentException.class,
        () -> new JdbcSegmentStore.Settings("", "", "", 4, 1000, Duration.ofSeconds(30)));
  }

  @Test
  void aJdbcStoreThatCannotConnectFailsTheStageWithoutThePassword() throws Exception {
    try (JdbcSegmentStore store = new JdbcSegmentStore(new JdbcSegmentStore.Settings(
        "jdbc:postgresql://127.0.0.1:1/spool?password=s3cret&connectTimeout=2", "spool", "s3cret", 1, 10,
        Duration.ofSeconds(30)))) {
      ExecutionException e = assertThrows(ExecutionException.class,
          () -> store.read("orders", 0).toCompletableFuture().get(30, TimeUnit.SECONDS));
      assertInstanceOf(JournalUnavailableException.class, e.getCause());
      assertFalse(e.getCause().getMessage().contains("s3cret"), e.getCause().getMessage());
    }
  }
}
