package dev.spool.actor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.BreakerState;
import dev.spool.ConsumerInfo;
import dev.spool.ConsumerSettings;
import dev.spool.DeliveryState;
import dev.spool.LagStats;
import dev.spool.MemoryStats;
import dev.spool.Message;
import dev.spool.QueueInfo;
import dev.spool.QueueSettings;
import dev.spool.QueueStats;
import dev.spool.StaleConsumer;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The janitor's figures over every queue, from what the queues reported: no actor system. */
class QueueSurveyTest {

  private static final long KIB_MESSAGE = 1024 + Message.FIXED_OVERHEAD_BYTES;
  private static final Instant NOW = Instant.parse("2026-11-30T12:00:00Z");

  private static QueueInfo queue(String name, long depth) {
    return new QueueInfo(name, QueueSettings.defaults(), new QueueStats(1, depth, depth, depth * KIB_MESSAGE, 1,
        depth, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
  }

  private static ConsumerInfo consumer(String queue, String name, long lag, Instant lastActivity, int subscribers,
      int parkedReads) {
    return new ConsumerInfo(queue, name, ConsumerSettings.named(name), 1, 100 - lag, 100, lag, lag == 0 ? 0 : 5_000,
        0, 0, DeliveryState.NO_SUBSCRIBERS, false, lastActivity, subscribers, parkedReads, 0, BreakerState.NONE,
        new ConsumerInfo.Counters(0, 0, 0, 0, 0, 0, 0, 0, 0));
  }

  @Test
  void memorySumsEveryQueueByNameAgainstTheThreshold() {
    MemoryStats stats = QueueSurvey.memory(List.of(queue("orders", 300), queue("audit", 20), queue("empty", 0)),
        1_000_000, true);

    assertEquals(List.of("audit", "empty", "orders"), stats.queues().stream().map(MemoryStats.QueueMemory::queue)
        .toList());
    assertEquals(320, stats.totalMessages());
    assertEquals(320 * KIB_MESSAGE, stats.totalBytes());
    assertEquals(20 * KIB_MESSAGE, stats.queues().get(0).bytes());
    assertEquals(1_000_000, stats.thresholdBytes());
    assertTrue(stats.underPressure());
  }

  @Test
  void consumersComeByQueueNameKeepingEachQueuesOwnOrder() {
    List<ConsumerInfo> all = QueueSurvey.consumers(List.of(
        List.of(consumer("orders", "shipping", 0, NOW, 1, 0), consumer("orders", "billing", 0, NOW, 1, 0)),
        List.of(consumer("audit", "archive", 0, NOW, 1, 0))));

    assertEquals(List.of("audit/archive", "orders/shipping", "orders/billing"),
        all.stream().map(c -> c.queue() + "/" + c.name()).toList());
  }

  @Test
  void lagTakesTheLargestAndTheMeanOverEveryConsumer() {
    LagStats lag = QueueSurvey.lag(List.of(consumer("orders", "billing", 30, NOW, 1, 0),
        consumer("orders", "shipping", 0, NOW, 1, 0), consumer("audit", "archive", 90, NOW, 0, 0)));

    assertEquals(3, lag.totalConsumers());
    assertEquals(90, lag.maxLag());
    assertEquals(40.0, lag.avgLag());
    assertEquals(new LagStats.ConsumerLag("orders", "billing", 30, 5_000), lag.consumers().get(0));
  }

  @Test
  void staleAreThoseWithNothingAttachedIdleForAtLeastTheGivenTime() {
    Duration idle = Duration.ofMinutes(5);
    List<StaleConsumer> stale = QueueSurvey.stale(List.of(
        consumer("orders", "idle-exactly", 12, NOW.minus(idle), 0, 0),
        consumer("orders", "idle-long", 0, NOW.minus(Duration.ofHours(1)), 0, 0),
        consumer("orders", "recent", 12, NOW.minus(idle).plusMillis(1), 0, 0),
        consumer("orders", "subscribed", 12, NOW.minus(Duration.ofHours(1)), 1, 0),
        consumer("orders", "long-polling", 12, NOW.minus(Duration.ofHours(1)), 0, 1)),
        NOW.toEpochMilli(), idle);

    assertEquals(List.of("idle-exactly", "idle-long"), stale.stream().map(StaleConsumer::consumer).toList());
    assertEquals(new StaleConsumer("orders", "idle-exactly", 12, idle.toMillis(), NOW.minus(idle)), stale.get(0));
    assertFalse(stale.stream().anyMatch(s -> s.idleMillis() < idle.toMillis()));
  }
}
