package dev.spool.queue;

import dev.spool.ConsumerSettings;
import dev.spool.Message;
import dev.spool.durable.ConsumerPosition;
import dev.spool.durable.QueueEvent;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;

/**
 * A durable queue's group commit: what its journaled requests change gathers into one
 * {@link Batch} while earlier batches are being written, and becomes one {@link QueueEvent} as soon
 * as fewer than {@code writes-in-flight} writes are under way. The journal is not one event per
 * command as in Pekko's samples on purpose: one write per round trip carries every publish,
 * position and removal that arrived meanwhile, which is what makes a durable queue's throughput;
 * a second write under way keeps the database busy during the first one's round trip.
 *
 * <p>Writes under way complete in the order they were handed out: each names the write it follows
 * and the last write stored when it was handed out, and one handed out while the write it follows
 * was under way does not count at recovery if that write is not there (see {@link QueueEvent#confirmed}).
 * So when a write is not stored, neither is any later one under way, and the journal's recovery
 * settles them all at once: those up to its last stored write are stored, the rest are not.
 *
 * <p>It computes and keeps; it sends nothing. The owner tells the journal what {@link #next()}
 * returns, hands back what the journal answered ({@link #written}, {@link #recovered}), and
 * answers the requests of the batch it gets back; a batch not stored is {@linkplain #failed
 * carried over} here and what it refuses is returned to answer. It keeps the requests' reply
 * addresses as data and never uses them; the two that name the engine's actor types are opaque
 * ({@code C}, {@code P}), so that it depends on no actor and is tested with plain values.
 *
 * <p>Single writer: only the owning queue's write path ({@code DurableWrites}) calls it, on the queue
 * actor's thread.
 *
 * @param <C> where a consumer creation is answered
 * @param <P> the consumer that handed in a position
 */
public final class GroupCommit<C, P> {

  /** A publish waiting for its write. */
  public record PendingPublish(Appender.Prepared prepared, ActorRef<StatusReply<List<Long>>> replyTo) {}

  /** A position to journal: which consumer handed it in, and its count of changes then. */
  public record GatheredPosition<P>(ConsumerPosition position, P from, long version) {}

  /** A consumer of a durable queue being created: it exists once the journal stored it. */
  public static final class PendingConsumer<C> {
    private final ConsumerSettings settings;
    private final long start;
    private final List<C> replies = new ArrayList<>(1);

    PendingConsumer(ConsumerSettings settings, long start) {
      this.settings = settings;
      this.start = start;
    }

    public ConsumerSettings settings() {
      return settings;
    }

    public long start() {
      return start;
    }

    /** Every request for it, answered alike once it is stored (or not). */
    public List<C> replies() {
      return replies;
    }
  }

  /**
   * One journal write: what a durable queue gathered while the previous write was under way. It
   * becomes one {@link QueueEvent}; its publishes are appended and answered once it is stored.
   */
  public static final class Batch<C, P> {
    private long id;
    private long follows;
    private long confirmed;
    private final List<Message> messages = new ArrayList<>();
    private final List<PendingPublish> publishes = new ArrayList<>();
    private final Map<String, PendingConsumer<C>> created = new LinkedHashMap<>();
    /** Deleted consumers, with the requests to answer (none for stale or inactive removals). */
    private final Map<String, List<ActorRef<StatusReply<Done>>>> deleted = new LinkedHashMap<>();
    private final Map<String, GatheredPosition<P>> positions = new HashMap<>();
    private final List<Long> removed = new ArrayList<>();
    private long freedBelow;
    private long sealedThrough;
    /** When it was handed to the journal ({@link System#nanoTime()}), for the write's latency. */
    private long startedNanos;

    public long id() {
      return id;
    }

    public long startedNanos() {
      return startedNanos;
    }

    /** The freed point this write carries, 0 if none. */
    public long freedBelow() {
      return freedBelow;
    }

    public List<PendingPublish> publishes() {
      return publishes;
    }

    public Map<String, PendingConsumer<C>> created() {
      return created;
    }

    public Map<String, List<ActorRef<StatusReply<Done>>>> deleted() {
      return deleted;
    }

    public Map<String, GatheredPosition<P>> positions() {
      return positions;
    }

    /** Whether there is anything to write. A freed point rides along with a release. */
    boolean hasWork() {
      return !publishes.isEmpty() || !created.isEmpty() || !deleted.isEmpty() || !positions.isEmpty()
          || !removed.isEmpty() || freedBelow > 0 || sealedThrough > 0;
    }

    QueueEvent event(String keyId) {
      List<QueueEvent.ConsumerRecord> records = new ArrayList<>(created.size());
      created.values().forEach(c -> records.add(new QueueEvent.ConsumerRecord(c.settings, c.start)));
      Map<String, ConsumerPosition> toWrite = new HashMap<>();
      positions.forEach((consumer, p) -> toWrite.put(consumer, p.position()));
      return new QueueEvent(id, List.copyOf(messages), records, List.copyOf(deleted.keySet()), toWrite,
          removed.stream().mapToLong(Long::longValue).toArray(), freedBelow, sealedThrough, keyId, follows,
          confirmed);
    }
  }

  /**
   * A write to hand to the journal.
   *
   * @param epoch the journal recovery it was gathered after: a journal that recovered since drops it
   */
  public record Write(long id, QueueEvent event, long epoch) {}

  /**
   * What a batch not stored refuses: its publishes (and those gathered since, if it carried
   * messages, as their sequences follow the lost ones) and its consumer creations. Its deletions,
   * removals and freed point go into the next batch; its positions are asked for again.
   *
   * @param lostMessages whether messages were lost, so that sequences after them leave a gap
   */
  public record Refused<C, P>(List<PendingPublish> publishes, List<PendingConsumer<C>> created,
      Map<String, GatheredPosition<P>> positions, boolean lostMessages) {}

  /** The writes under way, oldest first (at most {@link #maxInFlight}), and what gathers for the next. */
  private final ArrayDeque<Batch<C, P>> writing = new ArrayDeque<>();
  private Batch<C, P> gathering;
  private final int maxInFlight;
  private long writeIds;
  /** The last write known stored: the one the next write follows when none is under way. */
  private long lastStored;
  /** The journal's recovery the writes handed out now belong to. */
  private long epoch;
  /** Whether the journal failed a write and has not recovered yet: no write is handed out meanwhile. */
  private boolean halted;
  /** The freed point the journal knows, or that the gathering write carries. */
  private long journaledFreedBelow;
  /** The queue's encryption key id, or null: its writes are journaled encrypted under it. */
  private String keyId;

  /** Writes of a queue that is not encrypted, one under way at a time. */
  public GroupCommit() {
    this(null, 1);
  }

  /**
   * @param keyId the queue's encryption key id; {@code null} for none
   * @param maxInFlight the most writes under way at once
   */
  public GroupCommit(String keyId, int maxInFlight) {
    if (maxInFlight < 1) {
      throw new IllegalArgumentException("maxInFlight must be at least 1");
    }
    this.keyId = keyId;
    this.maxInFlight = maxInFlight;
  }

  /** Writes from the next one on are encrypted under {@code keyId}: the queue's key was rotated. */
  public void useKey(String keyId) {
    this.keyId = keyId;
  }

  /**
   * Continues after what the journal recovered: its last write, the first sequence it holds, and
   * the recovery's epoch.
   */
  public void restore(long lastWriteId, long freedBelow, long epoch) {
    writeIds = lastWriteId;
    lastStored = lastWriteId;
    journaledFreedBelow = freedBelow;
    this.epoch = epoch;
  }

  private Batch<C, P> gathering() {
    if (gathering == null) {
      gathering = new Batch<>();
    }
    return gathering;
  }

  // ---- gathering

  /** A publish waits for the next write, with the messages of it that join the log. */
  public void publish(Appender.Prepared prepared, ActorRef<StatusReply<List<Long>>> replyTo) {
    Batch<C, P> w = gathering();
    w.publishes.add(new PendingPublish(prepared, replyTo));
    for (int i = prepared.dropped(); i < prepared.freshCount(); i++) {
      w.messages.add(prepared.fresh()[i]);
    }
  }

  /** The consumer being created in a write not stored yet, or null. */
  public PendingConsumer<C> pendingConsumer(String consumer) {
    PendingConsumer<C> c = gathering == null ? null : gathering.created.get(consumer);
    for (Iterator<Batch<C, P>> it = writing.descendingIterator(); c == null && it.hasNext(); ) {
      c = it.next().created.get(consumer);
    }
    return c;
  }

  /** A consumer to create once the next write is stored. */
  public void create(ConsumerSettings settings, long start, C replyTo) {
    PendingConsumer<C> c = new PendingConsumer<>(settings, start);
    c.replies.add(replyTo);
    gathering().created.put(settings.name(), c);
  }

  /** A consumer removed from memory: the next write deletes it, and drops a position it gathered. */
  public void delete(String consumer) {
    Batch<C, P> w = gathering();
    w.deleted.computeIfAbsent(consumer, c -> new ArrayList<>(1));
    w.positions.remove(consumer);
  }

  /**
   * A request for the deletion {@link #delete} gathered, answered once its write is stored; that
   * write may have started already if freeing what the consumer held started it.
   */
  public void awaitDeletion(String consumer, ActorRef<StatusReply<Done>> replyTo) {
    List<ActorRef<StatusReply<Done>>> replies = gathering == null ? null : gathering.deleted.get(consumer);
    for (Iterator<Batch<C, P>> it = writing.descendingIterator(); replies == null && it.hasNext(); ) {
      replies = it.next().deleted.get(consumer);
    }
    replies.add(replyTo);
  }

  /** A consumer's position for the next write, replacing one it handed in before. */
  public void position(String consumer, ConsumerPosition position, P from, long version) {
    gathering().positions.put(consumer, new GatheredPosition<>(position, from, version));
  }

  /** Stored messages removed (evicted or redriven): the next write removes them from the journal. */
  public void removed(List<Message> messages) {
    Batch<C, P> w = gathering();
    messages.forEach(m -> w.removed.add(m.sequence()));
  }

  /**
   * The log freed everything below {@code firstSequence}: the next write lets the journal free it
   * too (and a snapshot leave it out).
   *
   * @return whether that is news to the journal
   */
  public boolean freedBelow(long firstSequence) {
    if (firstSequence <= journaledFreedBelow) {
      return false;
    }
    gathering().freedBelow = firstSequence;
    return true;
  }

  /**
   * Every retained message up to {@code sealedThrough} is in a stored segment row: the next write
   * lets the journal forget them (and snapshots leave them out).
   */
  public void sealed(long sealedThrough) {
    Batch<C, P> w = gathering();
    w.sealedThrough = Math.max(w.sealedThrough, sealedThrough);
  }

  // ---- writing

  /**
   * The next write to hand to the journal, if fewer than the most are under way, the journal has not
   * failed one since it last recovered, and something gathered; else null.
   */
  public Write next() {
    if (halted || writing.size() >= maxInFlight || gathering == null || !gathering.hasWork()) {
      return null;
    }
    Batch<C, P> w = gathering;
    gathering = null;
    w.id = ++writeIds;
    w.follows = writing.isEmpty() ? lastStored : writing.peekLast().id;
    w.confirmed = lastStored;
    w.startedNanos = System.nanoTime();
    writing.addLast(w);
    return new Write(w.id, w.event(keyId), epoch);
  }

  /** Whether write {@code writeId} is under way. */
  public boolean isWriting(long writeId) {
    for (Batch<C, P> w : writing) {
      if (w.id == writeId) {
        return true;
      }
    }
    return false;
  }

  /** How many writes are under way. */
  public int inFlight() {
    return writing.size();
  }

  /** Whether nothing is being written nor waits to be. */
  public boolean idle() {
    return writing.isEmpty() && (gathering == null || !gathering.hasWork());
  }

  /**
   * The journal failed a write: no write is handed out until it recovered and told which of those
   * under way it stored ({@link #recovered}).
   */
  public void halt() {
    halted = true;
  }

  /**
   * The journal stored write {@code writeId}, which must be the oldest under way: the journal
   * answers in order.
   *
   * @return its batch, for the owner to complete and then hand to {@link #stored}; null if it was
   *     not the oldest write under way
   */
  public Batch<C, P> written(long writeId) {
    Batch<C, P> oldest = writing.peekFirst();
    if (oldest == null || oldest.id != writeId) {
      return null;
    }
    lastStored = writeId;
    return writing.pollFirst();
  }

  /**
   * The journal restarted and read itself back up to {@code lastWriteId}, in recovery
   * {@code epoch}: each write that was under way was stored if its id is at most
   * {@code lastWriteId}, and not otherwise (writes follow one another, see {@link QueueEvent#follows}).
   *
   * @return the writes that were under way, oldest first
   */
  public List<Batch<C, P>> recovered(long lastWriteId, long epoch) {
    writeIds = Math.max(writeIds, lastWriteId);
    lastStored = lastWriteId;
    this.epoch = epoch;
    halted = false;
    List<Batch<C, P>> unsure = new ArrayList<>(writing);
    writing.clear();
    return unsure;
  }

  /**
   * What the queue still owes an answer when it stops (deleted, or the engine shutting down): the
   * publishes, consumer creations and deletions of the write under way and of the one gathering.
   * No journal answer will reach them any more; both batches are dropped.
   */
  public List<Batch<C, P>> abandon() {
    List<Batch<C, P>> owed = new ArrayList<>(writing);
    if (gathering != null) {
      owed.add(gathering);
    }
    writing.clear();
    gathering = null;
    return owed;
  }

  /** A completed batch's freed point is what the journal knows now. */
  public void stored(Batch<C, P> done) {
    journaledFreedBelow = Math.max(journaledFreedBelow, done.freedBelow);
  }

  /**
   * A write was not stored. Its deletions (already gone from memory), removals and freed point go
   * into the next batch, its deletions ahead of any creation under the same name there, as the
   * journal applies deletions first. Positions are not carried over: a consumer deleted and created
   * again since must not inherit one; the owner asks the consumers that handed them in again.
   *
   * @return what it refuses
   */
  public Refused<C, P> failed(Batch<C, P> w) {
    List<PendingPublish> refused = new ArrayList<>(w.publishes);
    boolean lostMessages = !w.messages.isEmpty();
    if (lostMessages && gathering != null) {
      refused.addAll(gathering.publishes);
      gathering.publishes.clear();
      gathering.messages.clear();
    }
    Batch<C, P> next = gathering();
    w.deleted.forEach((consumer, replies) -> next.deleted.computeIfAbsent(consumer, c -> new ArrayList<>(1))
        .addAll(replies));
    next.removed.addAll(0, w.removed);
    next.freedBelow = Math.max(next.freedBelow, w.freedBelow);
    next.sealedThrough = Math.max(next.sealedThrough, w.sealedThrough);
    return new Refused<>(refused, List.copyOf(w.created.values()), w.positions, lostMessages);
  }
}
