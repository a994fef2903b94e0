package dev.spool.log;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.UUID;
import org.junit.jupiter.api.Test;

class DedupIndexTest {

  @Test
  void remembersIdsWithinTheWindowOnly() {
    DedupIndex index = new DedupIndex(100);
    UUID id = UUID.randomUUID();
    index.remember(id, 7, 1_000);
    assertEquals(7, index.find(id, 500, 1_400));
    assertEquals(0, index.find(id, 500, 1_500), "the window has passed");
    assertEquals(0, index.size());
  }

  @Test
  void forgetsTheOldestFirstWhenFull() {
    DedupIndex index = new DedupIndex(2);
    UUID a = UUID.randomUUID();
    UUID b = UUID.randomUUID();
    UUID c = UUID.randomUUID();
    index.remember(a, 1, 0);
    index.remember(b, 2, 0);
    index.remember(c, 3, 0);
    assertEquals(0, index.find(a, 10_000, 1));
    assertEquals(2, index.find(b, 10_000, 1));
    assertEquals(3, index.find(c, 10_000, 1));
  }

  @Test
  void anIdRememberedAgainKeepsItsNewerMappingWhenTheOlderEntryIsEvicted() {
    DedupIndex index = new DedupIndex(2);
    UUID a = UUID.randomUUID();
    index.remember(a, 1, 0);
    index.remember(a, 5, 0);
    index.remember(UUID.randomUUID(), 6, 0); // evicts the first entry of a
    assertEquals(5, index.find(a, 10_000, 1));
  }
}
