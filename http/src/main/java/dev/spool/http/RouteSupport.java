package dev.spool.http;

import dev.spool.Names;
import dev.spool.SpoolException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaType;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * What every routes class shares: JSON replies from the engine's stages (never blocking on them),
 * strict JSON bodies within the size limit, name and query checks, and the access check.
 */
abstract class RouteSupport extends AllDirectives {

  /** How long a body may take to arrive in full; a client trickling it slower is cut off. */
  private static final Duration BODY_TIMEOUT = Duration.ofSeconds(10);

  protected final HttpSettings settings;

  protected RouteSupport(HttpSettings settings) {
    this.settings = settings;
  }

  /** {@code status} with {@code value} as JSON. */
  protected static HttpResponse json(StatusCode status, Object value) {
    return HttpResponse.create().withStatus(status).withEntity(ContentTypes.APPLICATION_JSON, Json.write(value));
  }

  /** 200 with the stage's value, turned into its view, as JSON; a failed stage goes to {@link Errors}. */
  protected <T> Route ok(CompletionStage<T> stage, Function<T, Object> view) {
    return completeWithFuture(stage.thenApply(value -> json(StatusCodes.OK, view.apply(value))));
  }

  /** 204 once the stage completes. */
  protected Route noContent(CompletionStage<?> stage) {
    return completeWithFuture(stage.thenApply(done -> HttpResponse.create().withStatus(StatusCodes.NO_CONTENT)));
  }

  /**
   * The request body as {@code type}: JSON (an empty body reads as {@code {}}), at most
   * {@code spool.http.max-body} bytes, else 413; another content type is 415.
   */
  protected <T> Route body(Class<T> type, Function<T, Route> inner) {
    return body(type, true, inner);
  }

  /** As {@link #body(Class, Function)}, but an empty body is refused with 400: the body is the point. */
  protected <T> Route requiredBody(Class<T> type, Function<T, Route> inner) {
    return body(type, false, inner);
  }

  private <T> Route body(Class<T> type, boolean emptyAllowed, Function<T, Route> inner) {
    return extractRequestEntity(entity -> {
      // A body that arrived whole is already strict: used as it is. toStrict would still run a
      // stream, with an actor started and stopped, for every request (pekko-http 1.3): nearly a
      // third of the server's time on single-message publishes under wrk.
      if (entity instanceof HttpEntity.Strict strict && strict.getData().size() <= settings.maxBody()) {
        return parsed(strict, type, emptyAllowed, inner);
      }
      // The limit itself is the request's (spool.http.max-body, set on the server), which fails with
      // EntityStreamSizeException: 413. A toStrict limit would fail with a 400-looking error instead.
      return extractStrictEntity(BODY_TIMEOUT, Long.MAX_VALUE, strict -> parsed(strict, type, emptyAllowed, inner));
    });
  }

  private <T> Route parsed(HttpEntity.Strict entity, Class<T> type, boolean emptyAllowed, Function<T, Route> inner) {
    int size = entity.getData().size();
    if (size == 0 && !emptyAllowed) {
      throw new SpoolException.InvalidConfiguration("the body is empty: send a JSON object");
    }
    if (size > 0 && !isJson(entity.getContentType().mediaType())) {
      return complete(Errors.response(StatusCodes.UNSUPPORTED_MEDIA_TYPE, "UnsupportedMediaType",
          "send the body as application/json, not " + entity.getContentType().mediaType()));
    }
    if (size < ParsingBudget.SMALL_BODY) {
      return inner.apply(Json.read(entity.getData().toArray(), type));
    }
    long cost = ParsingBudget.HEAP.tryAcquire(size);
    if (cost == 0) {
      return complete(Errors.response(StatusCodes.TOO_MANY_REQUESTS, "TooManyRequests",
          "other large request bodies are being read; retry shortly").addHeader(PARSING_RETRY_AFTER));
    }
    T value;
    try {
      value = Json.read(entity.getData().toArray(), type);
    } finally {
      ParsingBudget.HEAP.release(cost);
    }
    return inner.apply(value);
  }

  private static final org.apache.pekko.http.javadsl.model.HttpHeader PARSING_RETRY_AFTER =
      org.apache.pekko.http.javadsl.model.headers.RawHeader.create("Retry-After", "1");

  private static boolean isJson(MediaType mediaType) {
    return mediaType.mainType().equals("application")
        && (mediaType.subType().equals("json") || mediaType.subType().endsWith("+json"));
  }

  /**
   * {@code read} unless the service is stopping: then 503 {@code ShuttingDown}, also for a read
   * that was waiting and came back empty. A draining engine hands out nothing, and an empty answer
   * would read as an empty queue rather than a server going away.
   */
  protected static <T extends java.util.Collection<?>> CompletionStage<T> unlessStopping(Lifecycle lifecycle,
      Supplier<CompletionStage<T>> read) {
    if (lifecycle.stopping()) {
      return java.util.concurrent.CompletableFuture.failedFuture(new SpoolException.ShuttingDown());
    }
    return read.get().thenApply(found -> {
      if (found.isEmpty() && lifecycle.stopping()) {
        throw new SpoolException.ShuttingDown();
      }
      return found;
    });
  }

  /** {@code inner} if {@code principal} may do {@code access}, else 403. */
  protected static Route allow(Principal principal, Access access, Supplier<Route> inner) {
    if (!principal.may(access)) {
      throw new Errors.HttpFailure(SpoolException.Code.Forbidden,
          "'" + principal.name() + "' may not do this" + (access.queue() == null ? "" : " on queue '" + access.queue() + "'"));
    }
    return inner.get();
  }

  /** A queue name from the path (or a partition's, {@code queue#p}), checked before any engine call. */
  protected static String queueName(String name) {
    return Names.requireValidQueueOrPartition(name);
  }

  /** A consumer name from the path, checked before any engine call. */
  protected static String consumerName(String name) {
    return Names.requireValid("consumer", name);
  }

  /** An optional whole-number query parameter within {@code [min, max]}. */
  protected static long longParam(String name, Optional<String> value, long fallback, long min, long max) {
    if (value.isEmpty()) {
      return fallback;
    }
    try {
      long n = Long.parseLong(value.get());
      if (n >= min && n <= max) {
        return n;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new SpoolException.InvalidConfiguration("query parameter '" + name + "' must be a whole number from "
        + min + " to " + max + ", not '" + Requests.truncate(value.get()) + "'");
  }

  /** An optional whole-number query parameter; what it may be the engine checks. */
  protected static int intParam(String name, Optional<String> value, int fallback) {
    if (value.isEmpty()) {
      return fallback;
    }
    try {
      return Integer.parseInt(value.get());
    } catch (NumberFormatException e) {
      throw new SpoolException.InvalidConfiguration("query parameter '" + name + "' must be a whole number, not '"
          + Requests.truncate(value.get()) + "'");
    }
  }

  /** The engine's answer to {@code rule}; its refusal ({@code InvalidConfiguration}) names query parameter {@code name}. */
  protected static <T> T queryCheck(String name, java.util.function.Supplier<T> rule) {
    try {
      return rule.get();
    } catch (SpoolException.InvalidConfiguration e) {
      String message = e.getMessage();
      throw new SpoolException.InvalidConfiguration(
          message.startsWith("query parameter '") ? message : "query parameter '" + name + "': " + message);
    }
  }

  /** An optional ISO-8601 duration query parameter; what it may be (not negative, bounded) the engine checks. */
  protected static Duration durationParam(String name, Optional<String> value, Duration fallback) {
    if (value.isEmpty()) {
      return fallback;
    }
    try {
      return Requests.duration(name, value.get());
    } catch (SpoolException e) {
      throw new SpoolException.InvalidConfiguration("query parameter '" + name
          + "' must be an ISO-8601 duration such as PT5S, not '" + Requests.truncate(value.get()) + "'");
    }
  }
}
