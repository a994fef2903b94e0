package dev.spool;

import static dev.spool.Await.failure;
import static dev.spool.Await.result;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.SpoolException.Code;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Graceful shutdown: publishes refused at once, handler calls in flight allowed to finish (bounded). */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class ShutdownTest {

  @JUnit5TestKit
  ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  private static final AtomicInteger QUEUES = new AtomicInteger();

  private Spool engine(Duration drainTimeout) {
    return Spool.create(testKit.system(), SpoolSettings.create(testKit.system()).withShutdownDrainTimeout(drainTimeout));
  }

  @Test
  void shutdownDuringAHandlerCallLetsItFinishAndAcknowledge() throws Exception {
    Spool spool = engine(Duration.ofSeconds(20));
    String q = "drain-" + QUEUES.incrementAndGet();
    result(spool.createQueue(q, QueueSettings.defaults()));
    QueuePublisher publisher = spool.createPublisher(q, "p");
    // A one-message group: its GroupCompleted is emitted when the consumer acknowledges it, which
    // shows the ack of the call that finished during the drain before the engine stopped.
    result(publisher.publishAll(java.util.List.of(
        Message.text("t", "a").withHeader("group-id", "first").withHeader("group-size", "1"),
        Message.text("t", "b"))));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("slow"));
    CountDownLatch started = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    AtomicInteger finished = new AtomicInteger();
    AtomicInteger calls = new AtomicInteger();
    result(c.subscribe(d -> {
      calls.incrementAndGet();
      started.countDown();
      try {
        release.await(); // a blocking handler: it runs on the handler pool, never on Pekko's threads
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      finished.incrementAndGet();
      return CompletableFuture.completedFuture(Done.getInstance());
    }, 1).ready());
    assertTrue(started.await(10, TimeUnit.SECONDS));
    TestProbe<SpoolEvent> events = Events.probe(testKit);

    CompletionStage<Done> shutdown = spool.shutdown();
    failure(publisher.publish(Message.text("t", "late")), Code.ShuttingDown);
    Thread.sleep(300);
    assertFalse(shutdown.toCompletableFuture().isDone(), "shutdown waits for the handler call in flight");
    assertEquals(1, result(c.info()).handlerCalls());

    release.countDown();
    result(shutdown);
    assertEquals(1, finished.get());
    assertEquals(1, calls.get(), "no new call started while draining");
    SpoolEvent first = Events.next(events, SpoolEvent.class,
        e -> e instanceof SpoolEvent.Shutdown || e instanceof SpoolEvent.GroupCompleted g && g.queue().equals(q));
    assertTrue(first instanceof SpoolEvent.GroupCompleted, "acknowledged before Shutdown, not after: " + first);
    SpoolEvent.Shutdown event = Events.next(events, SpoolEvent.Shutdown.class, e -> true);
    assertEquals(1, event.handlerCallsFinished(), "the call finished before the engine stopped");
    assertEquals(0, event.handlerCallsAbandoned());
    failure(spool.queueStats(q), Code.ShuttingDown);
  }

  @Test
  void aHandlerCallThatOutlivesTheDrainTimeoutIsAbandonedAndShutdownStillCompletes() throws Exception {
    Spool spool = engine(Duration.ofMillis(300));
    String q = "abandon-" + QUEUES.incrementAndGet();
    result(spool.createQueue(q, QueueSettings.defaults()));
    result(spool.createPublisher(q, "p").publish(Message.text("t", "a")));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("stuck"));
    CountDownLatch started = new CountDownLatch(1);
    result(c.subscribe(d -> {
      started.countDown();
      return new CompletableFuture<>(); // never completes
    }, 1).ready());
    assertTrue(started.await(10, TimeUnit.SECONDS));
    TestProbe<SpoolEvent> events = Events.probe(testKit);
    long begun = System.nanoTime();
    result(spool.shutdown());
    assertTrue(System.nanoTime() - begun < TimeUnit.SECONDS.toNanos(10), "bounded by the drain timeout");
    SpoolEvent.Shutdown event = Events.next(events, SpoolEvent.Shutdown.class, e -> true);
    assertEquals(1, event.handlerCallsAbandoned());
  }

  @Test
  void aLongPollEndsAtOnceWhenShutdownBegins() throws Exception {
    Spool spool = engine(Duration.ofSeconds(5));
    String q = "poll-" + QUEUES.incrementAndGet();
    result(spool.createQueue(q, QueueSettings.defaults()));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("poller"));
    result(c.ready());
    long started = System.nanoTime();
    CompletableFuture<java.util.List<dev.spool.Delivery>> poll =
        c.readBatch(10, Duration.ofSeconds(30)).toCompletableFuture();
    Thread.sleep(200); // parked
    result(spool.shutdown());
    assertEquals(java.util.List.of(), poll.get(5, TimeUnit.SECONDS), "answered empty, not held to its wait");
    assertTrue(System.nanoTime() - started < TimeUnit.SECONDS.toNanos(10));
  }
}
