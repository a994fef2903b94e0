package dev.spool.system.overload;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A persistent queue offered far more than its consumer takes, in a child JVM with a small heap
 * ({@link OverloadDriver}): ~3,000 messages of 1 KiB a second against 50 acknowledgements a
 * second, snapshots at their default interval. The heap must not run out: publishes are refused
 * with {@code QueueFull} (HTTP 429) first, snapshots that do not fit wait. Then {@code kill -9}
 * and a restart at the same heap under the same load: the queue recovers (or is refused loudly),
 * and the JVM does not die. Without a segment store ({@code spool.storage.segment-store = ""}, as an
 * embedding application may run), so that the backlog stays in the heap: with one, it goes to
 * storage instead, which {@code BacklogTest} shows.
 */
class OverloadTest {

  private static final int RATE = 3000;
  /** The PostgreSQL schema the overload runs use, apart from other tests' tables. */
  private static final String PG_SCHEMA = "spool_overload";
  private static final Pattern FIELD = Pattern.compile("(\\w+)=([^ ]+)");
  /** No segment store: a persistent queue keeps its backlog in the heap. */
  private static final String IN_HEAP = "-Dspool.storage.segment-store=";

  @Test
  void aSmallHeapRefusesPublishesInsteadOfRunningOutAndRestarts() throws Exception {
    overload("256m", 50, 20, List.of(IN_HEAP));
  }

  /**
   * On PostgreSQL, whose snapshot store (pekko-persistence-jdbc) holds a snapshot whole, in copies:
   * with a snapshot every 500 writes some fall due while they do not fit, and wait.
   */
  @Test
  void onPostgresASmallHeapPostponesSnapshotsThatDoNotFit() throws Exception {
    long postponed = overload("256m", 50, 20, postgres(IN_HEAP, "-Dspool.persistence.snapshot-every=500"));
    assertTrue(postponed > 0, "a snapshot fell due when it did not fit, and waited");
  }

  @Test
  @Tag("slow")
  void fiveMinutesAt512MegabytesRefusePublishesInsteadOfRunningOutAndRestart() throws Exception {
    overload("512m", 300, 60, List.of(IN_HEAP));
  }

  @Test
  @Tag("slow")
  void onPostgresFiveMinutesAt512MegabytesRefusePublishesInsteadOfRunningOutAndRestart() throws Exception {
    overload("512m", 300, 60, postgres(IN_HEAP));
  }

  /**
   * The options of a child on the PostgreSQL of {@code SPOOL_TEST_POSTGRES_URL} (as the kill -9
   * tests), in a schema of this test's own, emptied first; the test is skipped when none answers.
   */
  private static List<String> postgres(String... more) {
    String url = env("SPOOL_TEST_POSTGRES_URL", "jdbc:postgresql://127.0.0.1:54329/spool");
    String user = env("SPOOL_TEST_POSTGRES_USER", "spool");
    String password = env("SPOOL_TEST_POSTGRES_PASSWORD", "spool");
    try (Connection c = DriverManager.getConnection(url, user, password); Statement s = c.createStatement()) {
      s.execute("DROP SCHEMA IF EXISTS " + PG_SCHEMA + " CASCADE");
      s.execute("CREATE SCHEMA " + PG_SCHEMA);
      // The service's own tables, in this schema: its script creates them in the connection's schema.
      s.execute("SET search_path TO " + PG_SCHEMA);
      String script;
      try (var in = OverloadTest.class.getResourceAsStream("/schema/postgres.sql")) {
        script = new String(in.readAllBytes(), StandardCharsets.UTF_8).replaceAll("(?m)^--.*$", "");
      }
      for (String statement : script.split(";")) {
        if (!statement.isBlank()) {
          s.execute(statement);
        }
      }
    } catch (SQLException | IOException e) {
      Assumptions.abort("no PostgreSQL at " + url + " (" + e.getMessage() + "); run .ci/postgres to start one,"
          + " or set SPOOL_TEST_POSTGRES_URL");
    }
    String db = "-Dpekko-persistence-jdbc.shared-databases.postgres.db.";
    List<String> options = new ArrayList<>(List.of("-Dspool.journal.database=postgres",
        db + "url=" + url + (url.contains("?") ? "&" : "?") + "currentSchema=" + PG_SCHEMA, db + "user=" + user,
        db + "password=" + password));
    options.addAll(List.of(more));
    return options;
  }

  private static String env(String name, String otherwise) {
    String v = System.getenv(name);
    return v == null || v.isBlank() ? otherwise : v;
  }

  /** Runs the overload, then a restart; the number of snapshot postponements of the first run. */
  private static long overload(String heap, int seconds, int restartSeconds, List<String> options) throws Exception {
    Path dir = Path.of("target", "overload", heap + "-" + seconds + "s-" + System.currentTimeMillis())
        .toAbsolutePath();
    Files.createDirectories(dir);
    // Spool's own INFO lines (recovery, snapshots taken after a postponement) beside every warning.
    Files.writeString(dir.resolve("logback.xml"), """
        <configuration>
          <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
            <encoder><pattern>%date{ISO8601} %-5level %logger{36} - %msg%n</pattern></encoder>
          </appender>
          <logger name="dev.spool" level="INFO"/>
          <root level="WARN"><appender-ref ref="STDOUT"/></root>
        </configuration>
        """);

    Path first = dir.resolve("run.out");
    Process run = start(heap, dir, seconds, options, first);
    String survived = awaitLine(run, first, "SURVIVED", seconds + 180);
    String log = Files.readString(first, StandardCharsets.UTF_8);
    assertFalse(log.contains("OutOfMemoryError"), "no OutOfMemoryError; see " + first);
    Optional<String> firstFull = log.lines().filter(l -> l.startsWith("FIRST-FULL")).findFirst();
    assertTrue(firstFull.isPresent(), "publishes were refused with QueueFull before the run ended; see " + first);
    assertTrue(Long.parseLong(field(survived, "full")) > 0);
    run.destroyForcibly(); // SIGKILL: no shutdown hook, no flush
    assertTrue(run.waitFor(30, TimeUnit.SECONDS));
    long postponed = log.lines().filter(l -> l.contains("snapshot postponed")).count();
    long taken = log.lines().filter(l -> l.contains("taken after")).count();
    System.out.printf("overload at -Xmx%s for %d s: first QueueFull at %s s (heap used %s), %s; "
            + "snapshot postponed %d times, taken after postponing %d times; last STAT: %s%n",
        heap, seconds, field(firstFull.get(), "t"), field(firstFull.get(), "heapUsed"), survived, postponed, taken,
        lastStat(log));

    Path second = dir.resolve("restart.out");
    Process restart = start(heap, dir, restartSeconds, options, second);
    String after = awaitLine(restart, second, "SURVIVED", restartSeconds + 240);
    String restartLog = Files.readString(second, StandardCharsets.UTF_8);
    restart.destroyForcibly();
    assertTrue(restart.waitFor(30, TimeUnit.SECONDS));
    assertFalse(restartLog.contains("OutOfMemoryError"), "no OutOfMemoryError after the restart; see " + second);
    Optional<String> outcome = restartLog.lines()
        .filter(l -> l.startsWith("RECOVERED") || l.startsWith("REFUSED")).findFirst();
    assertTrue(outcome.isPresent(), "the queue recovered or was refused; see " + second);
    if (outcome.get().startsWith("REFUSED")) {
      assertTrue(restartLog.contains("not recovered"), "a refused queue says so in the log; see " + second);
    }
    System.out.printf("restart at -Xmx%s: %s; then %s; last STAT: %s%n", heap, outcome.get(), after,
        lastStat(restartLog));
    return postponed;
  }

  private static Process start(String heap, Path dir, int seconds, List<String> options, Path console)
      throws IOException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx" + heap);
    command.add("-XX:+ExitOnOutOfMemoryError"); // an OutOfMemoryError ends the process, as it would a service
    command.add("-Dspool.data-dir=" + dir.resolve("data"));
    command.add("-Dlogback.configurationFile=" + dir.resolve("logback.xml"));
    command.addAll(options);
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(OverloadDriver.class.getName());
    command.add(Integer.toString(seconds));
    command.add(Integer.toString(RATE));
    return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(console.toFile()).start();
  }

  /** Waits for a line starting with {@code prefix}; fails if the process ends first. */
  private static String awaitLine(Process p, Path console, String prefix, int seconds) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (System.nanoTime() < deadline) {
      if (Files.exists(console)) {
        Optional<String> line = Files.readString(console, StandardCharsets.UTF_8).lines()
            .filter(l -> l.startsWith(prefix)).findFirst();
        if (line.isPresent()) {
          return line.get();
        }
      }
      if (!p.isAlive()) {
        fail("the driver ended (exit " + p.exitValue() + ") before " + prefix + "; see " + console + ":\n"
            + tail(console));
      }
      Thread.sleep(200);
    }
    p.destroyForcibly();
    fail("no " + prefix + " within " + seconds + " s; see " + console);
    return null;
  }

  private static String tail(Path console) throws IOException {
    List<String> lines = Files.readAllLines(console, StandardCharsets.UTF_8);
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
  }

  private static String lastStat(String log) {
    return log.lines().filter(l -> l.startsWith("STAT")).reduce((a, b) -> b).orElse("none");
  }

  private static String field(String line, String name) {
    Matcher m = FIELD.matcher(line);
    while (m.find()) {
      if (m.group(1).equals(name)) {
        return m.group(2);
      }
    }
    return "?";
  }
}
