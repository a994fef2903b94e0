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
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.sse.ServerSentEvent;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.japi.pf.PFBuilder;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.SharedKillSwitch;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Server-Sent Event responses: heartbeats keep idle streams open through proxies (and reveal
 * clients that hung up); each is an SSE comment line ({@code :}), which clients ignore by the
 * standard, where an empty {@code data:} event (Pekko's heartbeat) reaches a browser's EventSource
 * as a message with empty data. One kill switch ends every open stream when the server stops,
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
    Source<ByteString, NotUsed> stream = events
        .map(EventStreams::encode)
        .keepAlive(heartbeat, () -> HEARTBEAT)
        .via(killSwitch.flow())
        .concatLazy(Source.lazySingle(() -> encode(end(stopping ? "shutdown" : "completed", null))))
        .recover(new PFBuilder<Throwable, ByteString>().matchAny(failure -> encode(failed(failure))).build())
        .watchTermination((notUsed, done) -> {
          open.add(done);
          done.whenComplete((d, failure) -> open.remove(done));
          return notUsed;
        });
    return Directives.complete(HttpResponse.create().withEntity(HttpEntities.createChunked(EVENT_STREAM, stream)));
  }

  private static final ContentType EVENT_STREAM = MediaTypes.TEXT_EVENT_STREAM.toContentType();
  private static final ByteString HEARTBEAT = ByteString.fromString(":\n\n");

  /** One event in the text/event-stream format: its fields, one {@code data:} line per line of data, a blank line. */
  static ByteString encode(ServerSentEvent event) {
    StringBuilder out = new StringBuilder(event.getData().length() + 32);
    event.getEventType().ifPresent(type -> out.append("event:").append(type).append('\n'));
    event.getId().ifPresent(id -> out.append("id:").append(id).append('\n'));
    event.getRetry().ifPresent(retry -> out.append("retry:").append(retry).append('\n'));
    for (String line : event.getData().split("\r\n|\r|\n", -1)) {
      // A client drops one space after the colon: a line that starts with one gets another to lose.
      out.append(line.startsWith(" ") ? "data: " : "data:").append(line).append('\n');
    }
    return ByteString.fromString(out.append('\n').toString(), StandardCharsets.UTF_8);
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
