package dev.spool.actor;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.pattern.StatusReply;

/**
 * A short-lived actor that sends one request to each of several actors, collects the replies and
 * answers once with their aggregate, so that the parent neither blocks nor keeps per-request state
 * (the aggregator pattern of Pekko's interaction-pattern docs). Errors from actors that went away
 * in between are left out; at the timeout it answers with what it has.
 */
final class Aggregator {

  private enum Timeout {
    INSTANCE
  }

  private Aggregator() {}

  /**
   * Sends {@code request} to each of {@code targets} through an aggregator spawned under
   * {@code context}, and answers {@code replyTo} with {@code aggregate} of the replies.
   */
  static <C, R, A> void askEvery(ActorContext<?> context, Collection<ActorRef<C>> targets,
      Function<ActorRef<StatusReply<R>>, C> request, ActorRef<StatusReply<A>> replyTo,
      Function<List<R>, A> aggregate, Duration timeout) {
    List<ActorRef<C>> refs = List.copyOf(targets);
    context.spawnAnonymous(Aggregator.<R, A>create(
        self -> refs.forEach(ref -> ref.tell(request.apply(self))),
        refs.size(),
        replyTo,
        aggregate,
        timeout));
  }

  static <R, A> Behavior<Object> create(
      Consumer<ActorRef<StatusReply<R>>> sendRequests,
      int expectedReplies,
      ActorRef<StatusReply<A>> replyTo,
      Function<List<R>, A> aggregate,
      Duration timeout) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers -> {
      List<R> replies = new ArrayList<>(expectedReplies);
      if (expectedReplies == 0) {
        replyTo.tell(StatusReply.success(aggregate.apply(replies)));
        return Behaviors.stopped();
      }
      timers.startSingleTimer(Timeout.INSTANCE, timeout);
      sendRequests.accept(context.getSelf().narrow());
      int[] received = {0};
      return Behaviors.receive(Object.class)
          .onMessageEquals(Timeout.INSTANCE, () -> {
            replyTo.tell(StatusReply.success(aggregate.apply(replies)));
            return Behaviors.stopped();
          })
          .onMessage(StatusReply.class, reply -> {
            if (reply.isSuccess()) {
              @SuppressWarnings("unchecked")
              R value = (R) reply.getValue();
              replies.add(value);
            }
            if (++received[0] == expectedReplies) {
              replyTo.tell(StatusReply.success(aggregate.apply(replies)));
              return Behaviors.stopped();
            }
            return Behaviors.same();
          })
          .build();
    }));
  }
}
