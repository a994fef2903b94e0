package dev.spool.queue;

import com.typesafe.config.ConfigFactory;
import dev.spool.BreakerState;
import dev.spool.ConsumerInfo;
import dev.spool.ConsumerSettings;
import dev.spool.DeliveryState;
import dev.spool.Message;
import dev.spool.QueueSettings;
import dev.spool.SpoolSettings;
import dev.spool.log.DedupIndex;
import dev.spool.log.ExpiryIndex;
import dev.spool.log.SegmentedLog;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;

/**
 * One queue's core without its actor: a log, its indexes, a {@link Retention} whose removal steps
 * and freed points are recorded, an {@link Appender}, a memory budget and a clock the test moves.
 */
final class QueueCoreFixture {

  /** A memory budget with {@code MemoryMonitor}'s accounting: retained and held bytes against one threshold. */
  static final class Budget implements MemoryBudget {
    long threshold;
    long counted;
    long held;

    Budget(long threshold) {
      this.threshold = threshold;
    }

    @Override
    public boolean tryReserve(long size, long held) {
      if (threshold > 0 && counted + size + held > threshold) {
        return false;
      }
      counted += size + held;
      this.held += held;
      return true;
    }

    @Override
    public boolean tryReserveRecovered(long size) {
      if (threshold > 0 && counted - held + size > threshold) {
        return false;
      }
      counted += size;
      return true;
    }

    @Override
    public void release(long size) {
      counted -= size;
    }

    @Override
    public void releaseHeld(long size) {
      counted -= size;
      held -= size;
    }

    @Override
    public long threshold() {
      return threshold;
    }

    @Override
    public long bytes() {
      return counted;
    }

    @Override
    public long excessOverLowWater() {
      return threshold == 0 ? 0 : Math.max(0, counted - held - (long) (threshold * 0.8));
    }
  }

  /** A wall clock that moves only when the test moves it. */
  static final class TestClock extends Clock {
    long millis = 1_700_000_000_000L;

    void advance(Duration by) {
      millis += by.toMillis();
    }

    @Override
    public long millis() {
      return millis;
    }

    @Override
    public Instant instant() {
      return Instant.ofEpochMilli(millis);
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      throw new UnsupportedOperationException("one zone");
    }
  }

  static final byte[] KIB = payload(1024);

  final TestClock clock = new TestClock();
  final SpoolSettings settings = SpoolSettings.create(ConfigFactory.load()).withClock(clock);
  final SegmentedLog log = new SegmentedLog(settings.segmentSize());
  final DedupIndex dedup = new DedupIndex(settings.dedupMaxEntries());
  final ExpiryIndex expiries = new ExpiryIndex();
  final Budget budget;
  final List<Retention.Removal> removals = new ArrayList<>();
  final List<Long> freed = new ArrayList<>();
  final Retention retention;
  final Appender appender;

  QueueCoreFixture(QueueSettings queue, long threshold, boolean durable) {
    budget = new Budget(threshold);
    retention = new Retention(log, expiries, budget, queue, clock, removals::add, freed::add);
    appender = new Appender("orders", log, dedup, expiries, retention, budget, queue, settings, Message.newIdSeed(),
        durable);
  }

  static QueueCoreFixture transientQueue(QueueSettings queue) {
    return new QueueCoreFixture(queue, 0, false);
  }

  static byte[] payload(int size) {
    byte[] bytes = new byte[size];
    Arrays.fill(bytes, (byte) 'x');
    return bytes;
  }

  static Message kib() {
    return Message.of("order.placed", KIB);
  }

  static Message kib(UUID id) {
    return kib().withId(id);
  }

  /** Prepares and commits at once, as a transient queue does. */
  List<Long> publish(Message... messages) {
    Appender.Prepared prepared = appender.prepare("producer-1", List.of(messages));
    appender.commit(prepared);
    return prepared.sequences();
  }

  List<Long> retainedSequences() {
    List<Long> out = new ArrayList<>();
    for (long s = log.firstSequence(); s <= log.lastSequence(); s++) {
      if (log.get(s) != null) {
        out.add(s);
      }
    }
    return out;
  }

  /**
   * A consumer's description as the queue lists it: {@code subscribers} attached, idle since
   * {@code lastActivity}, {@code lag} behind.
   */
  static ConsumerInfo consumerInfo(String name, long lag, Instant lastActivity, int subscribers) {
    return new ConsumerInfo("orders", name, ConsumerSettings.named(name), 1, 0, lag, lag, 0, 0, 0,
        DeliveryState.NO_SUBSCRIBERS, false, lastActivity, subscribers, 0, 0, BreakerState.NONE,
        new ConsumerInfo.Counters(0, 0, 0, 0, 0, 0, 0, 0, 0));
  }

  static List<Long> sequences(Retention.Removal removal) {
    return removal.messages().stream().map(Message::sequence).toList();
  }
}
