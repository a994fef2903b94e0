package dev.spool.durable;

import dev.spool.QueueSettings;
import java.util.Map;

/** What the registry of durable queues journals: which durable queues exist. */
public sealed interface RegistryEvent extends Journaled {

  /**
   * A durable queue was created.
   *
   * @param incarnation part of the queue's persistence id: a queue deleted and created again
   *     starts from an empty journal
   * @param idSeed the high half of ids of messages the producer gave none, kept so that ids stay
   *     the same across restarts
   */
  record QueueDefined(String name, QueueSettings settings, String incarnation, long idSeed) implements RegistryEvent {}

  /** A durable queue was deleted. */
  record QueueRemoved(String name) implements RegistryEvent {}

  /** Every durable queue at one point (the registry's snapshot). */
  record Queues(Map<String, QueueDefined> queues) implements RegistryEvent {}
}
