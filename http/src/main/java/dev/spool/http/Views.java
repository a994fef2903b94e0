package dev.spool.http;

import dev.spool.Backoff;
import dev.spool.ConsumerInfo;
import dev.spool.ConsumerSettings;
import dev.spool.JournalHealth;
import dev.spool.Delivery;
import dev.spool.Message;
import dev.spool.MessageTrace;
import dev.spool.MessagePage;
import dev.spool.PushSettings;
import dev.spool.QueueHealth;
import dev.spool.QueueInfo;
import dev.spool.QueueSettings;
import dev.spool.QueueStats;
import dev.spool.SpoolHealth;
import dev.spool.StaleConsumer;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The response bodies of the API, as records written by Jackson, and their construction from the
 * engine's values. Durations are ISO-8601 strings; {@code timestamp}, {@code expiresAt} and {@code deliverAt} are epoch
 * milliseconds, as semantics.md defines a message's time.
 */
final class Views {

  private Views() {}

  /** A queue: settings, figures and, in cluster mode, the member it runs on. */
  record QueueView(String name, QueueSettingsView settings, QueueStats stats, String member) {
    static QueueView of(QueueInfo info) {
      return new QueueView(info.name(), QueueSettingsView.of(info.settings()), info.stats(), info.member());
    }
  }

  /** A queue's settings in the wire form {@code PUT /queues/{q}} takes. */
  record QueueSettingsView(String durability, String ttl, long maxLength, long maxBytes, String overflow,
      String retention, DeadLetterView deadLetter, String dedupWindow, String compression,
      EncryptionView encryption, int partitions, int maxPriority) {
    static QueueSettingsView of(QueueSettings s) {
      return new QueueSettingsView(s.durability().name().toLowerCase(Locale.ROOT), text(s.ttl()), s.maxLength(),
          s.maxBytes(), s.overflow().wireName(), text(s.retention()),
          s.deadLetter() == null ? null : new DeadLetterView(s.deadLetter().queue(), s.deadLetter().maxDeliveries()),
          text(s.dedupWindow()), s.compression().wireName(),
          s.encryption() == null ? null : new EncryptionView(s.encryption().keyId()), s.partitions(), s.maxPriority());
    }
  }

  /** The key a queue is encrypted with at rest: its id only; the key itself is never served. */
  record EncryptionView(String keyId) {}

  /** Where a queue dead-letters. */
  record DeadLetterView(String queue, int maxDeliveries) {}

  /** A message; its payload as text when its content type says text and it is valid UTF-8, else base64. */
  record MessageView(long sequence, String id, long timestamp, String producerId, String type, String key,
      Map<String, String> headers, String contentType, String payload, String payloadBase64, Long expiresAt,
      Long deliverAt, Integer priority) {
    static MessageView of(Message m) {
      String contentType = m.contentType().orElse(null);
      String text = isText(contentType) ? utf8(m.payload()) : null;
      return new MessageView(m.sequence(), String.valueOf(m.id()), m.timestamp(), m.producerId(), m.type(),
          m.key().orElse(null), m.headers(), contentType, text,
          text == null ? java.util.Base64.getEncoder().encodeToString(m.payload()) : null,
          m.expiresAt().map(Instant::toEpochMilli).orElse(null),
          m.deliverAt().map(Instant::toEpochMilli).orElse(null), m.priority() == 0 ? null : m.priority());
    }
  }

  /** A page of a browse or search, with where its bounded scan stopped and where the next page starts. */
  record PageView(List<MessageView> messages, long firstSequence, long lastSequence, long scannedFrom, long scannedTo,
      boolean complete, Long next, Long previous) {
    static PageView of(MessagePage p) {
      return new PageView(p.messages().stream().map(MessageView::of).toList(), p.firstSequence(), p.lastSequence(),
          p.scannedFrom(), p.scannedTo(), p.complete(), p.next(), p.previous());
    }
  }

  /** A queue's health, statuses and trends in their wire names. */
  record QueueHealthView(String queue, String status, String reason, String lagTrend, List<String> deadLetterFor,
      QueueHealth.Recent recent, List<ConsumerHealthView> consumers) {
    static QueueHealthView of(QueueHealth h) {
      return of(h, name -> true);
    }

    /** The health, naming only the dead-letter sources {@code visible} accepts (those its reader may see). */
    static QueueHealthView of(QueueHealth h, java.util.function.Predicate<String> visible) {
      return new QueueHealthView(h.queue(), h.status().wireName(), h.reason(), h.lagTrend().wireName(),
          h.deadLetterFor().stream().filter(visible).toList(), h.recent(), h.consumers().stream().map(c -> new ConsumerHealthView(c.consumer(),
              c.status().wireName(), c.reason(), c.lagTrend().wireName())).toList());
    }
  }

  /** A consumer's health. */
  record ConsumerHealthView(String consumer, String status, String reason, String lagTrend) {}

  /** {@code GET /api/v1/health}: the alarms and every queue's health. */
  record SpoolHealthView(List<SpoolHealth.Alarm> alarms, List<QueueHealthView> queues) {
    /** The engine's alarms, then the HTTP service's own (definitions not in effect). */
    static SpoolHealthView of(SpoolHealth h, List<SpoolHealth.Alarm> serviceAlarms) {
      List<SpoolHealth.Alarm> alarms = new java.util.ArrayList<>(h.alarms());
      alarms.addAll(serviceAlarms);
      return new SpoolHealthView(List.copyOf(alarms), h.queues().stream().map(QueueHealthView::of).toList());
    }
  }

  /** A delivery to a reader. */
  record DeliveryView(long sequence, int attempt, MessageView message) {
    static DeliveryView of(Delivery d) {
      return new DeliveryView(d.sequence(), d.attempt(), MessageView.of(d.message()));
    }
  }

  /** The answer to a read. */
  record DeliveriesView(List<DeliveryView> deliveries) {
    static DeliveriesView of(List<Delivery> deliveries) {
      return new DeliveriesView(deliveries.stream().map(DeliveryView::of).toList());
    }
  }

  /** A message and what happened to it. */
  record TraceView(MessageView message, List<TraceEntryView> trace) {
    static TraceView of(MessageTrace t) {
      return new TraceView(MessageView.of(t.message()), t.entries().stream()
          .map(e -> new TraceEntryView(e.event(), e.consumer(), e.at() == null ? null : e.at().toString(),
              e.attempt(), e.subscriber()))
          .toList());
    }
  }

  /**
   * One step of a trace (the kinds are listed in {@link MessageTrace.Entry}); {@code at} is absent
   * for what the consumer's position says and for {@code events-dropped}.
   */
  record TraceEntryView(String event, String consumer, String at, int attempt, String subscriber) {}

  /** A consumer's position, state and counters, with its settings. */
  record ConsumerView(String queue, String name, long cursor, long committed, long lag, long lagAgeMs, int inFlight,
      int waiting, int prefetch, String deliveryState, boolean paused, String lastActivity, long delivered,
      long redelivered, long acked, long nacked, long filtered, long expired, long dropped, long deadLettered,
      long errors, int subscribers, int parkedReads, String breaker, ConsumerSettingsView settings,
      PushStateView push, String secret) {
    static ConsumerView of(ConsumerInfo c) {
      return of(c, null, null);
    }

    /**
     * The consumer with its push state, if it pushes, and its signing secret, given only in the
     * answer that created it.
     */
    static ConsumerView of(ConsumerInfo c, PushSender.PushState push, String secret) {
      ConsumerInfo.Counters n = c.counters();
      ConsumerSettings s = c.settings();
      PushStateView pushState = s.push() == null ? null
          : PushStateView.of(push == null ? PushSender.PushState.NONE : push, push != null);
      return new ConsumerView(c.queue(), c.name(), c.cursor(), c.committed(), c.lag(), c.lagAgeMs(), c.inFlight(),
          c.waiting(), s.prefetch() == null ? 0 : s.prefetch(), c.deliveryState().wireName(), c.paused(),
          c.lastActivity().toString(), n.delivered(), n.redelivered(), n.acked(), n.nacked(), n.filtered(),
          n.expired(), n.dropped(), n.deadLettered(), n.errors(), c.subscribers(), c.parkedReads(),
          c.breaker().wireName(), ConsumerSettingsView.of(s), pushState, secret);
    }
  }

  /**
   * What a push consumer is doing: whether this process pushes for it ({@code active}), its
   * requests in flight and their outcomes, its last failure and about when the message that failed
   * is retried.
   */
  record PushStateView(boolean active, int inFlight, long succeeded, long failed, long permanent, String lastError,
      String lastErrorAt, String lastSuccessAt, String nextRetryAt) {
    static PushStateView of(PushSender.PushState p, boolean active) {
      return new PushStateView(active, p.inFlight(), p.succeeded(), p.failed(), p.permanent(), p.lastError(),
          text(p.lastErrorAt()), text(p.lastSuccessAt()), text(p.nextRetryAt()));
    }

    private static String text(java.time.Instant at) {
      return at == null ? null : at.toString();
    }
  }

  /** A consumer's settings in the wire form {@code PUT …/consumers/{c}} takes. */
  record ConsumerSettingsView(String startAt, String ackMode, Integer prefetch, String ackTimeout,
      Integer maxDeliveries, Requests.FilterBody filter, Requests.BackoffBody backoff, String inactiveTimeout,
      Boolean exclusive, Requests.PushBody push) {
    static ConsumerSettingsView of(ConsumerSettings s) {
      return new ConsumerSettingsView(s.startAt().toString(), s.ackMode().name().toLowerCase(Locale.ROOT),
          s.prefetch(), text(s.ackTimeout()), s.maxDeliveries(),
          s.filter().matchesAll() ? null : new Requests.FilterBody(s.filter().type(), s.filter().headers(),
              s.filter().expression() == null ? null : s.filter().expression().source()),
          s.backoff() == null ? null : new Requests.BackoffBody(text(s.backoff().initial()),
              text(s.backoff().max()), s.backoff().multiplier(), s.backoff().jitter()),
          text(s.inactiveTimeout()), s.exclusive() ? Boolean.TRUE : null, push(s));
    }

    /** A push in the form it is declared: its retry policy is the consumer's maxDeliveries and backoff, shown beside them. */
    private static Requests.PushBody push(ConsumerSettings s) {
      PushSettings p = s.push();
      if (p == null) {
        return null;
      }
      Backoff b = s.backoff();
      Requests.RetryBody retry = new Requests.RetryBody(s.maxDeliveries() == null ? null : s.maxDeliveries() - 1,
          b == null ? null : text(b.initial()), b == null ? null : text(b.max()), b == null ? null : b.multiplier());
      return new Requests.PushBody(p.endpoint().toString(), retry, text(p.ackDeadline()), p.maxOutstanding(), 1,
          new java.util.ArrayList<>(new java.util.TreeSet<>(p.permanentStatuses())));
    }
  }

  /** A stale consumer. */
  record StaleView(String queue, String consumer, long lag, String idleFor, long idleMs, String lastActivity) {
    static StaleView of(StaleConsumer s) {
      return new StaleView(s.queue(), s.consumer(), s.lag(), Duration.ofMillis(s.idleMillis()).toString(),
          s.idleMillis(), s.lastActivity().toString());
    }
  }

  /** {@code {"secret":"…"}}: a push consumer's signing secret. */
  record SecretView(String secret) {}

    /** {@code {"sequences":[…]}}. */
  record SequencesView(List<Long> sequences) {}

  /** {@code {"acked":n}}, with the sequences that were already acknowledged or never delivered. */
  record AckView(int acked, List<Long> alreadyAcked, List<Long> unknown) {}

  /** {@code {"nacked":n}}. */
  record NackView(int nacked) {}

  /** {@code {"moved":n}}. */
  record MovedView(long moved) {}

  /** {@code {"purged":n}}. */
  record PurgedView(long purged) {}

  /** {@code {"freed":n}}. */
  record FreedView(long freed) {}

  /** {@code {"removed":n,"consumers":[…]}}: how many stale consumers a cleanup removed, and which. */
  record RemovedView(long removed, List<StaleView> consumers) {
    static RemovedView of(List<StaleConsumer> removed) {
      return new RemovedView(removed.size(), removed.stream().map(StaleView::of).toList());
    }
  }

  /** {@code {"thresholdBytes":n}}. */
  record ThresholdView(long thresholdBytes) {}

  /** {@code {"ticket":…,"expiresInMs":n}}: opens the event stream once, see {@link EventTickets}. */
  record TicketView(String ticket, long expiresInMs) {}

  /**
   * A health answer: {@code live}, {@code ready}, or why not ready ({@code recovering},
   * {@code unavailable}, {@code stopping}) with the journals that cannot write.
   */
  record HealthView(String status, List<ReasonView> reasons, String member) {
    HealthView(String status) {
      this(status, null, null);
    }

    HealthView(String status, List<ReasonView> reasons) {
      this(status, reasons, null);
    }
  }

  /**
   * One journal that cannot write: a durable queue's ({@code queue}) or the registry's that lists
   * them ({@code registry}, its name), in which {@code journal} state, why, and since when.
   */
  record ReasonView(String queue, String registry, String journal, String detail, Instant since) {
    static ReasonView of(JournalHealth.Problem p, String registryName) {
      return new ReasonView(p.queue(), p.queue() == null ? registryName : null, p.state().wireName(), p.detail(),
          p.since());
    }
  }

  /** The error shape of every failure. */
  record ErrorView(String error, String message) {}

  private static String text(Duration d) {
    return d == null ? null : d.toString();
  }

  private static boolean isText(String contentType) {
    if (contentType == null) {
      return false;
    }
    String ct = contentType.toLowerCase(Locale.ROOT);
    int semicolon = ct.indexOf(';');
    String mime = (semicolon < 0 ? ct : ct.substring(0, semicolon)).trim();
    return mime.startsWith("text/") || mime.endsWith("/json") || mime.endsWith("+json")
        || mime.endsWith("/xml") || mime.endsWith("+xml");
  }

  private static String utf8(byte[] bytes) {
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes))
          .toString();
    } catch (CharacterCodingException e) {
      return null;
    }
  }
}
