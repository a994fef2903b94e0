package dev.spool.http;

import dev.spool.SpoolException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.ExceptionHandler;
import org.apache.pekko.http.javadsl.server.RejectionHandler;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.apache.pekko.http.scaladsl.model.IllegalRequestException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place failures become responses: every {@link SpoolException} code maps to its status
 * (http-api.md, "Status codes"), and every rejection, oversized body and unexpected failure to
 * the same {@code {"error","message"}} shape. No stack trace ever reaches a client; an unexpected
 * failure is logged here with its trace and answered 500 without details.
 */
final class Errors {

  private static final Logger log = LoggerFactory.getLogger(Errors.class);

  /** Bearer is the only scheme; the realm names the service. */
  static final HttpHeader CHALLENGE = RawHeader.create("WWW-Authenticate", "Bearer realm=\"spool\"");

  /** A full queue frees room as consumers acknowledge: a second is a fair first wait. */
  private static final HttpHeader RETRY_AFTER = RawHeader.create("Retry-After", "1");

  /**
   * A journal that cannot write is retried within seconds (restart-backoff) and publishes are taken
   * again once a write completes: a second spreads retries without holding producers long.
   */
  private static final HttpHeader JOURNAL_RETRY_AFTER = RawHeader.create("Retry-After", "1");

  private Errors() {}

  /** The HTTP status of each stable error code. */
  static StatusCode status(SpoolException.Code code) {
    return switch (code) {
      case QueueNotFound, ConsumerNotFound, SequenceOutOfRange -> StatusCodes.NOT_FOUND;
      case QueueAlreadyExists, ConsumerAlreadyExists, TokenAlreadyExists -> StatusCodes.CONFLICT;
      case QueueFull -> StatusCodes.TOO_MANY_REQUESTS;
      case InvalidName, InvalidConfiguration -> StatusCodes.BAD_REQUEST;
      case MessageTooLarge -> StatusCodes.CONTENT_TOO_LARGE;
      case Unauthorized -> StatusCodes.UNAUTHORIZED;
      case Forbidden -> StatusCodes.FORBIDDEN;
      case Timeout, ShuttingDown, JournalUnavailable, DatabaseInUse -> StatusCodes.SERVICE_UNAVAILABLE;
      // The server's data or configuration is at fault, and retrying will not help until an operator acts.
      case SegmentCorrupt, EncryptionKeyMissing -> StatusCodes.INTERNAL_SERVER_ERROR;
    };
  }

  /** The response for a Spool failure, with {@code Retry-After} or {@code WWW-Authenticate} where due. */
  static HttpResponse response(SpoolException e) {
    HttpResponse response = response(status(e.code()), e.code().name(), e.getMessage());
    return switch (e.code()) {
      case QueueFull -> response.addHeader(RETRY_AFTER);
      case JournalUnavailable -> response.addHeader(JOURNAL_RETRY_AFTER);
      case Unauthorized -> response.addHeader(CHALLENGE);
      default -> response;
    };
  }

  /** A response in the error shape. */
  static HttpResponse response(StatusCode status, String error, String message) {
    return HttpResponse.create()
        .withStatus(status)
        .withEntity(ContentTypes.APPLICATION_JSON, Json.write(new Views.ErrorView(error, message)));
  }

  /** Maps every exception a route raises or a stage fails with. */
  static ExceptionHandler exceptionHandler() {
    return ExceptionHandler.newBuilder()
        .matchAny(t -> Directives.complete(responseFor(t)))
        .build();
  }

  static HttpResponse responseFor(Throwable failure) {
    Throwable t = unwrap(failure);
    if (t instanceof SpoolException e) {
      return response(e);
    }
    if (t instanceof EntityStreamSizeException e) {
      return response(StatusCodes.CONTENT_TOO_LARGE, SpoolException.Code.MessageTooLarge.name(),
          "the request body is larger than " + e.limit() + " bytes (spool.http.max-body)");
    }
    if (t instanceof IllegalRequestException e) {
      return response(e.status(), codeFor(e.status()), e.info().summary());
    }
    log.error("Unexpected failure while serving a request", t);
    return response(StatusCodes.INTERNAL_SERVER_ERROR, "InternalError",
        "Spool failed to serve this request; the server log has the details");
  }

  /**
   * Pekko's own rejection handling (405 with {@code Allow}, 415, missing parameters …), each answer
   * rewritten into the error shape, and a not-found message of ours.
   */
  static RejectionHandler rejectionHandler() {
    return RejectionHandler.newBuilder()
        .handleNotFound(Directives.complete(response(StatusCodes.NOT_FOUND, "NotFound", "no such resource")))
        .build()
        .withFallback(RejectionHandler.defaultHandler())
        .mapRejectionResponse(Errors::toErrorShape);
  }

  private static HttpResponse toErrorShape(HttpResponse response) {
    if (response.entity().getContentType().mediaType().equals(MediaTypes.APPLICATION_JSON)) {
      return response;
    }
    String message = response.entity() instanceof HttpEntity.Strict strict
        ? strict.getData().utf8String()
        : response.status().reason();
    // Pekko's headers (Allow on a 405) stay.
    return response(response.status(), codeFor(response.status()), message).withHeaders(response.getHeaders());
  }

  /** The error code of a status raised by Pekko itself rather than by Spool. */
  static String codeFor(StatusCode status) {
    return switch (status.intValue()) {
      case 400 -> SpoolException.Code.InvalidConfiguration.name();
      case 401 -> SpoolException.Code.Unauthorized.name();
      case 403 -> SpoolException.Code.Forbidden.name();
      case 404 -> "NotFound";
      case 405 -> "MethodNotAllowed";
      case 413 -> SpoolException.Code.MessageTooLarge.name();
      case 414 -> "UriTooLong";
      case 415 -> "UnsupportedMediaType";
      case 431 -> "HeadersTooLarge";
      case 503 -> SpoolException.Code.ShuttingDown.name();
      default -> status.reason().replace(" ", "");
    };
  }

  private static Throwable unwrap(Throwable t) {
    Throwable cause = t;
    while ((cause instanceof CompletionException || cause instanceof ExecutionException) && cause.getCause() != null) {
      cause = cause.getCause();
    }
    return cause;
  }

  /** A Spool-coded failure raised by the HTTP layer itself: authentication, authorization, content type. */
  static final class HttpFailure extends SpoolException {
    HttpFailure(Code code, String message) {
      super(code, message);
    }
  }
}
