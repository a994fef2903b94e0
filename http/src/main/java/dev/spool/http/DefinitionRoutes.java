package dev.spool.http;

import dev.spool.Spool;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * {@code /api/v1/definitions}: every queue and consumer as one document ({@code GET}), and the
 * import of such a document ({@code POST}), answering what was created, what was already as
 * defined and what was refused (see {@link Definitions}). Admin only: the document names every
 * queue.
 */
final class DefinitionRoutes extends RouteSupport {

  private final Spool spool;

  DefinitionRoutes(Spool spool, HttpSettings settings) {
    super(settings);
    this.spool = spool;
  }

  Route route(Principal principal) {
    return path("definitions", () -> concat(
        get(() -> allow(principal, Access.ADMIN, () -> ok(Definitions.export(spool), document -> document))),
        post(() -> allow(principal, Access.ADMIN, () -> requiredBody(Definitions.Document.class,
            document -> ok(Definitions.apply(spool, document), report -> report))))));
  }
}
