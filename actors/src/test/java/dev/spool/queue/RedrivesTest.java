package dev.spool.queue;

import static dev.spool.queue.QueueCoreFixture.kib;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.Message;
import dev.spool.QueueSettings;
import dev.spool.SpoolException;
import java.util.List;
import org.apache.pekko.pattern.StatusReply;
import org.junit.jupiter.api.Test;

/** A dead-letter queue's redrives: what goes back where, and never twice at once. */
class RedrivesTest {

  private final QueueCoreFixture q = QueueCoreFixture.transientQueue(QueueSettings.defaults());
  private final Redrives redrives = new Redrives(q.log, m -> m.headers().get("source"),
      m -> m.withHeader("redriven-from", "orders.dlq"));

  private static Message deadLettered(String source) {
    return kib().withHeader("source", source);
  }

  private static List<String> queues(List<Redrives.Source> sources) {
    return sources.stream().map(Redrives.Source::queue).toList();
  }

  @Test
  void groupsTheDeadLetteredMessagesOfTheRangeBySourceAndSkipsTheRest() {
    q.publish(deadLettered("orders"), deadLettered("payments"), kib(), deadLettered("orders"),
        deadLettered("payments"));

    List<Redrives.Source> sources = redrives.start(2, 10);

    assertEquals(List.of("payments", "orders"), queues(sources)); // in the order they first appear
    assertEquals(List.of(2L, 5L), sources.get(0).sequences());
    assertEquals(List.of(4L), sources.get(1).sequences());
    assertTrue(sources.stream().flatMap(s -> s.messages().stream())
        .allMatch(m -> "orders.dlq".equals(m.headers().get("redriven-from"))));
  }

  @Test
  void aSecondRedriveOverTheSameRangeMovesOnlyWhatTheFirstIsNotMoving() {
    q.publish(deadLettered("orders"), deadLettered("orders"), deadLettered("orders"));
    redrives.start(1, 2);

    List<Redrives.Source> second = redrives.start(1, 3);
    assertEquals(List.of(3L), second.get(0).sequences());

    List<Long> moved = redrives.finished(List.of(1L), List.of(2L)); // 2 could not be moved
    assertEquals(List.of(1L), moved);
    q.retention.removeRedriven(moved); // as the owner does: 1 is gone, never moved twice
    assertEquals(List.of(), redrives.start(1, 1));
    assertEquals(List.of(2L), redrives.start(1, 2).get(0).sequences()); // 2 may be tried again
  }

  @Test
  void movedSequencesComeBackSortedForOneRemovalStep() {
    q.publish(deadLettered("orders"), deadLettered("payments"), deadLettered("orders"));
    redrives.start(1, 3);

    assertEquals(List.of(1L, 2L, 3L), redrives.finished(List.of(3L, 1L, 2L), List.of()));
  }

  @Test
  void anEmptyRangeIsRefusedAndNothingMovedIsAnErrorOnlyWithFailures() {
    assertThrows(SpoolException.InvalidConfiguration.class, () -> redrives.start(5, 4));

    assertEquals(StatusReply.success(0L), Redrives.outcome("dead-letters", 0, List.of(), true));
    assertEquals(StatusReply.success(2L), Redrives.outcome("dead-letters", 2, List.of("to 'orders': queue not found"), false));
    StatusReply<Long> failed = Redrives.outcome("dead-letters", 0, List.of("to 'orders': queue not found"), false);
    assertTrue(failed.isError());
    assertEquals("redrive moved nothing: to 'orders': queue not found", failed.getError().getMessage());
    assertInstanceOf(SpoolException.InvalidConfiguration.class, failed.getError());
    StatusReply<Long> full = Redrives.outcome("dead-letters", 0, List.of("to 'orders': queue 'orders' is full"), true);
    assertInstanceOf(SpoolException.QueueFull.class, full.getError(), "a full source is retried later: 429, not 400");
  }
}
