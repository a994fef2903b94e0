package dev.spool.testkit;

import dev.spool.ConsumerInfo;
import dev.spool.Message;
import dev.spool.MessageTrace;
import dev.spool.QueueSettings;
import dev.spool.SpoolEvent;
import dev.spool.SpoolException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * What one consumer of a queue received, acknowledged and dead-lettered, as the engine itself
 * reports it: the consumer's figures and position ({@link ConsumerInfo}), each retained message's
 * delivery trace ({@link MessageTrace}), Spool's {@link SpoolEvent.DeadLettered} events and the
 * copies in the dead-letter queue. Works for any kind of subscriber (pull reads, actors, streams,
 * handlers). Obtained from {@link SpoolTestKit#consumer}.
 *
 * @since 0.1.0
 */
public final class ConsumerProbe {

  private final SpoolTestKit kit;
  private final String queue;
  private final String consumer;

  ConsumerProbe(SpoolTestKit kit, String queue, String consumer) {
    this.kit = kit;
    this.queue = queue;
    this.consumer = consumer;
  }

  /** The consumer's position and figures now. */
  public ConsumerInfo info() {
    return kit.result(kit.spool().consumerInfo(queue, consumer));
  }

  /** Waits until the consumer exists and has had at least {@code count} deliveries, redeliveries included. */
  public ConsumerInfo awaitDeliveredCount(long count) {
    return awaitInfo("at least " + count + " deliveries", i -> i.counters().delivered() >= count);
  }

  /** Waits until the consumer has acknowledged at least {@code count} deliveries. */
  public ConsumerInfo awaitAcknowledgedCount(long count) {
    return awaitInfo("at least " + count + " acknowledgements", i -> i.counters().acked() >= count);
  }

  /**
   * Waits until the consumer is done with everything its queue holds: its committed position is the
   * queue's last sequence and nothing is in flight or waiting to be redelivered.
   */
  public ConsumerInfo awaitCaughtUp() {
    return awaitInfo("caught up", i -> i.committed() == i.lastSequence() && i.inFlight() == 0 && i.waiting() == 0);
  }

  /**
   * Waits until the consumer acknowledged each of {@code sequences}: the message's trace shows
   * {@code acked} for it while the queue retains the message; once released, its committed position
   * has passed it and it was not dead-lettered, dropped or expired.
   */
  public ConsumerProbe awaitAcknowledged(long... sequences) {
    kit.awaitAsserted(queue + "/" + consumer + " acknowledging " + Arrays.toString(sequences),
        () -> assertAcknowledged(sequences));
    return this;
  }

  /** {@link #awaitAcknowledged} without waiting: asserts that the consumer acknowledged each of {@code sequences} now. */
  public ConsumerProbe assertAcknowledged(long... sequences) {
    List<Long> missing = new ArrayList<>();
    for (long sequence : sequences) {
      if (!acknowledged(sequence)) {
        missing.add(sequence);
      }
    }
    if (!missing.isEmpty()) {
      throw new AssertionError(queue + "/" + consumer + " has not acknowledged " + missing + "; " + info());
    }
    return this;
  }

  /**
   * Asserts that the consumer has not acknowledged {@code sequence} now: it was delivered and not
   * acknowledged, or not delivered yet.
   */
  public ConsumerProbe assertNotAcknowledged(long sequence) {
    if (acknowledged(sequence)) {
      throw new AssertionError(queue + "/" + consumer + " acknowledged " + sequence);
    }
    return this;
  }

  private boolean acknowledged(long sequence) {
    Optional<MessageTrace> trace = trace(sequence);
    if (trace.isPresent()) {
      return trace.get().entries().stream().anyMatch(e -> consumer.equals(e.consumer()) && e.event().equals("acked"));
    }
    return info().committed() >= sequence && !removedOtherwise(sequence);
  }

  /** Whether Spool reported {@code sequence} dead-lettered, dropped or expired for this consumer. */
  private boolean removedOtherwise(long sequence) {
    for (SpoolEvent event : kit.events()) {
      if (event instanceof SpoolEvent.DeadLettered d && mine(d.queue(), d.consumer()) && d.sequence() == sequence
          || event instanceof SpoolEvent.MessagesDropped r && mine(r.queue(), r.consumer())
              && r.firstSequence() <= sequence && sequence <= r.lastSequence()
          || event instanceof SpoolEvent.MessagesExpired e && mine(e.queue(), e.consumer())
              && e.firstSequence() <= sequence && sequence <= e.lastSequence()) {
        return true;
      }
    }
    return false;
  }

  private boolean mine(String eventQueue, String eventConsumer) {
    return queue.equals(eventQueue) && consumer.equals(eventConsumer);
  }

  /** Every attempt the consumer had at {@code sequence} so far, from the message's trace (empty once released). */
  public List<Integer> deliveryAttempts(long sequence) {
    return trace(sequence).map(t -> t.entries().stream()
        .filter(e -> consumer.equals(e.consumer()) && e.event().equals("delivered"))
        .map(MessageTrace.Entry::attempt)
        .toList()).orElse(List.of());
  }

  /**
   * The retained message at {@code sequence} with its trace, or empty once the queue released it
   * (every consumer acknowledged it and the queue's retention passed).
   */
  public Optional<MessageTrace> trace(long sequence) {
    try {
      return Optional.of(kit.result(kit.spool().messageTrace(queue, sequence)));
    } catch (SpoolException.SequenceOutOfRange released) {
      return Optional.empty();
    }
  }

  /** The messages this consumer dead-lettered so far (Spool's {@link SpoolEvent.DeadLettered} events), in order. */
  public List<SpoolEvent.DeadLettered> deadLettered() {
    return kit.events(SpoolEvent.DeadLettered.class).stream().filter(d -> mine(d.queue(), d.consumer())).toList();
  }

  /**
   * Waits until the consumer has dead-lettered exactly {@code sequences} (in any order) and returns
   * their events. Fails at once if it dead-lettered another message.
   */
  public List<SpoolEvent.DeadLettered> awaitDeadLettered(long... sequences) {
    kit.awaitAsserted(queue + "/" + consumer + " dead-lettering " + Arrays.toString(sequences), () -> {
      Set<Long> actual = deadLetteredSequences();
      if (!expected(sequences).containsAll(actual)) {
        throw new IllegalStateException(queue + "/" + consumer + " dead-lettered " + actual + ", expected only "
            + expected(sequences));
      }
      assertDeadLettered(sequences);
    });
    return deadLettered();
  }

  /** {@link #awaitDeadLettered} without waiting: asserts that the consumer has dead-lettered exactly {@code sequences} now. */
  public ConsumerProbe assertDeadLettered(long... sequences) {
    Set<Long> actual = deadLetteredSequences();
    if (!actual.equals(expected(sequences))) {
      throw new AssertionError(queue + "/" + consumer + " dead-lettered " + actual + ", not " + expected(sequences));
    }
    return this;
  }

  private Set<Long> deadLetteredSequences() {
    return deadLettered().stream().map(SpoolEvent.DeadLettered::sequence).collect(Collectors.toCollection(TreeSet::new));
  }

  private static Set<Long> expected(long... sequences) {
    return Arrays.stream(sequences).boxed().collect(Collectors.toCollection(TreeSet::new));
  }

  /** Asserts that the consumer dead-lettered nothing so far. */
  public ConsumerProbe assertNothingDeadLettered() {
    List<SpoolEvent.DeadLettered> dead = deadLettered();
    if (!dead.isEmpty()) {
      throw new AssertionError(queue + "/" + consumer + " dead-lettered " + dead);
    }
    return this;
  }

  /**
   * The copies of this consumer's dead letters that the queue's dead-letter queue retains, oldest
   * first, each with its {@code x-death-*} headers (reason, count, history of attempts).
   *
   * @throws AssertionError if the queue has no dead-letter queue
   */
  public List<Message> deadLetterCopies() {
    QueueSettings.DeadLetter dlq = kit.result(kit.spool().queueInfo(queue)).settings().deadLetter();
    if (dlq == null) {
      throw new AssertionError(queue + " has no dead-letter queue");
    }
    return kit.result(kit.spool().browse(dlq.queue(), 1, 10_000)).stream()
        .filter(m -> queue.equals(m.headers().get("x-death-queue")) && consumer.equals(m.headers().get("x-death-consumer")))
        .toList();
  }

  private ConsumerInfo awaitInfo(String what, java.util.function.Predicate<ConsumerInfo> done) {
    List<ConsumerInfo> last = new ArrayList<>(List.of());
    kit.awaitAsserted(queue + "/" + consumer + " " + what, () -> {
      ConsumerInfo info = info();
      last.clear();
      last.add(info);
      if (!done.test(info)) {
        throw new AssertionError(queue + "/" + consumer + " is not " + what + ": " + info);
      }
    });
    return last.get(0);
  }

  @Override
  public String toString() {
    return "ConsumerProbe(" + queue + "/" + consumer + ")";
  }
}
