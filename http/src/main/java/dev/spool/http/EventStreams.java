package dev.spool.http;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.marshalling.sse.EventStreamMarshalling;
import org.apache.pekko.http.javadsl.model.sse.ServerSentEvent;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.SharedKillSwitch;
import org.apache.pekko.stream.javadsl.Source;

/**
 * Server-Sent Event responses: heartbeat comments keep idle streams open through proxies and the
 * server's idle timeout (and reveal clients that hung up), and one kill switch ends every open
 * stream when the server stops, so that a graceful stop is not held up by clients that never hang
 * up.
 */
final class EventStreams {

  private final SharedKillSwitch killSwitch = KillSwitches.shared("spool-http-streams");
  private final Set<CompletionStage<Done>> open = ConcurrentHashMap.newKeySet();
  private final Duration heartbeat;

  EventStreams(Duration heartbeat) {
    this.heartbeat = heartbeat;
  }

  Route respond(Source<ServerSentEvent, NotUsed> events) {
    Source<ServerSentEvent, NotUsed> stream = events
        .keepAlive(heartbeat, ServerSentEvent::heartbeat)
        .via(killSwitch.flow())
        .watchTermination((notUsed, done) -> {
          open.add(done);
          done.whenComplete((d, failure) -> open.remove(done));
          return notUsed;
        });
    return Directives.completeOK(stream, EventStreamMarshalling.toEventStream());
  }

  /** Completes every open stream; the stage completes once they have ended, or after {@code within}. */
  CompletionStage<Void> stopAll(Duration within) {
    killSwitch.shutdown();
    return CompletableFuture.allOf(open.stream().map(CompletionStage::toCompletableFuture)
            .toArray(CompletableFuture[]::new))
        .completeOnTimeout(null, within.toMillis(), TimeUnit.MILLISECONDS)
        .exceptionally(failed -> null);
  }
}
