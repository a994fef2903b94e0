package dev.spool.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

class SegmentedLogPropertiesTest {

  @Property(tries = 300)
  void releaseLetsGoOfExactlyWhatIsBelowTheWatermark(
      @ForAll @IntRange(min = 0, max = 400) int appended,
      @ForAll @IntRange(min = 0, max = 450) int first,
      @ForAll @IntRange(min = 0, max = 450) int second,
      @ForAll @IntRange(min = 2, max = 5) int sizeShift) {
    int segmentSize = 1 << sizeShift;
    SegmentedLog log = SegmentedLogTest.filled(segmentSize, appended);
    long released = log.releaseBefore(first) + log.releaseBefore(second);
    // model: every appended sequence below the highest watermark, each once
    long below = Math.max(0, Math.min(Math.max(first, second) - 1L, appended));
    assertEquals(below, released);
    assertEquals(appended - below, log.retainedMessages());
    assertEquals(below + 1, log.firstSequence());
    assertEquals((appended - below) * SegmentedLogTest.at(1, 1).sizeBytes(), log.retainedBytes());
    long segmentsLeft = appended == 0 ? 0 : (appended - 1) / segmentSize - below / segmentSize + 1;
    assertEquals(segmentsLeft, log.segmentCount(), "only segments wholly released are freed");
    for (long s = 1; s <= appended; s++) {
      if (s <= below) {
        assertNull(log.get(s), "sequence " + s + " below the watermark is released");
      } else {
        assertNotNull(log.get(s), "sequence " + s + " at or past the watermark must stay");
      }
    }
  }
}
