package dev.spool.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.Message;
import dev.spool.QueueSettings;
import dev.spool.SpoolException;
import dev.spool.log.SegmentedLog;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TieringTest {

  /** What the tiering asked the queue for. */
  private static final class Outlet implements Tiering.Outlet {
    final List<Long> stores = new ArrayList<>();
    final List<Integer> storedCounts = new ArrayList<>();
    final List<Long> sealed = new ArrayList<>();

    @Override
    public void store(long segment, List<Message> messages) {
      stores.add(segment);
      storedCounts.add(messages.size());
    }

    @Override
    public void sealed(long sealedThrough) {
      sealed.add(sealedThrough);
    }

    final List<Long> keptHot = new ArrayList<>();

    @Override
    public void keptHot(long segment, long bytes) {
      keptHot.add(segment);
    }
  }

  private final Outlet outlet = new Outlet();

  private static void publish(QueueCoreFixture q, int count) {
    for (int i = 0; i < count; i++) {
      q.publish(QueueCoreFixture.kib());
    }
  }

  private Tiering tiering(QueueCoreFixture q, long maxHotBytes) {
    Tiering t = new Tiering(q.log, q.budget, maxHotBytes, Long.MAX_VALUE, outlet);
    q.retention.coolWith(t);
    return t;
  }

  @Test
  void storesSealedSegmentsOldestFirstAFewAtOnceAndNeverTheTail() {
    QueueCoreFixture q = QueueCoreFixture.transientQueue(QueueSettings.defaults());
    Tiering t = tiering(q, Long.MAX_VALUE);
    publish(q, 2500);
    t.afterAppend();
    assertEquals(List.of(0L, 1L), outlet.stores, "both sealed segments, not the tail");
    assertEquals(List.of(1024, 1024), outlet.storedCounts);
    t.afterAppend();
    assertEquals(List.of(0L, 1L), outlet.stores, "each once");

    t.stored(1);
    assertTrue(outlet.sealed.isEmpty(), "segment 0 is not stored yet: nothing is sealed past it");
    t.stored(0);
    assertEquals(List.of(2048L), outlet.sealed, "the journal hears that everything up to 2048 is stored");
    assertTrue(q.log.get(1) != null, "stored segments stay hot until memory is needed");
  }

  @Test
  void noMoreThanAFewSegmentsAreStoredAtOnce() {
    QueueCoreFixture q = QueueCoreFixture.transientQueue(QueueSettings.defaults());
    Tiering t = tiering(q, Long.MAX_VALUE);
    publish(q, 20 * 1024);
    t.afterAppend();
    assertEquals(Tiering.MAX_IN_FLIGHT, outlet.stores.size());
    t.stored(0);
    assertEquals(Tiering.MAX_IN_FLIGHT + 1, outlet.stores.size());
  }

  @Test
  void aStoredSegmentLeavesTheHeapOnceTheQueueHoldsMoreThanItsHotShare() {
    QueueCoreFixture q = QueueCoreFixture.transientQueue(QueueSettings.defaults());
    publish(q, 3000);
    long size = q.log.get(1).sizeBytes();
    Tiering t = tiering(q, 2000 * size);
    t.afterAppend();
    long budgetBefore = q.budget.bytes();
    t.stored(0);
    assertTrue(q.log.cold(1), "3000 messages held, 2000 allowed: the oldest stored segment cools");
    assertEquals(budgetBefore - 1024 * (size - SegmentedLog.COLD_BYTES), q.budget.bytes());
    assertEquals(1, t.cooledSegments());
    t.stored(1);
    assertFalse(q.log.cold(1025), "back under the hot share: segment 1 stays hot");
    assertEquals(q.log.heldBytes(), q.budget.bytes(), "the budget holds what the log holds");
  }

  @Test
  void aStoredSegmentTooLargeToBeReadBackStaysInTheHeap() {
    QueueCoreFixture q = QueueCoreFixture.transientQueue(QueueSettings.defaults());
    publish(q, 3000);
    long size = q.log.get(1).sizeBytes();
    // segments of 1,024 messages of 1 KiB, of which no more than 512 messages' worth may be read back at once
    Tiering t = new Tiering(q.log, q.budget, 0, 512 * size, outlet);
    q.retention.coolWith(t);
    t.afterAppend();
    t.stored(0);
    t.stored(1);
    assertFalse(q.log.cold(1), "stored, but it could not be read back: it stays hot");
    assertFalse(q.log.cold(1025));
    assertEquals(0, t.cooledSegments());
    assertEquals(List.of(0L, 1L), outlet.keptHot);
    assertEquals(List.of(1024L, 2048L), outlet.sealed, "stored all the same: the journal lets go of them");
  }

  @Test
  void aPublishThatWouldPassTheThresholdCoolsStoredSegmentsInsteadOfBeingRefused() {
    long size = QueueCoreFixture.kib().appended(1, 1, "producer-1").sizeBytes();
    QueueCoreFixture q = new QueueCoreFixture(QueueSettings.defaults(), 2100 * size, false);
    Tiering t = tiering(q, Long.MAX_VALUE);
    publish(q, 1500);
    t.afterAppend();
    t.stored(0);
    assertFalse(q.log.cold(1), "under the low-water mark: stored segments stay hot");

    publish(q, 700); // past the threshold unless stored segments leave the heap

    assertTrue(q.log.cold(1));
    assertEquals(2200, q.log.retainedMessages(), "nothing refused, nothing evicted");
    assertTrue(q.budget.bytes() <= q.budget.threshold());
  }

  @Test
  void withNothingStoredAPublishPastTheThresholdIsStillRefused() {
    long size = QueueCoreFixture.kib().appended(1, 1, "producer-1").sizeBytes();
    QueueCoreFixture q = new QueueCoreFixture(QueueSettings.defaults(), 1100 * size, false);
    Tiering t = tiering(q, Long.MAX_VALUE);
    publish(q, 1050);
    t.afterAppend(); // segment 0 is being stored, not stored yet
    Message[] batch = new Message[100];
    java.util.Arrays.fill(batch, QueueCoreFixture.kib());
    assertThrows(SpoolException.QueueFull.class, () -> q.publish(batch));
    assertEquals(1050, q.log.retainedMessages());
  }

  @Test
  void aFailedStoreKeepsTheSegmentHotAndIsTriedAgain() {
    QueueCoreFixture q = QueueCoreFixture.transientQueue(QueueSettings.defaults());
    Tiering t = tiering(q, 0);
    publish(q, 1100);
    t.afterAppend();
    t.storeFailed(0);
    assertFalse(t.storing());
    assertNotNull(q.log.get(1));
    assertTrue(outlet.sealed.isEmpty());
    publish(q, 1100);
    t.afterAppend();
    assertEquals(List.of(0L), outlet.stores, "nothing new is stored before the failed one, after the backoff");
    t.retry();
    assertEquals(List.of(0L, 0L, 1L), outlet.stores);
    t.stored(0);
    assertTrue(q.log.cold(1), "a hot share of 0 cools every stored segment");
  }

  @Test
  void aSegmentReleasedWholeBeforeItIsStoredIsStoredEmptySoThatNoOlderRowOfItComesBack() {
    QueueCoreFixture q = QueueCoreFixture.transientQueue(QueueSettings.defaults());
    Tiering t = tiering(q, Long.MAX_VALUE);
    publish(q, 2100);
    q.log.releaseBefore(1025);
    t.afterAppend();
    assertEquals(List.of(0L, 1L), outlet.stores);
    assertEquals(List.of(0, 1024), outlet.storedCounts, "segment 0 is stored empty");
    t.stored(0);
    assertEquals(List.of(1024L), outlet.sealed);
  }

  @Test
  void afterRecoveryItGoesOnFromWhatTheJournalSaysIsStored() {
    QueueCoreFixture q = QueueCoreFixture.transientQueue(QueueSettings.defaults());
    Tiering t = tiering(q, Long.MAX_VALUE);
    publish(q, 3100);
    t.restored(2048);
    assertEquals(List.of(2L), outlet.stores, "segment 2 is sealed, 3 is the tail");
  }

  @Test
  void aQueueWhoseConsumersKeepUpDoesNotKeepTrackOfSegmentsFreedLongAgo() {
    QueueCoreFixture q = QueueCoreFixture.transientQueue(QueueSettings.defaults());
    Tiering t = tiering(q, Long.MAX_VALUE);
    for (int segment = 0; segment < 200; segment++) {
      publish(q, 1024);
      t.afterAppend();
      t.stored(segment);
      q.log.releaseBefore(q.log.nextSequence()); // everything acknowledged and freed
    }
    t.afterAppend();
    assertTrue(t.hotStoredSegments() < 2, "stored segments freed since are still listed: " + t.hotStoredSegments());
  }
}
