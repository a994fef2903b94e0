package dev.spool.system.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A persistent queue's backlog larger than the heap, on the service's embedded default journal: a
 * child JVM of 256 MiB receives a backlog of 1 KiB messages nobody reads (no QueueFull, no
 * OutOfMemoryError), then a consumer from {@code earliest} reads every message in order with exact
 * payloads; it is killed with SIGKILL in the middle of that read and resumes at its committed
 * position.
 */
class BacklogTest {

  private static final String HEAP = "-Xmx256m";
  private static final Pattern RECOVERED = Pattern.compile("RECOVERED (\\d+) ms, (\\d+) messages");
  private static final Pattern FIRST = Pattern.compile("FIRST (\\d+)");

  @TempDir
  Path dir;

  /** JVM options of the child: the journal it uses (the embedded default when empty). */
  private List<String> journal = List.of();

  /** The default run's version: 200 MB. */
  @Test
  void a200MegabyteBacklogIn256MegabytesIsReadBackInOrderAcrossAKill() throws Exception {
    readBackAcrossAKill(200_000);
  }

  @Test
  @Tag("slow")
  void aGigabyteBacklogIn256MegabytesIsReadBackInOrderAcrossAKill() throws Exception {
    readBackAcrossAKill(1 << 20);
  }

  /**
   * The same on PostgreSQL (a smaller backlog: 50 MB), when {@code SPOOL_TEST_POSTGRES_URL} names
   * one (see {@code KillNinePostgresTest}); skipped otherwise.
   */
  @Test
  void aBacklogOnPostgresIsReadBackInOrderAcrossAKill() throws Exception {
    String url = System.getenv("SPOOL_TEST_POSTGRES_URL");
    Assumptions.assumeTrue(url != null && !url.isBlank(), "SPOOL_TEST_POSTGRES_URL is not set: the backlog test on"
        + " PostgreSQL is skipped (export SPOOL_TEST_POSTGRES_URL=$(.ci/postgres) to run it)");
    String user = env("SPOOL_TEST_POSTGRES_USER", "spool");
    String password = env("SPOOL_TEST_POSTGRES_PASSWORD", "spool");
    try (Connection c = DriverManager.getConnection(url, user, password); Statement s = c.createStatement()) {
      s.execute("DROP TABLE IF EXISTS event_tag, event_journal, snapshot, spool_segment");
    }
    String db = "-Dpekko-persistence-jdbc.shared-databases.postgres.db.";
    journal = List.of("-Dspool.journal.database=postgres", db + "url=" + url, db + "user=" + user,
        db + "password=" + password);
    readBackAcrossAKill(50_000);
  }

  private static String env(String name, String otherwise) {
    String v = System.getenv(name);
    return v == null || v.isBlank() ? otherwise : v;
  }

  /**
   * Recovery time and snapshot size do not grow with the backlog: measured at 100 MB and at 1 GiB
   * (the same queue, filled further), the 1 GiB figures are within 1.5 times the 100 MB ones.
   */
  @Test
  @Tag("slow")
  void recoveryTimeAndSnapshotSizeDoNotGrowWithTheBacklog() throws Exception {
    Path acked = dir.resolve("acked");
    run("fill", 100_000, acked);
    long[] small = recovery(acked, 100_000);
    run("fill", (1 << 20) - 100_000, acked);
    long[] large = recovery(acked, 1 << 20);
    System.out.printf("recovery: 100 MB %d ms, snapshot %d bytes; 1 GiB %d ms, snapshot %d bytes%n", small[0],
        small[1], large[0], large[1]);
    assertTrue(large[0] <= Math.max(1.5 * small[0], small[0] + 300), "recovery time " + large[0] + " vs " + small[0]);
    assertTrue(large[1] <= 1.5 * small[1] + 64 * 1024, "snapshot size " + large[1] + " vs " + small[1]);
  }

  /** Recovery time (best of five starts: the machine is shared) and the newest snapshot's size. */
  private long[] recovery(Path acked, long expected) throws Exception {
    long best = Long.MAX_VALUE;
    for (int i = 0; i < 5; i++) {
      String out = run("recover", 0, acked);
      Matcher m = RECOVERED.matcher(out);
      assertTrue(m.find(), out);
      assertEquals(expected, Long.parseLong(m.group(2)), "every message is still there");
      best = Math.min(best, Long.parseLong(m.group(1)));
    }
    return new long[] {best, newestSnapshotBytes()};
  }

  private long newestSnapshotBytes() throws Exception {
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("data/journal/spool.db"));
        ResultSet r = c.createStatement().executeQuery("SELECT size FROM snapshot WHERE persistence_id LIKE "
            + "'spool-queue|" + BacklogDriver.QUEUE + "~%' ORDER BY sequence_nr DESC LIMIT 1")) {
      assertTrue(r.next(), "a snapshot was taken");
      return r.getLong(1);
    }
  }

  private void readBackAcrossAKill(long messages) throws Exception {
    Path acked = dir.resolve("acked");
    String filled = run("fill", messages, acked);
    assertTrue(filled.contains("FILLED " + messages), filled);

    Path console = dir.resolve("read-1.log");
    Process reader = start("read", messages, acked, console);
    long killAt = messages / 3;
    long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
    while (lastAcked(acked) < killAt) {
      assertTrue(reader.isAlive(), "the reader ended before the kill: " + Files.readString(console));
      assertTrue(System.nanoTime() < deadline, "the reader did not get to " + killAt + ": " + Files.readString(console));
      Thread.sleep(20);
    }
    reader.destroyForcibly(); // SIGKILL: no shutdown hook, no flush
    reader.waitFor();
    long confirmed = lastAcked(acked);
    String first = Files.readString(console);
    assertTrue(first.contains("FIRST 0"), "the reader started from the earliest message: " + first);

    String resumed = run("read", messages, acked);
    Matcher m = FIRST.matcher(resumed);
    assertTrue(m.find(), resumed);
    long resumedAt = Long.parseLong(m.group(1));
    System.out.println("killed after " + confirmed + " acknowledged; resumed at " + resumedAt + "; " + resumed);
    assertTrue(resumedAt >= confirmed + 1, "acknowledged messages came again from " + resumedAt);
    assertTrue(resumedAt <= confirmed + 1 + 1000, "messages after " + confirmed + " were skipped: resumed at "
        + resumedAt + " (one read of 1,000 may have been acknowledged but not recorded)");
    assertEquals(messages - 1, lastAcked(acked), "every message was read");
  }

  private static long lastAcked(Path acked) throws IOException {
    if (!Files.exists(acked)) {
      return -1;
    }
    List<String> lines = Files.readAllLines(acked, StandardCharsets.UTF_8);
    for (int i = lines.size() - 1; i >= 0; i--) {
      if (lines.get(i).matches("\\d+")) { // a line cut by the kill is not a record
        return Long.parseLong(lines.get(i));
      }
    }
    return -1;
  }

  /** Runs the driver to its end; returns its output. */
  private String run(String mode, long messages, Path acked) throws Exception {
    Path console = dir.resolve(mode + "-" + System.nanoTime() + ".log");
    Process p = start(mode, messages, acked, console);
    boolean ended = p.waitFor(30, TimeUnit.MINUTES);
    String out = Files.readString(console);
    if (!ended) {
      p.destroyForcibly();
    }
    assertTrue(ended && p.exitValue() == 0, mode + " failed (exit " + (ended ? p.exitValue() : "none") + "): "
        + tail(out));
    return out;
  }

  private Process start(String mode, long messages, Path acked, Path console) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add(HEAP);
    command.add("-XX:+UseSerialGC");
    command.add("-XX:+ExitOnOutOfMemoryError");
    command.add("-Dspool.data-dir=" + dir.resolve("data"));
    command.add("-Dlogback.configurationFile=" + Path.of("src", "test", "resources", "kill-nine-logback.xml")
        .toAbsolutePath());
    command.addAll(journal);
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(BacklogDriver.class.getName());
    command.add(mode);
    command.add(Long.toString(messages));
    command.add(acked.toString());
    return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(console.toFile()).start();
  }

  private static String tail(String out) {
    return out.length() > 4000 ? out.substring(out.length() - 4000) : out;
  }
}
