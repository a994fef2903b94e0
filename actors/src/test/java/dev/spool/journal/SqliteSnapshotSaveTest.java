package dev.spool.journal;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spool.ConsumerSettings;
import dev.spool.Message;
import dev.spool.durable.ConsumerPosition;
import dev.spool.durable.QueueEvent;
import dev.spool.durable.QueueSnapshot;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.pekko.actor.ActorRef;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.persistence.AtomicWrite;
import org.apache.pekko.persistence.DeleteSnapshotsSuccess;
import org.apache.pekko.persistence.JournalProtocol;
import org.apache.pekko.persistence.Persistence;
import org.apache.pekko.persistence.PersistentEnvelope;
import org.apache.pekko.persistence.PersistentRepr;
import org.apache.pekko.persistence.SaveSnapshotFailure;
import org.apache.pekko.persistence.SaveSnapshotSuccess;
import org.apache.pekko.persistence.SelectedSnapshot;
import org.apache.pekko.persistence.SnapshotMetadata;
import org.apache.pekko.persistence.SnapshotProtocol;
import org.apache.pekko.persistence.SnapshotSelectionCriteria;
import org.apache.pekko.serialization.JSerializer;
import org.apache.pekko.testkit.javadsl.TestKit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import scala.jdk.javaapi.CollectionConverters;

/**
 * A large snapshot is written a chunk per write, so the one writer keeps committing other queues'
 * writes while it is saved, and it becomes visible only once whole: one cut off by a closed
 * journal or a failing serializer is never loaded, and its chunks do not stay in the file.
 */
class SqliteSnapshotSaveTest {

  private static final long MIB = 1024 * 1024;

  @Test
  void journalWritesOfOtherQueuesKeepCommittingWhileALargeSnapshotIsSaved(@TempDir Path dir) throws Exception {
    ActorSystem system = ActorSystem.create("snapshot-save", SqliteJournalTckTest.config(dir.resolve("journal.db")));
    try {
      ActorRef journal = Persistence.get(system).journalFor(SqliteJournalTckTest.JOURNAL, ConfigFactory.empty());
      ActorRef snapshots = Persistence.get(system).snapshotStoreFor(SqliteSnapshotStoreTckTest.STORE,
          ConfigFactory.empty());
      TestKit writer = new TestKit(system);
      TestKit saver = new TestKit(system);
      Random random = new Random(1);
      long seq = 0;
      List<Long> idle = new ArrayList<>();
      for (int i = 0; i < 30; i++) {
        idle.add(writeEvent(journal, writer, random, ++seq));
      }
      double idleMedian = idle.stream().mapToLong(Long::longValue).sorted().skip(idle.size() / 2).findFirst()
          .orElseThrow() / 1e6;

      int count = 100_000; // 100 MiB of 1 KiB payloads
      snapshots.tell(new SnapshotProtocol.SaveSnapshot(new SnapshotMetadata("big", count, 0), snapshot(count)),
          saver.getRef());
      long start = System.nanoTime();
      List<Long> latencies = new ArrayList<>();
      while (!saver.msgAvailable()) {
        latencies.add(writeEvent(journal, writer, random, ++seq));
      }
      double saved = (System.nanoTime() - start) / 1e9;
      saver.expectMsgClass(SaveSnapshotSuccess.class);
      long[] sorted = latencies.stream().mapToLong(Long::longValue).sorted().toArray();
      double median = sorted[sorted.length / 2] / 1e6;
      double p99 = sorted[(int) (sorted.length * 0.99)] / 1e6;
      double max = sorted[sorted.length - 1] / 1e6;
      System.out.printf("a %d MiB snapshot saved in %.1f s; meanwhile %,d single 1 KiB journal writes of another"
          + " persistence id: median %.1f ms, p99 %.1f ms, max %.1f ms (median %.1f ms before the save)%n",
          count * 1024 / MIB, saved, sorted.length, median, p99, max, idleMedian);
      assertTrue(sorted.length >= 10, "writes went on during the save: " + sorted.length);
      // Against the save's own length, not a fixed bound, which a loaded machine passes: with the save
      // in one transaction, a write waits for all of it (2.1 s of a 2.4 s save, 3 writes done)
      assertTrue(max < saved * 1000 / 2, "the longest write took " + max + " ms of the " + saved + " s save");

      QueueSnapshot loaded = (QueueSnapshot) load(snapshots, saver, "big").snapshot();
      assertEquals(count, loaded.messages().size());
    } finally {
      TestKit.shutdownActorSystem(system);
    }
  }

  @Test
  void aSnapshotCutOffByAClosedJournalIsNeverLoadedAndItsChunksGoAtTheNextOpen(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("journal.db");
    Config config = SqliteJournalTckTest.config(file);
    long completeChunks;
    ActorSystem first = ActorSystem.create("cut-off", config);
    try {
      ActorRef snapshots = Persistence.get(first).snapshotStoreFor(SqliteSnapshotStoreTckTest.STORE,
          ConfigFactory.empty());
      TestKit probe = new TestKit(first);
      snapshots.tell(new SnapshotProtocol.SaveSnapshot(new SnapshotMetadata("queue", 3000, 0), snapshot(3000)),
          probe.getRef());
      probe.expectMsgClass(Duration.ofSeconds(30), SaveSnapshotSuccess.class);
      completeChunks = count(file, "SELECT count(*) FROM snapshot_chunk");
      assertTrue(completeChunks > 1, "the first snapshot is chunked too: " + completeChunks);

      snapshots.tell(new SnapshotProtocol.SaveSnapshot(new SnapshotMetadata("queue", 40_000, 0), snapshot(40_000)),
          probe.getRef());
      await().atMost(Duration.ofSeconds(60)).until(() -> count(file, "SELECT count(*) FROM snapshot_chunk")
          > completeChunks + 5);
      assertEquals(3000, ((QueueSnapshot) load(snapshots, probe, "queue").snapshot()).messages().size(),
          "while the second is being saved, the first is the one loaded");

      SqliteStores.get(first).store(SqliteSettings.create(first.settings().config().getConfig("spool.journal.sqlite")))
          .close();
      probe.expectMsgClass(Duration.ofSeconds(30), SaveSnapshotFailure.class);
      assertEquals(1, count(file, "SELECT count(*) FROM snapshot WHERE size < 0"), "the cut-off snapshot's row");
      assertTrue(count(file, "SELECT count(*) FROM snapshot_chunk") > completeChunks + 5, "and its chunks");
    } finally {
      TestKit.shutdownActorSystem(first);
    }

    // the recovery tool, run on a copy, drops it too
    Path copy = dir.resolve("copy");
    Files.createDirectories(copy);
    for (String suffix : new String[] {"", "-wal"}) {
      Path p = Path.of(file + suffix);
      if (Files.exists(p)) {
        Files.copy(p, copy.resolve(file.getFileName() + suffix));
      }
    }
    RecoverJournal.Report report = RecoverJournal.recover(copy.resolve(file.getFileName()), System.out);
    assertEquals(1, report.incompleteSnapshots(), "the unfinished snapshot is dropped");
    assertEquals(completeChunks, count(copy.resolve(file.getFileName()), "SELECT count(*) FROM snapshot_chunk"));

    ActorSystem second = ActorSystem.create("reopened", config);
    try {
      ActorRef snapshots = Persistence.get(second).snapshotStoreFor(SqliteSnapshotStoreTckTest.STORE,
          ConfigFactory.empty());
      SelectedSnapshot loaded = load(snapshots, new TestKit(second), "queue");
      assertEquals(3000, loaded.metadata().sequenceNr());
      assertEquals(3000, ((QueueSnapshot) loaded.snapshot()).messages().size());
      assertEquals(0, count(file, "SELECT count(*) FROM snapshot WHERE size < 0"));
      assertEquals(completeChunks, count(file, "SELECT count(*) FROM snapshot_chunk"),
          "only the complete snapshot's chunks are left");
    } finally {
      TestKit.shutdownActorSystem(second);
    }
  }

  /**
   * A queue deleted while its snapshot is being saved: the deletion (everything up to the latest)
   * takes the snapshot under way too, which would otherwise complete after it and stay for good;
   * an older deletion (up to a sequence number) leaves it alone.
   */
  @Test
  void aSnapshotBeingSavedWhenItsQueueIsDeletedLeavesNothingBehind(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("journal.db");
    ActorSystem system = ActorSystem.create("purged", SqliteJournalTckTest.config(file));
    try {
      ActorRef snapshots = Persistence.get(system).snapshotStoreFor(SqliteSnapshotStoreTckTest.STORE,
          ConfigFactory.empty());
      TestKit probe = new TestKit(system);
      snapshots.tell(new SnapshotProtocol.SaveSnapshot(new SnapshotMetadata("kept", 3000, 0), snapshot(3000)),
          probe.getRef());
      probe.expectMsgClass(Duration.ofSeconds(30), SaveSnapshotSuccess.class);
      long keptChunks = count(file, "SELECT count(*) FROM snapshot_chunk");

      // Deleting older snapshots of a queue leaves the one being saved.
      snapshots.tell(new SnapshotProtocol.SaveSnapshot(new SnapshotMetadata("queue", 40_000, 0), snapshot(40_000)),
          probe.getRef());
      await().atMost(Duration.ofSeconds(60)).until(() -> count(file, "SELECT count(*) FROM snapshot_chunk")
          > keptChunks + 5);
      snapshots.tell(new SnapshotProtocol.DeleteSnapshots("queue", SnapshotSelectionCriteria.create(39_999,
          Long.MAX_VALUE, 0L, 0L)), probe.getRef());
      assertAnswers(probe, SaveSnapshotSuccess.class, DeleteSnapshotsSuccess.class);
      assertEquals(40_000, load(snapshots, probe, "queue").metadata().sequenceNr());

      // The queue is deleted while its next snapshot is being saved.
      long before = count(file, "SELECT count(*) FROM snapshot_chunk");
      snapshots.tell(new SnapshotProtocol.SaveSnapshot(new SnapshotMetadata("queue", 80_000, 0), snapshot(40_000)),
          probe.getRef());
      await().atMost(Duration.ofSeconds(60)).until(() -> count(file, "SELECT count(*) FROM snapshot_chunk")
          > before + 5);
      snapshots.tell(new SnapshotProtocol.DeleteSnapshots("queue", SnapshotSelectionCriteria.latest()),
          probe.getRef());
      assertAnswers(probe, SaveSnapshotFailure.class, DeleteSnapshotsSuccess.class);
      assertEquals(0, count(file, "SELECT count(*) FROM snapshot WHERE persistence_id = 'queue'"));
      // The failed save removes the chunks it wrote after the deletion (a write after its answer).
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertEquals(keptChunks,
          count(file, "SELECT count(*) FROM snapshot_chunk"), "only the other queue's snapshot's chunks are left"));
      assertEquals(3000, load(snapshots, probe, "kept").metadata().sequenceNr());
    } finally {
      TestKit.shutdownActorSystem(system);
    }
  }

  @Test
  void aSnapshotWhoseSerializerFailsMidwayLeavesNothingBehind(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("journal.db");
    ActorSystem system = ActorSystem.create("failing", ConfigFactory.parseString("""
            pekko.actor.serializers.failing = "dev.spool.journal.SqliteSnapshotSaveTest$FailingSerializer"
            pekko.actor.serialization-bindings {
              "dev.spool.journal.SqliteSnapshotSaveTest$Failing" = failing
            }
            """).withFallback(SqliteJournalTckTest.config(file)));
    try {
      ActorRef snapshots = Persistence.get(system).snapshotStoreFor(SqliteSnapshotStoreTckTest.STORE,
          ConfigFactory.empty());
      TestKit probe = new TestKit(system);
      snapshots.tell(new SnapshotProtocol.SaveSnapshot(new SnapshotMetadata("queue", 10, 0), snapshot(3000)),
          probe.getRef());
      probe.expectMsgClass(Duration.ofSeconds(30), SaveSnapshotSuccess.class);
      long completeChunks = count(file, "SELECT count(*) FROM snapshot_chunk");

      snapshots.tell(new SnapshotProtocol.SaveSnapshot(new SnapshotMetadata("queue", 20, 0), new Failing(20)),
          probe.getRef());
      SaveSnapshotFailure failure = probe.expectMsgClass(Duration.ofSeconds(30), SaveSnapshotFailure.class);
      assertTrue(failure.cause().getMessage().contains("disk of the mind is full"), failure.cause().toString());
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
        assertEquals(0, count(file, "SELECT count(*) FROM snapshot WHERE size < 0"));
        assertEquals(completeChunks, count(file, "SELECT count(*) FROM snapshot_chunk"));
      });
      SelectedSnapshot loaded = load(snapshots, probe, "queue");
      assertEquals(10, loaded.metadata().sequenceNr());
      assertEquals(3000, ((QueueSnapshot) loaded.snapshot()).messages().size());
    } finally {
      TestKit.shutdownActorSystem(system);
    }
  }

  @Test
  void aSaveRemovesWhatAnEarlierUnfinishedSaveLeft(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("journal.db");
    ActorSystem system = ActorSystem.create("leftovers", SqliteJournalTckTest.config(file));
    try {
      ActorRef snapshots = Persistence.get(system).snapshotStoreFor(SqliteSnapshotStoreTckTest.STORE,
          ConfigFactory.empty());
      TestKit probe = new TestKit(system);
      snapshots.tell(new SnapshotProtocol.SaveSnapshot(new SnapshotMetadata("queue", 10, 0), snapshot(100)),
          probe.getRef());
      probe.expectMsgClass(Duration.ofSeconds(30), SaveSnapshotSuccess.class);
      // what a save cut off by a failure that its own clean-up did not survive leaves behind
      try (Connection c = SqliteFile.connect(file); Statement s = c.createStatement()) {
        s.execute("PRAGMA busy_timeout = 5000");
        s.execute("INSERT INTO snapshot VALUES (1000, 'queue', -1000, 0, 1, '', 1, -1)");
        s.execute("INSERT INTO snapshot_chunk VALUES (1000, 0, zeroblob(1048576)), (1000, 1, zeroblob(1048576))");
      }
      snapshots.tell(new SnapshotProtocol.SaveSnapshot(new SnapshotMetadata("queue", 20, 0), snapshot(2000)),
          probe.getRef());
      probe.expectMsgClass(Duration.ofSeconds(30), SaveSnapshotSuccess.class);
      assertEquals(0, count(file, "SELECT count(*) FROM snapshot WHERE size < 0"));
      assertEquals(0, count(file, "SELECT count(*) FROM snapshot_chunk WHERE snapshot_id = 1000"));
      assertEquals(20, load(snapshots, probe, "queue").metadata().sequenceNr());
    } finally {
      TestKit.shutdownActorSystem(system);
    }
  }

  /** A snapshot its serializer fails to write after {@code mebibytes} MiB. */
  record Failing(int mebibytes) {}

  /** Streams {@link Failing} snapshots and fails midway, as a full disk or a bug would. */
  public static final class FailingSerializer extends JSerializer implements StreamingSerializer {
    @Override
    public int identifier() {
      return 917_301;
    }

    @Override
    public boolean includeManifest() {
      return false;
    }

    @Override
    public byte[] toBinary(Object o) {
      throw new UnsupportedOperationException("streamed only");
    }

    @Override
    public Object fromBinaryJava(byte[] bytes, Class<?> manifest) {
      throw new UnsupportedOperationException("never written whole");
    }

    @Override
    public boolean streams(Object o) {
      return true;
    }

    @Override
    public void write(Object o, OutputStream out) throws IOException {
      byte[] kib = new byte[1024];
      for (int i = 0; i < ((Failing) o).mebibytes() * 1024; i++) {
        Arrays.fill(kib, (byte) i);
        out.write(kib);
      }
      throw new IOException("the disk of the mind is full");
    }

    @Override
    public Object read(InputStream in, String manifest) {
      throw new UnsupportedOperationException("never written whole");
    }
  }

  /** Appends one event of 1 KiB and returns how long the journal took to confirm it, in nanoseconds. */
  private static long writeEvent(ActorRef journal, TestKit probe, Random random, long seq) {
    byte[] payload = new byte[1024];
    random.nextBytes(payload);
    PersistentRepr repr = PersistentRepr.apply(payload, seq, "other", "", false, ActorRef.noSender(), "w");
    long start = System.nanoTime();
    List<PersistentEnvelope> writes = List.of(AtomicWrite.apply(CollectionConverters.asScala(List.of(repr)).toList()));
    journal.tell(new JournalProtocol.WriteMessages(CollectionConverters.asScala(writes).toList(), probe.getRef(), 1),
        ActorRef.noSender());
    probe.expectMsg(Duration.ofSeconds(60), JournalProtocol.WriteMessagesSuccessful$.MODULE$);
    probe.expectMsgClass(Duration.ofSeconds(60), JournalProtocol.WriteMessageSuccess.class);
    return System.nanoTime() - start;
  }

  private static SelectedSnapshot load(ActorRef snapshots, TestKit probe, String persistenceId) {
    snapshots.tell(new SnapshotProtocol.LoadSnapshot(persistenceId, SnapshotSelectionCriteria.Latest(),
        Long.MAX_VALUE), probe.getRef());
    SnapshotProtocol.LoadSnapshotResult result = probe.expectMsgClass(Duration.ofSeconds(60),
        SnapshotProtocol.LoadSnapshotResult.class);
    return result.snapshot().get();
  }

  /** The store's next two answers are one of each class, in either order (a save and a deletion run apart). */
  private static void assertAnswers(TestKit probe, Class<?> one, Class<?> other) {
    List<Object> got = probe.receiveN(2, Duration.ofSeconds(60));
    assertTrue(one.isInstance(got.get(0)) && other.isInstance(got.get(1))
        || other.isInstance(got.get(0)) && one.isInstance(got.get(1)), "answers: " + got);
  }

  /** Counts through a connection of its own, as the store's connections are its threads'. */
  private static long count(Path file, String sql) throws SQLException {
    try (Connection c = SqliteFile.connect(file); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
      return rs.next() ? rs.getLong(1) : 0;
    }
  }

  /** A queue's snapshot of {@code count} messages of 1 KiB, random bytes, and one consumer at the start. */
  static QueueSnapshot snapshot(int count) {
    Random random = new Random(count);
    List<Message> messages = new ArrayList<>(count);
    long seed = Message.newIdSeed();
    Message previous = null;
    for (int i = 1; i <= count; i++) {
      byte[] payload = new byte[1024];
      random.nextBytes(payload);
      previous = Message.of("order", payload).appended(i, 1_700_000_000_000L + i, "producer", seed, previous);
      messages.add(previous);
    }
    return new QueueSnapshot(count, count, messages,
        List.of(new QueueEvent.ConsumerRecord(ConsumerSettings.named("slow"), 1)),
        Map.of("slow", new ConsumerPosition(1, new long[0], new int[0], false)), List.of());
  }
}
