package dev.spool.examples.pipeline;

import com.typesafe.config.ConfigFactory;
import dev.spool.Message;
import dev.spool.Spool;
import java.time.Duration;
import java.util.List;

/** Runs the pipeline on a few clicks and prints what arrives on {@code page-views}: {@code mvn -B compile exec:java}. */
public final class Main {

  private Main() {}

  public static void main(String[] args) {
    Spool spool = Spool.start(ConfigFactory.load());
    EnrichmentPipeline.run(spool).toCompletableFuture().join();
    spool.createPublisher(EnrichmentPipeline.INPUT, "web").publishAll(List.of(
        Message.text("click", "ada,/docs/queues,5400"),
        Message.text("click", "grace,/blog/release,12000"),
        Message.text("click", "not a click"))).toCompletableFuture().join();
    var reader = spool.createConsumer(EnrichmentPipeline.OUTPUT, dev.spool.ConsumerSettings.named("printer"));
    reader.readBatch(2, Duration.ofSeconds(5)).toCompletableFuture().join()
        .forEach(d -> System.out.println(d.message().payloadAsString()));
    spool.shutdown().toCompletableFuture().join();
  }
}
