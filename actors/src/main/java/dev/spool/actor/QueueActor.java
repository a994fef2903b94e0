package dev.spool.actor;

import dev.spool.ConsumerInfo;
import dev.spool.ConsumerSettings;
import dev.spool.Message;
import dev.spool.Names;
import dev.spool.QueueInfo;
import dev.spool.QueueSettings;
import dev.spool.QueueStats;
import dev.spool.SpoolException;
import dev.spool.SpoolSettings;
import dev.spool.log.DedupIndex;
import dev.spool.log.SegmentedLog;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.pattern.StatusReply;

/**
 * One queue: the only writer of its {@link SegmentedLog}. It assigns sequences, deduplicates
 * producer ids, enforces the queue's bounds, and owns one {@link ConsumerActor} child per consumer.
 *
 * <p>It frees whole segments below the lowest sequence any consumer still needs (consumers report
 * it once per segment they pass). A queue with no consumers keeps its messages, so that a consumer
 * created later with {@code earliest} still gets them.
 *
 * <p>Reached only by name through the {@link QueueManager}, so that it could run as a cluster
 * sharding entity unchanged.
 */
public final class QueueActor extends AbstractBehavior<QueueActor.Command> {

  /** Everything a queue understands. */
  public interface Command {}

  /**
   * Append {@code messages} in one step, all or none; the reply holds each message's sequence (the
   * original one for a duplicate id).
   */
  public record Publish(String producerId, List<Message> messages, ActorRef<StatusReply<List<Long>>> replyTo)
      implements Command, Request<List<Long>> {}

  /** Describe the queue with its figures. */
  public record GetInfo(ActorRef<StatusReply<QueueInfo>> replyTo) implements Command, Request<QueueInfo> {}

  /** Create a consumer; idempotent for equal settings. */
  public record CreateConsumer(ConsumerSettings settings, ActorRef<StatusReply<Created<ConsumerInfo>>> replyTo)
      implements Command, Request<Created<ConsumerInfo>> {}

  /** Delete a consumer and its position. */
  public record DeleteConsumer(String consumer, ActorRef<StatusReply<Done>> replyTo)
      implements Command, Request<Done> {}

  /** Describe every consumer. */
  public record ListConsumers(ActorRef<StatusReply<List<ConsumerInfo>>> replyTo)
      implements Command, Request<List<ConsumerInfo>> {}

  /** Route {@code command} to the named consumer (answering {@code ConsumerNotFound} if there is none). */
  public record ToConsumer(String consumer, ConsumerActor.Command command) implements Command {}

  /** From a consumer: wake me with the first append after {@code afterSequence}. */
  record AwaitMessages(String consumer, long afterSequence) implements Command {}

  /** From a consumer: the lowest sequence I still need is {@code watermark}. */
  record ConsumerProgress(String consumer, long watermark) implements Command {}

  private record ConsumerTerminated(String consumer, ActorRef<ConsumerActor.Command> ref) implements Command {}

  /** A reply that arrived through this actor's own ask, passed on to the original asker. */
  private record Answer<T>(StatusReply<T> reply, ActorRef<StatusReply<T>> replyTo) implements Command {
    void deliver() {
      replyTo.tell(reply);
    }
  }

  private static final class ConsumerEntry {
    final ActorRef<ConsumerActor.Command> ref;
    final ConsumerSettings settings;
    long watermark;

    ConsumerEntry(ActorRef<ConsumerActor.Command> ref, ConsumerSettings settings, long watermark) {
      this.ref = ref;
      this.settings = settings;
      this.watermark = watermark;
    }
  }

  static Behavior<Command> create(String name, QueueSettings queueSettings, SpoolSettings settings) {
    return Behaviors.setup(context -> new QueueActor(context, name, queueSettings, settings));
  }

  private final String name;
  private final QueueSettings queueSettings;
  private final SpoolSettings settings;
  private final SegmentedLog log;
  private final DedupIndex dedup;
  private final QueueCounters counters = new QueueCounters();
  private final Map<String, ConsumerEntry> consumers = new HashMap<>();
  /** Consumers' watermarks as a multiset: the lowest is what garbage collection may not pass. */
  private final TreeMap<Long, Integer> watermarks = new TreeMap<>();
  private final List<ActorRef<ConsumerActor.Command>> waiting = new ArrayList<>();
  private long incarnations;
  private long lastTimestamp;
  private long published;
  private long duplicates;

  private QueueActor(ActorContext<Command> context, String name, QueueSettings queueSettings, SpoolSettings settings) {
    super(context);
    this.name = name;
    this.queueSettings = queueSettings;
    this.settings = settings;
    this.log = new SegmentedLog(settings.segmentSize());
    this.dedup = new DedupIndex(settings.dedupMaxEntries());
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Publish.class, this::onPublish)
        .onMessage(GetInfo.class, this::onGetInfo)
        .onMessage(CreateConsumer.class, this::onCreateConsumer)
        .onMessage(DeleteConsumer.class, this::onDeleteConsumer)
        .onMessage(ListConsumers.class, this::onListConsumers)
        .onMessage(ToConsumer.class, this::onToConsumer)
        .onMessage(AwaitMessages.class, this::onAwaitMessages)
        .onMessage(ConsumerProgress.class, this::onConsumerProgress)
        .onMessage(ConsumerTerminated.class, this::onConsumerTerminated)
        .onMessage(Answer.class, this::onAnswer)
        .build();
  }

  // ---- publishing

  private Behavior<Command> onPublish(Publish publish) {
    try {
      publish.replyTo().tell(StatusReply.success(append(publish.producerId(), publish.messages())));
    } catch (SpoolException e) {
      Request.fail(publish, e);
    }
    return this;
  }

  private List<Long> append(String producerId, List<Message> messages) {
    int count = messages.size();
    if (count > settings.maxBatchMessages()) {
      throw new SpoolException.InvalidConfiguration("a publish may carry at most " + settings.maxBatchMessages()
          + " messages, not " + count);
    }
    long now = Math.max(System.currentTimeMillis(), lastTimestamp); // append times never go back
    long window = queueSettings.dedupWindow().toMillis();
    Long[] sequences = new Long[count];
    Message[] appended = new Message[count];
    Map<UUID, Long> idsInBatch = null;
    int fresh = 0;
    long freshBytes = 0;
    for (int i = 0; i < count; i++) {
      Message m = messages.get(i);
      if (m == null) {
        throw new SpoolException.InvalidConfiguration("message " + (i + 1) + " of " + count + " is missing");
      }
      if (m.expires()) {
        // Refused rather than kept forever: expiry arrives with the janitor.
        throw new SpoolException.InvalidConfiguration("message " + (i + 1) + " of " + count
            + " has a ttl or expiry time; message expiry is not available in this version");
      }
      long bodyBytes = m.sizeBytes() - Message.FIXED_OVERHEAD_BYTES;
      if (bodyBytes > settings.maxMessageBytes()) {
        throw new SpoolException.MessageTooLarge("message " + (i + 1) + " of " + count + " has " + bodyBytes
            + " bytes; the limit is " + settings.maxMessageBytes());
      }
      if (m.hasProducerId()) {
        long original = dedup.find(m.id(), window, now);
        Long inBatch = idsInBatch == null ? null : idsInBatch.get(m.id());
        if (original > 0 || inBatch != null) {
          sequences[i] = original > 0 ? original : inBatch;
          continue;
        }
      }
      long sequence = log.nextSequence() + fresh;
      Message stored = m.appended(sequence, now, producerId);
      appended[fresh++] = stored;
      freshBytes += stored.sizeBytes();
      sequences[i] = sequence;
      if (m.hasProducerId()) {
        if (idsInBatch == null) {
          idsInBatch = new HashMap<>();
        }
        idsInBatch.put(m.id(), sequence);
      }
    }
    checkBounds(fresh, freshBytes);
    log.appendAll(appended, fresh);
    for (int i = 0; i < fresh; i++) {
      if (appended[i].hasProducerId()) {
        dedup.remember(appended[i].id(), appended[i].sequence(), now);
      }
    }
    lastTimestamp = now;
    published += fresh;
    duplicates += count - fresh;
    if (fresh > 0) {
      wakeWaiting();
    }
    return List.of(sequences);
  }

  private void checkBounds(int fresh, long freshBytes) {
    if (queueSettings.maxLength() > 0 && log.retainedMessages() + fresh > queueSettings.maxLength()) {
      throw new SpoolException.QueueFull("queue '" + name + "' holds " + log.retainedMessages()
          + " messages; " + fresh + " more would pass its maxLength of " + queueSettings.maxLength());
    }
    if (queueSettings.maxBytes() > 0 && log.retainedBytes() + freshBytes > queueSettings.maxBytes()) {
      throw new SpoolException.QueueFull("queue '" + name + "' holds " + log.retainedBytes()
          + " bytes; " + freshBytes + " more would pass its maxBytes of " + queueSettings.maxBytes());
    }
  }

  private void wakeWaiting() {
    if (waiting.isEmpty()) {
      return;
    }
    for (ActorRef<ConsumerActor.Command> consumer : waiting) {
      consumer.tell(ConsumerActor.MessagesAvailable.INSTANCE);
    }
    waiting.clear();
  }

  private Behavior<Command> onAwaitMessages(AwaitMessages await) {
    ConsumerEntry entry = consumers.get(await.consumer());
    if (entry != null) {
      if (log.lastSequence() > await.afterSequence()) {
        entry.ref.tell(ConsumerActor.MessagesAvailable.INSTANCE);
      } else {
        waiting.add(entry.ref);
      }
    }
    return this;
  }

  // ---- info

  private Behavior<Command> onGetInfo(GetInfo get) {
    get.replyTo().tell(StatusReply.success(info()));
    return this;
  }

  private QueueInfo info() {
    return new QueueInfo(name, queueSettings, new QueueStats(
        log.firstSequence(), log.lastSequence(), log.retainedMessages(), log.retainedBytes(), log.segmentCount(),
        published, duplicates, counters.delivered.sum(), counters.acked.sum(), counters.redelivered.sum(),
        counters.expired.sum(), counters.dropped.sum(), counters.deadLettered.sum(), consumers.size()));
  }

  // ---- consumers

  private Behavior<Command> onCreateConsumer(CreateConsumer create) {
    ConsumerSettings resolved;
    try {
      Names.requireValid("consumer", create.settings().name());
      resolved = create.settings().withDefaults(settings.consumer());
    } catch (SpoolException e) {
      Request.fail(create, e);
      return this;
    }
    ConsumerEntry existing = consumers.get(resolved.name());
    if (existing != null) {
      if (existing.settings.equals(resolved)) {
        answerWithInfo(existing.ref, false, create.replyTo());
      } else {
        Request.fail(create, new SpoolException.ConsumerAlreadyExists(name, resolved.name()));
      }
      return this;
    }
    long start;
    try {
      start = ConsumerActor.resolve(resolved.startAt(), log);
    } catch (SpoolException e) {
      Request.fail(create, e);
      return this;
    }
    ConsumerActor.State state = new ConsumerActor.State(name, resolved, start);
    ActorRef<ConsumerActor.Command> ref = getContext().spawn(
        Behaviors.supervise(ConsumerActor.create(resolved.name(), state, log, counters, getContext().getSelf(),
                settings.consumer()))
            .onFailure(SupervisorStrategy.restart()),
        "consumer-" + resolved.name() + "-" + (++incarnations));
    getContext().watchWith(ref, new ConsumerTerminated(resolved.name(), ref));
    consumers.put(resolved.name(), new ConsumerEntry(ref, resolved, start));
    watermarks.merge(start, 1, Integer::sum);
    getContext().getLog().debug("queue {}: consumer {} created at sequence {}", name, resolved.name(), start);
    answerWithInfo(ref, true, create.replyTo());
    return this;
  }

  private void answerWithInfo(ActorRef<ConsumerActor.Command> consumer, boolean created,
      ActorRef<StatusReply<Created<ConsumerInfo>>> replyTo) {
    getContext().askWithStatus(ConsumerInfo.class, consumer, settings.askTimeout(), ConsumerActor.GetInfo::new,
        (info, failure) -> new Answer<>(
            failure == null ? StatusReply.success(new Created<>(info, created)) : StatusReply.error(failure),
            replyTo));
  }

  private Behavior<Command> onAnswer(Answer<?> answer) {
    answer.deliver();
    return this;
  }

  private Behavior<Command> onDeleteConsumer(DeleteConsumer delete) {
    if (!remove(delete.consumer(), null)) {
      Request.fail(delete, new SpoolException.ConsumerNotFound(name, delete.consumer()));
      return this;
    }
    getContext().getLog().debug("queue {}: consumer {} deleted", name, delete.consumer());
    delete.replyTo().tell(StatusReply.success(Done.getInstance()));
    collectGarbage();
    return this;
  }

  /** Forgets a consumer (stopping it); with {@code onlyRef}, only if that is still its actor. */
  private boolean remove(String consumer, ActorRef<ConsumerActor.Command> onlyRef) {
    ConsumerEntry entry = consumers.get(consumer);
    if (entry == null || (onlyRef != null && !entry.ref.equals(onlyRef))) {
      return false;
    }
    consumers.remove(consumer);
    waiting.remove(entry.ref);
    watermarks.computeIfPresent(entry.watermark, (w, n) -> n == 1 ? null : n - 1);
    getContext().unwatch(entry.ref);
    getContext().stop(entry.ref);
    return true;
  }

  private Behavior<Command> onConsumerTerminated(ConsumerTerminated terminated) {
    if (remove(terminated.consumer(), terminated.ref())) {
      getContext().getLog().warn("queue {}: consumer {} stopped unexpectedly", name, terminated.consumer());
    }
    return this;
  }

  private Behavior<Command> onListConsumers(ListConsumers list) {
    if (consumers.isEmpty()) {
      list.replyTo().tell(StatusReply.success(List.of()));
      return this;
    }
    List<ActorRef<ConsumerActor.Command>> refs = consumers.values().stream().map(e -> e.ref).toList();
    getContext().spawnAnonymous(Aggregator.<ConsumerInfo, List<ConsumerInfo>>create(
        self -> refs.forEach(ref -> ref.tell(new ConsumerActor.GetInfo(self))),
        refs.size(),
        list.replyTo(),
        infos -> infos.stream().sorted(Comparator.comparing(ConsumerInfo::name)).toList(),
        settings.askTimeout()));
    return this;
  }

  private Behavior<Command> onToConsumer(ToConsumer envelope) {
    ConsumerEntry entry = consumers.get(envelope.consumer());
    if (entry != null) {
      entry.ref.tell(envelope.command());
    } else if (envelope.command() instanceof Request<?> request) {
      Request.fail(request, new SpoolException.ConsumerNotFound(name, envelope.consumer()));
    }
    return this;
  }

  // ---- garbage collection

  private Behavior<Command> onConsumerProgress(ConsumerProgress progress) {
    ConsumerEntry entry = consumers.get(progress.consumer());
    if (entry != null && entry.watermark != progress.watermark()) {
      watermarks.computeIfPresent(entry.watermark, (w, n) -> n == 1 ? null : n - 1);
      entry.watermark = progress.watermark();
      watermarks.merge(entry.watermark, 1, Integer::sum);
      collectGarbage();
    }
    return this;
  }

  /**
   * Frees whole segments below the lowest sequence any consumer still needs. Nothing at or past a
   * consumer's committed position is freed; with no consumers, nothing is.
   */
  private long collectGarbage() {
    if (watermarks.isEmpty() || !queueSettings.retention().isZero()) {
      return 0;
    }
    return log.truncateBefore(watermarks.firstKey());
  }
}
