package dev.spool.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code GET /api/v1/whoami} answers every valid token with its name, roles and queue patterns as
 * configured, and nobody else.
 */
class WhoamiRoutesTest {

  /** Two roles and patterns holding characters a regular expression would read otherwise. */
  private static final String MIXED = "mixed-token-0123456789abcdef";

  private static TestServer server;

  @BeforeAll
  static void start() {
    String mixed = "{name = \"ops.team\", sha256 = \"" + Authenticator.sha256Hex(MIXED)
        + "\", roles = [consumer, producer], queues = [\"orders-*\", \"a.b\", \"*.dlq\", \"x\\\\Ey\"]}";
    server = TestServer.start(ConfigFactory.parseString("spool.http.auth.tokens += " + mixed)
        .withFallback(TestServer.tokens()).resolve());
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
  }

  @Test
  void everyRoleLearnsWhoItIs() {
    assertEquals("{\"name\":\"admin\",\"roles\":[\"admin\"],\"queues\":[\"*\"]}", whoami(TestServer.ADMIN));
    assertEquals("{\"name\":\"orders-producer\",\"roles\":[\"producer\"],\"queues\":[\"orders-*\"]}",
        whoami(TestServer.PRODUCER));
    assertEquals("{\"name\":\"orders-consumer\",\"roles\":[\"consumer\"],\"queues\":[\"orders-*\"]}",
        whoami(TestServer.CONSUMER));
    assertEquals("{\"name\":\"viewer\",\"roles\":[\"viewer\"],\"queues\":[\"*\"]}", whoami(TestServer.VIEWER));
  }

  @Test
  void patternsComeBackAsConfiguredAndRolesInTheirOrder() {
    JsonNode me = server.send("GET", "/api/v1/whoami", MIXED, null).json();
    assertEquals("ops.team", me.path("name").asText());
    assertEquals(List.of("producer", "consumer"), texts(me.path("roles")));
    assertEquals(List.of("orders-*", "a.b", "*.dlq", "x\\Ey"), texts(me.path("queues")));
  }

  @Test
  void withoutAValidTokenNobodyIsTold() {
    assertEquals(401, server.send("GET", "/api/v1/whoami", null, null).status());
    TestServer.Response wrong = server.send("GET", "/api/v1/whoami", "not-a-token", null);
    assertEquals(401, wrong.status());
    assertEquals("Unauthorized", wrong.error());
  }

  private static String whoami(String token) {
    TestServer.Response r = server.send("GET", "/api/v1/whoami", token, null);
    assertEquals(200, r.status(), r.body());
    return r.body();
  }

  private static List<String> texts(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }
}
