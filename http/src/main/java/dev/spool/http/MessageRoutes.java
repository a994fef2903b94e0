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

/** {@code /api/v1/queues/{q}/messages}: publish, browse, purge, and one message with its trace. */
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
                () -> optionalHeaderValueByName(TRACEPARENT, traceparent -> optionalHeaderValueByName(TRACESTATE,
                    tracestate -> requiredBody(Requests.PublishBody.class, body -> publish(principal, queue,
                        traced(body.toMessages(), traceparent, tracestate))))))),
            get(() -> allow(principal, Access.viewQueue(queue), () -> browse(queue))),
            // A purge empties the queue for every consumer: an operator's act, as deleting the queue is.
            delete(() -> allow(principal, Access.ADMIN,
                () -> ok(spool.purge(queue), purged -> new Views.PurgedView(purged)))))),
        path(segment -> get(() -> allow(principal, Access.viewQueue(queue),
            () -> ok(spool.messageTrace(queue, sequence(segment)), Views.TraceView::of)))));
  }

  static final String TRACEPARENT = "traceparent";
  static final String TRACESTATE = "tracestate";
  /** W3C Trace Context's traceparent: version, trace id, parent id, flags, lower-case hex. */
  private static final java.util.regex.Pattern TRACEPARENT_FORMAT =
      java.util.regex.Pattern.compile("[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}");

  /**
   * The batch with the request's W3C trace context as each message's {@code traceparent} (and
   * {@code tracestate}) header, unless a message names its own: kept with the message, it reaches
   * consumers, traces and dead-letter copies, so a distributed trace spans the queue.
   */
  static List<Message> traced(List<Message> batch, Optional<String> traceparent, Optional<String> tracestate) {
    if (traceparent.isEmpty()) {
      if (tracestate.isPresent()) {
        throw Requests.invalid(TRACESTATE, "needs a traceparent header to go with it");
      }
      return batch;
    }
    String tp = traceparent.get().trim();
    if (!TRACEPARENT_FORMAT.matcher(tp).matches() || tp.startsWith("ff") || tp.substring(3, 35).matches("0+")
        || tp.substring(36, 52).matches("0+")) {
      throw Requests.invalid(TRACEPARENT, "must be a W3C traceparent such as"
          + " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01, not '" + Requests.truncate(tp) + "'");
    }
    String ts = tracestate.map(String::trim).orElse(null);
    if (ts != null && ts.length() > 512) {
      throw Requests.invalid(TRACESTATE, "is at most 512 characters");
    }
    List<Message> out = new java.util.ArrayList<>(batch.size());
    for (Message m : batch) {
      if (m.headers().containsKey(TRACEPARENT)) {
        out.add(m);
      } else {
        Message withParent = m.withHeader(TRACEPARENT, tp);
        out.add(ts == null ? withParent : withParent.withHeader(TRACESTATE, ts));
      }
    }
    return out;
  }

  private Route publish(Principal principal, String queue, List<Message> batch) {
    // The producer id is the token's name: it says who published, and a client cannot forge it.
    return completeWithFuture(spool.createPublisher(queue, principal.name()).publishAll(batch)
        .thenApply(sequences -> json(StatusCodes.CREATED, new Views.SequencesView(sequences))));
  }

  /**
   * {@code POST /queues/{q}/requests?timeout=PT30S}: publishes one message as a request (with
   * {@code reply-to} and {@code correlation-id} headers) and answers the first reply, or
   * {@code Timeout} (503) when none came in time. The wait is capped like a long-poll read's.
   */
  Route request(Principal principal, String queue) {
    return allow(principal, Access.publish(queue), () -> parameterOptional("timeout", timeout -> {
      java.time.Duration cap = spool.settings().consumer().maxReadWait();
      java.time.Duration wait = durationParam("timeout", timeout, cap.compareTo(DEFAULT_REQUEST_TIMEOUT) < 0
          ? cap : DEFAULT_REQUEST_TIMEOUT);
      if (wait.isZero() || wait.isNegative() || wait.compareTo(cap) > 0) {
        throw new SpoolException.InvalidConfiguration("query parameter 'timeout' must be positive and at most " + cap
            + " (spool.consumer.max-read-wait)");
      }
      return optionalHeaderValueByName(TRACEPARENT, traceparent -> optionalHeaderValueByName(TRACESTATE,
          tracestate -> requiredBody(Requests.PublishBody.class, body -> {
            List<Message> messages = traced(body.toMessages(), traceparent, tracestate);
            if (messages.size() != 1) {
              throw Requests.invalid("messages", "a request is one message, not a batch");
            }
            return ok(spool.createPublisher(queue, principal.name()).request(messages.get(0), wait),
                Views.MessageView::of);
          })));
    }));
  }

  private static final java.time.Duration DEFAULT_REQUEST_TIMEOUT = java.time.Duration.ofSeconds(30);

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
    return onlyOnce(List.of("from", "direction", "limit", "key", "type", "header", "since", "until"), () ->
        parameterOptional("from", from -> parameterOptional("direction", direction -> parameterOptional("limit",
        limit -> parameterOptional("key", key -> parameterOptional("type", type -> parameterOptional("header",
            header -> parameterOptional("since", since -> parameterOptional("until", until -> {
              boolean backward = switch (direction.orElse("forward")) {
                case "forward" -> false;
                case "backward" -> true;
                default -> throw new SpoolException.InvalidConfiguration("query parameter 'direction' must be forward"
                    + " or backward, not '" + Requests.truncate(direction.get()) + "'");
              };
              if (key.filter(String::isEmpty).isPresent() || type.filter(String::isEmpty).isPresent()) {
                throw new SpoolException.InvalidConfiguration("query parameters 'key' and 'type' need a value when"
                    + " given");
              }
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
            })))))))));
  }

  /** Refuses a query naming one of {@code names} twice: only one would count, and a filter would be lost unseen. */
  private Route onlyOnce(List<String> names, java.util.function.Supplier<Route> inner) {
    return parameterList(all -> {
      java.util.Set<String> seen = new java.util.HashSet<>();
      for (java.util.Map.Entry<String, String> p : all) {
        if (names.contains(p.getKey()) && !seen.add(p.getKey())) {
          throw new SpoolException.InvalidConfiguration("query parameter '" + p.getKey() + "' is given more than"
              + " once; a browse takes one of each");
        }
      }
      return inner.get();
    });
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
