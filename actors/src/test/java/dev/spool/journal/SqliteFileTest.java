package dev.spool.journal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Opening the journal file: its tables, the lock against a second process, a damaged file, a remembered failure. */
class SqliteFileTest {

  private static SqliteFile file(Path path) {
    return new SqliteFile(new SqliteSettings(path, "FULL", Duration.ofSeconds(5), 100, 100, 1000, 1024 * 1024,
        Duration.ofSeconds(1), 1024, 64L << 20));
  }

  @Test
  void theFirstOpenCreatesTheTablesInWalModeAndAReadOnlyConnectionCannotWrite(@TempDir Path dir) throws Exception {
    SqliteFile file = file(dir.resolve("j.db"));
    try (Connection c = file.open(false); Statement s = c.createStatement()) {
      assertEquals(0, SqliteFile.single(s, "SELECT count(*) FROM journal"));
      assertEquals(0, SqliteFile.single(s, "SELECT count(*) FROM snapshot_chunk"));
      s.execute("INSERT INTO journal_deleted VALUES ('orders', 7)");
    }
    try (Connection c = file.open(true); Statement s = c.createStatement()) {
      assertEquals(7, SqliteFile.single(s, "SELECT deleted_to FROM journal_deleted"));
      SQLException refused = assertThrows(SQLException.class,
          () -> s.execute("INSERT INTO journal_deleted VALUES ('audit', 1)"));
      assertTrue(refused.getMessage().contains("readonly"), refused.getMessage());
    }
    file.releaseLock();
  }

  @Test
  void theDirectoryItMakesIsOwnerOnlyAndOneThatExistsIsLeftAlone(@TempDir Path dir) throws Exception {
    Path made = dir.resolve("data").resolve("journal");
    SqliteFile file = file(made.resolve("j.db"));
    try (Connection c = file.open(false)) {
      assertEquals("rwx------", java.nio.file.attribute.PosixFilePermissions.toString(
          java.nio.file.Files.getPosixFilePermissions(made)), "its files hold every payload");
    }
    file.releaseLock();
    Path existing = dir.resolve("shared");
    java.nio.file.Files.createDirectory(existing);
    java.nio.file.Files.setPosixFilePermissions(existing, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-x---"));
    SqliteFile other = file(existing.resolve("j.db"));
    try (Connection c = other.open(false)) {
      assertEquals("rwxr-x---", java.nio.file.attribute.PosixFilePermissions.toString(
          java.nio.file.Files.getPosixFilePermissions(existing)));
    }
    other.releaseLock();
  }

  @Test
  void aSecondOpenerOfTheSameFileIsRefusedUntilTheFirstLetsGo(@TempDir Path dir) throws Exception {
    Path path = dir.resolve("j.db");
    SqliteFile first = file(path);
    first.open(false).close();

    JournalUnavailableException inUse = assertThrows(JournalUnavailableException.class, () -> file(path).open(false));
    assertTrue(inUse.getMessage().contains("in use by another Spool"), inUse.getMessage());
    assertFalse(inUse.damaged());

    first.releaseLock();
    file(path).open(false).close();
  }

  @Test
  void aFileThatIsNotADatabaseIsDamagedAndTheFailureIsRememberedForAMoment(@TempDir Path dir) throws Exception {
    Path path = dir.resolve("j.db");
    Files.write(path, new byte[64 * 1024]); // 64 KiB that are not SQLite's
    SqliteFile file = file(path);

    JournalUnavailableException damaged = assertThrows(JournalUnavailableException.class, () -> file.open(false));
    assertTrue(damaged.damaged(), damaged.getMessage());
    assertTrue(damaged.getMessage().contains(RecoverJournal.class.getName()), damaged.getMessage());
    assertSame(damaged, assertThrows(JournalUnavailableException.class, () -> file.open(false)),
        "the next open within a second fails with the same failure instead of opening again");
  }
}
