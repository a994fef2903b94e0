package dev.spool.examples.pipeline;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.spool.Message;
import dev.spool.QueueSettings;
import dev.spool.testkit.ConsumerProbe;
import dev.spool.testkit.SpoolTestKit;
import dev.spool.testkit.SpoolTestKitExtension;
import java.time.Duration;
import java.util.List;
import org.apache.pekko.stream.UniqueKillSwitch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(SpoolTestKitExtension.class)
class EnrichmentPipelineTest {

  @Test
  void clicksBecomePageViewsAndAreAcknowledgedOnceThoseAreStored(SpoolTestKit kit) {
    UniqueKillSwitch pipeline = kit.result(EnrichmentPipeline.run(kit.spool()));
    kit.publishText(EnrichmentPipeline.INPUT, "click", "ada,/docs/queues,5400", "grace,/blog/release,12000");

    List<Message> views = kit.awaitMessages(EnrichmentPipeline.OUTPUT, 2);
    assertEquals(List.of(
        "{\"user\":\"ada\",\"page\":\"/docs/queues\",\"section\":\"docs\",\"seconds\":5.400}",
        "{\"user\":\"grace\",\"page\":\"/blog/release\",\"section\":\"blog\",\"seconds\":12.000}"),
        views.stream().map(Message::payloadAsString).toList());
    assertEquals("ada", views.get(0).key().orElseThrow());
    kit.consumer(EnrichmentPipeline.INPUT, EnrichmentPipeline.CONSUMER).awaitAcknowledged(1, 2).assertNothingDeadLettered();
    pipeline.shutdown();
  }

  @Test
  void aLineThatIsNotAClickIsDeadLetteredAndTheRestFlowsOn(SpoolTestKit kit) {
    kit.result(EnrichmentPipeline.run(kit.spool()));
    kit.publishText(EnrichmentPipeline.INPUT, "click", "ada,/docs/queues,5400", "garbage", "alan,/,10");

    ConsumerProbe enricher = kit.consumer(EnrichmentPipeline.INPUT, EnrichmentPipeline.CONSUMER);
    assertEquals("rejected", enricher.awaitDeadLettered(2).get(0).reason());
    enricher.awaitAcknowledged(1, 3);
    assertEquals(List.of("ada", "alan"), kit.awaitMessages(EnrichmentPipeline.OUTPUT, 2).stream()
        .map(m -> m.key().orElseThrow()).toList());
    assertEquals("garbage", enricher.deadLetterCopies().get(0).payloadAsString());
  }

  @Test
  void aClickIsAcknowledgedOnlyAfterItsPageViewIsStored(SpoolTestKit kit) {
    // page-views holds one message: the second click's publish is refused (QueueFull) until it is read.
    kit.createQueue(EnrichmentPipeline.OUTPUT, QueueSettings.defaults().withMaxLength(1));
    kit.result(EnrichmentPipeline.run(kit.spool()));
    kit.publishText(EnrichmentPipeline.INPUT, "click", "ada,/docs/queues,5400", "grace,/blog/release,12000");

    ConsumerProbe enricher = kit.consumer(EnrichmentPipeline.INPUT, EnrichmentPipeline.CONSUMER);
    enricher.awaitAcknowledged(1);
    kit.awaitAsserted("the refused publish nacked", () -> assertEquals(1, enricher.info().counters().nacked()));
    enricher.assertNotAcknowledged(2);

    assertEquals("ada", kit.receive(EnrichmentPipeline.OUTPUT, "reader", 1).get(0).message().key().orElseThrow());
    kit.timePassesUntil(Duration.ofSeconds(1), () -> enricher.assertAcknowledged(2));
    assertEquals("grace", kit.receive(EnrichmentPipeline.OUTPUT, "reader", 1).get(0).message().key().orElseThrow());
  }
}
