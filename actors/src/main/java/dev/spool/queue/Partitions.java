package dev.spool.queue;

import dev.spool.AckResult;
import dev.spool.BreakerState;
import dev.spool.ConsumerInfo;
import dev.spool.ConsumerSettings;
import dev.spool.Delivery;
import dev.spool.DeliveryState;
import dev.spool.Message;
import dev.spool.MessageTrace;
import dev.spool.QueueInfo;
import dev.spool.QueueSettings;
import dev.spool.QueueStats;
import dev.spool.SpoolException;
import dev.spool.StartPosition;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;
import java.util.UUID;

/**
 * How a partitioned queue maps onto its partitions, each a queue of its own named
 * {@code queue#p}: which partition a message goes to, and how the partitions' sequences, infos and
 * replies read as the one queue's.
 *
 * <p>The queue numbers a message {@code s * N + p}, {@code s} being its sequence in partition
 * {@code p} of {@code N}: unique in the queue, increasing within a partition (so per key), and
 * decoded without a table. Across partitions the numbers interleave but imply no order.
 */
public final class Partitions {

  /** Separates a partitioned queue's name from a partition's number; no queue name contains it. */
  public static final char SEPARATOR = '#';

  private final String queue;
  private final int count;
  private long next;

  /** The partitions of {@code queue}, {@code count} of them. */
  public Partitions(String queue, int count) {
    if (count < 1) {
      throw new IllegalArgumentException("partitions: " + count);
    }
    this.queue = queue;
    this.count = count;
  }

  public String queue() {
    return queue;
  }

  public int count() {
    return count;
  }

  /** The queue name of partition {@code partition} of {@code queue}. */
  public static String name(String queue, int partition) {
    return queue + SEPARATOR + partition;
  }

  /** The name of partition {@code partition}. */
  public String name(int partition) {
    return name(queue, partition);
  }

  /** Every partition's name, in order. */
  public List<String> names() {
    List<String> names = new ArrayList<>(count);
    for (int p = 0; p < count; p++) {
      names.add(name(p));
    }
    return names;
  }

  /** The partitioned queue {@code partitionName} belongs to, or {@code null} when it names no partition. */
  public static String parentOf(String partitionName) {
    int at = partitionName.lastIndexOf(SEPARATOR);
    return at <= 0 ? null : partitionName.substring(0, at);
  }

  /** The partition number in {@code partitionName}, or -1 when it names no partition. */
  public static int numberOf(String partitionName) {
    int at = partitionName.lastIndexOf(SEPARATOR);
    if (at <= 0 || at == partitionName.length() - 1) {
      return -1;
    }
    try {
      return Integer.parseInt(partitionName.substring(at + 1));
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /**
   * The id seed of one partition of a durable queue, derived from the queue's so that the ids Spool
   * derives from seed and sequence differ between partitions (the version bits are kept).
   */
  public static long idSeed(long queueSeed, int partition) {
    return queueSeed ^ ((long) partition << 16);
  }

  // ---- placing messages

  /**
   * The partition {@code message} goes to: its key's (a stable hash, so every member and every
   * restart agrees), else its id's (so a publish retried with the same id reaches the partition that
   * deduplicates it), else {@code inTurn}.
   */
  public int partitionOf(Message message, int inTurn) {
    if (message.key().isPresent()) {
      return Math.floorMod(fnv1a(message.key().get().getBytes(StandardCharsets.UTF_8)), count);
    }
    UUID id = message.id();
    if (id != null) {
      long h = id.getMostSignificantBits() ^ id.getLeastSignificantBits();
      return Math.floorMod((int) (h ^ (h >>> 32)) * 0x9E3779B1, count);
    }
    return inTurn;
  }

  /**
   * The next partition in turn, for one publish's messages without key or id: they go together, so
   * that a batch is one append rather than one per partition, and the batches take turns.
   */
  public int nextInTurn() {
    return (int) Math.floorMod(next++, (long) count);
  }

  /** FNV-1a, 32 bits: a fixed, documented hash of the key's UTF-8 bytes. */
  static int fnv1a(byte[] bytes) {
    int h = 0x811C9DC5;
    for (byte b : bytes) {
      h ^= b & 0xFF;
      h *= 0x01000193;
    }
    return h;
  }

  // ---- sequences

  /** The queue's number for sequence {@code sequence} of partition {@code partition}. */
  public long encode(long sequence, int partition) {
    return sequence * count + partition;
  }

  /** The partition of the queue's number {@code encoded}. */
  public int partitionOfSequence(long encoded) {
    return (int) Math.floorMod(encoded, (long) count);
  }

  /** The sequence within its partition of the queue's number {@code encoded}. */
  public long sequenceIn(long encoded) {
    return Math.floorDiv(encoded, (long) count);
  }

  /** The first sequence of {@code partition} whose number is {@code encoded} or more (at least 1). */
  public long fromIn(long encoded, int partition) {
    return Math.max(1, Math.floorDiv(encoded - partition + count - 1, (long) count));
  }

  /** The last sequence of {@code partition} whose number is {@code encoded} or less (0 when none). */
  public long toIn(long encoded, int partition) {
    return Math.max(0, Math.floorDiv(encoded - partition, (long) count));
  }

  public Message message(Message m, int partition) {
    return m.resequenced(encode(m.sequence(), partition));
  }

  public Delivery delivery(Delivery d, int partition) {
    return new Delivery(d.consumer(), message(d.message(), partition), d.attempt());
  }

  public List<Delivery> deliveries(List<Delivery> ds, int partition) {
    List<Delivery> out = new ArrayList<>(ds.size());
    for (Delivery d : ds) {
      out.add(delivery(d, partition));
    }
    return out;
  }

  public MessageTrace trace(MessageTrace t, int partition) {
    return new MessageTrace(message(t.message(), partition), t.entries());
  }

  /** Each partition's browse, merged in the queue's numbering, at most {@code max}. */
  public List<Message> browsed(List<List<Message>> perPartition, int max) {
    List<Message> all = new ArrayList<>();
    for (int p = 0; p < perPartition.size(); p++) {
      for (Message m : perPartition.get(p)) {
        all.add(message(m, p));
      }
    }
    all.sort(Comparator.comparingLong(Message::sequence));
    return all.size() > max ? List.copyOf(all.subList(0, max)) : all;
  }

  // ---- checks and requests, as each partition takes them

  /**
   * What a partition would refuse in any case, checked for the whole batch before it is split, so
   * that bad input changes nothing and is reported by its place in the batch; {@code null} if none.
   *
   * @param maxBytes the queue's bound, which bounds each partition (0 for none)
   */
  public SpoolException refusedWhole(List<Message> messages, int maxBatchMessages, long maxMessageBytes, long maxBytes) {
    int count = messages.size();
    if (count > maxBatchMessages) {
      return new SpoolException.InvalidConfiguration("a publish may carry at most " + maxBatchMessages
          + " messages, not " + count);
    }
    for (int i = 0; i < count; i++) {
      Message m = messages.get(i);
      if (m == null) {
        return new SpoolException.InvalidConfiguration("message " + (i + 1) + " of " + count + " is missing");
      }
      long bodyBytes = m.contentBytes();
      if (bodyBytes > maxMessageBytes) {
        return new SpoolException.MessageTooLarge("message " + (i + 1) + " of " + count + " has " + bodyBytes
            + " bytes; the limit is " + maxMessageBytes);
      }
      if (maxBytes > 0 && m.sizeBytes() > maxBytes) {
        return new SpoolException.MessageTooLarge("message " + (i + 1) + " of " + count + " takes at least "
            + m.sizeBytes() + " bytes; it can never fit in a partition of queue '" + queue
            + "', whose maxBytes (for each partition) is " + maxBytes);
      }
    }
    return null;
  }

  /** A consumer's settings in one partition: a start at a sequence of the queue starts at that partition's share of it. */
  public ConsumerSettings inPartition(ConsumerSettings s, int p) {
    if (s == null || !(s.startAt() instanceof StartPosition.AtSequence at)) {
      return s;
    }
    return new ConsumerSettings(s.name(), StartPosition.sequence(fromIn(at.sequence(), p)), s.ackMode(),
        s.prefetch(), s.ackTimeout(), s.maxDeliveries(), s.filter(), s.backoff(), s.inactiveTimeout(), s.exclusive(),
        s.push());
  }

  /** The queue's sequences by partition, each as that partition's own, partitions in the order they come. */
  public Map<Integer, List<Long>> bySequence(List<Long> sequences) {
    Map<Integer, List<Long>> byPartition = new LinkedHashMap<>();
    for (Long s : sequences) {
      byPartition.computeIfAbsent(partitionOfSequence(s), p -> new ArrayList<>()).add(sequenceIn(s));
    }
    return byPartition;
  }

  // ---- figures

  /** The queue's info: its partitions' figures added up (members listed when they differ). */
  public QueueInfo info(QueueSettings settings, List<QueueInfo> parts) {
    long first = Long.MAX_VALUE;
    long last = 0;
    long depth = 0;
    long bytes = 0;
    int segments = 0;
    long published = 0;
    long duplicates = 0;
    long delivered = 0;
    long acked = 0;
    long redelivered = 0;
    long expired = 0;
    long dropped = 0;
    long deadLettered = 0;
    int consumers = 0;
    double publishRate = 0;
    double deliverRate = 0;
    long memoryBytes = 0;
    long stored = 0;
    long refused = 0;
    long oldest = 0;
    Map<String, Long> byReason = new java.util.TreeMap<>();
    TreeSet<String> members = new TreeSet<>();
    for (int p = 0; p < parts.size(); p++) {
      QueueStats s = parts.get(p).stats();
      if (s.depth() > 0) {
        first = Math.min(first, encode(s.firstSequence(), p));
      }
      last = Math.max(last, encode(s.lastSequence(), p));
      depth += s.depth();
      bytes += s.bytes();
      segments += s.segments();
      published += s.published();
      duplicates += s.duplicates();
      delivered += s.delivered();
      acked += s.acked();
      redelivered += s.redelivered();
      expired += s.expired();
      dropped += s.dropped();
      deadLettered += s.deadLettered();
      consumers = Math.max(consumers, s.consumers());
      publishRate += s.publishRate();
      deliverRate += s.deliverRate();
      memoryBytes += s.memoryBytes();
      stored += s.storedMessages();
      refused += s.refused();
      if (s.oldestTimestamp() > 0) {
        oldest = oldest == 0 ? s.oldestTimestamp() : Math.min(oldest, s.oldestTimestamp());
      }
      s.deadLetteredByReason().forEach((reason, n) -> byReason.merge(reason, n, Long::sum));
      if (parts.get(p).member() != null) {
        members.add(parts.get(p).member());
      }
    }
    QueueStats stats = new QueueStats(first == Long.MAX_VALUE ? last + 1 : first, last, depth, bytes, segments,
        published, duplicates, delivered, acked, redelivered, expired, dropped, deadLettered, consumers, publishRate,
        deliverRate, memoryBytes, stored, refused, oldest, byReason);
    return new QueueInfo(queue, settings, stats, members.isEmpty() ? null : String.join(", ", members));
  }

  /** The consumer as one: its partitions' counts added up, its positions the lowest cursor and the highest last. */
  public ConsumerInfo consumer(List<ConsumerInfo> parts) {
    ConsumerInfo any = parts.get(0);
    long cursor = Long.MAX_VALUE;
    long committed = Long.MAX_VALUE;
    long last = 0;
    long lag = 0;
    long undelivered = 0;
    long lagAge = 0;
    int inFlight = 0;
    int waiting = 0;
    boolean paused = true;
    Instant activity = Instant.EPOCH;
    int subscribers = 0;
    int parked = 0;
    int handlerCalls = 0;
    BreakerState breaker = BreakerState.NONE;
    DeliveryState state = null;
    long[] c = new long[9];
    for (int p = 0; p < parts.size(); p++) {
      ConsumerInfo i = parts.get(p);
      cursor = Math.min(cursor, encode(i.cursor(), p));
      committed = Math.min(committed, encode(i.committed(), p));
      last = Math.max(last, encode(i.lastSequence(), p));
      lag += i.lag();
      undelivered += i.undelivered();
      lagAge = Math.max(lagAge, i.lagAgeMs());
      inFlight += i.inFlight();
      waiting += i.waiting();
      paused &= i.paused();
      if (i.lastActivity() != null && i.lastActivity().isAfter(activity)) {
        activity = i.lastActivity();
      }
      subscribers = Math.max(subscribers, i.subscribers());
      parked = Math.max(parked, i.parkedReads());
      handlerCalls += i.handlerCalls();
      if (i.breaker() != null && i.breaker().ordinal() > breaker.ordinal()) {
        breaker = i.breaker();
      }
      state = state == null || i.deliveryState() == DeliveryState.DELIVERING ? i.deliveryState() : state;
      ConsumerInfo.Counters k = i.counters();
      c[0] += k.delivered();
      c[1] += k.redelivered();
      c[2] += k.acked();
      c[3] += k.nacked();
      c[4] += k.filtered();
      c[5] += k.expired();
      c[6] += k.dropped();
      c[7] += k.deadLettered();
      c[8] += k.errors();
    }
    return new ConsumerInfo(queue, any.name(), any.settings(), cursor, committed, last, lag, lagAge, inFlight,
        waiting, state, paused, activity, subscribers, parked, handlerCalls, breaker,
        new ConsumerInfo.Counters(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8]), undelivered);
  }

  /** Every partition's consumers, by name: a consumer present in every partition, as one. */
  public List<ConsumerInfo> consumers(List<List<ConsumerInfo>> perPartition) {
    List<ConsumerInfo> merged = new ArrayList<>();
    for (ConsumerInfo first : perPartition.get(0)) {
      List<ConsumerInfo> same = new ArrayList<>();
      for (List<ConsumerInfo> partition : perPartition) {
        partition.stream().filter(i -> i.name().equals(first.name())).findFirst().ifPresent(same::add);
      }
      if (same.size() == perPartition.size()) {
        merged.add(consumer(same));
      }
    }
    merged.sort(Comparator.comparing(ConsumerInfo::name));
    return merged;
  }

  /** The acknowledgements of each partition, numbered as the queue's. */
  public AckResult ackResult(List<AckResult> results, List<Integer> partitions) {
    int acked = 0;
    List<Long> already = new ArrayList<>();
    List<Long> unknown = new ArrayList<>();
    for (int i = 0; i < results.size(); i++) {
      AckResult r = results.get(i);
      int p = partitions.get(i);
      acked += r.acked();
      r.alreadyAcked().forEach(s -> already.add(encode(s, p)));
      r.unknown().forEach(s -> unknown.add(encode(s, p)));
    }
    return new AckResult(acked, List.copyOf(already), List.copyOf(unknown));
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Partitions other && other.queue.equals(queue) && other.count == count;
  }

  @Override
  public int hashCode() {
    return Objects.hash(queue, count);
  }
}
