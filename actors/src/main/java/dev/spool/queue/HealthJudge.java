package dev.spool.queue;

import dev.spool.BreakerState;
import dev.spool.ConsumerInfo;
import dev.spool.DeliveryState;
import dev.spool.HealthStatus;
import dev.spool.LagTrend;
import dev.spool.MemoryStats;
import dev.spool.DiskStats;
import dev.spool.QueueHealth;
import dev.spool.QueueHistory;
import dev.spool.QueueInfo;
import dev.spool.QueueSettings;
import dev.spool.SpoolHealth;
import dev.spool.SpoolSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Judges how a queue and its consumers are doing, from their figures now and their history, and
 * says why in words: the first thing an operator reads during an incident. Pure: the same figures
 * always give the same judgement.
 *
 * <p>A consumer is, in this order: {@code paused} when an operator paused it (deliberate, so never
 * "stuck"); {@code breaker-open}; {@code stuck} when messages wait and it acknowledged nothing for
 * {@code stuckAfter} (its history must reach back that far, or its last activity must be that old);
 * {@code dead-lettering} when it dead-lettered messages in the recent window; {@code lagging} when its
 * oldest unacknowledged message is older than {@code laggingAfter}; otherwise {@code ok}. A queue is
 * {@code full} when within a tenth of its length or byte limit, or when it refused or dropped
 * publishes recently, and {@code dead-lettering} when it dead-lettered recently; its status is the
 * worst of its own and its consumers'.
 */
public final class HealthJudge {

  /** How far back the lag trend looks. */
  static final long TREND_MS = Duration.ofMinutes(1).toMillis();

  private HealthJudge() {}

  /** The health of the queue {@code info} with {@code consumers}, given its {@code history}, at {@code now} (epoch ms). */
  public static QueueHealth judge(QueueInfo info, List<ConsumerInfo> consumers, QueueHistory history, long now,
      SpoolSettings.Health settings) {
    QueueHealth.Recent recent = recent(history, now, settings.recent().toMillis());
    List<QueueHealth.ConsumerHealth> judged = new ArrayList<>(consumers.size());
    HealthStatus worst = HealthStatus.OK;
    String why = null;
    long maxLag = -1;
    LagTrend trend = LagTrend.STEADY;
    for (ConsumerInfo c : consumers) {
      List<QueueHistory.ConsumerSample> samples = samplesOf(history, c.name());
      QueueHealth.ConsumerHealth h = consumer(c, samples, now, settings);
      judged.add(h);
      if (h.status().worseThan(worst)) {
        worst = h.status();
        why = "consumer " + c.name() + ": " + h.reason();
      }
      if (c.lag() > maxLag) {
        maxLag = c.lag();
        trend = h.lagTrend();
      }
    }
    String own = full(info, recent);
    if (own != null && HealthStatus.FULL.worseThan(worst)) {
      worst = HealthStatus.FULL;
      why = own;
    } else if (recent.deadLettered() > 0 && HealthStatus.DEAD_LETTERING.worseThan(worst)) {
      worst = HealthStatus.DEAD_LETTERING;
      why = count(recent.deadLettered(), "message") + " dead-lettered in the last " + duration(recent.windowMs())
          + deadLetterTarget(info.settings());
    }
    if (why == null) {
      why = consumers.isEmpty() ? "no consumers; " + count(info.stats().depth(), "message") + " retained"
          : "every consumer is keeping up";
    }
    return new QueueHealth(info.name(), worst, why, trend, List.of(), recent, judged);
  }

  /** One consumer's health, from its figures now and its samples (oldest first). */
  static QueueHealth.ConsumerHealth consumer(ConsumerInfo c, List<QueueHistory.ConsumerSample> samples, long now,
      SpoolSettings.Health settings) {
    LagTrend trend = trend(c.lag(), samples, now);
    String waiting = count(c.lag(), "message") + " waiting";
    if (c.paused()) {
      return new QueueHealth.ConsumerHealth(c.name(), HealthStatus.PAUSED, "paused by an operator; " + waiting,
          trend);
    }
    if (c.breaker() == BreakerState.OPEN || c.deliveryState() == DeliveryState.BREAKER_OPEN) {
      return new QueueHealth.ConsumerHealth(c.name(), HealthStatus.BREAKER_OPEN,
          "the handler's circuit breaker is open after repeated failures (" + count(c.counters().errors(), "error")
              + " so far); " + waiting, trend);
    }
    long stuckMs = settings.stuckAfter().toMillis();
    long recentMs = settings.recent().toMillis();
    if (c.lag() > 0 && c.lagAgeMs() >= stuckMs && acknowledgedNothing(c, samples, now, stuckMs)) {
      return new QueueHealth.ConsumerHealth(c.name(), HealthStatus.STUCK, stuckReason(c, samples, now, stuckMs),
          trend);
    }
    long deadLettered = sum(samples, now, recentMs, QueueHistory.ConsumerSample::deadLettered);
    if (deadLettered > 0) {
      return new QueueHealth.ConsumerHealth(c.name(), HealthStatus.DEAD_LETTERING, count(deadLettered, "message")
          + " dead-lettered in the last " + duration(recentMs) + "; " + waiting, trend);
    }
    if (c.lag() > 0 && c.lagAgeMs() >= settings.laggingAfter().toMillis()) {
      return new QueueHealth.ConsumerHealth(c.name(), HealthStatus.LAGGING, waiting + ", the oldest for "
          + duration(c.lagAgeMs()) + (trend == LagTrend.STEADY ? "" : "; lag " + trend.wireName()), trend);
    }
    return new QueueHealth.ConsumerHealth(c.name(), HealthStatus.OK, okReason(c), trend);
  }

  /**
   * Whether {@code c} acknowledged nothing for {@code stuckMs}: its samples cover that long and none
   * has an acknowledgement, or (without that much history, as after a restart) nothing at all
   * happened for that long.
   */
  private static boolean acknowledgedNothing(ConsumerInfo c, List<QueueHistory.ConsumerSample> samples, long now,
      long stuckMs) {
    boolean covered = !samples.isEmpty() && samples.get(0).at() <= now - stuckMs;
    if (covered) {
      for (QueueHistory.ConsumerSample s : samples) {
        if (s.at() > now - stuckMs && s.ackRate() > 0) {
          return false;
        }
      }
      return true;
    }
    return now - c.lastActivity().toEpochMilli() >= stuckMs;
  }

  private static String stuckReason(ConsumerInfo c, List<QueueHistory.ConsumerSample> samples, long now,
      long stuckMs) {
    String waiting = count(c.lag(), "message") + " waiting and nothing acknowledged for " + duration(stuckMs);
    long nacked = sum(samples, now, stuckMs, QueueHistory.ConsumerSample::nacked);
    long errors = sum(samples, now, stuckMs, QueueHistory.ConsumerSample::errors);
    if (nacked > 0 || errors > 0) {
      List<String> failed = new ArrayList<>();
      if (nacked > 0) {
        failed.add(count(nacked, "nack"));
      }
      if (errors > 0) {
        failed.add(count(errors, "handler error"));
      }
      return waiting + ": it reads, but every delivery fails (" + String.join(", ", failed) + " in that time)";
    }
    return switch (c.deliveryState()) {
      case NO_SUBSCRIBERS -> waiting + ": nothing is reading (no subscriber attached, last activity "
          + duration(now - c.lastActivity().toEpochMilli()) + " ago)";
      case CREDIT_EXHAUSTED -> waiting + ": prefetch is used up by " + count(c.inFlight(), "delivery", "deliveries")
          + " not acknowledged (each is delivered again after the ack timeout of "
          + duration(c.settings().ackTimeout() == null ? 0 : c.settings().ackTimeout().toMillis()) + ")";
      case BACKOFF -> waiting + ": only redeliveries waiting out their backoff remain";
      default -> waiting + " (" + c.deliveryState().wireName() + ", " + c.inFlight() + " in flight)";
    };
  }

  private static String okReason(ConsumerInfo c) {
    return switch (c.deliveryState()) {
      case CAUGHT_UP -> c.inFlight() == 0 ? "caught up" : "caught up, " + c.inFlight() + " in flight";
      case DELIVERING -> "delivering; " + count(c.lag(), "message") + " waiting";
      case NO_SUBSCRIBERS -> c.lag() == 0 ? "caught up; no subscriber attached"
          : count(c.lag(), "message") + " waiting; read recently, none attached now";
      case CREDIT_EXHAUSTED -> "prefetch in use; " + count(c.lag(), "message") + " waiting";
      case BACKOFF -> "redeliveries waiting out their backoff";
      default -> c.deliveryState().wireName();
    };
  }

  /** Why the queue is full, or null if it is not. */
  private static String full(QueueInfo info, QueueHealth.Recent recent) {
    QueueSettings s = info.settings();
    List<String> why = new ArrayList<>();
    if (s.maxLength() > 0 && info.stats().depth() * 10 >= s.maxLength() * 9) {
      why.add(info.stats().depth() + " of at most " + s.maxLength() + " messages retained");
    }
    if (s.maxBytes() > 0 && info.stats().bytes() * 10 >= s.maxBytes() * 9) {
      why.add(info.stats().bytes() + " of at most " + s.maxBytes() + " bytes retained");
    }
    if (recent.refused() > 0) {
      why.add(count(recent.refused(), "publish", "publishes") + " refused in the last " + duration(recent.windowMs()));
    }
    if (recent.dropped() > 0) {
      why.add(count(recent.dropped(), "message") + " dropped in the last " + duration(recent.windowMs()));
    }
    return why.isEmpty() ? null : "full: " + String.join("; ", why);
  }

  private static String deadLetterTarget(QueueSettings s) {
    return s.deadLetter() == null ? "" : " to " + s.deadLetter().queue();
  }

  /** Where {@code lag} went since about a minute ago: a move of at least 2 and 5 % counts. */
  static LagTrend trend(long lag, List<QueueHistory.ConsumerSample> samples, long now) {
    QueueHistory.ConsumerSample then = null;
    for (QueueHistory.ConsumerSample s : samples) {
      if (s.at() <= now - TREND_MS) {
        then = s;
      } else {
        if (then == null) {
          then = s; // less than a minute of history: compare with the oldest sample
        }
        break;
      }
    }
    if (then == null) {
      return LagTrend.STEADY;
    }
    long delta = lag - then.lag();
    long threshold = Math.max(2, then.lag() / 20);
    return delta >= threshold ? LagTrend.RISING : delta <= -threshold ? LagTrend.FALLING : LagTrend.STEADY;
  }

  /** The queue's counts over the last {@code windowMs}. */
  static QueueHealth.Recent recent(QueueHistory history, long now, long windowMs) {
    long deadLettered = 0;
    long dropped = 0;
    long expired = 0;
    long refused = 0;
    for (QueueHistory.Sample s : history.samples()) {
      if (s.at() > now - windowMs) {
        deadLettered += s.deadLettered();
        dropped += s.dropped();
        expired += s.expired();
        refused += s.refused();
      }
    }
    return new QueueHealth.Recent(windowMs, deadLettered, dropped, expired, refused);
  }

  /**
   * The alarms over every queue: memory and disk pressure (critical: publishes are refused), and each
   * queue that refused, dropped or expired messages recently (warning).
   */
  public static List<SpoolHealth.Alarm> alarms(MemoryStats memory, DiskStats disk, List<QueueHealth> queues) {
    List<SpoolHealth.Alarm> alarms = new ArrayList<>();
    if (memory.underPressure()) {
      alarms.add(new SpoolHealth.Alarm("memory", "critical", null, "memory pressure: " + memory.totalBytes()
          + " bytes retained, threshold " + memory.thresholdBytes() + "; overflow policies apply and publishes"
          + " that do not fit are refused"));
    }
    if (disk.low()) {
      alarms.add(new SpoolHealth.Alarm("disk", "critical", null, "disk space low: " + disk.freeBytes()
          + " bytes free, limit " + disk.limitBytes() + "; publishes to persistent queues are refused"));
    }
    for (QueueHealth q : queues) {
      QueueHealth.Recent r = q.recent();
      String window = " in the last " + duration(r.windowMs());
      if (r.refused() > 0) {
        alarms.add(new SpoolHealth.Alarm("refused", "warning", q.queue(), count(r.refused(), "publish", "publishes")
            + " to " + q.queue() + " refused" + window + " (QueueFull)"));
      }
      if (r.dropped() > 0) {
        alarms.add(new SpoolHealth.Alarm("dropped", "warning", q.queue(), count(r.dropped(), "message") + " of "
            + q.queue() + " dropped" + window));
      }
      if (r.expired() > 0) {
        alarms.add(new SpoolHealth.Alarm("expired", "warning", q.queue(), count(r.expired(), "message") + " of "
            + q.queue() + " expired" + window));
      }
    }
    return alarms;
  }

  private static List<QueueHistory.ConsumerSample> samplesOf(QueueHistory history, String consumer) {
    for (QueueHistory.ConsumerHistory c : history.consumers()) {
      if (c.consumer().equals(consumer)) {
        return c.samples();
      }
    }
    return List.of();
  }

  private static long sum(List<QueueHistory.ConsumerSample> samples, long now, long windowMs,
      java.util.function.ToLongFunction<QueueHistory.ConsumerSample> field) {
    long total = 0;
    for (QueueHistory.ConsumerSample s : samples) {
      if (s.at() > now - windowMs) {
        total += field.applyAsLong(s);
      }
    }
    return total;
  }

  private static String count(long n, String noun) {
    return count(n, noun, noun + "s");
  }

  private static String count(long n, String one, String many) {
    return String.format(Locale.ROOT, "%,d %s", n, n == 1 ? one : many);
  }

  /** {@code 45 s}, {@code 2 min}, {@code 1.5 h}: how an operator says it. */
  static String duration(long ms) {
    if (ms < 1000) {
      return ms + " ms";
    }
    long s = ms / 1000;
    if (s < 120) {
      return s + " s";
    }
    if (s < 7200) {
      return (s / 60) + " min";
    }
    return String.format(Locale.ROOT, "%.1f h", s / 3600.0);
  }
}
