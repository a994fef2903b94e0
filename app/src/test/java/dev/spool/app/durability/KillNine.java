package dev.spool.app.durability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@link KillNineDriver} in a child JVM, kills it with SIGKILL at a random moment, again and
 * again on the same journal, then checks what the journal kept against what the driver was told:
 * every confirmed publish is there with its payload (no sequence reused), each consumer's committed
 * position covers every confirmed ack and nothing never acked, and nothing whose ack was confirmed
 * is delivered again after a restart.
 */
final class KillNine {

  private final Path dir;
  private final List<String> jvmOptions;
  /** sequence → payload of every confirmed publish */
  private final Map<Long, String> confirmed = new HashMap<>();
  /** per consumer: acks sent (maybe applied) and acks confirmed */
  private final Map<String, Set<Long>> sent = new HashMap<>();
  private final Map<String, Set<Long>> acked = new HashMap<>();
  private int deliveriesAfterRestart;

  /** A fresh directory under target/, kept afterwards so that a failure's logs can be read. */
  static Path workDirectory(String name) throws IOException {
    Path dir = Path.of("target", "kill-nine", name + "-" + System.currentTimeMillis()).toAbsolutePath();
    Files.createDirectories(dir);
    return dir;
  }

  KillNine(Path dir, List<String> jvmOptions) {
    this.dir = dir;
    this.jvmOptions = jvmOptions;
    for (String c : KillNineDriver.CONSUMERS) {
      sent.put(c, new HashSet<>());
      acked.put(c, new HashSet<>());
    }
  }

  /** Runs {@code rounds} kill cycles, then an inspection; fails on the first broken promise. */
  void run(int rounds) throws Exception {
    Path data = dir.resolve("data");
    for (int round = 1; round <= rounds; round++) {
      Path log = dir.resolve("round-" + round + ".log");
      Process p = start("run", data, log, dir.resolve("round-" + round + ".out"));
      awaitReady(p, dir.resolve("round-" + round + ".out"));
      Thread.sleep(ThreadLocalRandom.current().nextLong(1500, 3500));
      p.destroyForcibly(); // SIGKILL on Unix: no shutdown hook, no flush
      assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the killed process ended");
      readRound(log, round);
    }
    Path inspection = dir.resolve("inspect.txt");
    Process p = start("inspect", data, inspection, dir.resolve("inspect.out"));
    if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
      p.destroyForcibly();
      fail("the inspection did not finish; see " + dir.resolve("inspect.out"));
    }
    check(inspection);
  }

  int confirmedPublishes() {
    return confirmed.size();
  }

  int confirmedAcks() {
    return acked.values().stream().mapToInt(Set::size).sum();
  }

  int deliveriesAfterRestart() {
    return deliveriesAfterRestart;
  }

  @Override
  public String toString() {
    return confirmed.size() + " confirmed publishes, " + confirmedAcks() + " confirmed acks, "
        + deliveriesAfterRestart + " deliveries after a restart, all checked";
  }

  private Process start(String mode, Path data, Path out, Path console) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx512m");
    command.add("-Dspool.data-dir=" + data);
    // Snapshots (and the deletion of older events) every 50 writes, so kills land around them too.
    command.add("-Dspool.persistence.snapshot-every=50");
    command.addAll(jvmOptions);
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(KillNineDriver.class.getName());
    command.add(mode);
    command.add(out.toString());
    return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(console.toFile()).start();
  }

  private static void awaitReady(Process p, Path console) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      if (Files.exists(console) && Files.readString(console, StandardCharsets.UTF_8).contains("READY")) {
        return;
      }
      if (!p.isAlive()) {
        fail("the driver exited before it was ready: " + Files.readString(console, StandardCharsets.UTF_8));
      }
      Thread.sleep(50);
    }
    p.destroyForcibly();
    fail("the driver was not ready within 60 s; see " + console);
  }

  private void readRound(Path log, int round) throws IOException {
    // acks confirmed in earlier rounds: delivering one of those again is a duplicate
    Map<String, Set<Long>> ackedBefore = new HashMap<>();
    acked.forEach((c, s) -> ackedBefore.put(c, new HashSet<>(s)));
    Map<String, Set<Long>> deliveredThisRound = new HashMap<>();
    String text = Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
    // The kill may have cut the last line short: only whole lines count.
    text = text.substring(0, text.lastIndexOf('\n') + 1);
    for (String line : text.split("\n")) {
      {
        if (line.isEmpty()) {
          continue;
        }
        String[] f = line.split(" ");
        switch (f[0]) {
          case "P" -> {
            if (f.length < 3) {
              continue; // the line the kill cut short
            }
            String before = confirmed.put(Long.parseLong(f[1]), f[2]);
            if (before != null && !before.equals(f[2])) {
              fail("round " + round + ": sequence " + f[1] + " confirmed for " + before + " and again for " + f[2]);
            }
          }
          case "D" -> {
            if (f.length < 4) {
              continue;
            }
            long seq = Long.parseLong(f[2]);
            if (ackedBefore.get(f[1]).contains(seq)) {
              fail("round " + round + ": " + f[1] + " got sequence " + seq + " again, though its ack was confirmed");
            }
            if (!deliveredThisRound.computeIfAbsent(f[1], c -> new HashSet<>()).add(seq)) {
              fail("round " + round + ": " + f[1] + " got sequence " + seq + " twice in one run");
            }
            if (round > 1) {
              deliveriesAfterRestart++;
            }
          }
          case "S" -> addAll(sent.get(f[1]), f);
          case "A" -> addAll(acked.get(f[1]), f);
          default -> { } // a line the kill cut short
        }
      }
    }
  }

  private static void addAll(Set<Long> into, String[] fields) {
    for (int i = 2; i < fields.length; i++) {
      try {
        into.add(Long.parseLong(fields[i]));
      } catch (NumberFormatException cutShort) {
        // the last number of a line the kill cut short
      }
    }
  }

  private void check(Path inspection) throws IOException {
    Map<Long, String> kept = new HashMap<>();
    Map<String, Long> committed = new HashMap<>();
    boolean complete = false;
    for (String line : Files.readAllLines(inspection, StandardCharsets.UTF_8)) {
      String[] f = line.split(" ");
      switch (f[0]) {
        case "M" -> kept.put(Long.parseLong(f[1]), f.length > 2 ? f[2] : "");
        case "C" -> committed.put(f[1], Long.parseLong(f[2]));
        case "END" -> complete = true;
        default -> fail("unexpected inspection line: " + line);
      }
    }
    assertTrue(complete, "the inspection is complete");
    for (Map.Entry<Long, String> e : confirmed.entrySet()) {
      assertEquals(e.getValue(), kept.get(e.getKey()), "confirmed sequence " + e.getKey() + " after the restarts");
    }
    for (String c : KillNineDriver.CONSUMERS) {
      long at = committed.get(c);
      long prefix = 0;
      while (acked.get(c).contains(prefix + 1)) {
        prefix++;
      }
      assertTrue(at >= prefix, c + " committed " + at + " but every sequence up to " + prefix + " was confirmed acked");
      for (long s = 1; s <= at; s++) {
        if (kept.containsKey(s) && !sent.get(c).contains(s)) {
          fail(c + " committed " + at + ", past sequence " + s + ", which it never acked");
        }
      }
    }
  }
}
