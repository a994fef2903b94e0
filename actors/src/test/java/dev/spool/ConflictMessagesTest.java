package dev.spool;

import static dev.spool.Await.failure;
import static dev.spool.Await.result;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.spool.SpoolException.Code;
import java.time.Duration;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** A queue or consumer declared again with other settings is refused, saying which settings differ. */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class ConflictMessagesTest {

  @JUnit5TestKit
  ActorTestKit testKit = ActorTestKit.create();

  @Test
  void aConflictNamesEachSettingThatDiffersWithBothValues() {
    Spool spool = Spool.create(testKit.system());
    result(spool.createQueue("conflicts", QueueSettings.defaults().withMaxLength(1000).withTtl(Duration.ofHours(1))));
    SpoolException queue = failure(spool.declareQueue("conflicts", QueueSettings.defaults().withMaxLength(2000)),
        Code.QueueAlreadyExists);
    assertEquals("queue 'conflicts' already exists with other settings: maxLength is 1000, not 2000; ttl is PT1H,"
        + " not none", queue.getMessage());

    result(spool.declareConsumer("conflicts", ConsumerSettings.named("c").prefetch(10)));
    SpoolException consumer = failure(spool.declareConsumer("conflicts", ConsumerSettings.named("c").prefetch(20)),
        Code.ConsumerAlreadyExists);
    assertEquals("consumer 'c' already exists on queue 'conflicts' with other settings: prefetch is 10, not 20",
        consumer.getMessage());

    // Settings read as users write them: enums as in the API, records field by field.
    result(spool.createQueue("worded", QueueSettings.defaults().withOverflow(Overflow.DROP_OLDEST)
        .withDeadLetter("worded-dlq", 5)));
    SpoolException worded = failure(spool.declareQueue("worded", QueueSettings.defaults()), Code.QueueAlreadyExists);
    assertEquals("queue 'worded' already exists with other settings: overflow is drop-oldest, not reject; deadLetter is"
        + " {queue: worded-dlq, maxDeliveries: 5}, not none", worded.getMessage());
  }
}
