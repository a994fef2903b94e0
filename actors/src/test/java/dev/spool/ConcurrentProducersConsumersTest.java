package dev.spool;

import static dev.spool.Await.result;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.stream.IntStream;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Many producers and consumers at once: every consumer gets every message exactly once, and each
 * producer's messages in the order it published them.
 */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class ConcurrentProducersConsumersTest {

  private static final int PRODUCERS = 8;
  private static final int PER_PRODUCER = 10_000;
  private static final int TOTAL = PRODUCERS * PER_PRODUCER;

  @JUnit5TestKit
  ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  @Test
  void eightProducersFourConsumersEveryConsumerGetsAllInPublishOrder() throws Exception {
    Spool spool = Spool.create(testKit.system());
    String q = "concurrent";
    result(spool.createQueue(q, QueueSettings.defaults()));

    // Four consumers, each consuming differently: a stream with batched explicit acks, a stream
    // in ack mode none, long-poll pull reads, and an actor subscriber acking one by one.
    QueueConsumer streamAcked = spool.createConsumer(q, ConsumerSettings.named("stream-acked").prefetch(1000));
    QueueConsumer streamNone = spool.createConsumer(q, ConsumerSettings.named("stream-none").ackMode(AckMode.NONE));
    QueueConsumer puller = spool.createConsumer(q, ConsumerSettings.named("puller").prefetch(1000));
    QueueConsumer actor = spool.createConsumer(q, ConsumerSettings.named("actor").prefetch(200));
    for (QueueConsumer c : List.of(streamAcked, streamNone, puller, actor)) {
      result(c.ready());
    }

    CompletionStage<List<Delivery>> fromStreamAcked = streamAcked.source()
        .take(TOTAL)
        .grouped(100)
        .mapAsync(1, batch -> streamAcked.acknowledgeBatch(batch).thenApply(n -> batch))
        .mapConcat(batch -> batch)
        .runWith(Sink.seq(), testKit.system());
    CompletionStage<List<Delivery>> fromStreamNone = streamNone.source().take(TOTAL).runWith(Sink.seq(), testKit.system());
    CompletableFuture<List<Delivery>> fromPuller = pullAll(puller, new ArrayList<>());
    ConcurrentLinkedQueue<Delivery> fromActor = new ConcurrentLinkedQueue<>();
    ActorRef<Delivery> subscriber = testKit.spawn(Behaviors.receiveMessage(d -> {
      fromActor.add(d);
      actor.acknowledge(d);
      return Behaviors.same();
    }));
    result(actor.subscribe(subscriber));

    // Half the producers publish one message per call, half in batches through publishAll and sink().
    List<CompletableFuture<Done>> producing = new ArrayList<>();
    for (int p = 0; p < PRODUCERS; p++) {
      int producer = p;
      QueuePublisher publisher = spool.createPublisher(q, "producer-" + producer);
      producing.add(CompletableFuture.supplyAsync(() -> {
        if (producer % 3 == 0) {
          Source.range(1, PER_PRODUCER).map(i -> message(producer, i))
              .runWith(publisher.sink(), testKit.system()).toCompletableFuture().join();
        } else if (producer % 3 == 1) {
          for (int i = 1; i <= PER_PRODUCER; i += 250) {
            int from = i;
            publisher.publishAll(IntStream.range(from, from + 250).mapToObj(n -> message(producer, n)).toList())
                .toCompletableFuture().join();
          }
        } else {
          for (int i = 1; i <= PER_PRODUCER; i++) {
            publisher.publish(message(producer, i)).toCompletableFuture().join();
          }
        }
        return Done.getInstance();
      }));
    }
    CompletableFuture.allOf(producing.toArray(CompletableFuture[]::new)).get();

    assertAllInOrder("stream-acked", result(fromStreamAcked, 60));
    assertAllInOrder("stream-none", result(fromStreamNone, 60));
    assertAllInOrder("puller", result(fromPuller, 60));
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(60)).until(() -> fromActor.size() >= TOTAL);
    assertAllInOrder("actor", new ArrayList<>(fromActor));

    assertEquals(TOTAL, result(spool.queueStats(q)).published());
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
      for (String c : List.of("stream-acked", "stream-none", "puller", "actor")) {
        assertEquals(0L, result(spool.consumerLag(q, c)), c + " lag");
      }
    });
  }

  private static Message message(int producer, int i) {
    return Message.text("n", producer + ":" + i);
  }

  private CompletableFuture<List<Delivery>> pullAll(QueueConsumer c, List<Delivery> acc) {
    if (acc.size() >= TOTAL) {
      return CompletableFuture.completedFuture(acc);
    }
    return c.readBatch(500, Duration.ofSeconds(2))
        .thenCompose(batch -> c.acknowledgeBatch(batch).thenApply(n -> batch))
        .thenCompose(batch -> {
          acc.addAll(batch);
          return pullAll(c, acc);
        }).toCompletableFuture();
  }

  private static void assertAllInOrder(String consumer, List<Delivery> deliveries) {
    assertEquals(TOTAL, deliveries.size(), consumer + " received every message");
    Set<Long> sequences = new HashSet<>();
    Map<Integer, Integer> lastSeen = new HashMap<>();
    long previousSequence = 0;
    for (Delivery d : deliveries) {
      assertTrue(sequences.add(d.sequence()), consumer + " got sequence " + d.sequence() + " twice, attempt " + d.attempt());
      assertTrue(d.sequence() > previousSequence, consumer + " delivers in sequence order");
      previousSequence = d.sequence();
      String[] parts = d.message().payloadAsString().split(":");
      int producer = Integer.parseInt(parts[0]);
      int n = Integer.parseInt(parts[1]);
      int last = lastSeen.getOrDefault(producer, 0);
      assertEquals(last + 1, n, consumer + ": producer " + producer + " out of order");
      lastSeen.put(producer, n);
    }
    for (int p = 0; p < PRODUCERS; p++) {
      assertEquals(PER_PRODUCER, lastSeen.get(p), consumer + " got all of producer " + p);
    }
  }
}
