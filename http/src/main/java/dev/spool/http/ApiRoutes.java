package dev.spool.http;

import dev.spool.Spool;
import dev.spool.SpoolException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpCharsets;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.PathMatchers;
import org.apache.pekko.http.javadsl.server.Route;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The whole service as one route: {@code /api/v1} behind bearer authentication, {@code /metrics},
 * {@code /health}, the OpenAPI document and the console page. Around it, in order: the access log
 * (DEBUG), security headers on every response, one exception and rejection handler for every
 * failure, and the refusal of state-changing requests from foreign origins.
 */
final class ApiRoutes extends RouteSupport {

  /** The access log: method, path, status and time at DEBUG. Never the query string (it may carry a token). */
  private static final Logger access = LoggerFactory.getLogger("dev.spool.http.access");

  /**
   * Sent with every response. The console loads nothing from elsewhere and is never framed; no
   * referrer leaves it (its URL may carry the token); nothing is cached.
   */
  static final List<HttpHeader> SECURITY_HEADERS = List.of(
      RawHeader.create("Content-Security-Policy",
          "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"),
      RawHeader.create("X-Frame-Options", "DENY"),
      RawHeader.create("X-Content-Type-Options", "nosniff"),
      RawHeader.create("Referrer-Policy", "no-referrer"),
      RawHeader.create("Cache-Control", "no-store"));

  private static final String BEARER = "bearer ";

  private final Authenticator authenticator;
  private final HealthRoutes health;
  private final QueueRoutes queues;
  private final TriageRoutes triage;
  private final DefinitionRoutes definitions;
  private final OperationRoutes operations;
  private final WhoamiRoutes whoami;
  private final SpoolMetrics metrics;
  private final String scheme;
  private final byte[] openApi = resource("openapi.json");
  private final byte[] console = resource("console/index.html");
  private final EventTickets tickets = new EventTickets(Clock.systemUTC());
  private final java.util.Map<Principal, Route> byPrincipal = new java.util.concurrent.ConcurrentHashMap<>();

  /**
   * Chart.js from its WebJar (the version pinned in http/pom.xml); ConsoleRoutesTest fails when the
   * two drift apart.
   */
  static final String CHART_JS = "META-INF/resources/webjars/chart.js/4.4.1/dist/chart.umd.js";

  ApiRoutes(Spool spool, HttpSettings settings, Authenticator authenticator, HealthRoutes health,
      SpoolMetrics metrics, EventStreams streams, Lifecycle lifecycle, DefinitionProblems definitionProblems,
      PushSender push) {
    super(settings);
    this.authenticator = authenticator;
    this.health = health;
    this.metrics = metrics;
    this.scheme = settings.tls().enabled() ? "https" : "http";
    MessageRoutes messages = new MessageRoutes(spool, settings, lifecycle);
    ConsumerRoutes consumers = new ConsumerRoutes(spool, settings, streams, lifecycle, push);
    this.triage = new TriageRoutes(spool, settings, definitionProblems);
    this.definitions = new DefinitionRoutes(spool, settings, authenticator);
    this.queues = new QueueRoutes(spool, settings, messages, consumers, triage);
    this.operations = new OperationRoutes(spool, settings, streams);
    this.whoami = new WhoamiRoutes(settings);
  }

  /** Prometheus' text exposition format, version 0.0.4, as scrapers expect it named. */
  private static final ContentType.WithCharset PROMETHEUS_TEXT = MediaTypes.customWithOpenCharset("text", "plain",
      Map.of("version", "0.0.4"), true).toContentType(HttpCharsets.UTF_8);

  Route route() {
    Route service = concat(
        health.route(),
        path("metrics", () -> get(() -> authenticated(principal -> allow(principal, Access.VIEW,
            () -> completeWithFuture(metrics.scrape().thenApply(text -> HttpResponse.create()
                .withEntity(HttpEntities.create(PROMETHEUS_TEXT, text)))))))),
        pathPrefix("api", () -> pathPrefix("v1", () -> concat(
            path("openapi.json", () -> get(() -> complete(HttpResponse.create()
                .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, openApi))))),
            // EventSource cannot send headers: the event stream alone also takes a ticket (EventTickets).
            path("events", () -> get(() -> parameter("ticket", ticket -> operations.events(redeem(ticket))))),
            authenticated(principal -> byPrincipal.computeIfAbsent(principal, this::apiRoute))))),
        // The console's page and files hold no data, so they need no token; its scripts call the API with one.
        pathSingleSlash(() -> get(() -> complete(HttpResponse.create()
            .withEntity(HttpEntities.create(ContentTypes.TEXT_HTML_UTF8, console))))),
        pathPrefix("console", () -> get(() -> concat(
            path(PathMatchers.segment("vendor").slash("chart.umd.js"), () -> getFromResource(CHART_JS)),
            getFromResourceDirectory("dev/spool/http/console")))));
    // Each wrapper built once, here: the Java DSL calls a directive's inner supplier on every request,
    // and building the handlers per request took about 5 % of the server's time.
    Route sealed = sameOriginWrites(() -> service).seal(Errors.rejectionHandler(), Errors.exceptionHandler());
    Route headed = respondWithHeaders(SECURITY_HEADERS, () -> sealed);
    Route timed = withRequestTimeoutResponse(ApiRoutes::timedOut, () -> headed);
    return logged(() -> timed);
  }

  /**
   * The API as one principal may use it. Built once per principal (there are as many as configured
   * tokens) rather than per request: building the route tree took a tenth of a small publish's time.
   */
  private Route apiRoute(Principal principal) {
    return concat(
        path(PathMatchers.segment("events").slash("ticket"), () -> post(() -> allow(principal, Access.VIEW,
            () -> complete(json(StatusCodes.OK,
                new Views.TicketView(tickets.issue(principal), EventTickets.LIFETIME.toMillis())))))),
        queues.route(principal), triage.overview(principal), definitions.route(principal),
        operations.route(principal), whoami.route(principal));
  }

  /** Pekko's request timeout (longer than any ask and long-poll) answered in the error shape. */
  private static HttpResponse timedOut(HttpRequest request) {
    return Errors.response(StatusCodes.SERVICE_UNAVAILABLE, SpoolException.Code.Timeout.name(),
        "the request took too long; it may or may not have taken effect").withHeaders(SECURITY_HEADERS);
  }

  /** The principal of an event ticket, which is used up; 401 when unknown, used or expired. */
  private Principal redeem(String ticket) {
    return tickets.redeem(ticket).orElseThrow(() -> new Errors.HttpFailure(SpoolException.Code.Unauthorized,
        "the event ticket is not valid, was used or has expired: ask for a new one with POST /api/v1/events/ticket"));
  }

  /** {@code inner} with the principal of the request's bearer token; 401 without a valid one. */
  private Route authenticated(Function<Principal, Route> inner) {
    return optionalHeaderValueByName("Authorization", header -> {
      String token = header
          .filter(h -> h.regionMatches(true, 0, BEARER, 0, BEARER.length()))
          .map(h -> h.substring(BEARER.length()).trim())
          .filter(t -> !t.isEmpty())
          .orElseThrow(() -> new Errors.HttpFailure(SpoolException.Code.Unauthorized,
              "send a token: Authorization: Bearer <token>"));
      Principal principal = authenticator.authenticate(token).orElseThrow(() -> new Errors.HttpFailure(
          SpoolException.Code.Unauthorized, "the bearer token is not valid"));
      return inner.apply(principal);
    });
  }

  /**
   * Refuses a state-changing request whose {@code Origin} is neither this server nor an allowed one:
   * a page elsewhere must not drive the API with a user's credentials. CORS stays off, so browsers
   * also keep other origins from reading responses.
   */
  private Route sameOriginWrites(Supplier<Route> inner) {
    return extractMethod(method -> {
      if (method.equals(HttpMethods.GET) || method.equals(HttpMethods.HEAD) || method.equals(HttpMethods.OPTIONS)) {
        return inner.get();
      }
      return optionalHeaderValueByName("Origin", origin -> optionalHeaderValueByName("Host", host -> {
        if (origin.isPresent() && !allowedOrigin(origin.get(), host)) {
          throw new Errors.HttpFailure(SpoolException.Code.Forbidden,
              "cross-origin requests may not change anything (origin " + Requests.truncate(origin.get()) + ")");
        }
        return inner.get();
      }));
    });
  }

  private boolean allowedOrigin(String origin, Optional<String> host) {
    String o = origin.trim().toLowerCase(Locale.ROOT);
    if (host.isPresent() && o.equals(scheme + "://" + host.get().trim().toLowerCase(Locale.ROOT))) {
      return true;
    }
    return settings.allowedOrigins().stream().anyMatch(a -> a.toLowerCase(Locale.ROOT).equals(o));
  }

  /** Times every request for the latency histogram per route, and logs it at DEBUG (never the query string). */
  private Route logged(Supplier<Route> inner) {
    return extractRequest(request -> {
      long start = System.nanoTime();
      return mapResponse(response -> {
        long took = System.nanoTime() - start;
        metrics.requestServed(request.method().value(), request.getUri().path(), response.status().intValue(), took);
        if (access.isDebugEnabled()) {
          access.debug("{} {} {} {}ms", request.method().value(), request.getUri().path(), response.status().intValue(),
              took / 1_000_000);
        }
        return response;
      }, inner);
    });
  }

  private static byte[] resource(String name) {
    try (InputStream in = ApiRoutes.class.getResourceAsStream(name)) {
      if (in == null) {
        throw new IllegalStateException("missing resource dev/spool/http/" + name);
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
