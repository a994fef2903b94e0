package dev.spool.consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.spool.ConsumerSettings;
import dev.spool.MessageFilter;
import dev.spool.MessageTrace;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.TestInbox;
import org.junit.jupiter.api.Test;

class TraceViewTest {

  private static List<String> events(ConsumerFixture f, long sequence) {
    return f.state.trace().entries("c", sequence, f.state, f.log).stream().map(MessageTrace.Entry::event).toList();
  }

  @Test
  void aMessageIsPendingThenInFlightWithItsSubscriberThenAcknowledged() {
    ConsumerFixture f = ConsumerFixture.explicit(10, 3);
    assertEquals(List.of("pending"), events(f, 2));
    f.state.subscribers().subscribe(TestInbox.<dev.spool.Delivery>create().getRef());
    f.dispatcher.dispatch();
    List<MessageTrace.Entry> entries = f.state.trace().entries("c", 2, f.state, f.log);
    assertEquals(List.of("delivered", "in-flight"), entries.stream().map(MessageTrace.Entry::event).toList());
    assertEquals("subscriber-1", entries.get(1).subscriber());
    assertEquals(1, entries.get(1).attempt());
    f.settlements.ack(List.of(2L));
    assertEquals(List.of("delivered", "acked"), events(f, 2), "settled by an event it holds: no 'settled' added");
  }

  @Test
  void pullReadsAreNamedAndRedeliveriesCounted() {
    ConsumerFixture f = ConsumerFixture.explicit(10, 2);
    f.dispatcher.take(1, Subscribers.PULL_OWNER);
    f.settlements.nack(List.of(1L), true);
    f.state.cursor().backoffElapsed(1);
    f.dispatcher.take(1, Subscribers.PULL_OWNER);
    List<MessageTrace.Entry> entries = f.state.trace().entries("c", 1, f.state, f.log);
    assertEquals(List.of("delivered", "nacked", "delivered", "in-flight"),
        entries.stream().map(MessageTrace.Entry::event).toList());
    assertEquals("pull", entries.get(3).subscriber());
    assertEquals(2, entries.get(3).attempt());
  }

  @Test
  void aSeekForwardIsWhatSkippedTheMessagesItJumpedOver() {
    ConsumerFixture f = ConsumerFixture.explicit(10, 10);
    f.settlements.seek(8);
    assertEquals(List.of("skipped"), events(f, 5));
    assertEquals(List.of("pending"), events(f, 8));
  }

  @Test
  void aSeekBackReachesMessagesBeforeTheStart() {
    ConsumerFixture f = new ConsumerFixture(ConsumerSettings.named("c"), null, 0);
    ConsumerState<String> state = new ConsumerState<>("orders", f.state.settings(), null, 5, 0, 0, 100);
    f.append(10);
    assertEquals(List.of("before-start"),
        state.trace().entries("c", 3, state, f.log).stream().map(MessageTrace.Entry::event).toList());
    state.trace().seek(state.cursor(), 2, ConsumerFixture.T0, f.log);
    state.cursor().seek(2);
    assertEquals(List.of("pending"),
        state.trace().entries("c", 3, state, f.log).stream().map(MessageTrace.Entry::event).toList());
  }

  @Test
  void aMessageTheFilterRefusesIsFiltered() {
    ConsumerFixture f = new ConsumerFixture(ConsumerSettings.named("c").filter(MessageFilter.type("refund")), null, 3);
    assertEquals(List.of("filtered"), events(f, 1));
  }

  @Test
  void eventsLostInARestartAreSaidToBeDropped() {
    ConsumerFixture f = ConsumerFixture.explicit(10, 10);
    f.state.restoredTrace(1, 6);
    f.state.cursor().skipTo(6);
    assertEquals(List.of("events-dropped", "settled"), events(f, 3));
  }
}
