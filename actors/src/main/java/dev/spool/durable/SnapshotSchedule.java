package dev.spool.durable;

/**
 * When a durable queue's journal snapshots: every {@code snapshot-every} writes, or once the bytes
 * journaled since the last snapshot reach {@code snapshot-after-bytes} or
 * {@value #RETAINED_MULTIPLE} times what the snapshot would hold, whichever is larger; but only when
 * the heap has room for what writing the snapshot costs; otherwise the snapshot is postponed, and
 * tried again after each write until it fits. Nothing is lost by waiting: events are deleted only
 * once a snapshot is stored, so recovery reads the older snapshot and every event since.
 *
 * <p>The byte rule bounds the journal's size: two snapshots are kept and the events from the older
 * one on, so it holds about two snapshots plus two intervals of events, at most about
 * {@code 2 × retained + 2 × max(snapshot-after-bytes, 2 × retained)}, whatever the write count. Waiting
 * for twice the retained bytes keeps a snapshot's cost (writing what is retained) to at most half
 * of what was journaled in between; the floor keeps a queue that retains little from snapshotting
 * after every few writes.
 *
 * <p>A snapshot's cost is its serialized size (about the retained bytes it holds) times the whole
 * copies the snapshot store makes of it while writing: the serializer's buffer, the array it
 * returns, the database driver's copy. A store that streams snapshots in chunks makes none.
 *
 * <p>Single writer: only the owning journal actor calls it, on its own thread.
 */
final class SnapshotSchedule {

  /** What to do after a write. */
  enum Decision {
    /** Fewer than {@code snapshot-every} writes and too few bytes since the last snapshot. */
    NOT_DUE,
    /** Snapshot now; its cost is held in the memory accounting until it is written. */
    TAKE,
    /** Due, but it does not fit: the first write it was postponed at (worth one warning). */
    POSTPONE,
    /** Still postponed. */
    STILL_POSTPONED
  }

  /** Journaled bytes between snapshots, as a multiple of the bytes a snapshot holds. */
  static final int RETAINED_MULTIPLE = 2;

  private final int every;
  private final long afterBytes;
  private final int copies;
  private final JournalMemory memory;
  /** Writes the snapshot has been postponed for; 0 when it is not. */
  private long postponedWrites;
  private long lastCost;

  /**
   * @param every writes between snapshots
   * @param afterBytes journaled bytes between snapshots at least (a snapshot is due after fewer writes
   *     once this many, or {@value #RETAINED_MULTIPLE} times what it would hold if more, are journaled)
   * @param copies whole serialized copies of a snapshot the store holds while writing it (0 if it streams)
   */
  SnapshotSchedule(int every, long afterBytes, int copies, JournalMemory memory) {
    this.every = every;
    this.afterBytes = afterBytes;
    this.copies = copies;
    this.memory = memory;
  }

  /**
   * After a write: whether to snapshot, given the writes and bytes journaled since the last
   * snapshot and the bytes the snapshot would serialize. On {@link Decision#TAKE} its cost is held
   * ({@link #lastCost()}).
   */
  Decision afterWrite(long writesSinceSnapshot, long bytesSinceSnapshot, long serializedBytes) {
    if (!due(writesSinceSnapshot, bytesSinceSnapshot, serializedBytes)) {
      return Decision.NOT_DUE;
    }
    long cost = cost(serializedBytes);
    if (memory.holdIfFits(cost)) {
      lastCost = cost;
      return Decision.TAKE;
    }
    return postponedWrites++ == 0 ? Decision.POSTPONE : Decision.STILL_POSTPONED;
  }

  private boolean due(long writesSinceSnapshot, long bytesSinceSnapshot, long serializedBytes) {
    if (writesSinceSnapshot >= every) {
      return true;
    }
    long multiple = serializedBytes > Long.MAX_VALUE / RETAINED_MULTIPLE
        ? Long.MAX_VALUE : serializedBytes * RETAINED_MULTIPLE;
    return bytesSinceSnapshot >= Math.max(afterBytes, multiple);
  }

  /** The cost held for the snapshot last decided on. */
  long lastCost() {
    return lastCost;
  }

  /** Writes the snapshot was postponed for before the one just taken; clears it. */
  long takenAfterPostponing() {
    long writes = postponedWrites;
    postponedWrites = 0;
    return writes;
  }

  /** What a snapshot of {@code serializedBytes} needs from the heap while it is written. */
  long cost(long serializedBytes) {
    return serializedBytes * copies;
  }
}
