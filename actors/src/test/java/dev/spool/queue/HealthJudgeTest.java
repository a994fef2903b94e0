package dev.spool.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.AckMode;
import dev.spool.BreakerState;
import dev.spool.ConsumerInfo;
import dev.spool.ConsumerSettings;
import dev.spool.DeliveryState;
import dev.spool.DiskStats;
import dev.spool.HealthStatus;
import dev.spool.JournalHealth;
import dev.spool.LagTrend;
import dev.spool.MemoryStats;
import dev.spool.Overflow;
import dev.spool.QueueHealth;
import dev.spool.QueueHistory;
import dev.spool.QueueInfo;
import dev.spool.QueueSettings;
import dev.spool.QueueStats;
import dev.spool.SpoolHealth;
import dev.spool.SpoolSettings;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The engine's judgement of queues and consumers, each status with its reason, from figures and history. */
class HealthJudgeTest {

  static final long NOW = 1_700_000_000_000L;
  static final long LAST = 1_000;
  static final SpoolSettings.Health SETTINGS = new SpoolSettings.Health(Duration.ofSeconds(60), Duration.ofSeconds(30),
      Duration.ofMinutes(5));

  /** A consumer of a queue whose last sequence is 1,000, {@code undelivered} of them not delivered yet. */
  record C(String name, long lag, long undelivered, long lagAgeMs, int inFlight, DeliveryState state, boolean paused,
      long lastActivityAgoMs, BreakerState breaker, long errors, AckMode ackMode) {
    ConsumerInfo info() {
      return new ConsumerInfo("q", name, ConsumerSettings.named(name).ackMode(ackMode), LAST - undelivered + 1,
          LAST - lag, LAST, lag, lagAgeMs, inFlight, 0, state, paused, Instant.ofEpochMilli(NOW - lastActivityAgoMs), 0,
          0, 0, breaker, new ConsumerInfo.Counters(0, 0, 0, 0, 0, 0, 0, 0, errors));
    }
  }

  static C consumer(String name, long lag, long lagAgeMs, DeliveryState state) {
    return new C(name, lag, lag, lagAgeMs, 0, state, false, 0, BreakerState.NONE, 0, AckMode.EXPLICIT);
  }

  static C unread(String name, long lag, long lagAgeMs, long idleMs) {
    return new C(name, lag, lag, lagAgeMs, 0, DeliveryState.NO_SUBSCRIBERS, false, idleMs, BreakerState.NONE, 0,
        AckMode.EXPLICIT);
  }

  static QueueInfo queue(QueueSettings settings, long depth) {
    return new QueueInfo("q", settings, new QueueStats(1, depth, depth, depth * 1024, 1, depth, 0, 0, 0, 0, 0, 0, 0, 1,
        0, 0));
  }

  static QueueHistory.ConsumerSample sample(long at, long lag, double deliverRate, double ackRate, long nacked) {
    return new QueueHistory.ConsumerSample(at, lag, 0, 0, deliverRate, ackRate, nacked, 0, 0, 0, 0);
  }

  /** Samples every 5 s over the last {@code spanMs}. */
  static List<QueueHistory.ConsumerSample> samples(long spanMs, double deliverRate, double ackRate, long lag,
      long nackedEach) {
    List<QueueHistory.ConsumerSample> out = new ArrayList<>();
    for (long at = NOW - spanMs; at <= NOW; at += 5_000) {
      out.add(sample(at, lag, deliverRate, ackRate, nackedEach));
    }
    return out;
  }

  static QueueHistory history(List<QueueHistory.Sample> queue, String consumer, List<QueueHistory.ConsumerSample> s) {
    return new QueueHistory("q", 5_000, 3_600_000, queue,
        consumer == null ? List.of() : List.of(new QueueHistory.ConsumerHistory(consumer, s)));
  }

  static QueueHealth judge(QueueSettings settings, long depth, QueueHistory history, C... consumers) {
    return HealthJudge.judge(queue(settings, depth), java.util.Arrays.stream(consumers).map(C::info).toList(), history,
        NOW, SETTINGS);
  }

  static QueueHealth judge(QueueHistory history, C... consumers) {
    return judge(QueueSettings.defaults(), LAST, history, consumers);
  }

  @Test
  void aConsumerWithWaitingMessagesAndNothingReadingIsStuckAndSaysForHowLong() {
    // Nothing in its 90 s of history acknowledged, and it was last active 3 min ago.
    QueueHealth h = judge(history(List.of(), "idle", samples(90_000, 0, 0, 120, 0)), unread("idle", 120, 200_000,
        180_000));
    assertEquals(HealthStatus.STUCK, h.status());
    assertEquals("consumer idle: 120 messages waiting and nothing acknowledged for 3 min: nothing is reading (no"
        + " subscriber attached, last activity 3 min ago)", h.reason());
    // With history only: at least as long as it reaches back.
    QueueHealth fresh = judge(history(List.of(), "idle", samples(90_000, 0, 0, 120, 0)), unread("idle", 120, 200_000,
        5_000));
    assertTrue(fresh.reason().contains("nothing acknowledged for at least 90 s"), fresh.reason());
  }

  @Test
  void aConsumerThatReadsAndNacksEverythingIsStuckNotUnread() {
    QueueHealth h = judge(history(List.of(), "nacker", samples(120_000, 2, 0, 40, 3)),
        unread("nacker", 40, 120_000, 1_500));
    assertEquals(HealthStatus.STUCK, h.consumers().get(0).status());
    assertEquals("40 messages waiting and nothing acknowledged for at least 2 min: it reads, but every delivery fails"
        + " (72 nacks in that time)", h.consumers().get(0).reason());
  }

  @Test
  void aConsumerThatNeverReadCountsOnlyDueMessagesWaitingAndDoesNotSayItRead() {
    // 4 messages past its cursor, 3 of them not due: lag 1
    C fresh = new C("fresh", 1, 4, 1_000, 0, DeliveryState.NO_SUBSCRIBERS, false, 1_000, BreakerState.NONE, 0,
        AckMode.EXPLICIT);
    QueueHealth h = judge(history(List.of(), null, null), fresh);
    assertEquals(HealthStatus.OK, h.consumers().get(0).status());
    assertEquals("1 message waiting; nothing read yet, no subscriber attached", h.consumers().get(0).reason());
  }

  @Test
  void aConsumerThatReadAndHasNoSubscriberNowSaysSo() {
    ConsumerInfo read = consumer("read", 5, 1_000, DeliveryState.NO_SUBSCRIBERS).info();
    ConsumerInfo.Counters c = read.counters();
    ConsumerInfo info = new ConsumerInfo(read.queue(), read.name(), read.settings(), read.cursor(), read.committed(),
        read.lastSequence(), read.lag(), read.lagAgeMs(), read.inFlight(), read.waiting(), read.deliveryState(),
        read.paused(), read.lastActivity(), read.subscribers(), read.parkedReads(), read.handlerCalls(), read.breaker(),
        new ConsumerInfo.Counters(20, 0, 15, 0, 0, 0, 0, 0, 0));
    assertEquals("5 messages waiting; read recently, none attached now",
        HealthJudge.consumer(info, List.of(), 5_000, NOW, SETTINGS).reason());
  }

  @Test
  void aPullReaderThatNeverAcknowledgesIsStuckSayingItReads() {
    C hoarder = new C("hoarder", 500, 460, 90_000, 40, DeliveryState.NO_SUBSCRIBERS, false, 1_000, BreakerState.NONE, 0,
        AckMode.EXPLICIT);
    QueueHealth h = judge(history(List.of(), "hoarder", samples(90_000, 0.4, 0, 500, 0)), hoarder);
    assertEquals(HealthStatus.STUCK, h.status());
    assertEquals("460 messages waiting, 40 in flight and nothing acknowledged for at least 90 s: it reads (36"
        + " deliveries in that time, 40 in flight) but acknowledges none", h.consumers().get(0).reason());
  }

  @Test
  void aConsumerWithoutAcknowledgementsIsJudgedByWhatItTakes() {
    C none = new C("fast", 45_400, 45_400, 120_000, 0, DeliveryState.NO_SUBSCRIBERS, false, 100, BreakerState.NONE, 0,
        AckMode.NONE);
    QueueHealth busy = judge(history(List.of(), "fast", samples(120_000, 900, 0, 45_400, 0)), none);
    assertEquals(HealthStatus.LAGGING, busy.status(), busy.reason());
    QueueHealth idle = judge(history(List.of(), "fast", samples(120_000, 0, 0, 45_400, 0)), none);
    assertEquals(HealthStatus.STUCK, idle.status());
    assertTrue(idle.reason().contains("nothing taken for at least 2 min"), idle.reason());
  }

  @Test
  void oneUnacknowledgedDeliveryIsSaidAsSuchNotAsTheAcknowledgedOnesAfterIt() {
    C holder = new C("h", 996, 0, 120_000, 1, DeliveryState.CAUGHT_UP, false, 120_000, BreakerState.NONE, 0,
        AckMode.EXPLICIT);
    QueueHealth h = judge(history(List.of(), "h", samples(120_000, 0, 0, 996, 0)), holder);
    assertEquals(HealthStatus.STUCK, h.status());
    assertTrue(h.consumers().get(0).reason().startsWith("1 delivery in flight, not acknowledged and nothing"
        + " acknowledged for"), h.consumers().get(0).reason());
  }

  @Test
  void aSlowButAcknowledgingConsumerIsLaggingNotStuck() {
    C slow = consumer("slow", 500, 45_000, DeliveryState.DELIVERING);
    List<QueueHistory.ConsumerSample> s = new ArrayList<>();
    for (long at = NOW - 90_000, lag = 100; at <= NOW; at += 5_000, lag += 20) {
      s.add(sample(at, lag, 2, 2, 0));
    }
    QueueHealth h = judge(history(List.of(), "slow", s), slow);
    assertEquals(HealthStatus.LAGGING, h.status());
    assertEquals(LagTrend.RISING, h.lagTrend());
    assertEquals("consumer slow: 500 messages waiting, the oldest unacknowledged for 45 s; lag rising", h.reason());
  }

  @Test
  void aConsumerLosingMessagesToOverflowOrExpiryIsLagging() {
    List<QueueHistory.ConsumerSample> s = List.of(new QueueHistory.ConsumerSample(NOW, 1_000, 0, 0, 10, 10, 0, 0, 0,
        35_090, 3));
    QueueHealth h = judge(history(List.of(), "slow", s), consumer("slow", 1_000, 5_000, DeliveryState.DELIVERING));
    assertEquals(HealthStatus.LAGGING, h.status());
    assertTrue(h.reason().startsWith("consumer slow: 35,090 messages dropped and 3 messages expired before it"
        + " acknowledged them in the last 5 min"), h.reason());
  }

  @Test
  void pausedAndBreakerOpenTakePrecedenceOverStuckAndTheQueueNamesEveryProblem() {
    C paused = new C("p", 10, 10, 600_000, 0, DeliveryState.PAUSED, true, 600_000, BreakerState.NONE, 0,
        AckMode.EXPLICIT);
    C broken = new C("b", 10, 10, 600_000, 0, DeliveryState.BREAKER_OPEN, false, 600_000, BreakerState.OPEN, 12,
        AckMode.EXPLICIT);
    C idle = unread("i", 10, 600_000, 600_000);
    QueueHealth h = judge(history(List.of(), null, null), paused, broken, idle);
    assertEquals(HealthStatus.PAUSED, h.consumers().get(0).status());
    assertEquals("paused by an operator; 10 messages waiting", h.consumers().get(0).reason());
    assertEquals(HealthStatus.BREAKER_OPEN, h.consumers().get(1).status());
    assertEquals(HealthStatus.STUCK, h.status(), "the queue takes its worst consumer's status");
    assertTrue(h.reason().startsWith("consumer i: "), h.reason());
    assertTrue(h.reason().contains("(also: breaker-open, consumer b: the handler's circuit breaker is open"), h.reason());
    assertTrue(h.reason().contains("; paused, consumer p: paused by an operator"), h.reason());
  }

  @Test
  void aQueueNearItsLimitOrRefusingIsFullAndSaysWhyAndDeadLetteringIsFlagged() {
    QueueSettings limited = QueueSettings.defaults().withMaxLength(100).withOverflow(Overflow.REJECT);
    QueueHealth nearly = judge(limited, 95, history(List.of(), null, null));
    assertEquals(HealthStatus.FULL, nearly.status());
    assertEquals("full: 95 of at most 100 messages retained", nearly.reason());
    assertEquals(HealthStatus.OK, judge(limited, 89, history(List.of(), null, null)).status());

    List<QueueHistory.Sample> refusing = List.of(
        new QueueHistory.Sample(NOW - 400_000, 0, 0, 0, 0, 0, 0, 0, 0, 500), // outside the recent window
        new QueueHistory.Sample(NOW - 10_000, 0, 0, 0, 0, 0, 0, 432, 0, 100),
        new QueueHistory.Sample(NOW, 0, 0, 0, 0, 0, 4, 0, 7, 69));
    QueueHealth full = judge(QueueSettings.defaults(), 68, history(refusing, null, null));
    assertEquals(HealthStatus.FULL, full.status());
    assertEquals("full: 169 messages refused in the last 5 min while the queue was within its own limits: the memory"
        + " threshold or a low disk refused them; 432 messages dropped in the last 5 min (also: dead-lettering, 4"
        + " messages dead-lettered in the last 5 min)", full.reason());
    assertEquals(new QueueHealth.Recent(300_000, 4, 432, 7, 169), full.recent());
    QueueHealth batchTooLarge = judge(QueueSettings.defaults().withMaxLength(50), 42, history(refusing, null, null));
    assertTrue(batchTooLarge.reason().startsWith("full: 169 messages refused in the last 5 min while the queue held less"
        + " than 90 % of its limits: a batch larger than the room left"), batchTooLarge.reason());

    List<QueueHistory.Sample> deadLettering = List.of(new QueueHistory.Sample(NOW, 0, 0, 0, 0, 0, 3, 0, 0, 0));
    QueueHealth dl = judge(QueueSettings.defaults().withDeadLetter("q.dlq"), 5, history(deadLettering, null, null));
    assertEquals(HealthStatus.DEAD_LETTERING, dl.status());
    assertEquals("3 messages dead-lettered in the last 5 min to q.dlq", dl.reason());
  }

  @Test
  void anIdleQueueAndACaughtUpConsumerAreOkAndAQueueWithoutConsumersSaysWhatArrived() {
    QueueHealth h = judge(QueueSettings.defaults(), 0, history(List.of(), "c", samples(60_000, 1, 1, 0, 0)),
        new C("c", 0, 0, 0, 0, DeliveryState.CAUGHT_UP, false, 0, BreakerState.NONE, 0, AckMode.EXPLICIT));
    assertEquals(HealthStatus.OK, h.status());
    assertEquals("every consumer is keeping up", h.reason());
    assertEquals("caught up", h.consumers().get(0).reason());
    assertEquals(LagTrend.STEADY, h.lagTrend());
    QueueHealth dlq = judge(QueueSettings.defaults(), 745, history(List.of(new QueueHistory.Sample(NOW, 745, 0, 0, 60,
        0, 0, 0, 0, 0)), null, null));
    assertEquals("no consumers; 745 messages retained, about 300 messages arrived in the last 5 min", dlq.reason());
  }

  @Test
  void theLagTrendComparesWithAboutAMinuteAgoAndIgnoresJitter() {
    List<QueueHistory.ConsumerSample> s = samples(120_000, 1, 1, 1_000, 0);
    assertEquals(LagTrend.FALLING, HealthJudge.trend(500, s, NOW));
    assertEquals(LagTrend.STEADY, HealthJudge.trend(1_009, s, NOW), "under 10 messages and 1 % is steady");
    assertEquals(LagTrend.RISING, HealthJudge.trend(1_011, s, NOW));
    assertEquals(LagTrend.STEADY, HealthJudge.trend(106, List.of(), NOW), "no history, no trend");
    List<QueueHistory.ConsumerSample> jitter = new ArrayList<>();
    for (int i = 0; i < 24; i++) {
      jitter.add(sample(NOW - 115_000 + i * 5_000L, i % 5, 1, 1, 0));
    }
    assertEquals(LagTrend.STEADY, HealthJudge.trend(0, jitter, NOW), "a caught-up consumer's lag of 0 to 5 is steady");
    List<QueueHistory.ConsumerSample> draining = new ArrayList<>();
    for (int i = 0; i < 24; i++) {
      draining.add(sample(NOW - 115_000 + i * 5_000L, 200_000 - i * 1_500L, 300, 300, 0));
    }
    assertEquals(LagTrend.FALLING, HealthJudge.trend(200_000 - 24 * 1_500L, draining, NOW),
        "a backlog of 200k draining at 300/s falls");
  }

  @Test
  void aJournalThatCannotWriteMakesTheQueueUnavailable() {
    QueueHealth ok = judge(history(List.of(), null, null));
    JournalHealth stalled = new JournalHealth(List.of(new JournalHealth.Problem("q", JournalHealth.State.WRITE_STALLED,
        "a write has been under way for 5 s", Instant.ofEpochMilli(NOW))));
    QueueHealth h = HealthJudge.withJournal(ok, stalled);
    assertEquals(HealthStatus.UNAVAILABLE, h.status());
    assertEquals("its journal cannot write (write-stalled: a write has been under way for 5 s): publishes and changes"
        + " are refused until it can", h.reason());
    assertEquals(ok, HealthJudge.withJournal(ok, JournalHealth.HEALTHY));
  }

  @Test
  void alarmsNameMemoryDiskJournalsAndTheQueuesThatLostOrRefusedMessages() {
    QueueHealth quiet = new QueueHealth("a", HealthStatus.OK, "fine", LagTrend.STEADY, List.of(),
        new QueueHealth.Recent(300_000, 0, 0, 0, 0), List.of());
    QueueHealth loud = new QueueHealth("b", HealthStatus.FULL, "full", LagTrend.STEADY, List.of(),
        new QueueHealth.Recent(300_000, 0, 432, 7, 169), List.of());
    MemoryStats pressure = new MemoryStats(500, 77_990_069, 50_000_000, true, List.of());
    JournalHealth stalled = new JournalHealth(List.of(new JournalHealth.Problem("b", JournalHealth.State.WRITE_STALLED,
        null, Instant.ofEpochMilli(NOW))));
    List<SpoolHealth.Alarm> alarms = HealthJudge.alarms(pressure, new DiskStats(true, 10, 1_073_741_824, "/data"),
        stalled, List.of(quiet, loud));
    assertEquals(List.of("memory", "disk", "journal", "refused", "dropped", "expired"),
        alarms.stream().map(SpoolHealth.Alarm::kind).toList());
    assertEquals("memory pressure: 74.4 MiB retained, threshold 47.7 MiB; overflow policies apply and publishes that"
        + " do not fit are refused", alarms.get(0).message());
    assertEquals("critical", alarms.get(2).severity());
    assertEquals("169 messages published to b refused in the last 5 min (QueueFull)", alarms.get(3).message());
    assertEquals("b", alarms.get(4).queue());
    assertEquals(List.of(), HealthJudge.alarms(new MemoryStats(0, 0, 0, false, List.of()),
        new DiskStats(false, 10, 1, "/"), JournalHealth.HEALTHY, List.of(quiet)));
  }
}
