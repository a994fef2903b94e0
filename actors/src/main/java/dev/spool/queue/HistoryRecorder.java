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
 * samples are kept per ring (720 for an hour at 5 s, about 70 KiB per queue and per consumer);
 * a removed consumer's ring goes with it.
 *
 * <p>Single-threaded: driven by the owning {@code QueueActor}, on its own thread.
 */
public final class HistoryRecorder {

  private final long intervalMs;
  private final long retainMs;
  private final int capacity;
  private final ArrayDeque<QueueHistory.Sample> samples = new ArrayDeque<>();
  private final Map<String, ConsumerRing> consumers = new HashMap<>();
  /** When the last sample was taken (or the recorder started), epoch ms. */
  private long lastAt;
  /**
   * The queue's running totals at the last sample: zero before the first, as a queue's totals count
   * from when its actor started (a recovered queue's too), with the recorder.
   */
  private long[] lastTotals = new long[6];
  /** A sample was asked for and not recorded yet: the next due check waits for it. */
  private boolean sampling;

  private static final class ConsumerRing {
    final ArrayDeque<QueueHistory.ConsumerSample> samples = new ArrayDeque<>();
    long delivered;
    long acked;
    long nacked;
    long deadLettered;
    long errors;
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
    if (intervalMs <= 0 || retainMs < intervalMs) {
      throw new IllegalArgumentException("a history needs a positive interval within its retention");
    }
    this.intervalMs = intervalMs;
    this.retainMs = retainMs;
    this.capacity = (int) Math.min(Integer.MAX_VALUE, retainMs / intervalMs);
    this.lastAt = now;
  }

  /** Whether a sample is due at {@code now}; if so, it counts as begun until {@link #record} or {@link #abandon}. */
  public boolean begin(long now) {
    if (sampling || now - lastAt < intervalMs) {
      return false;
    }
    sampling = true;
    return true;
  }

  /** The consumers could not be asked: the next tick tries again. */
  public void abandon() {
    sampling = false;
  }

  /**
   * Records a sample at {@code now} from the queue's figures and its consumers'; consumers not among
   * them are forgotten.
   */
  public void record(long now, QueueStats stats, List<ConsumerInfo> infos) {
    sampling = false;
    long elapsed = now - lastAt;
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
    add(samples, new QueueHistory.Sample(now, stats.depth(), stats.bytes(), inFlight, perSecond(d[0], elapsed),
        perSecond(d[1], elapsed), d[2], d[3], d[4], d[5]));
    Set<String> present = new HashSet<>();
    for (ConsumerInfo c : infos) {
      present.add(c.name());
      recordConsumer(now, c);
    }
    lastTotals = totals;
    lastAt = now;
    consumers.keySet().retainAll(present);
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
        Math.max(0, n.errors() - ring.errors));
    add(ring.samples, sample);
    ring.delivered = n.delivered();
    ring.acked = n.acked();
    ring.nacked = n.nacked();
    ring.deadLettered = n.deadLettered();
    ring.errors = n.errors();
    ring.at = now;
  }

  private <T> void add(ArrayDeque<T> ring, T sample) {
    if (ring.size() == capacity) {
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
