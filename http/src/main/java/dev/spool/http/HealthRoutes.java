package dev.spool.http;

import dev.spool.JournalHealth;
import dev.spool.Spool;
import dev.spool.SpoolException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * {@code /health/live} and {@code /health/ready}, without authentication so that orchestrators can
 * probe them. Live means the process serves requests, whatever the journal does. Ready means every
 * durable queue found at start is recovered, every durable queue's journal can write, in cluster
 * mode this member is up, and the service is not stopping: a load balancer stops sending work before the port closes, and while a
 * journal cannot write, since publishes to its queue are refused. A 503 names the reasons.
 */
final class HealthRoutes extends RouteSupport {

  private final Spool spool;
  private final CompletableFuture<?> ready;
  private final AtomicBoolean stopping = new AtomicBoolean();

  HealthRoutes(Spool spool, HttpSettings settings) {
    super(settings);
    this.spool = spool;
    this.ready = spool.ready().toCompletableFuture();
  }

  /** From now on, readiness fails. */
  void stopping() {
    stopping.set(true);
  }

  Route route() {
    return pathPrefix("health", () -> get(() -> concat(
        path("live", () -> complete(json(StatusCodes.OK, new Views.HealthView("live")))),
        path("ready", () -> completeWithFuture(readiness())))));
  }

  private CompletionStage<HttpResponse> readiness() {
    if (stopping.get()) {
      return CompletableFuture.completedFuture(notReady("stopping", null));
    }
    return spool.health().handle((health, failure) -> {
      if (failure != null) {
        Throwable cause = failure instanceof CompletionException && failure.getCause() != null
            ? failure.getCause() : failure;
        return notReady(cause instanceof SpoolException.ShuttingDown ? "stopping" : "unresponsive", null);
      }
      if (stopping.get()) {
        return notReady("stopping", null);
      }
      String member = spool.memberStatus();
      if (member != null && !member.equals("Up")) { // joining, leaving or downed: sharding gives it no queues
        return json(StatusCodes.SERVICE_UNAVAILABLE, new Views.HealthView("not-up", null, member));
      }
      if (!ready.isDone() || ready.isCompletedExceptionally()) {
        return notReady("recovering", health);
      }
      return health.healthy() ? json(StatusCodes.OK, new Views.HealthView("ready")) : notReady("unavailable", health);
    });
  }

  private HttpResponse notReady(String status, JournalHealth health) {
    List<Views.ReasonView> reasons = health == null ? null : health.problems().stream()
        .map(p -> Views.ReasonView.of(p, spool.settings().persistence().registry()))
        .toList();
    return json(StatusCodes.SERVICE_UNAVAILABLE, new Views.HealthView(status, reasons));
  }
}
