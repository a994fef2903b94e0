package dev.spool.http;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

  @Test
  void hoconDurationsAndSizesAreTakenAsWellAsTheApiForms() throws Exception {
    try (TestServer server = TestServer.start(ConfigFactory.parseString("""
        spool.definitions {
          queues = [{name = audit, settings {ttl = 10m, retention = "2 hours", maxBytes = 64m, dedupWindow = PT1M}}]
          consumers = [{queue = audit, name = archiver,
            settings {ackTimeout = 45s, inactiveTimeout = 1d, backoff {initial = 500ms, max = 1m, multiplier = 2.0, jitter = 0.1}}}]
        }
        """).withFallback(TestServer.tokens()))) {
      await().atMost(Duration.ofSeconds(10)).until(() -> server.get("/api/v1/queues/audit/consumers/archiver")
          .status() == 200);
      var queue = server.get("/api/v1/queues/audit").json().path("settings");
      assertEquals("PT10M", queue.path("ttl").asText());
      assertEquals("PT2H", queue.path("retention").asText());
      assertEquals(64L * 1024 * 1024, queue.path("maxBytes").asLong());
      assertEquals("PT1M", queue.path("dedupWindow").asText());
      var consumer = server.get("/api/v1/queues/audit/consumers/archiver").json().path("settings");
      assertEquals("PT45S", consumer.path("ackTimeout").asText());
      assertEquals("PT24H", consumer.path("inactiveTimeout").asText());
      assertEquals("PT0.5S", consumer.path("backoff").path("initial").asText());
      assertEquals("PT1M", consumer.path("backoff").path("max").asText());
    }
  }

  @Test
  void aBadBlockNamesEveryProblemInAnAlarmAndAMetric() throws Exception {
    try (TestServer server = TestServer.start(ConfigFactory.parseString("""
        spool.definitions {
          queues = [{name = fine}, {name = "not fine"}, {name = slow, settings {ttl = "ten minutes"}}]
          consumers = [{queue = fine, name = c, settings {prefetch = many}}]
          queus = []
        }
        """).withFallback(TestServer.tokens()))) {
      var alarms = server.get("/api/v1/health").json().path("alarms");
      String message = null;
      for (var a : alarms) {
        if (a.path("kind").asText().equals("definitions")) {
          message = a.path("message").asText();
          assertEquals("warning", a.path("severity").asText());
        }
      }
      assertNotNull(message, alarms.toString());
      assertTrue(message.contains("4 problems"), message);
      assertTrue(message.contains("spool.definitions.queues[1] (not fine)"), message);
      assertTrue(message.contains("spool.definitions.queues[2] (slow)"), message);
      assertTrue(message.contains("spool.definitions.consumers[0] (c)"), message);
      assertTrue(message.contains("spool.definitions.queus: unknown"), message);
      assertTrue(server.get("/metrics").body().contains("spool_definitions_problems 4.0"));
      assertEquals(404, server.get("/api/v1/queues/fine").status(), "a bad block applies nothing");
    }
  }

  @Test
  void tokensDeclaredAtStartAuthenticateAndConflictsAreRaised() throws Exception {
    String ci = "declared-ci-token-0123456789abcdef";
    String dup = "declared-dup-token-0123456789abcdef";
    try (TestServer server = TestServer.start(ConfigFactory.parseString("spool.definitions {\n"
        + "  queues = [{name = default, settings {maxLength = 5}}]\n"
        + "  tokens = [\n"
        + "    {name = ci, sha256 = \"" + Authenticator.sha256Hex(ci) + "\", roles = [viewer]}\n"
        + "    {name = viewer, sha256 = \"" + Authenticator.sha256Hex(dup) + "\", roles = [viewer]}\n"
        + "  ]\n"
        + "}").withFallback(TestServer.tokens()))) {
      assertEquals(200, server.send("GET", "/api/v1/queues", ci, null).status());
      assertEquals(403, server.send("POST", "/api/v1/queues/default/messages", ci, "{\"payload\":\"x\"}").status());
      assertEquals(401, server.send("GET", "/api/v1/queues", dup, null).status(),
          "a declared token never replaces a configured one of the same name");
      await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
        String message = server.get("/api/v1/health").json().path("alarms").toString();
        assertTrue(message.contains("token refused: token 'viewer' exists with another token"), message);
        assertTrue(message.contains("queue default refused"), message);
      });
      assertTrue(server.get("/metrics").body().contains("spool_definitions_problems 2.0"));
      assertFalse(server.get("/api/v1/definitions").body().contains(ci), "never a token itself");
    }
  }

  @Test
  void aBadQueueDoesNotLockOutTheTokensDeclaredBesideIt() throws Exception {
    String ops = "declared-ops-token-0123456789abcdef";
    String dup = "declared-dup2-token-0123456789abcdef";
    try (TestServer server = TestServer.start(ConfigFactory.parseString("spool.definitions {\n"
        + "  queues = [{name = fine, settings {ttl = 600000}}, {name = bad, settings {ttl = \"10 parsecs\"}}]\n"
        + "  tokens = [\n"
        + "    {name = ops, sha256 = \"" + Authenticator.sha256Hex(ops) + "\", roles = [admin]}\n"
        + "    {name = broken, sha256 = \"abc\", roles = [viewer]}\n"
        + "    {name = twice, sha256 = \"" + Authenticator.sha256Hex(dup) + "\", roles = [viewer]}\n"
        + "    {name = twice, sha256 = \"" + Authenticator.sha256Hex(dup) + "\", roles = [viewer]}\n"
        + "  ]\n"
        + "}").withFallback(TestServer.tokens()))) {
      assertEquals(200, server.send("GET", "/api/v1/queues", ops, null).status(), "the good token applies");
      assertEquals(401, server.send("GET", "/api/v1/queues", dup, null).status(), "a name given twice is refused");
      assertEquals(404, server.get("/api/v1/queues/fine").status(), "queues with a bad one among them are refused");
      String alarms = server.get("/api/v1/health").json().path("alarms").toString();
      assertTrue(alarms.contains("spool.definitions.queues[1] (bad)"), alarms);
      assertTrue(alarms.contains("spool.definitions.tokens[1] (broken)"), alarms);
      assertTrue(alarms.contains("defines token 'twice' more than once"), alarms);
      assertFalse(alarms.contains("queues[0]"), "a number is a duration in milliseconds, as HOCON reads it: " + alarms);
    }
  }
}
