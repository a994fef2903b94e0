package dev.spool;

/**
 * A message handed to a subscriber of a consumer.
 *
 * @param consumer the consumer it was delivered through
 * @param message the shared, immutable message
 * @param attempt delivery attempt, 1 for the first delivery, growing with each redelivery
 * @since 0.1.0
 */
public record Delivery(String consumer, Message message, int attempt) {

  /** The message's sequence in its queue. */
  public long sequence() {
    return message.sequence();
  }
}
