package dev.spool.examples.pipeline;

import dev.spool.ConsumerSettings;
import dev.spool.Delivery;
import dev.spool.Message;
import dev.spool.QueueConsumer;
import dev.spool.QueuePublisher;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import dev.spool.SpoolException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.UniqueKillSwitch;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;

/**
 * A Pekko Streams pipeline between two queues: page views arrive on {@code clicks} as
 * {@code user,page,millis} lines; each becomes a JSON document on {@code page-views}. The source
 * delivery is acknowledged only after Spool confirmed the publish of its result, so a crash between
 * the two delivers it again rather than losing it; the result's id is derived from the source
 * message's, so such a repeat is deduplicated by {@code page-views}. A line that cannot be parsed is
 * nacked without requeue: it goes to {@code clicks-dlq} at once. A publish that fails (say
 * {@code page-views} is full) nacks with requeue: the line comes back after the consumer's backoff.
 */
public final class EnrichmentPipeline {

  public static final String INPUT = "clicks";
  public static final String OUTPUT = "page-views";
  public static final String DEAD_LETTERS = "clicks-dlq";
  public static final String CONSUMER = "enricher";

  private EnrichmentPipeline() {}

  /** Creates the input queue (idempotently) and runs the pipeline until the returned switch is shut down. */
  public static CompletionStage<UniqueKillSwitch> run(Spool spool) {
    return spool.createQueue(INPUT, QueueSettings.defaults().withDeadLetter(DEAD_LETTERS))
        .thenCompose(q -> spool.createQueue(OUTPUT, QueueSettings.defaults())
            // Whoever created page-views first chose its bounds: keep them.
            .exceptionallyCompose(failure -> unwrap(failure) instanceof SpoolException.QueueAlreadyExists
                ? CompletableFuture.completedFuture(null) : CompletableFuture.failedFuture(failure)))
        .thenApply(q -> start(spool));
  }

  private static Throwable unwrap(Throwable failure) {
    return failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
  }

  private static UniqueKillSwitch start(Spool spool) {
    QueueConsumer clicks = spool.createConsumer(INPUT, ConsumerSettings.named(CONSUMER).prefetch(256));
    QueuePublisher pageViews = spool.createPublisher(OUTPUT, CONSUMER);
    return clicks.source()                                     // back-pressured by the consumer's prefetch
        .mapAsync(8, delivery -> enrich(delivery)              // up to 8 publishes in flight, order kept
            .map(view -> pageViews.publish(view)
                .thenCompose(sequence -> clicks.acknowledge(delivery))
                .thenApply(acked -> Done.getInstance())
                .exceptionallyCompose(failed -> clicks.nack(delivery, true)))
            .orElseGet(() -> clicks.nack(delivery, false)))
        .viaMat(KillSwitches.single(), Keep.right())
        .to(Sink.ignore())
        .run(spool.system());
  }

  /** The page view a click line becomes, or empty if the line is not one. */
  static Optional<Message> enrich(Delivery delivery) {
    String[] fields = delivery.message().payloadAsString().split(",");
    if (fields.length != 3 || !fields[2].matches("\\d{1,9}")) {
      return Optional.empty();
    }
    String section = fields[1].startsWith("/docs/") ? "docs" : fields[1].startsWith("/blog/") ? "blog" : "site";
    String json = String.format(Locale.ROOT, "{\"user\":\"%s\",\"page\":\"%s\",\"section\":\"%s\",\"seconds\":%.3f}",
        fields[0], fields[1], section, Integer.parseInt(fields[2]) / 1000.0);
    UUID id = UUID.nameUUIDFromBytes(("page-view:" + delivery.message().id()).getBytes(StandardCharsets.UTF_8));
    return Optional.of(Message.text("page.viewed", json).withKey(fields[0]).withId(id)
        .withContentType("application/json"));
  }
}
