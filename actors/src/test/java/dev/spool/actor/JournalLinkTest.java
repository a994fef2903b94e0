package dev.spool.actor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.JournalHealth;
import dev.spool.SpoolException;
import dev.spool.durable.QueueJournal;
import dev.spool.queue.GroupCommit;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A durable queue's journal condition against a group commit whose writes the test answers. */
class JournalLinkTest {

  private final Instant t0 = Instant.parse("2026-11-30T12:00:00Z");
  private final GroupCommit<String, String> groupCommit = new GroupCommit<>();
  private final JournalLink<String, String> link = new JournalLink<>("orders", groupCommit, Duration.ofSeconds(5), t0);

  /** Hands the journal a write (a consumer's deletion) and returns its id. */
  private long write(String consumer) {
    groupCommit.delete(consumer);
    return groupCommit.next().id();
  }

  private static QueueJournal.Recovered recovered(long lastWriteId) {
    return new QueueJournal.Recovered(lastWriteId, 0, List.of(), List.of(), Map.of(), List.of());
  }

  @Test
  void aWriteStillUnderWayStallsTheJournalUntilItCompletes() {
    long id = write("audit");

    assertTrue(link.stalled(id, t0.plusSeconds(5)));
    assertEquals(JournalHealth.State.WRITE_STALLED, link.state());
    assertFalse(link.stalled(id, t0.plusSeconds(10))); // already said
    SpoolException refused = assertThrows(SpoolException.JournalUnavailable.class, link::requireWritable);
    assertTrue(refused.getMessage().contains("write-stalled since " + t0.plusSeconds(5)), refused.getMessage());
    assertEquals(t0.plusSeconds(5), link.problem().since());

    var settled = link.settle(new QueueJournal.Written(id), t0.plusSeconds(12));

    assertEquals(id, settled.stored().get(0).id());
    assertEquals(List.of(), settled.notStored());
    assertTrue(settled.changed());
    assertEquals(JournalHealth.State.OK, link.state());
    assertNull(link.problem());
    link.requireWritable();
    assertFalse(link.stalled(id, t0.plusSeconds(15))); // the check for a write that completed says nothing
  }

  @Test
  void aReplyForAWriteNotUnderWaySettlesNothingAndEndsNoFailure() {
    long id = write("audit");
    link.settle(new QueueJournal.WriteFailed(new SQLException("disk I/O error")), t0);

    var late = link.settle(new QueueJournal.Written(id + 1), t0.plusSeconds(1));

    assertEquals(List.of(), late.stored());
    assertEquals(List.of(), late.notStored());
    assertFalse(late.changed());
    assertEquals(JournalHealth.State.WRITE_FAILED, link.state());
  }

  @Test
  void theJournalsRestartTellsWhetherTheWriteUnderWayWasStored() {
    long first = write("audit");
    var failed = link.settle(new QueueJournal.WriteFailed(new SQLException("disk I/O error")), t0);
    assertTrue(failed.changed());
    assertEquals("SQLException: disk I/O error", link.problem().detail());

    var notStored = link.settle(recovered(first - 1), t0.plusSeconds(2));
    assertEquals(first, notStored.notStored().get(0).id());
    assertEquals(List.of(), notStored.stored());
    assertTrue(notStored.afterRestart());
    assertTrue(notStored.changed());
    assertEquals(JournalHealth.State.OK, link.state());

    long second = write("billing");
    var stored = link.settle(recovered(second), t0.plusSeconds(3));
    assertEquals(second, stored.stored().get(0).id());
    assertEquals(List.of(), stored.notStored());
    assertFalse(stored.changed()); // it was writable already
  }

  @Test
  void anUnavailableJournalIsToldOncePerReasonAndABreakerKeepsTheReason() {
    var first = link.settle(new QueueJournal.Unavailable(new SQLException("database is locked")), t0);
    var same = link.settle(new QueueJournal.Unavailable(new SQLException("database is locked")), t0.plusSeconds(1));
    var breaker = link.settle(new QueueJournal.Unavailable(
        new org.apache.pekko.pattern.CircuitBreakerOpenException(
            scala.concurrent.duration.FiniteDuration.apply(1, java.util.concurrent.TimeUnit.SECONDS), "open")),
        t0.plusSeconds(2));

    assertTrue(first.changed());
    assertFalse(same.changed());
    assertFalse(breaker.changed());
    assertEquals(JournalHealth.State.UNAVAILABLE, link.state());
    assertEquals("SQLException: database is locked", link.problem().detail());
    assertEquals(t0, link.problem().since());
  }
}
