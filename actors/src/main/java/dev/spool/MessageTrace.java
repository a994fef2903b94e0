package dev.spool;

import java.time.Instant;
import java.util.List;

/**
 * One retained message and what happened to it: {@code appended}, then per consumer the events it
 * recorded — {@code delivered} (when, which attempt, to which subscriber), {@code nacked},
 * {@code failed}, {@code timed-out}, {@code acked}, {@code dead-lettered}, {@code dropped},
 * {@code expired}, {@code skipped} (a seek passed over it) — and, without a time, what its position
 * makes certain: {@code in-flight}, {@code waiting}, {@code dead-lettering}, {@code pending},
 * {@code before-start} (the consumer started after it), {@code filtered} (its filter refuses it).
 *
 * <p>A queue's consumers keep {@code spool.consumer.trace-events-per-queue} events together, each
 * an even share. When a consumer's share overwrote older events of this message (or a durable
 * queue's restart lost them), its part begins with {@code events-dropped}, and if the event that
 * settled the message is gone too, it ends with {@code settled}: finished with, how is no longer
 * known. An outcome is never derived from the position alone.
 *
 * @param message the message
 * @param entries {@code appended} first, then in time order; each consumer's entries keep their
 *     order, and untimed ones stand before that consumer's next timed entry, or last
 * @since 0.1.0
 */
public record MessageTrace(Message message, List<Entry> entries) {

  /**
   * One step.
   *
   * @param event {@code appended}, {@code delivered}, {@code acked}, {@code nacked}, {@code failed},
   *     {@code timed-out}, {@code dead-lettered}, {@code dropped}, {@code expired}, {@code skipped},
   *     {@code in-flight}, {@code waiting}, {@code dead-lettering}, {@code pending},
   *     {@code before-start}, {@code filtered}, {@code events-dropped} or {@code settled}
   * @param consumer the consumer it concerns, {@code null} for {@code appended}
   * @param at when, or {@code null} for what the consumer's position says (and {@code events-dropped})
   * @param attempt the delivery attempt, 0 when not about one
   * @param subscriber which of the consumer's subscribers (e.g. {@code pull}, {@code handler-3}), or {@code null}
   */
  public record Entry(String event, String consumer, Instant at, int attempt, String subscriber) {}
}
