package dev.spool.http;

import org.apache.pekko.event.LoggingAdapter;
import org.apache.pekko.http.ParsingErrorHandler;
import org.apache.pekko.http.javadsl.model.HttpResponse;
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
    return Errors.response(status, Errors.codeFor(status), error.summary()).withHeaders(ApiRoutes.SECURITY_HEADERS);
  }
}
