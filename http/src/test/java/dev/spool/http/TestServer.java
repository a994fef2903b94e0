package dev.spool.http;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spool.Spool;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Spool and its HTTP service on a free port, with one token per role, and a {@link HttpClient}
 * to talk to it: what every HTTP test starts from. Public for the console's tests in their own package.
 */
public final class TestServer implements AutoCloseable {

  public static final String ADMIN = "admin-token-0123456789abcdef";
  public static final String PRODUCER = "producer-token-0123456789abcdef";
  public static final String CONSUMER = "consumer-token-0123456789abcdef";
  public static final String VIEWER = "viewer-token-0123456789abcdef";

  public static final ObjectMapper JSON = new ObjectMapper();

  public final Spool spool;
  public final SpoolHttpServer.Binding binding;
  public final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  public final Path dataDir;

  /** A response: status, body text, and headers by name. */
  public record Response(int status, String body, java.net.http.HttpHeaders headers) {
    public JsonNode json() {
      try {
        return JSON.readTree(body);
      } catch (IOException e) {
        throw new AssertionError("not JSON (" + status + "): " + body, e);
      }
    }

    public String error() {
      return json().path("error").asText();
    }

    public String header(String name) {
      return headers.firstValue(name).orElse(null);
    }
  }

  private TestServer(Spool spool, SpoolHttpServer.Binding binding, Path dataDir) {
    this.spool = spool;
    this.binding = binding;
    this.dataDir = dataDir;
  }

  /** Tokens for every role; producer and consumer restricted to {@code orders-*}. */
  public static Config tokens() {
    return ConfigFactory.parseString("spool.http.auth.tokens = ["
        + token("admin", ADMIN, "admin", "*") + ","
        + token("orders-producer", PRODUCER, "producer", "orders-*") + ","
        + token("orders-consumer", CONSUMER, "consumer", "orders-*") + ","
        + token("viewer", VIEWER, "viewer", "*") + "]");
  }

  private static String token(String name, String token, String role, String queues) {
    return "{name = \"" + name + "\", sha256 = \"" + Authenticator.sha256Hex(token) + "\", roles = [" + role
        + "], queues = [\"" + queues + "\"]}";
  }

  public static TestServer start() {
    return start(tokens());
  }

  /** A server with {@code overrides} over port 0, a fresh data directory and the defaults. */
  public static TestServer start(Config overrides) {
    try {
      return start(overrides, Files.createTempDirectory("spool-http-test"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A server on {@code dataDir} (kept when it stops, see {@link #stopKeepingData}), {@code overrides} over the defaults. */
  public static TestServer start(Config overrides, Path dataDir) {
    try {
      Config config = overrides
          .withFallback(ConfigFactory.parseString("spool.http.port = 0\nspool.data-dir = \"" + dataDir + "\""))
          .withFallback(ConfigFactory.load());
      Spool spool = Spool.start(config);
      try {
        SpoolHttpServer.Binding binding = SpoolHttpServer.start(spool, config).toCompletableFuture()
            .get(20, TimeUnit.SECONDS);
        return new TestServer(spool, binding, dataDir);
      } catch (Exception e) {
        spool.shutdown().toCompletableFuture().get(30, TimeUnit.SECONDS);
        throw e;
      }
    } catch (Exception e) {
      throw new IllegalStateException("test server did not start: " + e, e);
    }
  }

  public URI uri(String path) {
    return URI.create("http://127.0.0.1:" + binding.port() + path);
  }

  public Response send(String method, String path, String token, String body) {
    HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(60));
    if (token != null) {
      b.header("Authorization", "Bearer " + token);
    }
    if (body != null) {
      b.header("Content-Type", "application/json");
    }
    b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    return send(b.build());
  }

  public Response send(HttpRequest request) {
    try {
      HttpResponse<String> r = client.send(request, HttpResponse.BodyHandlers.ofString());
      return new Response(r.statusCode(), r.body(), r.headers());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  public Response get(String path) {
    return send("GET", path, ADMIN, null);
  }

  public Response post(String path, String body) {
    return send("POST", path, ADMIN, body);
  }

  public Response put(String path, String body) {
    return send("PUT", path, ADMIN, body);
  }

  public Response delete(String path) {
    return send("DELETE", path, ADMIN, null);
  }

  private static void join(java.util.concurrent.CompletionStage<?> stage)
      throws java.util.concurrent.ExecutionException, java.util.concurrent.TimeoutException {
    try {
      stage.toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Stops the server and its engine, leaving the data directory for another start. */
  public void stopKeepingData() throws java.util.concurrent.ExecutionException, java.util.concurrent.TimeoutException {
    try {
      join(binding.terminate());
    } finally {
      join(spool.shutdown());
    }
  }

  public Path dataDir() {
    return dataDir;
  }

  @Override
  public void close() throws IOException, java.util.concurrent.ExecutionException,
      java.util.concurrent.TimeoutException {
    try {
      join(binding.terminate());
    } finally {
      join(spool.shutdown());
      try (Stream<Path> files = Files.walk(dataDir)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }
}
