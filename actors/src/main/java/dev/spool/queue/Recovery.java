package dev.spool.queue;

import dev.spool.Message;
import dev.spool.durable.ConsumerPosition;
import dev.spool.durable.QueueEvent;
import dev.spool.durable.QueueJournal;
import dev.spool.log.DedupIndex;
import dev.spool.log.ExpiryIndex;
import dev.spool.log.SegmentedLog;
import dev.spool.storage.SegmentIndex;
import dev.spool.storage.SegmentRow;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Builds a durable queue's core from what its journal recovered (its snapshot and the events
 * after it), before any command runs: the log with its gaps, the remembered producer ids, the
 * expiry index, where the appender and group commit go on, and the consumers to start again.
 * The recovered messages were confirmed to their producers, so none is dropped; but they are not
 * reserved past the memory threshold either: a queue that does not fit is refused whole.
 *
 * <p>Single-threaded: driven by the owning {@code QueueActor}, once, on its own thread.
 */
public final class Recovery {

  /**
   * A queue's recovered messages do not fit under the memory threshold beside what the other
   * queues retain: it is not started, rather than run the heap out. Nothing of it was restored.
   */
  public static final class Refused extends RuntimeException {
    private final long recoveredBytes;
    private final long usedBytes;
    private final long thresholdBytes;

    Refused(String queue, int messages, long recoveredBytes, long usedBytes, long thresholdBytes) {
      super("queue " + queue + " not recovered: its " + messages + " messages (" + recoveredBytes
          + " bytes) do not fit under the memory threshold of " + thresholdBytes + " bytes beside the " + usedBytes
          + " bytes other queues hold; it refuses every command until Spool restarts with a larger heap or "
          + "spool.memory.threshold (its journal is kept)", null, false, false);
      this.recoveredBytes = recoveredBytes;
      this.usedBytes = usedBytes;
      this.thresholdBytes = thresholdBytes;
    }

    public long recoveredBytes() {
      return recoveredBytes;
    }

    public long usedBytes() {
      return usedBytes;
    }

    public long thresholdBytes() {
      return thresholdBytes;
    }
  }

  /**
   * What was restored.
   *
   * @param messages how many messages the log retains
   * @param bytes their size
   * @param lastSequence the highest sequence anything recovered refers to; new messages follow it
   * @param storedLastSequence the newest message the journal stored: below {@code lastSequence}
   *     only when the journal lost messages (a damaged file recovered by copying what was readable)
   * @param consumers the consumers to start again, in creation order
   * @param positions their last journaled positions, by name (none for one that never moved)
   * @param coldMessages how many of {@code messages} are in stored segments, not in the heap
   */
  public record Restored(long messages, long bytes, long lastSequence, long storedLastSequence,
      List<QueueEvent.ConsumerRecord> consumers, Map<String, ConsumerPosition> positions, long coldMessages) {

    /** Whether the journal lost the messages after {@code storedLastSequence}, up to {@code lastSequence}. */
    public boolean lostMessages() {
      return lastSequence > storedLastSequence;
    }
  }

  private final String queue;
  private final SegmentedLog log;
  private final DedupIndex dedup;
  private final ExpiryIndex expiries;
  private final MemoryBudget memory;

  public Recovery(String queue, SegmentedLog log, DedupIndex dedup, ExpiryIndex expiries, MemoryBudget memory) {
    this.queue = queue;
    this.log = log;
    this.dedup = dedup;
    this.expiries = expiries;
    this.memory = memory;
  }

  /**
   * Fills the empty core from {@code recovered}; {@code appender} and {@code groupCommit} go on
   * after the last message and the last write.
   *
   * @throws Refused if its messages do not fit under the memory threshold; nothing is restored then
   */
  public Restored restore(QueueJournal.Recovered recovered, List<SegmentRow> rows, Appender appender,
      GroupCommit<?, ?> groupCommit) {
    List<Message> messages = recovered.messages();
    long bytes = 0;
    for (Message m : messages) {
      bytes += m.sizeBytes();
    }
    Cold cold = new Cold(recovered, rows, log.segmentSize());
    long coldCount = cold.count();
    long held = bytes + coldCount * SegmentedLog.COLD_BYTES;
    if (!memory.tryReserveRecovered(held)) {
      throw new Refused(queue, (int) Math.min(Integer.MAX_VALUE, messages.size() + coldCount), held, memory.bytes(),
          memory.threshold());
    }
    long coldBytes = cold.restore(log, expiries);
    // Ids of messages freed before the restart too: a producer retrying after a crash is still deduplicated.
    recovered.dedup().forEach(d -> dedup.remember(d.id(), d.sequence(), d.appendedAt()));
    for (Message m : messages) {
      if (m.expiresAtMillis() != 0) {
        expiries.add(m.expiresAtMillis(), m.sequence());
      }
    }
    long lastSequence = recovered.highestSequenceReferenced();
    log.restore(messages, lastSequence);
    if (!messages.isEmpty()) {
      appender.restored(messages.get(messages.size() - 1));
    } else if (coldCount > 0) {
      appender.restoredAt(cold.lastTimestamp);
    }
    long firstRetained = coldCount > 0 ? cold.firstSequence : messages.isEmpty() ? 0 : messages.get(0).sequence();
    groupCommit.restore(recovered.lastWriteId(), firstRetained, recovered.epoch());
    return new Restored(messages.size() + coldCount, bytes + coldBytes, lastSequence, recovered.lastSequence(),
        recovered.consumers(), recovered.positions(), coldCount);
  }

  /**
   * The cold part of a recovered queue: the messages of its stored segment rows up to what the
   * journal says is sealed, from its freed point on, less those removed since they were stored.
   * Rows past the sealed point hold messages the journal still has (a store whose outcome the
   * journal did not record before a crash); rows below the freed point are garbage not yet deleted.
   * Read from the rows' indexes only, never their data.
   */
  private static final class Cold {
    private final List<SegmentIndex.Entries> segments = new ArrayList<>();
    private final long freedBelow;
    private final long[] removed;
    long firstSequence;
    long lastTimestamp;

    Cold(QueueJournal.Recovered recovered, List<SegmentRow> rows, int segmentSize) {
      this.freedBelow = recovered.freedBelow();
      this.removed = recovered.removedSealed().clone();
      Arrays.sort(removed);
      long sealedSegments = recovered.sealedThrough() / segmentSize; // segments wholly sealed
      for (SegmentRow row : rows) {
        if (row.segment() < sealedSegments && (row.segment() + 1) * segmentSize >= freedBelow) {
          segments.add(SegmentIndex.decode(row.segment(), segmentSize, row.index()));
        }
      }
    }

    private boolean kept(long sequence) {
      return sequence >= freedBelow && Arrays.binarySearch(removed, sequence) < 0;
    }

    long count() {
      long n = 0;
      for (SegmentIndex.Entries e : segments) {
        for (long s : e.sequences()) {
          if (kept(s)) {
            n++;
          }
        }
      }
      return n;
    }

    /** Restores the cold messages into {@code log}, their own expiries into {@code expiries}; returns their bytes. */
    long restore(SegmentedLog log, ExpiryIndex expiries) {
      long bytes = 0;
      for (SegmentIndex.Entries e : segments) {
        for (int i = 0; i < e.count(); i++) {
          long sequence = e.sequences()[i];
          if (!kept(sequence)) {
            continue;
          }
          if (firstSequence == 0) {
            firstSequence = sequence;
          }
          log.restoreCold(sequence, e.sizes()[i], e.timestamps()[i]);
          if (e.expiries()[i] != 0) {
            expiries.add(e.expiries()[i], sequence);
          }
          bytes += e.sizes()[i];
          lastTimestamp = e.timestamps()[i];
        }
      }
      return bytes;
    }
  }
}
