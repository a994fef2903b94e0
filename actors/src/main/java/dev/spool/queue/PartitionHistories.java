package dev.spool.queue;

import dev.spool.QueueHistory;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.IntFunction;
import java.util.function.ToLongFunction;

/**
 * A partitioned queue's history from its partitions' histories. Each partition samples on its own
 * ticks, so samples are lined up by interval (the {@code at / interval} slot): rates and counts of
 * a slot are summed over the partitions that sampled in it, levels (depth, bytes, lag, in flight)
 * over every partition's latest level so far, so that a partition that sampled a little later does
 * not make the queue's depth dip. A consumer's lag age is its oldest partition's.
 */
public final class PartitionHistories {

  private PartitionHistories() {}

  /** The history of {@code queue} from its partitions' {@code parts}. */
  public static QueueHistory merge(String queue, List<QueueHistory> parts) {
    if (parts.isEmpty()) {
      return new QueueHistory(queue, 0, 0, List.of(), List.of());
    }
    long interval = parts.get(0).intervalMs();
    List<List<QueueHistory.Sample>> queueSamples = parts.stream().map(QueueHistory::samples).toList();
    List<QueueHistory.Sample> samples = mergeQueue(queueSamples, interval);
    TreeSet<String> names = new TreeSet<>();
    parts.forEach(p -> p.consumers().forEach(c -> names.add(c.consumer())));
    List<QueueHistory.ConsumerHistory> consumers = new ArrayList<>();
    for (String name : names) {
      List<List<QueueHistory.ConsumerSample>> perPartition = new ArrayList<>();
      for (QueueHistory p : parts) {
        perPartition.add(p.consumers().stream().filter(c -> c.consumer().equals(name)).findFirst()
            .map(QueueHistory.ConsumerHistory::samples).orElse(List.of()));
      }
      consumers.add(new QueueHistory.ConsumerHistory(name, mergeConsumer(perPartition, interval)));
    }
    return new QueueHistory(queue, interval, parts.get(0).retainMs(), samples, consumers);
  }

  private static List<QueueHistory.Sample> mergeQueue(List<List<QueueHistory.Sample>> parts, long interval) {
    TreeMap<Long, QueueHistory.Sample[]> slots = slots(parts, interval, QueueHistory.Sample::at,
        QueueHistory.Sample[]::new);
    QueueHistory.Sample[] latest = new QueueHistory.Sample[parts.size()];
    List<QueueHistory.Sample> out = new ArrayList<>(slots.size());
    for (QueueHistory.Sample[] slot : slots.values()) {
      long at = 0;
      double publish = 0;
      double deliver = 0;
      long deadLettered = 0;
      long dropped = 0;
      long expired = 0;
      long refused = 0;
      for (int p = 0; p < slot.length; p++) {
        QueueHistory.Sample s = slot[p];
        if (s == null) {
          continue;
        }
        latest[p] = s;
        at = Math.max(at, s.at());
        publish += s.publishRate();
        deliver += s.deliverRate();
        deadLettered += s.deadLettered();
        dropped += s.dropped();
        expired += s.expired();
        refused += s.refused();
      }
      long depth = 0;
      long bytes = 0;
      int inFlight = 0;
      for (QueueHistory.Sample s : latest) {
        if (s != null) {
          depth += s.depth();
          bytes += s.bytes();
          inFlight += s.inFlight();
        }
      }
      out.add(new QueueHistory.Sample(at, depth, bytes, inFlight, publish, deliver, deadLettered, dropped, expired,
          refused));
    }
    return out;
  }

  private static List<QueueHistory.ConsumerSample> mergeConsumer(List<List<QueueHistory.ConsumerSample>> parts,
      long interval) {
    TreeMap<Long, QueueHistory.ConsumerSample[]> slots = slots(parts, interval, QueueHistory.ConsumerSample::at,
        QueueHistory.ConsumerSample[]::new);
    QueueHistory.ConsumerSample[] latest = new QueueHistory.ConsumerSample[parts.size()];
    List<QueueHistory.ConsumerSample> out = new ArrayList<>(slots.size());
    for (QueueHistory.ConsumerSample[] slot : slots.values()) {
      long at = 0;
      double deliver = 0;
      double ack = 0;
      long nacked = 0;
      long deadLettered = 0;
      long errors = 0;
      long dropped = 0;
      long expired = 0;
      for (int p = 0; p < slot.length; p++) {
        QueueHistory.ConsumerSample s = slot[p];
        if (s == null) {
          continue;
        }
        latest[p] = s;
        at = Math.max(at, s.at());
        deliver += s.deliverRate();
        ack += s.ackRate();
        nacked += s.nacked();
        deadLettered += s.deadLettered();
        errors += s.errors();
        dropped += s.dropped();
        expired += s.expired();
      }
      long lag = 0;
      long lagAge = 0;
      int inFlight = 0;
      for (QueueHistory.ConsumerSample s : latest) {
        if (s == null) {
          continue;
        }
        lag += s.lag();
        lagAge = Math.max(lagAge, s.lagAgeMs());
        inFlight += s.inFlight();
      }
      out.add(new QueueHistory.ConsumerSample(at, lag, lagAge, inFlight, deliver, ack, nacked, deadLettered, errors,
          dropped, expired));
    }
    return out;
  }

  /** Each partition's samples by interval slot ({@code at / interval}): one place per partition in a slot. */
  private static <S> TreeMap<Long, S[]> slots(List<List<S>> parts, long interval, ToLongFunction<S> at,
      IntFunction<S[]> array) {
    TreeMap<Long, S[]> slots = new TreeMap<>();
    for (int p = 0; p < parts.size(); p++) {
      for (S s : parts.get(p)) {
        slots.computeIfAbsent(at.applyAsLong(s) / interval, k -> array.apply(parts.size()))[p] = s;
      }
    }
    return slots;
  }
}
