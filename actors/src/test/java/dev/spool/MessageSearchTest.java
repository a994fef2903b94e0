package dev.spool;

import static dev.spool.Await.failure;
import static dev.spool.Await.result;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.SpoolException.Code;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Paging and searching a queue's retained messages, forward and backward, with bounded scans, and
 * the redrive of a selection of dead letters.
 */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class MessageSearchTest {

  @JUnit5TestKit
  ActorTestKit testKit = ActorTestKit.create();

  private static final AtomicInteger QUEUES = new AtomicInteger();

  private String queue(Spool spool, QueueSettings settings) {
    String q = "search-" + QUEUES.incrementAndGet();
    result(spool.createQueue(q, settings));
    return q;
  }

  /** {@code n} 1 KiB messages: every 10th keyed k-i, types by i % 3, a region header on the even ones. */
  private static List<Message> messages(int n) {
    return IntStream.range(0, n).mapToObj(i -> {
      Message m = Message.of("type-" + (i % 3), new byte[1024]);
      m = i % 10 == 0 ? m.withKey("k-" + i) : m;
      return i % 2 == 0 ? m.withHeader("region", i % 4 == 0 ? "eu" : "us") : m;
    }).toList();
  }

  private static List<Long> sequences(MessagePage page) {
    return page.messages().stream().map(Message::sequence).toList();
  }

  @Test
  void pagesGoForwardAndBackwardAndJumpToTheNewest() {
    Spool spool = Spool.create(testKit.system());
    String q = queue(spool, QueueSettings.defaults());
    result(spool.createPublisher(q, "p").publishAll(messages(250)));

    MessagePage first = result(spool.search(q, MessageQuery.page(0, 100)));
    assertEquals(LongRange.of(1, 100), sequences(first));
    assertEquals(101L, first.next());
    assertNull(first.previous(), "nothing before the first retained message");
    assertFalse(first.complete());
    MessagePage second = result(spool.search(q, MessageQuery.page(first.next(), 100)));
    assertEquals(LongRange.of(101, 200), sequences(second));
    assertEquals(100L, second.previous());

    MessagePage newest = result(spool.search(q, new MessageQuery(0, true, 100, null, null, null, null, null, null)));
    assertEquals(LongRange.of(151, 250), sequences(newest), "the newest page, in ascending order");
    assertNull(newest.next(), "nothing after the newest");
    assertEquals(150L, newest.previous());
    MessagePage back = result(spool.search(q, new MessageQuery(newest.previous(), true, 100, null, null, null, null,
        null, null)));
    assertEquals(LongRange.of(51, 150), sequences(back));
    assertEquals(250, back.lastSequence());
    assertEquals(1, back.firstSequence());
  }

  @Test
  void searchesMatchKeyTypeHeaderAndTimeAndSayWhereTheBoundedScanStopped() {
    Spool spool = Spool.create(testKit.system());
    String q = queue(spool, QueueSettings.defaults());
    Instant before = Instant.now();
    List<Message> all = messages(12_000);
    QueuePublisher p = spool.createPublisher(q, "p");
    for (int i = 0; i < all.size(); i += 1000) {
      result(p.publishAll(all.subList(i, i + 1000)));
    }
    Instant after = Instant.now();

    MessagePage keyed = result(spool.search(q, new MessageQuery(0, false, 10, "k-120", null, null, null, null, null)));
    assertEquals(List.of(121L), sequences(keyed));
    assertEquals(MessageQuery.MAX_SCAN, keyed.scannedTo(), "the scan stops at its bound");
    assertFalse(keyed.complete());
    assertEquals((long) MessageQuery.MAX_SCAN + 1, keyed.next());
    MessagePage rest = result(spool.search(q, new MessageQuery(keyed.next(), false, 10, "k-120", null, null, null,
        null, null)));
    assertTrue(rest.messages().isEmpty());
    assertTrue(rest.complete());
    assertNull(rest.next());

    MessagePage eu = result(spool.search(q, new MessageQuery(0, false, 500, null, "type-0", "region", "eu", null,
        null)));
    // type-0 is i % 3 == 0 and eu is i % 4 == 0: i % 12 == 0, sequence i + 1.
    assertEquals(500, eu.messages().size());
    assertTrue(eu.messages().stream().allMatch(m -> (m.sequence() - 1) % 12 == 0), "every match is type-0 in eu");
    assertEquals(12 * 499 + 1, eu.scannedTo(), "stopped at the limit, before the scan bound");

    MessagePage anyRegion = result(spool.search(q, new MessageQuery(0, false, 5, null, null, "region", null, null,
        null)));
    assertEquals(List.of(1L, 3L, 5L, 7L, 9L), sequences(anyRegion), "a header name alone matches any value");

    MessagePage inTime = result(spool.search(q, new MessageQuery(0, false, 5, null, null, null, null, before, after)));
    assertEquals(5, inTime.messages().size());
    MessagePage future = result(spool.search(q, new MessageQuery(0, false, 5, null, null, null, null,
        after.plusSeconds(60), null)));
    assertTrue(future.messages().isEmpty());

    MessagePage lastKeyed = result(spool.search(q, new MessageQuery(0, true, 1, "k-11990", null, null, null, null,
        null)));
    assertEquals(List.of(11_991L), sequences(lastKeyed), "backward finds the newest match first");
  }

  @Test
  void badQueriesAreRefusedAndAPartitionedQueueIsSearchedByPartition() {
    assertThrows(SpoolException.InvalidConfiguration.class, () -> MessageQuery.page(0, 0));
    assertThrows(SpoolException.InvalidConfiguration.class, () -> MessageQuery.page(0, MessageQuery.MAX_LIMIT + 1));
    assertThrows(SpoolException.InvalidConfiguration.class, () -> MessageQuery.page(-1, 10));
    assertThrows(SpoolException.InvalidConfiguration.class,
        () -> new MessageQuery(0, false, 10, null, null, null, "eu", null, null));
    assertThrows(SpoolException.InvalidConfiguration.class, () -> new MessageQuery(0, false, 10, null, null, null, null,
        Instant.ofEpochMilli(2), Instant.ofEpochMilli(1)));

    Spool spool = Spool.create(testKit.system());
    failure(spool.search("no-such-queue", MessageQuery.page(0, 10)), Code.QueueNotFound);
    String q = queue(spool, QueueSettings.defaults().withPartitions(2));
    result(spool.createPublisher(q, "p").publishAll(IntStream.range(0, 20)
        .mapToObj(i -> Message.of("t", new byte[1024]).withKey("k" + i)).toList()));
    SpoolException refused = failure(spool.search(q, MessageQuery.page(0, 10)), Code.InvalidConfiguration);
    assertTrue(refused.getMessage().contains(q + "#0"), refused.getMessage());
    assertEquals(20, result(spool.countHeader(q, "nothing")).without(), "a partitioned queue's counts are summed");
    long inPartitions = result(spool.search(q + "#0", MessageQuery.page(0, 100))).messages().size()
        + result(spool.search(q + "#1", MessageQuery.page(0, 100))).messages().size();
    assertEquals(20, inPartitions);
    failure(spool.purge(q + "#0"), Code.InvalidConfiguration); // a partition is changed through its queue
    assertEquals(20L, result(spool.purge(q)), "a partitioned queue is purged in every partition");
    assertEquals(0, result(spool.queueStats(q)).depth());
    failure(spool.purge("no-such-queue"), Code.QueueNotFound);

    MessagePage empty = result(spool.search(queue(spool, QueueSettings.defaults()), MessageQuery.page(0, 10)));
    assertTrue(empty.messages().isEmpty());
    assertTrue(empty.complete());
    assertNull(empty.next());
    assertNull(empty.previous());
  }

  @Test
  void aSelectionOfDeadLettersIsRedrivenAndCounted() {
    Spool spool = Spool.create(testKit.system());
    String dlq = queue(spool, QueueSettings.defaults());
    String source = queue(spool, QueueSettings.defaults().withDeadLetter(dlq, 1));
    QueueConsumer c = spool.createConsumer(source, ConsumerSettings.named("c"));
    result(c.ready());
    result(spool.createPublisher(source, "p").publishAll(messages(10)));
    result(c.nack(result(c.readBatch(10)).stream().map(Delivery::sequence).toList(), false));
    await().atMost(Duration.ofSeconds(10)).until(() -> result(spool.queueStats(dlq)).depth() == 10);

    HeaderCounts reasons = result(spool.countHeader(dlq, "x-death-reason"));
    assertEquals(1, reasons.values().size(), reasons.toString());
    assertEquals(10L, reasons.values().values().iterator().next());
    assertEquals(0, reasons.without());
    assertTrue(reasons.complete());
    assertEquals(java.util.Map.of(source, 10L), result(spool.countHeader(dlq, "x-death-queue")).values());
    HeaderCounts regions = result(spool.countHeader(dlq, "region"));
    assertEquals(java.util.Map.of("eu", 3L, "us", 2L), regions.values(), "the source's own headers are kept");
    assertEquals(5, regions.without());
    failure(spool.countHeader(dlq, ""), Code.InvalidConfiguration);
    failure(spool.countHeader("no-such-queue", "x"), Code.QueueNotFound);

    failure(spool.redrive(dlq, List.of()), Code.InvalidConfiguration);
    failure(spool.redrive(dlq, List.of(0L)), Code.InvalidConfiguration);
    List<Long> tooMany = new ArrayList<>();
    LongRange.of(1, Spool.MAX_REDRIVE_SELECTION + 1).forEach(tooMany::add);
    failure(spool.redrive(dlq, tooMany), Code.InvalidConfiguration);
    assertEquals(10, result(spool.queueStats(dlq)).depth(), "a refused selection moves nothing");

    assertEquals(4L, result(spool.redrive(dlq, List.of(2L, 3L, 7L, 9L, 9L))));
    assertEquals(List.of(1L, 4L, 5L, 6L, 8L, 10L), sequences(result(spool.search(dlq, MessageQuery.page(0, 100)))));
    assertEquals(1L, result(spool.redrive(dlq, List.of(2L, 4L))), "what already moved is not counted again");
  }

  /** Sequences {@code from} to {@code to}, inclusive. */
  private static final class LongRange {
    static List<Long> of(long from, long to) {
      return java.util.stream.LongStream.rangeClosed(from, to).boxed().toList();
    }
  }
}
