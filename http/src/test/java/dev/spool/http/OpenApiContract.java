package dev.spool.http;

import com.atlassian.oai.validator.OpenApiInteractionValidator;
import com.atlassian.oai.validator.model.Request;
import com.atlassian.oai.validator.model.SimpleRequest;
import com.atlassian.oai.validator.model.SimpleResponse;
import com.atlassian.oai.validator.report.LevelResolver;
import com.atlassian.oai.validator.report.MessageResolver;
import com.atlassian.oai.validator.report.ValidationReport;
import com.atlassian.oai.validator.schema.SchemaValidator;
import com.fasterxml.jackson.databind.JsonNode;
import io.swagger.v3.oas.models.OpenAPI;
import io.swagger.v3.parser.OpenAPIV3Parser;
import io.swagger.v3.parser.core.models.ParseOptions;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The OpenAPI document Spool serves, as a checker of real exchanges: a response's status must be
 * one the operation documents, its headers and body must fit what the document says for that
 * status, and a Server-Sent Event's data must fit the schema the stream's {@code x-events} names
 * for its event. A request the server took must fit the document too, so that the document never
 * refuses what the server accepts. Every failure is collected, so that one run lists all of them.
 */
final class OpenApiContract {

  private final JsonNode document;
  private final OpenApiInteractionValidator validator;
  private final SchemaValidator schemas;
  private final OpenAPI api;
  private final List<String> violations = new ArrayList<>();

  private OpenApiContract(String text) {
    try {
      this.document = TestServer.JSON.readTree(text);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    // Every message is an error: a lenient level would let an undocumented status or field pass.
    LevelResolver strict = LevelResolver.create().withDefaultLevel(ValidationReport.Level.ERROR).build();
    this.validator = OpenApiInteractionValidator.createForInlineApiSpecification(text)
        .withLevelResolver(strict).build();
    ParseOptions options = new ParseOptions();
    options.setResolve(true);
    this.api = new OpenAPIV3Parser().readContents(text, null, options).getOpenAPI();
    this.schemas = new SchemaValidator(api, new MessageResolver(strict));
  }

  /** The document as the server ships it, from the classpath. */
  static OpenApiContract shipped() {
    try (InputStream in = OpenApiContract.class.getResourceAsStream("openapi.json")) {
      return new OpenApiContract(new String(in.readAllBytes(), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Checks {@code response} to {@code method} {@code target} (a path, with or without its query). */
  void check(String method, String target, TestServer.Response response) {
    String path = URI.create(target).getRawPath();
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
    record(method + " " + target + " -> " + response.status() + " " + abbreviate(response.body()),
        validator.validateResponse(path, Request.Method.valueOf(method), b.build()));
  }

  /** Checks a request the server accepted: its parameters, security and body as the document takes them. */
  void checkAccepted(String method, String target, String token, String body) {
    URI uri = URI.create(target);
    SimpleRequest.Builder b = new SimpleRequest.Builder(method, uri.getRawPath());
    if (uri.getRawQuery() != null) {
      for (String pair : uri.getRawQuery().split("&")) {
        int eq = pair.indexOf('=');
        b.withQueryParam(URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
            URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
      }
    }
    if (token != null) {
      b.withAuthorization("Bearer " + token);
    }
    if (body != null && !body.isEmpty()) {
      b.withContentType("application/json").withBody(body);
    }
    record(method + " " + target + " (request) " + (body == null ? "" : abbreviate(body)),
        validator.validateRequest(b.build()));
  }

  /**
   * Checks one Server-Sent Event of the stream {@code GET streamPath} (a path template of the
   * document): its name must be one the stream declares, its data must fit that event's schema.
   */
  void checkEvent(String streamPath, String event, String data) {
    JsonNode declared = document.path("paths").path(streamPath).at("/get/responses/200/content")
        .path("text/event-stream").path("x-events");
    String ref = declared.path(event).path("$ref").asText();
    String where = "event '" + event + "' of " + streamPath + ": " + abbreviate(data);
    if (ref.isEmpty()) {
      violations.add(where + ": not an event the document declares (" + iterate(declared) + ")");
      return;
    }
    String name = ref.substring(ref.lastIndexOf('/') + 1);
    record(where, schemas.validate(data, api.getComponents().getSchemas().get(name), "event"));
  }

  /** Every violation found so far, each with the exchange it was found in. */
  List<String> violations() {
    return List.copyOf(violations);
  }

  private void record(String exchange, ValidationReport report) {
    for (ValidationReport.Message m : report.getMessages()) {
      violations.add(exchange + ": " + m.getKey() + " " + m.getMessage()
          + (m.getContext().flatMap(c -> c.getPointers()).map(p -> " at " + p.getInstance()).orElse("")));
    }
  }

  private static List<String> iterate(JsonNode object) {
    List<String> names = new ArrayList<>();
    object.fieldNames().forEachRemaining(names::add);
    return names;
  }

  private static String abbreviate(String text) {
    return text.length() > 300 ? text.substring(0, 300) + "…" : text;
  }
}
