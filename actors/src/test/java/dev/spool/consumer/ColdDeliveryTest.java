package dev.spool.consumer;

import static dev.spool.consumer.ConsumerFixture.sequences;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.ConsumerSettings;
import dev.spool.Delivery;
import dev.spool.Message;
import dev.spool.QueueSettings;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** A consumer behind the hot tail: it waits for cold segments to load, never passes over them. */
class ColdDeliveryTest {

  private static final int SEGMENT = 16;

  /** Cools segments of the fixture's log, keeping their messages as a store would. */
  private static final class Store {
    final Map<Long, Message[]> rows = new HashMap<>();

    Store(ConsumerFixture f) {
      f.log.attach((segment, bytes, ahead) -> CompletableFuture.completedFuture(rows.get(segment).clone()));
    }

    void cool(ConsumerFixture f, long segment) {
      Message[] slots = new Message[SEGMENT];
      for (Message m : f.log.hotMessages(segment)) {
        slots[(int) ((m.sequence() - 1) % SEGMENT)] = m;
      }
      rows.put(segment, slots);
      f.log.markStored(segment);
      f.log.cool(segment);
    }
  }

  /** What the actor does for a load: load, hand the segment to the dispatcher. */
  private static void completeLoads(ConsumerFixture f) throws Exception {
    while (!f.loads.isEmpty()) {
      long sequence = f.loads.remove(0);
      f.dispatcher.loaded(sequence, f.log.load(sequence, 0).toCompletableFuture().get());
    }
  }

  @Test
  void deliveryWaitsForAColdSegmentThenDeliversItInOrderWithExactPayloads() throws Exception {
    ConsumerFixture f = ConsumerFixture.explicit(100, 40);
    List<Message> original = f.log.hotMessages(0);
    Store store = new Store(f);
    store.cool(f, 0);
    store.cool(f, 1);

    assertTrue(f.dispatcher.take(10, Subscribers.PULL_OWNER).isEmpty(), "sequence 1 is cold: nothing yet");
    assertEquals(List.of(1L), f.loads, "one load asked for");
    assertTrue(f.dispatcher.take(10, Subscribers.PULL_OWNER).isEmpty());
    assertEquals(List.of(1L), f.loads, "not asked twice while it loads");
    assertEquals(1, f.state.cursor().next(), "the cursor did not pass over cold messages");

    completeLoads(f);
    List<Delivery> first = f.dispatcher.take(40, Subscribers.PULL_OWNER);
    assertEquals(16, first.size(), "segment 0, then a wait for segment 1");
    for (int i = 0; i < 16; i++) {
      assertArrayEquals(original.get(i).payload(), first.get(i).message().payload());
      assertEquals(original.get(i).id(), first.get(i).message().id());
    }
    completeLoads(f);
    List<Delivery> rest = f.dispatcher.take(40, Subscribers.PULL_OWNER);
    assertEquals(24, rest.size());
    assertEquals(17L, rest.get(0).sequence());
    assertEquals(40L, rest.get(23).sequence());
  }

  @Test
  void aRedeliveryOfAColdMessageWaitsForItsSegmentRatherThanDroppingIt() throws Exception {
    ConsumerFixture f = ConsumerFixture.explicit(100, 40);
    assertEquals(16, f.dispatcher.take(16, Subscribers.PULL_OWNER).size());
    f.state.cursor().requeue(3, false, b -> { });
    Store store = new Store(f);
    store.cool(f, 0);
    f.loads.clear();

    assertEquals(List.of(17L), sequences(f.dispatcher.take(1, Subscribers.PULL_OWNER)),
        "the hot tail goes on while the redelivery's segment loads");
    assertEquals(List.of(3L), f.loads);
    completeLoads(f);
    List<Delivery> again = f.dispatcher.take(1, Subscribers.PULL_OWNER);
    assertEquals(List.of(3L), sequences(again));
    assertEquals(2, again.get(0).attempt());
  }

  @Test
  void aColdMessageGivenUpOnIsLoadedBeforeItIsDeadLettered() {
    ConsumerFixture f = new ConsumerFixture(ConsumerSettings.named("c").prefetch(10),
        new QueueSettings.DeadLetter("orders-dlq", 1), 40);
    assertEquals(List.of(1L, 2L), sequences(f.dispatcher.take(2, Subscribers.PULL_OWNER)));
    Store store = new Store(f);
    store.cool(f, 0);
    f.settlements.nack(List.of(2L), false);
    assertEquals(List.of(2L), f.giveUpLoads, "its content is in storage: loaded first");
    assertTrue(f.givenUp.isEmpty());
    f.settlements.giveUp(2, 1, "rejected", store.rows.get(0L)[1]);
    assertEquals(List.of("2 after 1 (rejected)"), f.givenUp);
  }

  @Test
  void lagAgeCountsAColdBacklogWithoutLoadingIt() {
    ConsumerFixture f = ConsumerFixture.explicit(10, 40);
    new Store(f).cool(f, 0);
    long lagAge = f.state.stats().info("c", f.state, f.log, ConsumerFixture.T0).lagAgeMs();
    assertEquals(60_000 - 1, lagAge, "the oldest unacknowledged is sequence 1, cold");
    assertTrue(f.loads.isEmpty());
  }
}
