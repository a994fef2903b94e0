package dev.spool.http;

import dev.spool.Spool;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * What an operator triages with: {@code /api/v1/health} (alarms and every queue's health), and a
 * queue's {@code /health} and {@code /history}.
 */
final class TriageRoutes extends RouteSupport {

  private final Spool spool;
  private final DefinitionProblems definitionProblems;

  TriageRoutes(Spool spool, HttpSettings settings, DefinitionProblems definitionProblems) {
    super(settings);
    this.spool = spool;
    this.definitionProblems = definitionProblems;
  }

  /** {@code GET /api/v1/health}. */
  Route overview(Principal principal) {
    return path("health", () -> get(() -> allow(principal, Access.VIEW,
        () -> ok(spool.healthOverview(), h -> Views.SpoolHealthView.of(h, definitionProblems.alarms())))));
  }

  /** {@code GET /api/v1/queues/{q}/health} and {@code /history?after=…}. */
  Route queue(Principal principal, String queue) {
    return concat(
        path("health", () -> get(() -> allow(principal, Access.viewQueue(queue),
            () -> ok(spool.queueHealth(queue), h -> Views.QueueHealthView.of(h,
                source -> principal.may(Access.viewQueue(source))))))),
        path("history", () -> get(() -> allow(principal, Access.viewQueue(queue),
            () -> parameterOptional("after", after -> ok(
                spool.queueHistory(queue, longParam("after", after, 0, 0, Long.MAX_VALUE)), h -> h))))));
  }
}
