package dev.spool.http;

import dev.spool.SpoolException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.Connection;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.settings.ServerSettings;
import org.apache.pekko.japi.Pair;
import org.apache.pekko.japi.function.Function;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.TLSClosing;
import org.apache.pekko.stream.TLSProtocol.SslTlsInbound;
import org.apache.pekko.stream.TLSProtocol.SslTlsOutbound;
import org.apache.pekko.stream.UniqueKillSwitch;
import org.apache.pekko.stream.javadsl.BidiFlow;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.TLS;
import org.apache.pekko.stream.javadsl.TLSPlacebo;
import org.apache.pekko.stream.javadsl.Tcp;
import org.apache.pekko.util.ByteString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The listening socket and every connection on it. Spool accepts connections itself, rather than
 * through Pekko's {@code bind}, to bound them before any request is read:
 * <ul>
 *   <li>up to {@code connections.max} are served in full; a new one over that first replaces the
 *       oldest connection that is idle (no byte since it opened, or kept alive between requests),
 *       as nginx reuses its idle keep-alive connections;</li>
 *   <li>with none to replace, up to {@code health-reserve} more are accepted for one request each:
 *       {@code /health/*} answers, anything else is 503 {@code TooManyConnections}; past that, a new
 *       connection is closed at once (a reserve connection without a complete head is replaced first);</li>
 *   <li>a client address holding {@code per-client} connections gets 429 {@code TooManyConnections}
 *       on its next one (health checks still answer there);</li>
 *   <li>each connection's heads and idle waits are timed by a {@link ConnectionGuard}.</li>
 * </ul>
 * Over each connection runs Pekko's own HTTP layer ({@code serverLayer}) with the server settings,
 * and TLS when configured. {@link #terminate} stops it the way Pekko's binding does: the port closes,
 * idle connections close, busy ones close after their response with {@code Connection: close}, and
 * whatever remains at the deadline is closed.
 *
 * <p>Thread-safe: admission and release hold {@code lock}; connections run on their own streams.
 */
final class Listener {

  private static final Logger log = LoggerFactory.getLogger(Listener.class);

  /** The longest wait for closed connections to report in after the deadline forced them closed. */
  private static final Duration AFTER_FORCED_CLOSE = Duration.ofSeconds(2);

  /** How often at most a refusal is logged: a flood must not fill the log. */
  private static final long REFUSAL_LOG_INTERVAL_NANOS = TimeUnit.MINUTES.toNanos(1);

  private final ActorSystem<?> system;
  private final Materializer materializer;
  private final HttpSettings.Connections limits;
  private final ServerSettings serverSettings;
  private final Optional<SSLContext> tls;
  private final Function<HttpRequest, CompletionStage<HttpResponse>> handler;
  private final ByteString requestTimeout;

  private final Object lock = new Object();
  /** Connections served in full, oldest first. Guarded by {@code lock}. */
  private final LinkedHashSet<ConnectionGuard.Handle> full = new LinkedHashSet<>();
  /** Connections taken over a limit, oldest first. Guarded by {@code lock}. */
  private final LinkedHashSet<ConnectionGuard.Handle> reserve = new LinkedHashSet<>();
  /** Connections per client address (in either set). Guarded by {@code lock}. */
  private final Map<InetAddress, Integer> perClient = new HashMap<>();
  /** Guarded by {@code lock}. */
  private boolean terminating;
  private final CompletableFuture<Done> allClosed = new CompletableFuture<>();
  private long lastRefusalLog = System.nanoTime() - REFUSAL_LOG_INTERVAL_NANOS;

  private Tcp.ServerBinding binding;


  private Listener(ActorSystem<?> system, HttpSettings settings, ServerSettings serverSettings,
      Optional<SSLContext> tls, Route route) {
    this.system = system;
    this.materializer = Materializer.matFromSystem(system);
    this.limits = settings.connections();
    this.serverSettings = serverSettings;
    this.tls = tls;
    this.handler = route.handler(system);
    this.requestTimeout = ConnectionGuard.render(Errors.response(StatusCodes.REQUEST_TIMEOUT, "RequestTimeout",
            "the request head (request line and headers) did not arrive within "
                + limits.headerTimeout().toMillis() + " ms")
        .withHeaders(ApiRoutes.SECURITY_HEADERS));
  }

  /** Binds {@code settings.host():port()} and serves {@code route} on every connection accepted. */
  static CompletionStage<Listener> bind(ActorSystem<?> system, HttpSettings settings, ServerSettings serverSettings,
      Optional<SSLContext> tls, Route route) {
    Listener listener = new Listener(system, settings, serverSettings, tls, route);
    // TCP's own idle timeout stays off: the guard times heads and idle waits, and a long-poll or an
    // event stream is not idle.
    return Tcp.get(system)
        .bind(settings.host(), settings.port(), serverSettings.getBacklog(), serverSettings.getSocketOptions(),
            false, Optional.empty())
        .to(Sink.foreach(listener::accept))
        .run(listener.materializer)
        .thenApply(bound -> {
          listener.binding = bound;
          return listener;
        });
  }

  InetSocketAddress localAddress() {
    return binding.localAddress();
  }

  /** Closes the port; connections continue. */
  CompletionStage<Done> unbind() {
    return binding.unbind().thenApply(u -> Done.getInstance());
  }

  /**
   * Closes the port and every connection: idle ones at once, busy ones after their response, the
   * rest at {@code deadline}. Completes once none is left.
   */
  CompletionStage<Done> terminate(Duration deadline) {
    List<ConnectionGuard.Handle> open;
    synchronized (lock) {
      terminating = true;
      open = new ArrayList<>(full);
      open.addAll(reserve);
      checkAllClosed();
    }
    return unbind().exceptionally(alreadyUnbound -> Done.getInstance()).thenCompose(unbound -> {
      open.forEach(ConnectionGuard.Handle::terminate);
      return allClosed.copy()
          .completeOnTimeout(null, deadline.toMillis(), TimeUnit.MILLISECONDS)
          .thenCompose(closed -> {
            if (allClosed.isDone()) {
              return allClosed;
            }
            List<ConnectionGuard.Handle> remaining;
            synchronized (lock) {
              remaining = new ArrayList<>(full);
              remaining.addAll(reserve);
            }
            log.info("Closing {} connections still busy at the termination deadline", remaining.size());
            remaining.forEach(ConnectionGuard.Handle::forceClose);
            return allClosed.copy().completeOnTimeout(Done.getInstance(), AFTER_FORCED_CLOSE.toMillis(),
                TimeUnit.MILLISECONDS);
          });
    });
  }

  /** Connections open now (for tests and metrics). */
  int openConnections() {
    synchronized (lock) {
      return full.size() + reserve.size();
    }
  }

  /** Connections open now in {@code phase} (for tests). */
  int openConnections(ConnectionGuard.Phase phase) {
    synchronized (lock) {
      return (int) java.util.stream.Stream.concat(full.stream(), reserve.stream())
          .filter(h -> h.phase.get() == phase).count();
    }
  }

  private void accept(Tcp.IncomingConnection connection) {
    ConnectionGuard.Handle handle = admit(connection.remoteAddress().getAddress());
    if (handle == null) {
      // Nothing read, nothing written: this costs the least a refusal can.
      connection.handleWith(Flow.fromSinkAndSource(Sink.cancelled(), Source.empty()), materializer);
      return;
    }
    try {
      serve(connection, handle);
    } catch (RuntimeException e) {
      log.warn("Could not serve a connection from {}: {}", connection.remoteAddress(), e.toString());
      release(handle);
    }
  }

  /** The connection's handle in its set, or null to close it at once. */
  private ConnectionGuard.Handle admit(InetAddress client) {
    synchronized (lock) {
      if (terminating) {
        return null;
      }
      ConnectionGuard.Mode mode;
      if (perClient.getOrDefault(client, 0) >= limits.perClient()) {
        mode = ConnectionGuard.Mode.OVER_CLIENT_LIMIT;
      } else if (full.size() < limits.max() || evictOldest(full, false)) {
        mode = ConnectionGuard.Mode.FULL;
      } else {
        mode = ConnectionGuard.Mode.HEALTH_ONLY;
      }
      if (mode != ConnectionGuard.Mode.FULL) {
        logRefusal(mode, client);
        if (reserve.size() >= limits.healthReserve() && !evictOldest(reserve, true)) {
          return null;
        }
      }
      ConnectionGuard.Handle handle = new ConnectionGuard.Handle(client, mode);
      (mode == ConnectionGuard.Mode.FULL ? full : reserve).add(handle);
      perClient.merge(client, 1, Integer::sum);
      return handle;
    }
  }

  /** Closes the oldest connection of {@code set} that is idle, and forgets it. Holds {@code lock}. */
  private boolean evictOldest(LinkedHashSet<ConnectionGuard.Handle> set, boolean midHead) {
    for (Iterator<ConnectionGuard.Handle> it = set.iterator(); it.hasNext(); ) {
      ConnectionGuard.Handle oldest = it.next();
      if (oldest.evict(midHead)) {
        it.remove();
        forget(oldest.client);
        return true;
      }
    }
    return false;
  }

  private void release(ConnectionGuard.Handle handle) {
    synchronized (lock) {
      if (full.remove(handle) || reserve.remove(handle)) {
        forget(handle.client);
      }
      checkAllClosed();
    }
  }

  /** Holds {@code lock}. */
  private void forget(InetAddress client) {
    perClient.computeIfPresent(client, (c, n) -> n == 1 ? null : n - 1);
  }

  /** Holds {@code lock}. */
  private void checkAllClosed() {
    if (terminating && full.isEmpty() && reserve.isEmpty()) {
      allClosed.complete(Done.getInstance());
    }
  }

  /** Holds {@code lock}. */
  private void logRefusal(ConnectionGuard.Mode mode, InetAddress client) {
    long now = System.nanoTime();
    if (now - lastRefusalLog >= REFUSAL_LOG_INTERVAL_NANOS) {
      lastRefusalLog = now;
      if (mode == ConnectionGuard.Mode.OVER_CLIENT_LIMIT) {
        log.warn("{} holds {} connections (spool.http.connections.per-client): refusing more (logged once a minute)",
            client.getHostAddress(), limits.perClient());
      } else {
        log.warn("{} connections open (spool.http.connections.max): new ones serve health checks only "
            + "(logged once a minute)", full.size());
      }
    }
  }

  /**
   * Runs the connection: until its first byte only a kill switch (replacement, termination) and a
   * timer (nothing sent within the header timeout) watch it; the HTTP stack is built at the first
   * byte. Building it costs milliseconds, and a flood of silent connections must not queue a
   * health check behind thousands of them.
   */
  private void serve(Tcp.IncomingConnection connection, ConnectionGuard.Handle handle) {
    Duration headerTimeout = handle.mode == ConnectionGuard.Mode.FULL
        ? limits.headerTimeout() : limits.overLimitHeaderTimeout();
    long openedAt = System.nanoTime();
    Flow<ByteString, ByteString, UniqueKillSwitch> served = Flow.of(ByteString.class)
        .viaMat(KillSwitches.single(), Keep.right())
        .via(Flow.lazyFlow(() -> stack(connection, handle, headerTimeout, openedAt)));
    Pair<UniqueKillSwitch, CompletionStage<Done>> running =
        served.joinMat(connection.flow().watchTermination(Keep.right()), Keep.both()).run(materializer);
    running.second().whenComplete((done, failure) -> release(handle));
    handle.started(running.first());
    system.scheduler().scheduleOnce(headerTimeout, handle::silentTooLong, system.executionContext());
  }

  /** TLS, the guard, Pekko's HTTP layer and the requests of one connection, as bytes in and out. */
  private Flow<ByteString, ByteString, NotUsed> stack(Tcp.IncomingConnection connection,
      ConnectionGuard.Handle handle, Duration headerTimeout, long openedAt) {
    BidiFlow<SslTlsOutbound, SslTlsOutbound, SslTlsInbound, SslTlsInbound, NotUsed> guard = BidiFlow.fromGraph(
        new ConnectionGuard(handle, headerTimeout, openedAt, limits.idleTimeout(), requestTimeout));
    BidiFlow<HttpResponse, SslTlsOutbound, SslTlsInbound, HttpRequest, NotUsed> http = Http.get(system)
        .serverLayer(serverSettings, Optional.of(connection.remoteAddress()), system.classicSystem().log());
    return requests(handle).joinMat(http.atop(guard).atop(tlsStage()), Keep.left())
        .mapMaterializedValue(responses -> {
          handle.responses(responses);
          return NotUsed.getInstance();
        });
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private BidiFlow<SslTlsOutbound, ByteString, ByteString, SslTlsInbound, NotUsed> tlsStage() {
    if (tls.isEmpty()) {
      // The placebo passes bytes as they are; its inbound type is the narrower SessionBytes.
      return (BidiFlow) TLSPlacebo.getInstance();
    }
    SSLContext context = tls.get();
    return TLS.create(() -> serverEngine(context), TLSClosing.eagerClose());
  }

  private static SSLEngine serverEngine(SSLContext context) {
    SSLEngine engine = context.createSSLEngine();
    engine.setUseClientMode(false);
    return engine;
  }

  /**
   * The requests of one connection, answered one at a time (no pipelining): the route for a
   * connection served in full, health checks only for one over a limit, 503 once stopping.
   */
  private Flow<HttpRequest, HttpResponse, UniqueKillSwitch> requests(ConnectionGuard.Handle handle) {
    return Flow.of(HttpRequest.class)
        .map(request -> {
          handle.requestStarted();
          return request;
        })
        .mapAsync(1, request -> answer(handle, request))
        .map(response -> sent(handle, response))
        .viaMat(KillSwitches.single(), Keep.right());
  }

  private CompletionStage<HttpResponse> answer(ConnectionGuard.Handle handle, HttpRequest request) throws Exception {
    if (handle.terminating()) {
      request.discardEntityBytes(system);
      return CompletableFuture.completedFuture(Errors.response(new SpoolException.ShuttingDown())
          .withHeaders(ApiRoutes.SECURITY_HEADERS));
    }
    if (handle.mode != ConnectionGuard.Mode.FULL && !request.getUri().path().startsWith("/health/")) {
      request.discardEntityBytes(system);
      boolean ownLimit = handle.mode == ConnectionGuard.Mode.OVER_CLIENT_LIMIT;
      HttpResponse refusal = Errors.response(
              ownLimit ? StatusCodes.TOO_MANY_REQUESTS : StatusCodes.SERVICE_UNAVAILABLE, "TooManyConnections",
              ownLimit
                  ? "this client holds " + limits.perClient() + " connections already; reuse one of them"
                  : "the server holds its maximum of " + limits.max() + " connections; retry shortly")
          .withHeaders(ApiRoutes.SECURITY_HEADERS).addHeader(RawHeader.create("Retry-After", "1"));
      return CompletableFuture.completedFuture(refusal);
    }
    return handler.apply(request);
  }

  /**
   * The response on its way out: {@code Connection: close} where the connection ends after it, and
   * the guard told once its last byte has been handed to the renderer.
   */
  @SuppressWarnings({"unchecked", "rawtypes"})
  private static HttpResponse sent(ConnectionGuard.Handle handle, HttpResponse response) {
    HttpResponse out = handle.closeAfterResponse() ? response.addHeader(Connection.create("close")) : response;
    if (out.entity().isStrict()) {
      handle.responseDone();
      return out;
    }
    Flow<ByteString, ByteString, NotUsed> watched = Flow.of(ByteString.class)
        .watchTermination((notUsed, done) -> {
          done.whenComplete((d, failure) -> handle.responseDone());
          return notUsed;
        });
    return ((org.apache.pekko.http.scaladsl.model.HttpResponse) out).withEntity(
        ((org.apache.pekko.http.scaladsl.model.ResponseEntity) out.entity()).transformDataBytes((org.apache.pekko.stream.scaladsl.Flow) watched.asScala()));
  }
}
