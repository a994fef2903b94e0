package dev.spool.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spool.SpoolException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Configuration that can never work ends the start with a clear error; the journal's state never does. */
class MainStartTest {

  private static Config config(Path dir, Map<String, Object> overrides) {
    return ConfigFactory.load(ConfigFactory.parseMap(overrides)
        .withFallback(ConfigFactory.parseMap(Map.of("spool.data-dir", dir.toString(), "spool.http.port", 0)))
        .withFallback(ConfigFactory.parseResourcesAnySyntax("application")));
  }

  @Test
  void aJournalDatabaseThatIsNotConfiguredEndsTheStart(@TempDir Path dir) {
    SpoolException e = assertThrows(SpoolException.class,
        () -> Main.init(config(dir, Map.of("spool.journal.database", "oracle"))));
    assertEquals(SpoolException.Code.InvalidConfiguration, e.code());
    assertTrue(e.getMessage().contains("'oracle'"), e.getMessage());
  }

  @Test
  void aNonLoopbackHostWithoutTokensEndsTheStart(@TempDir Path dir) {
    RuntimeException e = assertThrows(RuntimeException.class,
        () -> Main.init(config(dir, Map.of("spool.http.host", "0.0.0.0"))));
    Throwable cause = e instanceof CompletionException ? e.getCause() : e;
    SpoolException spool = (SpoolException) cause;
    assertEquals(SpoolException.Code.InvalidConfiguration, spool.code(), spool.getMessage());
  }

  @Test
  void aPortInUseEndsTheStartSayingWhatToDo(@TempDir Path dir) throws Exception {
    try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
      RuntimeException e = assertThrows(RuntimeException.class, () -> Main.init(config(dir,
          Map.of("spool.http.port", taken.getLocalPort(), "spool.data-dir", dir.resolve("second").toString()))));
      String told = Main.addressInUse(e);
      assertTrue(told != null && told.contains("another process listens there") && told.contains("SPOOL_HTTP_PORT"),
          String.valueOf(told) + " from " + e);
    }
    assertEquals(null, Main.addressInUse(new IllegalStateException("something else")));
  }
}
