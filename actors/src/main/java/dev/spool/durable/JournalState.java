package dev.spool.durable;

import dev.spool.Message;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * A queue journal's view of its queue. Mutable, and touched only by its {@link QueueJournal} actor:
 * its retained list holds references to the queue's immutable messages; a snapshot copies them
 * ({@link #snapshot(String)}).
 */
final class JournalState {
  long lastWriteId;
  long lastSequence;
  final ArrayDeque<Message> retained = new ArrayDeque<>();
  /** The accounted bytes of {@link #retained}: about what a snapshot of it serializes to. */
  long retainedBytes;
  /** Events applied since the snapshot this state started from (recovery replays them again). */
  long eventsSinceSnapshot;
  /** The accounted bytes of the messages in those events: about what they take in the journal. */
  long bytesSinceSnapshot;
  /** Removed sequences still in {@link #retained} (not at its head) or in stored segments. */
  final TreeSet<Long> removed = new TreeSet<>();
  /** Every retained message up to it is in a stored segment row, and not in {@link #retained}. */
  long sealedThrough;
  /** Every sequence below it is freed. */
  long freedBelow;
  final LinkedHashMap<String, QueueEvent.ConsumerRecord> consumers = new LinkedHashMap<>();
  final Map<String, ConsumerPosition> positions = new HashMap<>();
  /**
   * Producer-chosen ids by append time, kept past the messages' freeing so that a producer's
   * retry after a restart is still deduplicated; bounded like the queue's own dedup index.
   */
  final LinkedHashMap<java.util.UUID, QueueSnapshot.DedupEntry> dedup = new LinkedHashMap<>();
  private final long dedupWindowMillis;
  private final int dedupMaxEntries;
  private long newestAppendedAt = Long.MIN_VALUE;

  JournalState(long dedupWindowMillis, int dedupMaxEntries) {
    this.dedupWindowMillis = dedupWindowMillis;
    this.dedupMaxEntries = dedupMaxEntries;
  }

  /** An empty state with the same dedup bounds and key. */
  JournalState fresh() {
    return new JournalState(dedupWindowMillis, dedupMaxEntries);
  }

  /**
   * Applies a write read back from the journal, unless it was handed out while the write it follows
   * was under way and that write is not applied: it counts as not stored, as its queue was told.
   */
  void replay(QueueEvent e) {
    if (e.appliesAfter(lastWriteId)) {
      apply(e);
    } else {
      eventsSinceSnapshot++; // read again at every recovery until a snapshot leaves it behind
    }
  }

  void apply(QueueEvent e) {
    eventsSinceSnapshot++;
    lastWriteId = e.writeId();
    for (Message m : e.messages()) {
      retained.addLast(m);
      retainedBytes += m.sizeBytes();
      bytesSinceSnapshot += m.sizeBytes();
      lastSequence = Math.max(lastSequence, m.sequence());
      if (m.hasProducerId()) {
        dedup.put(m.id(), new QueueSnapshot.DedupEntry(m.id(), m.sequence(), m.timestamp()));
        newestAppendedAt = Math.max(newestAppendedAt, m.timestamp());
      }
    }
    pruneDedup();
    // Deletions first: a consumer deleted and created again within one write is the new one.
    for (String d : e.deleted()) {
      consumers.remove(d);
      positions.remove(d);
    }
    for (QueueEvent.ConsumerRecord c : e.created()) {
      consumers.put(c.settings().name(), c);
      positions.remove(c.settings().name());
    }
    for (Map.Entry<String, ConsumerPosition> p : e.positions().entrySet()) {
      if (consumers.containsKey(p.getKey())) {
        positions.put(p.getKey(), p.getValue());
      }
    }
    for (long r : e.removed()) {
      removed.add(r);
    }
    free(e.freedBelow());
    seal(e.sealedThrough());
  }

  /** Lets go of the messages up to {@code through}: they are in stored segment rows. */
  private void seal(long through) {
    if (through <= sealedThrough) {
      return;
    }
    sealedThrough = through;
    while (!retained.isEmpty() && retained.peekFirst().sequence() <= through) {
      retainedBytes -= retained.pollFirst().sizeBytes();
    }
  }

  /** Removed sequences up to {@link #sealedThrough}: in stored rows, to leave out at recovery. */
  long[] removedSealed() {
    return removed.headSet(sealedThrough, true).stream().mapToLong(Long::longValue).toArray();
  }

  private void free(long below) {
    freedBelow = Math.max(freedBelow, below);
    while (!retained.isEmpty()) {
      long head = retained.peekFirst().sequence();
      if (head < below || removed.remove(head)) {
        retainedBytes -= retained.pollFirst().sizeBytes();
      } else {
        break;
      }
    }
    if (below > 0) {
      removed.headSet(below).clear();
    }
  }

  private void pruneDedup() {
    if (dedup.isEmpty()) {
      return;
    }
    for (Iterator<QueueSnapshot.DedupEntry> it = dedup.values().iterator(); it.hasNext(); ) {
      QueueSnapshot.DedupEntry oldest = it.next();
      if (dedup.size() > dedupMaxEntries || oldest.appendedAt() < newestAppendedAt - dedupWindowMillis) {
        it.remove();
      } else {
        break;
      }
    }
  }

  List<Message> live() {
    List<Message> out = new ArrayList<>(retained.size());
    for (Iterator<Message> it = retained.iterator(); it.hasNext(); ) {
      Message m = it.next();
      if (!removed.contains(m.sequence())) {
        out.add(m);
      }
    }
    return out;
  }

  /** About the bytes a snapshot of this state serializes to. */
  long snapshotBytes() {
    return retainedBytes + (long) removed.size() * Long.BYTES
        + (long) dedup.size() * QueueSnapshot.DedupEntry.SERIALIZED_BYTES
        + (long) positions.size() * 1024; // a position with unsettled deliveries; consumers are few
  }

  /** @param keyId the key its messages are stored encrypted under, or {@code null} */
  QueueSnapshot snapshot(String keyId) {
    return new QueueSnapshot(lastWriteId, lastSequence, live(), List.copyOf(consumers.values()),
        Map.copyOf(positions), List.copyOf(dedup.values()), sealedThrough, freedBelow, removedSealed(), keyId);
  }

  JournalState of(QueueSnapshot s) {
    JournalState state = fresh();
    s.dedup().forEach(d -> {
      state.dedup.put(d.id(), d);
      state.newestAppendedAt = Math.max(state.newestAppendedAt, d.appendedAt());
    });
    state.lastWriteId = s.lastWriteId();
    state.lastSequence = s.lastSequence();
    state.retained.addAll(s.messages());
    for (Message m : s.messages()) {
      state.retainedBytes += m.sizeBytes();
    }
    for (QueueEvent.ConsumerRecord c : s.consumers()) {
      state.consumers.put(c.settings().name(), c);
    }
    state.positions.putAll(s.positions());
    state.sealedThrough = s.sealedThrough();
    state.freedBelow = s.freedBelow();
    for (long r : s.removed()) {
      state.removed.add(r);
    }
    return state;
  }
}
