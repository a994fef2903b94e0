package dev.spool;

import java.time.Instant;
import java.util.List;

/**
 * One retained message and what happened to it: appended, then per consumer delivered (to which
 * subscriber, which attempt), acked, nacked, failed, timed out, dead-lettered. Each consumer keeps
 * its most recent delivery events in a bounded ring ({@code spool.consumer.trace-events}); for
 * what the ring no longer holds, the consumer's position says where the message stands, and such
 * an entry has no time.
 *
 * @param message the message
 * @param entries oldest first, the {@code appended} entry first
 */
public record MessageTrace(Message message, List<Entry> entries) {

  /**
   * One step.
   *
   * @param event {@code appended}, {@code delivered}, {@code acked}, {@code nacked}, {@code failed},
   *     {@code timed-out}, {@code dead-lettered}, {@code dropped}, {@code in-flight},
   *     {@code waiting}, {@code pending} or {@code filtered}
   * @param consumer the consumer it concerns, {@code null} for {@code appended}
   * @param at when, or {@code null} when derived from the consumer's position
   * @param attempt the delivery attempt, 0 when not about one
   * @param subscriber which of the consumer's subscribers (e.g. {@code pull}, {@code handler-3}), or {@code null}
   */
  public record Entry(String event, String consumer, Instant at, int attempt, String subscriber) {}
}
