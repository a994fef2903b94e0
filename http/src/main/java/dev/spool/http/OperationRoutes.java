package dev.spool.http;

import dev.spool.Spool;
import dev.spool.SpoolEvent;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.http.javadsl.model.sse.ServerSentEvent;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * {@code /api/v1/stats}, {@code /gc}, {@code /consumers/stale}, {@code /events} and {@code /cluster}:
 * memory and lag figures, garbage collection, stale consumers, the live event stream and the
 * cluster's members.
 */
final class OperationRoutes extends RouteSupport {

  private final Spool spool;
  private final EventStreams streams;

  OperationRoutes(Spool spool, HttpSettings settings, EventStreams streams) {
    super(settings);
    this.spool = spool;
    this.streams = streams;
  }

  Route route(Principal principal) {
    return concat(
        pathPrefix("stats", () -> concat(
            path("memory", () -> get(() -> allow(principal, Access.VIEW, () -> ok(spool.memoryStats(), m -> m)))),
            path(PathMatchers.segment("memory").slash("threshold"), () -> put(() -> allow(principal, Access.ADMIN,
                () -> body(Requests.ThresholdBody.class, body -> ok(spool.setMemoryThresholdBytes(body.bytes()),
                    done -> new Views.ThresholdView(body.bytes())))))),
            path("lag", () -> get(() -> allow(principal, Access.VIEW, () -> ok(spool.lagStatistics(), l -> l)))))),
        path("gc", () -> post(() -> allow(principal, Access.ADMIN,
            () -> ok(spool.collectGarbage(), Views.FreedView::new)))),
        pathPrefix(PathMatchers.segment("consumers").slash("stale"), () -> concat(
            pathEnd(() -> get(() -> allow(principal, Access.VIEW, () -> parameterOptional("idle", idle -> ok(
                spool.detectStaleConsumers(durationParam("idle", idle, spool.settings().janitor().staleAfter())),
                stale -> stale.stream().map(Views.StaleView::of).toList()))))),
            path("cleanup", () -> post(() -> allow(principal, Access.ADMIN,
                () -> body(Requests.CleanupBody.class, body -> ok(cleanup(body), Views.RemovedView::of))))))),
        path("events", () -> get(() -> events(principal))),
        path("cluster", () -> get(() -> allow(principal, Access.VIEW, () -> ok(spool.clusterMembers(), m -> m)))));
  }

  private CompletionStage<java.util.List<dev.spool.StaleConsumer>> cleanup(Requests.CleanupBody body) {
    Duration idle = body.idleOrNull();
    return idle == null
        ? spool.cleanupStaleConsumers(body.lagThresholdOrDefault())
        : spool.cleanupStaleConsumers(body.lagThresholdOrDefault(), idle);
  }

  /** The live event stream, for a principal from a bearer token or an event ticket. */
  Route events(Principal principal) {
    return allow(principal, Access.VIEW, () -> streams.respond(spool.events().map(OperationRoutes::toSse)));
  }

  /** One event: its name as the SSE event type, the event record as JSON data. */
  private static ServerSentEvent toSse(SpoolEvent event) {
    return ServerSentEvent.create(new String(Json.write(event), StandardCharsets.UTF_8), event.type());
  }
}
