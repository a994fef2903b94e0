package dev.spool.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spool.Delivery;
import dev.spool.Message;
import dev.spool.Spool;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MainTest {

  /** The service's configuration with its data directory in {@code dir}. */
  static Config config(Path dir) {
    // Resolved after the override, so that the journal's path (${spool.data-dir}) follows it.
    return ConfigFactory.load(ConfigFactory.parseMap(Map.of("spool.data-dir", dir.toString(), "spool.http.port", 0))
        .withFallback(ConfigFactory.parseResourcesAnySyntax("application")));
  }

  @Test
  void theServiceStartsWithItsDefaultQueueServesItOverHttpAndShutsDownCleanly(@TempDir Path dataDir)
      throws Exception {
    Main.Service service = Main.init(config(dataDir));
    Spool spool = service.spool();
    assertEquals("default", spool.queueInfo("default").toCompletableFuture().get(10, TimeUnit.SECONDS).name());

    long seq = spool.createPublisher("svc").publish(Message.text("job", "hello"))
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
    List<Delivery> got = spool.createConsumer("worker").readBatch(10, Duration.ofSeconds(5))
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertEquals(List.of(seq), got.stream().map(Delivery::sequence).toList());
    assertEquals("hello", got.get(0).message().payloadAsString());

    // No token configured: one was generated into the data directory, and it opens the API.
    String token = Files.readString(dataDir.resolve("admin-token")).trim();
    HttpClient client = HttpClient.newHttpClient();
    URI base = URI.create(service.http().url());
    HttpResponse<String> queue = client.send(HttpRequest.newBuilder(base.resolve("/api/v1/queues/default"))
        .header("Authorization", "Bearer " + token).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, queue.statusCode());
    assertTrue(queue.body().contains("\"lastSequence\":1"), queue.body());
    assertEquals(200, client.send(HttpRequest.newBuilder(base.resolve("/health/ready")).build(),
        HttpResponse.BodyHandlers.ofString()).statusCode());

    CoordinatedShutdown.get(spool.system()).runAll(CoordinatedShutdown.unknownReason())
        .toCompletableFuture().get(30, TimeUnit.SECONDS);
    spool.system().getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    assertTrue(spool.system().getWhenTerminated().toCompletableFuture().isDone());
    assertThrows(IOException.class, () -> client.send(HttpRequest.newBuilder(base.resolve("/health/live")).build(),
        HttpResponse.BodyHandlers.ofString()), "the port is closed");
  }
}
