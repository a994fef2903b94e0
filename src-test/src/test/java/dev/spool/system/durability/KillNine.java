package dev.spool.system.durability;

import dev.spool.system.durability.KillNineDriver.Sizes;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The kill -9 torture: runs {@link KillNineDriver} in a child JVM (the service's configuration,
 * snapshots every {@value #SNAPSHOT_EVERY} writes), kills it with SIGKILL at a random moment, again
 * and again on the same data directory, then lets a last child drain the queue and checks every
 * promise against what the children were told:
 *
 * <ul>
 *   <li>every restart is ready within {@value #READY_SECONDS} s;
 *   <li>every confirmed publish is delivered to every consumer (publishes sent but not confirmed
 *       before a kill are uncertain: they may or may not be delivered);
 *   <li>no sequence ever stands for two messages, and nothing is delivered that was never sent;
 *   <li>no message whose acknowledgement was confirmed is delivered again;
 *   <li>every payload delivered is intact, byte for byte;
 *   <li>snapshots were saved and old events deleted, so kills land around both;
 *   <li>an SQLite journal file passes SQLite's integrity check at the end.
 * </ul>
 *
 * <p>Each child is killed 0.3–5 s after it is ready, or, one cycle in eight, while it is still
 * starting (recovering). A cycle that confirms nothing before its kill is counted as stalled (a
 * snapshot that takes longer than the cycle, for instance: the journal holds writes back meanwhile).
 */
final class KillNine {

  static final int SNAPSHOT_EVERY = 50;
  /** The child's option for two journal writes under way per queue (one by default). */
  static final String TWO_WRITES = "-Dspool.persistence.writes-in-flight=2";
  static final int READY_SECONDS = 30;
  private static final String CHILD_HEAP = "-Xmx384m";

  private final String name;
  private final Path dir;
  private final List<String> jvmOptions;
  private final Sizes sizes;
  private final long seed;
  private final SplittableRandom random;

  // What the children were told, kept across cycles. Sequences are dense from 1, so arrays and bit sets index them.
  private long[] idOfSequence = new long[1 << 16];
  private final BitSet confirmed = new BitSet();
  /** per producer and cycle: counters sent so far (the next counter) */
  private final Map<Long, Long> sentUpTo = new HashMap<>();
  private final Map<String, BitSet> delivered = new HashMap<>();
  private final Map<String, BitSet> acked = new HashMap<>();
  private long confirmedPublishes;
  private long sentPublishes;
  private long deliveries;
  private long deliveriesAfterRestart;
  private long confirmedAcks;
  private long ackedDeliveredAgain;
  private long corrupt;
  private long conflicts;
  private long phantoms;
  private long lost = -1;
  private int snapshots;
  private int deletions;
  private int killsDuringStart;
  /** cycles that were ready but confirmed no publish and no ack before their kill */
  private int stalledCycles;
  private int cycles;
  private final List<Long> readyMillis = new ArrayList<>();
  private final List<Long> recoveryMillis = new ArrayList<>();
  private final List<String> problems = new ArrayList<>();
  /** failed publishes by error code */
  private final Map<String, Integer> failures = new java.util.TreeMap<>();
  private String integrity = "not checked";
  private long dataBytes;
  private long startedAt;
  private long durationMillis;

  /** A fresh directory under target/, kept afterwards so that a failure's logs can be read. */
  static Path workDirectory(String name) throws IOException {
    Path dir = Path.of("target", "kill-nine", name + "-" + System.currentTimeMillis()).toAbsolutePath();
    Files.createDirectories(dir);
    return dir;
  }

  /** Kill cycles of the slow runs: 50, or {@code -Dkillnine.cycles}. */
  static int slowCycles() {
    return Integer.getInteger("killnine.cycles", 50);
  }

  /** The seed: {@code -Dkillnine.seed} to repeat a run's choices, otherwise a new one (printed in the report). */
  static long seed() {
    String s = System.getProperty("killnine.seed");
    return s == null || s.isBlank() ? System.nanoTime() : Long.parseLong(s);
  }

  KillNine(String name, List<String> jvmOptions, Sizes sizes) throws IOException {
    this.name = name;
    this.dir = workDirectory(name);
    this.jvmOptions = jvmOptions;
    this.sizes = sizes;
    this.seed = seed();
    this.random = new SplittableRandom(seed);
    for (String c : KillNineDriver.CONSUMERS) {
      delivered.put(c, new BitSet());
      acked.put(c, new BitSet());
    }
  }

  /**
   * Runs {@code kills} kill cycles and the drain, and checks. Does not throw on a broken promise
   * (see {@link #problems()}), only on a harness failure, so that a report is always made.
   */
  KillNine run(int kills) throws Exception {
    startedAt = System.nanoTime();
    System.out.println("kill -9 " + name + ": seed " + seed + ", directory " + dir);
    try {
      for (int cycle = 1; cycle <= kills; cycle++) {
        cycles = cycle;
        if (!cycle(cycle)) {
          return this;
        }
      }
      drain(kills + 1);
      check();
      checkIntegrity();
    } finally {
      durationMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startedAt);
      dataBytes = size(dir.resolve("data"));
      Files.writeString(dir.getParent().resolve("results.txt"), this + "\n", StandardCharsets.UTF_8,
          StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }
    return this;
  }

  /** One start, load and kill; false when the start failed (a problem is recorded). */
  private boolean cycle(int cycle) throws Exception {
    Path log = dir.resolve("cycle-" + cycle + ".log");
    Path console = dir.resolve("cycle-" + cycle + ".out");
    long spawned = System.nanoTime();
    Process p = start("run", cycle, log, console);
    try {
      // One cycle in eight (never the first) is killed while it starts: during JVM start or recovery.
      if (cycle > 1 && random.nextInt(8) == 0) {
        Thread.sleep(random.nextLong(200, 4000));
        if (!Files.readString(console, StandardCharsets.UTF_8).contains("READY")) {
          killsDuringStart++;
          kill(p);
          readCycle(log, console, cycle);
          return true;
        }
      }
      String failure = awaitLine(p, console, "READY", READY_SECONDS);
      if (failure != null) {
        problems.add("cycle " + cycle + ": the restart failed: " + failure);
        return false;
      }
      readyMillis.add(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - spawned));
      Thread.sleep(random.nextLong(300, 5000));
      if (!p.isAlive()) {
        problems.add("cycle " + cycle + ": the child ended on its own, with " + p.exitValue() + ": " + tail(console));
      }
    } finally {
      kill(p);
    }
    if (readCycle(log, console, cycle) == 0) {
      stalledCycles++;
    }
    return true;
  }

  private static void kill(Process p) throws InterruptedException {
    p.destroyForcibly(); // SIGKILL on Unix: no shutdown hook, no flush
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      throw new IllegalStateException("the killed child " + p.pid() + " did not end");
    }
  }

  /** The last child: no producers, reads and acknowledges everything left, stops cleanly. */
  private void drain(int cycle) throws Exception {
    Path log = dir.resolve("drain.log");
    Path console = dir.resolve("drain.out");
    long spawned = System.nanoTime();
    Process p = start("drain", cycle, log, console);
    String failure = awaitLine(p, console, "RECOVERED", READY_SECONDS);
    if (failure != null) {
      kill(p);
      problems.add("drain: the restart failed: " + failure);
      return;
    }
    readyMillis.add(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - spawned));
    if (!p.waitFor(300, TimeUnit.SECONDS)) {
      kill(p);
      problems.add("drain: did not finish within 300 s; see " + console);
    } else if (p.exitValue() != 0 || !Files.readString(console, StandardCharsets.UTF_8).contains("DRAIN DONE")) {
      problems.add("drain: exited with " + p.exitValue() + ": " + tail(console));
    }
    readCycle(log, console, cycle);
  }

  private Process start(String mode, int cycle, Path log, Path console) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add(CHILD_HEAP);
    // This machine's two cores are shared: C1 only and one GC thread make each restart start sooner.
    command.add("-XX:TieredStopAtLevel=1");
    command.add("-XX:+UseSerialGC");
    command.add("-Dspool.data-dir=" + dir.resolve("data"));
    // Snapshots (and the deletion of the events before the previous one) every few writes, so that
    // kills land around them too; the journal's debug lines let the check count them.
    command.add("-Dspool.persistence.snapshot-every=" + SNAPSHOT_EVERY);
    command.add("-Dlogback.configurationFile=" + Path.of("src", "test", "resources", "kill-nine-logback.xml")
        .toAbsolutePath());
    command.add("-Dkillnine.debug=" + Boolean.getBoolean("killnine.debug"));
    command.addAll(jvmOptions);
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(KillNineDriver.class.getName());
    command.add(mode);
    command.add(log.toString());
    command.add(sizes.name());
    command.add(Integer.toString(cycle));
    command.add(Long.toString(seed + cycle));
    return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(console.toFile()).start();
  }

  /** Null once {@code line} is in the console, else why it did not come. */
  private static String awaitLine(Process p, Path console, String line, int seconds) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (System.nanoTime() < deadline) {
      if (Files.readString(console, StandardCharsets.UTF_8).contains(line)) {
        return null;
      }
      if (!p.isAlive()) {
        return "the child exited with " + p.exitValue() + ": " + tail(console);
      }
      Thread.sleep(50);
    }
    return "not ready within " + seconds + " s: " + tail(console);
  }

  /** The console's warnings, errors and their causes, without stack frames or debug lines. */
  private static String tail(Path console) throws IOException {
    StringBuilder b = new StringBuilder();
    for (String line : Files.readAllLines(console, StandardCharsets.UTF_8)) {
      if (!line.startsWith("\t") && !line.contains(" DEBUG ") && b.length() < 3000) {
        b.append("\n    ").append(line.length() > 400 ? line.substring(0, 400) + "…" : line);
      }
    }
    return b.toString();
  }

  /** Reads what one child said; returns how many publishes and acks it confirmed. */
  private long readCycle(Path log, Path console, int cycle) throws IOException {
    long confirmations = 0;
    for (String line : Files.readAllLines(console, StandardCharsets.UTF_8)) {
      if (line.contains(" - journal ") && line.contains(": snapshot at sequenceNr ") && line.endsWith(" saved")) {
        snapshots++;
      } else if (line.contains(" - journal ") && line.contains(": events to sequenceNr ") && line.endsWith(" deleted")) {
        deletions++;
      } else if (line.contains("OutOfMemoryError") || line.startsWith("Uncaught error")) {
        problem("cycle " + cycle + ": the child failed: " + line);
      } else if (line.startsWith("RECOVERED ")) {
        recoveryMillis.add(Long.parseLong(line.substring("RECOVERED ".length()).trim()));
      }
    }
    String text = Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
    // The kill may have cut the last line short: only whole lines count.
    text = text.substring(0, text.lastIndexOf('\n') + 1);
    for (String line : text.split("\n")) {
      if (line.isEmpty()) {
        continue;
      }
      String[] f = line.split(" ");
      switch (f[0]) {
        case "T" -> {
          long key = (Long.parseLong(f[1]) << 16) | Long.parseLong(f[2]);
          long to = Long.parseLong(f[4]);
          sentPublishes += to - Long.parseLong(f[3]) + 1;
          sentUpTo.merge(key, to + 1, Math::max);
        }
        case "P" -> {
          long seq = Long.parseLong(f[1]);
          long id = Long.parseUnsignedLong(f[2], 16);
          confirmations++;
          if (!confirmed.get((int) seq)) {
            confirmed.set((int) seq);
            confirmedPublishes++;
          }
          bind(seq, id, "a confirmed publish", cycle);
        }
        case "D" -> {
          String c = f[1];
          long seq = Long.parseLong(f[2]);
          long id = Long.parseUnsignedLong(f[4], 16);
          deliveries++;
          if (cycle > 1) {
            deliveriesAfterRestart++;
          }
          if (f[5].equals("BAD")) {
            corrupt++;
            problem("cycle " + cycle + ": " + c + " got sequence " + seq + " (claiming id " + f[4]
                + ") with a payload that is not what was sent");
          } else {
            Long sentTo = sentUpTo.get(((long) KillNineDriver.producer(id) << 16) | KillNineDriver.cycle(id));
            if (sentTo == null || KillNineDriver.counter(id) >= sentTo) {
              // the T line is written before the publish is sent, so it is always read first
              phantoms++;
              problem("cycle " + cycle + ": " + c + " got sequence " + seq + ", id " + f[4] + ", never sent");
            }
            bind(seq, id, "a delivery", cycle);
          }
          if (acked.get(c).get((int) seq)) {
            ackedDeliveredAgain++;
            problem("cycle " + cycle + ": " + c + " got sequence " + seq + " again (attempt " + f[3]
                + "), though its acknowledgement was confirmed");
          }
          delivered.get(c).set((int) seq);
        }
        case "A" -> {
          confirmations++;
          BitSet a = acked.get(f[1]);
          for (int i = 2; i < f.length; i++) {
            int seq = Integer.parseInt(f[i]);
            if (!a.get(seq)) {
              a.set(seq);
              confirmedAcks++;
            }
          }
        }
        case "F" -> failures.merge(f[2], 1, Integer::sum);
        case "S" -> { } // acks sent: unconfirmed ones may or may not have been applied
        default -> throw new IllegalStateException("unexpected line in " + log + ": " + line);
      }
    }
    return confirmations;
  }

  /** Records that {@code seq} holds message {@code id}; a second message for one sequence is a problem. */
  private void bind(long seq, long id, String what, int cycle) {
    if (seq >= idOfSequence.length) {
      idOfSequence = Arrays.copyOf(idOfSequence, (int) Math.max(seq + 1, idOfSequence.length * 2L));
    }
    long before = idOfSequence[(int) seq];
    if (before == 0) {
      idOfSequence[(int) seq] = id;
    } else if (before != id) {
      conflicts++;
      problem("cycle " + cycle + ": sequence " + seq + " was id " + Long.toHexString(before) + ", and " + what
          + " says id " + Long.toHexString(id) + " (a sequence reused: something confirmed was lost)");
    }
  }

  private void problem(String p) {
    if (problems.size() < 20) {
      problems.add(p);
    }
  }

  /** Every confirmed publish delivered to every consumer. */
  private void check() {
    lost = 0;
    for (int seq = confirmed.nextSetBit(0); seq >= 0; seq = confirmed.nextSetBit(seq + 1)) {
      for (String c : KillNineDriver.CONSUMERS) {
        if (!delivered.get(c).get(seq)) {
          lost++;
          problem("confirmed sequence " + seq + " (id " + Long.toHexString(idOfSequence[seq]) + ") never delivered to "
              + c);
          break;
        }
      }
    }
  }

  /** SQLite's own check of the journal file, when the journal is an SQLite file (after the drain's clean stop). */
  private void checkIntegrity() throws SQLException {
    Path db = dir.resolve("data").resolve("journal").resolve("spool.db");
    if (!Files.exists(db)) {
      return;
    }
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db); Statement s = c.createStatement();
        ResultSet r = s.executeQuery("PRAGMA integrity_check")) {
      integrity = r.next() ? r.getString(1) : "no answer";
    }
    if (!integrity.equals("ok")) {
      problems.add("the journal file " + db + " fails SQLite's integrity check: " + integrity);
    }
  }

  private static long size(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return 0;
    }
    try (Stream<Path> files = Files.walk(dir)) {
      return files.filter(Files::isRegularFile).mapToLong(f -> f.toFile().length()).sum();
    }
  }

  List<String> problems() {
    return problems;
  }

  long confirmedPublishes() {
    return confirmedPublishes;
  }

  long confirmedAcks() {
    return confirmedAcks;
  }

  long deliveriesAfterRestart() {
    return deliveriesAfterRestart;
  }

  int snapshots() {
    return snapshots;
  }

  int deletions() {
    return deletions;
  }

  /** The report: what ran and what it showed. */
  @Override
  public String toString() {
    return "kill -9 " + name + " (" + sizes + ", seed " + seed + "): " + cycles + " cycles (" + killsDuringStart
        + " killed while starting, " + stalledCycles + " ready but confirming nothing before the kill), "
        + confirmedPublishes + " confirmed publishes, " + confirmedAcks + " confirmed acks, " + deliveries
        + " deliveries (" + deliveriesAfterRestart + " after a restart), " + (sentPublishes - confirmedPublishes)
        + " uncertain (failed publishes: " + failures + "), " + (lost < 0 ? "lost not checked" : lost + " lost")
        + ", " + ackedDeliveredAgain + " acked delivered again, " + corrupt + " corrupt, " + conflicts
        + " sequences reused, " + phantoms + " never sent; " + snapshots + " snapshots, " + deletions
        + " event deletions; ready after start max "
        + max(readyMillis) + " ms, median " + median(readyMillis) + " ms (recovery max " + max(recoveryMillis)
        + " ms, median " + median(recoveryMillis) + " ms); data directory " + dataBytes / 1024 / 1024
        + " MiB at the end, integrity " + integrity + "; " + durationMillis / 1000 + " s"
        + (problems.isEmpty() ? "" : "\nPROBLEMS:\n  " + String.join("\n  ", problems));
  }

  private static long max(List<Long> xs) {
    return xs.stream().mapToLong(Long::longValue).max().orElse(0);
  }

  private static long median(List<Long> xs) {
    long[] s = xs.stream().mapToLong(Long::longValue).sorted().toArray();
    return s.length == 0 ? 0 : s[s.length / 2];
  }
}
