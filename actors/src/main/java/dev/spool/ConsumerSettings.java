package dev.spool;

import java.time.Duration;

/**
 * A consumer's settings (semantics.md, "Consumers"). Built with {@link #named} and refined with the
 * builder-style methods; each returns a new value. Settings left unset take the engine's defaults
 * from {@code spool.consumer} in {@code reference.conf} when the consumer is created.
 *
 * @param name the consumer's name, unique within its queue
 * @param startAt where it starts reading; {@code earliest} unless set
 * @param ackMode at-most-once or at-least-once; {@code EXPLICIT} unless set
 * @param prefetch max unacknowledged deliveries in flight, or {@code null} for the default
 * @param ackTimeout redelivery deadline of an unacknowledged delivery, or {@code null} for the default
 * @param maxDeliveries deliveries before dead-lettering, or {@code null} for the queue's rule
 * @param filter which messages it wants
 * @param backoff redelivery delay after a nack, or {@code null} for the default
 * @param inactiveTimeout remove the consumer automatically after this long with no subscriber, read
 *     or acknowledgement, or {@code null} to keep it until deleted
 * @param exclusive one subscriber at a time receives (the first attached of those attached; the
 *     others wait as hot standbys and take over in the order they attached when it goes away); pull
 *     reads receive only while no subscriber is attached
 * @since 0.1.0
 */
public record ConsumerSettings(
    String name,
    StartPosition startAt,
    AckMode ackMode,
    Integer prefetch,
    Duration ackTimeout,
    Integer maxDeliveries,
    MessageFilter filter,
    Backoff backoff,
    Duration inactiveTimeout,
    boolean exclusive) {

  /** Checks the components; a value out of range fails with {@link SpoolException.InvalidConfiguration}. */
  public ConsumerSettings {
    if (startAt == null || ackMode == null || filter == null) {
      throw new SpoolException.InvalidConfiguration("startAt, ackMode and filter are required");
    }
    if (prefetch != null && (prefetch < 1 || prefetch > 100_000)) {
      throw new SpoolException.InvalidConfiguration("prefetch must be between 1 and 100000, not " + prefetch);
    }
    Limits.timer("ackTimeout", ackTimeout);
    Limits.age("inactiveTimeout", inactiveTimeout);
    if (ackTimeout != null && (ackTimeout.isNegative() || ackTimeout.isZero())) {
      throw new SpoolException.InvalidConfiguration("ackTimeout must be positive");
    }
    if (maxDeliveries != null && maxDeliveries < 1) {
      throw new SpoolException.InvalidConfiguration("maxDeliveries must be 1 or more");
    }
    if (inactiveTimeout != null && (inactiveTimeout.isNegative() || inactiveTimeout.isZero())) {
      throw new SpoolException.InvalidConfiguration("inactiveTimeout must be positive");
    }
  }

  /** Settings for a consumer called {@code name}, everything else default. */
  public static ConsumerSettings named(String name) {
    return new ConsumerSettings(name, StartPosition.earliest(), AckMode.EXPLICIT, null, null, null,
        MessageFilter.ALL, null, null, false);
  }

  /** These settings with another start position. */
  public ConsumerSettings startAt(StartPosition startAt) {
    return new ConsumerSettings(name, startAt, ackMode, prefetch, ackTimeout, maxDeliveries, filter,
        backoff, inactiveTimeout, exclusive);
  }

  /** These settings with another ack mode. */
  public ConsumerSettings ackMode(AckMode ackMode) {
    return new ConsumerSettings(name, startAt, ackMode, prefetch, ackTimeout, maxDeliveries, filter,
        backoff, inactiveTimeout, exclusive);
  }

  /** These settings with another prefetch: deliveries unacknowledged at once. */
  public ConsumerSettings prefetch(int prefetch) {
    return new ConsumerSettings(name, startAt, ackMode, prefetch, ackTimeout, maxDeliveries, filter,
        backoff, inactiveTimeout, exclusive);
  }

  /** These settings with another ack timeout. */
  public ConsumerSettings ackTimeout(Duration ackTimeout) {
    return new ConsumerSettings(name, startAt, ackMode, prefetch, ackTimeout, maxDeliveries, filter,
        backoff, inactiveTimeout, exclusive);
  }

  /** These settings with another limit of deliveries per message. */
  public ConsumerSettings maxDeliveries(int maxDeliveries) {
    return new ConsumerSettings(name, startAt, ackMode, prefetch, ackTimeout, maxDeliveries, filter,
        backoff, inactiveTimeout, exclusive);
  }

  /** These settings with another filter. */
  public ConsumerSettings filter(MessageFilter filter) {
    return new ConsumerSettings(name, startAt, ackMode, prefetch, ackTimeout, maxDeliveries, filter,
        backoff, inactiveTimeout, exclusive);
  }

  /** These settings with another redelivery backoff. */
  public ConsumerSettings backoff(Backoff backoff) {
    return new ConsumerSettings(name, startAt, ackMode, prefetch, ackTimeout, maxDeliveries, filter,
        backoff, inactiveTimeout, exclusive);
  }

  /** These settings with another inactivity timeout, after which the consumer is removed. */
  public ConsumerSettings inactiveTimeout(Duration inactiveTimeout) {
    return new ConsumerSettings(name, startAt, ackMode, prefetch, ackTimeout, maxDeliveries, filter, backoff,
        inactiveTimeout, exclusive);
  }

  /** Without exclusive delivery: every attached subscriber receives. */
  public ConsumerSettings(String name, StartPosition startAt, AckMode ackMode, Integer prefetch, Duration ackTimeout,
      Integer maxDeliveries, MessageFilter filter, Backoff backoff, Duration inactiveTimeout) {
    this(name, startAt, ackMode, prefetch, ackTimeout, maxDeliveries, filter, backoff, inactiveTimeout, false);
  }

  /**
   * One subscriber at a time receives (RabbitMQ's single active consumer): the first attached; the
   * others wait as hot standbys and the next in attach order takes over, with what was in flight,
   * when it goes away.
   */
  public ConsumerSettings exclusive(boolean exclusive) {
    return new ConsumerSettings(name, startAt, ackMode, prefetch, ackTimeout, maxDeliveries, filter, backoff,
        inactiveTimeout, exclusive);
  }

  /** These settings with every unset value taken from {@code defaults}. */
  public ConsumerSettings withDefaults(SpoolSettings.ConsumerDefaults defaults) {
    return new ConsumerSettings(name, startAt, ackMode,
        prefetch != null ? prefetch : defaults.prefetch(),
        ackTimeout != null ? ackTimeout : defaults.ackTimeout(),
        maxDeliveries,
        filter,
        backoff != null ? backoff : defaults.backoff(),
        inactiveTimeout, exclusive);
  }
}
