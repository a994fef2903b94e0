package dev.spool.http;

import dev.spool.Message;
import dev.spool.Spool;
import dev.spool.SpoolException;
import java.util.List;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;

/** {@code /api/v1/queues/{q}/messages}: publish, browse, and one message with its trace. */
final class MessageRoutes extends RouteSupport {

  private final Spool spool;
  private final Lifecycle lifecycle;

  MessageRoutes(Spool spool, HttpSettings settings, Lifecycle lifecycle) {
    super(settings);
    this.spool = spool;
    this.lifecycle = lifecycle;
  }

  Route route(Principal principal, String queue) {
    return concat(
        pathEnd(() -> concat(
            post(() -> allow(principal, Access.publish(queue),
                () -> requiredBody(Requests.PublishBody.class, body -> publish(principal, queue, body.toMessages())))),
            get(() -> allow(principal, Access.viewQueue(queue), () -> browse(queue))))),
        path(segment -> get(() -> allow(principal, Access.viewQueue(queue),
            () -> ok(spool.messageTrace(queue, sequence(segment)), Views.TraceView::of)))));
  }

  private Route publish(Principal principal, String queue, List<Message> batch) {
    // The producer id is the token's name: it says who published, and a client cannot forge it.
    return completeWithFuture(spool.createPublisher(queue, principal.name()).publishAll(batch)
        .thenApply(sequences -> json(StatusCodes.CREATED, new Views.SequencesView(sequences))));
  }

  private Route browse(String queue) {
    return parameterOptional("from", from -> parameterOptional("limit", limit -> {
      long first = longParam("from", from, 1, 1, Long.MAX_VALUE);
      int max = (int) longParam("limit", limit, Math.min(100, settings.maxBrowse()), 1, settings.maxBrowse());
      return ok(unlessStopping(lifecycle, () -> spool.browse(queue, first, max)), messages -> messages.stream().map(Views.MessageView::of).toList());
    }));
  }

  private static long sequence(String segment) {
    try {
      long sequence = Long.parseLong(segment);
      if (sequence >= 1) {
        return sequence;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new SpoolException.InvalidConfiguration("a sequence is a whole number from 1, not '"
        + Requests.truncate(segment) + "'");
  }
}
