package dev.spool.queue;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.Message;
import dev.spool.Overflow;
import dev.spool.QueueSettings;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A drop-oldest persistent queue whose backlog is cold (in segment rows, 16 bytes each in the heap)
 * under memory pressure: evicting it would lose it and free almost nothing, so it is kept.
 */
class ColdEvictionTest {

  @Test
  void memoryPressureDoesNotWipeAColdBacklogThatCostsAlmostNoHeap() {
    QueueCoreFixture q = new QueueCoreFixture(QueueSettings.defaults().withOverflow(Overflow.DROP_OLDEST), 0, true);
    Tiering tiering = new Tiering(q.log, q.budget, 0, Long.MAX_VALUE, new Tiering.Outlet() {
      @Override public void store(long segment, List<Message> messages) {}
      @Override public void sealed(long sealedThrough) {}
    });
    q.retention.coolWith(tiering);
    for (int i = 0; i < 10 * 1024 + 100; i++) {
      q.publish(QueueCoreFixture.kib());
    }
    for (long segment = 0; segment < 10; segment++) {
      tiering.afterAppend();
      tiering.stored(segment); // maxHotBytes 0: each stored segment cools at once
    }
    assertTrue(q.log.cold(1));
    long held = q.log.heldBytes(); // ~160 KiB of cold markers + ~110 KiB of hot tail
    long retained = q.log.retainedMessages();

    q.budget.counted += 1024 * 1024; // another queue's 1 MiB of hot messages
    q.budget.threshold = 1024 * 1024; // engine threshold 1 MiB: excess over low water is ~0.5 MiB
    long evicted = q.retention.evictUnderPressure();

    assertTrue(evicted < retained / 2, "evicted " + evicted + " of " + retained + " messages ("
        + (retained - q.log.retainedMessages()) + ") to relieve pressure; the queue held only " + held + " bytes of heap");
  }

  @Test
  void aPublishAtTheThresholdIsRefusedRatherThanEvictTheStoredBacklog() {
    QueueCoreFixture q = new QueueCoreFixture(QueueSettings.defaults().withOverflow(Overflow.DROP_OLDEST), 0, false);
    Tiering tiering = new Tiering(q.log, q.budget, 0, Long.MAX_VALUE, new Tiering.Outlet() {
      @Override public void store(long segment, List<Message> messages) {}
      @Override public void sealed(long sealedThrough) {}
    });
    q.retention.coolWith(tiering);
    for (int i = 0; i < 10 * 1024; i++) {
      q.publish(QueueCoreFixture.kib());
    }
    for (long segment = 0; segment < 10; segment++) {
      tiering.afterAppend();
      tiering.stored(segment);
    }
    long before = q.log.retainedMessages();
    q.budget.threshold = q.budget.counted + 512 * 1024; // the rest of the engine is at the threshold
    q.budget.counted += 512 * 1024;
    org.junit.jupiter.api.Assertions.assertThrows(dev.spool.SpoolException.QueueFull.class,
        () -> q.publish(QueueCoreFixture.kib()), "refused: only stored messages could be evicted, for 16 bytes each");
    org.junit.jupiter.api.Assertions.assertEquals(before, q.log.retainedMessages(), "no stored message evicted");
  }
}
