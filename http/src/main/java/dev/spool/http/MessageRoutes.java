package dev.spool.http;

import dev.spool.Message;
import dev.spool.MessageQuery;
import dev.spool.Spool;
import dev.spool.SpoolException;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
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

  /**
   * {@code GET /queues/{q}/browse}: a page of messages forward or backward from {@code from},
   * optionally matching {@code key}, {@code type}, {@code header=name[:value]} and a {@code since}
   * and {@code until} time (ISO-8601 instants or epoch ms), one bounded scan at a time.
   */
  Route search(String queue) {
    return parameterOptional("from", from -> parameterOptional("direction", direction -> parameterOptional("limit",
        limit -> parameterOptional("key", key -> parameterOptional("type", type -> parameterOptional("header",
            header -> parameterOptional("since", since -> parameterOptional("until", until -> {
              boolean backward = switch (direction.orElse("forward")) {
                case "forward" -> false;
                case "backward" -> true;
                default -> throw new SpoolException.InvalidConfiguration("query parameter 'direction' must be forward"
                    + " or backward, not '" + Requests.truncate(direction.get()) + "'");
              };
              String headerName = header.map(h -> h.contains(":") ? h.substring(0, h.indexOf(':')) : h).orElse(null);
              String headerValue = header.filter(h -> h.contains(":")).map(h -> h.substring(h.indexOf(':') + 1))
                  .orElse(null);
              if (headerName != null && headerName.isBlank()) {
                throw new SpoolException.InvalidConfiguration("query parameter 'header' is name or name:value, with a"
                    + " name");
              }
              MessageQuery query = new MessageQuery(
                  longParam("from", from, 0, 0, Long.MAX_VALUE), backward,
                  (int) longParam("limit", limit, 50, 1, MessageQuery.MAX_LIMIT), key.orElse(null), type.orElse(null),
                  headerName, headerValue, instant("since", since), instant("until", until));
              return ok(spool.search(queue, query), Views.PageView::of);
            }))))))));
  }

  /** An optional time: an ISO-8601 instant ({@code 2026-12-01T10:00:00Z}) or epoch milliseconds. */
  private static Instant instant(String name, Optional<String> value) {
    if (value.isEmpty()) {
      return null;
    }
    String v = value.get().trim();
    try {
      return v.chars().allMatch(Character::isDigit) && !v.isEmpty() ? Instant.ofEpochMilli(Long.parseLong(v))
          : Instant.parse(v);
    } catch (RuntimeException e) {
      throw new SpoolException.InvalidConfiguration("query parameter '" + name + "' must be an ISO-8601 instant such"
          + " as 2026-12-01T10:00:00Z or epoch milliseconds, not '" + Requests.truncate(v) + "'");
    }
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
