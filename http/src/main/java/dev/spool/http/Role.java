package dev.spool.http;

import dev.spool.SpoolException;
import java.util.Locale;

/** What a bearer token may do (http-api.md, "Security"). */
public enum Role {
  /** Everything. */
  ADMIN,
  /** Publish to the queues its patterns match, and look at them. */
  PRODUCER,
  /** Create, read, acknowledge and steer consumers of the queues its patterns match, and look at them. */
  CONSUMER,
  /** Every GET: queues, consumers, messages, statistics, events, metrics. */
  VIEWER;

  /** The configuration name, e.g. {@code producer}. */
  static Role parse(String name) {
    try {
      return valueOf(name.trim().toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new SpoolException.InvalidConfiguration(
          "unknown role '" + name + "': use admin, producer, consumer or viewer");
    }
  }
}
