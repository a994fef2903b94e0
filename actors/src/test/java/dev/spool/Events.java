package dev.spool;

import java.time.Duration;
import java.util.function.Predicate;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.eventstream.EventStream;

/** Test helpers for Spool's events on Pekko's event stream. */
public final class Events {

  private Events() {}

  /** A probe subscribed to every Spool event of the test kit's system, from now on. */
  public static TestProbe<SpoolEvent> probe(ActorTestKit testKit) {
    TestProbe<SpoolEvent> probe = testKit.createTestProbe(SpoolEvent.class);
    testKit.system().eventStream().tell(new EventStream.Subscribe<>(SpoolEvent.class, probe.ref()));
    return probe;
  }

  /** The next {@code n} events of {@code type} matching {@code which}, skipping others. */
  public static <T extends SpoolEvent> java.util.List<T> next(TestProbe<SpoolEvent> probe, Class<T> type, Predicate<T> which,
      int n) {
    java.util.List<T> got = new java.util.ArrayList<>();
    while (got.size() < n) {
      got.add(next(probe, type, which));
    }
    return got;
  }

  /** The next event of {@code type} matching {@code which}, skipping others (other tests share the system). */
  public static <T extends SpoolEvent> T next(TestProbe<SpoolEvent> probe, Class<T> type, Predicate<T> which) {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (System.nanoTime() < deadline) {
      SpoolEvent e = probe.receiveMessage(Duration.ofSeconds(10));
      if (type.isInstance(e) && which.test(type.cast(e))) {
        return type.cast(e);
      }
    }
    throw new AssertionError("no " + type.getSimpleName() + " arrived");
  }
}
