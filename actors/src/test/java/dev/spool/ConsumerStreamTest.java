package dev.spool;

import static dev.spool.Await.result;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.LongStream;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.testkit.TestSubscriber;
import org.apache.pekko.stream.testkit.javadsl.TestSink;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@link QueueConsumer#source()}: one stage that emits deliveries straight from the consumer's
 * batches, keeping the consumer's back-pressure, acknowledgement and ending.
 */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class ConsumerStreamTest {

  private static final Duration WAIT = Duration.ofSeconds(10);

  @JUnit5TestKit
  ActorTestKit testKit = ActorTestKit.create();

  private int queues;

  @Test
  void aDemandOfOneGetsEveryDeliveryInOrder() {
    Spool spool = Spool.create(testKit.system());
    String q = queue(spool);
    QueueConsumer consumer = spool.createConsumer(q, ConsumerSettings.named("one-by-one").ackMode(AckMode.NONE));
    result(consumer.ready());
    publish(spool, q, 25);

    TestSubscriber.Probe<Delivery> probe = consumer.source().runWith(TestSink.create(testKit.system()), testKit.system());
    List<Long> got = new ArrayList<>();
    for (int i = 0; i < 25; i++) {
      got.add(probe.requestNext(WAIT).sequence()); // each pull asks for one
    }
    assertEquals(sequences(1, 25), got);
    probe.request(1);
    probe.expectNoMessage(Duration.ofMillis(200));
    publish(spool, q, 1);
    assertEquals(26L, probe.expectNext(WAIT).sequence());
    probe.cancel();
  }

  @Test
  void cancellingInTheMiddleOfABatchRedeliversWhatWasNotAcknowledged() {
    Spool spool = Spool.create(testKit.system());
    String q = queue(spool);
    QueueConsumer consumer = spool.createConsumer(q, ConsumerSettings.named("canceller"));
    result(consumer.ready());
    publish(spool, q, 50); // one batch of 50 for the stream

    TestSubscriber.Probe<Delivery> probe = consumer.source().runWith(TestSink.create(testKit.system()), testKit.system());
    List<Delivery> taken = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      taken.add(probe.requestNext(WAIT));
    }
    assertEquals(3, result(consumer.acknowledgeBatch(taken)));
    probe.cancel();

    List<Long> redelivered = new ArrayList<>();
    while (redelivered.size() < 47) {
      List<Delivery> read = result(consumer.readBatch(100, Duration.ofSeconds(5)));
      assertEquals(false, read.isEmpty(), "got only " + redelivered);
      read.forEach(d -> redelivered.add(d.sequence()));
    }
    assertEquals(sequences(4, 50), redelivered.stream().sorted().toList());
  }

  @Test
  void aFailingStreamGivesBackWhatItHeld() {
    Spool spool = Spool.create(testKit.system());
    String q = queue(spool);
    QueueConsumer consumer = spool.createConsumer(q, ConsumerSettings.named("failing"));
    result(consumer.ready());
    publish(spool, q, 10);
    AtomicInteger seen = new AtomicInteger();

    Throwable failed = Await.failureOf(consumer.source().map(d -> {
      if (seen.incrementAndGet() == 2) {
        throw new IllegalStateException("handler broke");
      }
      return d;
    }).runWith(Sink.ignore(), testKit.system()));
    assertEquals("handler broke", failed.getMessage());

    List<Delivery> again = result(consumer.readBatch(100, Duration.ofSeconds(5)));
    assertEquals(sequences(1, 10), again.stream().map(Delivery::sequence).sorted().toList());
  }

  @Test
  void aMissingConsumerFailsTheStreamWithConsumerNotFound() {
    Spool spool = Spool.create(testKit.system());
    String q = queue(spool);
    TestSubscriber.Probe<Delivery> probe = spool.consumer(q, "nobody").source()
        .runWith(TestSink.create(testKit.system()), testKit.system());
    assertInstanceOf(SpoolException.ConsumerNotFound.class, probe.expectSubscriptionAndError());
  }

  @Test
  void aDeletedConsumerEndsTheStreamAfterWhatItHolds() {
    Spool spool = Spool.create(testKit.system());
    String q = queue(spool);
    QueueConsumer consumer = spool.createConsumer(q, ConsumerSettings.named("deleted").ackMode(AckMode.NONE));
    result(consumer.ready());
    publish(spool, q, 10);

    TestSubscriber.Probe<Delivery> probe = consumer.source().runWith(TestSink.create(testKit.system()), testKit.system());
    List<Long> got = new ArrayList<>();
    got.add(probe.requestNext(WAIT).sequence());
    got.add(probe.requestNext(WAIT).sequence());
    result(spool.deleteConsumer(q, "deleted"));
    probe.request(100);
    for (int i = 0; i < 8; i++) {
      got.add(probe.expectNext(WAIT).sequence());
    }
    probe.expectComplete();
    assertEquals(sequences(1, 10), got);
  }

  @Test
  void closingTheHandleCompletesItsStreams() {
    Spool spool = Spool.create(testKit.system());
    String q = queue(spool);
    QueueConsumer consumer = spool.createConsumer(q, ConsumerSettings.named("closed").ackMode(AckMode.NONE));
    result(consumer.ready());
    TestSubscriber.Probe<Delivery> probe = consumer.source().runWith(TestSink.create(testKit.system()), testKit.system());
    probe.request(1);
    publish(spool, q, 1);
    assertEquals(1L, probe.expectNext(WAIT).sequence());
    result(consumer.close());
    probe.expectComplete();
  }

  private String queue(Spool spool) {
    String q = "streamed-" + (++queues);
    result(spool.createQueue(q, QueueSettings.defaults()));
    return q;
  }

  private static void publish(Spool spool, String q, int n) {
    List<Message> batch = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      batch.add(Message.of("order.created", new byte[1024]));
    }
    result(spool.createPublisher(q, "p").publishAll(batch));
  }

  private static List<Long> sequences(long from, long to) {
    return LongStream.rangeClosed(from, to).boxed().toList();
  }
}
