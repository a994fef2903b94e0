package dev.spool.journal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.ActorRef;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.persistence.DeleteSnapshotSuccess;
import org.apache.pekko.persistence.DeleteSnapshotsSuccess;
import org.apache.pekko.persistence.Persistence;
import org.apache.pekko.persistence.SaveSnapshotSuccess;
import org.apache.pekko.persistence.SelectedSnapshot;
import org.apache.pekko.persistence.SnapshotMetadata;
import org.apache.pekko.persistence.SnapshotProtocol;
import org.apache.pekko.persistence.SnapshotSelectionCriteria;
import org.apache.pekko.testkit.javadsl.TestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import scala.Option;

/**
 * Pekko's snapshot store TCK ({@code SnapshotStoreSpec}), ported to JUnit 5 for the SQLite
 * snapshot store. Each test starts with snapshots "s-1" to "s-5" at sequence numbers 11 to 15 of a
 * fresh persistence id, as the TCK's do; Pekko stamps each with the time it is saved, a different
 * millisecond for each here, so that the timestamp criteria tell them apart.
 */
class SqliteSnapshotStoreTckTest {

  static final String STORE = "spool.journal.sqlite.snapshot-store";
  private static final AtomicInteger IDS = new AtomicInteger();

  private static Path dir;
  private static ActorSystem system;
  private static ActorRef store;

  private String pid;
  private TestKit probe;
  private final List<SnapshotMetadata> saved = new ArrayList<>();

  @BeforeAll
  static void start() throws Exception {
    dir = Files.createTempDirectory("sqlite-snapshot-tck");
    system = ActorSystem.create("snapshot-tck", SqliteJournalTckTest.config(dir.resolve("journal.db")));
    store = Persistence.get(system).snapshotStoreFor(STORE, ConfigFactory.empty());
  }

  @AfterAll
  static void stop() {
    TestKit.shutdownActorSystem(system);
  }

  @BeforeEach
  void saveFiveSnapshots() {
    pid = "p-" + IDS.incrementAndGet();
    probe = new TestKit(system);
    for (int i = 1; i <= 5; i++) {
      SnapshotMetadata stamped = save(new SnapshotMetadata(pid, 10 + i, 0), "s-" + i);
      saved.add(stamped);
      // The store stamps each save with the clock: the next one must get a later millisecond than this
      // one got, or a timestamp bound could not tell them apart.
      while (System.currentTimeMillis() <= stamped.timestamp()) {
        Thread.onSpinWait();
      }
    }
  }

  private SnapshotMetadata save(SnapshotMetadata metadata, Object snapshot) {
    store.tell(new SnapshotProtocol.SaveSnapshot(metadata, snapshot), probe.getRef());
    return probe.expectMsgClass(SaveSnapshotSuccess.class).metadata();
  }

  private Option<SelectedSnapshot> load(String persistenceId, SnapshotSelectionCriteria criteria) {
    store.tell(new SnapshotProtocol.LoadSnapshot(persistenceId, criteria, Long.MAX_VALUE), probe.getRef());
    return probe.expectMsgClass(SnapshotProtocol.LoadSnapshotResult.class).snapshot();
  }

  private void assertLoads(SnapshotSelectionCriteria criteria, int expected) {
    Option<SelectedSnapshot> s = load(pid, criteria);
    assertTrue(s.isDefined(), "a snapshot matches " + criteria);
    assertEquals("s-" + expected, s.get().snapshot());
    assertEquals(saved.get(expected - 1), s.get().metadata());
  }

  @Test
  void noSnapshotForAnUnknownPersistenceId() {
    assertTrue(load("unknown-" + pid, SnapshotSelectionCriteria.Latest()).isEmpty());
  }

  @Test
  void noSnapshotForNonMatchingTimestampOrSequenceNrCriteria() {
    assertTrue(load(pid, SnapshotSelectionCriteria.create(Long.MAX_VALUE, 100)).isEmpty());
    assertTrue(load(pid, SnapshotSelectionCriteria.create(7, Long.MAX_VALUE)).isEmpty());
  }

  @Test
  void theNewestSnapshotIsLoaded() {
    assertLoads(SnapshotSelectionCriteria.Latest(), 5);
  }

  @Test
  void theNewestSnapshotUnderAnUpperSequenceNrBoundIsLoaded() {
    assertLoads(SnapshotSelectionCriteria.create(13, Long.MAX_VALUE), 3);
  }

  @Test
  void theNewestSnapshotUnderSequenceNrAndTimestampBoundsIsLoaded() {
    assertLoads(SnapshotSelectionCriteria.create(14, saved.get(1).timestamp()), 2);
  }

  @Test
  void oneSnapshotIsDeletedByItsMetadata() {
    SnapshotMetadata third = saved.get(2);
    assertLoads(SnapshotSelectionCriteria.create(13, Long.MAX_VALUE), 3);
    store.tell(new SnapshotProtocol.DeleteSnapshot(third), probe.getRef());
    probe.expectMsg(new DeleteSnapshotSuccess(third));
    assertLoads(SnapshotSelectionCriteria.create(13, Long.MAX_VALUE), 2);
    assertLoads(SnapshotSelectionCriteria.Latest(), 5);
  }

  @Test
  void snapshotsAreDeletedByCriteria() {
    SnapshotSelectionCriteria criteria = SnapshotSelectionCriteria.create(13, saved.get(2).timestamp());
    store.tell(new SnapshotProtocol.DeleteSnapshots(pid, criteria), probe.getRef());
    probe.expectMsg(new DeleteSnapshotsSuccess(criteria));
    assertTrue(load(pid, SnapshotSelectionCriteria.create(13, Long.MAX_VALUE)).isEmpty(), "1 to 3 are deleted");
    assertLoads(SnapshotSelectionCriteria.create(14, Long.MAX_VALUE), 4);
  }

  @Test
  void snapshotsBeyondAnUpperTimestampBoundAreNotDeleted() {
    SnapshotMetadata fourth = saved.get(3);
    SnapshotSelectionCriteria criteria = SnapshotSelectionCriteria.create(fourth.sequenceNr(), fourth.timestamp() - 1);
    store.tell(new SnapshotProtocol.DeleteSnapshots(pid, criteria), probe.getRef());
    probe.expectMsg(new DeleteSnapshotsSuccess(criteria));
    assertLoads(SnapshotSelectionCriteria.create(fourth.sequenceNr(), fourth.timestamp()), 4);
    assertTrue(load(pid, SnapshotSelectionCriteria.create(13, Long.MAX_VALUE)).isEmpty(), "1 to 3 are deleted");
  }

  @Test
  void aSnapshotSavedAgainAtTheSameSequenceNrReplacesTheFirst() {
    SnapshotMetadata again = save(new SnapshotMetadata(pid, 15, 0), "s-5 again");
    Option<SelectedSnapshot> s = load(pid, SnapshotSelectionCriteria.Latest());
    assertEquals("s-5 again", s.get().snapshot());
    assertEquals(again, s.get().metadata());
  }

  @Test
  void aSnapshotLargerThanSeveralChunksReadsBackWhole() {
    byte[] big = new byte[3 * 1024 * 1024 + 123]; // a chunk is 1 MiB
    new Random(7).nextBytes(big);
    save(new SnapshotMetadata(pid, 16, 0), big);
    assertArrayEquals(big, (byte[]) load(pid, SnapshotSelectionCriteria.Latest()).get().snapshot());
  }
}
