package dev.spool;

import static dev.spool.Await.result;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Calls on a durable queue's consumer racing the deletion of the queue: a re-declaration (answered
 * with the consumer's info, asked of the consumer by the queue), a pause and a seek (answered once
 * the journal holds the consumer's position), acknowledgements. Each gets its answer at once, the
 * success it asked for or that the queue or consumer is not there, never a timeout: the ask timeout
 * is 30 s, so an answer lost with the stopped queue fails the test by its slowness.
 */
class QueueDeletionRaceTest {

  private static final int FAST_SECONDS = 5;

  private static Config config(Path dir) {
    return ConfigFactory.parseMap(Map.of(
            "spool.journal.sqlite.path", dir.resolve("spool.db").toString(),
            "spool.persistence.journal-plugin", "spool.journal.sqlite.journal",
            "spool.persistence.snapshot-plugin", "spool.journal.sqlite.snapshot-store",
            "spool.ask-timeout", "30s",
            "pekko.log-dead-letters", "off"))
        .withFallback(ConfigFactory.load());
  }

  @Test
  void consumerCallsRacingTheQueuesDeletionAreAnsweredAtOnce(@TempDir Path dir) throws Exception {
    ActorTestKit kit = ActorTestKit.create("deletion-race", config(dir));
    try {
      Spool spool = Spool.create(kit.system());
      ConsumerSettings settings = ConsumerSettings.named("billing");
      QueueSettings durable = QueueSettings.defaults().withDurability(Durability.PERSISTENT);
      List<Message> batch = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        batch.add(Message.of("order.created", new byte[1024]));
      }
      AtomicLong answered = new AtomicLong();
      AtomicLong gone = new AtomicLong();
      ConcurrentLinkedQueue<String> wrong = new ConcurrentLinkedQueue<>();
      for (int cycle = 0; cycle < 25; cycle++) {
        String queue = "orders-" + cycle;
        result(spool.createQueue(queue, durable));
        result(spool.createPublisher(queue, "p").publishAll(batch));
        QueueConsumer consumer = spool.createConsumer(queue, settings);
        result(consumer.ready());
        Map<String, Supplier<CompletionStage<?>>> calls = Map.of(
            "declare", () -> spool.declareConsumer(queue, settings),
            "pause", consumer::pause,
            "resume", consumer::resume,
            "seek", () -> consumer.seek(StartPosition.earliest()),
            "ack", () -> consumer.acknowledgeSequences(List.of(1L, 2L, 3L)));
        CountDownLatch started = new CountDownLatch(calls.size());
        List<Thread> callers = new ArrayList<>();
        for (var named : calls.entrySet()) {
          Supplier<CompletionStage<?>> call = named.getValue();
          Thread caller = new Thread(() -> {
            started.countDown();
            // Calls until the queue is gone, so some of them meet it stopping.
            for (boolean there = true; there; ) {
              try {
                call.get().toCompletableFuture().get(FAST_SECONDS, TimeUnit.SECONDS);
                answered.incrementAndGet();
              } catch (ExecutionException e) {
                if (e.getCause() instanceof SpoolException.QueueNotFound
                    || e.getCause() instanceof SpoolException.ConsumerNotFound) {
                  gone.incrementAndGet();
                  there = false;
                } else {
                  wrong.add(named.getKey() + ": " + e.getCause());
                  there = false;
                }
              } catch (TimeoutException e) {
                wrong.add(named.getKey() + ": no answer in " + FAST_SECONDS + " s");
                there = false;
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                there = false;
              }
            }
          });
          caller.start();
          callers.add(caller);
        }
        started.await();
        result(spool.deleteQueue(queue));
        for (Thread caller : callers) {
          caller.join(TimeUnit.SECONDS.toMillis(2 * FAST_SECONDS));
          assertTrue(!caller.isAlive(), "a caller still waits in cycle " + cycle);
        }
      }
      assertEquals(List.of(), new ArrayList<>(wrong));
      assertEquals(25 * 5, gone.get(), "each caller learned its queue is gone");
      assertTrue(answered.get() > 0, "answered " + answered.get());
    } finally {
      kit.shutdownTestKit();
    }
  }
}
