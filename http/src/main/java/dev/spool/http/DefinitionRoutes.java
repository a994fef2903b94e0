package dev.spool.http;

import dev.spool.Spool;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * {@code /api/v1/definitions}: every queue, consumer and token as one document ({@code GET}), and the
 * import of such a document ({@code POST}), answering what was created, what was already as
 * defined and what was refused (see {@link Definitions}). Admin only: the document names every
 * queue and token.
 */
final class DefinitionRoutes extends RouteSupport {

  private final Spool spool;
  private final Authenticator authenticator;
  /** Imported tokens are written to the data directory: file I/O stays off the request threads. */
  private final Executor blocking;

  DefinitionRoutes(Spool spool, HttpSettings settings, Authenticator authenticator) {
    super(settings);
    this.spool = spool;
    this.authenticator = authenticator;
    this.blocking = spool.system().dispatchers().lookup(DispatcherSelector.blocking());
  }

  Route route(Principal principal) {
    return path("definitions", () -> concat(
        get(() -> allow(principal, Access.ADMIN, () -> ok(Definitions.export(spool, authenticator), document -> document))),
        post(() -> allow(principal, Access.ADMIN, () -> requiredBody(Definitions.Document.class,
            document -> ok(Definitions.apply(spool, authenticator, blocking, document), report -> report))))));
  }
}
