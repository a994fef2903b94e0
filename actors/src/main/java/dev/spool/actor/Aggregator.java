package dev.spool.actor;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.function.Function;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.pattern.StatusReply;

/**
 * A short-lived actor that sends one request to each of several actors, collects the replies and
 * answers once with their aggregate, so that the parent neither blocks nor keeps per-request state
 * (the aggregator pattern of Pekko's interaction-pattern docs). Errors, and actors that stop before
 * they answer, are left out; at the timeout it answers with what it has.
 */
final class Aggregator {

  // The aggregator's messages are its own timer, watches and ask results (a reply of any type):
  // it runs beside its parent and never receives anything over the network.
  private enum Timeout implements NoSerializationVerificationNeeded {
    INSTANCE
  }

  /** Target {@code target} answered: with {@code value}, or with an error ({@code answered} false). */
  private record Reply<R>(int target, R value, boolean answered) implements NoSerializationVerificationNeeded {}

  /** Target {@code target} stopped: it will not answer (a queue deleted, a consumer removed, meanwhile). */
  private record Gone(int target) implements NoSerializationVerificationNeeded {}

  private Aggregator() {}

  /**
   * Sends {@code request} to each of {@code targets} through an aggregator spawned under
   * {@code context}, and answers {@code replyTo} with {@code aggregate} of the replies.
   */
  static <C, R, A> void askEvery(ActorContext<?> context, Collection<ActorRef<C>> targets,
      Function<ActorRef<StatusReply<R>>, C> request, ActorRef<StatusReply<A>> replyTo,
      Function<List<R>, A> aggregate, Duration timeout) {
    context.spawnAnonymous(create(List.copyOf(targets), request, replyTo, aggregate, timeout));
  }

  /**
   * Each target is watched while it is asked: one that stops before it answered is left out at once,
   * so that the answer never waits for the timeout, which the caller's own ask (of the same length)
   * would reach first.
   */
  @SuppressWarnings("unchecked")
  static <C, R, A> Behavior<Object> create(
      List<ActorRef<C>> targets,
      Function<ActorRef<StatusReply<R>>, C> request,
      ActorRef<StatusReply<A>> replyTo,
      Function<List<R>, A> aggregate,
      Duration timeout) {
    return Behaviors.setup(context -> Behaviors.withTimers(timers -> {
      List<R> replies = new ArrayList<>(targets.size());
      if (targets.isEmpty()) {
        replyTo.tell(StatusReply.success(aggregate.apply(replies)));
        return Behaviors.stopped();
      }
      timers.startSingleTimer(Timeout.INSTANCE, timeout);
      boolean[] settled = new boolean[targets.size()];
      int[] left = {targets.size()};
      for (int i = 0; i < targets.size(); i++) {
        int target = i;
        context.watchWith(targets.get(i), new Gone(target));
        context.askWithStatus((Class<R>) Object.class, targets.get(i), timeout, request::apply,
            (value, failure) -> new Reply<>(target, value, failure == null));
      }
      return Behaviors.receive(Object.class)
          .onMessageEquals(Timeout.INSTANCE, () -> {
            replyTo.tell(StatusReply.success(aggregate.apply(replies)));
            return Behaviors.stopped();
          })
          .onMessage(Reply.class, reply -> {
            if (!settled[reply.target()]) {
              settled[reply.target()] = true;
              left[0]--;
              if (reply.answered()) {
                replies.add((R) reply.value());
              }
            }
            return answerWhenSettled(left[0], replies, replyTo, aggregate);
          })
          .onMessage(Gone.class, gone -> {
            if (!settled[gone.target()]) {
              settled[gone.target()] = true;
              left[0]--;
            }
            return answerWhenSettled(left[0], replies, replyTo, aggregate);
          })
          .build();
    }));
  }

  private static <R, A> Behavior<Object> answerWhenSettled(int left, List<R> replies,
      ActorRef<StatusReply<A>> replyTo, Function<List<R>, A> aggregate) {
    if (left > 0) {
      return Behaviors.same();
    }
    replyTo.tell(StatusReply.success(aggregate.apply(replies)));
    return Behaviors.stopped();
  }
}
