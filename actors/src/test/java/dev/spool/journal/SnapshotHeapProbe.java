package dev.spool.journal;

import com.typesafe.config.ConfigFactory;
import dev.spool.durable.JournalSerializer;
import dev.spool.durable.QueueSnapshot;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.apache.pekko.actor.ActorRef;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.persistence.Persistence;
import org.apache.pekko.persistence.SaveSnapshotSuccess;
import org.apache.pekko.persistence.SnapshotMetadata;
import org.apache.pekko.persistence.SnapshotProtocol;
import org.apache.pekko.persistence.SnapshotSelectionCriteria;
import org.apache.pekko.testkit.javadsl.TestKit;

/**
 * Run in a child JVM with a small heap by {@link SnapshotHeapTest}: builds a queue snapshot of
 * {@code args[1]} messages of 1 KiB and either serializes it to one byte array ({@code bytes},
 * what the journal did before snapshots were streamed) or saves it to and loads it back from the
 * SQLite snapshot store ({@code stream}). Prints what it did and exits 0, or dies of
 * OutOfMemoryError.
 */
public final class SnapshotHeapProbe {

  private SnapshotHeapProbe() {}

  public static void main(String[] args) throws Exception {
    String mode = args[0];
    int count = Integer.parseInt(args[1]);
    QueueSnapshot snapshot = SqliteSnapshotSaveTest.snapshot(count);
    long backlog = (long) count * 1024;
    System.out.printf("backlog %,d messages, %d MiB of payload; heap max %d MiB%n", count, backlog >> 20,
        Runtime.getRuntime().maxMemory() >> 20);
    long start = System.nanoTime();
    if (mode.equals("bytes")) {
      byte[] bytes = new JournalSerializer().toBinary(snapshot);
      System.out.printf("toBinary: %d MiB in %.1f s%n", bytes.length >> 20, (System.nanoTime() - start) / 1e9);
      return;
    }
    Path dir = Files.createTempDirectory("snapshot-heap");
    ActorSystem system = ActorSystem.create("heap", SqliteJournalTckTest.config(dir.resolve("journal.db")));
    try {
      ActorRef store = Persistence.get(system).snapshotStoreFor(SqliteSnapshotStoreTckTest.STORE,
          ConfigFactory.empty());
      TestKit probe = new TestKit(system);
      store.tell(new SnapshotProtocol.SaveSnapshot(new SnapshotMetadata("queue", count, 0), snapshot), probe.getRef());
      snapshot = null; // from here on only the store holds it, until saved
      probe.expectMsgClass(Duration.ofMinutes(5), SaveSnapshotSuccess.class);
      System.out.printf("saved in %.1f s; file %d MiB%n", (System.nanoTime() - start) / 1e9,
          Files.size(dir.resolve("journal.db")) >> 20);
      System.gc();
      start = System.nanoTime();
      store.tell(new SnapshotProtocol.LoadSnapshot("queue", SnapshotSelectionCriteria.Latest(), Long.MAX_VALUE),
          probe.getRef());
      SnapshotProtocol.LoadSnapshotResult loaded = probe.expectMsgClass(Duration.ofMinutes(5),
          SnapshotProtocol.LoadSnapshotResult.class);
      QueueSnapshot read = (QueueSnapshot) loaded.snapshot().get().snapshot();
      if (read.messages().size() != count) {
        throw new IllegalStateException("loaded " + read.messages().size() + " of " + count);
      }
      System.out.printf("loaded %,d messages in %.1f s%n", read.messages().size(), (System.nanoTime() - start) / 1e9);
    } finally {
      TestKit.shutdownActorSystem(system);
    }
  }
}
