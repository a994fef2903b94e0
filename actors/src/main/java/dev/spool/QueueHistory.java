package dev.spool;

import java.util.List;

/**
 * A queue's recent figures and its consumers', sampled on the janitor's ticks every
 * {@code intervalMs} and kept for {@code retainMs}: what an operator charts to see whether lag
 * grows, when dead-lettering began and what a drop or refusal followed.
 *
 * @param queue the queue
 * @param intervalMs time between samples
 * @param retainMs how far back samples are kept; older ones are dropped
 * @param samples the queue's samples, oldest first
 * @param consumers each consumer's samples, by consumer name
 * @since 0.1.0
 */
public record QueueHistory(String queue, long intervalMs, long retainMs, List<Sample> samples,
    List<ConsumerHistory> consumers) {

  /** Keeps copies of the collections: the record never changes. */
  public QueueHistory {
    samples = List.copyOf(samples);
    consumers = List.copyOf(consumers);
  }

  /**
   * The queue at one sample. Rates are per second over the interval that ends at {@code at}; the
   * counts are what happened in that interval.
   *
   * @param at epoch ms
   * @param depth retained messages
   * @param bytes retained bytes
   * @param inFlight deliveries in flight over all consumers
   * @param publishRate messages appended per second
   * @param deliverRate deliveries per second, redeliveries included
   * @param deadLettered messages moved to the dead-letter queue
   * @param dropped messages dropped (overflow, eviction, or past their delivery limit with no dead-letter queue)
   * @param expired messages expired
   * @param refused messages whose publish was refused with {@code QueueFull} (queue, memory or disk full)
   */
  public record Sample(long at, long depth, long bytes, int inFlight, double publishRate, double deliverRate,
      long deadLettered, long dropped, long expired, long refused) {}

  /** One consumer's samples, oldest first. */
  public record ConsumerHistory(String consumer, List<ConsumerSample> samples) {

    /** Keeps copies of the collections: the record never changes. */
    public ConsumerHistory {
      samples = List.copyOf(samples);
    }
  }

  /**
   * A consumer at one sample: rates per second and counts over the interval that ends at {@code at}.
   *
   * @param at epoch ms
   * @param lag messages not yet acknowledged
   * @param lagAgeMs age of the oldest of them
   * @param inFlight deliveries in flight
   * @param deliverRate deliveries per second, redeliveries included
   * @param ackRate acknowledgements per second
   * @param nacked negative acknowledgements
   * @param deadLettered messages it sent to the dead-letter queue
   * @param errors handler calls that failed or timed out
   * @param dropped messages dropped before it acknowledged them (overflow, eviction)
   * @param expired messages that expired before it acknowledged them
   */
  public record ConsumerSample(long at, long lag, long lagAgeMs, int inFlight, double deliverRate, double ackRate,
      long nacked, long deadLettered, long errors, long dropped, long expired) {}

  /** The samples taken after {@code at} (epoch ms): what a client that has the rest asks for. */
  public QueueHistory after(long at) {
    return new QueueHistory(queue, intervalMs, retainMs, samples.stream().filter(s -> s.at() > at).toList(),
        consumers.stream().map(c -> new ConsumerHistory(c.consumer(),
            c.samples().stream().filter(s -> s.at() > at).toList())).toList());
  }
}
