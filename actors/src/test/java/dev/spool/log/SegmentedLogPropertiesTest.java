package dev.spool.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.spool.Message;
import java.util.List;
import java.util.Random;
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

  /**
   * Whatever mix of appends, removals anywhere in the log and releases from its start (the ring
   * growing and wrapping meanwhile), the messages counted from any sequence on are exactly those
   * {@link SegmentedLog#get} still finds there.
   */
  @Property(tries = 200)
  void theMessagesRetainedFromAnySequenceOnAreCountedExactly(
      @ForAll long seed,
      @ForAll @IntRange(min = 1, max = 400) int steps,
      @ForAll @IntRange(min = 2, max = 5) int sizeShift) {
    Random random = new Random(seed);
    SegmentedLog log = new SegmentedLog(1 << sizeShift);
    long epoch = 0;
    for (int step = 0; step < steps; step++) {
      int op = random.nextInt(10);
      if (op < 6) {
        int batch = 1 + random.nextInt(20);
        Message[] messages = new Message[batch];
        for (int i = 0; i < batch; i++) {
          messages[i] = SegmentedLogTest.at(log.nextSequence() + i, step);
        }
        log.appendAll(messages, batch);
      } else if (op < 9) {
        log.remove(1 + random.nextInt((int) log.nextSequence()), ++epoch);
      } else {
        log.releaseBefore(log.firstSequence() + random.nextInt(40));
      }
      long from = random.nextInt((int) log.nextSequence() + 2);
      assertEquals(retainedByLookingAtEach(log, from), log.retainedFrom(from), "from " + from);
    }
    assertEquals(log.retainedMessages(), log.retainedFrom(1));
  }

  /** Restored with gaps (removed before a restart): the gaps, whole segments of them too, do not count. */
  @Property(tries = 100)
  void aRestoredLogWithGapsCountsOnlyWhatItHolds(
      @ForAll long seed,
      @ForAll @IntRange(min = 2, max = 4) int sizeShift) {
    Random random = new Random(seed);
    List<Message> kept = new java.util.ArrayList<>();
    long sequence = 0;
    for (int i = 0; i < 60; i++) {
      sequence += 1 + (random.nextInt(4) == 0 ? random.nextInt(40) : 0);
      kept.add(SegmentedLogTest.at(sequence, i));
    }
    SegmentedLog log = new SegmentedLog(1 << sizeShift);
    log.restore(kept, sequence + 3);
    for (long from = 0; from <= sequence + 4; from++) {
      assertEquals(retainedByLookingAtEach(log, from), log.retainedFrom(from), "from " + from);
    }
  }

  private static long retainedByLookingAtEach(SegmentedLog log, long from) {
    long n = 0;
    for (long s = Math.max(1, from); s <= log.lastSequence(); s++) {
      if (log.get(s) != null) {
        n++;
      }
    }
    return n;
  }
}
