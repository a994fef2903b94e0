package dev.spool.http;

import org.apache.pekko.event.LoggingAdapter;
import org.apache.pekko.http.ParsingErrorHandler;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.scaladsl.model.ErrorInfo;
import org.apache.pekko.http.scaladsl.model.StatusCode;
import org.apache.pekko.http.scaladsl.settings.ServerSettings;

/**
 * Requests Pekko refuses before any route sees them (a URI or header too long, too many headers, a
 * malformed request line) answered in the same error shape and with the same security headers as
 * everything else. Named in the server settings; Pekko creates it by its no-argument constructor.
 */
public final class ParsingErrors extends ParsingErrorHandler {

  @Override
  public HttpResponse handle(StatusCode status, ErrorInfo error, LoggingAdapter log, ServerSettings settings) {
    // Debug only: anyone can send garbage, and it must not fill the log.
    log.debug("Refused an unparseable request: {} {}", status.intValue(), error.summary());
    org.apache.pekko.http.javadsl.model.StatusCode answered = headersTooLarge(status, error)
        ? StatusCodes.REQUEST_HEADER_FIELDS_TOO_LARGE : status;
    return Errors.response(answered, Errors.codeFor(answered), error.summary())
        .withHeaders(ApiRoutes.SECURITY_HEADERS);
  }

  /**
   * Pekko answers too many headers, or a header name or value over its limit, with a plain 400; RFC
   * 6585 has 431 for exactly this, which tells a client the request's head, not its content, is at
   * fault. Pekko names these limits only in its message.
   */
  private static boolean headersTooLarge(StatusCode status, ErrorInfo error) {
    String summary = error.summary();
    return status.intValue() == 400 && summary.startsWith("HTTP ") && summary.contains("configured limit")
        && (summary.contains(" header") || summary.contains("headers"));
  }
}
