package dev.spool.journal;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.pekko.actor.ActorRef;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.persistence.AtomicWrite;
import org.apache.pekko.persistence.DeleteMessagesSuccess;
import org.apache.pekko.persistence.DeleteSnapshotsSuccess;
import org.apache.pekko.persistence.JournalProtocol;
import org.apache.pekko.persistence.Persistence;
import org.apache.pekko.persistence.PersistentEnvelope;
import org.apache.pekko.persistence.PersistentRepr;
import org.apache.pekko.persistence.SaveSnapshotSuccess;
import org.apache.pekko.persistence.SnapshotMetadata;
import org.apache.pekko.persistence.SnapshotProtocol;
import org.apache.pekko.persistence.SnapshotSelectionCriteria;
import org.apache.pekko.testkit.javadsl.TestKit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import scala.jdk.javaapi.CollectionConverters;

/**
 * The journal file stays proportional to what is retained: events of 1 KiB are appended and
 * deleted in batches, as a queue's snapshots and event deletions do, while at most 20,000 are
 * retained; the file and its WAL never grow far past that, and once nearly everything is deleted
 * the file shrinks back (incremental vacuum) and the WAL is truncated.
 */
class SqliteCompactionTest {

  @Test
  void theFileStaysProportionalToWhatIsRetained(@TempDir Path dir) throws Exception {
    appendAndDelete(dir, 30_000);
  }

  @Test
  @Tag("slow")
  void theFileStaysProportionalOver200kEvents(@TempDir Path dir) throws Exception {
    appendAndDelete(dir, 200_000);
  }

  private static final int EVENT_BYTES = 1024;
  private static final int PER_WRITE = 1000;
  private static final int RETAINED = 10_000;
  private static final long MIB = 1024 * 1024;

  private static void appendAndDelete(Path dir, int events) throws Exception {
    Path file = dir.resolve("journal.db");
    Path wal = dir.resolve("journal.db-wal");
    ActorSystem system = ActorSystem.create("compaction", ConfigFactory.parseMap(Map.of(
            "spool.journal.sqlite.maintenance-interval", "200ms",
            // a process crash is all this test could survive: it measures sizes, not durability
            "spool.journal.sqlite.synchronous", "NORMAL"))
        .withFallback(SqliteJournalTckTest.config(file)));
    try {
      ActorRef journal = Persistence.get(system).journalFor(SqliteJournalTckTest.JOURNAL, ConfigFactory.empty());
      ActorRef snapshots = Persistence.get(system).snapshotStoreFor(SqliteSnapshotStoreTckTest.STORE,
          ConfigFactory.empty());
      TestKit probe = new TestKit(system);
      Random random = new Random(1);
      long maxFile = 0;
      long maxWal = 0;
      long sequenceNr = 0;
      while (sequenceNr < events) {
        List<PersistentEnvelope> writes = new ArrayList<>();
        for (int w = 0; w < 10; w++) {
          List<PersistentRepr> batch = new ArrayList<>();
          for (int i = 0; i < PER_WRITE / 10; i++) {
            byte[] payload = new byte[EVENT_BYTES];
            random.nextBytes(payload);
            batch.add(PersistentRepr.apply(payload, ++sequenceNr, "queue", "", false, ActorRef.noSender(), "w"));
          }
          writes.add(AtomicWrite.apply(CollectionConverters.asScala(batch).toList()));
        }
        journal.tell(new JournalProtocol.WriteMessages(CollectionConverters.asScala(writes).toList(), probe.getRef(),
            1), ActorRef.noSender());
        probe.expectMsg(Duration.ofSeconds(30), JournalProtocol.WriteMessagesSuccessful$.MODULE$);
        probe.receiveN(PER_WRITE, Duration.ofSeconds(30));
        if (sequenceNr % RETAINED == 0) {
          // a snapshot of what is retained, then the events and snapshots before the previous one go
          byte[] snapshot = new byte[(int) (2 * MIB)];
          random.nextBytes(snapshot);
          snapshots.tell(new SnapshotProtocol.SaveSnapshot(new SnapshotMetadata("queue", sequenceNr, 0), snapshot),
              probe.getRef());
          probe.expectMsgClass(Duration.ofSeconds(30), SaveSnapshotSuccess.class);
          journal.tell(new JournalProtocol.DeleteMessagesTo("queue", sequenceNr - RETAINED, probe.getRef()),
              ActorRef.noSender());
          probe.expectMsgClass(Duration.ofSeconds(30), DeleteMessagesSuccess.class);
          SnapshotSelectionCriteria older = SnapshotSelectionCriteria.create(sequenceNr - RETAINED, Long.MAX_VALUE);
          snapshots.tell(new SnapshotProtocol.DeleteSnapshots("queue", older), probe.getRef());
          probe.expectMsgClass(Duration.ofSeconds(30), DeleteSnapshotsSuccess.class);
        }
        maxFile = Math.max(maxFile, size(file));
        maxWal = Math.max(maxWal, size(wal));
      }
      // At most 2 × RETAINED events (20 MiB) and two 2 MiB snapshots are retained at any time.
      long retainedAtMost = 2L * RETAINED * EVENT_BYTES + 4 * MIB;
      System.out.printf("%,d events of 1 KiB appended: largest file %.1f MiB, largest WAL %.1f MiB, for at most"
          + " %.1f MiB retained%n", events, maxFile / (double) MIB, maxWal / (double) MIB, retainedAtMost / (double) MIB);
      assertTrue(maxFile < 2 * retainedAtMost, "the file grew to " + maxFile + " bytes");
      assertTrue(maxWal < 2 * retainedAtMost, "the WAL grew to " + maxWal + " bytes");

      journal.tell(new JournalProtocol.DeleteMessagesTo("queue", sequenceNr - 1000, probe.getRef()),
          ActorRef.noSender());
      probe.expectMsgClass(Duration.ofSeconds(30), DeleteMessagesSuccess.class);
      // about 1 MiB of events and one 2 MiB snapshot are left
      await().atMost(Duration.ofSeconds(60)).until(() -> size(file) < 8 * MIB && size(wal) < MIB);
      System.out.printf("after deleting all but 1,000 events: file %.1f MiB, WAL %.1f MiB%n",
          size(file) / (double) MIB, size(wal) / (double) MIB);
    } finally {
      TestKit.shutdownActorSystem(system);
    }
  }

  private static long size(Path p) throws IOException {
    return Files.exists(p) ? Files.size(p) : 0;
  }
}
