package dev.spool.queue;

import static dev.spool.queue.QueueCoreFixture.kib;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.ConsumerSettings;
import dev.spool.Message;
import dev.spool.QueueSettings;
import dev.spool.durable.ConsumerPosition;
import dev.spool.durable.QueueEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.TestInbox;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;
import org.junit.jupiter.api.Test;

/**
 * Group commit against a fake journal: a list of the writes handed to it, each stored or lost as the
 * test says. Creation replies and position owners are plain strings here.
 */
class GroupCommitTest {

  /** The journal as the queue sees it: one write under way at a time, answered by the test. */
  private static final class FakeJournal {
    final List<GroupCommit.Write> writes = new ArrayList<>();

    void offer(GroupCommit.Write write) {
      if (write != null) {
        writes.add(write);
      }
    }

    QueueEvent last() {
      return writes.get(writes.size() - 1).event();
    }
  }

  private final QueueCoreFixture q = new QueueCoreFixture(QueueSettings.defaults(), 0, true);
  private final GroupCommit<String, String> commit = new GroupCommit<>();
  private final FakeJournal journal = new FakeJournal();

  private Appender.Prepared publish(ActorRef<StatusReply<List<Long>>> replyTo, Message... messages) {
    Appender.Prepared prepared = q.appender.prepare("p", List.of(messages));
    commit.publish(prepared, replyTo);
    q.appender.awaitJournal(prepared);
    journal.offer(commit.next());
    return prepared;
  }

  private static ActorRef<StatusReply<List<Long>>> publisher() {
    return TestInbox.<StatusReply<List<Long>>>create().getRef();
  }

  @Test
  void whatArrivesWhileAWriteIsUnderWayGoesInTheNextOneTogether() {
    ActorRef<StatusReply<List<Long>>> first = publisher();
    publish(first, kib());
    assertEquals(1, journal.writes.size());
    publish(publisher(), kib(), kib());
    publish(publisher(), kib());
    commit.position("billing", new ConsumerPosition(2, new long[0], new int[0], false), "billing-1", 7);
    assertEquals(1, journal.writes.size()); // one write at a time
    assertFalse(commit.idle());

    GroupCommit.Batch<String, String> done = commit.written(1);
    assertSame(first, done.publishes().get(0).replyTo());
    journal.offer(commit.next());

    assertEquals(2, journal.writes.size());
    assertEquals(2, journal.writes.get(1).id());
    QueueEvent second = journal.last();
    assertEquals(List.of(2L, 3L, 4L), second.messages().stream().map(Message::sequence).toList());
    assertEquals(2, second.positions().get("billing").next());
    assertNull(commit.written(1)); // not the write under way
    assertEquals(7, commit.written(2).positions().get("billing").version());
    assertTrue(commit.idle());
  }

  @Test
  void aLostWriteWithMessagesRefusesWhatGatheredSinceAndCarriesItsOtherChangesOver() {
    commit.delete("audit");
    commit.removed(List.of(kib().appended(9, 0, "p"))); // an eviction of a message stored before
    commit.position("billing", new ConsumerPosition(1, new long[0], new int[0], false), "billing-1", 3);
    publish(publisher(), kib()); // write 1 carries all of it
    publish(publisher(), kib());
    // The journal restarted and read itself back without write 1: its message is lost, and the
    // second publish, gathered since, has a sequence after it.
    GroupCommit.Batch<String, String> lost = commit.recovered(0, 1).get(0);
    assertEquals(1, lost.id());

    GroupCommit.Refused<String, String> refused = commit.failed(lost);

    assertEquals(2, refused.publishes().size());
    assertTrue(refused.lostMessages());
    journal.offer(commit.next());
    QueueEvent carried = journal.last();
    assertEquals(2, journal.writes.get(1).id());
    assertEquals(List.of("audit"), carried.deleted());
    assertArrayEquals(new long[] {9}, carried.removed());
    assertTrue(carried.messages().isEmpty());
    assertEquals(Map.of(), carried.positions()); // asked for again instead: a consumer may be new under that name
    assertEquals("billing-1", refused.positions().get("billing").from());
  }

  @Test
  void theJournalsRecoveryTellsWhetherTheWriteUnderWayWasStored() {
    publish(publisher(), kib());
    GroupCommit.Batch<String, String> unsure = commit.recovered(5, 1).get(0); // the journal had written up to 5

    assertEquals(1, unsure.id()); // stored: the owner completes it
    publish(publisher(), kib());
    assertEquals(6, journal.last().writeId()); // ids go on after what the journal holds
  }

  @Test
  void aConsumerBeingCreatedIsFoundUntilItsWriteIsStoredAndItsRequestsAnsweredTogether() {
    ConsumerSettings billing = ConsumerSettings.named("billing");
    commit.create(billing, 1, "create-1");
    journal.offer(commit.next());
    commit.pendingConsumer("billing").replies().add("create-2");

    GroupCommit.Batch<String, String> done = commit.written(1);

    assertEquals(List.of("create-1", "create-2"), done.created().get("billing").replies());
    assertEquals(1, journal.last().created().size());
    assertNull(commit.pendingConsumer("billing"));
  }

  @Test
  void aDeletionIsAnsweredWithTheWriteThatCarriesItEvenIfFreeingStartedThatWrite() {
    ActorRef<StatusReply<Done>> replyTo = TestInbox.<StatusReply<Done>>create().getRef();
    commit.delete("audit");
    commit.freedBelow(40); // what the deleted consumer held was freed, and that started the write
    journal.offer(commit.next());

    commit.awaitDeletion("audit", replyTo);

    assertEquals(List.of(replyTo), commit.written(1).deleted().get("audit"));
    assertEquals(40, journal.last().freedBelow());
  }

  @Test
  void aFreedPointIsWrittenOnlyWhenItIsNewsToTheJournal() {
    assertTrue(commit.freedBelow(10));
    journal.offer(commit.next());
    commit.stored(commit.written(1));

    assertFalse(commit.freedBelow(10));
    assertNull(commit.next());
    assertTrue(commit.freedBelow(11));
  }

  @Test
  void twoWritesGoOutAtOnceEachNamingTheOneItFollowsAndTheLastStored() {
    GroupCommit<String, String> pipelined = new GroupCommit<>(null, 2);
    pipelined.restore(4, 0, 77);
    Appender.Prepared a = q.appender.prepare("p", List.of(kib()));
    pipelined.publish(a, publisher());
    q.appender.awaitJournal(a);
    GroupCommit.Write first = pipelined.next();
    Appender.Prepared b = q.appender.prepare("p", List.of(kib()));
    pipelined.publish(b, publisher());
    q.appender.awaitJournal(b);
    GroupCommit.Write second = pipelined.next();
    pipelined.position("billing", new ConsumerPosition(2, new long[0], new int[0], false), "billing-1", 1);

    assertEquals(5, first.id());
    assertEquals(6, second.id());
    assertEquals(77, second.epoch());
    assertEquals(4, first.event().follows());
    assertEquals(4, first.event().confirmed());
    assertEquals(5, second.event().follows()); // handed out while write 5 was under way
    assertEquals(4, second.event().confirmed());
    assertEquals(List.of(1L), first.event().messages().stream().map(Message::sequence).toList());
    assertEquals(List.of(2L), second.event().messages().stream().map(Message::sequence).toList());
    assertNull(pipelined.next(), "two under way: the position waits");
    assertEquals(2, pipelined.inFlight());
    assertTrue(pipelined.isWriting(5) && pipelined.isWriting(6));

    assertNull(pipelined.written(6), "answers come in order: 6 is not the oldest");
    assertEquals(5, pipelined.written(5).id());
    GroupCommit.Write third = pipelined.next();
    assertEquals(7, third.id());
    assertEquals(6, third.event().follows());
    assertEquals(5, third.event().confirmed());
  }

  @Test
  void afterAFailedWriteNothingGoesOutAndTheRecoverySettlesEveryWriteUnderWay() {
    GroupCommit<String, String> pipelined = new GroupCommit<>(null, 2);
    pipelined.restore(0, 0, 1);
    for (int i = 0; i < 2; i++) {
      Appender.Prepared p = q.appender.prepare("p", List.of(kib()));
      pipelined.publish(p, publisher());
      q.appender.awaitJournal(p);
      pipelined.next();
    }
    pipelined.halt();
    pipelined.position("billing", new ConsumerPosition(2, new long[0], new int[0], false), "billing-1", 1);
    assertNull(pipelined.next(), "halted until the journal recovered");

    List<GroupCommit.Batch<String, String>> unsure = pipelined.recovered(1, 2);

    assertEquals(List.of(1L, 2L), unsure.stream().map(GroupCommit.Batch::id).toList());
    assertEquals(0, pipelined.inFlight());
    GroupCommit.Write next = pipelined.next();
    assertEquals(3, next.id(), "ids go on above every id handed out");
    assertEquals(1, next.event().follows(), "after the last write the journal holds");
    assertEquals(2, next.epoch());
  }
}
