package dev.spool.consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.ConsumerInfo;
import dev.spool.DeliveryState;
import java.time.Duration;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.TestInbox;
import org.junit.jupiter.api.Test;

class ConsumerStatsTest {

  @Test
  void deliveryStateSaysWhyNothingIsDelivered() {
    ConsumerFixture f = ConsumerFixture.explicit(2, 5);
    ConsumerState<String> state = f.state;
    assertEquals(DeliveryState.NO_SUBSCRIBERS, ConsumerStats.deliveryState(state, f.log.lastSequence()));
    state.subscribers().subscribe(TestInbox.<dev.spool.Delivery>create().getRef());
    f.dispatcher.dispatch();
    assertEquals(DeliveryState.CREDIT_EXHAUSTED, ConsumerStats.deliveryState(state, f.log.lastSequence()),
        "two of five delivered: the prefetch is used up");
    f.settlements.nack(List.of(1L, 2L), true);
    assertEquals(DeliveryState.BACKOFF, ConsumerStats.deliveryState(state, f.log.lastSequence()),
        "both wait out their backoff and nothing is in flight");
    state.paused(true);
    assertEquals(DeliveryState.PAUSED, ConsumerStats.deliveryState(state, f.log.lastSequence()));
    state.paused(false);
    state.cursor().backoffElapsed(1);
    state.cursor().backoffElapsed(2);
    f.dispatcher.dispatch();
    f.settlements.ack(List.of(1L, 2L));
    f.dispatcher.dispatch();
    f.settlements.ack(List.of(3L, 4L));
    f.dispatcher.dispatch();
    f.settlements.ack(List.of(5L));
    assertEquals(DeliveryState.CAUGHT_UP, ConsumerStats.deliveryState(state, f.log.lastSequence()));
  }

  @Test
  void lagAgeIsTheAgeOfTheOldestUnacknowledgedMessage() {
    ConsumerFixture f = ConsumerFixture.explicit(10, 6);
    f.state.subscribers().subscribe(TestInbox.<dev.spool.Delivery>create().getRef());
    f.dispatcher.dispatch();
    f.settlements.ack(List.of(1L, 3L));
    long now = ConsumerFixture.T0;
    ConsumerInfo info = f.state.stats().info("c", f.state, f.log, now);
    assertEquals(1, info.committed());
    assertEquals(now - ConsumerFixture.message(2).timestamp(), info.lagAgeMs(), "2 is the oldest not acknowledged");
    f.settlements.ack(List.of(2L));
    info = f.state.stats().info("c", f.state, f.log, now);
    assertEquals(now - ConsumerFixture.message(4).timestamp(), info.lagAgeMs(), "3 was acknowledged out of order");
    assertEquals(3, info.counters().acked());
    assertEquals(6, info.counters().delivered());
    f.settlements.ack(List.of(4L, 5L, 6L));
    assertEquals(0, f.state.stats().info("c", f.state, f.log, now).lagAgeMs());
  }

  @Test
  void aStaleEpisodeIsReportedOnceUntilTheNextActivity() {
    ConsumerStats stats = new ConsumerStats(1_000);
    assertFalse(stats.becameStale(stats.idle(1_500), 1_000));
    assertTrue(stats.becameStale(stats.idle(2_000), 1_000));
    assertFalse(stats.becameStale(stats.idle(9_000), 1_000), "reported already");
    stats.touch(9_000);
    assertEquals(0, stats.idle(9_000));
    assertTrue(stats.becameStale(stats.idle(10_000), 1_000));
  }

  @Test
  void theJanitorsTickReportsStalenessOncePerEpisodeAndAsksToRemoveAnInactiveConsumer() {
    ConsumerFixture f = ConsumerFixture.explicit(10, 5);
    ConsumerStats stats = f.state.stats();
    long t0 = ConsumerFixture.T0;
    Duration staleAfter = Duration.ofMinutes(1);
    Duration inactive = Duration.ofMinutes(10);
    assertEquals(ConsumerStats.Tick.Action.NOTHING, stats.tick(f.state, f.log, t0 + 30_000, inactive, staleAfter).action());
    ConsumerStats.Tick stale = stats.tick(f.state, f.log, t0 + 90_000, inactive, staleAfter);
    assertEquals(new ConsumerStats.Tick(ConsumerStats.Tick.Action.REPORT_STALE, 90_000, 5), stale, "idle and lag");
    assertEquals(ConsumerStats.Tick.Action.NOTHING, stats.tick(f.state, f.log, t0 + 120_000, inactive, staleAfter).action(),
        "reported once per episode");
    assertEquals(ConsumerStats.Tick.Action.NOTHING, stats.tick(f.state, f.log, t0 + 700_000, null, staleAfter).action(),
        "without an inactive timeout it never leaves");
    ConsumerStats.Tick remove = stats.tick(f.state, f.log, t0 + 700_000, inactive, staleAfter);
    assertEquals(new ConsumerStats.Tick(ConsumerStats.Tick.Action.REMOVE_INACTIVE, 700_000, 5), remove);
  }

  @Test
  void aConsumerWithASubscriberIsInUseEvenWhenNothingArrives() {
    ConsumerFixture f = ConsumerFixture.explicit(10, 0);
    f.state.subscribers().subscribe(TestInbox.<dev.spool.Delivery>create().getRef());
    long later = ConsumerFixture.T0 + 3_600_000;
    ConsumerStats.Tick tick = f.state.stats().tick(f.state, f.log, later, Duration.ofMinutes(10), Duration.ofMinutes(1));
    assertEquals(ConsumerStats.Tick.Action.NOTHING, tick.action());
    assertEquals(0, f.state.stats().idle(later), "touched: its idle time starts over");
  }
}
