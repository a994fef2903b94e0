package dev.spool.system;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spool.Spool;
import dev.spool.app.Main;
import dev.spool.http.Authenticator;
import dev.spool.http.SpoolHttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The service as an operator runs it ({@link Main#init} on its own configuration), on a free port
 * with a fresh data directory and one token per role, and an {@link HttpClient} to talk to it: what
 * the black-box HTTP flows and the console's browser test start from.
 */
public final class TestServer implements AutoCloseable {

  public static final String ADMIN = "admin-token-0123456789abcdef";
  public static final String PRODUCER = "producer-token-0123456789abcdef";
  public static final String CONSUMER = "consumer-token-0123456789abcdef";
  public static final String VIEWER = "viewer-token-0123456789abcdef";

  private static final ObjectMapper JSON = new ObjectMapper();

  private final Spool spool;
  private final SpoolHttpServer.Binding binding;
  private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final Path dataDir;

  /** A response: status, body text, and headers by name. */
  public record Response(int status, String body, HttpHeaders headers) {
    public JsonNode json() {
      try {
        return JSON.readTree(body);
      } catch (IOException e) {
        throw new AssertionError("not JSON (" + status + "): " + body, e);
      }
    }
  }

  private TestServer(Main.Service service, Path dataDir) {
    this.spool = service.spool();
    this.binding = service.http();
    this.dataDir = dataDir;
  }

  /** The service with tokens for every role; producer and consumer restricted to {@code orders-*}. */
  public static TestServer start() {
    try {
      Path dataDir = Files.createTempDirectory("spool-system-test");
      Config tokens = ConfigFactory.parseString("spool.http.auth.tokens = ["
          + token("admin", ADMIN, "admin", "*") + ","
          + token("orders-producer", PRODUCER, "producer", "orders-*") + ","
          + token("orders-consumer", CONSUMER, "consumer", "orders-*") + ","
          + token("viewer", VIEWER, "viewer", "*") + "]");
      // Resolved after the overrides, so that the journal's path (${spool.data-dir}) follows the data directory.
      Config config = ConfigFactory.load(tokens
          .withFallback(ConfigFactory.parseString("spool.http.port = 0\nspool.data-dir = \"" + dataDir + "\""))
          .withFallback(ConfigFactory.parseResourcesAnySyntax("application")));
      return new TestServer(Main.init(config), dataDir);
    } catch (IOException e) {
      throw new UncheckedIOException("test server did not start", e);
    }
  }

  private static String token(String name, String token, String role, String queues) {
    return "{name = \"" + name + "\", sha256 = \"" + Authenticator.sha256Hex(token) + "\", roles = [" + role
        + "], queues = [\"" + queues + "\"]}";
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
    try {
      HttpResponse<String> r = client.send(b.build(), HttpResponse.BodyHandlers.ofString());
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

  private static void join(CompletionStage<?> stage) throws Exception {
    stage.toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  @Override
  public void close() throws Exception {
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
