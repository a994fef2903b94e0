package dev.spool.redis;

import dev.spool.Message;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The endpoint's {@link StreamAppender}s, one per stream plain adds go to, shared by every
 * connection. Bounded: once it holds {@link #MAX} appenders, a new one first forgets every appender
 * with nothing waiting or in flight (an idle appender holds nothing but its publisher). Busy ones
 * are kept, so it may hold more than {@link #MAX} only while that many streams have adds
 * outstanding, which the connections' own limits bound.
 *
 * <p>Thread-safe. An appender is forgotten only once retired, so two appenders of one stream never
 * have adds to publish at the same time: one connection's adds keep their order across the change.
 */
final class StreamAppenders {

  /** Appenders kept before idle ones are forgotten. */
  static final int MAX = 1024;

  private final ConcurrentHashMap<String, StreamAppender> appenders = new ConcurrentHashMap<>();
  private final Function<String, StreamAppender> create;

  /** @param create makes the appender of a stream */
  StreamAppenders(Function<String, StreamAppender> create) {
    this.create = create;
  }

  /** Offers one connection's adds to {@code stream}'s appender: see {@link StreamAppender#offer}. */
  List<CompletableFuture<Long>> offer(String stream, List<Message> messages,
      Supplier<? extends CompletionStage<?>> createStream) {
    while (true) {
      StreamAppender appender = appenders.get(stream);
      if (appender == null) {
        if (appenders.size() >= MAX) {
          forgetIdle();
        }
        appender = appenders.computeIfAbsent(stream, create);
      }
      List<CompletableFuture<Long>> sequences = appender.offer(messages, createStream);
      if (sequences != null) {
        return sequences;
      }
      appenders.remove(stream, appender);
    }
  }

  /** {@code stream} was deleted: its appender is forgotten unless adds to it are still outstanding. */
  void forget(String stream) {
    StreamAppender appender = appenders.get(stream);
    if (appender != null && appender.retireIfIdle()) {
      appenders.remove(stream, appender);
    }
  }

  int size() {
    return appenders.size();
  }

  private void forgetIdle() {
    appenders.forEach((stream, appender) -> {
      if (appender.retireIfIdle()) {
        appenders.remove(stream, appender);
      }
    });
  }
}
