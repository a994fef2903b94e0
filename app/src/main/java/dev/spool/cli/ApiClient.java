package dev.spool.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.MissingNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.channels.UnresolvedAddressException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.stream.Stream;

/**
 * Spool's HTTP API as the command line uses it: JSON in, JSON out, the bearer token on every
 * request and nowhere else. Every failure becomes a {@link CliException} with its exit code: the
 * API's {@code {"error","message"}} when it answered, {@code Unavailable} when it could not be
 * reached or did not answer in time.
 */
final class ApiClient {

  static final ObjectMapper JSON = new ObjectMapper();

  /**
   * An answer: its status and JSON body ({@link MissingNode} when it has none, as a 204's).
   *
   * @param status the HTTP status
   * @param body the parsed body
   */
  record Response(int status, JsonNode body) {}

  private final URI base;
  private final String token;
  private final Duration timeout;
  private final HttpClient http;

  /**
   * @param base the service's URL, e.g. {@code http://127.0.0.1:8080}
   * @param token the bearer token, or {@code null} to send none
   * @param timeout how long a request may take, besides the server's long-poll wait
   */
  ApiClient(URI base, String token, Duration timeout) {
    this.base = base;
    this.token = token;
    this.timeout = timeout;
    // HTTP/1.1 outright: Spool's listener speaks only that, so an h2c upgrade offer on each request is wasted.
    this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5))
        .build();
  }

  URI base() {
    return base;
  }

  /** One path segment, encoded: queue names may hold {@code #} (a partition) and other reserved characters. */
  static String segment(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20");
  }

  /** One query parameter value, encoded. */
  static String query(String value) {
    return URLEncoder.encode(value, StandardCharsets.UTF_8);
  }

  JsonNode get(String path) {
    return send("GET", path, null, Duration.ZERO, false).body();
  }

  JsonNode post(String path, Object body) {
    return send("POST", path, body, Duration.ZERO, false).body();
  }

  /** A POST whose answer may take {@code wait} longer than other requests: a long-poll read. */
  JsonNode post(String path, Object body, Duration wait) {
    return send("POST", path, body, wait, false).body();
  }

  /** A PUT, with its status: 201 created, 200 already there with the same settings. */
  Response put(String path, Object body) {
    return send("PUT", path, body, Duration.ZERO, false);
  }

  void delete(String path) {
    send("DELETE", path, null, Duration.ZERO, false);
  }

  /** A DELETE whose answer has a body, as a purge's count. */
  JsonNode deleteForAnswer(String path) {
    return send("DELETE", path, null, Duration.ZERO, false).body();
  }

  /** A GET whose error status is an answer too, as {@code /health/ready}'s 503 with its reasons. */
  Response getAnyStatus(String path) {
    return send("GET", path, null, Duration.ZERO, true);
  }

  /**
   * The lines of a streamed answer (Server-Sent Events), with no overall timeout: a stream lasts
   * as long as the caller reads it. The stream must be closed.
   */
  Stream<String> lines(String path) {
    HttpRequest request = request("GET", path, null).setHeader("Accept", "text/event-stream").build();
    HttpResponse<Stream<String>> response = call(request, HttpResponse.BodyHandlers.ofLines());
    if (response.statusCode() >= 300) {
      String text;
      try (Stream<String> body = response.body()) {
        text = String.join("\n", body.toList());
      }
      throw failure(response.statusCode(), text);
    }
    return response.body();
  }

  private Response send(String method, String path, Object body, Duration wait, boolean anyStatus) {
    HttpRequest request = request(method, path, body).timeout(timeout.plus(wait)).build();
    HttpResponse<InputStream> response = call(request, HttpResponse.BodyHandlers.ofInputStream());
    String text;
    try (InputStream in = response.body()) {
      text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw unreachable(e);
    }
    if (response.statusCode() >= 300 && !anyStatus) {
      throw failure(response.statusCode(), text);
    }
    if (text.isBlank()) {
      return new Response(response.statusCode(), MissingNode.getInstance());
    }
    try {
      return new Response(response.statusCode(), JSON.readTree(text));
    } catch (IOException e) {
      throw new CliException(ExitCodes.FAILED, "NotJson", method + " " + path + " answered " + response.statusCode()
          + " with a body that is not JSON");
    }
  }

  private HttpRequest.Builder request(String method, String path, Object body) {
    HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path)).header("Accept", "application/json");
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    if (body == null) {
      return b.method(method, HttpRequest.BodyPublishers.noBody());
    }
    try {
      return b.header("Content-Type", "application/json")
          .method(method, HttpRequest.BodyPublishers.ofByteArray(JSON.writeValueAsBytes(body)));
    } catch (IOException e) {
      throw new CliException(ExitCodes.FAILED, "InvalidBody", "cannot write the request body: " + e.getMessage(), e);
    }
  }

  private <T> HttpResponse<T> call(HttpRequest request, HttpResponse.BodyHandler<T> handler) {
    try {
      return http.send(request, handler);
    } catch (IOException e) {
      throw unreachable(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CliException(ExitCodes.UNAVAILABLE, "Interrupted", "interrupted while waiting for " + base);
    }
  }

  /** The API's error shape as a failure; a body in another shape is named by its status. */
  private CliException failure(int status, String text) {
    String code = "Http" + status;
    String message = "the service answered " + status;
    try {
      JsonNode error = JSON.readTree(text);
      if (error != null && error.hasNonNull("error")) {
        code = error.path("error").asText();
        message = error.path("message").asText();
      }
    } catch (IOException notJson) {
      // keep the status alone: a proxy's HTML page says nothing a script can use
    }
    if (status == 401 && token == null) {
      message += "; no token was found: give --token, set SPOOL_TOKEN, or on the service's machine point"
          + " --data-dir (SPOOL_DATA_DIR) at its data directory";
    }
    return new CliException(ExitCodes.forStatus(status), code, message);
  }

  private CliException unreachable(IOException e) {
    String why;
    if (e instanceof HttpConnectTimeoutException) {
      why = "the connection timed out";
    } else if (e instanceof HttpTimeoutException) {
      why = "no answer within " + timeout.toSeconds() + " s (--timeout)";
    } else if (e instanceof ConnectException && e.getCause() instanceof UnresolvedAddressException) {
      why = "unknown host";
    } else if (e instanceof ConnectException) {
      why = "connection refused";
    } else {
      why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
    return new CliException(ExitCodes.UNAVAILABLE, "Unavailable", "cannot reach Spool at " + base + ": " + why, e);
  }
}
