package dev.spool.durable;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.Message;
import dev.spool.SpoolSettings;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.LoggingTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit;
import org.apache.pekko.persistence.testkit.javadsl.SnapshotTestKit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A queue's journal on Pekko's test journal and snapshot store: a snapshot the heap has no room
 * for is postponed with one warning and every event kept, it is taken once it fits, the events
 * before the older of the last two snapshots are deleted, and recovery reads the right state
 * throughout; what writes and snapshots hold is counted while they are under way.
 */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class QueueJournalSnapshotTest {

  @JUnit5TestKit
  ActorTestKit testKit = new JUnit5TestKitBuilder()
      // A log line awaited on a busy 2-core CI machine can take longer than Pekko's 3 s default.
      .withCustomConfig(TestJournal.config("pekko.actor.testkit.typed.filter-leeway = 15s"))
      .build();

  private static final int EVERY = 5;
  private static final int COPIES = 3;

  /** Memory with {@code free} bytes of room for snapshots, recording what is held. */
  private static final class Room implements JournalMemory {
    volatile long free;
    private long held;
    private long peak;
    private long snapshotHolds;

    Room(long free) {
      this.free = free;
    }

    @Override
    public synchronized boolean holdIfFits(long bytes) {
      if (bytes > free) {
        return false;
      }
      snapshotHolds++;
      held += bytes;
      peak = Math.max(peak, held);
      return true;
    }

    @Override
    public synchronized void releaseHeld(long bytes) {
      held -= bytes;
    }

    synchronized long held() {
      return held;
    }

    synchronized long peak() {
      return peak;
    }

    synchronized long snapshotHolds() {
      return snapshotHolds;
    }
  }

  private final String queue = "q" + UUID.randomUUID().toString().substring(0, 8);
  private final String pid = QueueJournal.persistenceId(queue, "1").id();
  private final TestProbe<QueueJournal.Reply> replies = testKit.createTestProbe();
  private long writeId;

  private QueueJournal.Recovered recovered;

  /** Starts the journal (a snapshot every {@link #EVERY} writes); {@link #recovered} is what it read. */
  private ActorRef<QueueJournal.Command> journal(Room room) {
    SpoolSettings.Persistence base = SpoolSettings.create(testKit.system()).persistence();
    return journal(room, base.withSnapshotEvery(EVERY).withSnapshotCopies(COPIES));
  }

  private ActorRef<QueueJournal.Command> journal(Room room, SpoolSettings.Persistence settings) {
    ActorRef<QueueJournal.Command> journal = testKit.spawn(QueueJournal.create(queue, "1", settings,
        Duration.ofMinutes(5), 1000, null, room, replies.ref()));
    recovered = replies.expectMessageClass(QueueJournal.Recovered.class);
    writeId = recovered.lastWriteId();
    return journal;
  }

  /** Stops {@code journal} and starts it again: recovery reads what it stored. */
  private ActorRef<QueueJournal.Command> restart(ActorRef<QueueJournal.Command> journal, Room room) {
    testKit.stop(journal);
    return journal(room);
  }

  /** Journals one 1 KiB message (sequence = write id) and waits until it is stored. */
  private Message write(ActorRef<QueueJournal.Command> journal) {
    long id = ++writeId;
    byte[] payload = new byte[1024];
    ThreadLocalRandom.current().nextBytes(payload);
    Message m = Message.of("t", payload).appended(id, System.currentTimeMillis(), "p");
    journal.tell(new QueueJournal.Write(new QueueEvent(id, List.of(m), List.of(), List.of(), Map.of(), new long[0],
        0), recovered.epoch()));
    assertEquals(new QueueJournal.Written(id), replies.expectMessageClass(QueueJournal.Written.class));
    return m;
  }

  /**
   * Journals one message of {@code size} random bytes (sequence = write id) that frees every earlier
   * one, as a consumer keeping up would, and waits until it is stored.
   */
  private Message writeFreeing(ActorRef<QueueJournal.Command> journal, int size) {
    long id = ++writeId;
    byte[] payload = new byte[size];
    ThreadLocalRandom.current().nextBytes(payload);
    Message m = Message.of("t", payload).appended(id, System.currentTimeMillis(), "p");
    journal.tell(new QueueJournal.Write(new QueueEvent(id, List.of(m), List.of(), List.of(), Map.of(), new long[0],
        id), recovered.epoch()));
    assertEquals(new QueueJournal.Written(id), replies.expectMessageClass(QueueJournal.Written.class));
    return m;
  }

  /** The accounted bytes of the messages in the events stored. */
  private long eventBytes() {
    long bytes = 0;
    for (Object e : PersistenceTestKit.create(testKit.system()).persistedInStorage(pid)) {
      for (Message m : ((QueueEvent) e).messages()) {
        bytes += m.sizeBytes();
      }
    }
    return bytes;
  }

  private int events() {
    return PersistenceTestKit.create(testKit.system()).persistedInStorage(pid).size();
  }

  private int snapshots() {
    return SnapshotTestKit.create(testKit.system()).persistedInStorage(pid).size();
  }

  @Test
  void aSnapshotWithoutRoomIsPostponedWithEveryEventKeptAndTakenOnceItFits() {
    Room room = new Room(0);
    ActorRef<QueueJournal.Command> journal = journal(room);
    for (int i = 1; i < EVERY; i++) {
      write(journal);
    }
    LoggingTestKit.warn("snapshot postponed").withOccurrences(1).expect(testKit.system(), () -> {
      for (int i = 0; i < 4; i++) {
        write(journal); // due from the 5th write on: one warning for the whole postponement
      }
      return null;
    });
    assertEquals(0, snapshots(), "no snapshot was written");
    assertEquals(8, events(), "every event is kept while the snapshot waits");
    assertEquals(0, room.held(), "nothing is held for a postponed snapshot");

    ActorRef<QueueJournal.Command> restarted = restart(journal, room);
    assertEquals(8, recovered.messages().size(), "recovery reads every event");
    write(restarted); // still no room: postponed again

    room.free = Long.MAX_VALUE; // the consumers caught up: there is room now
    LoggingTestKit.info("taken after").expect(testKit.system(), () -> write(restarted));
    await().atMost(Duration.ofSeconds(5)).until(() -> snapshots() == 1);
    assertEquals(1, room.snapshotHolds());
    await().atMost(Duration.ofSeconds(5)).until(() -> room.held() == 0); // given back once it is stored
    assertEquals(10, events(), "the first snapshot deletes nothing: there is no older one to start from");

    for (int i = 0; i < EVERY; i++) {
      write(restarted);
    }
    // The second snapshot (after write 15) deletes the events up to the first (write 10) and older snapshots.
    await().atMost(Duration.ofSeconds(5)).until(() -> events() == 5);
    assertEquals(2, snapshots(), "two snapshots are kept");
    restart(restarted, room);
    assertEquals(15, recovered.messages().size(), "recovery reads the snapshot and the events after it");
    assertEquals(15, recovered.lastWriteId());
  }

  @Test
  void aSnapshotBeingWrittenIsCountedUntilTheStoreAnswers() {
    Room room = new Room(Long.MAX_VALUE);
    ActorRef<QueueJournal.Command> journal = journal(room);
    Message m = write(journal);
    assertEquals(0, room.peak(), "a write holds nothing here: its queue reserved it with its publishes");
    for (int i = 1; i < EVERY; i++) {
      write(journal);
    }
    await().atMost(Duration.ofSeconds(5)).until(() -> snapshots() == 1);
    await().atMost(Duration.ofSeconds(5)).until(() -> room.held() == 0);
    assertTrue(room.peak() >= 5L * m.sizeBytes() * COPIES,
        "the snapshot of five 1 KiB messages was held at its size times the store's copies: " + room.peak());
  }

  @Test
  void journalingFarMoreThanIsRetainedKeepsTheStoredEventsBoundedLongBeforeSnapshotEveryWrites() {
    long afterBytes = 8L << 20;
    int size = 64 * 1024;
    SpoolSettings.Persistence settings = SpoolSettings.create(testKit.system()).persistence()
        .withSnapshotEvery(10_000).withSnapshotAfterBytes(afterBytes).withSnapshotCopies(0);
    ActorRef<QueueJournal.Command> journal = journal(new Room(Long.MAX_VALUE), settings);
    int writes = 1600; // 100 MiB of 64 KiB messages, each freed by the next write
    // Events are deleted up to the older of two snapshots: at most two intervals of 8 MiB are kept
    // (and the write that made the newer snapshot due, until its deletion is answered).
    long bound = 2 * afterBytes + 2L * (size + 1024);
    long mostBytes = 0;
    Message last = null;
    for (int i = 1; i <= writes; i++) {
      last = writeFreeing(journal, size);
      if (i % 8 == 0) { // reading the stored events deserializes them: look often, not after every write
        long bytes = eventBytes();
        assertTrue(bytes <= bound, "after " + i + " writes the stored events hold " + bytes + " bytes, over " + bound);
        mostBytes = Math.max(mostBytes, bytes);
      }
    }
    assertTrue(snapshots() >= 1, "snapshots were taken by bytes, not after 10,000 writes");
    assertTrue(mostBytes > afterBytes, "the bound was approached, so it was measured: " + mostBytes);
    System.out.printf("journaled %d MiB in %d writes; stored events held at most %d KiB, %d events at the end%n",
        (long) writes * last.sizeBytes() >> 20, writes, mostBytes >> 10, events());

    restart(journal, new Room(Long.MAX_VALUE));
    assertEquals(List.of(last.sequence()), recovered.messages().stream().map(Message::sequence).toList(),
        "recovery reads a snapshot and the events after it: only the last message is retained");
    assertEquals(writes, recovered.lastWriteId());
  }

  @Test
  void aWriteOfAnEarlierRecoveryIsDroppedAndTheCurrentOnesAreStored() {
    ActorRef<QueueJournal.Command> journal = journal(new Room(Long.MAX_VALUE));
    Message m = Message.of("t", new byte[1024]).appended(1, System.currentTimeMillis(), "p");
    QueueEvent stale = new QueueEvent(1, List.of(m), List.of(), List.of(), Map.of(), new long[0], 0, 0, null, 0, 0);
    journal.tell(new QueueJournal.Write(stale, recovered.epoch() + 1)); // sent before a recovery it did not hear of
    replies.expectNoMessage(Duration.ofMillis(300));
    assertEquals(0, events(), "nothing of it stored");

    journal.tell(new QueueJournal.Write(stale, recovered.epoch()));
    assertEquals(new QueueJournal.Written(1), replies.expectMessageClass(QueueJournal.Written.class));
    assertEquals(1, events());
  }
}
