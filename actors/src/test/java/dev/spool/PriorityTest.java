package dev.spool;

import static dev.spool.Await.result;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Priorities: a queue with a {@code maxPriority} delivers the highest priority first among the
 * ready messages of each consumer's look-ahead window, in sequence order within one priority; a
 * queue without one delivers in sequence order.
 */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class PriorityTest {

  @JUnit5TestKit
  ActorTestKit testKit = new JUnit5TestKitBuilder().withCustomConfig(ManualClock.testKitConfig()).build();

  private static final AtomicInteger QUEUES = new AtomicInteger();
  private static final String KIB = "x".repeat(1024);
  private static final QueueSettings PRIORITIES = QueueSettings.defaults().withMaxPriority(9);
  private final ManualClock clock = new ManualClock();

  private static String queue(Spool spool, QueueSettings settings) {
    String q = "priority-" + QUEUES.incrementAndGet();
    result(spool.createQueue(q, settings));
    return q;
  }

  private static Message kib(int priority) {
    return Message.text("t", priority + ":" + KIB).withPriority(priority);
  }

  private static List<Long> sequences(List<Delivery> deliveries) {
    return deliveries.stream().map(Delivery::sequence).toList();
  }

  private static List<Message> withPriorities(int... priorities) {
    return IntStream.of(priorities).mapToObj(PriorityTest::kib).toList();
  }

  /** The order a window wide enough for all delivers them in: priority descending, then sequence. */
  private static List<Long> expectedOrder(int maxPriority, int... priorities) {
    List<Long> order = new ArrayList<>(range(priorities.length));
    order.sort(Comparator.comparing((Long s) -> -Math.min(maxPriority, priorities[(int) (s - 1)]))
        .thenComparing(s -> s));
    return order;
  }

  /** Sequences 1 to {@code n}. */
  private static List<Long> range(int n) {
    return IntStream.rangeClosed(1, n).mapToObj(i -> (long) i).toList();
  }

  @Test
  void higherPrioritiesGoFirstAndOrderWithinOnePriorityIsKept() {
    Spool spool = clock.spool(testKit.system());
    String q = queue(spool, PRIORITIES);
    int[] priorities = {0, 5, 9, 5, 0, 9, 1, 5, 0, 9, 3, 3, 7, 0, 5};
    result(spool.createPublisher(q, "p").publishAll(withPriorities(priorities)));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c"));
    List<Delivery> got = result(c.readBatch(100));
    assertEquals(expectedOrder(9, priorities), sequences(got));
    assertEquals(9, got.get(0).message().priority());
  }

  @Test
  void lagLeavesOutWhatWasAcknowledgedAboveTheWindowsLowerPriorities() {
    Spool spool = clock.spool(testKit.system());
    String q = queue(spool, PRIORITIES);
    int[] priorities = new int[20];
    java.util.Arrays.fill(priorities, 10, 20, 9);
    result(spool.createPublisher(q, "p").publishAll(withPriorities(priorities)));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c"));
    List<Delivery> got = result(c.readBatch(10));
    assertEquals(range(20).subList(10, 20), sequences(got));
    result(c.acknowledgeBatch(got));
    ConsumerInfo info = result(c.info());
    assertEquals(0, info.committed(), "the window's priority-0 messages hold it");
    assertEquals(10, info.lag(), "the ten priority-0 messages, not the ten acknowledged");
  }

  @Test
  void acknowledgingAMessageStillInTheWindowIsUnknownAndChangesNothing() {
    Spool spool = clock.spool(testKit.system());
    String q = queue(spool, PRIORITIES);
    result(spool.createPublisher(q, "p").publishAll(withPriorities(0, 5)));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c").prefetch(1));
    List<Delivery> first = result(c.readBatch(1));
    assertEquals(List.of(2L), sequences(first));
    assertEquals(new AckResult(0, List.of(), List.of(1L)), result(c.acknowledgeSequences(List.of(1L))),
        "never delivered");
    result(c.acknowledgeBatch(first));
    List<Delivery> second = result(c.readBatch(1));
    assertEquals(List.of(1L), sequences(second), "still delivered");
    assertEquals(1, second.get(0).attempt());
    result(c.acknowledgeBatch(second));
    assertEquals(2, result(c.info()).committed());
  }

  @Test
  void aPushSubscriberWithLimitedCreditGetsTheHighestPrioritiesFirst() {
    Spool spool = clock.spool(testKit.system());
    String q = queue(spool, PRIORITIES);
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c").prefetch(2));
    result(spool.createPublisher(q, "p").publishAll(withPriorities(1, 2, 3, 4, 8, 0)));
    TestProbe<Delivery> subscriber = testKit.createTestProbe();
    result(c.subscribe(subscriber.ref()));
    List<Long> order = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      Delivery d = subscriber.receiveMessage();
      order.add(d.sequence());
      result(c.acknowledge(d));
    }
    // Two in flight at a time: the first two are the top two; each ack lets the next highest go.
    assertEquals(List.of(5L, 4L, 3L, 2L, 1L, 6L), order);
  }

  @Test
  void beyondTheWindowOrderIsBySequence() {
    Spool spool = Spool.create(testKit.system(), SpoolSettings.create(testKit.system()).withClock(clock)
        .withScheduling(new SpoolSettings.Scheduling(Duration.ofDays(7), 10_000, 4)));
    String q = queue(spool, PRIORITIES);
    result(spool.createPublisher(q, "p").publishAll(withPriorities(0, 0, 0, 0, 0, 0, 9, 9)));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c"));
    // A window of 4: the 9s at 7 and 8 overtake only what is within 4 ready messages before them.
    assertEquals(List.of(1L, 2L, 3L, 7L, 8L, 4L, 5L, 6L), sequences(result(c.readBatch(100))));
  }

  @Test
  void prioritiesAboveTheQueueMaximumCountAsIt() {
    Spool spool = clock.spool(testKit.system());
    String q = queue(spool, QueueSettings.defaults().withMaxPriority(3));
    int[] priorities = {0, 9, 3, 5, 1};
    result(spool.createPublisher(q, "p").publishAll(withPriorities(priorities)));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c"));
    assertEquals(List.of(2L, 3L, 4L, 5L, 1L), sequences(result(c.readBatch(100))));
    assertEquals(expectedOrder(3, priorities), List.of(2L, 3L, 4L, 5L, 1L));
  }

  @Test
  void aQueueWithoutMaxPriorityDeliversInSequenceOrder() {
    Spool spool = clock.spool(testKit.system());
    String q = queue(spool, QueueSettings.defaults());
    result(spool.createPublisher(q, "p").publishAll(withPriorities(0, 9, 3, 9, 1)));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c"));
    List<Delivery> got = result(c.readBatch(100));
    assertEquals(List.of(1L, 2L, 3L, 4L, 5L), sequences(got));
    assertEquals(9, got.get(1).message().priority(), "the priority is kept on the message all the same");
  }

  @Test
  void inAckModeNoneEveryMessageGoesOnceAndTheCommittedPositionCoversThem() {
    Spool spool = clock.spool(testKit.system());
    String q = queue(spool, PRIORITIES);
    int[] priorities = IntStream.range(0, 600).map(i -> (i * 7) % 10).toArray();
    result(spool.createPublisher(q, "p").publishAll(withPriorities(priorities)));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c").ackMode(AckMode.NONE));
    List<Long> got = new ArrayList<>();
    while (got.size() < 600) {
      got.addAll(sequences(result(c.readBatch(100))));
    }
    assertEquals(range(600), got.stream().sorted().toList());
    assertEquals(600, result(c.info()).committed());
  }

  @Test
  void aDelayedHighPriorityMessageGoesFirstOnceDue() {
    Spool spool = clock.spool(testKit.system());
    String q = queue(spool, PRIORITIES);
    result(spool.createPublisher(q, "p").publishAll(List.of(kib(9).withDelay(Duration.ofSeconds(5)), kib(0),
        kib(0))));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c").prefetch(1));
    Delivery first = result(c.readBatch(10)).get(0);
    assertEquals(2L, first.sequence());
    clock.timePasses(testKit.system(), Duration.ofSeconds(5));
    result(c.acknowledge(first));
    assertEquals(List.of(1L), sequences(result(c.readBatch(10))), "due now, ahead of the lower priority at 3");
  }

  @Test
  void badPrioritiesAreRefused() {
    assertEquals(SpoolException.Code.InvalidConfiguration,
        assertThrows(SpoolException.class, () -> kib(-1)).code());
    assertEquals(SpoolException.Code.InvalidConfiguration,
        assertThrows(SpoolException.class, () -> kib(10)).code());
    assertEquals(SpoolException.Code.InvalidConfiguration,
        assertThrows(SpoolException.class, () -> QueueSettings.defaults().withMaxPriority(10)).code());
    assertEquals(SpoolException.Code.InvalidConfiguration,
        assertThrows(SpoolException.class, () -> QueueSettings.defaults().withMaxPriority(-1)).code());
  }
}
