package dev.spool.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.spool.http.Authenticator;
import java.io.IOException;
import java.nio.file.Files;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A service with configured tokens: nothing on disk to find, and a viewer's writes refused. */
class SpoolCliTokensTest {

  private static final String ADMIN = "cli-admin-token-0123456789abcdef";
  private static final String VIEWER = "cli-viewer-token-0123456789abcdef";

  private static CliServer server;

  @BeforeAll
  static void start() throws IOException {
    server = CliServer.startWithTokens(ConfigFactory.parseString("spool.http.auth.tokens = ["
        + "{name = admin, sha256 = \"" + Authenticator.sha256Hex(ADMIN) + "\", roles = [admin]},"
        + "{name = viewer, sha256 = \"" + Authenticator.sha256Hex(VIEWER) + "\", roles = [viewer]}]"), ADMIN);
  }

  @AfterAll
  static void stop() throws Exception {
    server.stop();
  }

  @Test
  void configuredTokensAreGivenAndAViewerMayOnlyLook() {
    assertFalse(Files.exists(server.dataDir.resolve(SpoolCli.TOKEN_FILE)), "configured tokens are kept as hashes only");
    CliServer.Run none = server.run("queues", "list");
    assertEquals(ExitCodes.REFUSED, none.exit(), none::toString);
    assertTrue(none.err().startsWith("error: Unauthorized: "), none::toString);

    Map<String, String> viewer = Map.of("SPOOL_URL", server.url, "SPOOL_TOKEN", VIEWER);
    assertEquals(ExitCodes.OK, server.run(viewer, "", "queues", "list").exit());
    CliServer.Run create = server.run(viewer, "", "queues", "create", "viewers-queue");
    assertEquals(ExitCodes.REFUSED, create.exit(), create::toString);
    assertTrue(create.err().startsWith("error: Forbidden: "), create::toString);
    assertFalse(create.err().contains(VIEWER), "the token is never printed");

    // The flag goes before the environment.
    CliServer.Run admin = server.run(viewer, "", "--token", ADMIN, "queues", "create", "admins-queue");
    assertEquals(ExitCodes.OK, admin.exit(), admin::toString);
  }
}
