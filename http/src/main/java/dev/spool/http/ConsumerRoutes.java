package dev.spool.http;

import dev.spool.ConsumerInfo;
import dev.spool.Limits;
import dev.spool.QueueConsumer;
import dev.spool.Spool;
import dev.spool.SpoolException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.sse.ServerSentEvent;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * {@code /api/v1/queues/{q}/consumers}: create, inspect and delete consumers, and read, acknowledge,
 * nack, seek, pause, resume and stream through them.
 */
final class ConsumerRoutes extends RouteSupport {

  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ConsumerRoutes.class);

  private final Spool spool;
  private final EventStreams streams;
  private final Lifecycle lifecycle;
  private final PushSender push;

  ConsumerRoutes(Spool spool, HttpSettings settings, EventStreams streams, Lifecycle lifecycle, PushSender push) {
    super(settings);
    this.spool = spool;
    this.streams = streams;
    this.lifecycle = lifecycle;
    this.push = push;
  }

  /** The consumer as the API shows it, with its push state if it pushes. */
  private Views.ConsumerView view(ConsumerInfo c) {
    return Views.ConsumerView.of(c, c.settings().push() == null ? null : push.state(c.queue(), c.name()).orElse(null),
        null);
  }

  Route route(Principal principal, String queue) {
    return concat(
        pathEnd(() -> get(() -> allow(principal, Access.viewQueue(queue),
            () -> ok(spool.listConsumers(queue), all -> all.stream().map(this::view).toList())))),
        pathPrefix(segment -> {
          String name = consumerName(segment);
          return concat(
              pathEnd(() -> concat(
                  get(() -> allow(principal, Access.viewQueue(queue),
                      () -> ok(spool.consumerInfo(queue, name), this::view))),
                  put(() -> allow(principal, Access.consume(queue),
                      () -> body(Requests.ConsumerBody.class, body -> create(queue, name, body)))),
                  delete(() -> allow(principal, Access.ADMIN, () -> noContent(spool.deleteConsumer(queue, name)))))),
              path("stream", () -> get(() -> allow(principal, Access.consume(queue), () -> stream(queue, name)))),
              pathPrefix("push", () -> path("secret", () -> post(() -> allow(principal, Access.ADMIN,
                  () -> secret(queue, name))))),
              post(() -> allow(principal, Access.consume(queue), () -> control(queue, name))));
        }));
  }

  /** The POST actions on a consumer. */
  private Route control(String queue, String name) {
    QueueConsumer consumer = spool.consumer(queue, name);
    return concat(
        path("read", () -> read(consumer)),
        path("ack", () -> body(Requests.AckBody.class, body -> ack(consumer, body))),
        path("nack", () -> body(Requests.NackBody.class, body -> ok(
            spool.consumer(queue, name).nack(body.sequences(), body.requeueOrDefault()),
            Views.NackView::new))),
        path("seek", () -> body(Requests.SeekBody.class, body -> withInfo(consumer, consumer.seek(body.position())))),
        path("pause", () -> withInfo(consumer, consumer.pause())),
        path("resume", () -> withInfo(consumer, consumer.resume())));
  }

  private Route create(String queue, String name, Requests.ConsumerBody body) {
    return completeWithFuture(spool.declareConsumer(queue, body.toSettings(name)).thenApply(c -> {
      ConsumerInfo info = c.value();
      // The signing secret is shown once, to whoever created the push consumer; never again.
      String secret = c.created() && info.settings().push() != null
          ? push.secret(queue, name, info.settings().push().nonce()) : null;
      return json(c.created() ? StatusCodes.CREATED : StatusCodes.OK, Views.ConsumerView.of(info,
          info.settings().push() == null ? null : push.state(queue, name).orElse(null), secret));
    }));
  }

  /**
   * A push consumer's signing secret again, for an administrator: the secret of one declared in
   * {@code spool.definitions} or imported was shown to nobody when it was created.
   */
  private Route secret(String queue, String name) {
    return ok(spool.consumerInfo(queue, name).thenApply(info -> {
      if (info.settings().push() == null) {
        throw new SpoolException.InvalidConfiguration("consumer '" + name + "' of queue '" + queue
            + "' does not push: it has no signing secret");
      }
      log.info("The push signing secret of consumer {} of queue {} was shown to an administrator", name, queue);
      return new Views.SecretView(push.secret(queue, name, info.settings().push().nonce()));
    }), view -> view);
  }

  private Route read(QueueConsumer consumer) {
    return parameterOptional("max", max -> parameterOptional("wait", wait -> {
      int n = queryCheck("max", () -> Limits.readMax(
          intParam("max", max, settings.defaultReadMax()),
          spool.settings().consumer().maxReadBatch()));
      // The engine shortens longer waits to spool.consumer.max-read-wait, which the server's request timeout outlasts.
      Duration w = queryCheck("wait", () -> Limits.readWait(durationParam("wait", wait, Duration.ZERO)));
      return ok(unlessStopping(lifecycle, () -> consumer.readBatch(n, w)), Views.DeliveriesView::of);
    }));
  }

  private Route ack(QueueConsumer consumer, Requests.AckBody body) {
    if (body.upTo() != null) {
      return ok(consumer.acknowledgeUpTo(body.upTo()), n -> new Views.AckView(n, List.of(), List.of()));
    }
    return ok(consumer.acknowledgeSequences(body.sequences()),
        r -> new Views.AckView(r.acked(), r.alreadyAcked(), r.unknown()));
  }

  /** The consumer as it is once {@code change} is done. */
  private Route withInfo(QueueConsumer consumer, CompletionStage<?> change) {
    return ok(change.thenCompose(done -> consumer.info()), this::view);
  }

  /**
   * Deliveries pushed as Server-Sent Events. The consumer's source is bounded by its prefetch: in
   * explicit ack mode at most prefetch deliveries are in flight until the client acknowledges them
   * through {@code /ack}; when the client disconnects, what it held is redelivered.
   */
  private Route stream(String queue, String name) {
    if (lifecycle.stopping()) {
      throw new SpoolException.ShuttingDown();
    }
    String partitioned = dev.spool.queue.Partitions.parentOf(queue);
    if (partitioned != null) {
      throw new SpoolException.InvalidConfiguration("'" + queue + "' is a partition of queue '" + partitioned
          + "': consume it through '" + partitioned + "'");
    }
    // The consumer must exist before a stream attaches: a stream to nothing would wait forever.
    return onSuccess(spool.consumerInfo(queue, name), info -> streams.respond(
        spool.consumer(queue, name).source().map(d -> ServerSentEvent.create(
            new String(Json.write(Views.DeliveryView.of(d)), StandardCharsets.UTF_8), "delivery",
            String.valueOf(d.sequence())))));
  }
}
