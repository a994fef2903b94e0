package dev.spool.actor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.spool.JournalHealth;
import dev.spool.JournalHealth.State;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The manager's view of journal problems, and what of the reports reaches the log. */
class JournalProblemsTest {

  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
  private static final String DOWN = "PSQLException: Connection to db:5432 refused <- ConnectException: Connection refused";
  private static final String CORRUPT = "JournalUnavailableException: the journal file /data/spool.db is damaged"
      + " (malformed): stop Spool and run 'java -cp spool.jar dev.spool.journal.RecoverJournal /data/spool.db'";

  private final Logger logger = (Logger) LoggerFactory.getLogger("journal-problems-test");
  private final ListAppender<ILoggingEvent> logs = new ListAppender<>();
  private JournalProblems problems;

  @BeforeEach
  void capture() {
    logs.start();
    logger.addAppender(logs);
    logger.setLevel(Level.DEBUG);
    problems = new JournalProblems(logger);
  }

  @AfterEach
  void release() {
    logger.detachAppender(logs);
  }

  private static JournalHealth.Problem problem(String queue, State state, String detail, Instant since) {
    return new JournalHealth.Problem(queue, state, detail, since);
  }

  private List<String> at(Level level) {
    return logs.list.stream().filter(e -> e.getLevel() == level).map(ILoggingEvent::getFormattedMessage).toList();
  }

  @Test
  void theViewListsTheRegistryFirstThenQueuesByNameAndForgetsWhatWrites() {
    assertTrue(problems.health().healthy());
    problems.queue("orders", problem("orders", State.WRITE_STALLED, "slow", T0), T0);
    problems.queue("audit", problem("audit", State.UNAVAILABLE, DOWN, T0), T0);
    problems.registry(problem(null, State.UNAVAILABLE, DOWN, T0), T0);
    assertEquals(java.util.Arrays.asList(null, "audit", "orders"),
        problems.health().problems().stream().map(JournalHealth.Problem::queue).toList());
    problems.queue("orders", null, T0.plusSeconds(3));
    problems.registry(null, T0.plusSeconds(3));
    problems.forget("audit");
    assertTrue(problems.health().healthy());
    assertNull(problems.registry());
    assertTrue(at(Level.INFO).stream().anyMatch(m -> m.contains("queue orders: the journal writes again, after 3000 ms")),
        at(Level.INFO).toString());
  }

  @Test
  void oneFailureOverManyQueuesIsOneWarningThenDebugThenAReminderAMinuteLater() {
    for (int q = 0; q < 50; q++) {
      problems.queue("q" + q, problem("q" + q, State.UNAVAILABLE, DOWN, T0), T0.plusMillis(q * 100L));
    }
    assertEquals(1, at(Level.WARN).size(), at(Level.WARN).toString());
    assertEquals(49, at(Level.DEBUG).size());
    problems.queue("late", problem("late", State.UNAVAILABLE, DOWN, T0), T0.plus(JournalProblems.REMIND_EVERY));
    assertEquals(2, at(Level.WARN).size());
    assertTrue(at(Level.WARN).get(1).contains("still unavailable") && at(Level.WARN).get(1).contains("49 more"),
        at(Level.WARN).get(1));
    assertTrue(at(Level.ERROR).isEmpty());
  }

  @Test
  void aCorruptJournalIsOneErrorLineNamingTheFileAndTheTool() {
    problems.registry(problem(null, State.UNAVAILABLE, CORRUPT, T0), T0);
    for (int q = 0; q < 10; q++) {
      problems.queue("q" + q, problem("q" + q, State.UNAVAILABLE, CORRUPT, T0), T0.plusSeconds(q));
    }
    assertEquals(1, at(Level.ERROR).size());
    assertTrue(at(Level.ERROR).get(0).contains("/data/spool.db") && at(Level.ERROR).get(0).contains("RecoverJournal"));
    assertTrue(at(Level.WARN).isEmpty(), at(Level.WARN).toString());
  }

  @Test
  void queuesReadAtStartAreNotLogged() {
    problems.queue("orders", problem("orders", State.RECOVERING, "reading the journal", T0), T0);
    problems.queue("orders", null, T0.plusSeconds(1));
    assertTrue(logs.list.isEmpty(), logs.list.toString());
  }
}
