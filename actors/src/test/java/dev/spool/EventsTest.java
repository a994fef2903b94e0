package dev.spool;

import static dev.spool.Await.result;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
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

  /** One {@code events()} stream read by pulling, one event at a time (so it can also be slow). */
  private final class Listener {
    private final SinkQueueWithCancel<SpoolEvent> queue;
    private CompletableFuture<Optional<SpoolEvent>> pending;

    Listener(Spool spool, int sinkBuffer) {
      this.queue = spool.events().runWith(Sink.queue(sinkBuffer), testKit.system());
    }

    /** The next event within {@code millis}, or {@code null}. */
    SpoolEvent poll(long millis) throws Exception {
      if (pending == null) {
        pending = queue.pull().toCompletableFuture();
      }
      try {
        SpoolEvent e = pending.get(millis, TimeUnit.MILLISECONDS)
            .orElseThrow(() -> new AssertionError("the event stream ended"));
        pending = null;
        return e;
      } catch (TimeoutException notYet) {
        return null;
      }
    }

    /** Pulls until an event of {@code type} matching {@code which} arrives; returns all pulled. */
    <T extends SpoolEvent> List<SpoolEvent> until(Class<T> type, Predicate<T> which) throws Exception {
      List<SpoolEvent> pulled = new ArrayList<>();
      while (true) {
        SpoolEvent e = poll(10_000);
        if (e == null) {
          throw new AssertionError("no " + type.getSimpleName() + " arrived; got " + pulled);
        }
        pulled.add(e);
        if (type.isInstance(e) && which.test(type.cast(e))) {
          return pulled;
        }
      }
    }

    /**
     * Creates throwaway queues until the listener reports one: its subscription, made when the
     * stream starts, is then live. Returns how many probe events may still come after the one seen.
     */
    int awaitListening(Spool spool) throws Exception {
      Set<String> probes = new HashSet<>();
      while (probes.size() < 100) {
        String probe = "listening-" + QUEUES.incrementAndGet();
        result(spool.createQueue(probe, QueueSettings.defaults()));
        probes.add(probe);
        for (SpoolEvent e = poll(200); e != null; e = poll(200)) {
          if (e instanceof SpoolEvent.QueueCreated c && probes.contains(c.queue())) {
            return probes.size() - 1;
          }
        }
      }
      throw new AssertionError("the events stream never started listening");
    }

    void cancel() {
      queue.cancel();
    }
  }

  @Test
  void queueLifecycleAndMemoryPressureArriveInOrder() throws Exception {
    Spool spool = Spool.create(testKit.system(), SpoolSettings.create(testKit.system()).withMemoryThresholdBytes(200_000));
    Listener events = new Listener(spool, 16);
    events.awaitListening(spool);

    String q = "events-" + QUEUES.incrementAndGet();
    result(spool.createQueue(q, QueueSettings.defaults()));
    events.until(SpoolEvent.QueueCreated.class, e -> e.queue().equals(q));
    var publisher = spool.createPublisher(q, "p");
    List<Message> batch = IntStream.range(0, 100).mapToObj(i -> Message.of("t", new byte[1000])).toList();
    result(publisher.publishAll(batch));
    Await.failure(publisher.publishAll(batch), dev.spool.SpoolException.Code.QueueFull);
    List<SpoolEvent> toLow = events.until(SpoolEvent.MemoryLow.class, e -> e.thresholdBytes() == 200_000);
    assertTrue(toLow.stream().noneMatch(e -> e instanceof SpoolEvent.MemoryNormal), "no MemoryNormal before MemoryLow");
    result(spool.deleteQueue(q));
    List<SpoolEvent> after = events.until(SpoolEvent.MemoryNormal.class, e -> e.thresholdBytes() == 200_000);
    assertTrue(after.stream().anyMatch(e -> e instanceof SpoolEvent.QueueDeleted d && d.queue().equals(q)),
        "deleting the queue released its bytes: " + after);
    events.cancel();
  }

  @Test
  void aSlowListenerLosesTheOldestAndIsToldHowMany() throws Exception {
    SpoolSettings settings = SpoolSettings.create(testKit.system()).withEvents(new SpoolSettings.Events(false, 8));
    Spool spool = Spool.create(testKit.system(), settings);
    Listener events = new Listener(spool, 1);
    int extra = events.awaitListening(spool);
    List<String> names = IntStream.range(0, 50).mapToObj(i -> "burst-" + QUEUES.incrementAndGet()).toList();
    for (String name : names) {
      result(spool.createQueue(name, QueueSettings.defaults()));
    }
    List<SpoolEvent> got = events.until(SpoolEvent.QueueCreated.class, e -> e.queue().equals(names.get(49)));
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
    Listener events = new Listener(spool, 16);
    events.awaitListening(spool);
    String q = "added-" + QUEUES.incrementAndGet();
    result(spool.createQueue(q, QueueSettings.defaults()));
    result(spool.createPublisher(q, "p").publishAll(List.of(
        Message.text("order.line", "a").withHeader("group-id", "order-7").withHeader("group-size", "2"),
        Message.text("note", "b"))));
    List<SpoolEvent> pulled = events.until(SpoolEvent.MessageAdded.class, e -> e.queue().equals(q));
    SpoolEvent.MessageAdded first = (SpoolEvent.MessageAdded) pulled.get(pulled.size() - 1);
    assertEquals(List.of(1L, "order.line", "order-7", 2), List.of(first.sequence(), first.messageType(), first.groupId(),
        first.groupSize()));
    events.cancel();

    Spool quiet = Spool.create(testKit.system(), SpoolSettings.create(testKit.system()));
    Listener none = new Listener(quiet, 16);
    none.awaitListening(quiet);
    String q2 = "quiet-" + QUEUES.incrementAndGet();
    result(quiet.createQueue(q2, QueueSettings.defaults()));
    result(quiet.createPublisher(q2, "p").publish(Message.text("t", "x")));
    result(quiet.deleteQueue(q2));
    List<SpoolEvent> seen = none.until(SpoolEvent.QueueDeleted.class, e -> e.queue().equals(q2));
    assertTrue(seen.stream().noneMatch(e -> e instanceof SpoolEvent.MessageAdded a && a.queue().equals(q2)));
    none.cancel();
  }
}
