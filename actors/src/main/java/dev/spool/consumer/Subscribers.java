package dev.spool.consumer;

import dev.spool.Delivery;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;

/**
 * Who takes a consumer's deliveries, besides handlers: pull reads parked until something arrives,
 * actor subscribers with the credit they hold, and streams with their demand. Each gets an owner id
 * from one numbering (shared with handlers), so deliveries held by one are never released as
 * another's.
 *
 * <p>Single-threaded: driven by the owning {@code ConsumerActor}.
 *
 * @param <E> what a stream subscriber receives
 */
public final class Subscribers<E> {

  /** Pull reads hold deliveries under this owner id. */
  public static final long PULL_OWNER = 0;

  /** An actor that receives deliveries, holding at most the prefetch unacknowledged. */
  public static final class ActorSubscriber {
    private final long owner;
    private final ActorRef<Delivery> ref;

    ActorSubscriber(long owner, ActorRef<Delivery> ref) {
      this.owner = owner;
      this.ref = ref;
    }

    public long owner() {
      return owner;
    }

    public ActorRef<Delivery> ref() {
      return ref;
    }
  }

  /** A stream, which takes one batch per demand signal. */
  public static final class StreamSubscriber<E> {
    private final long owner;
    private final long streamId;
    private final ActorRef<E> ref;
    private boolean demand = true; // the stream accepts its first element unasked

    StreamSubscriber(long owner, long streamId, ActorRef<E> ref) {
      this.owner = owner;
      this.streamId = streamId;
      this.ref = ref;
    }

    public long owner() {
      return owner;
    }

    /** The id the stream subscribed with, which its batches carry (one stream may read several consumers). */
    public long streamId() {
      return streamId;
    }

    public ActorRef<E> ref() {
      return ref;
    }

    public boolean demand() {
      return demand;
    }

    /** It was sent a batch: the next waits for its demand. */
    public void served() {
      demand = false;
    }
  }

  /** A pull read waiting for deliveries (long-poll). */
  public record ParkedRead(long id, int max, ActorRef<StatusReply<List<Delivery>>> replyTo) {}

  private final Map<ActorRef<Delivery>, ActorSubscriber> actors = new LinkedHashMap<>();
  private final Map<Long, StreamSubscriber<E>> streams = new LinkedHashMap<>();
  /**
   * The same subscribers in the order they take turns, and whose turn it is: freed credit goes to
   * the one after the last served, so that competing subscribers share a consumer's messages even
   * when credit comes back one acknowledgement at a time.
   */
  private final List<ActorSubscriber> actorTurns = new ArrayList<>();
  private final List<StreamSubscriber<E>> streamTurns = new ArrayList<>();
  private int actorTurn;
  private int streamTurn;
  private final ArrayDeque<ParkedRead> parked = new ArrayDeque<>();
  /** In {@code none} mode: which actor subscriber holds which delivered sequence, for credit. */
  private final Map<Long, ActorSubscriber> creditHeld = new HashMap<>();
  private long ownerIds;
  private long readIds;

  /** A fresh owner id, for a subscriber or a handler subscription. */
  public long newOwner() {
    return ++ownerIds;
  }

  /** Attaches {@code ref}; false when it already is. */
  public boolean subscribe(ActorRef<Delivery> ref) {
    if (actors.containsKey(ref)) {
      return false;
    }
    ActorSubscriber subscriber = new ActorSubscriber(newOwner(), ref);
    actors.put(ref, subscriber);
    actorTurns.add(subscriber);
    return true;
  }

  /** Detaches {@code ref}, forgetting the credit it held; its owner id, or -1 when it was not attached. */
  public long unsubscribe(ActorRef<Delivery> ref) {
    ActorSubscriber subscriber = actors.remove(ref);
    if (subscriber == null) {
      return -1;
    }
    creditHeld.values().removeIf(holder -> holder == subscriber);
    actorTurn = leaveTurns(actorTurns, subscriber, actorTurn);
    return subscriber.owner;
  }

  public Collection<ActorSubscriber> actors() {
    return actors.values();
  }

  public void addStream(long streamId, ActorRef<E> ref) {
    StreamSubscriber<E> stream = new StreamSubscriber<>(newOwner(), streamId, ref);
    streams.put(streamId, stream);
    streamTurns.add(stream);
  }

  /** Stream {@code streamId} wants another batch: false when there is no such stream. */
  public boolean demand(long streamId) {
    StreamSubscriber<E> stream = streams.get(streamId);
    if (stream == null) {
      return false;
    }
    stream.demand = true;
    return true;
  }

  /** Removes stream {@code streamId}; its owner id, or -1 when there was none. */
  public long closeStream(long streamId) {
    StreamSubscriber<E> stream = streams.remove(streamId);
    if (stream == null) {
      return -1;
    }
    streamTurn = leaveTurns(streamTurns, stream, streamTurn);
    return stream.owner;
  }

  /** Removes {@code gone} from {@code turns}; whose turn it is then, the same subscriber as before if it stays. */
  private static <T> int leaveTurns(List<T> turns, T gone, int turn) {
    int at = turns.indexOf(gone);
    turns.remove(at);
    int next = at < turn ? turn - 1 : turn;
    return next >= turns.size() ? 0 : next;
  }

  /** The stream subscribers in turn order: index 0 is the one whose turn it is; see {@link #streamServed}. */
  List<StreamSubscriber<E>> streamTurns() {
    return streamTurns;
  }

  /** Where the streams' turn order starts now. */
  int streamTurn() {
    return streamTurn;
  }

  /** Stream {@code index} (of {@link #streamTurns}) was served: the next one's turn comes first. */
  void streamServed(int index) {
    streamTurn = (index + 1) % streamTurns.size();
  }

  /** The actor subscribers in the order they take turns; see {@link #actorServed}. */
  List<ActorSubscriber> actorTurns() {
    return actorTurns;
  }

  /** Where the actor subscribers' turn order starts now. */
  int actorTurn() {
    return actorTurn;
  }

  /** Actor subscriber {@code index} (of {@link #actorTurns}) was served: the next one's turn comes first. */
  void actorServed(int index) {
    actorTurn = (index + 1) % actorTurns.size();
  }

  public Collection<StreamSubscriber<E>> streams() {
    return streams.values();
  }

  /** Whether {@code owner} is a stream's. */
  public boolean isStream(long owner) {
    for (StreamSubscriber<E> stream : streams.values()) {
      if (stream.owner == owner) {
        return true;
      }
    }
    return false;
  }

  /** Parks a read; its id, for the timer that ends its wait. */
  public ParkedRead park(int max, ActorRef<StatusReply<List<Delivery>>> replyTo) {
    ParkedRead read = new ParkedRead(++readIds, max, replyTo);
    parked.addLast(read);
    return read;
  }

  /** Takes out the parked read {@code id} whose wait ended, or null when it was answered already. */
  public ParkedRead unpark(long id) {
    for (Iterator<ParkedRead> it = parked.iterator(); it.hasNext(); ) {
      ParkedRead read = it.next();
      if (read.id() == id) {
        it.remove();
        return read;
      }
    }
    return null;
  }

  /** The read parked longest, or null. */
  public ParkedRead firstParked() {
    return parked.peekFirst();
  }

  public void removeFirstParked() {
    parked.pollFirst();
  }

  /** Takes out every parked read, oldest first. */
  public List<ParkedRead> unparkAll() {
    if (parked.isEmpty()) {
      return List.of();
    }
    List<ParkedRead> all = List.copyOf(parked);
    parked.clear();
    return all;
  }

  public int parkedReads() {
    return parked.size();
  }

  /** Whether a read must be answered now rather than park: {@code max} already are. */
  public boolean parkingFull(int max) {
    return parked.size() >= max;
  }

  /** In {@code none} mode: {@code subscriber} holds delivered {@code sequence} until it acks it. */
  public void holdCredit(long sequence, ActorSubscriber subscriber) {
    creditHeld.put(sequence, subscriber);
  }

  /** {@code sequence} was acknowledged or nacked: its holder may take another. */
  public void returnCredit(long sequence) {
    creditHeld.remove(sequence);
  }

  /** Every delivery at or below {@code sequence} was acknowledged. */
  public void returnCreditUpTo(long sequence) {
    creditHeld.keySet().removeIf(s -> s <= sequence);
  }

  /** A seek: what was held was dropped. */
  public void clearCredit() {
    creditHeld.clear();
  }

  /** Deliveries held for credit, in {@code none} mode. */
  public int creditHeld() {
    return creditHeld.size();
  }

  /** Actor subscribers and streams. */
  public int attached() {
    return actors.size() + streams.size();
  }

  /** Whether an actor subscriber, a stream or a parked read is there to take deliveries. */
  public boolean anyAttached() {
    return !actors.isEmpty() || !streams.isEmpty() || !parked.isEmpty();
  }
}
