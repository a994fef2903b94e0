package dev.spool.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigException;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which configuration the service reads: {@code application.conf} in its working directory over the
 * built-in defaults, the file {@code -Dconfig.file} names before that, the defaults alone without
 * either; a file that cannot be read ends the start naming it. The last tests start {@link Main} in
 * a child JVM, as an operator does, in a directory of their own.
 */
class MainConfigurationTest {

  private static final String SERVICE_LOGGING =
      "-Dlogback.configurationFile=" + Path.of("src", "main", "resources", "logback.xml").toAbsolutePath();

  private static Properties properties(String... keyValues) {
    Properties p = new Properties();
    for (int i = 0; i < keyValues.length; i += 2) {
      p.setProperty(keyValues[i], keyValues[i + 1]);
    }
    return p;
  }

  @Test
  void theWorkingDirectorysApplicationConfIsReadOverTheBuiltInDefaults(@TempDir Path dir) throws IOException {
    Path file = Files.writeString(dir.resolve("application.conf"), "spool.data-dir = \"/srv/spool\"\nspool.http.port = 9090\n");
    Main.Configuration c = Main.configuration(dir, properties());
    assertEquals(9090, c.config().getInt("spool.http.port"));
    // Resolved with the defaults: the journal's path, a built-in default, follows the file's data directory.
    assertEquals("/srv/spool/journal/spool.db", c.config().getString("spool.journal.sqlite.path"));
    assertEquals("sqlite", c.config().getString("spool.journal.database"), "a key the file leaves out keeps its default");
    assertTrue(c.source().startsWith(file.toAbsolutePath().toString()), c.source());
  }

  @Test
  void theFileConfigFileNamesWinsOverTheWorkingDirectorys(@TempDir Path dir) throws IOException {
    Files.writeString(dir.resolve("application.conf"), "spool.http.port = 9090\n");
    Path named = Files.writeString(dir.resolve("operator.conf"), "spool.http.port = 9191\n");
    Main.Configuration c = Main.configuration(dir, properties("config.file", named.toString()));
    assertEquals(9191, c.config().getInt("spool.http.port"));
    assertTrue(c.source().startsWith(named.toAbsolutePath().toString()), c.source());
  }

  @Test
  void withoutAFileTheBuiltInDefaultsApply(@TempDir Path dir) {
    Main.Configuration c = Main.configuration(dir, properties());
    assertEquals("sqlite", c.config().getString("spool.journal.database"));
    assertEquals("./data/journal/spool.db", c.config().getString("spool.journal.sqlite.path"));
    assertEquals("org.apache.pekko.event.slf4j.Slf4jLogger", c.config().getStringList("pekko.loggers").get(0));
    assertTrue(c.source().startsWith("the built-in defaults"), c.source());
  }

  @Test
  void aMalformedFileOrAMissingNamedOneIsAnErrorNamingIt(@TempDir Path dir) throws IOException {
    Path broken = Files.writeString(dir.resolve("application.conf"), "spool {\n  http.port = 9090\n");
    ConfigException e = assertThrows(ConfigException.class, () -> Main.configuration(dir, properties()));
    assertTrue(e.getMessage().contains(broken.toAbsolutePath().toString()), e.getMessage());

    Path missing = dir.resolve("nowhere.conf");
    e = assertThrows(ConfigException.class,
        () -> Main.configuration(dir, properties("config.file", missing.toString())));
    assertTrue(e.getMessage().contains(missing.toAbsolutePath().toString()), e.getMessage());
  }

  @Test
  void theServiceStartedInADirectoryReadsItsApplicationConfAndSaysSo(@TempDir Path dir) throws Exception {
    Path file = Files.writeString(dir.resolve("application.conf"),
        "spool.data-dir = \"from-the-file\"\nspool.http.port = 0\n");
    Path console = dir.resolve("console.out");
    Process p = startMain(dir, console);
    try {
      Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
          .until(() -> !p.isAlive() || read(console).contains("Spool console: "));
      String out = read(console);
      assertTrue(p.isAlive(), out);
      assertTrue(out.contains("INFO  dev.spool.app.Main - configuration: " + file.toRealPath()), out);
      assertTrue(out.contains("data-dir=from-the-file"), out);
      assertTrue(Files.exists(dir.resolve("from-the-file").resolve("admin-token")), "the file's data directory is used");
    } finally {
      p.destroy(); // SIGTERM: the service's graceful shutdown
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
    }
  }

  @Test
  void aMalformedApplicationConfEndsTheStartNamingTheFile(@TempDir Path dir) throws Exception {
    Path file = Files.writeString(dir.resolve("application.conf"), "spool.http {\n  port = 0\n");
    Path console = dir.resolve("console.out");
    Process p = startMain(dir, console);
    try {
      assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the start ends: " + read(console));
      String out = read(console);
      assertEquals(1, p.exitValue(), out);
      assertTrue(out.contains("ERROR dev.spool.app.Main - Spool cannot start: its configuration cannot be read: "),
          out);
      assertTrue(out.contains(file.toRealPath() + ": 3: "), "the file and line: " + out);
      assertFalse(Files.exists(dir.resolve("data")), "nothing was started");
    } finally {
      p.destroyForcibly();
    }
  }

  /**
   * {@link Main} in a child JVM with {@code dir} as its working directory, logging as the service
   * does. Its class path is this JVM's with every entry absolute and none empty: an empty entry means
   * the working directory, whose application.conf would then be read as a resource too.
   */
  private static Process startMain(Path dir, Path console) throws IOException {
    String classPath = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
        .filter(entry -> !entry.isBlank()).map(entry -> Path.of(entry).toAbsolutePath().toString())
        .collect(Collectors.joining(File.pathSeparator));
    List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
        "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", SERVICE_LOGGING, "-cp", classPath, Main.class.getName());
    return new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
        .redirectOutput(console.toFile()).start();
  }

  private static String read(Path console) throws IOException {
    return Files.readString(console, StandardCharsets.UTF_8);
  }
}
