package dev.spool.redis;

import dev.spool.Message;
import dev.spool.SpoolException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The plain adds of every connection to one stream, published with at most one publish in flight:
 * adds that arrive while one is in flight wait, and all that fit go out together as the next
 * publish the moment it completes. A lone client's add goes out at once, and many clients' adds
 * share one round trip to the queue's actor instead of taking one each (smart batching: no timer,
 * no added wait).
 *
 * <p>Each add is answered on its own: with its sequence, or with the failure of the publish that
 * carried it. Adds are published in the order they were offered, so one connection's adds get
 * increasing sequences in the order it offered them.
 *
 * <p>A publish that finds no stream is decided per add: the adds whose connection may create the
 * stream ({@code create} given) create it and are published again, holding the in-flight slot so
 * nothing overtakes them; the others fail with {@code QueueNotFound}, so a token that may not
 * create streams never creates one by riding in another token's publish.
 *
 * <p>Thread-safe: adds are offered from any thread, and the one lock guards only the waiting queue
 * and the in-flight flag. Publishing, creating and answering run outside it, on the thread that
 * offered or on the one that completed the previous publish; nothing blocks.
 *
 * <p>The waiting queue has no bound of its own: every waiting add is a command its connection
 * read and has not answered, and a connection reads at most {@code max-pipeline} commands ahead
 * (an {@link Session.AddBatch} counting as one), so at most {@code max-connections ×
 * max-pipeline} batches of {@link Session.AddBatch#MAX} adds wait, and their bytes are already
 * held by the connections that read them.
 */
final class StreamAppender {

  /** The most adds one publish carries. */
  static final int MAX_ADDS = Session.AddBatch.MAX;

  /** The most entry bytes one publish carries; an add larger on its own still goes, alone. */
  static final long MAX_BYTES = 8L * 1024 * 1024;

  /** One add: its entry, how its connection creates the stream ({@code null}: it may not), and its answer. */
  static final class Add {
    final Message message;
    final Supplier<? extends CompletionStage<?>> create;
    final CompletableFuture<Long> sequence = new CompletableFuture<>();
    // Set by the round that published it, read once that round's future completed.
    private long published;
    private Throwable failure;

    private Add(Message message, Supplier<? extends CompletionStage<?>> create) {
      this.message = message;
      this.create = create;
    }

    private void answer() {
      if (failure == null) {
        sequence.complete(published);
      } else {
        sequence.completeExceptionally(failure);
      }
    }
  }

  private final Function<List<Message>, ? extends CompletionStage<List<Long>>> publish;
  private final ArrayDeque<Add> waiting = new ArrayDeque<>();
  private boolean publishing;
  private boolean retired;

  /** @param publish appends its messages in one step (all or none), completing with their sequences in order */
  StreamAppender(Function<List<Message>, ? extends CompletionStage<List<Long>>> publish) {
    this.publish = publish;
  }

  /**
   * Offers one connection's adds, to be published in this order and together with no other
   * connection's adds between them; {@code create} creates the stream for that connection, or is
   * {@code null} when it may not. Returns each add's sequence to come, or {@code null} when this
   * appender was retired (see {@link #retireIfIdle()}) and takes nothing more.
   */
  List<CompletableFuture<Long>> offer(List<Message> messages, Supplier<? extends CompletionStage<?>> create) {
    List<Add> adds = new ArrayList<>(messages.size());
    List<CompletableFuture<Long>> sequences = new ArrayList<>(messages.size());
    for (Message m : messages) {
      Add add = new Add(m, create);
      adds.add(add);
      sequences.add(add.sequence);
    }
    List<Add> batch;
    synchronized (this) {
      if (retired) {
        return null;
      }
      waiting.addAll(adds);
      if (publishing) {
        return sequences;
      }
      publishing = true;
      batch = take();
    }
    run(batch);
    return sequences;
  }

  /**
   * Retires this appender if nothing is waiting or in flight: it then takes no more adds, so the
   * one that replaces it cannot publish while this one still has adds to publish.
   */
  synchronized boolean retireIfIdle() {
    if (!publishing && waiting.isEmpty()) {
      retired = true;
    }
    return retired;
  }

  /** The next batch from the waiting queue, under the lock: {@link #MAX_ADDS} adds and {@link #MAX_BYTES} at most. */
  private List<Add> take() {
    List<Add> batch = new ArrayList<>(Math.min(waiting.size(), MAX_ADDS));
    long bytes = 0;
    while (!waiting.isEmpty() && batch.size() < MAX_ADDS) {
      long size = waiting.peekFirst().message.contentBytes();
      if (!batch.isEmpty() && bytes + size > MAX_BYTES) {
        break;
      }
      bytes += size;
      batch.add(waiting.pollFirst());
    }
    return batch;
  }

  /** The next batch, or {@code null} with the in-flight slot given up when none waits. */
  private List<Add> next() {
    synchronized (this) {
      if (waiting.isEmpty()) {
        publishing = false;
        return null;
      }
      return take();
    }
  }

  /**
   * Publishes {@code first} and what waits after it, holding the slot. Rounds that complete at once
   * loop here rather than recurse; one still in flight hands on to its completion, which starts the
   * next round before answering its own adds, so the queue's actor works on the next publish while
   * this thread answers.
   */
  private void run(List<Add> first) {
    List<Add> batch = first;
    while (batch != null) {
      CompletableFuture<Void> round = round(batch);
      if (!round.isDone()) {
        List<Add> inFlight = batch;
        round.whenComplete((x, e) -> {
          List<Add> next = next();
          if (next != null) {
            run(next);
          }
          inFlight.forEach(Add::answer);
        });
        return;
      }
      List<Add> next = next();
      batch.forEach(Add::answer);
      batch = next;
    }
  }

  /** Publishes {@code batch}, creating the stream for the adds that may; completes (never fails) with every add's outcome set. */
  private CompletableFuture<Void> round(List<Add> batch) {
    return attempt(batch).handle((sequences, failure) -> {
      if (failure == null) {
        for (int i = 0; i < batch.size(); i++) {
          batch.get(i).published = sequences.get(i);
        }
        return CompletableFuture.<Void>completedFuture(null);
      }
      if (!(StreamCommands.unwrap(failure) instanceof SpoolException.QueueNotFound)) {
        batch.forEach(add -> add.failure = failure);
        return CompletableFuture.<Void>completedFuture(null);
      }
      List<Add> creators = new ArrayList<>();
      for (Add add : batch) {
        if (add.create == null) {
          add.failure = failure;
        } else {
          creators.add(add);
        }
      }
      return creators.isEmpty() ? CompletableFuture.<Void>completedFuture(null) : createAndRetry(creators);
    }).thenCompose(done -> done);
  }

  private CompletableFuture<Void> createAndRetry(List<Add> creators) {
    CompletableFuture<?> created;
    try {
      created = creators.get(0).create.get().toCompletableFuture();
    } catch (RuntimeException e) {
      created = CompletableFuture.failedFuture(e);
    }
    return created.thenCompose(x -> attempt(creators)).handle((sequences, failure) -> {
      for (int i = 0; i < creators.size(); i++) {
        if (failure == null) {
          creators.get(i).published = sequences.get(i);
        } else {
          creators.get(i).failure = failure;
        }
      }
      return null;
    });
  }

  private CompletableFuture<List<Long>> attempt(List<Add> adds) {
    List<Message> messages = new ArrayList<>(adds.size());
    adds.forEach(add -> messages.add(add.message));
    try {
      return publish.apply(messages).toCompletableFuture();
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }
}
