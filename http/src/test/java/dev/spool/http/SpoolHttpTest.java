package dev.spool.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.spool.Spool;
import dev.spool.SpoolException;
import dev.spool.QueueSettings;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The API and console served in-process, from an embedding application's own actor system. */
class SpoolHttpTest {

  @TempDir
  Path dataDir;

  private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private ActorSystem<Void> system;
  private Spool spool;

  @BeforeEach
  void startTheApplication() {
    system = ActorSystem.create(Behaviors.empty(), "shop", ConfigFactory.load());
    spool = Spool.create(system);
    spool.createQueue("orders", QueueSettings.defaults()).toCompletableFuture().join();
  }

  @AfterEach
  void stop() {
    system.terminate();
    system.getWhenTerminated().toCompletableFuture().join();
  }

  @Test
  void oneCallServesTheConsoleAndTheApiOnLoopbackWithATokenPrintedOnce() throws Exception {
    Started first = start(SpoolHttp.Settings.defaults().withPort(0).withDataDir(dataDir));
    SpoolHttpServer.Binding http = first.binding();
    assertEquals("127.0.0.1", http.host(), "loopback unless told otherwise");
    String token = Files.readString(dataDir.resolve("admin-token")).trim();
    assertEquals("Spool console: " + http.url() + "?token=" + token, first.printed().trim());

    assertEquals(200, get(http, "health/ready", null).statusCode());
    HttpResponse<String> page = get(http, "", null);
    assertEquals(200, page.statusCode());
    assertTrue(page.body().contains("<title>Spool console"), page.body());
    assertEquals(401, get(http, "api/v1/queues", null).statusCode(), "the API needs the token");
    HttpResponse<String> queues = get(http, "api/v1/queues", token);
    assertEquals(200, queues.statusCode());
    assertTrue(queues.body().contains("\"orders\""), "the application's own engine: " + queues.body());

    http.terminate().toCompletableFuture().join();
    Started again = start(SpoolHttp.Settings.defaults().withPort(0).withDataDir(dataDir));
    assertFalse(again.printed().contains(token), "the token is printed only when generated: " + again.printed());
    assertEquals(200, get(again.binding(), "api/v1/queues", token).statusCode(), "the kept token still signs in");
  }

  @Test
  void anotherInterfaceWithoutTokensIsRefusedAndBindsNothing() {
    CompletionException refused = assertThrows(CompletionException.class,
        () -> SpoolHttp.start(spool, SpoolHttp.Settings.defaults().withHost("0.0.0.0").withPort(0).withDataDir(dataDir))
            .toCompletableFuture().join());
    assertInstanceOf(SpoolException.InvalidConfiguration.class, refused.getCause());
    assertFalse(Files.exists(dataDir.resolve("admin-token")), "no token generated for a refused start");
  }

  private record Started(SpoolHttpServer.Binding binding, String printed) {}

  /** Starts the server, keeping what it prints to standard output. */
  private Started start(SpoolHttp.Settings settings) {
    PrintStream out = System.out;
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
    try {
      CompletionStage<SpoolHttpServer.Binding> binding = SpoolHttp.start(spool, settings);
      return new Started(binding.toCompletableFuture().join(), printed.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(out);
    }
  }

  private HttpResponse<String> get(SpoolHttpServer.Binding http, String path, String token) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(http.url() + path)).timeout(Duration.ofSeconds(10));
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }
}
