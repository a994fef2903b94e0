package dev.spool.journal;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.apache.pekko.actor.ActorRef;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.persistence.AtomicWrite;
import org.apache.pekko.persistence.JournalProtocol;
import org.apache.pekko.persistence.Persistence;
import org.apache.pekko.persistence.PersistentEnvelope;
import org.apache.pekko.persistence.PersistentRepr;
import org.apache.pekko.testkit.javadsl.TestKit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import scala.jdk.javaapi.CollectionConverters;

/**
 * A journal file that cannot be opened or is damaged: the plugin still starts, every operation
 * fails with an error naming the file (and, when damaged, the recovery tool), the next operation
 * tries again; and {@link RecoverJournal} turns a file with pages overwritten by garbage into a
 * working one that holds every event it could read, unchanged.
 */
class SqliteDamageTest {

  private static final int PAGE = 4096;

  private static ActorSystem system(Path file) {
    return ActorSystem.create("damage", SqliteJournalTckTest.config(file));
  }

  private static ActorRef journal(ActorSystem system) {
    return Persistence.get(system).journalFor(SqliteJournalTckTest.JOURNAL, ConfigFactory.empty());
  }

  private static Throwable failedWrite(ActorSystem system, ActorRef journal) {
    TestKit probe = new TestKit(system);
    PersistentRepr repr = PersistentRepr.apply("e", 1, "p", "", false, ActorRef.noSender(), "w");
    journal.tell(new JournalProtocol.WriteMessages(CollectionConverters.asScala(
        List.<PersistentEnvelope>of(AtomicWrite.apply(repr))).toList(), probe.getRef(), 1), ActorRef.noSender());
    Object reply = probe.receiveOne(Duration.ofSeconds(10));
    assertInstanceOf(JournalProtocol.WriteMessagesFailed.class, reply, "the write fails");
    return ((JournalProtocol.WriteMessagesFailed) reply).cause();
  }

  @Test
  void aFileThatIsNotADatabaseFailsEachOperationNamingTheFileAndTheTool(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("journal.db");
    byte[] garbage = new byte[64 * 1024];
    new Random(3).nextBytes(garbage);
    Files.write(file, garbage);
    ActorSystem system = system(file);
    try {
      ActorRef journal = journal(system);
      for (int attempt = 0; attempt < 2; attempt++) { // the plugin is still there, and still says why
        Throwable cause = failedWrite(system, journal);
        JournalUnavailableException e = assertInstanceOf(JournalUnavailableException.class, cause);
        assertTrue(e.damaged());
        assertTrue(e.getMessage().contains(file.toAbsolutePath().toString()), e.getMessage());
        assertTrue(e.getMessage().contains(RecoverJournal.class.getName()), e.getMessage());
      }
    } finally {
      TestKit.shutdownActorSystem(system);
    }
  }

  @Test
  void aJournalThatCannotBeOpenedIsOpenedByALaterOperationOnceItCan(@TempDir Path dir) throws Exception {
    Path blocker = dir.resolve("data");
    Files.writeString(blocker, "a file where the journal's directory should be");
    Path file = blocker.resolve("journal.db");
    // Pekko's circuit breaker would otherwise fail the polls below fast once ten have failed
    ActorSystem system = ActorSystem.create("damage", ConfigFactory.parseString(
        SqliteJournalTckTest.JOURNAL + ".circuit-breaker.max-failures = 1000")
        .withFallback(SqliteJournalTckTest.config(file)));
    try {
      ActorRef journal = journal(system);
      JournalUnavailableException e = assertInstanceOf(JournalUnavailableException.class,
          failedWrite(system, journal));
      assertTrue(!e.damaged() && e.getMessage().contains(file.toString()), e.getMessage());
      Files.delete(blocker);
      TestKit probe = new TestKit(system);
      await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(300)).untilAsserted(() -> {
        journal.tell(new JournalProtocol.ReplayMessages(1, Long.MAX_VALUE, Long.MAX_VALUE, "p", probe.getRef()),
            ActorRef.noSender());
        assertEquals(new JournalProtocol.RecoverySuccess(0), probe.receiveOne(Duration.ofSeconds(10)));
      });
      assertTrue(Files.exists(file));
    } finally {
      TestKit.shutdownActorSystem(system);
    }
  }

  @Test
  void recoverJournalKeepsEveryReadableEventOfADamagedFile(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("journal.db");
    Random random = new Random(5);
    byte[][] payloads = new byte[3000][];
    ActorSystem first = system(file);
    try {
      ActorRef journal = journal(first);
      TestKit probe = new TestKit(first);
      for (int from = 0; from < payloads.length; from += 100) {
        List<PersistentEnvelope> writes = new ArrayList<>();
        for (int i = from; i < from + 100; i++) {
          payloads[i] = new byte[1024];
          random.nextBytes(payloads[i]);
          writes.add(AtomicWrite.apply(PersistentRepr.apply(payloads[i], i + 1, "p", "", false, ActorRef.noSender(),
              "w")));
        }
        journal.tell(new JournalProtocol.WriteMessages(CollectionConverters.asScala(writes).toList(),
            probe.getRef(), 1), ActorRef.noSender());
        probe.expectMsg(JournalProtocol.WriteMessagesSuccessful$.MODULE$);
        probe.receiveN(100);
      }
    } finally {
      TestKit.shutdownActorSystem(first); // the last connection to close checkpoints the WAL into the file
    }
    long pages = Files.size(file) / PAGE;
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
      byte[] garbage = new byte[PAGE];
      for (long page : new long[] {pages / 3, pages / 3 + 1, pages / 2, 2 * pages / 3 + 7}) {
        random.nextBytes(garbage);
        raf.seek(page * PAGE);
        raf.write(garbage);
      }
    }

    ActorSystem damaged = system(file);
    try {
      assertTrue(assertInstanceOf(JournalUnavailableException.class, failedWrite(damaged, journal(damaged)))
          .damaged(), "quick_check finds the damage at open");
    } finally {
      TestKit.shutdownActorSystem(damaged);
    }

    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    RecoverJournal.Report report = RecoverJournal.recover(file, new PrintStream(printed, true, StandardCharsets.UTF_8));
    System.out.print(printed.toString(StandardCharsets.UTF_8));
    RecoverJournal.TableReport events = report.tables().get(0);
    assertTrue(events.kept() > payloads.length / 2 && events.kept() < payloads.length, "kept " + events.kept());
    assertTrue(events.unreadableRanges() >= 1);
    assertTrue(printed.toString(StandardCharsets.UTF_8).contains("journal"));
    assertTrue(Files.exists(report.damaged()), "the damaged file is kept aside");
    try (Stream<Path> files = Files.list(dir)) {
      assertTrue(files.noneMatch(p -> p.getFileName().toString().endsWith(".recovering")));
    }
    try (Connection c = SqliteFile.connect(file); Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("PRAGMA integrity_check")) {
      rs.next();
      assertEquals("ok", rs.getString(1));
    }

    ActorSystem recovered = system(file);
    try {
      TestKit probe = new TestKit(recovered);
      journal(recovered).tell(new JournalProtocol.ReplayMessages(1, Long.MAX_VALUE, Long.MAX_VALUE, "p",
          probe.getRef()), ActorRef.noSender());
      long replayed = 0;
      long previous = 0;
      while (true) {
        Object m = probe.receiveOne(Duration.ofSeconds(10));
        if (m instanceof JournalProtocol.ReplayedMessage r) {
          long seq = r.persistent().sequenceNr();
          assertTrue(seq > previous, "in order");
          assertArrayEquals(payloads[(int) seq - 1], (byte[]) r.persistent().payload(), "event " + seq);
          previous = seq;
          replayed++;
        } else {
          assertInstanceOf(JournalProtocol.RecoverySuccess.class, m);
          break;
        }
      }
      assertEquals(events.kept(), replayed, "every event kept is replayed");
    } finally {
      TestKit.shutdownActorSystem(recovered);
    }
  }
}
