package dev.spool.actor;

import dev.spool.Message;
import dev.spool.SpoolException;
import dev.spool.queue.Redrives.Source;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.actor.NoSerializationVerificationNeeded;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.AbstractBehavior;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.Receive;
import org.apache.pekko.pattern.StatusReply;

/**
 * One redrive of a dead-letter queue, off that queue's path: publishes the dead-lettered messages
 * back to their source queues (through the manager, in batches no larger than a publish may be),
 * waits for every answer, then tells the dead-letter queue which were moved and stops. The queue
 * removes what moved only then, so that a message is never in neither queue.
 */
final class RedriveJob extends AbstractBehavior<RedriveJob.Command> {

  interface Command {}

  // Its own ask's outcome (a Throwable), told to itself, never remote.
  private record Published(List<Long> deadLettered, String queue, Throwable failure)
      implements Command, NoSerializationVerificationNeeded {}

  static Behavior<Command> create(List<Source> sources, int maxBatch, ActorRef<QueueManager.Command> manager,
      Duration askTimeout, ActorRef<QueueActor.Command> deadLetterQueue, ActorRef<StatusReply<Long>> replyTo) {
    return Behaviors.setup(context -> new RedriveJob(context, sources, maxBatch, manager, askTimeout,
        deadLetterQueue, replyTo));
  }

  private final ActorRef<QueueActor.Command> deadLetterQueue;
  private final ActorRef<StatusReply<Long>> replyTo;
  private final List<Long> moved = new ArrayList<>();
  private final List<Long> notMoved = new ArrayList<>();
  private final List<String> failures = new ArrayList<>();
  /** Whether every source that refused did so because it was full: then the whole redrive may be retried later. */
  private boolean onlyFull = true;
  private int outstanding;

  private RedriveJob(ActorContext<Command> context, List<Source> sources, int maxBatch,
      ActorRef<QueueManager.Command> manager, Duration askTimeout, ActorRef<QueueActor.Command> deadLetterQueue,
      ActorRef<StatusReply<Long>> replyTo) {
    super(context);
    this.deadLetterQueue = deadLetterQueue;
    this.replyTo = replyTo;
    for (Source source : sources) {
      List<Message> messages = source.messages();
      for (int i = 0; i < messages.size(); i += maxBatch) {
        int end = Math.min(messages.size(), i + maxBatch);
        List<Message> chunk = List.copyOf(messages.subList(i, end));
        List<Long> sequences = List.copyOf(source.sequences().subList(i, end));
        outstanding++;
        context.askWithStatus(Request.<Long>listClass(), manager, askTimeout,
            r -> new QueueManager.ToQueue(source.queue(),
                new QueueActor.Publish(DeadLetters.REDRIVE_PRODUCER, chunk, r)),
            (appended, failure) -> new Published(sequences, source.queue(), failure));
      }
    }
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder().onMessage(Published.class, this::onPublished).build();
  }

  private Behavior<Command> onPublished(Published published) {
    if (published.failure() == null) {
      moved.addAll(published.deadLettered());
    } else {
      notMoved.addAll(published.deadLettered()); // it stays, and a later redrive may try again
      failures.add("to '" + published.queue() + "': " + published.failure().getMessage());
      Throwable cause = published.failure() instanceof java.util.concurrent.CompletionException c && c.getCause() != null
          ? c.getCause() : published.failure();
      onlyFull &= cause instanceof SpoolException.QueueFull;
    }
    if (--outstanding > 0) {
      return this;
    }
    deadLetterQueue.tell(new QueueActor.Redriven(moved, notMoved, failures, onlyFull, replyTo));
    return Behaviors.stopped();
  }
}
