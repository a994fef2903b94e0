package dev.spool.storage;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.journal.JournalUnavailableException;
import dev.spool.journal.RecoverJournal;
import dev.spool.journal.SqliteSettings;
import dev.spool.journal.SqliteStore;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The segment table in the SQLite journal file, beside the journal's own writes and reads. */
class SqliteSegmentStoreTest extends SegmentStoreContract {

  @TempDir
  Path dir;
  private SqliteStore sqlite;
  private SqliteSegmentStore store;

  static SqliteStore sqlite(Path path, int maxQueued) {
    return new SqliteStore(new SqliteSettings(path, "FULL", Duration.ofSeconds(5), maxQueued, maxQueued, 1000,
        1024 * 1024, Duration.ofSeconds(1), 1024, 64L << 20));
  }

  @BeforeEach
  void open() {
    sqlite = sqlite(dir.resolve("spool.db"), 100);
    store = new SqliteSegmentStore(sqlite);
  }

  @AfterEach
  void close() {
    store.close();
    sqlite.close();
  }

  @Override
  SegmentStore store() {
    return store;
  }

  @Test
  void aRowSurvivesClosingAndReopeningTheFile() throws Exception {
    String q = queue("orders");
    SegmentRow r = megabyte(q, 12);
    get(store.write(r));
    store.close();
    sqlite.close();

    sqlite = sqlite(dir.resolve("spool.db"), 100);
    store = new SqliteSegmentStore(sqlite);
    assertRow(r, get(store.read(q, 12)), true);
    assertEquals(1, get(store.list(q)).size());
  }

  @Test
  void aClosedStoreRefusesCalls() {
    store.close();
    ExecutionException e = assertThrows(ExecutionException.class,
        () -> get(store.read(queue("orders"), 0)));
    assertInstanceOf(JournalUnavailableException.class, e.getCause());
  }

  @Test
  void aFileThatCannotBeCreatedFailsTheStageUntilItsDirectoryCanBe() throws Exception {
    Path blocker = dir.resolve("data");
    Files.writeString(blocker, "a file where the data directory should be");
    try (SqliteStore broken = sqlite(blocker.resolve("journal").resolve("spool.db"), 100)) {
      SqliteSegmentStore segments = new SqliteSegmentStore(broken);
      String q = queue("orders");
      SegmentRow r = megabyte(q, 0);
      ExecutionException e = assertThrows(ExecutionException.class, () -> get(segments.write(r)));
      assertInstanceOf(JournalUnavailableException.class, e.getCause());
      e = assertThrows(ExecutionException.class, () -> get(segments.read(q, 0)));
      assertInstanceOf(JournalUnavailableException.class, e.getCause());

      Files.delete(blocker);
      // a failed open is remembered for a second; then the next call opens the file
      await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() -> {
        get(segments.write(r));
        return true;
      });
      assertRow(r, get(segments.read(q, 0)), true);
    }
  }

  @Test
  void writesShareTheJournalWritersCommits() throws Exception {
    String q = queue("orders");
    get(store.write(megabyte(q, 0))); // opens the file
    CountDownLatch hold = new CountDownLatch(1);
    CompletableFuture<Object> holding = sqlite.write(c -> hold.await(10, TimeUnit.SECONDS));
    long before = sqlite.commits();
    List<CompletionStage<Void>> writes = new ArrayList<>();
    for (long s = 1; s <= 20; s++) {
      writes.add(store.write(row(q, s, 64, 4 * KIB, s)));
    }
    hold.countDown();
    holding.get(10, TimeUnit.SECONDS);
    for (CompletionStage<Void> w : writes) {
      get(w);
    }
    long commits = sqlite.commits() - before;
    assertTrue(commits <= 2, "20 waiting segment writes took " + commits + " commits");
    assertEquals(21, get(store.list(q)).size());
  }

  @Test
  void segmentReadsDoNotWaitBehindTheJournalsReads() throws Exception {
    String q = queue("orders");
    SegmentRow r = megabyte(q, 0);
    get(store.write(r));
    CountDownLatch hold = new CountDownLatch(1);
    CompletableFuture<Object> replay = sqlite.read(c -> hold.await(20, TimeUnit.SECONDS)); // a long replay
    try {
      assertRow(r, store.read(q, 0).toCompletableFuture().get(5, TimeUnit.SECONDS), true);
      assertEquals(1, store.list(q).toCompletableFuture().get(5, TimeUnit.SECONDS).size());
    } finally {
      hold.countDown();
    }
    replay.get(10, TimeUnit.SECONDS);
  }

  @Test
  void aFullQueueFailsTheStageAtOnce() throws Exception {
    sqlite.close();
    sqlite = sqlite(dir.resolve("spool.db"), 8);
    store = new SqliteSegmentStore(sqlite);
    String q = queue("orders");
    SegmentRow r = megabyte(q, 0);
    get(store.write(r));

    CountDownLatch hold = new CountDownLatch(1);
    CountDownLatch reading = new CountDownLatch(1);
    CompletableFuture<Object> held = sqlite.readSegments(c -> {
      reading.countDown();
      return hold.await(10, TimeUnit.SECONDS);
    });
    CountDownLatch writing = new CountDownLatch(1);
    CompletableFuture<Object> heldWrite = sqlite.write(c -> {
      writing.countDown();
      return hold.await(10, TimeUnit.SECONDS);
    });
    reading.await(10, TimeUnit.SECONDS);
    writing.await(10, TimeUnit.SECONDS);
    List<CompletionStage<SegmentRow>> reads = new ArrayList<>();
    List<CompletionStage<Void>> writes = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      reads.add(store.read(q, 0));
      writes.add(store.write(row(q, i + 1, 16, KIB, i)));
    }
    CompletableFuture<SegmentRow> refusedRead = store.read(q, 0).toCompletableFuture();
    CompletableFuture<Void> refusedWrite = store.write(row(q, 99, 16, KIB, 99)).toCompletableFuture();
    assertTrue(refusedRead.isCompletedExceptionally(), "refused without waiting");
    assertTrue(refusedWrite.isCompletedExceptionally(), "refused without waiting");
    for (CompletableFuture<?> refused : List.of(refusedRead, refusedWrite)) {
      assertInstanceOf(JournalUnavailableException.class,
          assertThrows(ExecutionException.class, refused::get).getCause());
    }

    hold.countDown();
    held.get(10, TimeUnit.SECONDS);
    heldWrite.get(10, TimeUnit.SECONDS);
    for (CompletionStage<SegmentRow> read : reads) {
      assertRow(r, get(read), true);
    }
    for (CompletionStage<Void> w : writes) {
      get(w);
    }
    assertEquals(9, get(store.list(q)).size(), "every accepted write is stored, the refused one is not");
  }

  @Test
  void recoverJournalKeepsEverySegmentItCanReadAndNoDamagedOne() throws Exception {
    String q = queue("orders");
    List<SegmentRow> written = new ArrayList<>();
    for (long seg = 0; seg < 40; seg++) {
      SegmentRow r = row(q, seg, 64, KIB, seg);
      get(store.write(r));
      written.add(r);
    }
    store.close();
    sqlite.close(); // the last connection to close checkpoints the WAL into the file
    Path file = dir.resolve("spool.db");
    long pages = Files.size(file) / 4096;
    Random random = new Random(3);
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
      byte[] garbage = new byte[4096];
      for (long page : new long[] {pages / 3, pages / 2, 2 * pages / 3}) {
        random.nextBytes(garbage);
        raf.seek(page * 4096);
        raf.write(garbage);
      }
    }
    RecoverJournal.Report report = RecoverJournal.recover(file, new PrintStream(OutputStream.nullOutputStream()));
    RecoverJournal.TableReport segments = report.tables().stream().filter(t -> t.table().equals("segment"))
        .findFirst().orElseThrow();
    assertTrue(segments.kept() > 20 && segments.kept() <= 40, "kept " + segments.kept());

    sqlite = sqlite(file, 100);
    store = new SqliteSegmentStore(sqlite);
    List<SegmentRow> listed = get(store.list(q));
    assertEquals(segments.kept(), listed.size());
    int intact = 0;
    for (SegmentRow r : listed) {
      SegmentRow read = get(store.read(q, r.segment()));
      CRC32C crc = new CRC32C();
      crc.update(read.data());
      if (crc.getValue() == read.checksum()) { // a row whose data page was overwritten fails its checksum
        assertRow(written.get((int) r.segment()), read, true);
        intact++;
      }
    }
    assertTrue(intact >= listed.size() - 3, intact + " of " + listed.size() + " rows kept are intact");
  }

  @Test
  void recoverJournalReadsAFileWrittenBeforeTheSegmentTableExisted() throws Exception {
    store.close();
    sqlite.close();
    Path file = dir.resolve("old.db");
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
      s.execute("CREATE TABLE journal (persistence_id TEXT NOT NULL, sequence_nr INTEGER NOT NULL,"
          + " writer_uuid TEXT NOT NULL, write_timestamp INTEGER NOT NULL, adapter_manifest TEXT NOT NULL,"
          + " ser_id INTEGER NOT NULL, ser_manifest TEXT NOT NULL, payload BLOB NOT NULL,"
          + " PRIMARY KEY (persistence_id, sequence_nr))");
      s.execute("INSERT INTO journal VALUES ('orders', 1, 'w', 0, '', 4, '', x'0102')");
    }
    RecoverJournal.Report report = RecoverJournal.recover(file, new PrintStream(OutputStream.nullOutputStream()));
    assertEquals(1, report.tables().get(0).kept());
    RecoverJournal.TableReport segments = report.tables().stream().filter(t -> t.table().equals("segment"))
        .findFirst().orElseThrow();
    assertEquals(0, segments.kept());
    assertEquals(0, segments.unreadableRanges(), "a missing table is not damage");
    sqlite = sqlite(file, 100);
    store = new SqliteSegmentStore(sqlite);
    assertEquals(List.of(), get(store.list("orders")));
  }

  @Test
  void theSegmentTableIsInTheJournalFile() throws Exception {
    String q = queue("orders");
    get(store.write(megabyte(q, 4)));
    long rows = sqlite.read(c -> {
      try (PreparedStatement p = c.prepareStatement(
          "SELECT count(*), sum(length(data)) FROM segment WHERE queue_id = ?")) {
        p.setString(1, q);
        try (ResultSet rs = p.executeQuery()) {
          rs.next();
          assertEquals(MIB, rs.getLong(2));
          return rs.getLong(1);
        }
      }
    }).get(10, TimeUnit.SECONDS);
    assertEquals(1, rows);
  }
}
