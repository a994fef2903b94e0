package dev.spool.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tokens in definitions documents: imported through {@code POST /api/v1/definitions}, kept
 * owner-only in the data directory across restarts, exported as hashes; a name holds one token,
 * and one token one name.
 */
class TokenDefinitionsTest {

  private static final String CI = "ci-token-0123456789abcdef0123456789";
  private static final String OTHER = "other-token-0123456789abcdef012345";

  private static String token(String name, String token, String roles, String queues) {
    return "{\"name\":\"" + name + "\",\"sha256\":\"" + Authenticator.sha256Hex(token) + "\",\"roles\":" + roles
        + (queues == null ? "" : ",\"queues\":" + queues) + "}";
  }

  private static TestServer start(Path dataDir) {
    return TestServer.start(ConfigFactory.parseString("spool.data-dir = \"" + dataDir + "\"")
        .withFallback(TestServer.tokens()));
  }

  private static List<String> texts(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.isTextual() ? n.asText() : n.path("definition").asText()));
    return out;
  }

  @Test
  void anImportedTokenAuthenticatesWithItsRolesAndHoldsAcrossARestart(@TempDir Path dataDir) throws Exception {
    String document = "{\"tokens\":[" + token("ci", CI, "[\"producer\"]", "[\"orders-*\"]") + "]}";
    try (TestServer server = start(dataDir)) {
      assertEquals(401, server.send("POST", "/api/v1/queues/orders-in/messages", CI, "{\"payload\":\"x\"}").status());
      TestServer.Response report = server.post("/api/v1/definitions", document);
      assertEquals(200, report.status(), report.body());
      assertEquals(List.of("token ci"), texts(report.json().path("created")));

      server.put("/api/v1/queues/orders-in", "{}");
      server.put("/api/v1/queues/audit", "{}");
      String kib = "x".repeat(1024);
      assertEquals(201, server.send("POST", "/api/v1/queues/orders-in/messages", CI, "{\"payload\":\"" + kib + "\"}")
          .status());
      assertEquals(403, server.send("POST", "/api/v1/queues/audit/messages", CI, "{\"payload\":\"x\"}").status(),
          "the imported token's queue patterns apply");
      assertEquals(403, server.send("DELETE", "/api/v1/queues/orders-in", CI, null).status(),
          "the imported token's roles apply");

      TestServer.Response again = server.post("/api/v1/definitions", document);
      assertEquals(List.of("token ci"), texts(again.json().path("unchanged")), "an import is idempotent");
    }
    Path file = dataDir.resolve("imported-tokens.json");
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
    String stored = Files.readString(file);
    assertFalse(stored.contains(CI), "only the hash is stored");
    assertTrue(stored.contains(Authenticator.sha256Hex(CI)));

    try (TestServer restarted = start(dataDir)) {
      restarted.put("/api/v1/queues/orders-in", "{}");
      assertEquals(201, restarted.send("POST", "/api/v1/queues/orders-in/messages", CI, "{\"payload\":\"after\"}")
          .status(), "the imported token still authenticates after a restart");
      JsonNode exported = restarted.get("/api/v1/definitions").json().path("tokens");
      JsonNode ci = null;
      for (JsonNode t : exported) {
        if (t.path("name").asText().equals("ci")) {
          ci = t;
        }
        assertFalse(t.toString().contains(CI) || t.toString().contains(TestServer.ADMIN), "never a token itself");
      }
      assertEquals(Authenticator.sha256Hex(CI), ci.path("sha256").asText());
      assertEquals("[\"producer\"]", ci.path("roles").toString());
      assertEquals("[\"orders-*\"]", ci.path("queues").toString());
      assertEquals(5, exported.size(), "the four configured tokens and the imported one");
    }
  }

  @Test
  void aNameHoldsOneTokenAndATokenOneName(@TempDir Path dataDir) {
    try (TestServer server = start(dataDir)) {
      server.post("/api/v1/definitions", "{\"tokens\":[" + token("ci", CI, "[\"producer\"]", null) + "]}");
      TestServer.Response report = server.post("/api/v1/definitions", "{\"tokens\":["
          + token("ci", CI, "[\"producer\",\"consumer\"]", null) + ","
          + token("ci-copy", CI, "[\"viewer\"]", null) + ","
          + token("viewer", OTHER, "[\"viewer\"]", null) + ","
          + token("other", OTHER, "[\"viewer\"]", null) + "]}");
      assertEquals(200, report.status(), report.body());
      JsonNode refused = report.json().path("refused");
      assertEquals(List.of("token ci", "token ci-copy", "token viewer"), texts(refused));
      for (JsonNode r : refused) {
        assertEquals("TokenAlreadyExists", r.path("error").asText());
      }
      assertTrue(refused.get(0).path("message").asText().contains("roles [producer], not [producer, consumer]"),
          refused.get(0).toString());
      assertTrue(refused.get(1).path("message").asText().contains("the same token as 'ci'"), refused.get(1).toString());
      assertTrue(refused.get(2).path("message").asText().contains("another token"), refused.get(2).toString());
      assertEquals(List.of("token other"), texts(report.json().path("created")), "the others still apply");

      assertEquals(403, server.send("POST", "/api/v1/queues/default/messages", OTHER, "{\"payload\":\"x\"}").status(),
          "'other' is a viewer");
      assertEquals(200, server.send("GET", "/api/v1/queues", OTHER, null).status());
      assertEquals(404, server.send("GET", "/api/v1/queues/orders-x", CI, null).status(),
          "'ci' kept its producer role: it may look at every queue's name space but orders-x does not exist");
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void aBadTokenRefusesTheWholeDocument(@TempDir Path dataDir) throws Exception {
    try (TestServer server = start(dataDir)) {
      for (String bad : List.of(
          "{\"name\":\"ci\",\"sha256\":\"abc\",\"roles\":[\"producer\"]}",
          "{\"name\":\"ci\",\"sha256\":\"" + Authenticator.sha256Hex(CI) + "\",\"roles\":[]}",
          "{\"name\":\"ci\",\"sha256\":\"" + Authenticator.sha256Hex(CI) + "\",\"roles\":[\"root\"]}",
          "{\"name\":\"c i\",\"sha256\":\"" + Authenticator.sha256Hex(CI) + "\",\"roles\":[\"viewer\"]}",
          "{\"name\":\"ci\",\"sha256\":\"" + Authenticator.sha256Hex(CI) + "\",\"roles\":[\"viewer\"],\"queues\":[]}",
          "{\"name\":\"ci\",\"sha256\":\"" + Authenticator.sha256Hex(CI) + "\",\"roles\":[\"viewer\"],\"token\":\"x\"}")) {
        TestServer.Response r = server.post("/api/v1/definitions", "{\"queues\":[{\"name\":\"fresh\"}],\"tokens\":["
            + bad + "]}");
        assertEquals(400, r.status(), bad + " → " + r.body());
        assertEquals(404, server.get("/api/v1/queues/fresh").status(), "nothing of a refused document applies");
      }
      TestServer.Response twice = server.post("/api/v1/definitions", "{\"tokens\":["
          + token("ci", CI, "[\"viewer\"]", null) + "," + token("ci", OTHER, "[\"viewer\"]", null) + "]}");
      assertEquals(400, twice.status());
      assertTrue(twice.body().contains("defines token 'ci' twice"), twice.body());
      assertEquals(401, server.send("GET", "/api/v1/queues", CI, null).status());
      assertFalse(Files.exists(dataDir.resolve("imported-tokens.json")));
    }
  }

  @Test
  void theGeneratedAdminTokenIsNotExportedNorReplaced(@TempDir Path dataDir) throws Exception {
    try (TestServer server = TestServer.start(ConfigFactory.parseString("spool.data-dir = \"" + dataDir + "\""))) {
      String admin = Files.readString(dataDir.resolve("admin-token")).trim();
      TestServer.Response exported = server.send("GET", "/api/v1/definitions", admin, null);
      assertEquals("[]", exported.json().path("tokens").toString(), "the generated admin token stays this service's");

      TestServer.Response report = server.send("POST", "/api/v1/definitions", admin, "{\"tokens\":["
          + token("admin", OTHER, "[\"admin\"]", null) + "," + token("ci", CI, "[\"viewer\"]", null) + "]}");
      assertEquals(List.of("token admin"), texts(report.json().path("refused")), report.body());
      assertTrue(report.json().path("refused").get(0).path("message").asText().contains("generated admin token"));
      assertEquals(401, server.send("GET", "/api/v1/queues", OTHER, null).status());
      assertEquals(200, server.send("GET", "/api/v1/queues", CI, null).status(), "imported next to the generated one");
      assertEquals(200, server.send("GET", "/api/v1/queues", admin, null).status());
    }
  }
}
