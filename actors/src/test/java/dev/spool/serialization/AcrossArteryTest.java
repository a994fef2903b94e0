package dev.spool.serialization;

import static dev.spool.Await.result;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spool.AckResult;
import dev.spool.ConsumerInfo;
import dev.spool.ConsumerSettings;
import dev.spool.Created;
import dev.spool.Delivery;
import dev.spool.Message;
import dev.spool.QueueInfo;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import dev.spool.SpoolException;
import dev.spool.actor.ConsumerActor;
import dev.spool.actor.QueueActor;
import dev.spool.actor.QueueManager;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorRefResolver;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.stream.CompletionStrategy;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.typed.javadsl.ActorSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Two actor systems on loopback, talking over Artery as cluster members do: one runs the engine,
 * the other sends it commands with reply and subscriber references of its own, so that commands,
 * replies (lists, {@code Created}, errors), deliveries and a consumer's stream really cross the
 * network.
 */
class AcrossArteryTest {

  private ActorTestKit engineNode;
  private ActorTestKit clientNode;

  private static Config remote() {
    return ConfigFactory.parseMap(Map.of(
            "pekko.actor.provider", "remote",
            "pekko.remote.artery.canonical.hostname", "127.0.0.1",
            "pekko.remote.artery.canonical.port", 0))
        .withFallback(ConfigFactory.load());
  }

  @BeforeEach
  void start() {
    engineNode = ActorTestKit.create("spool", remote());
    clientNode = ActorTestKit.create("spool", remote());
  }

  @AfterEach
  void stop() {
    clientNode.shutdownTestKit();
    engineNode.shutdownTestKit();
  }

  @Test
  void commandsRepliesAndDeliveriesCrossArtery() {
    Spool spool = Spool.create(engineNode.system());
    result(spool.ready());
    String path = ActorRefResolver.get(engineNode.system()).toSerializationFormat(spool.queueManager());
    ActorRef<QueueManager.Command> manager = ActorRefResolver.get(clientNode.system()).resolveActorRef(path);

    TestProbe<StatusReply<Created<QueueInfo>>> created = clientNode.createTestProbe();
    manager.tell(new QueueManager.CreateQueue("orders", QueueSettings.defaults(), created.ref()));
    Created<QueueInfo> queue = created.receiveMessage(Duration.ofSeconds(10)).getValue();
    assertTrue(queue.created());
    assertEquals("orders", queue.value().name());

    Random random = new Random(3);
    byte[] small = new byte[1024];
    byte[] large = new byte[64 * 1024];
    random.nextBytes(small);
    random.nextBytes(large);
    TestProbe<StatusReply<List<Long>>> published = clientNode.createTestProbe();
    manager.tell(new QueueManager.ToQueue("orders", new QueueActor.Publish("remote-producer",
        List.of(Message.of("small", small).withKey("k"), Message.of("large", large).withTtl(Duration.ofMinutes(1))),
        published.ref())));
    assertEquals(List.of(1L, 2L), published.receiveMessage(Duration.ofSeconds(10)).getValue());

    TestProbe<StatusReply<Created<ConsumerInfo>>> consumer = clientNode.createTestProbe();
    manager.tell(new QueueManager.ToQueue("orders",
        new QueueActor.CreateConsumer(ConsumerSettings.named("remote"), consumer.ref())));
    assertEquals(2, consumer.receiveMessage(Duration.ofSeconds(10)).getValue().value().lag());
    // A second consumer, read by a stream below: it keeps every message retained until it gets there.
    manager.tell(new QueueManager.ToQueue("orders", new QueueActor.CreateConsumer(ConsumerSettings.named("streamed"),
        consumer.ref())));
    assertTrue(consumer.receiveMessage(Duration.ofSeconds(10)).getValue().created());

    TestProbe<StatusReply<List<Delivery>>> read = clientNode.createTestProbe();
    manager.tell(new QueueManager.ToQueue("orders", new QueueActor.ToConsumer("remote",
        new ConsumerActor.Read(10, Duration.ZERO, read.ref()))));
    List<Delivery> deliveries = read.receiveMessage(Duration.ofSeconds(10)).getValue();
    assertEquals(2, deliveries.size());
    assertArrayEquals(small, deliveries.get(0).message().payload());
    assertEquals("k", deliveries.get(0).message().key().orElseThrow());
    assertArrayEquals(large, deliveries.get(1).message().payload());
    assertTrue(deliveries.get(1).message().expiresAt().isPresent(), "the ttl became an expiry at append");

    TestProbe<StatusReply<AckResult>> acked = clientNode.createTestProbe();
    manager.tell(new QueueManager.ToQueue("orders", new QueueActor.ToConsumer("remote",
        new ConsumerActor.Ack(List.of(1L, 2L), acked.ref()))));
    assertEquals(2, acked.receiveMessage(Duration.ofSeconds(10)).getValue().acked());

    // A subscriber on the other node receives deliveries as messages.
    TestProbe<Delivery> subscriber = clientNode.createTestProbe();
    TestProbe<StatusReply<org.apache.pekko.Done>> subscribed = clientNode.createTestProbe();
    manager.tell(new QueueManager.ToQueue("orders", new QueueActor.ToConsumer("remote",
        new ConsumerActor.Subscribe(subscriber.ref(), subscribed.ref()))));
    assertTrue(subscribed.receiveMessage(Duration.ofSeconds(10)).isSuccess());
    manager.tell(new QueueManager.ToQueue("orders", new QueueActor.Publish("remote-producer",
        List.of(Message.of("large", large)), published.ref())));
    assertEquals(List.of(3L), published.receiveMessage(Duration.ofSeconds(10)).getValue());
    Delivery pushed = subscriber.receiveMessage(Duration.ofSeconds(10));
    assertEquals(3L, pushed.sequence());
    assertArrayEquals(large, pushed.message().payload());

    // A stream on the other node, fed by the consumer's own demand protocol over remote references
    // (what QueueConsumer.batches() does locally): batches flow one per demand signal.
    TestProbe<StatusReply<ActorRef<ConsumerActor.Command>>> ref = clientNode.createTestProbe();
    manager.tell(new QueueManager.ToQueue("orders", new QueueActor.ToConsumer("streamed",
        new ConsumerActor.GetRef(ref.ref()))));
    ActorRef<ConsumerActor.Command> streamedConsumer = ref.receiveMessage(Duration.ofSeconds(10)).getValue();
    List<ConsumerActor.StreamElement> batches = result(ActorSource.<ConsumerActor.StreamElement, ConsumerActor.Command>
            actorRefWithBackpressure(streamedConsumer, new ConsumerActor.StreamDemand(1),
                e -> e == ConsumerActor.End.INSTANCE ? Optional.of(CompletionStrategy.draining()) : Optional.empty(),
                e -> Optional.empty())
        .mapMaterializedValue(stream -> {
          streamedConsumer.tell(new ConsumerActor.SubscribeStream(1, stream));
          return NotUsed.notUsed();
        })
        .takeWhile(e -> e instanceof ConsumerActor.Batch b && b.deliveries().get(b.deliveries().size() - 1)
            .sequence() < 3, true)
        .runWith(Sink.seq(), clientNode.system()));
    List<Long> streamedSequences = batches.stream()
        .flatMap(e -> ((ConsumerActor.Batch) e).deliveries().stream()).map(Delivery::sequence).toList();
    assertEquals(List.of(1L, 2L, 3L), streamedSequences);

    // Errors arrive as the same SpoolException subclass.
    TestProbe<StatusReply<QueueInfo>> info = clientNode.createTestProbe();
    manager.tell(new QueueManager.ToQueue("missing", new QueueActor.GetInfo(info.ref())));
    SpoolException.QueueNotFound notFound = assertInstanceOf(SpoolException.QueueNotFound.class,
        info.receiveMessage(Duration.ofSeconds(10)).getError());
    assertEquals("queue 'missing' does not exist", notFound.getMessage());
    manager.tell(new QueueManager.CreateQueue("orders", QueueSettings.defaults().withMaxLength(5), created.ref()));
    assertInstanceOf(SpoolException.QueueAlreadyExists.class, created.receiveMessage(Duration.ofSeconds(10)).getError());
  }
}
