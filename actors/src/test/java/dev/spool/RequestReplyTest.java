package dev.spool;

import static dev.spool.Await.failure;
import static dev.spool.Await.result;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.SpoolException.Code;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Request-reply: each request completes with its own reply, many at once; timeouts clean up; bad input refused. */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class RequestReplyTest {

  @JUnit5TestKit
  ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  private static final String KIB = "x".repeat(1024);

  /** A service that answers each request on {@code queue} with its payload upper-cased, after {@code delay}. */
  private static Subscription answering(Spool spool, String queue, Duration delay) {
    result(spool.createQueue(queue, QueueSettings.defaults()));
    QueueConsumer service = spool.createConsumer(queue, ConsumerSettings.named("service").prefetch(500));
    Subscription s = service.subscribe(d -> {
      CompletionStage<Long> replied = CompletableFuture.supplyAsync(() -> null,
              CompletableFuture.delayedExecutor(delay.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS))
          .thenCompose(x -> spool.reply(d, Message.text("answer", d.message().payloadAsString().toUpperCase()),
              "service"));
      return replied.thenApply(seq -> Done.getInstance());
    }, 16);
    result(s.ready());
    return s;
  }

  @Test
  void concurrentRequestsEachGetTheirOwnReply() {
    Spool spool = Spool.create(testKit.system());
    answering(spool, "rpc", Duration.ZERO);
    QueuePublisher client = spool.createPublisher("rpc", "client");
    List<CompletableFuture<Message>> replies = new ArrayList<>();
    for (int i = 0; i < 500; i++) {
      replies.add(client.request(Message.text("question", "q" + i + ":" + KIB), Duration.ofSeconds(20))
          .toCompletableFuture());
    }
    for (int i = 0; i < 500; i++) {
      Message reply = result(replies.get(i), 30);
      assertEquals("Q" + i + ":" + KIB.toUpperCase(), reply.payloadAsString());
      assertEquals("service", reply.producerId());
    }
    String replyQueue = spool.replies().queue();
    assertTrue(replyQueue.matches("reply-[0-9a-f]{20}"), replyQueue);
    Message asked = result(spool.browse("rpc", 1, 1)).get(0);
    assertEquals(replyQueue, asked.headers().get("reply-to"));
    assertTrue(asked.headers().get("correlation-id").matches("[0-9a-f-]{36}"));
  }

  @Test
  void aRequestWithoutAReplyTimesOutAndALateReplyIsDropped() {
    Spool spool = Spool.create(testKit.system());
    Subscription slow = answering(spool, "slow", Duration.ofMillis(1500));
    QueuePublisher client = spool.createPublisher("slow", "client");
    long started = System.nanoTime();
    Throwable timedOut = failure(client.request(Message.text("q", "late"), Duration.ofMillis(300)), Code.Timeout);
    assertTrue(timedOut.getMessage().contains("no reply to the request on slow within PT0.3S"), timedOut.getMessage());
    assertTrue(System.nanoTime() - started < Duration.ofSeconds(1).toNanos(), "answered at its timeout");
    assertEquals(0, spool.replies().waiting(), "a request that timed out is forgotten");
    // The late reply arrives and is dropped: the next request gets its own reply, not that one.
    Message next = result(client.request(Message.text("q", "next"), Duration.ofSeconds(10)), 15);
    assertEquals("NEXT", next.payloadAsString());
    assertEquals(0, spool.replies().waiting());
    result(slow.cancel());
  }

  @Test
  void badRequestsAndRepliesAreRefused() {
    Spool spool = Spool.create(testKit.system());
    result(spool.createQueue("plain", QueueSettings.defaults()));
    QueuePublisher client = spool.createPublisher("plain", "client");
    failure(client.request(null, Duration.ofSeconds(1)), Code.InvalidConfiguration);
    failure(client.request(Message.text("q", "x"), Duration.ZERO), Code.InvalidConfiguration);
    failure(client.request(Message.text("q", "x"), Duration.ofMinutes(11)), Code.InvalidConfiguration);
    failure(client.request(Message.text("q", "x"), null), Code.InvalidConfiguration);

    result(spool.createPublisher("plain", "p").publish(Message.text("not-a-request", "x")));
    QueueConsumer c = spool.createConsumer("plain", ConsumerSettings.named("c"));
    Delivery notARequest = result(c.readBatch(10, Duration.ofSeconds(1))).stream()
        .filter(d -> d.message().type().equals("not-a-request")).findFirst().orElseThrow();
    Throwable refused = failure(spool.reply(notARequest, Message.text("a", "x"), "c"), Code.InvalidConfiguration);
    assertTrue(refused.getMessage().contains("is not a request"), refused.getMessage());
  }

  @Test
  void shutdownFailsWaitingRequests() {
    Spool spool = Spool.create(testKit.system());
    result(spool.createQueue("nobody-answers", QueueSettings.defaults()));
    QueuePublisher client = spool.createPublisher("nobody-answers", "client");
    CompletableFuture<Message> waiting = client.request(Message.text("q", "x"), Duration.ofMinutes(5))
        .toCompletableFuture();
    String replyQueue = spool.replies().queue();
    await().atMost(Duration.ofSeconds(5)).until(() -> result(spool.listQueues()).stream()
        .anyMatch(q -> q.name().equals(replyQueue)));
    result(spool.shutdown());
    failure(waiting, Code.ShuttingDown);
  }
}
