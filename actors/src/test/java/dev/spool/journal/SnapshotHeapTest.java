package dev.spool.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A snapshot of a 200 MiB backlog (200,000 messages of 1 KiB) in a 512 MiB JVM: as one byte array
 * it does not fit (OutOfMemoryError, the crash loop seen in production); streamed through the
 * SQLite snapshot store in 1 MiB chunks it is saved and loaded back.
 */
@Tag("slow")
class SnapshotHeapTest {

  private static String run(Path dir, String mode) throws Exception {
    Path console = dir.resolve(mode + ".log");
    Process p = new ProcessBuilder(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx512m", "-cp", System.getProperty("java.class.path"), SnapshotHeapProbe.class.getName(), mode, "200000"))
        .redirectErrorStream(true).redirectOutput(console.toFile()).start();
    assertTrue(p.waitFor(5, TimeUnit.MINUTES), mode + " finished");
    String output = Files.readString(console);
    System.out.println(mode + ": exit " + p.exitValue() + "\n" + output.lines()
        .filter(l -> !l.startsWith("SLF4J") && !l.startsWith("\tat ")).reduce("", (a, b) -> a + b + "\n"));
    return p.exitValue() + "\n" + output;
  }

  @Test
  void aSnapshotOfA200MiBBacklogIsSavedAndLoadedInA512MiBHeap(@TempDir Path dir) throws Exception {
    String streamed = run(dir, "stream");
    assertTrue(streamed.startsWith("0\n"), streamed);
    assertTrue(streamed.contains("loaded 200,000 messages"), streamed);

    String bytes = run(dir, "bytes");
    assertNotEquals("0", bytes.lines().findFirst().orElseThrow(), "as one array it does not fit");
    assertEquals(true, bytes.contains("OutOfMemoryError"), bytes);
  }
}
