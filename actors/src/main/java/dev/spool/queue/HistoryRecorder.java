package dev.spool.queue;

import dev.spool.ConsumerInfo;
import dev.spool.QueueHistory;
import dev.spool.QueueStats;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.ToLongFunction;

/**
 * A queue's history: a bounded ring of samples for the queue and one per consumer, each sample
 * the difference of the running totals since the one before. At most {@code retain / interval}
 * samples are kept per ring (720 for an hour at 5 s, about 70 KiB per queue and per consumer),
 * and a ring grows past its last minute only while the {@link Allowance} over every history
 * lasts: past it, the oldest sample makes way for the newest. A removed consumer's ring goes with
 * it, and {@link #close} gives every sample back.
 *
 * <p>Single-threaded: driven by the owning {@code QueueActor}, on its own thread.
 */
public final class HistoryRecorder {

  /** The samples all histories may hold together, shared by every queue's recorder. */
  public interface Allowance {
    /** Takes one more sample if the total allows it; false when it is spent. */
    boolean grow();

    /** Takes one more sample whatever the total: a ring always keeps its last minute. */
    void growAnyway();

    /** Gives {@code count} samples back. */
    void release(long count);

    /** No bound: for a recorder on its own. */
    Allowance UNBOUNDED = new Allowance() {
      @Override
      public boolean grow() {
        return true;
      }

      @Override
      public void growAnyway() {}

      @Override
      public void release(long count) {}
    };
  }

  private static final long MINUTE_MS = 60_000;

  private final long intervalMs;
  private final long retainMs;
  private final int capacity;
  /** What a ring keeps whatever the allowance: its last minute. */
  private final int floor;
  private final Allowance allowance;
  private final ArrayDeque<QueueHistory.Sample> samples = new ArrayDeque<>();
  private final Map<String, ConsumerRing> consumers = new HashMap<>();
  /** When the last sample was taken (or the recorder started), epoch ms. */
  private long lastAt;
  /**
   * The queue's running totals at the last sample: zero before the first, as a queue's totals count
   * from when its actor started (a recovered queue's too), with the recorder.
   */
  private long[] lastTotals = new long[6];
  /** When the sample asked for was due (its tick), or -1 when none is under way. */
  private long sampling = -1;

  private static final class ConsumerRing {
    final ArrayDeque<QueueHistory.ConsumerSample> samples = new ArrayDeque<>();
    long delivered;
    long acked;
    long nacked;
    long deadLettered;
    long errors;
    long dropped;
    long expired;
    long at;

    ConsumerRing(long at) {
      this.at = at;
    }
  }

  /**
   * @param intervalMs time between samples, positive
   * @param retainMs how long samples are kept, at least one interval
   * @param now epoch ms: the first interval starts here
   */
  public HistoryRecorder(long intervalMs, long retainMs, long now) {
    this(intervalMs, retainMs, now, Allowance.UNBOUNDED);
  }

  /**
   * @param intervalMs time between samples, positive
   * @param retainMs how long samples are kept, at least one interval
   * @param now epoch ms: the first interval starts here
   * @param allowance what every history draws on together
   */
  public HistoryRecorder(long intervalMs, long retainMs, long now, Allowance allowance) {
    if (intervalMs <= 0 || retainMs < intervalMs) {
      throw new IllegalArgumentException("a history needs a positive interval within its retention");
    }
    this.intervalMs = intervalMs;
    this.retainMs = retainMs;
    this.capacity = (int) Math.min(Integer.MAX_VALUE, retainMs / intervalMs);
    this.floor = (int) Math.max(1, Math.min(capacity, MINUTE_MS / intervalMs));
    this.allowance = allowance;
    this.lastAt = now;
  }

  /**
   * Whether a sample is due at {@code now}, a tick; if so, it counts as begun until {@link #record} or
   * {@link #abandon}, and is taken as of {@code now}. A tick a little early (a tenth of the interval)
   * still counts: ticks jitter, and waiting for the next one would skip a whole tick's worth.
   */
  public boolean begin(long now) {
    if (sampling >= 0 || (now - lastAt) * 10 < intervalMs * 9L) {
      return false;
    }
    sampling = now;
    return true;
  }

  /** The consumers could not be asked: the next tick tries again. */
  public void abandon() {
    sampling = -1;
  }

  /**
   * Records a sample from the queue's figures and its consumers', as of the tick that began it (or
   * {@code now} if none did); consumers not among them are forgotten.
   */
  public void record(long now, QueueStats stats, List<ConsumerInfo> infos) {
    // As of the tick that began it, if one did: samples stay an interval apart.
    long at = sampling >= 0 ? sampling : now;
    sampling = -1;
    long elapsed = at - lastAt;
    if (elapsed <= 0) {
      return;
    }
    long[] totals = {stats.published(), stats.delivered(), stats.deadLettered(), stats.dropped(), stats.expired(),
        stats.refused()};
    long[] d = new long[totals.length];
    for (int i = 0; i < totals.length; i++) {
      d[i] = Math.max(0, totals[i] - lastTotals[i]);
    }
    int inFlight = 0;
    for (ConsumerInfo c : infos) {
      inFlight += c.inFlight();
    }
    add(samples, new QueueHistory.Sample(at, stats.depth(), stats.bytes(), inFlight, perSecond(d[0], elapsed),
        perSecond(d[1], elapsed), d[2], d[3], d[4], d[5]));
    Set<String> present = new HashSet<>();
    for (ConsumerInfo c : infos) {
      present.add(c.name());
      recordConsumer(at, c);
    }
    lastTotals = totals;
    lastAt = at;
    consumers.entrySet().removeIf(e -> {
      boolean gone = !present.contains(e.getKey());
      if (gone) {
        allowance.release(e.getValue().samples.size());
      }
      return gone;
    });
  }

  /** Gives every sample back: the queue stopped. */
  public void close() {
    allowance.release(samples.size());
    consumers.values().forEach(ring -> allowance.release(ring.samples.size()));
    samples.clear();
    consumers.clear();
  }

  private void recordConsumer(long now, ConsumerInfo c) {
    ConsumerInfo.Counters n = c.counters();
    // A consumer's counters start at zero when its actor does: one first seen here counts from the
    // last sample, as if it had been there with nothing done.
    ConsumerRing ring = consumers.computeIfAbsent(c.name(), k -> new ConsumerRing(lastAt));
    long elapsed = Math.max(1, now - ring.at);
    QueueHistory.ConsumerSample sample = new QueueHistory.ConsumerSample(now, c.lag(), c.lagAgeMs(), c.inFlight(),
        perSecond(n.delivered() - ring.delivered, elapsed), perSecond(n.acked() - ring.acked, elapsed),
        Math.max(0, n.nacked() - ring.nacked), Math.max(0, n.deadLettered() - ring.deadLettered),
        Math.max(0, n.errors() - ring.errors), Math.max(0, n.dropped() - ring.dropped),
        Math.max(0, n.expired() - ring.expired));
    add(ring.samples, sample);
    ring.delivered = n.delivered();
    ring.acked = n.acked();
    ring.nacked = n.nacked();
    ring.deadLettered = n.deadLettered();
    ring.errors = n.errors();
    ring.dropped = n.dropped();
    ring.expired = n.expired();
    ring.at = now;
  }

  private <T> void add(ArrayDeque<T> ring, T sample) {
    if (ring.size() < floor) {
      allowance.growAnyway();
    } else if (ring.size() >= capacity || !allowance.grow()) {
      ring.removeFirst();
    }
    ring.addLast(sample);
  }

  private static double perSecond(long count, long elapsedMs) {
    return Math.max(0, count) * 1000.0 / elapsedMs;
  }

  /** The history of {@code queue}, samples after {@code after} (epoch ms) only. */
  public QueueHistory history(String queue, long after) {
    List<QueueHistory.ConsumerHistory> perConsumer = new ArrayList<>();
    for (var e : new TreeMap<>(consumers).entrySet()) {
      perConsumer.add(new QueueHistory.ConsumerHistory(e.getKey(), after(e.getValue().samples, after, QueueHistory.ConsumerSample::at)));
    }
    return new QueueHistory(queue, intervalMs, retainMs, after(samples, after, QueueHistory.Sample::at), perConsumer);
  }

  private static <T> List<T> after(ArrayDeque<T> ring, long after, ToLongFunction<T> at) {
    List<T> out = new ArrayList<>(ring.size());
    for (T s : ring) {
      if (at.applyAsLong(s) > after) {
        out.add(s);
      }
    }
    return out;
  }

  /** Samples kept per ring at most. */
  public int capacity() {
    return capacity;
  }
}
