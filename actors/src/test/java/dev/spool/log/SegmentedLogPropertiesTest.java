package dev.spool.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

class SegmentedLogPropertiesTest {

  @Property(tries = 300)
  void truncationNeverFreesWhatTheWatermarkStillNeeds(
      @ForAll @IntRange(min = 0, max = 400) int appended,
      @ForAll @IntRange(min = 0, max = 450) int watermark,
      @ForAll @IntRange(min = 2, max = 5) int sizeShift) {
    int segmentSize = 1 << sizeShift;
    SegmentedLog log = SegmentedLogTest.filled(segmentSize, appended);
    long freed = log.truncateBefore(watermark);
    // model: whole segments entirely below the watermark, never past what was appended
    long limit = Math.min(watermark, appended + 1L);
    long expectedFreed = Math.min(appended, ((limit - 1) / segmentSize) * segmentSize);
    if (limit - 1 == appended && appended % segmentSize == 0) {
      expectedFreed = appended;
    }
    assertEquals(expectedFreed, freed);
    assertEquals(appended - freed, log.retainedMessages());
    for (long s = Math.max(1, watermark); s <= appended; s++) {
      assertNotNull(log.get(s), "sequence " + s + " at or past the watermark must stay");
    }
  }
}
