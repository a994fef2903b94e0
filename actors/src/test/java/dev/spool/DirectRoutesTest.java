package dev.spool;

import static dev.spool.Await.failure;
import static dev.spool.Await.result;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import dev.spool.actor.ConsumerActor;
import dev.spool.actor.QueueManager;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Publishers and consumer handles send publishes and acknowledgements straight to the queue's and
 * the consumer's actor they located. When that actor is gone (deleted, perhaps created again), the
 * call must still get its right answer, and at once: the ask timeout here is long (30 s), so a
 * call that went to a stopped actor and waited for it would fail these tests by its slowness.
 */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class DirectRoutesTest {

  private static final int FAST_SECONDS = 5;

  @JUnit5TestKit
  ActorTestKit testKit = new JUnit5TestKitBuilder()
      .withCustomConfig(ConfigFactory.parseString("""
          spool.ask-timeout = 30s
          pekko.log-dead-letters = off
          """).withFallback(ConfigFactory.load()))
      .build();

  @Test
  void aPublisherFollowsItsQueueThroughDeletionAndRecreation() {
    Spool spool = Spool.create(testKit.system());
    result(spool.createQueue("orders", QueueSettings.defaults()));
    QueuePublisher publisher = spool.createPublisher("orders", "checkout");
    assertEquals(List.of(1L, 2L), result(publisher.publishAll(List.of(kib(1), kib(2)))));

    result(spool.deleteQueue("orders"));
    failure(within(publisher.publish(kib(3))), SpoolException.Code.QueueNotFound);

    result(spool.createQueue("orders", QueueSettings.defaults()));
    assertEquals(1L, result(within(publisher.publish(kib(4)))), "the new queue's first message");
    assertEquals(2L, result(within(publisher.publish(kib(5)))));
    QueueConsumer reader = spool.createConsumer("orders",
        ConsumerSettings.named("reader"));
    List<Delivery> read = result(reader.readBatch(10, Duration.ofSeconds(5)));
    assertEquals(List.of((byte) 4, (byte) 5), read.stream().map(d -> d.message().payload()[0]).toList());
  }

  @Test
  void aPublisherToAPartitionedQueueFollowsItThroughDeletionAndRecreation() {
    Spool spool = Spool.create(testKit.system());
    result(spool.createQueue("sharded", QueueSettings.defaults().withPartitions(3)));
    QueuePublisher publisher = spool.createPublisher("sharded", "checkout");
    for (int i = 0; i < 20; i++) {
      result(within(publisher.publish(kib(i).withKey("k" + i))));
    }
    result(spool.deleteQueue("sharded"));
    failure(within(publisher.publish(kib(20))), SpoolException.Code.QueueNotFound);
    result(spool.createQueue("sharded", QueueSettings.defaults().withPartitions(3)));
    result(within(publisher.publish(kib(21))));
    assertEquals(1L, result(spool.queueStats("sharded")).depth());
  }

  /**
   * A new publisher's first publishes, made one after another without waiting (as a sink's are),
   * are appended in the order they were made: those made while the queue's actor is being located
   * are not overtaken by those made once it is known.
   */
  @Test
  void publishesMadeWhileTheQueueIsBeingLocatedKeepTheirOrder() {
    Spool spool = Spool.create(testKit.system());
    for (int round = 0; round < 20; round++) {
      String queue = "ordered-" + round;
      result(spool.createQueue(queue, QueueSettings.defaults()));
      QueuePublisher publisher = spool.createPublisher(queue, "sink");
      List<java.util.concurrent.CompletableFuture<Long>> sequences = new ArrayList<>();
      for (int i = 0; i < 300; i++) {
        sequences.add(publisher.publish(kib(i)).toCompletableFuture());
      }
      long previous = 0;
      for (int i = 0; i < sequences.size(); i++) {
        long sequence = result(sequences.get(i));
        assertTrue(sequence > previous, "round " + round + ": publish " + i + " got " + sequence + " after " + previous);
        previous = sequence;
      }
    }
  }

  /**
   * Publishes made from the answers to earlier ones, as the Redis endpoint's appender makes them,
   * while the queue's actor is being located: an answer can run on the thread that sends what
   * waited for the lookup, and its next publish must neither be lost nor stall the publisher.
   */
  @Test
  void publishesMadeFromAnswersWhileTheQueueIsBeingLocatedAllComplete() throws Exception {
    Spool spool = Spool.create(testKit.system());
    for (int round = 0; round < 20; round++) {
      String queue = "chained-" + round;
      result(spool.createQueue(queue, QueueSettings.defaults()));
      QueuePublisher publisher = spool.createPublisher(queue, "appender");
      List<java.util.concurrent.CompletableFuture<List<Long>>> chains = new ArrayList<>();
      for (int c = 0; c < 8; c++) {
        java.util.concurrent.CompletableFuture<List<Long>> done = new java.util.concurrent.CompletableFuture<>();
        chain(publisher, new ArrayList<>(), 50, done);
        chains.add(done);
      }
      for (var chain : chains) {
        List<Long> sequences = chain.get(FAST_SECONDS, TimeUnit.SECONDS);
        assertEquals(50, sequences.size());
        assertEquals(sequences.stream().sorted().toList(), sequences, "round " + round + ": in the order published");
      }
    }
  }

  private static void chain(QueuePublisher publisher, List<Long> sequences, int left,
      java.util.concurrent.CompletableFuture<List<Long>> done) {
    if (left == 0) {
      done.complete(sequences);
      return;
    }
    publisher.publish(kib(left)).whenComplete((sequence, failure) -> {
      if (failure != null) {
        done.completeExceptionally(failure);
      } else {
        sequences.add(sequence);
        chain(publisher, sequences, left - 1, done);
      }
    });
  }

  @Test
  void publishesAreRefusedOnceTheEngineDrains() {
    Spool spool = Spool.create(testKit.system(), SpoolSettings.create(testKit.system()));
    result(spool.createQueue("drained", QueueSettings.defaults()));
    QueuePublisher publisher = spool.createPublisher("drained", "p");
    result(publisher.publish(kib(1))); // located
    result(AskPattern.<QueueManager.Command, ConsumerActor.DrainResult>askWithStatus(spool.queueManager(),
        r -> new QueueManager.Drain(Duration.ofSeconds(1), r), Duration.ofSeconds(10), testKit.scheduler()));
    failure(within(publisher.publish(kib(2))), SpoolException.Code.ShuttingDown);
    failure(within(spool.createPublisher("drained", "another").publish(kib(3))), SpoolException.Code.ShuttingDown);
    result(spool.shutdown());
  }

  @Test
  void acknowledgementsOfADeletedConsumerAreAnsweredAtOnce() {
    Spool spool = Spool.create(testKit.system());
    result(spool.createQueue("billing", QueueSettings.defaults()));
    QueuePublisher publisher = spool.createPublisher("billing", "p");
    QueueConsumer consumer = spool.createConsumer("billing", ConsumerSettings.named("worker"));
    result(consumer.ready());
    result(publisher.publishAll(List.of(kib(1), kib(2), kib(3))));
    List<Delivery> first = result(consumer.readBatch(1, Duration.ofSeconds(5)));
    assertEquals(1, result(consumer.acknowledgeBatch(first))); // located

    List<Delivery> second = result(consumer.readBatch(1, Duration.ofSeconds(5)));
    result(spool.deleteConsumer("billing", "worker"));
    failure(within(consumer.acknowledgeBatch(second)), SpoolException.Code.ConsumerNotFound);
    failure(within(consumer.acknowledgeUpTo(3)), SpoolException.Code.ConsumerNotFound);
    failure(within(consumer.nack(second.get(0), true)), SpoolException.Code.ConsumerNotFound);

    // Created again under the name: the handle reaches the new consumer, which never delivered 2.
    result(spool.declareConsumer("billing", ConsumerSettings.named("worker")));
    AckResult again = result(within(consumer.acknowledgeSequences(List.of(second.get(0).sequence()))));
    assertEquals(0, again.acked());
    List<Delivery> fresh = result(consumer.readBatch(1, Duration.ofSeconds(5)));
    assertEquals(1, result(within(consumer.acknowledgeBatch(fresh))));
  }

  /**
   * Many threads read and acknowledge while the consumer is deleted and created again, over and
   * over: every call answers quickly, with a count that adds up or with {@code ConsumerNotFound},
   * never a timeout or another error.
   */
  @Test
  void acknowledgementsRacingDeletionAlwaysGetAnAnswer() throws Exception {
    Spool spool = Spool.create(testKit.system());
    result(spool.createQueue("racing", QueueSettings.defaults()));
    QueuePublisher publisher = spool.createPublisher("racing", "p");
    ConsumerSettings settings = ConsumerSettings.named("worker"); // explicit acks from earliest
    QueueConsumer consumer = spool.createConsumer("racing", settings);
    result(consumer.ready());
    List<Message> batch = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      batch.add(kib(i));
    }
    for (int i = 0; i < 50; i++) {
      result(publisher.publishAll(batch));
    }

    AtomicBoolean running = new AtomicBoolean(true);
    AtomicLong answered = new AtomicLong();
    AtomicLong notFound = new AtomicLong();
    ConcurrentLinkedQueue<String> wrong = new ConcurrentLinkedQueue<>();
    List<Thread> ackers = new ArrayList<>();
    for (int t = 0; t < 8; t++) {
      Thread acker = new Thread(() -> {
        while (running.get()) {
          String step = "read";
          try {
            List<Delivery> read = consumer.readBatch(5).toCompletableFuture().get(FAST_SECONDS, TimeUnit.SECONDS);
            step = "acknowledgement";
            List<Long> sequences = read.stream().map(Delivery::sequence).toList();
            List<Long> asked = sequences.isEmpty() ? List.of(1L, 2L) : sequences;
            AckResult r = consumer.acknowledgeSequences(asked).toCompletableFuture().get(FAST_SECONDS, TimeUnit.SECONDS);
            if (r.acked() + r.alreadyAcked().size() + r.unknown().size() != asked.size()) {
              wrong.add("answer does not add up for " + asked + ": " + r);
            }
            answered.incrementAndGet();
          } catch (ExecutionException e) {
            if (e.getCause() instanceof SpoolException.ConsumerNotFound) {
              notFound.incrementAndGet();
            } else {
              wrong.add(String.valueOf(e.getCause()));
            }
          } catch (TimeoutException e) {
            wrong.add("no answer to a " + step + " in " + FAST_SECONDS + " s");
          } catch (Exception e) {
            wrong.add(String.valueOf(e));
          }
        }
      }, "acker-" + t);
      acker.start();
      ackers.add(acker);
    }
    long until = System.nanoTime() + Duration.ofSeconds(6).toNanos();
    int cycles = 0;
    while (System.nanoTime() < until) {
      result(spool.deleteConsumer("racing", "worker"));
      Thread.onSpinWait();
      result(spool.declareConsumer("racing", settings));
      cycles++;
    }
    running.set(false);
    for (Thread acker : ackers) {
      acker.join(TimeUnit.SECONDS.toMillis(2 * FAST_SECONDS + 5));
    }
    assertEquals(List.of(), new ArrayList<>(wrong));
    assertTrue(cycles > 20, "deleted and created " + cycles + " times");
    assertTrue(answered.get() > 100, "answered " + answered.get());
    assertTrue(notFound.get() > 0, "ConsumerNotFound " + notFound.get());

    // Settled: the handle acknowledges through the consumer there now.
    List<Delivery> last = result(consumer.readBatch(3, Duration.ofSeconds(5)));
    assertEquals(last.size(), result(within(consumer.acknowledgeBatch(last))));
  }

  private static <T> java.util.concurrent.CompletionStage<T> within(java.util.concurrent.CompletionStage<T> stage) {
    return stage.toCompletableFuture().orTimeout(FAST_SECONDS, TimeUnit.SECONDS);
  }

  private static Message kib(int marker) {
    byte[] payload = new byte[1024];
    payload[0] = (byte) marker;
    return Message.of("order.created", payload);
  }
}
