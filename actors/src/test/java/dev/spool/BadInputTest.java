package dev.spool;

import static dev.spool.Await.failure;
import static dev.spool.Await.result;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import dev.spool.SpoolException.Code;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Bad input gets the right {@link SpoolException} code and changes nothing. */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class BadInputTest {

  private static final int MAX_MESSAGE_BYTES = 1024;

  @JUnit5TestKit
  ActorTestKit testKit = new JUnit5TestKitBuilder()
      .withCustomConfig(ConfigFactory.parseString("spool.max-message-bytes = " + MAX_MESSAGE_BYTES)
          .withFallback(ConfigFactory.load()))
      .build();

  private static final AtomicInteger QUEUES = new AtomicInteger();

  private static final List<String> INVALID_NAMES = Arrays.asList(
      "", " ", "a b", "a/b", "ä", "x".repeat(129), "$events", "$", "new\nline", null);

  private String newQueue(Spool spool, QueueSettings settings) {
    String q = "bad-" + QUEUES.incrementAndGet();
    result(spool.createQueue(q, settings));
    return q;
  }

  private List<String> queueNames(Spool spool) {
    List<String> names = new ArrayList<>();
    result(spool.listQueues()).forEach(i -> names.add(i.name()));
    return names;
  }

  @Test
  void invalidQueueNamesAreRefusedAndNothingIsCreated() {
    Spool spool = Spool.create(testKit.system());
    List<String> before = queueNames(spool);
    for (String name : INVALID_NAMES) {
      SpoolException e = failure(spool.createQueue(name, QueueSettings.defaults()), Code.InvalidName);
      assertTrue(e.getMessage().contains("name"), e.getMessage());
    }
    assertEquals(before, queueNames(spool));
    // the longest valid name, every allowed character class
    result(spool.createQueue("A-z_0.9-" + "x".repeat(120), QueueSettings.defaults()));
  }

  @Test
  void invalidConsumerNamesAreRefusedAndNothingIsCreated() {
    Spool spool = Spool.create(testKit.system());
    String q = newQueue(spool, QueueSettings.defaults());
    for (String name : INVALID_NAMES) {
      failure(spool.createConsumer(q, ConsumerSettings.named(name)).ready(), Code.InvalidName);
    }
    assertEquals(List.of(), result(spool.listConsumers(q)));
  }

  @Test
  void unknownQueuesAndConsumersAreReportedAsSuch() {
    Spool spool = Spool.create(testKit.system());
    failure(spool.createPublisher("nowhere", "p").publish(Message.text("t", "x")), Code.QueueNotFound);
    failure(spool.createConsumer("nowhere", ConsumerSettings.named("c")).ready(), Code.QueueNotFound);
    failure(spool.queueStats("nowhere"), Code.QueueNotFound);
    failure(spool.deleteQueue("nowhere"), Code.QueueNotFound);
    failure(spool.consumerInfo("nowhere", "c"), Code.QueueNotFound);
    String q = newQueue(spool, QueueSettings.defaults());
    failure(spool.consumerInfo(q, "ghost"), Code.ConsumerNotFound);
    failure(spool.deleteConsumer(q, "ghost"), Code.ConsumerNotFound);
    assertTrue(!queueNames(spool).contains("nowhere"));
  }

  @Test
  void createQueueIsIdempotentForEqualSettingsAndRefusesOtherSettings() {
    Spool spool = Spool.create(testKit.system());
    QueueSettings settings = QueueSettings.defaults().withMaxLength(10);
    String q = newQueue(spool, settings);
    result(spool.createPublisher(q, "p").publish(Message.text("t", "keep me")));
    QueueInfo again = result(spool.createQueue(q, settings));
    assertEquals(1, again.stats().depth(), "the existing queue is returned, untouched");
    failure(spool.createQueue(q, settings.withMaxLength(11)), Code.QueueAlreadyExists);
    QueueInfo after = result(spool.queueInfo(q));
    assertEquals(settings, after.settings());
    assertEquals(1, after.stats().depth());
  }

  @Test
  void settingsThatAreNotBuiltYetOrContradictoryAreRefused() {
    Spool spool = Spool.create(testKit.system());
    List<String> before = queueNames(spool);
    QueueSettings d = QueueSettings.defaults();
    failure(spool.createQueue("unsupported-" + QUEUES.incrementAndGet(), d.withDurability(Durability.PERSISTENT)),
        Code.InvalidConfiguration);
    String self = "self-dead-letter-" + QUEUES.incrementAndGet();
    failure(spool.createQueue(self, d.withDeadLetter(self, 3)), Code.InvalidConfiguration);
    assertEquals(before, queueNames(spool));
  }

  @Test
  void outOfRangeSettingsAreRefusedWhenBuilt() {
    QueueSettings d = QueueSettings.defaults();
    assertEquals(Code.InvalidConfiguration, assertThrows(SpoolException.class, () -> d.withMaxLength(-1)).code());
    assertEquals(Code.InvalidConfiguration, assertThrows(SpoolException.class, () -> d.withTtl(Duration.ZERO)).code());
    assertEquals(Code.InvalidConfiguration,
        assertThrows(SpoolException.class, () -> d.withRetention(Duration.ofSeconds(-1))).code());
    assertEquals(Code.InvalidConfiguration, assertThrows(SpoolException.class,
        () -> ConsumerSettings.named("c").inactiveTimeout(Duration.ZERO)).code());
    assertEquals(Code.InvalidConfiguration,
        assertThrows(SpoolException.class, () -> Message.text("t", "x").withTtl(Duration.ofMillis(-1))).code());
    assertEquals(Code.InvalidConfiguration,
        assertThrows(SpoolException.class, () -> Message.text("t", "x").withExpiresAt(null)).code());
    assertEquals(Code.InvalidConfiguration, assertThrows(SpoolException.class, () -> d.withTtl(Duration.ZERO)).code());
    assertEquals(Code.InvalidName, assertThrows(SpoolException.class, () -> d.withDeadLetter("no way", 3)).code());
    ConsumerSettings c = ConsumerSettings.named("c");
    assertEquals(Code.InvalidConfiguration, assertThrows(SpoolException.class, () -> c.prefetch(0)).code());
    assertEquals(Code.InvalidConfiguration,
        assertThrows(SpoolException.class, () -> c.ackTimeout(Duration.ofSeconds(-1))).code());
    assertEquals(Code.InvalidConfiguration, assertThrows(SpoolException.class, () -> c.maxDeliveries(0)).code());
    assertEquals(Code.InvalidConfiguration, assertThrows(SpoolException.class, () -> StartPosition.sequence(0)).code());
    assertEquals(Code.InvalidConfiguration, assertThrows(SpoolException.class, () -> StartPosition.parse("soon")).code());
    assertEquals(StartPosition.sequence(42), StartPosition.parse("sequence:42"));
    assertEquals(StartPosition.latest(), StartPosition.parse("latest"));
  }

  @Test
  void aDuplicateConsumerWithOtherSettingsIsRefusedAndTheOriginalKeepsItsStateAndSettings() {
    Spool spool = Spool.create(testKit.system());
    String q = newQueue(spool, QueueSettings.defaults());
    QueuePublisher p = spool.createPublisher(q, "p");
    result(p.publishAll(List.of(Message.text("t", "1"), Message.text("t", "2"), Message.text("t", "3"))));
    QueueConsumer original = spool.createConsumer(q, ConsumerSettings.named("c").prefetch(7));
    result(original.acknowledgeBatch(result(original.readBatch(2))));

    QueueConsumer clash = spool.createConsumer(q, ConsumerSettings.named("c").prefetch(8));
    failure(clash.ready(), Code.ConsumerAlreadyExists);
    failure(clash.readBatch(10), Code.ConsumerAlreadyExists);

    QueueConsumer same = spool.createConsumer(q, ConsumerSettings.named("c").prefetch(7));
    ConsumerInfo info = result(same.ready());
    assertEquals(7, info.settings().prefetch());
    assertEquals(2, info.committed(), "creating again with equal settings keeps the position");
    assertEquals(List.of(3L), result(same.readBatch(10)).stream().map(Delivery::sequence).toList());
  }

  @Test
  void aTooLargeMessageIsRefusedAndNothingOfItsBatchIsAppended() {
    Spool spool = Spool.create(testKit.system());
    String q = newQueue(spool, QueueSettings.defaults());
    QueuePublisher p = spool.createPublisher(q, "p");
    failure(p.publish(Message.of("t", new byte[MAX_MESSAGE_BYTES + 1])), Code.MessageTooLarge);
    failure(p.publishAll(List.of(Message.text("t", "fine"), Message.of("t", new byte[MAX_MESSAGE_BYTES * 2]))),
        Code.MessageTooLarge);
    QueueStats stats = result(spool.queueStats(q));
    assertEquals(0, stats.lastSequence());
    assertEquals(0, stats.depth());
    assertEquals(1L, result(p.publish(Message.of("t", new byte[MAX_MESSAGE_BYTES - 100]))));
  }

  @Test
  void maxLengthAndMaxBytesRejectWholePublishesWithQueueFull() {
    Spool spool = Spool.create(testKit.system());
    String q = newQueue(spool, QueueSettings.defaults().withMaxLength(5));
    QueuePublisher p = spool.createPublisher(q, "p");
    result(p.publishAll(List.of(Message.text("t", "1"), Message.text("t", "2"), Message.text("t", "3"))));
    failure(p.publishAll(List.of(Message.text("t", "4"), Message.text("t", "5"), Message.text("t", "6"))),
        Code.QueueFull);
    assertEquals(3, result(spool.queueStats(q)).depth(), "nothing of the refused batch was appended");
    assertEquals(List.of(4L, 5L), result(p.publishAll(List.of(Message.text("t", "4"), Message.text("t", "5")))));
    failure(p.publish(Message.text("t", "6")), Code.QueueFull);

    // accounted as appended: with its producer id
    long oneMessage = Message.text("t", "x").appended(1, 0, "p").sizeBytes();
    String byBytes = newQueue(spool, QueueSettings.defaults().withMaxBytes(oneMessage * 2));
    QueuePublisher pb = spool.createPublisher(byBytes, "p");
    result(pb.publishAll(List.of(Message.text("t", "x"), Message.text("t", "y"))));
    failure(pb.publish(Message.text("t", "z")), Code.QueueFull);
    assertEquals(2, result(spool.queueStats(byBytes)).depth());
  }

  @Test
  void badReadsAndAcksAreRefusedAndChangeNothing() {
    Spool spool = Spool.create(testKit.system());
    String q = newQueue(spool, QueueSettings.defaults());
    result(spool.createPublisher(q, "p").publish(Message.text("t", "1")));
    QueueConsumer c = spool.createConsumer(q, ConsumerSettings.named("c"));
    QueueConsumer other = spool.createConsumer(q, ConsumerSettings.named("other"));
    failure(c.readBatch(0), Code.InvalidConfiguration);
    failure(c.readBatch(1_000_000), Code.InvalidConfiguration);
    failure(c.readBatch(1, Duration.ofSeconds(-1)), Code.InvalidConfiguration);
    Delivery d = result(other.readBatch(1)).get(0);
    failure(c.acknowledge(d), Code.InvalidConfiguration);
    failure(c.nack(d, true), Code.InvalidConfiguration);
    failure(c.seek(null), Code.InvalidConfiguration);
    ConsumerInfo info = result(c.info());
    assertEquals(0, info.committed());
    assertEquals(0, info.inFlight());
    assertEquals(1, result(c.readBatch(1)).size());
  }

  @Test
  void nullArgumentsFailTheStageInsteadOfThrowing() {
    Spool spool = Spool.create(testKit.system());
    String q = newQueue(spool, QueueSettings.defaults());
    failure(spool.createQueue("x-" + QUEUES.incrementAndGet(), null), Code.InvalidConfiguration);
    failure(spool.createConsumer(q, null).ready(), Code.InvalidConfiguration);
    failure(spool.createPublisher(q, "p").publishAll(Arrays.asList(Message.text("t", "a"), null)),
        Code.InvalidConfiguration);
    assertEquals(0, result(spool.queueStats(q)).depth());
    assertEquals(Code.InvalidConfiguration, assertThrows(SpoolException.class, () -> Message.of(null, new byte[0])).code());
  }
}
