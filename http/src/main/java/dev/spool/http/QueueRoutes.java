package dev.spool.http;

import dev.spool.Spool;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;

/** {@code /api/v1/queues}: list, create, inspect, delete and redrive queues; delegates messages and consumers. */
final class QueueRoutes extends RouteSupport {

  private final Spool spool;
  private final MessageRoutes messages;
  private final ConsumerRoutes consumers;
  private final TriageRoutes triage;

  QueueRoutes(Spool spool, HttpSettings settings, MessageRoutes messages, ConsumerRoutes consumers,
      TriageRoutes triage) {
    super(settings);
    this.spool = spool;
    this.messages = messages;
    this.consumers = consumers;
    this.triage = triage;
  }

  Route route(Principal principal) {
    return pathPrefix("queues", () -> concat(
        pathEnd(() -> get(() -> allow(principal, Access.VIEW,
            () -> ok(spool.listQueues(), queues -> queues.stream().map(Views.QueueView::of).toList())))),
        pathPrefix(segment -> {
          String queue = queueName(segment);
          return concat(
              pathEnd(() -> concat(
                  get(() -> allow(principal, Access.viewQueue(queue),
                      () -> ok(spool.queueInfo(queue), Views.QueueView::of))),
                  put(() -> allow(principal, Access.ADMIN, () -> body(Requests.QueueBody.class, body -> create(queue, body)))),
                  delete(() -> allow(principal, Access.ADMIN, () -> noContent(spool.deleteQueue(queue)))))),
              path("redrive", () -> post(() -> allow(principal, Access.ADMIN,
                  () -> body(Requests.RedriveBody.class, body -> redrive(queue, body))))),
              path("browse", () -> get(() -> allow(principal, Access.viewQueue(queue), () -> messages.search(queue)))),
              pathPrefix("headers", () -> path(header -> get(() -> allow(principal, Access.viewQueue(queue),
                  () -> ok(spool.countHeader(queue, header), counts -> counts))))),
              triage.queue(principal, queue),
              pathPrefix("messages", () -> messages.route(principal, queue)),
              path("requests", () -> post(() -> messages.request(principal, queue))),
              pathPrefix("consumers", () -> consumers.route(principal, queue)));
        })));
  }

  private Route create(String queue, Requests.QueueBody body) {
    return completeWithFuture(spool.declareQueue(queue, body.toSettings())
        .thenApply(c -> json(c.created() ? StatusCodes.CREATED : StatusCodes.OK, Views.QueueView.of(c.value()))));
  }

  /** A selection of sequences, or a range; an empty range ({@code to} before {@code from}) is the engine's to refuse. */
  private Route redrive(String queue, Requests.RedriveBody body) {
    if (body.sequences() != null) {
      if (body.from() != null || body.to() != null) {
        throw Requests.invalid("sequences", "cannot be given with from or to");
      }
      return ok(spool.redrive(queue, body.sequences()), Views.MovedView::new);
    }
    long from = body.from() == null ? 1 : body.from();
    long to = body.to() == null ? Long.MAX_VALUE : body.to();
    if (from < 1) {
      throw Requests.invalid("from", "is a sequence number, which starts at 1");
    }
    return ok(spool.redrive(queue, from, to), Views.MovedView::new);
  }
}
