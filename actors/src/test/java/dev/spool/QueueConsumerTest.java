package dev.spool;

import static dev.spool.Await.result;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The consumer handle's long-poll: one cap on a read's wait, the engine's. */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class QueueConsumerTest {

  @JUnit5TestKit
  ActorTestKit testKit = new JUnit5TestKitBuilder()
      .withCustomConfig(ConfigFactory.parseString("spool.consumer.max-read-wait = 300ms")
          .withFallback(ConfigFactory.load()))
      .build();

  @Test
  void aReadAskingToWaitLongerThanTheCapWaitsTheCapAndAnswers() {
    Spool spool = Spool.create(testKit.system());
    result(spool.createQueue("capped", QueueSettings.defaults()));
    QueueConsumer consumer = spool.createConsumer("capped", ConsumerSettings.named("worker"));
    result(consumer.ready());

    long start = System.nanoTime();
    List<Delivery> none = result(consumer.readBatch(10, Duration.ofDays(365)));
    long waitedMillis = Duration.ofNanos(System.nanoTime() - start).toMillis();

    assertEquals(List.of(), none);
    assertTrue(waitedMillis >= 250 && waitedMillis < 5_000, "waited " + waitedMillis + " ms for a 300 ms cap");

    result(spool.createPublisher("capped", "p").publish(Message.of("order.created", new byte[1024])));
    List<Delivery> one = result(consumer.readBatch(10, Duration.ofDays(365)));
    assertEquals(1024, one.get(0).message().payload().length);
  }
}
