package dev.spool.actor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.typesafe.config.ConfigFactory;
import dev.spool.BreakerState;
import dev.spool.ConsumerInfo;
import dev.spool.ConsumerSettings;
import dev.spool.DeliveryState;
import dev.spool.LagStats;
import dev.spool.SpoolSettings;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.annotations.JUnit5TestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.JUnit5TestKitBuilder;
import org.apache.pekko.actor.testkit.typed.javadsl.LogCapturingExtension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestKitJUnit5Extension;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.pattern.StatusReply;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A fan-out over queues (or consumers) answers with the replies of those that are still there: one
 * that stops before it answers (a queue deleted mid-fan-out) is left out at once, not waited for
 * until the timeout, which the caller's own ask would reach first.
 */
@ExtendWith(TestKitJUnit5Extension.class)
@ExtendWith(LogCapturingExtension.class)
class AggregatorTest {

  @JUnit5TestKit
  ActorTestKit testKit = new JUnit5TestKitBuilder().build();

  private static final Duration LONG = Duration.ofSeconds(30);

  /** A target that answers every request with {@code value}. */
  private static Behavior<ActorRef<StatusReply<Long>>> answering(long value) {
    return Behaviors.receiveMessage(replyTo -> {
      replyTo.tell(StatusReply.success(value));
      return Behaviors.same();
    });
  }

  /** A target that stops on the request without answering, as a queue deleted while the request was on its way. */
  private static <T> Behavior<T> stoppingUnanswered() {
    return Behaviors.receiveMessage(request -> Behaviors.stopped());
  }

  @Test
  void aTargetThatStopsWithoutAnsweringIsLeftOutAtOnce() {
    ActorRef<ActorRef<StatusReply<Long>>> a = testKit.spawn(answering(3));
    ActorRef<ActorRef<StatusReply<Long>>> gone = testKit.spawn(stoppingUnanswered());
    ActorRef<ActorRef<StatusReply<Long>>> b = testKit.spawn(answering(4));
    TestProbe<StatusReply<Long>> probe = testKit.createTestProbe();
    testKit.spawn(Behaviors.<Object>setup(context -> {
      Aggregator.<ActorRef<StatusReply<Long>>, Long, Long>askEvery(context, List.of(a, gone, b), r -> r, probe.ref(),
          replies -> replies.stream().mapToLong(Long::longValue).sum(), LONG);
      return Behaviors.empty();
    }));
    StatusReply<Long> reply = probe.expectMessageClass(StatusReply.class, Duration.ofSeconds(3));
    assertEquals(7L, reply.getValue(), "the two that answered, without waiting for the one that stopped");
  }

  @Test
  void aTargetAlreadyStoppedIsLeftOutAtOnce() {
    ActorRef<ActorRef<StatusReply<Long>>> a = testKit.spawn(answering(5));
    ActorRef<ActorRef<StatusReply<Long>>> gone = testKit.spawn(stoppingUnanswered());
    TestProbe<Object> watcher = testKit.createTestProbe();
    gone.tell(testKit.<StatusReply<Long>>createTestProbe().ref());
    watcher.expectTerminated(gone, Duration.ofSeconds(3));
    TestProbe<StatusReply<Long>> probe = testKit.createTestProbe();
    testKit.spawn(Behaviors.<Object>setup(context -> {
      Aggregator.<ActorRef<StatusReply<Long>>, Long, Long>askEvery(context, List.of(gone, a), r -> r, probe.ref(),
          replies -> replies.stream().mapToLong(Long::longValue).sum(), LONG);
      return Behaviors.empty();
    }));
    assertEquals(5L, probe.expectMessageClass(StatusReply.class, Duration.ofSeconds(3)).getValue());
  }

  @Test
  void theJanitorsLagAnswerLeavesOutAQueueDeletedWhileItWasAsked() {
    SpoolSettings settings = SpoolSettings.create(ConfigFactory.parseString("spool.ask-timeout = 30s")
        .withFallback(testKit.system().settings().config()));
    MemoryMonitor memory = new MemoryMonitor(0, event -> { }, Clock.systemUTC());
    ActorRef<Janitor.Command> janitor = testKit.spawn(Janitor.create(settings, memory));
    ConsumerInfo info = new ConsumerInfo("orders", "billing", ConsumerSettings.named("billing"), 1, 0, 12, 12, 0, 0, 0,
        DeliveryState.NO_SUBSCRIBERS, false, Instant.EPOCH, 0, 0, 0, BreakerState.NONE,
        new ConsumerInfo.Counters(0, 0, 0, 0, 0, 0, 0, 0, 0));
    ActorRef<QueueActor.Command> orders = testKit.spawn(Behaviors.receiveMessage(command -> {
      if (command instanceof QueueActor.SurveyConsumers survey) {
        survey.replyTo().tell(StatusReply.success(List.of(info)));
      }
      return Behaviors.same();
    }));
    ActorRef<QueueActor.Command> deleted = testKit.spawn(stoppingUnanswered());
    janitor.tell(new Janitor.Track("orders", orders));
    janitor.tell(new Janitor.Track("deleted", deleted));
    TestProbe<StatusReply<LagStats>> probe = testKit.createTestProbe();
    janitor.tell(new Janitor.GetLagStats(probe.ref()));
    StatusReply<LagStats> reply = probe.expectMessageClass(StatusReply.class, Duration.ofSeconds(3));
    assertEquals(1, reply.getValue().consumers().size());
    assertEquals(12, reply.getValue().maxLag());
  }
}
