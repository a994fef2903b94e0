package dev.spool.actor;

import dev.spool.Delivery;
import dev.spool.SpoolException;
import dev.spool.SpoolSettings;
import dev.spool.StartPosition;
import dev.spool.queue.Partitions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Scheduler;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.pattern.Patterns;
import org.apache.pekko.pattern.StatusReply;
import scala.concurrent.ExecutionContextExecutor;

/**
 * How a {@link PartitionedQueue} asks its partitions: each through the manager by name, within a
 * timeout shorter than its caller's; a pull read over all of them; a consumer change made again on
 * a partition that did not answer until it does; a partition's refusals as the queue's. It keeps
 * no state of the actor it serves: what it returns completes on whichever thread answers, and only
 * the caller is told.
 */
final class PartitionCalls {

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(PartitionedQueue.class);
  private static final Duration FIRST_POLL = Duration.ofMillis(10);
  private static final Duration LAST_POLL = Duration.ofMillis(100);
  /** How long a read waits for one partition: a healthy one answers in milliseconds, a moving one is passed over. */
  private static final Duration READ_PART_TIMEOUT = Duration.ofSeconds(1);
  /** Kept free before a reader's deadline for the answer to reach it. */
  private static final Duration ANSWER_MARGIN = Duration.ofMillis(500);

  private final Partitions partitions;
  private final SpoolSettings settings;
  private final ActorRef<QueueManager.Command> manager;
  private final Scheduler scheduler;
  private final org.apache.pekko.actor.Scheduler classicScheduler;
  private final ExecutionContextExecutor executor;

  PartitionCalls(ActorContext<?> context, Partitions partitions, SpoolSettings settings,
      ActorRef<QueueManager.Command> manager) {
    this.partitions = partitions;
    this.settings = settings;
    this.manager = manager;
    this.scheduler = context.getSystem().scheduler();
    this.classicScheduler = Adapter.toClassic(context.getSystem()).scheduler();
    this.executor = context.getExecutionContext();
  }

  /**
   * A pull read of {@code consumer} over every partition, starting at partition {@code start}: what
   * they have now, or with a wait, what the first of them gets; answered before the reader's deadline.
   */
  CompletionStage<List<Delivery>> read(String consumer, ConsumerActor.Read read, int start) {
    Duration cap = settings.consumer().maxReadWait();
    Duration wait = read.waitFor() == null || read.waitFor().isNegative() ? Duration.ZERO
        : read.waitFor().compareTo(cap) > 0 ? cap : read.waitFor();
    long deadline = System.nanoTime() + wait.toNanos();
    // The reader's own deadline less a margin for the answer's way back; without one, this front's ask timeout.
    long answerBy = read.notAfter() > 0 ? read.notAfter() - ANSWER_MARGIN.toMillis()
        : System.currentTimeMillis() + partTimeout().toMillis() + wait.toMillis();
    return poll(consumer, read.max(), start, deadline, answerBy, FIRST_POLL);
  }

  /** A partition's {@code SequenceOutOfRange} in its own numbers, as the queue's: the sequence asked for. */
  <T> CompletionStage<T> notRetained(long sequence, CompletionStage<T> result) {
    return result.exceptionallyCompose(failure -> CompletableFuture.failedFuture(
        unwrap(failure) instanceof SpoolException e && e.code() == SpoolException.Code.SequenceOutOfRange
            ? new SpoolException.SequenceOutOfRange("queue '" + partitions.queue() + "' does not retain sequence "
                + sequence)
            : unwrap(failure)));
  }

  /**
   * Refuses a start at a sequence past the end of the queue, before any partition changes; a
   * partition shorter than its share of a sequence within the queue starts at its end.
   */
  CompletionStage<Done> withinQueue(StartPosition start) {
    if (!(start instanceof StartPosition.AtSequence at)) {
      return CompletableFuture.completedFuture(Done.getInstance());
    }
    return all(QueueActor.GetInfo::new).thenApply(infos -> {
      long last = 0;
      boolean anyReaches = false;
      for (int p = 0; p < infos.size(); p++) {
        long lastInPartition = infos.get(p).stats().lastSequence();
        last = Math.max(last, partitions.encode(lastInPartition, p));
        anyReaches |= partitions.fromIn(at.sequence(), p) <= lastInPartition + 1;
      }
      if (!anyReaches) {
        throw new SpoolException.SequenceOutOfRange("sequence " + at.sequence() + " is past the end of queue '"
            + partitions.queue() + "' (its last message has " + last + ")");
      }
      return Done.getInstance();
    });
  }


  /**
   * One pass over the partitions from {@code start}, each asked without waiting for what it has now
   * (never more than {@code max} in all); an empty pass looks again until {@code deadline}
   * ({@link System#nanoTime()}). Whatever happens, the answer comes by {@code answerBy} (epoch ms),
   * before the reader gives up: deliveries answered later would be lost on the way.
   */
  CompletionStage<List<Delivery>> poll(String consumer, int max, int start, long deadline, long answerBy,
      Duration pause) {
    return pass(consumer, max, start, 0, new ArrayList<>(), new boolean[1], answerBy).thenCompose(found -> {
      long left = Math.min(deadline - System.nanoTime(),
          TimeUnit.MILLISECONDS.toNanos(answerBy - System.currentTimeMillis() - READ_PART_TIMEOUT.toMillis()));
      if (!found.isEmpty() || left <= 0) {
        return CompletableFuture.completedFuture(found);
      }
      Duration delay = Duration.ofNanos(Math.min(left, pause.toNanos()));
      Duration longer = pause.multipliedBy(2).compareTo(LAST_POLL) > 0 ? LAST_POLL : pause.multipliedBy(2);
      return Patterns.after(delay, classicScheduler, executor,
          () -> poll(consumer, max, start, deadline, answerBy, longer));
    });
  }

  /**
   * A partition that does not answer within {@link #READ_PART_TIMEOUT} (it is moving to another
   * member) is passed over, so that what the others delivered reaches the reader in time; only when
   * no partition answered does the read fail.
   */
  CompletionStage<List<Delivery>> pass(String consumer, int max, int start, int visited, List<Delivery> found,
      boolean[] anyAnswered, long answerBy) {
    long left = answerBy - System.currentTimeMillis();
    if (visited == partitions.count() || found.size() >= max || left <= 0) {
      if (!anyAnswered[0] && found.isEmpty() && visited < partitions.count()) {
        return CompletableFuture.failedFuture(new SpoolException.Timeout("queue '" + partitions.queue()
            + "': its partitions did not answer the read in time; try again"));
      }
      return CompletableFuture.completedFuture(found);
    }
    int p = (start + visited) % partitions.count();
    int want = max - found.size();
    Duration timeout = Duration.ofMillis(Math.min(left, READ_PART_TIMEOUT.toMillis()));
    long notAfter = System.currentTimeMillis() + timeout.toMillis();
    return this.<List<Delivery>>one(p, consumer, r -> new ConsumerActor.Read(want, Duration.ZERO, notAfter, r),
            timeout)
        .handle((got, failure) -> {
          if (failure != null && visited == partitions.count() - 1 && found.isEmpty() && !anyAnswered[0]) {
            throw new java.util.concurrent.CompletionException(unwrap(failure));
          }
          if (got != null) {
            anyAnswered[0] = true;
            found.addAll(partitions.deliveries(got, p));
          }
          return pass(consumer, max, start, visited + 1, found, anyAnswered, answerBy);
        })
        .thenCompose(next -> next);
  }


  // ---- asking the partitions

  /** How long a change made to some partitions is retried on the others, which are moving to another member. */
  static final Duration COMPLETE_WITHIN = Duration.ofMinutes(2);
  static final Duration RETRY_EVERY = Duration.ofSeconds(1);

  /**
   * A change to a consumer in every partition. A partition that does not answer (it is moving to
   * another member) gets it again every second for up to {@link #COMPLETE_WITHIN}, so that a change
   * the caller was told timed out is made in every partition or refused by it, never left half made.
   *
   * @param done a refusal that means the change holds already (a deleted consumer), or {@code null}
   */
  CompletionStage<Done> everywhere(Function<ActorRef<StatusReply<Done>>, QueueActor.Command> change,
      SpoolException.Code done) {
    List<CompletableFuture<Done>> first = new ArrayList<>();
    List<CompletableFuture<Boolean>> changed = new ArrayList<>();
    for (int p = 0; p < partitions.count(); p++) {
      CompletableFuture<Done> answer = this.<Done>one(p, change).toCompletableFuture();
      completeLater(p, answer, change, done);
      first.add(answer);
      changed.add(answer.handle((ok, failure) -> failure == null ? Boolean.TRUE
          : done != null && isCode(failure, done) ? Boolean.FALSE : null));
    }
    return allOf(changed).thenCompose(all -> {
      for (int p = 0; p < first.size(); p++) {
        if (changed.get(p).join() == null) {
          return first.get(p).thenApply(d -> Done.getInstance()); // its failure
        }
      }
      // Refused by every partition as holding already (no such consumer anywhere): the caller hears so.
      boolean anyChanged = changed.stream().anyMatch(c -> Boolean.TRUE.equals(c.join()));
      return anyChanged ? CompletableFuture.completedFuture(Done.getInstance()) : first.get(0);
    });
  }

  /** Once {@code first} fails for want of an answer, asks partition {@code p} again until it answers. */
  <T> void completeLater(int p, CompletableFuture<T> first, Function<ActorRef<StatusReply<T>>,
      QueueActor.Command> change, SpoolException.Code done) {
    long giveUpAt = System.nanoTime() + COMPLETE_WITHIN.toNanos();
    first.whenComplete((value, failure) -> {
      if (failure != null && unanswered(failure)) {
        retry(p, change, done, giveUpAt);
      }
    });
  }

  <T> void retry(int p, Function<ActorRef<StatusReply<T>>, QueueActor.Command> change,
      SpoolException.Code done, long giveUpAt) {
    Patterns.after(RETRY_EVERY, classicScheduler, executor, () -> this.<T>one(p, change))
        .whenComplete((value, failure) -> {
          if (failure == null || !unanswered(failure) || done != null && isCode(failure, done)) {
            LOG.info("queue {}: a consumer change reached partition {} once it answered", partitions.queue(), p);
          } else if (System.nanoTime() < giveUpAt) {
            retry(p, change, done, giveUpAt);
          } else {
            LOG.warn("queue {}: partition {} did not answer a consumer change for {}; make the change again",
                partitions.queue(), p, COMPLETE_WITHIN);
          }
        });
  }

  /** A failure that says nothing of the change: the partition did not answer in time. */
  static boolean unanswered(Throwable failure) {
    Throwable t = unwrap(failure);
    return t instanceof java.util.concurrent.TimeoutException || t instanceof org.apache.pekko.pattern.AskTimeoutException
        || t instanceof SpoolException e && (e.code() == SpoolException.Code.Timeout
            || e.code() == SpoolException.Code.JournalUnavailable);
  }

  static boolean isCode(Throwable failure, SpoolException.Code code) {
    return unwrap(failure) instanceof SpoolException e && e.code() == code;
  }


  /** Sub-requests end before the caller's own ask does, so that it hears why rather than a timeout. */
  Duration partTimeout() {
    return settings.askTimeout().multipliedBy(4).dividedBy(5);
  }

  <T> CompletionStage<T> one(int p, Function<ActorRef<StatusReply<T>>, QueueActor.Command> command) {
    return one(p, command, partTimeout());
  }

  <T> CompletionStage<T> one(int p, Function<ActorRef<StatusReply<T>>, QueueActor.Command> command,
      Duration timeout) {
    String name = partitions.name(p);
    return AskPattern.askWithStatus(manager, r -> new QueueManager.ToPartition(name, command.apply(r)), timeout,
        scheduler);
  }

  <T> CompletionStage<T> one(int p, String consumer,
      Function<ActorRef<StatusReply<T>>, ConsumerActor.Command> command) {
    return one(p, r -> new QueueActor.ToConsumer(consumer, command.apply(r)));
  }

  <T> CompletionStage<T> one(int p, String consumer,
      Function<ActorRef<StatusReply<T>>, ConsumerActor.Command> command, Duration timeout) {
    return one(p, r -> new QueueActor.ToConsumer(consumer, command.apply(r)), timeout);
  }

  <T> CompletionStage<List<T>> all(Function<ActorRef<StatusReply<T>>, QueueActor.Command> command) {
    return all(command, partTimeout());
  }

  <T> CompletionStage<List<T>> all(Function<ActorRef<StatusReply<T>>, QueueActor.Command> command,
      Duration timeout) {
    List<CompletableFuture<T>> each = new ArrayList<>();
    for (int p = 0; p < partitions.count(); p++) {
      each.add(this.<T>one(p, command, timeout).toCompletableFuture());
    }
    return allOf(each).thenApply(done -> each.stream().map(CompletableFuture::join).toList());
  }

  <T> CompletionStage<List<T>> allConsumers(String consumer,
      Function<ActorRef<StatusReply<T>>, ConsumerActor.Command> command) {
    return all(r -> new QueueActor.ToConsumer(consumer, command.apply(r)));
  }

  static <T> CompletableFuture<Void> allOf(java.util.Collection<CompletableFuture<T>> futures) {
    return CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new));
  }


  /**
   * A partition's refusal that names it ({@code queue#p}: "consumer 'c' does not exist on queue
   * 'queue#2'") as the queue's, which is what the caller named.
   */
  Throwable asTheQueues(Throwable failure) {
    if (!(failure instanceof SpoolException e) || e.getMessage() == null
        || e.code() == SpoolException.Code.EncryptionKeyMissing) {
      return failure;
    }
    String message = e.getMessage().replaceAll("'" + java.util.regex.Pattern.quote(partitions.queue()) + "#\\d+'",
        "'" + java.util.regex.Matcher.quoteReplacement(partitions.queue()) + "'");
    return message.equals(e.getMessage()) ? e : SpoolException.restore(e.code(), message, null);
  }

  static Throwable unwrap(Throwable failure) {
    Throwable t = failure;
    while (t instanceof java.util.concurrent.CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }
}
