package dev.spool.engine;

import static dev.spool.engine.Await.result;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.Message;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import dev.spool.SpoolEvent;
import dev.spool.SpoolSettings;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.stream.IntStream;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.SinkQueueWithCancel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** {@code Spool.events()}: live, per-listener, bounded, and in order. */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class EventsTest {

  @JUnit5TestKit
  ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  private static final AtomicInteger QUEUES = new AtomicInteger();

  /** Pulls events from {@code queue} until one of {@code type} matching {@code which} arrives; returns all pulled. */
  private static <T extends SpoolEvent> List<SpoolEvent> until(SinkQueueWithCancel<SpoolEvent> queue, Class<T> type,
      Predicate<T> which) {
    List<SpoolEvent> pulled = new ArrayList<>();
    while (true) {
      var pending = pendingPulls.remove(queue);
      SpoolEvent e = result(pending != null ? pending : queue.pull(), 10)
          .orElseThrow(() -> new AssertionError("the event stream ended"));
      pulled.add(e);
      if (type.isInstance(e) && which.test(type.cast(e))) {
        return pulled;
      }
    }
  }

  /**
   * Creates throwaway queues until the listener reports one: its subscription is then live (it is
   * made asynchronously when the stream starts). Returns how many probe events may still be on their
   * way after the one seen.
   */
  private static int awaitListening(Spool spool, SinkQueueWithCancel<SpoolEvent> events) throws Exception {
    Set<String> probes = new HashSet<>();
    CompletableFuture<Optional<SpoolEvent>> pending = events.pull().toCompletableFuture();
    while (probes.size() < 100) {
      String probe = "listening-" + QUEUES.incrementAndGet();
      result(spool.createQueue(probe, QueueSettings.defaults()));
      probes.add(probe);
      try {
        while (true) {
          SpoolEvent e = pending.get(200, TimeUnit.MILLISECONDS).orElseThrow();
          pending = events.pull().toCompletableFuture();
          if (e instanceof SpoolEvent.QueueCreated c && probes.contains(c.queue())) {
            // the pull just made is handed back to later reads through the sink queue's own buffer
            pendingPulls.put(events, pending);
            return probes.size() - 1;
          }
        }
      } catch (TimeoutException notYet) {
        // not subscribed yet: create another probe queue
      }
    }
    throw new AssertionError("the events stream never started listening");
  }

  /** A pull left outstanding by {@link #awaitListening}, to be completed before any new pull. */
  private static final Map<SinkQueueWithCancel<SpoolEvent>,
      CompletableFuture<Optional<SpoolEvent>>> pendingPulls =
      new ConcurrentHashMap<>();

  @Test
  void queueLifecycleAndMemoryPressureArriveInOrder() throws Exception {
    Spool spool = Spool.create(testKit.system(), SpoolSettings.create(testKit.system()).withMemoryThresholdBytes(200_000));
    SinkQueueWithCancel<SpoolEvent> events = spool.events().runWith(Sink.queue(), testKit.system());
    awaitListening(spool, events);

    String q = "events-" + QUEUES.incrementAndGet();
    result(spool.createQueue(q, QueueSettings.defaults()));
    until(events, SpoolEvent.QueueCreated.class, e -> e.queue().equals(q));
    var publisher = spool.createPublisher(q, "p");
    List<Message> batch = IntStream.range(0, 100).mapToObj(i -> Message.of("t", new byte[1000])).toList();
    result(publisher.publishAll(batch));
    Await.failure(publisher.publishAll(batch), dev.spool.SpoolException.Code.QueueFull);
    List<SpoolEvent> toLow = until(events, SpoolEvent.MemoryLow.class, e -> e.thresholdBytes() == 200_000);
    assertTrue(toLow.stream().noneMatch(e -> e instanceof SpoolEvent.MemoryNormal), "no MemoryNormal before MemoryLow");
    result(spool.deleteQueue(q));
    List<SpoolEvent> after = until(events, SpoolEvent.MemoryNormal.class, e -> e.thresholdBytes() == 200_000);
    assertTrue(after.stream().anyMatch(e -> e instanceof SpoolEvent.QueueDeleted d && d.queue().equals(q)),
        "deleting the queue released its bytes: " + after);
    events.cancel();
  }

  @Test
  void aSlowListenerLosesTheOldestAndIsToldHowMany() throws Exception {
    SpoolSettings settings = SpoolSettings.create(testKit.system()).withEvents(new SpoolSettings.Events(false, 8));
    Spool spool = Spool.create(testKit.system(), settings);
    SinkQueueWithCancel<SpoolEvent> events = spool.events().runWith(Sink.queue(1), testKit.system());
    int extra = awaitListening(spool, events);
    List<String> names = IntStream.range(0, 50).mapToObj(i -> "burst-" + QUEUES.incrementAndGet()).toList();
    for (String name : names) {
      result(spool.createQueue(name, QueueSettings.defaults()));
    }
    List<SpoolEvent> got = until(events, SpoolEvent.QueueCreated.class, e -> e.queue().equals(names.get(49)));
    long dropped = got.stream().filter(e -> e instanceof SpoolEvent.EventsDropped)
        .mapToLong(e -> ((SpoolEvent.EventsDropped) e).count()).sum();
    long delivered = got.stream().filter(e -> e instanceof SpoolEvent.QueueCreated c && names.contains(c.queue())).count();
    assertTrue(dropped > 0, "a listener that does not pull loses events: " + got);
    assertTrue(dropped + delivered >= 50 && dropped + delivered <= 50 + extra,
        "every event is delivered or counted as dropped: " + dropped + " + " + delivered);
    events.cancel();
  }

  @Test
  void messageAddedIsOffByDefaultAndCarriesGroupsWhenOn() throws Exception {
    SpoolSettings on = SpoolSettings.create(testKit.system()).withEvents(new SpoolSettings.Events(true, 1024));
    Spool spool = Spool.create(testKit.system(), on);
    SinkQueueWithCancel<SpoolEvent> events = spool.events().runWith(Sink.queue(), testKit.system());
    awaitListening(spool, events);
    String q = "added-" + QUEUES.incrementAndGet();
    result(spool.createQueue(q, QueueSettings.defaults()));
    result(spool.createPublisher(q, "p").publishAll(List.of(
        Message.text("order.line", "a").withHeader("group-id", "order-7").withHeader("group-size", "2"),
        Message.text("note", "b"))));
    List<SpoolEvent> pulled = until(events, SpoolEvent.MessageAdded.class, e -> e.queue().equals(q));
    SpoolEvent.MessageAdded first = (SpoolEvent.MessageAdded) pulled.get(pulled.size() - 1);
    assertEquals(List.of(1L, "order.line", "order-7", 2), List.of(first.sequence(), first.messageType(), first.groupId(),
        first.groupSize()));
    events.cancel();

    Spool quiet = Spool.create(testKit.system(), SpoolSettings.create(testKit.system()));
    SinkQueueWithCancel<SpoolEvent> none = quiet.events().runWith(Sink.queue(), testKit.system());
    awaitListening(quiet, none);
    String q2 = "quiet-" + QUEUES.incrementAndGet();
    result(quiet.createQueue(q2, QueueSettings.defaults()));
    result(quiet.createPublisher(q2, "p").publish(Message.text("t", "x")));
    result(quiet.deleteQueue(q2));
    List<SpoolEvent> seen = until(none, SpoolEvent.QueueDeleted.class, e -> e.queue().equals(q2));
    assertTrue(seen.stream().noneMatch(e -> e instanceof SpoolEvent.MessageAdded a && a.queue().equals(q2)));
    none.cancel();
  }
}
