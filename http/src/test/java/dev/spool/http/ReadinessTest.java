package dev.spool.http;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spool.Spool;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.persistence.testkit.JournalOperation;
import org.apache.pekko.persistence.testkit.PersistenceTestKitPlugin;
import org.apache.pekko.persistence.testkit.ProcessingPolicy;
import org.apache.pekko.persistence.testkit.ProcessingSuccess$;
import org.apache.pekko.persistence.testkit.ReadEvents;
import org.apache.pekko.persistence.testkit.ReadSeqNum$;
import org.apache.pekko.persistence.testkit.StorageFailure;
import org.apache.pekko.persistence.testkit.PersistenceTestKitSnapshotPlugin;
import org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit;
import org.junit.jupiter.api.Test;

/** /health/ready answers 503 until Spool has read its durable queues from the journal, then 200. */
class ReadinessTest {

  @Test
  void notReadyWhileTheJournalCannotBeReadThenReady() throws Exception {
    Config config = ConfigFactory.parseString("""
            spool.http.port = 0
            spool.data-dir = "%s"
            spool.persistence.journal-plugin = "pekko.persistence.testkit.journal"
            spool.persistence.snapshot-plugin = "pekko.persistence.testkit.snapshotstore.pluginid"
            spool.persistence.restart-backoff.min = 100ms
            spool.persistence.restart-backoff.max = 200ms
            """.formatted(Files.createTempDirectory("spool-ready")))
        .withFallback(PersistenceTestKitPlugin.config())
        .withFallback(PersistenceTestKitSnapshotPlugin.config())
        .withFallback(TestServer.tokens())
        .withFallback(ConfigFactory.load())
        .resolve();
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "readiness", config);
    try {
      // The journal cannot be read until the test says so: Spool retries with backoff meanwhile.
      AtomicBoolean down = new AtomicBoolean(true);
      ProcessingPolicy<JournalOperation> outage = (persistenceId, operation) ->
          down.get() && (operation instanceof ReadEvents || operation == ReadSeqNum$.MODULE$)
              ? new StorageFailure(new IllegalStateException("journal down (test)"))
              : ProcessingSuccess$.MODULE$;
      PersistenceTestKit.create(system).withPolicy(outage);
      Spool spool = Spool.create(system);
      SpoolHttpServer.Binding binding = SpoolHttpServer.start(spool, config).toCompletableFuture()
          .get(20, TimeUnit.SECONDS);
      HttpClient client = HttpClient.newHttpClient();
      HttpRequest ready = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + binding.port() + "/health/ready"))
          .build();
      HttpRequest live = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + binding.port() + "/health/live"))
          .build();
      assertEquals(503, client.send(ready, HttpResponse.BodyHandlers.ofString()).statusCode());
      assertEquals(200, client.send(live, HttpResponse.BodyHandlers.ofString()).statusCode(), "alive meanwhile");
      Thread.sleep(500); // several failed reads
      assertEquals(503, client.send(ready, HttpResponse.BodyHandlers.ofString()).statusCode());
      down.set(false);
      await().atMost(Duration.ofSeconds(30)).until(
          () -> client.send(ready, HttpResponse.BodyHandlers.ofString()).statusCode() == 200);
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }
}
