package dev.spool;

import static dev.spool.Await.result;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.stream.IntStream;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Push consumers in the engine, with a transport of the test's own: they wait for a transport,
 * push through it within their bound, close their pusher when they go, are refused when the
 * transport refuses their endpoint, and are the same consumer when declared again.
 */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class PushConsumerTest {

  @JUnit5TestKit
  ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  private static final AtomicInteger QUEUES = new AtomicInteger();
  private static final String KIB = "x".repeat(1024);
  private final ScheduledExecutorService timer = Executors.newScheduledThreadPool(4);

  @AfterEach
  void stopTimer() {
    timer.shutdownNow();
  }

  /** A transport answering each delivery as {@code answer} says, after a few milliseconds, counting what it holds. */
  private final class FakeTransport implements PushTransport {
    final Function<Delivery, Throwable> answer;
    final Map<String, AtomicInteger> opened = new ConcurrentHashMap<>();
    final Map<String, AtomicInteger> closed = new ConcurrentHashMap<>();
    final Set<Long> pushed = ConcurrentHashMap.newKeySet();
    final AtomicInteger calls = new AtomicInteger();
    final AtomicInteger inFlight = new AtomicInteger();
    final AtomicInteger mostInFlight = new AtomicInteger();
    volatile String refuse;

    FakeTransport(Function<Delivery, Throwable> answer) {
      this.answer = answer;
    }

    @Override
    public void check(String queue, ConsumerSettings settings) {
      if (refuse != null && settings.push().endpoint().getHost().equals(refuse)) {
        throw new SpoolException.InvalidConfiguration("push endpoint host " + refuse + " is not allowed");
      }
    }

    @Override
    public Pusher open(String queue, ConsumerSettings settings) {
      opened.computeIfAbsent(settings.name(), n -> new AtomicInteger()).incrementAndGet();
      return new Pusher() {
        @Override
        public CompletionStage<Done> push(Delivery delivery) {
          calls.incrementAndGet();
          mostInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
          CompletableFuture<Done> answered = new CompletableFuture<>();
          timer.schedule(() -> {
            inFlight.decrementAndGet();
            Throwable failure = answer.apply(delivery);
            if (failure == null) {
              pushed.add(delivery.sequence());
              answered.complete(Done.getInstance());
            } else {
              answered.completeExceptionally(failure);
            }
          }, 3, TimeUnit.MILLISECONDS);
          return answered;
        }

        @Override
        public void close() {
          closed.computeIfAbsent(settings.name(), n -> new AtomicInteger()).incrementAndGet();
        }
      };
    }
  }

  private static List<Message> messages(int n) {
    return IntStream.rangeClosed(1, n).mapToObj(i -> Message.text("t", i + ":" + KIB)).toList();
  }

  @Test
  void aPushConsumerWaitsForATransportThenPushesEverythingWithinItsBound() {
    Spool spool = Spool.create(testKit.system());
    String q = "push-" + QUEUES.incrementAndGet();
    result(spool.createQueue(q, QueueSettings.defaults()));
    ConsumerSettings settings = ConsumerSettings.named("hook").push(PushSettings.to("https://hooks.example.com/in")
        .maxOutstanding(8));
    assertEquals(8, settings.prefetch(), "prefetch raised to maxOutstanding");
    result(spool.declareConsumer(q, settings));
    int n = 500;
    QueuePublisher publisher = spool.createPublisher(q, "p");
    // Many producers at once.
    List<CompletableFuture<List<Long>>> published = IntStream.range(0, 5)
        .mapToObj(i -> publisher.publishAll(messages(n / 5)).toCompletableFuture()).toList();
    published.forEach(Await::result);

    ConsumerInfo waiting = result(spool.consumerInfo(q, "hook"));
    assertEquals(DeliveryState.NO_SUBSCRIBERS, waiting.deliveryState(), "no transport yet: nothing pushes");
    assertEquals(n, waiting.lag());

    FakeTransport transport = new FakeTransport(d -> null);
    spool.usePushTransport(transport);
    await().atMost(Duration.ofSeconds(30)).until(() -> result(spool.consumerInfo(q, "hook")).lag() == 0);
    assertEquals(n, transport.pushed.size());
    assertEquals(n, transport.calls.get(), "each message pushed once");
    assertTrue(transport.mostInFlight.get() <= 8, "at most maxOutstanding at once: " + transport.mostInFlight.get());
    assertTrue(transport.mostInFlight.get() > 1, "and concurrently: " + transport.mostInFlight.get());
    assertEquals(1, transport.opened.get("hook").get());

    result(spool.deleteConsumer(q, "hook"));
    await().atMost(Duration.ofSeconds(5)).until(() -> transport.closed.containsKey("hook"));
  }

  @Test
  void failuresAreRetriedByTheBackoffAndPermanentOnesDeadLetterAtOnce() {
    Spool spool = Spool.create(testKit.system());
    String q = "push-" + QUEUES.incrementAndGet();
    String dlq = q + "-dlq";
    result(spool.createQueue(dlq, QueueSettings.defaults()));
    result(spool.createQueue(q, QueueSettings.defaults().withDeadLetter(dlq, 10)));
    Map<Long, AtomicInteger> attempts = new ConcurrentHashMap<>();
    FakeTransport transport = new FakeTransport(d -> {
      int attempt = attempts.computeIfAbsent(d.sequence(), s -> new AtomicInteger()).incrementAndGet();
      String text = d.message().payloadAsString();
      if (text.startsWith("permanent")) {
        return new PermanentFailure("push endpoint answered 422");
      }
      return text.startsWith("flaky") && attempt < 3 ? new IllegalStateException("push answered 503") : null;
    });
    spool.usePushTransport(transport);
    result(spool.declareConsumer(q, ConsumerSettings.named("hook").maxDeliveries(4)
        .backoff(Backoff.exponential(Duration.ofMillis(20), Duration.ofMillis(100), 2.0, 0.0))
        .push(PushSettings.to("https://hooks.example.com/in").maxOutstanding(4))));
    QueuePublisher publisher = spool.createPublisher(q, "p");
    for (int i = 0; i < 10; i++) {
      result(publisher.publishAll(List.of(Message.text("t", "flaky-" + i + KIB), Message.text("t", "permanent-" + i),
          Message.text("t", "fine-" + i + KIB))));
    }
    await().atMost(Duration.ofSeconds(30)).until(() -> result(spool.consumerInfo(q, "hook")).lag() == 0);
    List<Message> dead = result(spool.browse(dlq, 1, 100));
    assertEquals(10, dead.size());
    for (Message m : dead) {
      assertTrue(m.payloadAsString().startsWith("permanent"), m.payloadAsString());
      assertEquals("permanent", m.headers().get("x-death-reason"));
      assertTrue(m.headers().get("x-death-error").contains("422"), m.headers().toString());
    }
    assertEquals(30, attempts.size());
    assertEquals(10, attempts.values().stream().filter(n -> n.get() == 3).count(), "flaky: failed twice, then pushed");
    assertEquals(20, attempts.values().stream().filter(n -> n.get() == 1).count(), "fine and permanent: once");
    assertEquals(20, transport.pushed.size());
  }

  @Test
  void anEndpointTheTransportRefusesCreatesNothingAndDeclaringAgainKeepsTheSecret() {
    Spool spool = Spool.create(testKit.system());
    String q = "push-" + QUEUES.incrementAndGet();
    result(spool.createQueue(q, QueueSettings.defaults()));
    FakeTransport transport = new FakeTransport(d -> null);
    transport.refuse = "internal.example";
    spool.usePushTransport(transport);
    SpoolException refused = Await.failure(spool.declareConsumer(q,
        ConsumerSettings.named("hook").push(PushSettings.to("https://internal.example/x"))),
        SpoolException.Code.InvalidConfiguration);
    assertTrue(refused.getMessage().contains("not allowed"), refused.getMessage());
    Await.failure(spool.consumerInfo(q, "hook"), SpoolException.Code.ConsumerNotFound);

    PushSettings push = PushSettings.to("https://hooks.example.com/in");
    Created<ConsumerInfo> first = result(spool.declareConsumer(q, ConsumerSettings.named("hook").push(push)));
    assertTrue(first.created());
    Created<ConsumerInfo> again = result(spool.declareConsumer(q, ConsumerSettings.named("hook")
        .push(PushSettings.to("https://hooks.example.com/in"))));
    assertFalse(again.created(), "the same push with another nonce is the same consumer");
    assertEquals(push.nonce(), again.value().settings().push().nonce(), "and keeps its nonce, so its secret");
    Await.failure(spool.declareConsumer(q, ConsumerSettings.named("hook")
        .push(PushSettings.to("https://hooks.example.com/other"))), SpoolException.Code.ConsumerAlreadyExists);
  }

  @Test
  void pushSettingsRefuseWhatCannotBePushed() {
    for (String bad : new String[] {"ftp://h/x", "https://user:pw@h/x", "https:///x", "https://h/x#frag", "h/x",
        "https://h/" + "p".repeat(PushSettings.MAX_ENDPOINT_LENGTH), "", " "}) {
      assertThrows(SpoolException.InvalidConfiguration.class, () -> PushSettings.to(bad), bad);
    }
    PushSettings ok = PushSettings.to("https://h.example/x");
    assertThrows(SpoolException.InvalidConfiguration.class, () -> ok.ackDeadline(Duration.ofMillis(10)));
    assertThrows(SpoolException.InvalidConfiguration.class, () -> ok.ackDeadline(Duration.ofMinutes(11)));
    assertThrows(SpoolException.InvalidConfiguration.class, () -> ok.maxOutstanding(0));
    assertThrows(SpoolException.InvalidConfiguration.class, () -> ok.maxOutstanding(PushSettings.MAX_OUTSTANDING + 1));
    assertThrows(SpoolException.InvalidConfiguration.class, () -> ok.permanentStatuses(Set.of(302)));
    assertThrows(SpoolException.InvalidConfiguration.class, () -> ok.nonce("short"));
    assertThrows(SpoolException.InvalidConfiguration.class,
        () -> ConsumerSettings.named("c").ackMode(AckMode.NONE).push(ok));
    assertThrows(SpoolException.InvalidConfiguration.class, () -> new ConsumerSettings("c", StartPosition.earliest(),
        AckMode.EXPLICIT, 2, null, null, MessageFilter.ALL, null, null, false, ok.maxOutstanding(10)));
    assertFalse(ok.nonce().equals(PushSettings.to("https://h.example/x").nonce()), "a fresh nonce each time");
  }
}
