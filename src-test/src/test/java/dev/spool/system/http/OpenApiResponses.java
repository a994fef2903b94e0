package dev.spool.system.http;

import com.atlassian.oai.validator.OpenApiInteractionValidator;
import com.atlassian.oai.validator.model.Request;
import com.atlassian.oai.validator.model.SimpleResponse;
import com.atlassian.oai.validator.report.LevelResolver;
import com.atlassian.oai.validator.report.ValidationReport;
import dev.spool.http.SpoolHttpServer;
import dev.spool.system.TestServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The OpenAPI document the service ships, as a checker of the responses a flow gets: the status
 * must be one the operation documents, and the headers and body must fit what it says for that
 * status. Safe to use from the flow's concurrent readers; every violation is kept, so that one run
 * lists all of them.
 */
final class OpenApiResponses {

  private final OpenApiInteractionValidator validator;
  private final List<String> violations = new CopyOnWriteArrayList<>();

  OpenApiResponses() {
    String document;
    try (InputStream in = SpoolHttpServer.class.getResourceAsStream("openapi.json")) {
      document = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    // Every message is an error: a lenient level would let an undocumented status or field pass.
    LevelResolver strict = LevelResolver.create().withDefaultLevel(ValidationReport.Level.ERROR).build();
    this.validator = OpenApiInteractionValidator.createForInlineApiSpecification(document)
        .withLevelResolver(strict).build();
  }

  /** {@code response} to {@code method} {@code target} (a path, with or without its query), once checked. */
  TestServer.Response checked(String method, String target, TestServer.Response response) {
    SimpleResponse.Builder b = SimpleResponse.Builder.status(response.status());
    for (Map.Entry<String, List<String>> header : response.headers().map().entrySet()) {
      if (header.getKey().equalsIgnoreCase("content-type")) {
        b.withContentType(header.getValue().get(0));
      } else if (!header.getKey().startsWith(":")) {
        b.withHeader(header.getKey(), header.getValue());
      }
    }
    if (!response.body().isEmpty()) {
      b.withBody(response.body());
    }
    ValidationReport report = validator.validateResponse(URI.create(target).getRawPath(),
        Request.Method.valueOf(method), b.build());
    for (ValidationReport.Message m : report.getMessages()) {
      String body = response.body().length() > 300 ? response.body().substring(0, 300) + "…" : response.body();
      violations.add(method + " " + target + " -> " + response.status() + " " + body + ": " + m.getKey() + " "
          + m.getMessage());
    }
    return response;
  }

  /** Every violation found so far, each with the exchange it was found in. */
  List<String> violations() {
    return List.copyOf(violations);
  }
}
