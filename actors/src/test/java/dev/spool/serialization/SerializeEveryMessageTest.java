package dev.spool.serialization;

import static dev.spool.Await.failure;
import static dev.spool.Await.result;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spool.ConsumerInfo;
import dev.spool.ConsumerSettings;
import dev.spool.Delivery;
import dev.spool.Durability;
import dev.spool.LagStats;
import dev.spool.Message;
import dev.spool.MessageTrace;
import dev.spool.QueueConsumer;
import dev.spool.QueueInfo;
import dev.spool.QueuePublisher;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import dev.spool.SpoolEvent;
import dev.spool.SpoolException;
import dev.spool.SpoolException.Code;
import dev.spool.StartPosition;
import dev.spool.actor.QueueActor;
import dev.spool.actor.QueueManager;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.eventstream.EventStream;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.event.Logging;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A realistic engine session with {@code pekko.actor.serialize-messages = on}: Pekko writes and
 * reads back every message sent to an actor, as if it crossed the network, and delivers the copy.
 * Replies sent to actors are checked too ({@code StatusReply} included: only Pekko's internal
 * packages are exempt here, not {@code org.apache.pekko.pattern}). A message that cannot be
 * serialized is logged and dropped by Pekko; every such error is collected and fails the test.
 */
@ExtendWith(LogCapturingExtension.class)
class SerializeEveryMessageTest {

  /** Pekko's packages whose messages stay unchecked: all but {@code pattern}, home of StatusReply. */
  private static final List<String> PEKKO_INTERNALS = List.of("actor", "dispatch", "event", "io", "routing",
      "stream", "persistence", "util", "remote", "cluster", "testkit");

  private ActorTestKit testKit;
  private Spool spool;
  private final ConcurrentLinkedQueue<Logging.Error> errors = new ConcurrentLinkedQueue<>();
  private final Random random = new Random(7);

  @BeforeEach
  void start(@TempDir Path dir) {
    Config config = ConfigFactory.parseMap(Map.of(
            "pekko.actor.serialize-messages", "on",
            "pekko.actor.no-serialization-verification-needed-class-prefix",
            PEKKO_INTERNALS.stream().map(p -> "org.apache.pekko." + p + ".").toList(),
            "spool.journal.sqlite.path", dir.resolve("spool.db").toString(),
            "spool.persistence.journal-plugin", "spool.journal.sqlite.journal",
            "spool.persistence.snapshot-plugin", "spool.journal.sqlite.snapshot-store"))
        .withFallback(ConfigFactory.load());
    testKit = ActorTestKit.create("serialize-all", config);
    ActorRef<Logging.Error> collector = testKit.spawn(Behaviors.receiveMessage(e -> {
      errors.add(e);
      return Behaviors.same();
    }), "errors");
    testKit.system().eventStream().tell(new EventStream.Subscribe<>(Logging.Error.class, collector));
    spool = Spool.create(testKit.system());
    result(spool.ready());
  }

  @AfterEach
  void stop() {
    testKit.shutdownTestKit();
  }

  private void assertNothingDropped() {
    List<String> dropped = new ArrayList<>();
    for (Logging.Error e : errors) {
      dropped.add(e.message() + (e.cause() == null ? "" : ": " + e.cause()));
    }
    assertEquals(List.of(), dropped, "errors logged while messages were serialized");
  }

  private byte[] payload(int size) {
    byte[] bytes = new byte[size];
    random.nextBytes(bytes);
    return bytes;
  }

  @Test
  void verificationCoversRepliesToActors() {
    // The check itself: a reply that cannot be serialized is dropped, and the error is seen.
    TestProbe<StatusReply<Object>> probe = testKit.createTestProbe();
    probe.ref().tell(StatusReply.success(new Object()));
    probe.expectNoMessage(Duration.ofMillis(300));
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> !errors.isEmpty());
    assertTrue(errors.stream().anyMatch(e -> String.valueOf(e.cause()).contains("Serializ")), errors.toString());
  }

  @Test
  void aWholeSessionWorksWhenEveryMessageIsSerialized() {
    try {
      session();
    } catch (AssertionError e) {
      // A message dropped for its serialization is the likeliest reason a step timed out: say so.
      e.addSuppressed(new AssertionError("errors logged meanwhile: " + errors));
      throw e;
    }
    assertNothingDropped();
  }

  private void session() {
    List<SpoolEvent> events = new ArrayList<>();
    CompletionStage<Done> eventsDone = spool.events().runWith(Sink.foreach(events::add), testKit.system());

    result(spool.createQueue("orders-dlq", QueueSettings.defaults()));
    QueueInfo orders = result(spool.createQueue("orders", QueueSettings.defaults().withDeadLetter("orders-dlq", 2)
        .withTtl(Duration.ofMinutes(10))));
    assertEquals("orders", orders.name());
    result(spool.createQueue("ledger", QueueSettings.defaults().withDurability(Durability.PERSISTENT)));

    // Publishes of 1 KiB and 64 KiB messages, with keys, headers, ids and a ttl.
    QueuePublisher publisher = spool.createPublisher("orders", "shop");
    List<byte[]> payloads = new ArrayList<>();
    List<Message> batch = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      byte[] body = payload(i % 4 == 0 ? 64 * 1024 : 1024);
      payloads.add(body);
      batch.add(Message.of("order.created", body).withKey("customer-" + (i % 3)).withHeader("region", "eu")
          .withTtl(Duration.ofMinutes(5)));
    }
    assertEquals(20, result(publisher.publishAll(batch)).size());
    assertEquals(List.of(1L, 2L), result(spool.createPublisher("ledger", "bank")
        .publishAll(List.of(Message.of("entry", payload(1024)), Message.of("entry", payload(64 * 1024))))));

    // Explicit acknowledgements: what arrives is what was published, byte for byte.
    QueueConsumer billing = spool.createConsumer("orders", ConsumerSettings.named("billing").prefetch(50));
    List<Delivery> read = result(billing.readBatch(20));
    assertEquals(20, read.size());
    for (int i = 0; i < 20; i++) {
      assertTrue(Arrays.equals(payloads.get(i), read.get(i).message().payload()), "payload " + i);
      assertEquals("eu", read.get(i).message().headers().get("region"));
    }
    assertEquals(18, result(billing.acknowledgeBatch(read.subList(0, 18))));
    // A rejected message goes to the dead-letter queue.
    result(billing.nack(List.of(read.get(18).sequence()), false));
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
        .until(() -> result(spool.queueStats("orders-dlq")).lastSequence() == 1);
    List<Message> deadLettered = result(spool.browse("orders-dlq", 1, 10));
    assertTrue(Arrays.equals(payloads.get(18), deadLettered.get(0).payload()));

    // Streams: source() with acknowledgements, batches(). Every hop is serialized twice on a shared
    // machine: a minute before calling a stream stuck.
    QueueConsumer streamed = spool.createConsumer("orders", ConsumerSettings.named("stream"));
    List<Delivery> viaSource = result(streamed.source().take(20)
        .mapAsync(4, d -> streamed.acknowledge(d).thenApply(n -> d)).runWith(Sink.seq(), testKit.system()), 60);
    assertEquals(20, viaSource.size());
    QueueConsumer batched = spool.createConsumer("orders", ConsumerSettings.named("batched"));
    List<List<Delivery>> viaBatches = result(batched.batches().take(1).runWith(Sink.seq(), testKit.system()), 60);
    assertFalse(viaBatches.get(0).isEmpty());
    QueueConsumer ledger = spool.createConsumer("ledger", ConsumerSettings.named("audit"));
    List<Delivery> entries = result(ledger.readBatch(2));
    assertEquals(64 * 1024, entries.get(1).message().payload().length);
    result(ledger.acknowledgeBatch(entries));

    // An actor subscriber receives deliveries as messages of its own.
    TestProbe<Delivery> subscriber = testKit.createTestProbe();
    QueueConsumer pushed = spool.createConsumer("orders", ConsumerSettings.named("pushed").prefetch(5));
    result(pushed.subscribe(subscriber.ref()));
    Delivery pushedFirst = subscriber.receiveMessage(Duration.ofSeconds(10));
    assertEquals(1L, pushedFirst.sequence());
    result(pushed.unsubscribe(subscriber.ref()));

    // Operations: browse, trace, stats, lag, stale, GC, consumers, pause/resume/seek.
    assertEquals(5, result(spool.browse("orders", 1, 5)).size());
    MessageTrace trace = result(spool.messageTrace("orders", 1));
    assertTrue(trace.entries().stream().anyMatch(e -> e.event().equals("acked")), trace.toString());
    assertEquals(20, result(spool.queueStats("orders")).lastSequence());
    LagStats lag = result(spool.lagStatistics());
    assertTrue(lag.totalConsumers() >= 4, lag.toString());
    assertFalse(result(spool.detectStaleConsumers(Duration.ZERO)).isEmpty());
    assertTrue(result(spool.collectGarbage()) >= 0);
    assertEquals(List.of("batched", "billing", "pushed", "stream"),
        result(spool.listConsumers("orders")).stream().map(ConsumerInfo::name).sorted().toList());
    assertTrue(result(spool.listQueues()).stream().map(QueueInfo::name).toList()
        .containsAll(List.of("orders", "orders-dlq", "ledger")));
    result(billing.pause());
    assertTrue(result(billing.info()).paused());
    result(billing.resume());
    result(billing.seek(StartPosition.sequence(3)));
    assertEquals(3, result(billing.info()).cursor());
    result(spool.memoryStats());
    result(spool.diskStats());
    assertTrue(result(spool.health()).healthy());
    assertEquals(1L, result(spool.redrive("orders-dlq")));

    // Errors arrive as the same SpoolException subclass, through the facade ...
    assertInstanceOf(SpoolException.QueueNotFound.class, failure(spool.queueInfo("missing"), Code.QueueNotFound));
    assertInstanceOf(SpoolException.QueueAlreadyExists.class,
        failure(spool.createQueue("orders", QueueSettings.defaults()), Code.QueueAlreadyExists));
    failure(spool.consumerInfo("orders", "nobody"), Code.ConsumerNotFound);
    // ... and as replies to an actor, each serialized on its way.
    TestProbe<StatusReply<QueueInfo>> info = testKit.createTestProbe();
    spool.queueManager().tell(new QueueManager.ToQueue("missing", new QueueActor.GetInfo(info.ref())));
    SpoolException notFound = assertInstanceOf(SpoolException.QueueNotFound.class,
        info.receiveMessage(Duration.ofSeconds(10)).getError());
    assertEquals("queue 'missing' does not exist", notFound.getMessage());
    TestProbe<StatusReply<dev.spool.Created<QueueInfo>>> created = testKit.createTestProbe();
    spool.queueManager().tell(new QueueManager.CreateQueue("orders", QueueSettings.defaults(), created.ref()));
    assertInstanceOf(SpoolException.QueueAlreadyExists.class, created.receiveMessage(Duration.ofSeconds(10)).getError());
    TestProbe<StatusReply<List<QueueInfo>>> listed = testKit.createTestProbe();
    spool.queueManager().tell(new QueueManager.ListQueues(listed.ref()));
    assertTrue(listed.receiveMessage(Duration.ofSeconds(10)).getValue().size() >= 4);
    TestProbe<StatusReply<List<Long>>> published = testKit.createTestProbe();
    spool.queueManager().tell(new QueueManager.ToQueue("orders",
        new QueueActor.Publish("probe", List.of(Message.of("order.created", payload(64 * 1024))), published.ref())));
    // 21 is the redriven message.
    assertEquals(List.of(22L), published.receiveMessage(Duration.ofSeconds(10)).getValue());
    assertEquals(1L, result(spool.deleteMessages("orders", List.of(22L, 500L))));
    assertEquals(0L, result(spool.trimBelow("orders", 1)));

    result(spool.deleteConsumer("orders", "batched"));
    result(spool.deleteQueue("orders-dlq"));
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
        .until(() -> events.stream().anyMatch(e -> e instanceof SpoolEvent.QueueDeleted));
    assertTrue(events.stream().anyMatch(e -> e instanceof SpoolEvent.QueueCreated c && c.queue().equals("orders")),
        events.toString());
    assertTrue(events.stream().anyMatch(e -> e instanceof SpoolEvent.DeadLettered), events.toString());
    assertFalse(eventsDone.toCompletableFuture().isDone());
  }
}
