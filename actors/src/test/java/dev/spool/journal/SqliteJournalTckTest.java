package dev.spool.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.ActorRef;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.persistence.AtomicWrite;
import org.apache.pekko.persistence.DeleteMessagesSuccess;
import org.apache.pekko.persistence.JournalProtocol;
import org.apache.pekko.persistence.Persistence;
import org.apache.pekko.persistence.PersistentEnvelope;
import org.apache.pekko.persistence.PersistentRepr;
import org.apache.pekko.testkit.javadsl.TestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Pekko's journal TCK ({@code JournalSpec}), ported to JUnit 5 for the SQLite journal: the plugin
 * actor in an actor system on a temporary file, driven with the messages Pekko persistence sends
 * it. Each test starts from events 1 to 5 of a fresh persistence id, as the TCK's do.
 */
class SqliteJournalTckTest {

  static final String JOURNAL = "spool.journal.sqlite.journal";
  private static final AtomicInteger IDS = new AtomicInteger();

  private static Path dir;
  private static ActorSystem system;
  private static ActorRef journal;

  private final String writerUuid = UUID.randomUUID().toString();
  private String pid;
  private TestKit sender;
  private TestKit receiver;

  /** The configuration of a system with the SQLite plugins on {@code file}. */
  static Config config(Path file) {
    return ConfigFactory.parseMap(Map.of("spool.journal.sqlite.path", file.toString()))
        .withFallback(ConfigFactory.parseString("pekko.loglevel = WARNING"))
        .withFallback(ConfigFactory.load());
  }

  @BeforeAll
  static void start() throws Exception {
    dir = Files.createTempDirectory("sqlite-journal-tck");
    system = ActorSystem.create("journal-tck", config(dir.resolve("journal.db")));
    journal = Persistence.get(system).journalFor(JOURNAL, ConfigFactory.empty());
  }

  @AfterAll
  static void stop() {
    TestKit.shutdownActorSystem(system);
  }

  @BeforeEach
  void writeFiveEvents() {
    pid = "p-" + IDS.incrementAndGet();
    sender = new TestKit(system);
    receiver = new TestKit(system);
    List<PersistentEnvelope> writes = new ArrayList<>();
    for (long i = 1; i <= 5; i++) {
      writes.add(AtomicWrite.apply(repr("a-" + i, i)));
    }
    write(writes, 5);
  }

  private PersistentRepr repr(Object payload, long sequenceNr) {
    return PersistentRepr.apply(payload, sequenceNr, pid, "", false, sender.getRef(), writerUuid);
  }

  /** Writes and expects every event confirmed. */
  private void write(List<PersistentEnvelope> writes, int events) {
    TestKit probe = new TestKit(system);
    journal.tell(new JournalProtocol.WriteMessages(CollectionConverters.asScala(writes).toList(), probe.getRef(), 1),
        ActorRef.noSender());
    probe.expectMsg(JournalProtocol.WriteMessagesSuccessful$.MODULE$);
    for (int i = 0; i < events; i++) {
      probe.expectMsgClass(JournalProtocol.WriteMessageSuccess.class);
    }
  }

  private List<Long> replay(long from, long to, long max) {
    journal.tell(new JournalProtocol.ReplayMessages(from, to, max, pid, receiver.getRef()), ActorRef.noSender());
    List<Long> replayed = new ArrayList<>();
    while (true) {
      Object m = receiver.receiveOne(Duration.ofSeconds(10));
      if (m instanceof JournalProtocol.ReplayedMessage r) {
        assertEquals("a-" + r.persistent().sequenceNr(), r.persistent().payload());
        assertEquals(pid, r.persistent().persistenceId());
        assertEquals(writerUuid, r.persistent().writerUuid());
        replayed.add(r.persistent().sequenceNr());
      } else {
        assertInstanceOf(JournalProtocol.RecoverySuccess.class, m, "the replay ends with its highest sequence nr");
        assertEquals(5, ((JournalProtocol.RecoverySuccess) m).highestSequenceNr());
        return replayed;
      }
    }
  }

  private void delete(long to) {
    TestKit probe = new TestKit(system);
    journal.tell(new JournalProtocol.DeleteMessagesTo(pid, to, probe.getRef()), ActorRef.noSender());
    probe.expectMsg(new DeleteMessagesSuccess(to));
  }

  @Test
  void replayAllMessages() {
    assertEquals(List.of(1L, 2L, 3L, 4L, 5L), replay(1, Long.MAX_VALUE, Long.MAX_VALUE));
  }

  @Test
  void replayFromALowerBound() {
    assertEquals(List.of(3L, 4L, 5L), replay(3, Long.MAX_VALUE, Long.MAX_VALUE));
  }

  @Test
  void replayToAnUpperBound() {
    assertEquals(List.of(1L, 2L, 3L), replay(1, 3, Long.MAX_VALUE));
  }

  @Test
  void replayUpToACountLimit() {
    assertEquals(List.of(1L, 2L, 3L), replay(1, Long.MAX_VALUE, 3));
  }

  @Test
  void replayBetweenBoundsAndUpToACountLimit() {
    assertEquals(List.of(2L, 3L), replay(2, 3, Long.MAX_VALUE));
    assertEquals(List.of(2L, 3L), replay(2, 5, 2));
  }

  @Test
  void replayOneWhenTheBoundsAreEqualOrTheLimitIsOne() {
    assertEquals(List.of(2L), replay(2, 2, Long.MAX_VALUE));
    assertEquals(List.of(2L), replay(2, 4, 1));
  }

  @Test
  void replayNothingForALimitOfZeroOrBoundsTheWrongWayRound() {
    assertEquals(List.of(), replay(1, Long.MAX_VALUE, 0));
    assertEquals(List.of(), replay(3, 2, Long.MAX_VALUE));
  }

  @Test
  void replayNothingForAPersistenceIdWithoutEvents() {
    journal.tell(new JournalProtocol.ReplayMessages(1, Long.MAX_VALUE, Long.MAX_VALUE, "unknown-" + pid,
        receiver.getRef()), ActorRef.noSender());
    receiver.expectMsg(new JournalProtocol.RecoverySuccess(0));
  }

  @Test
  void deletedEventsAreNotReplayed() {
    delete(3);
    assertEquals(List.of(4L, 5L), replay(1, Long.MAX_VALUE, Long.MAX_VALUE));
  }

  @Test
  void theHighestSequenceNrOutlivesTheDeletionOfEveryEvent() {
    delete(3);
    assertEquals(List.of(4L, 5L), replay(1, Long.MAX_VALUE, Long.MAX_VALUE));
    delete(Long.MAX_VALUE); // replay() checks RecoverySuccess(5)
    assertEquals(List.of(), replay(1, Long.MAX_VALUE, Long.MAX_VALUE));
  }

  @Test
  void anAtomicWriteOfSeveralEventsIsStoredWhole() {
    write(List.of(AtomicWrite.apply(CollectionConverters.asScala(List.of(repr("a-6", 6), repr("a-7", 7),
        repr("a-8", 8))).toList())), 3);
    journal.tell(new JournalProtocol.ReplayMessages(6, Long.MAX_VALUE, Long.MAX_VALUE, pid, receiver.getRef()),
        ActorRef.noSender());
    for (long i = 6; i <= 8; i++) {
      assertEquals(i, receiver.expectMsgClass(JournalProtocol.ReplayedMessage.class).persistent().sequenceNr());
    }
    receiver.expectMsg(new JournalProtocol.RecoverySuccess(8));
  }

  @Test
  void aWriteThatCannotBeSerializedIsRejectedAloneAndTheOthersAreStored() {
    TestKit probe = new TestKit(system);
    List<PersistentEnvelope> writes = List.of(AtomicWrite.apply(repr("a-6", 6)),
        AtomicWrite.apply(repr(new Object(), 7)), AtomicWrite.apply(repr("a-8", 8)));
    journal.tell(new JournalProtocol.WriteMessages(CollectionConverters.asScala(writes).toList(), probe.getRef(), 1),
        ActorRef.noSender());
    probe.expectMsg(JournalProtocol.WriteMessagesSuccessful$.MODULE$);
    assertEquals(6, probe.expectMsgClass(JournalProtocol.WriteMessageSuccess.class).persistent().sequenceNr());
    assertEquals(7, probe.expectMsgClass(JournalProtocol.WriteMessageRejected.class).message().sequenceNr());
    assertEquals(8, probe.expectMsgClass(JournalProtocol.WriteMessageSuccess.class).persistent().sequenceNr());
    journal.tell(new JournalProtocol.ReplayMessages(6, Long.MAX_VALUE, Long.MAX_VALUE, pid, receiver.getRef()),
        ActorRef.noSender());
    assertEquals(6, receiver.expectMsgClass(JournalProtocol.ReplayedMessage.class).persistent().sequenceNr());
    assertEquals(8, receiver.expectMsgClass(JournalProtocol.ReplayedMessage.class).persistent().sequenceNr());
    receiver.expectMsg(new JournalProtocol.RecoverySuccess(8));
  }

  @Test
  void aSequenceNrWrittenTwiceFailsTheWriteAndKeepsTheFirst() {
    TestKit probe = new TestKit(system);
    journal.tell(new JournalProtocol.WriteMessages(CollectionConverters.asScala(
        List.<PersistentEnvelope>of(AtomicWrite.apply(repr("b-5", 5)))).toList(), probe.getRef(), 1),
        ActorRef.noSender());
    probe.expectMsgClass(JournalProtocol.WriteMessagesFailed.class);
    probe.expectMsgClass(JournalProtocol.WriteMessageFailure.class);
    assertEquals(List.of(1L, 2L, 3L, 4L, 5L), replay(1, Long.MAX_VALUE, Long.MAX_VALUE));
  }

  @Test
  void eventsAreSerializedWithPekkoSerialization() {
    // A byte array goes through Pekko's ByteArraySerializer and back unchanged.
    byte[] bytes = new byte[64 * 1024];
    new java.util.Random(1).nextBytes(bytes);
    write(List.of(AtomicWrite.apply(repr(bytes, 6))), 1);
    journal.tell(new JournalProtocol.ReplayMessages(6, 6, 1, pid, receiver.getRef()), ActorRef.noSender());
    Object replayed = receiver.expectMsgClass(JournalProtocol.ReplayedMessage.class).persistent().payload();
    org.junit.jupiter.api.Assertions.assertArrayEquals(bytes, (byte[]) replayed);
    receiver.expectMsg(new JournalProtocol.RecoverySuccess(6));
  }
}
