package dev.spool.consumer;

import dev.spool.AckMode;
import dev.spool.Backoff;
import dev.spool.ConsumerSettings;
import dev.spool.Delivery;
import dev.spool.HandlerSettings;
import dev.spool.Message;
import dev.spool.QueueSettings;
import dev.spool.SpoolEvent;
import dev.spool.durable.ConsumerPosition;
import dev.spool.log.SegmentedLog;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;

/**
 * A consumer's plain classes without its actor: a log of 1 KiB messages, a {@link ConsumerState},
 * its {@link Dispatcher} and {@link Settlements}, with the actor's side recorded instead of sent.
 */
final class ConsumerFixture implements Dispatcher.Outlet<String>, Settlements.Effects, HandlerCalls.Outlet {

  static final long T0 = Instant.parse("2026-11-30T10:00:00Z").toEpochMilli();
  static final byte[] KIB = new byte[1024];

  final SegmentedLog log = new SegmentedLog(16);
  final Clock clock = Clock.fixed(Instant.ofEpochMilli(T0), ZoneOffset.UTC);
  final ConsumerState<String> state;
  final Dispatcher<String> dispatcher;
  final Settlements settlements;
  final HandlerCalls handlerCalls;

  /** A handler call the actor would pipe back. */
  record Piped(long owner, long call, Delivery delivery, CompletionStage<Done> outcome) {}

  final List<Piped> piped = new ArrayList<>();
  final Map<Long, HandlerPoolTest.FakeBreaker> breakers = new HashMap<>();
  /** The timeout checks' interval as last armed; {@code null} when cancelled. */
  Duration timeoutChecks;
  final List<String> drainDeadlines = new ArrayList<>();

  final List<Delivery> pulled = new ArrayList<>();
  final List<String> sent = new ArrayList<>();
  final List<List<Delivery>> batches = new ArrayList<>();
  /** The owner each of {@link #batches} went to. */
  final List<Long> batchOwners = new ArrayList<>();
  final List<Delivery> called = new ArrayList<>();
  final List<SpoolEvent> events = new ArrayList<>();
  final List<Long> ackDeadlines = new ArrayList<>();
  final List<Long> awaits = new ArrayList<>();
  final List<Long> progress = new ArrayList<>();
  final List<String> positions = new ArrayList<>();
  final Map<ConsumerStats.Total, Long> totals = new EnumMap<>(ConsumerStats.Total.class);
  final List<Long> settledBatches = new ArrayList<>();
  final List<String> retries = new ArrayList<>();
  final List<String> givenUp = new ArrayList<>();
  final List<String> parked = new ArrayList<>();
  int yields;

  ConsumerFixture(ConsumerSettings settings, QueueSettings.DeadLetter deadLetter, int messages) {
    append(messages);
    ConsumerSettings resolved = settings.prefetch() == null ? settings.prefetch(10) : settings;
    resolved = resolved.ackTimeout() == null ? resolved.ackTimeout(Duration.ofSeconds(30)) : resolved;
    resolved = resolved.backoff() == null
        ? resolved.backoff(Backoff.exponential(Duration.ofMillis(100), Duration.ofSeconds(1), 2.0, 0)) : resolved;
    state = new ConsumerState<>("orders", resolved, deadLetter, 1, 0, T0, 1000);
    dispatcher = new Dispatcher<>("c", state, log, 100, 16, this, clock);
    settlements = new Settlements("c", state, log, dispatcher, this);
    handlerCalls = new HandlerCalls("c", state, settlements, this, clock);
  }

  static ConsumerFixture explicit(int prefetch, int messages) {
    return new ConsumerFixture(ConsumerSettings.named("c").prefetch(prefetch), null, messages);
  }

  static ConsumerFixture none(int prefetch, int messages) {
    return new ConsumerFixture(ConsumerSettings.named("c").ackMode(AckMode.NONE).prefetch(prefetch), null, messages);
  }

  static Message message(long sequence) {
    return Message.of("order", KIB).appended(sequence, T0 - 60_000 + sequence, "producer");
  }

  void append(int count) {
    for (int i = 0; i < count; i++) {
      log.append(message(log.nextSequence()));
    }
  }

  static List<Long> sequences(List<Delivery> deliveries) {
    return deliveries.stream().map(Delivery::sequence).toList();
  }

  /** Replies go straight to their (test inbox) recipients, as the actor sends them. */
  static final Replies TELL = new Replies() {
    @Override
    public <T> void reply(ActorRef<StatusReply<T>> to, StatusReply<T> reply) {
      to.tell(reply);
    }
  };

  @Override
  public <T> void reply(ActorRef<StatusReply<T>> to, StatusReply<T> reply) {
    to.tell(reply);
  }

  @Override
  public void answer(Subscribers.ParkedRead read, List<Delivery> deliveries) {
    pulled.addAll(deliveries);
  }

  @Override
  public void send(Subscribers.ActorSubscriber subscriber, Delivery delivery) {
    sent.add(subscriber.owner() + ":" + delivery.sequence());
  }

  @Override
  public void send(Subscribers.StreamSubscriber<String> stream, List<Delivery> batch) {
    batches.add(batch);
    batchOwners.add(stream.owner());
  }

  @Override
  public void call(HandlerPool.Handler handler, Delivery delivery) {
    handlerCalls.call(handler, delivery);
    called.add(delivery);
  }

  @Override
  public Executor executor(String name) {
    if (!name.equals("spool.handler-dispatcher")) {
      throw new IllegalArgumentException("no such dispatcher");
    }
    return Runnable::run;
  }

  @Override
  public HandlerPool.Breaker breaker(long owner, HandlerSettings settings) {
    HandlerPoolTest.FakeBreaker breaker = new HandlerPoolTest.FakeBreaker();
    breakers.put(owner, breaker);
    return breaker;
  }

  @Override
  public void pipe(CompletionStage<Done> outcome, long owner, long call, Delivery delivery) {
    piped.add(new Piped(owner, call, delivery, outcome));
  }

  @Override
  public void checkTimeoutsEvery(Duration interval) {
    timeoutChecks = interval;
  }

  @Override
  public void drainDeadline(Duration timeout) {
    drainDeadlines.add(timeout == null ? "cancelled" : "in " + timeout.toMillis() + " ms");
  }

  @Override
  public void yieldRounds() {
    yields++;
  }

  @Override
  public void publish(SpoolEvent event) {
    events.add(event);
  }

  @Override
  public void add(ConsumerStats.Total total, long count) {
    totals.merge(total, count, Long::sum);
  }

  long total(ConsumerStats.Total total) {
    return totals.getOrDefault(total, 0L);
  }

  @Override
  public void ackDeadline(long batch) {
    ackDeadlines.add(batch);
  }

  @Override
  public void awaitMessages(long after) {
    awaits.add(after);
  }

  /** Loads of cold segments asked for, by the sequence that needed one. */
  final List<Long> loads = new ArrayList<>();
  /** Dead letters waiting for their cold segment. */
  final List<Long> giveUpLoads = new ArrayList<>();

  @Override
  public void load(long sequence) {
    loads.add(sequence);
  }

  @Override
  public void giveUpWhenLoaded(long sequence, int attempts, String reason) {
    giveUpLoads.add(sequence);
  }

  @Override
  public void progressed(long watermark) {
    progress.add(watermark);
  }

  @Override
  public void positionChanged(long version, ConsumerPosition position) {
    positions.add(version + ": next " + position.next());
  }

  @Override
  public void batchSettled(long batch) {
    settledBatches.add(batch);
  }

  @Override
  public void retryAfter(long sequence, Duration delay) {
    retries.add(sequence + " after " + delay.toMillis() + " ms");
  }

  @Override
  public void deadLetter(String queue, Message message, int attempts, String reason) {
    givenUp.add(message.sequence() + " after " + attempts + " (" + reason + ")");
  }


  @Override
  public void parked(Subscribers.ParkedRead read, Duration wait) {
    parked.add(read.id() + " for " + wait.toMillis() + " ms");
  }
}
