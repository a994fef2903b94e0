package dev.spool.http;

import dev.spool.Spool;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * {@code /health/live} and {@code /health/ready}, without authentication so that orchestrators can
 * probe them. Ready means every queue, durable ones included, is recovered, and the service is not
 * stopping: a load balancer stops sending work before the port closes.
 */
final class HealthRoutes extends RouteSupport {

  private final CompletableFuture<?> ready;
  private final AtomicBoolean stopping = new AtomicBoolean();

  HealthRoutes(Spool spool, HttpSettings settings) {
    super(settings);
    this.ready = spool.ready().toCompletableFuture();
  }

  /** From now on, readiness fails. */
  void stopping() {
    stopping.set(true);
  }

  Route route() {
    return pathPrefix("health", () -> get(() -> concat(
        path("live", () -> complete(json(StatusCodes.OK, new Views.HealthView("live")))),
        path("ready", () -> complete(readiness())))));
  }

  private org.apache.pekko.http.javadsl.model.HttpResponse readiness() {
    if (stopping.get()) {
      return json(StatusCodes.SERVICE_UNAVAILABLE, new Views.HealthView("stopping"));
    }
    if (!ready.isDone()) {
      return json(StatusCodes.SERVICE_UNAVAILABLE, new Views.HealthView("recovering"));
    }
    if (ready.isCompletedExceptionally()) {
      return json(StatusCodes.SERVICE_UNAVAILABLE, new Views.HealthView("failed"));
    }
    return json(StatusCodes.OK, new Views.HealthView("ready"));
  }
}
