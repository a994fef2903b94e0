package dev.spool.testkit;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spool.ConsumerSettings;
import dev.spool.Delivery;
import dev.spool.Message;
import dev.spool.QueueInfo;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import dev.spool.SpoolEvent;
import dev.spool.SpoolException;
import dev.spool.SpoolSettings;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionFactory;
import org.awaitility.core.ConditionTimeoutException;
import org.awaitility.core.ThrowingRunnable;

/**
 * An embedded Spool for testing the code that uses it: by default on Pekko's {@code ManualTime}
 * scheduler and a {@link ManualClock}, so redelivery backoffs, ack deadlines, handler timeouts,
 * expiry and the janitor run only when the test moves time ({@link #timePasses}), at once and the
 * same way every run. {@link #realTime()} gives one on real time instead (for an HTTP server, or
 * code with its own timeouts).
 *
 * <pre>{@code
 * try (SpoolTestKit kit = SpoolTestKit.create()) {
 *   OrderService service = OrderService.start(kit.spool());       // the code under test
 *   kit.publishText("orders", "order.created", "{\"id\":7}");
 *   kit.consumer("orders", "billing").awaitAcknowledged(1);
 * }
 * }</pre>
 *
 * <p>Waits ({@code await…}) poll in real time, up to {@link #awaitTimeout()} (10 s by default), and
 * fail with what they last saw. Each kit has an engine of its own ({@link Spool#create(ActorSystem,
 * SpoolSettings)}): give the code under test {@link #spool()}, not {@code Spool.create(system)}.
 *
 * @since 0.1.0
 */
public final class SpoolTestKit implements AutoCloseable {

  private static final AtomicLong KITS = new AtomicLong();
  private static final AtomicLong NAMES = new AtomicLong();
  private static final String SCHEDULER = "pekko.scheduler.implementation";
  /** The producer id of messages the kit publishes. */
  public static final String PRODUCER = "spool-testkit";

  private final ActorSystem<?> system;
  private final boolean ownsSystem;
  private final ManualClock manualClock;
  private final Spool spool;
  private final EventRecorder events;
  private volatile Duration awaitTimeout = Duration.ofSeconds(10);

  private SpoolTestKit(ActorSystem<?> system, boolean ownsSystem) {
    this.system = system;
    this.ownsSystem = ownsSystem;
    this.manualClock = hasManualTime(system) ? new ManualClock() : null;
    long id = KITS.incrementAndGet();
    this.events = new EventRecorder(system, "spool-testkit-events-" + id);
    SpoolSettings settings = SpoolSettings.create(system);
    this.spool = Spool.create(system, manualClock == null ? settings : settings.withClock(manualClock));
  }

  /** A kit on manual time, configured by the application's configuration ({@code ConfigFactory.load()}). */
  public static SpoolTestKit create() {
    return create(ConfigFactory.empty());
  }

  /** A kit on manual time, configured by {@code overrides} over the application's configuration. */
  public static SpoolTestKit create(Config overrides) {
    return new SpoolTestKit(newSystem(manualTimeConfig().withFallback(overrides)), true);
  }

  /** A kit on real time and the system clock, configured by the application's configuration. */
  public static SpoolTestKit realTime() {
    return realTime(ConfigFactory.empty());
  }

  /** A kit on real time and the system clock, configured by {@code overrides} over the application's configuration. */
  public static SpoolTestKit realTime(Config overrides) {
    return new SpoolTestKit(newSystem(overrides), true);
  }

  /**
   * A kit on an actor system the caller owns (and stops): on manual time if the system was created
   * with {@link #manualTimeConfig()}, else on real time. Closing the kit stops its engine only.
   */
  public static SpoolTestKit on(ActorSystem<?> system) {
    return new SpoolTestKit(system, false);
  }

  /** Pekko's {@code ManualTime} scheduler, to put in front of a configuration. */
  public static Config manualTimeConfig() {
    return ManualTime.config();
  }

  static ActorSystem<?> newSystem(Config config) {
    return ActorSystem.create(Behaviors.empty(), "spool-testkit-" + KITS.get(),
        config.withFallback(ConfigFactory.load()));
  }

  private static boolean hasManualTime(ActorSystem<?> system) {
    Config config = system.settings().config();
    return config.hasPath(SCHEDULER)
        && config.getString(SCHEDULER).equals(ManualTime.config().getString(SCHEDULER));
  }

  // ---- the engine and time

  /** The engine under test: hand it to the code under test. */
  public Spool spool() {
    return spool;
  }

  /** The actor system the engine runs on. */
  public ActorSystem<?> system() {
    return system;
  }

  /** Whether time moves only by {@link #timePasses}. */
  public boolean isManualTime() {
    return manualClock != null;
  }

  /** The engine's clock: a {@link ManualClock} on manual time, else the system's UTC clock. */
  public Clock clock() {
    return manualClock != null ? manualClock : spool.settings().clock();
  }

  /**
   * Moves the engine's clock and its scheduler forward together: every timer due by then fires, in
   * order (a redelivery after its backoff, a deadline, a janitor tick). Timers that the fired ones
   * start are due from the new time on.
   *
   * @throws IllegalStateException on a real-time kit
   */
  public void timePasses(Duration by) {
    if (manualClock == null) {
      throw new IllegalStateException("time passes by itself on a real-time kit: use SpoolTestKit.create()");
    }
    manualClock.advance(by);
    ManualTime.get(system).timePasses(by);
  }

  /**
   * Checks {@code assertion} until it passes, moving time by {@code step} after each failed check:
   * for outcomes that take several timers one after another (retries with backoff until a message
   * is dead-lettered). On real time it only waits.
   *
   * @throws AssertionError the assertion's last failure, when it has not passed within {@link #awaitTimeout()}
   */
  public void timePassesUntil(Duration step, ThrowingRunnable assertion) {
    awaitAsserted("time passes until the assertion holds", () -> {
      try {
        assertion.run();
      } catch (AssertionError | Exception e) {
        if (manualClock != null) {
          timePasses(step);
        }
        throw e;
      }
    });
  }

  /** How long the kit's waits wait. */
  public Duration awaitTimeout() {
    return awaitTimeout;
  }

  /** Sets how long the kit's waits wait (10 s unless set). */
  public SpoolTestKit withAwaitTimeout(Duration timeout) {
    this.awaitTimeout = timeout;
    return this;
  }

  // ---- queues and publishing

  /** A name no other call of this JVM returned: {@code prefix-N}, for a fresh queue or consumer per test. */
  public static String uniqueName(String prefix) {
    return prefix + "-" + NAMES.incrementAndGet();
  }

  /** Creates {@code queue} with default settings (or finds it) and returns it. */
  public QueueInfo createQueue(String queue) {
    return createQueue(queue, QueueSettings.defaults());
  }

  /** Creates {@code queue} with {@code settings} (or finds it with equal settings) and returns it. */
  public QueueInfo createQueue(String queue, QueueSettings settings) {
    return result(spool.createQueue(queue, settings));
  }

  /** Publishes {@code messages} to {@code queue} as one batch, confirmed; returns their sequences. */
  public List<Long> publish(String queue, Message... messages) {
    return publish(queue, Arrays.asList(messages));
  }

  /** Publishes {@code messages} to {@code queue} as one batch, confirmed; returns their sequences. */
  public List<Long> publish(String queue, List<Message> messages) {
    return result(spool.createPublisher(queue, PRODUCER).publishAll(messages));
  }

  /** Publishes one text message of {@code type} per payload to {@code queue}; returns their sequences. */
  public List<Long> publishText(String queue, String type, String... payloads) {
    return publish(queue, Arrays.stream(payloads).map(p -> Message.text(type, p)).toList());
  }

  /**
   * Waits until {@code queue} retains at least {@code count} messages and returns the first
   * {@code count} of them, oldest first. Browses: moves no cursor and creates no consumer, so a queue
   * that code under test only publishes to keeps every message.
   */
  public List<Message> awaitMessages(String queue, int count) {
    List<List<Message>> seen = new ArrayList<>(List.of(List.of()));
    awaitAsserted(count + " messages in " + queue, () -> {
      List<Message> retained = result(spool.browse(queue, 1, Math.max(count, 1)));
      seen.set(0, retained);
      if (retained.size() < count) {
        throw new AssertionError(queue + " holds " + retained.size() + " of the " + count + " messages awaited");
      }
    });
    return seen.get(0).subList(0, count);
  }

  /**
   * Reads {@code count} deliveries through the consumer {@code consumer} of {@code queue} (created
   * from the earliest message if it does not exist), acknowledges them and returns them in order:
   * a test's own reader of what the code under test published.
   */
  public List<Delivery> receive(String queue, String consumer, int count) {
    var reader = spool.createConsumer(queue, ConsumerSettings.named(consumer));
    result(reader.ready());
    List<Delivery> received = new ArrayList<>();
    awaitAsserted(count + " deliveries to " + queue + "/" + consumer, () -> {
      List<Delivery> batch = result(reader.readBatch(count - received.size()));
      if (!batch.isEmpty()) {
        result(reader.acknowledgeBatch(batch));
        received.addAll(batch);
      }
      if (received.size() < count) {
        throw new AssertionError(queue + "/" + consumer + " received " + received.size() + " of " + count);
      }
    });
    return List.copyOf(received);
  }

  /** Assertions on the consumer {@code consumer} of {@code queue} (which need not exist yet). */
  public ConsumerProbe consumer(String queue, String consumer) {
    return new ConsumerProbe(this, queue, consumer);
  }

  // ---- events

  /** Spool's events since the kit started (the newest 10,000), oldest first. */
  public List<SpoolEvent> events() {
    return events.events();
  }

  /** The recorded events of one type, oldest first. */
  public <E extends SpoolEvent> List<E> events(Class<E> type) {
    return events.events().stream().filter(type::isInstance).map(type::cast).toList();
  }

  /** Waits for an event of {@code type} that {@code matches} and returns the first such. */
  public <E extends SpoolEvent> E awaitEvent(Class<E> type, Predicate<? super E> matches) {
    List<E> found = new ArrayList<>();
    awaitAsserted("a " + type.getSimpleName() + " event", () -> {
      events(type).stream().filter(matches).findFirst().ifPresentOrElse(found::add, () -> {
        throw new AssertionError("no matching " + type.getSimpleName() + " among " + events(type));
      });
    });
    return found.get(0);
  }

  // ---- plumbing

  /**
   * Checks {@code assertion} every 10 ms until it passes, in real time up to {@link #awaitTimeout()}.
   *
   * @throws AssertionError the assertion's last failure, when it has not passed in time
   */
  public void awaitAsserted(String what, ThrowingRunnable assertion) {
    awaitAsserted(what, awaitTimeout, assertion);
  }

  static void awaitAsserted(String what, Duration timeout, ThrowingRunnable assertion) {
    try {
      conditions(what, timeout).untilAsserted(assertion);
    } catch (ConditionTimeoutException e) {
      AssertionError failure = new AssertionError("timed out after " + timeout + " waiting for " + what + ": "
          + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage()), e);
      throw failure;
    }
  }

  private static ConditionFactory conditions(String what, Duration timeout) {
    return Awaitility.await(what)
        .atMost(timeout)
        .pollDelay(Duration.ZERO)
        .pollInterval(Duration.ofMillis(10))
        .pollInSameThread()
        // What the code under test has not created yet is awaited like anything else.
        .ignoreExceptionsMatching(e -> e instanceof SpoolException.QueueNotFound
            || e instanceof SpoolException.ConsumerNotFound);
  }

  /**
   * The value of a Spool call, waiting in real time: the engine's own ask timeout rests on the
   * scheduler, which does not move on its own under manual time.
   *
   * @throws SpoolException the call's failure
   */
  public <T> T result(CompletionStage<T> stage) {
    try {
      return stage.toCompletableFuture().get(spool.settings().askTimeout().toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException r) {
        throw r;
      }
      throw new IllegalStateException(e.getCause());
    } catch (TimeoutException e) {
      throw new AssertionError("Spool did not answer within " + spool.settings().askTimeout(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /**
   * Stops the engine (handler calls in flight get the drain timeout, moved through on manual time)
   * and, if the kit created it, the actor system.
   */
  @Override
  public void close() {
    CompletionStage<?> stopped = spool.shutdown();
    Duration drain = spool.settings().shutdownDrainTimeout();
    if (manualClock != null && !stopped.toCompletableFuture().isDone()) {
      // The drain's deadline is a timer: move past it so that a handler that never completes cannot hold the test.
      awaitAsserted("the engine to stop", drain.plus(awaitTimeout), () -> {
        if (!stopped.toCompletableFuture().isDone()) {
          timePasses(Duration.ofMillis(500));
          throw new AssertionError("the engine is still draining");
        }
      });
    }
    try {
      stopped.toCompletableFuture().get(drain.plus(awaitTimeout).toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException | TimeoutException e) {
      // Stopping is best effort: the system is terminated below either way.
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      events.stop();
      if (ownsSystem) {
        system.terminate();
        try {
          system.getWhenTerminated().toCompletableFuture().get(awaitTimeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException e) {
          // A system that does not terminate in time is left to the JVM's exit.
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }
  }
}
