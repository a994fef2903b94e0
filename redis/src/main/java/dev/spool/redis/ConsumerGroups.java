package dev.spool.redis;

import java.util.HashMap;
import java.util.Map;
import java.util.function.LongSupplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.pattern.StatusReply;

/**
 * Owns the pending entries lists of every consumer group read over RESP, one {@link PendingEntries}
 * per stream and group, so that the group's consumers on many connections see one list. Each
 * command runs one step of a list on this actor's thread and answers with its result.
 */
final class ConsumerGroups extends AbstractBehavior<ConsumerGroups.Command> {

  interface Command {}

  /** A stream's consumer group. */
  record Group(String stream, String group) {}

  /**
   * Runs {@code step} on the group's list with the current time, and answers with its result; a
   * step that throws answers with that failure. A group not yet known gets a list kept only if
   * {@code create}: steps that only look or remove leave nothing behind for names never read.
   */
  record Apply<T>(Group group, Step<T> step, boolean create, ActorRef<StatusReply<T>> replyTo)
      implements Command {}

  /**
   * Runs {@code step} without an answer: for records the caller need not wait for, since what it
   * sends this actor later arrives after it (one sender's messages keep their order).
   */
  record Run(Group group, Step<?> step, boolean create) implements Command {}

  /** One step over a list: gets the list and the time in epoch milliseconds. */
  interface Step<T> {
    T apply(PendingEntries entries, long now);
  }

  /** Forgets a group (destroyed), or every group of a stream (deleted: {@code group} null). */
  record Drop(String stream, String group) implements Command {}

  static Behavior<Command> create(LongSupplier clock) {
    return Behaviors.setup(context -> new ConsumerGroups(context, clock));
  }

  private final LongSupplier clock;
  private final Map<Group, PendingEntries> groups = new HashMap<>();

  private ConsumerGroups(ActorContext<Command> context, LongSupplier clock) {
    super(context);
    this.clock = clock;
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Apply.class, a -> onApply((Apply<?>) a))
        .onMessage(Drop.class, this::onDrop)
        .onMessage(Run.class, this::onRun)
        .build();
  }

  private Behavior<Command> onApply(Apply<?> apply) {
    answer(apply);
    return this;
  }

  private <T> void answer(Apply<T> apply) {
    PendingEntries entries = apply.create() ? groups.computeIfAbsent(apply.group(), g -> new PendingEntries())
        : groups.getOrDefault(apply.group(), new PendingEntries());
    try {
      apply.replyTo().tell(StatusReply.success(apply.step().apply(entries, clock.getAsLong())));
    } catch (RuntimeException e) {
      apply.replyTo().tell(StatusReply.error(e));
    }
  }

  private Behavior<Command> onRun(Run run) {
    PendingEntries entries = run.create() ? groups.computeIfAbsent(run.group(), g -> new PendingEntries())
        : groups.get(run.group());
    if (entries != null) {
      try {
        run.step().apply(entries, clock.getAsLong());
      } catch (RuntimeException e) {
        getContext().getLog().debug("a pending-list step failed: {}", e.toString());
      }
    }
    return this;
  }

  private Behavior<Command> onDrop(Drop drop) {
    groups.keySet().removeIf(g -> g.stream().equals(drop.stream())
        && (drop.group() == null || g.group().equals(drop.group())));
    return this;
  }

}
