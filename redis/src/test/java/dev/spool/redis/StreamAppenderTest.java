package dev.spool.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.spool.Message;
import dev.spool.SpoolException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** The appender of plain adds on its own, with a publish completed by hand: batching, failures, creation, caps, order. */
class StreamAppenderTest {

  /** A queue stand-in: records each publish, which completes when the test says, with the next sequences. */
  static final class FakeQueue {
    final List<List<Message>> publishes = Collections.synchronizedList(new ArrayList<>());
    final List<CompletableFuture<List<Long>>> pending = Collections.synchronizedList(new ArrayList<>());
    final AtomicLong last = new AtomicLong();
    final AtomicInteger inFlight = new AtomicInteger();
    final AtomicInteger mostInFlight = new AtomicInteger();

    CompletionStage<List<Long>> publish(List<Message> messages) {
      mostInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
      publishes.add(messages);
      CompletableFuture<List<Long>> reply = new CompletableFuture<>();
      pending.add(reply);
      return reply;
    }

    /** Appends publish {@code i}: its messages get the next sequences. */
    void complete(int i) {
      List<Long> sequences = new ArrayList<>();
      for (int k = 0; k < publishes.get(i).size(); k++) {
        sequences.add(last.incrementAndGet());
      }
      inFlight.decrementAndGet();
      pending.get(i).complete(sequences);
    }

    void fail(int i, Throwable failure) {
      inFlight.decrementAndGet();
      pending.get(i).completeExceptionally(failure);
    }
  }

  static Message entry(String text) {
    return Message.text("redis", text);
  }

  static List<String> texts(List<Message> messages) {
    return messages.stream().map(Message::payloadAsString).toList();
  }

  @Test
  void aLoneAddGoesAtOnceAndAddsArrivingMeanwhileGoOutTogetherAsTheNextPublish() {
    FakeQueue queue = new FakeQueue();
    StreamAppender appender = new StreamAppender(queue::publish);
    List<CompletableFuture<Long>> a = appender.offer(List.of(entry("a")), null);
    assertThat(queue.publishes).hasSize(1);
    List<CompletableFuture<Long>> b = appender.offer(List.of(entry("b1"), entry("b2")), null);
    List<CompletableFuture<Long>> c = appender.offer(List.of(entry("c")), null);
    assertThat(queue.publishes).as("one publish in flight at a time").hasSize(1);
    queue.complete(0);
    assertThat(a.get(0)).isCompletedWithValue(1L);
    assertThat(queue.publishes).hasSize(2);
    assertThat(texts(queue.publishes.get(1))).containsExactly("b1", "b2", "c");
    assertThat(b.get(0)).isNotDone();
    queue.complete(1);
    assertThat(b).extracting(CompletableFuture::join).containsExactly(2L, 3L);
    assertThat(c.get(0)).isCompletedWithValue(4L);
    // Idle again: the next add goes at once.
    appender.offer(List.of(entry("d")), null);
    assertThat(queue.publishes).hasSize(3);
    assertThat(queue.mostInFlight.get()).isEqualTo(1);
  }

  @Test
  void aRefusedPublishAnswersEachOfItsAddsWithItsFailureAndTheNextOneGoesOn() {
    FakeQueue queue = new FakeQueue();
    StreamAppender appender = new StreamAppender(queue::publish);
    List<CompletableFuture<Long>> first = appender.offer(List.of(entry("a")), null);
    List<CompletableFuture<Long>> refused = new ArrayList<>();
    refused.addAll(appender.offer(List.of(entry("b"), entry("c")), null));
    refused.addAll(appender.offer(List.of(entry("d")), null));
    queue.complete(0);
    List<CompletableFuture<Long>> after = appender.offer(List.of(entry("e")), null);
    queue.fail(1, new SpoolException.QueueFull("queue 's' is full"));
    assertThat(first.get(0)).isCompletedWithValue(1L);
    for (CompletableFuture<Long> add : refused) {
      assertThat(add).isCompletedExceptionally();
      assertThat(add.handle((v, e) -> StreamCommands.unwrap(e)).join()).isInstanceOf(SpoolException.QueueFull.class);
    }
    assertThat(texts(queue.publishes.get(2))).containsExactly("e");
    queue.complete(2);
    assertThat(after.get(0)).isCompletedWithValue(2L);
  }

  @Test
  void aPublishThatFindsNoStreamCreatesItForTheAddsThatMayAndFailsTheOthersWithNothingOvertaking() {
    FakeQueue queue = new FakeQueue();
    StreamAppender appender = new StreamAppender(queue::publish);
    CompletableFuture<Void> created = new CompletableFuture<>();
    AtomicInteger creations = new AtomicInteger();
    Supplier<CompletionStage<?>> admin = () -> {
      creations.incrementAndGet();
      return created;
    };
    appender.offer(List.of(entry("x")), admin);
    List<CompletableFuture<Long>> producer = appender.offer(List.of(entry("p")), null);
    List<CompletableFuture<Long>> creator = appender.offer(List.of(entry("b"), entry("c")), admin);
    queue.complete(0);
    assertThat(texts(queue.publishes.get(1))).containsExactly("p", "b", "c");
    queue.fail(1, new SpoolException.QueueNotFound("s"));
    assertThat(creations.get()).isEqualTo(1);
    List<CompletableFuture<Long>> later = appender.offer(List.of(entry("d")), admin);
    assertThat(queue.publishes).as("nothing is published while the stream is created").hasSize(2);
    created.complete(null);
    assertThat(texts(queue.publishes.get(2))).as("only the adds that may create go again").containsExactly("b", "c");
    queue.complete(2);
    assertThat(creator).extracting(CompletableFuture::join).containsExactly(2L, 3L);
    assertThat(producer.get(0).handle((v, e) -> StreamCommands.unwrap(e)).join())
        .isInstanceOf(SpoolException.QueueNotFound.class);
    assertThat(texts(queue.publishes.get(3))).containsExactly("d");
    queue.complete(3);
    assertThat(later.get(0)).isCompletedWithValue(4L);

    // A creation that fails answers the adds that waited on it with its failure.
    List<CompletableFuture<Long>> refused = appender.offer(List.of(entry("e")), () -> {
      throw new IllegalStateException("no");
    });
    queue.fail(4, new SpoolException.QueueNotFound("s"));
    assertThat(refused.get(0).handle((v, e) -> StreamCommands.unwrap(e)).join())
        .isInstanceOf(IllegalStateException.class);
    assertThat(queue.pending).allMatch(CompletableFuture::isDone);
  }

  @Test
  void aPublishTakesAtMostMaxAddsAndMaxBytesAndTheRestWaitsForTheNext() {
    FakeQueue queue = new FakeQueue();
    StreamAppender appender = new StreamAppender(queue::publish);
    appender.offer(List.of(entry("first")), null);
    List<Message> many = new ArrayList<>();
    for (int i = 0; i < StreamAppender.MAX_ADDS * 2 + 500; i++) {
      many.add(entry("n" + i));
    }
    List<CompletableFuture<Long>> sequences = appender.offer(many, null);
    for (int i = 0; i < 4; i++) {
      queue.complete(i);
    }
    assertThat(queue.publishes).extracting(List::size)
        .containsExactly(1, StreamAppender.MAX_ADDS, StreamAppender.MAX_ADDS, 500);
    assertThat(sequences.get(sequences.size() - 1)).isCompletedWithValue((long) many.size() + 1);

    FakeQueue bytes = new FakeQueue();
    StreamAppender big = new StreamAppender(bytes::publish);
    big.offer(List.of(entry("first")), null);
    String threeMiB = "x".repeat(3 * 1024 * 1024);
    String tenMiB = "y".repeat(10 * 1024 * 1024);
    big.offer(List.of(entry(threeMiB), entry(threeMiB), entry(threeMiB), entry(tenMiB), entry("small")), null);
    for (int i = 0; i < 4; i++) {
      bytes.complete(i);
    }
    assertThat(bytes.publishes).extracting(List::size)
        .as("two of 3 MiB fit 8 MiB; one of 10 MiB goes alone; the rest after it").containsExactly(1, 2, 1, 1, 1);
  }

  @Test
  void publishesThatCompleteAtOnceAreAnsweredInALoopNotARecursion() {
    AtomicLong last = new AtomicLong();
    AtomicInteger publishes = new AtomicInteger();
    StreamAppender appender = new StreamAppender(messages -> {
      publishes.incrementAndGet();
      List<Long> sequences = new ArrayList<>();
      messages.forEach(m -> sequences.add(last.incrementAndGet()));
      return CompletableFuture.completedFuture(sequences);
    });
    for (int i = 1; i <= 50_000; i++) {
      assertThat(appender.offer(List.of(entry("n")), null).get(0)).isCompletedWithValue((long) i);
    }
    assertThat(publishes.get()).isEqualTo(50_000);
  }

  @Test
  void eightThreadsOfTwoThousandAddsEachAreAllAnsweredOnceWithIncreasingSequencesPerThread() throws Exception {
    int threads = 8;
    int perThread = 2_000;
    AtomicLong last = new AtomicLong();
    AtomicInteger inFlight = new AtomicInteger();
    AtomicInteger mostInFlight = new AtomicInteger();
    AtomicInteger published = new AtomicInteger();
    ExecutorService completer = Executors.newFixedThreadPool(2);
    StreamAppender appender = new StreamAppender(messages -> {
      mostInFlight.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
      CompletableFuture<List<Long>> reply = new CompletableFuture<>();
      Runnable append = () -> {
        List<Long> sequences = new ArrayList<>();
        messages.forEach(m -> sequences.add(last.incrementAndGet()));
        published.addAndGet(messages.size());
        inFlight.decrementAndGet();
        if (ThreadLocalRandom.current().nextInt(20) == 0) {
          reply.completeExceptionally(new SpoolException.QueueFull("full"));
        } else {
          reply.complete(sequences);
        }
      };
      int how = ThreadLocalRandom.current().nextInt(3);
      if (how == 0) {
        append.run();
      } else {
        completer.execute(() -> {
          if (how == 2) {
            try {
              TimeUnit.MICROSECONDS.sleep(ThreadLocalRandom.current().nextInt(200));
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
          }
          append.run();
        });
      }
      return reply;
    });
    ConcurrentHashMap<Integer, List<CompletableFuture<Long>>> answers = new ConcurrentHashMap<>();
    CountDownLatch start = new CountDownLatch(1);
    List<Thread> workers = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      int thread = t;
      Thread worker = new Thread(() -> {
        Random random = new Random(thread);
        List<CompletableFuture<Long>> mine = new ArrayList<>();
        try {
          start.await();
        } catch (InterruptedException e) {
          return;
        }
        while (mine.size() < perThread) {
          List<Message> batch = new ArrayList<>();
          int n = Math.min(1 + random.nextInt(4), perThread - mine.size());
          for (int k = 0; k < n; k++) {
            batch.add(entry(thread + ":" + (mine.size() + k)));
          }
          mine.addAll(appender.offer(batch, null));
        }
        answers.put(thread, mine);
      });
      workers.add(worker);
      worker.start();
    }
    start.countDown();
    for (Thread worker : workers) {
      worker.join(30_000);
    }
    List<CompletableFuture<Long>> all = new ArrayList<>();
    answers.values().forEach(all::addAll);
    CompletableFuture.allOf(all.stream().map(f -> f.handle((v, e) -> null)).toArray(CompletableFuture[]::new))
        .get(30, TimeUnit.SECONDS);
    completer.shutdown();
    assertThat(answers).hasSize(threads);
    assertThat(published.get()).as("every add published once").isEqualTo(threads * perThread);
    assertThat(mostInFlight.get()).isEqualTo(1);
    List<Long> succeeded = new ArrayList<>();
    for (List<CompletableFuture<Long>> mine : answers.values()) {
      assertThat(mine).hasSize(perThread);
      List<Long> sequences = mine.stream().filter(f -> !f.isCompletedExceptionally()).map(CompletableFuture::join).toList();
      assertThat(sequences).isSorted().doesNotHaveDuplicates();
      succeeded.addAll(sequences);
    }
    assertThat(succeeded).doesNotHaveDuplicates().isNotEmpty();
    assertThat(appender.retireIfIdle()).isTrue();
    assertThat(appender.offer(List.of(entry("late")), null)).as("a retired appender takes nothing").isNull();
  }

  @Test
  void theEndpointsAppendersForgetIdleOnesWhenFullAndKeepBusyOnes() {
    FakeQueue queue = new FakeQueue();
    StreamAppenders appenders = new StreamAppenders(stream -> new StreamAppender(queue::publish));
    List<CompletableFuture<Long>> busy = appenders.offer("busy", List.of(entry("a")), null);
    for (int i = 1; i < StreamAppenders.MAX; i++) {
      appenders.offer("s" + i, List.of(entry("x")), null);
      queue.complete(i);
    }
    assertThat(appenders.size()).isEqualTo(StreamAppenders.MAX);
    appenders.offer("one-more", List.of(entry("x")), null);
    assertThat(appenders.size()).as("idle ones forgotten, the busy one and the new one kept").isEqualTo(2);
    appenders.forget("busy");
    assertThat(appenders.size()).as("adds still outstanding: kept").isEqualTo(2);
    List<CompletableFuture<Long>> queued = appenders.offer("busy", List.of(entry("b")), null);
    queue.complete(0);
    assertThat(busy.get(0)).isDone();
    assertThat(texts(queue.publishes.get(queue.publishes.size() - 1))).containsExactly("b");
    queue.complete(queue.publishes.size() - 1);
    assertThat(queued.get(0)).isDone();
    appenders.forget("busy");
    assertThat(appenders.size()).isEqualTo(1);
    // A deleted stream's next add gets a fresh appender.
    appenders.offer("busy", List.of(entry("c")), null);
    assertThat(appenders.size()).isEqualTo(2);
  }
}
