package dev.spool.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.BreakerState;
import dev.spool.ConsumerInfo;
import dev.spool.ConsumerSettings;
import dev.spool.DeliveryState;
import dev.spool.DiskStats;
import dev.spool.HealthStatus;
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
  static final SpoolSettings.Health SETTINGS = new SpoolSettings.Health(Duration.ofSeconds(60), Duration.ofSeconds(30),
      Duration.ofMinutes(5));

  record C(String name, long lag, long lagAgeMs, int inFlight, DeliveryState state, boolean paused,
      long lastActivityAgoMs, BreakerState breaker, long errors) {
    ConsumerInfo info() {
      return new ConsumerInfo("q", name, ConsumerSettings.named(name), 1, 1, 100, lag, lagAgeMs, inFlight, 0, state,
          paused, Instant.ofEpochMilli(NOW - lastActivityAgoMs), 0, 0, 0, breaker,
          new ConsumerInfo.Counters(0, 0, 0, 0, 0, 0, 0, 0, errors));
    }
  }

  static C consumer(String name, long lag, long lagAgeMs, DeliveryState state) {
    return new C(name, lag, lagAgeMs, 0, state, false, 0, BreakerState.NONE, 0);
  }

  static QueueInfo queue(QueueSettings settings, long depth) {
    return new QueueInfo("q", settings, new QueueStats(1, depth, depth, depth * 1024, 1, depth, 0, 0, 0, 0, 0, 0, 0, 1,
        0, 0));
  }

  /** Samples every 5 s over the last {@code spanMs}, each with {@code ackRate} and {@code lag}. */
  static List<QueueHistory.ConsumerSample> samples(long spanMs, double ackRate, long lag, long nackedEach) {
    List<QueueHistory.ConsumerSample> out = new ArrayList<>();
    for (long at = NOW - spanMs; at <= NOW; at += 5_000) {
      out.add(new QueueHistory.ConsumerSample(at, lag, 0, 0, ackRate, ackRate, nackedEach, 0, 0));
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

  @Test
  void aConsumerWithWaitingMessagesAndNothingReadingIsStuckAndSaysSo() {
    C idle = new C("idle", 120, 90_000, 0, DeliveryState.NO_SUBSCRIBERS, false, 90_000, BreakerState.NONE, 0);
    QueueHealth h = judge(QueueSettings.defaults(), 120, history(List.of(), "idle", samples(90_000, 0, 120, 0)), idle);
    assertEquals(HealthStatus.STUCK, h.status());
    assertTrue(h.reason().startsWith("consumer idle: 120 messages waiting and nothing acknowledged for 60 s: nothing is"
        + " reading"), h.reason());
    assertEquals(HealthStatus.STUCK, h.consumers().get(0).status());
  }

  @Test
  void aConsumerThatReadsAndNacksEverythingIsStuckNotUnread() {
    // It reads every 1.5 s, so its last activity is recent; it never acknowledges.
    C nacker = new C("nacker", 40, 120_000, 0, DeliveryState.NO_SUBSCRIBERS, false, 1_500, BreakerState.NONE, 0);
    QueueHealth h = judge(QueueSettings.defaults(), 40, history(List.of(), "nacker", samples(120_000, 0, 40, 3)),
        nacker);
    assertEquals(HealthStatus.STUCK, h.consumers().get(0).status());
    assertTrue(h.consumers().get(0).reason().endsWith("it reads, but every delivery fails (36 nacks in that time)"),
        h.consumers().get(0).reason());
  }

  @Test
  void aSlowButAcknowledgingConsumerIsLaggingNotStuck() {
    C slow = consumer("slow", 500, 45_000, DeliveryState.DELIVERING);
    List<QueueHistory.ConsumerSample> s = new ArrayList<>();
    for (long at = NOW - 90_000, lag = 100; at <= NOW; at += 5_000, lag += 20) {
      s.add(new QueueHistory.ConsumerSample(at, lag, 0, 0, 2, 2, 0, 0, 0));
    }
    QueueHealth h = judge(QueueSettings.defaults(), 500, history(List.of(), "slow", s), slow);
    assertEquals(HealthStatus.LAGGING, h.status());
    assertEquals(LagTrend.RISING, h.lagTrend());
    assertTrue(h.reason().contains("500 messages waiting, the oldest for 45 s; lag rising"), h.reason());
  }

  @Test
  void withoutEnoughHistoryAConsumerIsStuckOnlyWhenNothingHappenedForThatLong() {
    C fresh = new C("fresh", 10, 70_000, 0, DeliveryState.NO_SUBSCRIBERS, false, 10_000, BreakerState.NONE, 0);
    QueueHealth h = judge(QueueSettings.defaults(), 10, history(List.of(), "fresh", samples(10_000, 0, 10, 0)), fresh);
    assertEquals(HealthStatus.LAGGING, h.status(), "history covers 10 s and it was active 10 s ago: not stuck yet");
    C quiet = new C("quiet", 10, 70_000, 0, DeliveryState.NO_SUBSCRIBERS, false, 70_000, BreakerState.NONE, 0);
    assertEquals(HealthStatus.STUCK, judge(QueueSettings.defaults(), 10, history(List.of(), null, null), quiet).status());
  }

  @Test
  void pausedAndBreakerOpenTakePrecedenceOverStuck() {
    C paused = new C("p", 10, 600_000, 0, DeliveryState.PAUSED, true, 600_000, BreakerState.NONE, 0);
    C broken = new C("b", 10, 600_000, 0, DeliveryState.BREAKER_OPEN, false, 600_000, BreakerState.OPEN, 12);
    QueueHealth h = judge(QueueSettings.defaults(), 10, history(List.of(), null, null), paused, broken);
    assertEquals(HealthStatus.PAUSED, h.consumers().get(0).status());
    assertEquals("paused by an operator; 10 messages waiting", h.consumers().get(0).reason());
    assertEquals(HealthStatus.BREAKER_OPEN, h.consumers().get(1).status());
    assertEquals(HealthStatus.BREAKER_OPEN, h.status(), "the queue takes its worst consumer's status");
    assertTrue(h.reason().startsWith("consumer b: the handler's circuit breaker is open"), h.reason());
  }

  @Test
  void aQueueNearItsLimitOrRefusingIsFullAndDeadLetteringIsFlagged() {
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
    assertEquals("full: 169 publishes refused in the last 5 min; 432 messages dropped in the last 5 min", full.reason());
    assertEquals(new QueueHealth.Recent(300_000, 4, 432, 7, 169), full.recent());

    List<QueueHistory.Sample> deadLettering = List.of(new QueueHistory.Sample(NOW, 0, 0, 0, 0, 0, 3, 0, 0, 0));
    QueueHealth dl = judge(QueueSettings.defaults().withDeadLetter("q.dlq"), 5, history(deadLettering, null, null));
    assertEquals(HealthStatus.DEAD_LETTERING, dl.status());
    assertEquals("3 messages dead-lettered in the last 5 min to q.dlq", dl.reason());
  }

  @Test
  void anIdleQueueAndACaughtUpConsumerAreOk() {
    QueueHealth h = judge(QueueSettings.defaults(), 0, history(List.of(), "c", samples(60_000, 1, 0, 0)),
        consumer("c", 0, 0, DeliveryState.CAUGHT_UP));
    assertEquals(HealthStatus.OK, h.status());
    assertEquals("every consumer is keeping up", h.reason());
    assertEquals("caught up", h.consumers().get(0).reason());
    assertEquals(LagTrend.STEADY, h.lagTrend());
  }

  @Test
  void theLagTrendComparesWithAboutAMinuteAgo() {
    List<QueueHistory.ConsumerSample> s = samples(120_000, 1, 100, 0);
    assertEquals(LagTrend.FALLING, HealthJudge.trend(50, s, NOW));
    assertEquals(LagTrend.STEADY, HealthJudge.trend(103, s, NOW), "a move under 5 % is steady");
    assertEquals(LagTrend.RISING, HealthJudge.trend(106, s, NOW));
    assertEquals(LagTrend.STEADY, HealthJudge.trend(106, List.of(), NOW), "no history, no trend");
  }

  @Test
  void alarmsNameMemoryDiskAndTheQueuesThatLostOrRefusedMessages() {
    QueueHealth quiet = new QueueHealth("a", HealthStatus.OK, "fine", LagTrend.STEADY, List.of(),
        new QueueHealth.Recent(300_000, 0, 0, 0, 0), List.of());
    QueueHealth loud = new QueueHealth("b", HealthStatus.FULL, "full", LagTrend.STEADY, List.of(),
        new QueueHealth.Recent(300_000, 0, 432, 7, 169), List.of());
    MemoryStats pressure = new MemoryStats(500, 600_000, 500_000, true, List.of());
    List<SpoolHealth.Alarm> alarms = HealthJudge.alarms(pressure, new DiskStats(true, 10, 1_000, "/data"),
        List.of(quiet, loud));
    assertEquals(List.of("memory", "disk", "refused", "dropped", "expired"),
        alarms.stream().map(SpoolHealth.Alarm::kind).toList());
    assertEquals("critical", alarms.get(0).severity());
    assertEquals("169 publishes to b refused in the last 5 min (QueueFull)", alarms.get(2).message());
    assertEquals("b", alarms.get(3).queue());
    assertEquals(List.of(), HealthJudge.alarms(new MemoryStats(0, 0, 0, false, List.of()),
        new DiskStats(false, 10, 1, "/"), List.of(quiet)));
  }
}
