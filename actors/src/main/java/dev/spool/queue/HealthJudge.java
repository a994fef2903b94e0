package dev.spool.queue;

import dev.spool.AckMode;
import dev.spool.BreakerState;
import dev.spool.ConsumerInfo;
import dev.spool.DeliveryState;
import dev.spool.DiskStats;
import dev.spool.HealthStatus;
import dev.spool.JournalHealth;
import dev.spool.LagTrend;
import dev.spool.MemoryStats;
import dev.spool.QueueHealth;
import dev.spool.QueueHistory;
import dev.spool.QueueInfo;
import dev.spool.QueueSettings;
import dev.spool.SpoolHealth;
import dev.spool.SpoolSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToLongFunction;

/**
 * Judges how a queue and its consumers are doing, from their figures now and their history, and
 * says why in words: the first thing an operator reads during an incident. Pure: the same figures
 * always give the same judgement.
 *
 * <p>A consumer is, in this order: {@code paused} when an operator paused it (deliberate, so never
 * "stuck"); {@code breaker-open}; {@code stuck} when messages wait, the oldest for
 * {@code stuckAfter}, and it made no progress for that long (acknowledged nothing; a consumer
 * without acknowledgements, {@code ackMode none}, took nothing), judged from its history when
 * that reaches back far enough, else from its last activity; {@code dead-lettering} when it
 * dead-lettered messages in the recent window; {@code lagging} when messages were dropped or
 * expired before it acknowledged them recently, or its oldest unacknowledged message is older than
 * {@code laggingAfter}; otherwise {@code ok}. A queue is {@code unavailable} while its journal
 * cannot write, {@code full} when within a tenth of its length or byte limit or when it refused or
 * dropped publishes recently, and {@code dead-lettering} when it dead-lettered recently; its status
 * is the worst of its own and its consumers', and its reason names every one that is not ok.
 */
public final class HealthJudge {

  /** How far back the lag trend looks. */
  static final long TREND_MS = Duration.ofMinutes(1).toMillis();

  private HealthJudge() {}

  /** How far back a judgement reads history: the longest of its windows, and one interval more. */
  public static long window(SpoolSettings.Health settings, long intervalMs) {
    return Math.max(Math.max(settings.stuckAfter().toMillis(), settings.recent().toMillis()), TREND_MS) + intervalMs;
  }

  /** The health of the queue {@code info} with {@code consumers}, given its {@code history}, at {@code now} (epoch ms). */
  public static QueueHealth judge(QueueInfo info, List<ConsumerInfo> consumers, QueueHistory history, long now,
      SpoolSettings.Health settings) {
    QueueHealth.Recent recent = recent(history, now, settings.recent().toMillis());
    Map<String, List<QueueHistory.ConsumerSample>> samples = new HashMap<>();
    history.consumers().forEach(c -> samples.put(c.consumer(), c.samples()));
    List<QueueHealth.ConsumerHealth> judged = new ArrayList<>(consumers.size());
    long maxLag = -1;
    LagTrend trend = LagTrend.STEADY;
    for (ConsumerInfo c : consumers) {
      QueueHealth.ConsumerHealth h = consumer(c, samples.getOrDefault(c.name(), List.of()), history.intervalMs(), now,
          settings);
      judged.add(h);
      if (c.lag() > maxLag) {
        maxLag = c.lag();
        trend = h.lagTrend();
      }
    }
    List<Finding> findings = new ArrayList<>();
    String full = full(info, recent);
    if (full != null) {
      findings.add(new Finding(HealthStatus.FULL, full));
    }
    if (recent.deadLettered() > 0) {
      findings.add(new Finding(HealthStatus.DEAD_LETTERING, count(recent.deadLettered(), "message")
          + " dead-lettered in the last " + duration(recent.windowMs()) + deadLetterTarget(info.settings())));
    }
    for (QueueHealth.ConsumerHealth h : judged) {
      if (h.status() != HealthStatus.OK) {
        findings.add(new Finding(h.status(), "consumer " + h.consumer() + ": " + h.reason()));
      }
    }
    if (findings.isEmpty()) {
      return new QueueHealth(info.name(), HealthStatus.OK, okReason(info, consumers, history, now, recent), trend,
          List.of(), recent, judged);
    }
    // Worst first; the first finding of a status keeps its place (the queue's own before its consumers').
    findings.sort((a, b) -> Integer.compare(a.status().ordinal(), b.status().ordinal()));
    StringBuilder reason = new StringBuilder(findings.get(0).reason());
    if (findings.size() > 1) {
      reason.append(" (also: ");
      for (int i = 1; i < findings.size(); i++) {
        Finding f = findings.get(i);
        reason.append(i > 1 ? "; " : "").append(f.status().wireName()).append(", ").append(f.reason());
      }
      reason.append(')');
    }
    return new QueueHealth(info.name(), findings.get(0).status(), reason.toString(), trend, List.of(), recent, judged);
  }

  private record Finding(HealthStatus status, String reason) {}

  private static String okReason(QueueInfo info, List<ConsumerInfo> consumers, QueueHistory history, long now,
      QueueHealth.Recent recent) {
    if (!consumers.isEmpty()) {
      return "every consumer is keeping up";
    }
    long arrived = 0;
    for (QueueHistory.Sample s : history.samples()) {
      if (s.at() > now - recent.windowMs()) {
        arrived += Math.round(s.publishRate() * history.intervalMs() / 1000.0);
      }
    }
    return "no consumers; " + count(info.stats().depth(), "message") + " retained"
        + (arrived > 0 ? ", about " + count(arrived, "message") + " arrived in the last " + duration(recent.windowMs())
            : "");
  }

  /** One consumer's health, from its figures now and its samples (oldest first, {@code intervalMs} apart). */
  static QueueHealth.ConsumerHealth consumer(ConsumerInfo c, List<QueueHistory.ConsumerSample> samples,
      long intervalMs, long now, SpoolSettings.Health settings) {
    LagTrend trend = trend(c.lag(), samples, now);
    String waiting = waiting(c);
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
    boolean acknowledging = c.settings().ackMode() != AckMode.NONE;
    Stall stall = stall(c, samples, now, acknowledging);
    if (c.lag() > 0 && c.lagAgeMs() >= stuckMs && stall.forMs() >= stuckMs) {
      return new QueueHealth.ConsumerHealth(c.name(), HealthStatus.STUCK,
          stuckReason(c, samples, intervalMs, now, stall, acknowledging), trend);
    }
    long deadLettered = sum(samples, now, recentMs, QueueHistory.ConsumerSample::deadLettered);
    if (deadLettered > 0) {
      return new QueueHealth.ConsumerHealth(c.name(), HealthStatus.DEAD_LETTERING, count(deadLettered, "message")
          + " dead-lettered in the last " + duration(recentMs) + "; " + waiting, trend);
    }
    long dropped = sum(samples, now, recentMs, QueueHistory.ConsumerSample::dropped);
    long expired = sum(samples, now, recentMs, QueueHistory.ConsumerSample::expired);
    if (dropped + expired > 0) {
      List<String> lost = new ArrayList<>();
      if (dropped > 0) {
        lost.add(count(dropped, "message") + " dropped");
      }
      if (expired > 0) {
        lost.add(count(expired, "message") + " expired");
      }
      return new QueueHealth.ConsumerHealth(c.name(), HealthStatus.LAGGING, String.join(" and ", lost)
          + " before it acknowledged them in the last " + duration(recentMs) + "; " + waiting, trend);
    }
    if (c.lag() > 0 && c.lagAgeMs() >= settings.laggingAfter().toMillis()) {
      return new QueueHealth.ConsumerHealth(c.name(), HealthStatus.LAGGING, waiting + ", the oldest unacknowledged"
          + " for " + duration(c.lagAgeMs()) + (trend == LagTrend.STEADY ? "" : "; lag " + trend.wireName()), trend);
    }
    return new QueueHealth.ConsumerHealth(c.name(), HealthStatus.OK, okReason(c), trend);
  }

  /**
   * How long {@code c} made no progress (acknowledged nothing, or without acknowledgements took
   * nothing): since its last sample with progress; as long as its history reaches when there is
   * none ({@code atLeast}); without history far enough back, since its last activity.
   */
  private record Stall(long forMs, boolean atLeast) {}

  private static Stall stall(ConsumerInfo c, List<QueueHistory.ConsumerSample> samples, long now,
      boolean acknowledging) {
    for (int i = samples.size() - 1; i >= 0; i--) {
      QueueHistory.ConsumerSample s = samples.get(i);
      if (acknowledging ? s.ackRate() > 0 : s.deliverRate() > 0) {
        return new Stall(now - s.at(), false);
      }
    }
    long idle = now - c.lastActivity().toEpochMilli();
    if (samples.isEmpty()) {
      return new Stall(idle, false);
    }
    // No progress in any sample: at least as long as they reach back, or its idle time if that is longer.
    long covered = now - samples.get(0).at();
    return idle >= covered ? new Stall(idle, false) : new Stall(covered, true);
  }

  /** What waits for {@code c}: messages not delivered yet, and deliveries not acknowledged. */
  private static String waiting(ConsumerInfo c) {
    // Past the cursor, but no more than its lag leaves besides what it holds: not-due messages do not wait.
    long undelivered = Math.min(Math.max(0, c.lastSequence() - c.cursor() + 1),
        Math.max(0, c.lag() - c.inFlight() - c.waiting()));
    if (undelivered > 0) {
      return count(undelivered, "message") + " waiting" + (c.inFlight() > 0 ? ", " + c.inFlight() + " in flight" : "");
    }
    if (c.inFlight() > 0) {
      return count(c.inFlight(), "delivery", "deliveries") + " in flight, not acknowledged";
    }
    return count(c.lag(), "message") + " not acknowledged";
  }

  private static String stuckReason(ConsumerInfo c, List<QueueHistory.ConsumerSample> samples, long intervalMs,
      long now, Stall stall, boolean acknowledging) {
    String head = waiting(c) + " and nothing " + (acknowledging ? "acknowledged" : "taken") + " for "
        + (stall.atLeast() ? "at least " : "") + duration(stall.forMs());
    long window = Math.max(stall.forMs(), 1);
    long nacked = sum(samples, now, window, QueueHistory.ConsumerSample::nacked);
    long errors = sum(samples, now, window, QueueHistory.ConsumerSample::errors);
    if (nacked > 0 || errors > 0) {
      List<String> failed = new ArrayList<>();
      if (nacked > 0) {
        failed.add(count(nacked, "nack"));
      }
      if (errors > 0) {
        failed.add(count(errors, "handler error"));
      }
      return head + ": it reads, but every delivery fails (" + String.join(", ", failed) + " in that time)";
    }
    long delivered = 0;
    for (QueueHistory.ConsumerSample s : samples) {
      if (s.at() > now - window) {
        delivered += Math.round(s.deliverRate() * intervalMs / 1000.0);
      }
    }
    if (acknowledging && (delivered > 0 || c.inFlight() > 0) && c.deliveryState() != DeliveryState.CREDIT_EXHAUSTED) {
      return head + ": it reads (" + count(delivered, "delivery", "deliveries") + " in that time, " + c.inFlight()
          + " in flight) but acknowledges none";
    }
    return switch (c.deliveryState()) {
      case NO_SUBSCRIBERS -> head + ": nothing is reading (no subscriber attached, last activity "
          + duration(now - c.lastActivity().toEpochMilli()) + " ago)";
      case CREDIT_EXHAUSTED -> head + ": prefetch is used up by " + count(c.inFlight(), "delivery", "deliveries")
          + " not acknowledged (each is delivered again after the ack timeout of "
          + duration(c.settings().ackTimeout() == null ? 0 : c.settings().ackTimeout().toMillis()) + ")";
      case BACKOFF -> head + ": only redeliveries waiting out their backoff remain";
      default -> head + " (" + c.deliveryState().wireName() + ")";
    };
  }

  private static String okReason(ConsumerInfo c) {
    return switch (c.deliveryState()) {
      case CAUGHT_UP -> c.inFlight() == 0 ? "caught up" : "caught up, " + c.inFlight() + " in flight";
      case DELIVERING -> "delivering; " + waiting(c);
      case NO_SUBSCRIBERS -> c.lag() == 0 ? "caught up; no subscriber attached"
          : waiting(c) + (c.counters().delivered() == 0 ? "; nothing read yet, no subscriber attached"
              : "; read recently, none attached now");
      case CREDIT_EXHAUSTED -> "prefetch in use; " + waiting(c);
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
    boolean ownLimits = !why.isEmpty();
    if (recent.refused() > 0) {
      boolean limited = s.maxLength() > 0 || s.maxBytes() > 0;
      why.add(count(recent.refused(), "message") + " refused in the last " + duration(recent.windowMs())
          + (ownLimits ? "" : limited
              ? " while the queue held less than 90 % of its limits: a batch larger than the room left, the memory"
                  + " threshold or a low disk refused them"
              : " while the queue was within its own limits: the memory threshold or a low disk refused them"));
    }
    if (recent.dropped() > 0) {
      why.add(count(recent.dropped(), "message") + " dropped in the last " + duration(recent.windowMs()));
    }
    return why.isEmpty() ? null : "full: " + String.join("; ", why);
  }

  private static String deadLetterTarget(QueueSettings s) {
    return s.deadLetter() == null ? "" : " to " + s.deadLetter().queue();
  }

  /**
   * Where {@code lag} went since about a minute ago, against the mean of the samples then (a single
   * sample jitters): a move of at least 10 messages and 1 % counts.
   */
  static LagTrend trend(long lag, List<QueueHistory.ConsumerSample> samples, long now) {
    if (samples.isEmpty()) {
      return LagTrend.STEADY;
    }
    // The samples of the oldest third of the last minute (the oldest sample, with less history).
    long from = Math.max(samples.get(0).at(), now - TREND_MS);
    long to = from + Math.max(1, (now - from) / 3);
    long sum = 0;
    int n = 0;
    for (QueueHistory.ConsumerSample s : samples) {
      if (s.at() >= from && s.at() <= to) {
        sum += s.lag();
        n++;
      }
    }
    if (n == 0) {
      return LagTrend.STEADY;
    }
    double then = (double) sum / n;
    double delta = lag - then;
    double threshold = Math.max(10, then / 100);
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
   * {@code health} as the journal sees it too: a queue whose journal cannot write refuses publishes
   * and is {@code unavailable}, whatever else is true of it.
   */
  public static QueueHealth withJournal(QueueHealth health, JournalHealth journal) {
    for (JournalHealth.Problem p : journal.problems()) {
      if (health.queue().equals(p.queue())) {
        String reason = "its journal cannot write (" + p.state().wireName() + (p.detail() == null ? "" : ": " + p.detail())
            + "): publishes and changes are refused until it can";
        return new QueueHealth(health.queue(), HealthStatus.UNAVAILABLE, reason
            + (health.status() == HealthStatus.OK ? "" : " (also: " + health.status().wireName() + ", "
                + health.reason() + ")"), health.lagTrend(), health.deadLetterFor(), health.recent(),
            health.consumers());
      }
    }
    return health;
  }

  /**
   * The alarms over every queue: memory and disk pressure and journals that cannot write
   * (critical: publishes are refused), and each queue that refused, dropped or expired messages
   * recently (warning).
   */
  public static List<SpoolHealth.Alarm> alarms(MemoryStats memory, DiskStats disk, JournalHealth journal,
      List<QueueHealth> queues) {
    List<SpoolHealth.Alarm> alarms = new ArrayList<>();
    if (memory.underPressure()) {
      alarms.add(new SpoolHealth.Alarm("memory", "critical", null, "memory pressure: " + bytes(memory.totalBytes())
          + " retained, threshold " + bytes(memory.thresholdBytes()) + "; overflow policies apply and publishes"
          + " that do not fit are refused"));
    }
    if (disk.low()) {
      alarms.add(new SpoolHealth.Alarm("disk", "critical", null, "disk space low: " + bytes(disk.freeBytes())
          + " free, limit " + bytes(disk.limitBytes()) + "; publishes to persistent queues are refused"));
    }
    for (JournalHealth.Problem p : journal.problems()) {
      alarms.add(new SpoolHealth.Alarm("journal", "critical", p.queue(), (p.queue() == null ? "the registry's"
          : p.queue() + "'s") + " journal cannot write (" + p.state().wireName()
          + (p.detail() == null ? "" : ": " + p.detail())
          + "); its publishes and changes are refused until it can"));
    }
    for (QueueHealth q : queues) {
      QueueHealth.Recent r = q.recent();
      String window = " in the last " + duration(r.windowMs());
      if (r.refused() > 0) {
        alarms.add(new SpoolHealth.Alarm("refused", "warning", q.queue(), count(r.refused(), "message")
            + " published to " + q.queue() + " refused" + window + " (QueueFull)"));
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

  private static long sum(List<QueueHistory.ConsumerSample> samples, long now, long windowMs,
      ToLongFunction<QueueHistory.ConsumerSample> field) {
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

  /** {@code 512 KiB}, {@code 1.5 GiB}: bytes as an operator reads them. */
  static String bytes(long n) {
    if (n < 1024) {
      return n + " B";
    }
    String[] units = {"KiB", "MiB", "GiB", "TiB"};
    double v = n;
    int i = -1;
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    return String.format(Locale.ROOT, "%.1f %s", v, units[i]);
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
