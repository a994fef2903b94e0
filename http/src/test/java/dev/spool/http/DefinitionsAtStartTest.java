package dev.spool.http;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** {@code spool.definitions} at start: applied once the engine is ready; a bad block never stops the service. */
class DefinitionsAtStartTest {

  @Test
  void aBlockIsAppliedAndAConflictingDefinitionDoesNotStopTheOthers() throws Exception {
    try (TestServer server = TestServer.start(ConfigFactory.parseString("""
        spool.definitions {
          queues = [
            {name = default, settings {maxLength = 5}}
            {name = audit, settings {ttl = PT10M, maxLength = 100, overflow = drop-oldest}}
          ]
          consumers = [{queue = audit, name = archiver, settings {prefetch = 7}}]
        }
        """).withFallback(TestServer.tokens()))) {
      await().atMost(Duration.ofSeconds(10)).until(() -> server.get("/api/v1/queues/audit/consumers/archiver")
          .status() == 200);
      assertEquals("PT10M", server.get("/api/v1/queues/audit").json().path("settings").path("ttl").asText());
      assertEquals(7, server.get("/api/v1/queues/audit/consumers/archiver").json().path("prefetch").asInt());
      assertEquals(0, server.get("/api/v1/queues/default").json().path("settings").path("maxLength").asLong(),
          "the default queue exists with other settings: the conflicting definition changed nothing");
    }
  }

  @Test
  void aBadBlockIsRefusedWholeAndTheServiceRuns() throws Exception {
    try (TestServer server = TestServer.start(ConfigFactory.parseString("""
        spool.definitions.queues = [{name = fine}, {name = "not fine"}]
        """).withFallback(TestServer.tokens()))) {
      assertEquals(200, server.get("/api/v1/queues").status());
      // The block is read and refused before the start completes: nothing was left to apply later.
      assertEquals(404, server.get("/api/v1/queues/fine").status(), "a bad block applies nothing");
    }
  }
}
