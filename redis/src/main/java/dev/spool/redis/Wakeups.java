package dev.spool.redis;

import java.time.Duration;
import java.util.Collection;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.typed.Scheduler;

/**
 * Wakes blocked {@code XREAD}s when an entry is added to a stream they wait on. Entries added over
 * RESP wake them at once; entries published over HTTP or the Java API are found by the readers'
 * next look, at most {@link #POLL} later.
 */
final class Wakeups {

  /** How long a blocked reader waits between looks when nothing wakes it. */
  static final Duration POLL = Duration.ofMillis(100);

  private final ConcurrentHashMap<String, Set<CompletableFuture<Void>>> waiting = new ConcurrentHashMap<>();
  private final Scheduler scheduler;
  private final scala.concurrent.ExecutionContextExecutor executor;

  Wakeups(Scheduler scheduler, scala.concurrent.ExecutionContextExecutor executor) {
    this.scheduler = scheduler;
    this.executor = executor;
  }

  /** Completes when one of {@code streams} gets an entry over RESP, or after {@code at most} (≤ POLL). */
  CompletableFuture<Void> next(Collection<String> streams, Duration atMost) {
    CompletableFuture<Void> wake = new CompletableFuture<>();
    for (String stream : streams) {
      waiting.computeIfAbsent(stream, s -> ConcurrentHashMap.newKeySet()).add(wake);
    }
    Duration wait = atMost.compareTo(POLL) < 0 ? atMost : POLL;
    var timer = scheduler.scheduleOnce(wait, () -> wake.complete(null), executor);
    wake.whenComplete((v, e) -> {
      timer.cancel();
      for (String stream : streams) {
        waiting.computeIfPresent(stream, (s, set) -> {
          set.remove(wake);
          return set.isEmpty() ? null : set;
        });
      }
    });
    return wake;
  }

  /** An entry was added to {@code stream}. */
  void signal(String stream) {
    Set<CompletableFuture<Void>> set = waiting.get(stream);
    if (set != null) {
      for (CompletableFuture<Void> wake : set) {
        wake.complete(null);
      }
    }
  }

}
