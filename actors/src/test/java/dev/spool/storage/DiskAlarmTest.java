package dev.spool.storage;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.spool.SpoolEvent;
import dev.spool.SpoolException;
import dev.spool.SpoolSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The disk alarm's decision: raised under the limit, cleared above it plus its margin, and what it refuses. */
class DiskAlarmTest {

  private static final long GIB = 1L << 30;
  private static final long MIB = 1L << 20;
  private static final Path FILE = Path.of("/data/journal/spool.db");

  private final DiskAlarm alarm = new DiskAlarm(GIB, FILE, path -> 0);

  @Test
  void isRaisedOnceWhenFreeSpaceFallsUnderTheLimitAndClearedOnceAboveTheLimitAndItsMargin() {
    List<DiskAlarm.Change> changes = new ArrayList<>();
    long[] measures = {10 * GIB, 2 * GIB, GIB, GIB - 1, 700 * MIB, 500 * MIB, GIB, GIB + 50 * MIB,
        GIB + 52 * MIB, 3 * GIB, 4 * GIB};
    for (long free : measures) {
      changes.add(alarm.update(free));
    }
    assertEquals(List.of(DiskAlarm.Change.NONE, DiskAlarm.Change.NONE, DiskAlarm.Change.NONE, DiskAlarm.Change.LOW,
        DiskAlarm.Change.NONE, DiskAlarm.Change.NONE, DiskAlarm.Change.NONE, DiskAlarm.Change.NONE,
        DiskAlarm.Change.NORMAL, DiskAlarm.Change.NONE, DiskAlarm.Change.NONE), changes,
        "exactly at the limit is enough; once raised, it clears only above limit + 5 % (1 GiB + 51.2 MiB)");
    assertFalse(alarm.low());
    assertEquals(4 * GIB, alarm.freeBytes());
  }

  @Test
  void nearTheLimitItDoesNotFlapWithTheWalGrowingAndShrinking() {
    int flips = 0;
    for (int i = 0; i < 1000; i++) {
      long free = GIB + (i % 2 == 0 ? -20 * MIB : 20 * MIB); // a WAL of 40 MiB checkpointed between checks
      flips += alarm.update(free) == DiskAlarm.Change.NONE ? 0 : 1;
    }
    assertEquals(1, flips, "raised once, never cleared within the margin");
    assertTrue(alarm.low());
  }

  @Test
  void whileRaisedAPublishIsRefusedWithQueueFullNamingFreeSpaceLimitAndPath() {
    assertDoesNotThrow(() -> alarm.requireRoom("orders"));
    alarm.update(300 * MIB);
    SpoolException refused = assertThrows(SpoolException.QueueFull.class, () -> alarm.requireRoom("orders"));
    String message = refused.getMessage();
    assertTrue(message.contains("disk space is low"), message);
    assertTrue(message.contains(Long.toString(300 * MIB)), message);
    assertTrue(message.contains(Long.toString(GIB)), message);
    assertTrue(message.contains(FILE.toString()), message);
    assertTrue(message.contains("'orders'"), message);
    alarm.update(2 * GIB);
    assertDoesNotThrow(() -> alarm.requireRoom("orders"));
  }

  @Test
  void eventsCarryFreeBytesLimitAndPath() {
    Instant at = Instant.parse("2026-01-01T00:00:00Z");
    SpoolEvent low = alarm.event(alarm.update(100 * MIB), at);
    assertEquals(new SpoolEvent.DiskLow(at, 100 * MIB, GIB, FILE.toString()), low);
    assertNull(alarm.event(alarm.update(90 * MIB), at));
    SpoolEvent normal = alarm.event(alarm.update(5 * GIB), at);
    assertEquals(new SpoolEvent.DiskNormal(at, 5 * GIB, GIB, FILE.toString()), normal);
  }

  @Test
  void withoutAnEmbeddedJournalOrWithALimitOfZeroItNeverRings() {
    DiskAlarm noJournal = DiskAlarm.create(new SpoolSettings.Disk(GIB, null, path -> 0));
    DiskAlarm noLimit = DiskAlarm.create(new SpoolSettings.Disk(0, FILE, path -> 0));
    for (DiskAlarm off : List.of(noJournal, noLimit)) {
      assertFalse(off.enabled());
      assertEquals(DiskAlarm.Change.NONE, off.update(0));
      assertFalse(off.low());
      assertDoesNotThrow(() -> off.requireRoom("orders"));
    }
  }

  @Test
  void measuresTheNearestExistingDirectoryBeforeTheJournalFileExists(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("journal").resolve("spool.db");
    List<Path> asked = new ArrayList<>();
    DiskAlarm watching = new DiskAlarm(GIB, file, path -> {
      asked.add(path);
      return SpoolSettings.FreeSpace.FILE_STORE.usableBytes(path);
    });
    long free = watching.measure();
    assertEquals(List.of(dir), asked);
    assertEquals(Files.getFileStore(dir).getUsableSpace(), free, 64 * MIB);
    Files.createDirectories(file.getParent());
    Files.write(file, new byte[1024]);
    watching.measure();
    assertEquals(file, asked.get(1), "once it exists, the file itself");
  }

  @Test
  void aNegativeLimitIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> new DiskAlarm(-1, FILE, path -> 0));
  }

  private static SpoolSettings.Disk settings(String... pairs) {
    Map<String, String> map = new HashMap<>();
    for (int i = 0; i < pairs.length; i += 2) {
      map.put(pairs[i], pairs[i + 1]);
    }
    return SpoolSettings.create(ConfigFactory.parseMap(map).withFallback(ConfigFactory.load())).disk();
  }

  @Test
  void settingsWatchTheEmbeddedSqliteJournalFileOnlyAndReadTheLimit() {
    SpoolSettings.Disk sqlite = settings("spool.journal.sqlite.path", "/data/journal/spool.db",
        "spool.persistence.journal-plugin", "spool.journal.sqlite.journal",
        "spool.persistence.snapshot-plugin", "spool.journal.sqlite.snapshot-store");
    assertEquals(GIB, sqlite.freeLimitBytes(), "1 GiB by default");
    assertEquals(FILE, sqlite.journalFile());
    assertTrue(sqlite.enabled());

    assertNull(settings().journalFile(), "no journal: nothing to watch");
    assertFalse(settings().enabled());
    SpoolSettings.Disk jdbc = settings("spool.persistence.journal-plugin", "jdbc-journal",
        "jdbc-journal.class", "org.apache.pekko.persistence.jdbc.journal.JdbcAsyncWriteJournal");
    assertNull(jdbc.journalFile(), "PostgreSQL through pekko-persistence-jdbc: no disk alarm");

    String[] journal = {"spool.journal.sqlite.path", "/data/journal/spool.db",
        "spool.persistence.journal-plugin", "spool.journal.sqlite.journal"};
    assertEquals(512 * MIB, settings(concat(journal, "spool.storage.disk-free-limit", "512MiB")).freeLimitBytes());
    assertFalse(settings(concat(journal, "spool.storage.disk-free-limit", "off")).enabled());
    assertFalse(settings(concat(journal, "spool.storage.disk-free-limit", "0")).enabled());
    SpoolException bad = assertThrows(SpoolException.InvalidConfiguration.class,
        () -> settings(concat(journal, "spool.storage.disk-free-limit", "plenty")));
    assertTrue(bad.getMessage().contains("spool.storage.disk-free-limit"), bad.getMessage());
  }

  private static String[] concat(String[] a, String... b) {
    String[] all = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, all, a.length, b.length);
    return all;
  }
}
