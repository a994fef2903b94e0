package dev.spool.queue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.Message;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.constraints.StringLength;

/**
 * The numbering of a partitioned queue: every partition's sequence has one number in the queue and
 * back; a start or range in the queue's numbers maps to exactly the partition's sequences inside it;
 * a key always lands in the same partition.
 */
class PartitionsPropertiesTest {

  @Property
  void aSequenceOfAPartitionRoundTripsThroughTheQueuesNumber(@ForAll @IntRange(min = 1, max = 256) int count,
      @ForAll @IntRange(min = 0, max = 255) int p, @ForAll @LongRange(min = 1, max = 1L << 40) long sequence) {
    int partition = p % count;
    Partitions partitions = new Partitions("q", count);
    long encoded = partitions.encode(sequence, partition);
    assertEquals(partition, partitions.partitionOfSequence(encoded));
    assertEquals(sequence, partitions.sequenceIn(encoded));
  }

  @Property
  void fromAndToInAPartitionAreExactlyItsSequencesWithinTheBounds(@ForAll @IntRange(min = 1, max = 16) int count,
      @ForAll @IntRange(min = 0, max = 15) int p, @ForAll @LongRange(min = 1, max = 10_000) long from,
      @ForAll @LongRange(min = 0, max = 400) long span) {
    int partition = p % count;
    Partitions partitions = new Partitions("q", count);
    long to = from + span;
    long first = partitions.fromIn(from, partition);
    long last = partitions.toIn(to, partition);
    assertTrue(partitions.encode(first, partition) >= from, "first is inside");
    assertTrue(first == 1 || partitions.encode(first - 1, partition) < from, "and none before it is");
    assertTrue(last == 0 || partitions.encode(last, partition) <= to, "last is inside");
    assertTrue(partitions.encode(last + 1, partition) > to, "and none after it is");
  }

  @Property
  void aKeyAlwaysGoesToOnePartitionAndABatchWithoutKeysOrIdsToOne(@ForAll @IntRange(min = 2, max = 64) int count,
      @ForAll @StringLength(min = 1, max = 40) String key) {
    Partitions one = new Partitions("q", count);
    Partitions other = new Partitions("q", count);
    Message keyed = Message.of("t", new byte[1024]).withKey(key);
    int partition = one.partitionOf(keyed, one.nextInTurn());
    assertEquals(partition, other.partitionOf(keyed, (other.nextInTurn() + 1) % count), "another front agrees");
    Map<Integer, Integer> turns = new HashMap<>();
    for (int batch = 0; batch < count * 3; batch++) {
      int inTurn = one.nextInTurn();
      List<Message> unkeyed = List.of(Message.of("t", new byte[64]), Message.of("t", new byte[64]));
      assertEquals(one.partitionOf(unkeyed.get(0), inTurn), one.partitionOf(unkeyed.get(1), inTurn));
      turns.merge(inTurn, 1, Integer::sum);
    }
    assertEquals(count, turns.size(), "batches take every partition in turn");
    turns.values().forEach(n -> assertEquals(3, n));
  }
}
