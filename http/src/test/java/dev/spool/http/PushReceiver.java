package dev.spool.http;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * A push endpoint for tests: a JDK HTTP server on loopback that records every request it gets,
 * how many it was answering at once, and answers as {@code behaviour} says for each body.
 */
final class PushReceiver implements AutoCloseable {

  /** An answer: a status after a delay. */
  record Answer(int status, long delayMillis) {
    static Answer ok() {
      return new Answer(200, 0);
    }
  }

  /** One request as received. */
  record Received(String body, Map<String, String> headers, long atNanos) {
    String header(String name) {
      return headers.get(name.toLowerCase(java.util.Locale.ROOT));
    }
  }

  private final Function<String, Answer> behaviour;
  private final List<Received> received = new CopyOnWriteArrayList<>();
  private final AtomicInteger answering = new AtomicInteger();
  private final AtomicInteger mostAtOnce = new AtomicInteger();
  private final Map<String, AtomicInteger> attempts = new ConcurrentHashMap<>();
  private volatile int boundPort;
  private HttpServer server;
  private ExecutorService executor;

  private PushReceiver(Function<String, Answer> behaviour) {
    this.behaviour = behaviour;
  }

  /** A receiver on a free loopback port, started. */
  static PushReceiver start(Function<String, Answer> behaviour) {
    PushReceiver r = new PushReceiver(behaviour);
    r.bind(0);
    return r;
  }

  private void bind(int onPort) {
    try {
      server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), onPort), 64);
      executor = Executors.newFixedThreadPool(64);
      server.setExecutor(executor);
      server.createContext("/", this::handle);
      server.start();
      boundPort = server.getAddress().getPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void handle(HttpExchange exchange) throws IOException {
    int now = answering.incrementAndGet();
    mostAtOnce.accumulateAndGet(now, Math::max);
    try {
      String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
      Map<String, String> headers = new java.util.HashMap<>();
      exchange.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(java.util.Locale.ROOT), v.get(0)));
      received.add(new Received(body, headers, System.nanoTime()));
      attempts.computeIfAbsent(body, b -> new AtomicInteger()).incrementAndGet();
      Answer answer = behaviour.apply(body);
      if (answer.delayMillis() > 0) {
        Thread.sleep(answer.delayMillis());
      }
      exchange.sendResponseHeaders(answer.status(), -1);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      answering.decrementAndGet();
      exchange.close();
    }
  }

  int port() {
    return boundPort;
  }

  String endpoint(String path) {
    return "http://127.0.0.1:" + port() + path;
  }

  /** How many times {@code body} was received. */
  int attempts(String body) {
    AtomicInteger n = attempts.get(body);
    return n == null ? 0 : n.get();
  }

  List<Received> received() {
    return new ArrayList<>(received);
  }

  List<Received> receivedFor(String body) {
    return received.stream().filter(r -> r.body().equals(body)).toList();
  }

  int mostAtOnce() {
    return mostAtOnce.get();
  }

  /** Stops answering: connections are refused until {@link #restart}. */
  void stop() {
    server.stop(0);
    executor.shutdownNow();
  }

  /** Answers again, on the same port. */
  void restart() {
    bind(boundPort);
  }

  @Override
  public void close() {
    stop();
  }
}
