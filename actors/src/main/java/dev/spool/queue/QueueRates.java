package dev.spool.queue;

/**
 * A queue's publish and delivery rates, per second, over the interval between two samples (the
 * janitor's ticks): what its stats report between them.
 *
 * <p>Single-threaded: driven by the owning {@code QueueActor}, on its own thread.
 */
public final class QueueRates {

  private long sampledAt;
  private long sampledPublished;
  private long sampledDelivered;
  private double publishRate;
  private double deliverRate;

  /** @param now epoch ms: the first interval starts here */
  public QueueRates(long now) {
    this.sampledAt = now;
  }

  /**
   * Ends the interval at {@code now} (epoch ms) with the queue's running totals; a clock that did not
   * move keeps the last rates rather than divide by nothing.
   */
  public void sample(long now, long published, long delivered) {
    long elapsed = now - sampledAt;
    if (elapsed <= 0) {
      return;
    }
    publishRate = (published - sampledPublished) * 1000.0 / elapsed;
    deliverRate = (delivered - sampledDelivered) * 1000.0 / elapsed;
    sampledAt = now;
    sampledPublished = published;
    sampledDelivered = delivered;
  }

  /** Messages published per second over the last interval. */
  public double publishRate() {
    return publishRate;
  }

  /** Deliveries (redeliveries included) per second over the last interval. */
  public double deliverRate() {
    return deliverRate;
  }
}
