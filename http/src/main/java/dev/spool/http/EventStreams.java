package dev.spool.http;

import dev.spool.SpoolException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
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
import org.apache.pekko.japi.pf.PFBuilder;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.SharedKillSwitch;
import org.apache.pekko.stream.javadsl.Source;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Server-Sent Event responses: heartbeats keep idle streams open through proxies (and reveal
 * clients that hung up); each is Pekko's empty event ({@code data:} with nothing), which a browser's
 * EventSource hands over as a message with empty data, for clients to skip, and one kill switch ends every open stream when the server stops,
 * so that a graceful stop is not held up by clients that never hang up. Every stream ends with an
 * {@code end} event whose data says why ({@code {"reason":"shutdown"}}, {@code "completed"}, or
 * {@code "failed"} with the error code) followed by the chunked terminator: a client tells a
 * deliberate end from a broken connection, and need not reconnect to a server that is stopping.
 */
final class EventStreams {

  private static final Logger log = LoggerFactory.getLogger(EventStreams.class);

  private final SharedKillSwitch killSwitch = KillSwitches.shared("spool-http-streams");
  private final Set<CompletionStage<Done>> open = ConcurrentHashMap.newKeySet();
  private final Duration heartbeat;
  private volatile boolean stopping;

  EventStreams(Duration heartbeat) {
    this.heartbeat = heartbeat;
  }

  Route respond(Source<ServerSentEvent, NotUsed> events) {
    Source<ServerSentEvent, NotUsed> stream = events
        .keepAlive(heartbeat, ServerSentEvent::heartbeat)
        .via(killSwitch.flow())
        .concatLazy(Source.lazySingle(() -> end(stopping ? "shutdown" : "completed", null)))
        .recover(new PFBuilder<Throwable, ServerSentEvent>().matchAny(EventStreams::failed).build())
        .watchTermination((notUsed, done) -> {
          open.add(done);
          done.whenComplete((d, failure) -> open.remove(done));
          return notUsed;
        });
    return Directives.completeOK(stream, EventStreamMarshalling.toEventStream());
  }

  /** Completes every open stream; the stage completes once they have ended, or after {@code within}. */
  CompletionStage<Void> stopAll(Duration within) {
    stopping = true;
    killSwitch.shutdown();
    return CompletableFuture.allOf(open.stream().map(CompletionStage::toCompletableFuture)
            .toArray(CompletableFuture[]::new))
        .completeOnTimeout(null, within.toMillis(), TimeUnit.MILLISECONDS)
        .exceptionally(failed -> null);
  }

  /** The last event of a stream that failed: the failure's code, never its trace. */
  private static ServerSentEvent failed(Throwable failure) {
    if (failure instanceof SpoolException e) {
      return end("failed", e.code().name());
    }
    log.warn("An event stream failed", failure);
    return end("failed", "InternalError");
  }

  private static ServerSentEvent end(String reason, String error) {
    Map<String, String> data = new LinkedHashMap<>();
    data.put("reason", reason);
    if (error != null) {
      data.put("error", error);
    }
    return ServerSentEvent.create(new String(Json.write(data), StandardCharsets.UTF_8), "end");
  }
}
