package dev.spool.http;

/**
 * What a route needs a principal to be allowed: checked by {@link Principal#may}.
 *
 * @param kind the kind of access
 * @param queue the queue concerned, {@code null} for service-wide access
 */
public record Access(Kind kind, String queue) {

  /** Kinds of access, from the least to the most privileged in spirit. */
  public enum Kind {
    /** Service-wide reads: lists, statistics, events, metrics. */
    VIEW,
    /** Reads about one queue. */
    VIEW_QUEUE,
    /** Publishing to one queue. */
    PUBLISH,
    /** Reading, acknowledging and steering consumers of one queue. */
    CONSUME,
    /** Creating and deleting queues, and every service-wide change. */
    ADMIN
  }

  public static final Access VIEW = new Access(Kind.VIEW, null);
  public static final Access ADMIN = new Access(Kind.ADMIN, null);

  public static Access viewQueue(String queue) {
    return new Access(Kind.VIEW_QUEUE, queue);
  }

  public static Access publish(String queue) {
    return new Access(Kind.PUBLISH, queue);
  }

  public static Access consume(String queue) {
    return new Access(Kind.CONSUME, queue);
  }
}
