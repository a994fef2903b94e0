package dev.spool;

import static dev.spool.Await.result;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Message traces tell each consumer's real outcome: recorded events only, {@code before-start} and
 * {@code filtered} where certain, and {@code events-dropped} where the per-queue cap overwrote them.
 */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class MessageTraceTest {

  @JUnit5TestKit
  ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  private static final AtomicInteger QUEUES = new AtomicInteger();
  private static final Backoff FAST = Backoff.exponential(Duration.ofMillis(1), Duration.ofMillis(2), 2.0, 0);

  private static List<String> events(MessageTrace trace, String consumer) {
    return trace.entries().stream()
        .filter(e -> consumer.equals(e.consumer()))
        .map(e -> e.event() + (e.attempt() > 0 ? "#" + e.attempt() : ""))
        .toList();
  }

  /** The queue's own entries (no consumer): {@code appended}. */
  private static List<String> appendEvents(MessageTrace trace) {
    return trace.entries().stream().filter(e -> e.consumer() == null).map(MessageTrace.Entry::event).toList();
  }

  private static List<Message> kibMessages(int count) {
    List<Message> out = new ArrayList<>(count);
    for (int i = 1; i <= count; i++) {
      byte[] payload = new byte[1024];
      java.util.Arrays.fill(payload, (byte) ('a' + i % 26));
      out.add(Message.of(i % 2 == 0 ? "even" : "odd", payload));
    }
    return out;
  }

  /** Reads and acknowledges until {@code count} were acknowledged. */
  private static void ackAll(QueueConsumer c, int count) {
    int acked = 0;
    while (acked < count) {
      List<Delivery> batch = result(c.readBatch(200, Duration.ofSeconds(2)));
      if (!batch.isEmpty()) {
        acked += result(c.acknowledgeBatch(batch));
      }
    }
  }

  @Test
  void eachConsumerOfAThousandMessageFlowHasItsRealOutcomeForEveryMessage() {
    Spool spool = Spool.create(testKit.system());
    String q = "traced-" + QUEUES.incrementAndGet();
    String dlq = q + "-dlq";
    result(spool.createQueue(dlq, QueueSettings.defaults()));
    // retention keeps what every consumer settled, so that its trace can be asked for
    result(spool.createQueue(q, QueueSettings.defaults().withDeadLetter(dlq, 2).withRetention(Duration.ofHours(1))));
    QueueConsumer acker = spool.createConsumer(q, ConsumerSettings.named("acker").prefetch(500));
    QueueConsumer failer = spool.createConsumer(q, ConsumerSettings.named("failer").prefetch(500).backoff(FAST));
    QueueConsumer odd = spool.createConsumer(q, ConsumerSettings.named("odd").filter(MessageFilter.type("odd")));
    result(failer.ready());
    result(odd.ready());
    List<Long> sequences = result(spool.createPublisher(q, "p").publishAll(kibMessages(1000)));
    assertEquals(1000, sequences.size());
    assertEquals(1, sequences.get(0));
    QueueConsumer late = spool.createConsumer(q, ConsumerSettings.named("late").startAt(StartPosition.latest()));
    result(late.ready());

    ackAll(acker, 1000);
    ackAll(odd, 500);
    // The failer nacks every delivery until each message has been dead-lettered after its second.
    while (result(failer.info()).counters().deadLettered() < 1000) {
      List<Delivery> batch = result(failer.readBatch(500, Duration.ofMillis(200)));
      if (!batch.isEmpty()) {
        result(failer.nack(batch.stream().map(d -> d.message().sequence()).toList(), true));
      }
    }

    for (long seq : List.of(1L, 6L, 500L, 999L, 1000L)) {
      MessageTrace trace = result(spool.messageTrace(q, seq));
      assertEquals(seq, trace.message().sequence());
      assertEquals("appended", trace.entries().get(0).event());
      assertEquals(List.of("delivered#1", "acked"), events(trace, "acker"), "acker, message " + seq);
      MessageTrace.Entry delivered = trace.entries().stream()
          .filter(e -> "acker".equals(e.consumer()) && e.event().equals("delivered")).findFirst().orElseThrow();
      assertNotNull(delivered.at(), "a delivery has its time");
      assertEquals("pull", delivered.subscriber());
      assertFalse(delivered.at().isBefore(trace.entries().get(0).at()), "delivered after it was appended");
      assertEquals(List.of("delivered#1", "nacked#1", "delivered#2", "nacked#2", "dead-lettered#2"),
          events(trace, "failer"), "failer, message " + seq);
      assertEquals(List.of("before-start"), events(trace, "late"), "late, message " + seq);
      assertNull(trace.entries().stream().filter(e -> "late".equals(e.consumer())).findFirst().orElseThrow().at());
      assertEquals(seq % 2 == 0 ? List.of("filtered") : List.of("delivered#1", "acked"), events(trace, "odd"),
          "odd, message " + seq);
      assertTrue(trace.entries().stream().noneMatch(e -> e.event().equals("events-dropped")), trace.toString());
    }
  }

  @Test
  void whenTheCapOverwroteAMessagesEventsTheTraceSaysSoInsteadOfInventingThem() {
    ActorTestKit small = ActorTestKit.create("small-trace-cap", ConfigFactory.parseMap(
        Map.of("spool.consumer.trace-events-per-queue", 400)).withFallback(ConfigFactory.load()));
    try {
      Spool spool = Spool.create(small.system());
      String q = "capped";
      result(spool.createQueue(q, QueueSettings.defaults().withRetention(Duration.ofHours(1))));
      QueueConsumer a = spool.createConsumer(q, ConsumerSettings.named("a"));
      QueueConsumer b = spool.createConsumer(q, ConsumerSettings.named("b"));
      result(a.ready());
      result(b.ready());
      result(spool.createPublisher(q, "p").publishAll(kibMessages(1000)));
      ackAll(a, 1000);
      ackAll(b, 1000);

      // 400 events shared by two consumers: each keeps 175 to 200 (its share less at most a chunk of 25) of the
      // 2,000 it recorded, read and acknowledged by 100 (prefetch): up to 900 every event went, from 926 none.
      for (long seq : List.of(6L, 500L, 900L)) {
        MessageTrace trace = result(spool.messageTrace(q, seq));
        for (String consumer : List.of("a", "b")) {
          assertEquals(List.of("events-dropped", "settled"), events(trace, consumer), consumer + ", message " + seq);
        }
        assertTrue(trace.entries().stream().noneMatch(e -> e.event().equals("acked")), trace.toString());
      }
      for (long seq : List.of(926L, 950L, 1000L)) {
        MessageTrace trace = result(spool.messageTrace(q, seq));
        for (String consumer : List.of("a", "b")) {
          assertEquals(List.of("delivered#1", "acked"), events(trace, consumer), consumer + ", message " + seq);
        }
      }
    } finally {
      small.shutdownTestKit();
    }
  }

  @Test
  void aConsumerThatJoinsTakesItsShareOfTheCapFromTheOthers() {
    ActorTestKit small = ActorTestKit.create("shared-trace-cap", ConfigFactory.parseMap(
        Map.of("spool.consumer.trace-events-per-queue", 400)).withFallback(ConfigFactory.load()));
    try {
      Spool spool = Spool.create(small.system());
      String q = "shared";
      result(spool.createQueue(q, QueueSettings.defaults().withRetention(Duration.ofHours(1))));
      QueueConsumer a = spool.createConsumer(q, ConsumerSettings.named("a"));
      result(a.ready());
      result(spool.createPublisher(q, "p").publishAll(kibMessages(300)));
      ackAll(a, 300);
      // Alone, a keeps 350 to 400 of its 600 events (in chunks of 50): all of 151 on, none of 1..100.
      assertEquals(List.of("delivered#1", "acked"), events(result(spool.messageTrace(q, 151)), "a"));
      assertEquals(List.of("events-dropped", "settled"), events(result(spool.messageTrace(q, 100)), "a"));
      QueueConsumer b = spool.createConsumer(q, ConsumerSettings.named("b").startAt(StartPosition.latest()));
      result(b.ready());
      // With b, a's share is 200: 150 to 200 events, all of 251 on, none of 1..200. b started after all of them.
      await().untilAsserted(() ->
          assertEquals(List.of("events-dropped", "settled"), events(result(spool.messageTrace(q, 200)), "a")));
      MessageTrace last = result(spool.messageTrace(q, 251));
      assertEquals(List.of("delivered#1", "acked"), events(last, "a"));
      assertEquals(List.of("before-start"), events(last, "b"));
    } finally {
      small.shutdownTestKit();
    }
  }

  @Test
  void aSeekForwardSaysTheMessagesItSkippedAndUnacknowledgedOnesSayWhereTheyStand() {
    Spool spool = Spool.create(testKit.system());
    String q = "seeking-" + QUEUES.incrementAndGet();
    result(spool.createQueue(q, QueueSettings.defaults()));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c"));
    QueueConsumer idle = spool.createConsumer(q, ConsumerSettings.named("idle"));
    result(idle.ready());
    result(spool.createPublisher(q, "p").publishAll(kibMessages(20)));
    List<Delivery> first = result(c.readBatch(5));
    assertEquals(5, first.size());
    result(c.acknowledge(first.get(0)));
    result(c.seek(StartPosition.sequence(15)));
    ackAll(c, 6);

    assertEquals(List.of("delivered#1", "acked"), events(result(spool.messageTrace(q, 1)), "c"));
    List<String> abandoned = events(result(spool.messageTrace(q, 3)), "c");
    assertEquals(List.of("delivered#1", "skipped#1"), abandoned, "delivered, then passed over by the seek");
    assertEquals(List.of("skipped"), events(result(spool.messageTrace(q, 10)), "c"), "never delivered: sought past");
    assertEquals(List.of("delivered#1", "acked"), events(result(spool.messageTrace(q, 15)), "c"));
    assertEquals(List.of("pending"), events(result(spool.messageTrace(q, 10)), "idle"));
  }

  @Test
  void theTraceCapIsCheckedAndTheOldPerConsumerSettingIsNotSilentlyIgnored() {
    SpoolException negative = assertThrows(SpoolException.class, () -> SpoolSettings.create(ConfigFactory.parseMap(
        Map.of("spool.consumer.trace-events-per-queue", -1)).withFallback(ConfigFactory.load())));
    assertEquals(SpoolException.Code.InvalidConfiguration, negative.code());
    assertTrue(negative.getMessage().contains("trace-events-per-queue"), negative.getMessage());
    SpoolException old = assertThrows(SpoolException.class, () -> SpoolSettings.create(ConfigFactory.parseMap(
        Map.of("spool.consumer.trace-events", 128)).withFallback(ConfigFactory.load())));
    assertEquals(SpoolException.Code.InvalidConfiguration, old.code());
    assertTrue(old.getMessage().contains("spool.consumer.trace-events-per-queue"), old.getMessage());
    assertEquals(1_000_000, SpoolSettings.create(ConfigFactory.load()).consumer().traceEventsPerQueue());
  }

  @Test
  void aMessageTraceShowsEachDeliveryAttemptAndItsOutcomePerConsumer() {
    Spool spool = Spool.create(testKit.system());
    String q = "trace-attempts-" + QUEUES.incrementAndGet();
    result(spool.createQueue(q, QueueSettings.defaults()));
    long seq = result(spool.createPublisher(q, "p").publish(Message.text("t", "x")));
    Backoff fast = Backoff.exponential(Duration.ofMillis(1), Duration.ofMillis(5), 2.0, 0);
    QueueConsumer a = spool.createConsumer(q, ConsumerSettings.named("a").backoff(fast));
    QueueConsumer b = spool.createConsumer(q, ConsumerSettings.named("b"));
    result(b.ready());

    Delivery first = result(a.read()).orElseThrow();
    result(a.nack(first, true));
    Delivery second = result(a.readBatch(1, Duration.ofSeconds(5))).get(0);
    assertEquals(2, second.attempt());
    MessageTrace inFlight = result(spool.messageTrace(q, seq));
    assertEquals(List.of("delivered#1", "nacked#1", "delivered#2", "in-flight#2"), events(inFlight, "a"));
    result(a.acknowledge(second));

    MessageTrace trace = result(spool.messageTrace(q, seq));
    assertEquals(seq, trace.message().sequence());
    assertEquals(List.of("appended"), appendEvents(trace));
    assertEquals("appended", trace.entries().get(0).event(), "appended comes first");
    assertEquals(List.of("delivered#1", "nacked#1", "delivered#2", "acked"), events(trace, "a"));
    assertEquals(List.of("pending"), events(trace, "b"), "b has not read it yet");
    MessageTrace.Entry delivered = trace.entries().stream().filter(e -> e.event().equals("delivered")).findFirst()
        .orElseThrow();
    assertEquals("pull", delivered.subscriber());
    assertNotNull(delivered.at());
    assertNull(trace.entries().stream().filter(e -> e.event().equals("pending")).findFirst().orElseThrow().at());
  }
}
