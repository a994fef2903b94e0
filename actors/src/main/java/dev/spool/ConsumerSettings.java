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
 * @param push where it pushes each message over HTTP, or {@code null} for a consumer its subscribers
 *     and readers pull from; a push consumer acknowledges explicitly, and its {@code prefetch} is at
 *     least the push's {@code maxOutstanding}
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
    boolean exclusive,
    PushSettings push) {

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
    if (push != null && ackMode != AckMode.EXPLICIT) {
      throw new SpoolException.InvalidConfiguration("a push consumer acknowledges explicitly: its ackMode must be explicit");
    }
    if (push != null && prefetch != null && prefetch < push.maxOutstanding()) {
      throw new SpoolException.InvalidConfiguration("a push consumer's prefetch (" + prefetch
          + ") must be at least its push maxOutstanding (" + push.maxOutstanding() + ")");
    }
  }

  /** Settings for a consumer called {@code name}, everything else default. */
  public static ConsumerSettings named(String name) {
    return new ConsumerSettings(name, StartPosition.earliest(), AckMode.EXPLICIT, null, null, null,
        MessageFilter.ALL, null, null, false, null);
  }

  /** These settings with another start position. */
  public ConsumerSettings startAt(StartPosition startAt) {
    return new ConsumerSettings(name, startAt, ackMode, prefetch, ackTimeout, maxDeliveries, filter,
        backoff, inactiveTimeout, exclusive, push);
  }

  /** These settings with another ack mode. */
  public ConsumerSettings ackMode(AckMode ackMode) {
    return new ConsumerSettings(name, startAt, ackMode, prefetch, ackTimeout, maxDeliveries, filter,
        backoff, inactiveTimeout, exclusive, push);
  }

  /** These settings with another prefetch: deliveries unacknowledged at once. */
  public ConsumerSettings prefetch(int prefetch) {
    return new ConsumerSettings(name, startAt, ackMode, prefetch, ackTimeout, maxDeliveries, filter,
        backoff, inactiveTimeout, exclusive, push);
  }

  /** These settings with another ack timeout. */
  public ConsumerSettings ackTimeout(Duration ackTimeout) {
    return new ConsumerSettings(name, startAt, ackMode, prefetch, ackTimeout, maxDeliveries, filter,
        backoff, inactiveTimeout, exclusive, push);
  }

  /** These settings with another limit of deliveries per message. */
  public ConsumerSettings maxDeliveries(int maxDeliveries) {
    return new ConsumerSettings(name, startAt, ackMode, prefetch, ackTimeout, maxDeliveries, filter,
        backoff, inactiveTimeout, exclusive, push);
  }

  /** These settings with another filter. */
  public ConsumerSettings filter(MessageFilter filter) {
    return new ConsumerSettings(name, startAt, ackMode, prefetch, ackTimeout, maxDeliveries, filter,
        backoff, inactiveTimeout, exclusive, push);
  }

  /** These settings with another redelivery backoff. */
  public ConsumerSettings backoff(Backoff backoff) {
    return new ConsumerSettings(name, startAt, ackMode, prefetch, ackTimeout, maxDeliveries, filter,
        backoff, inactiveTimeout, exclusive, push);
  }

  /** These settings with another inactivity timeout, after which the consumer is removed. */
  public ConsumerSettings inactiveTimeout(Duration inactiveTimeout) {
    return new ConsumerSettings(name, startAt, ackMode, prefetch, ackTimeout, maxDeliveries, filter, backoff,
        inactiveTimeout, exclusive, push);
  }

  /** Without exclusive delivery: every attached subscriber receives. */
  public ConsumerSettings(String name, StartPosition startAt, AckMode ackMode, Integer prefetch, Duration ackTimeout,
      Integer maxDeliveries, MessageFilter filter, Backoff backoff, Duration inactiveTimeout) {
    this(name, startAt, ackMode, prefetch, ackTimeout, maxDeliveries, filter, backoff, inactiveTimeout, false, null);
  }

  /** Without push: subscribers and readers pull. */
  public ConsumerSettings(String name, StartPosition startAt, AckMode ackMode, Integer prefetch, Duration ackTimeout,
      Integer maxDeliveries, MessageFilter filter, Backoff backoff, Duration inactiveTimeout, boolean exclusive) {
    this(name, startAt, ackMode, prefetch, ackTimeout, maxDeliveries, filter, backoff, inactiveTimeout, exclusive,
        null);
  }

  /**
   * These settings pushing to an HTTP endpoint ({@code null}: pulled). Its prefetch is raised to the
   * push's {@code maxOutstanding} when set lower, or unset, and its ack timeout follows the push's
   * deadline when unset.
   */
  public ConsumerSettings push(PushSettings push) {
    Integer raised = push == null || (prefetch != null && prefetch >= push.maxOutstanding())
        ? prefetch : Integer.valueOf(push.maxOutstanding());
    Duration deadline = push != null && ackTimeout == null ? push.ackDeadline() : ackTimeout;
    return new ConsumerSettings(name, startAt, ackMode, raised, deadline, maxDeliveries, filter, backoff,
        inactiveTimeout, exclusive, push);
  }

  /**
   * Whether {@code other} describes the same consumer: equal, except that two pushes alike but for
   * their nonce are the same (creating a push consumer again keeps the secret it has).
   */
  public boolean sameAs(ConsumerSettings other) {
    if (other == null) {
      return false;
    }
    if (push == null || other.push == null) {
      return equals(other);
    }
    return push.sameDelivery(other.push) && push(null).equals(other.push(null));
  }

  /**
   * One subscriber at a time receives (RabbitMQ's single active consumer): the first attached; the
   * others wait as hot standbys and the next in attach order takes over, with what was in flight,
   * when it goes away.
   */
  public ConsumerSettings exclusive(boolean exclusive) {
    return new ConsumerSettings(name, startAt, ackMode, prefetch, ackTimeout, maxDeliveries, filter, backoff,
        inactiveTimeout, exclusive, push);
  }

  /** These settings with every unset value taken from {@code defaults}. */
  public ConsumerSettings withDefaults(SpoolSettings.ConsumerDefaults defaults) {
    return new ConsumerSettings(name, startAt, ackMode,
        prefetch != null ? prefetch
            : push != null ? Math.max(defaults.prefetch(), push.maxOutstanding()) : defaults.prefetch(),
        ackTimeout != null ? ackTimeout : push != null ? push.ackDeadline() : defaults.ackTimeout(),
        maxDeliveries,
        filter,
        backoff != null ? backoff : defaults.backoff(),
        inactiveTimeout, exclusive, push);
  }
}
