package dev.spool.durable;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a cluster member that was paused (SIGSTOP, a long GC pause, a frozen VM) from writing the
 * journal as the owner of queues the cluster may have given to another member meanwhile. The Split
 * Brain Resolver downs a member that stopped answering, and after the removal margin its queues
 * start elsewhere; but a paused JVM cannot stop itself, and once it runs again its actors would
 * process what waited in their mailboxes before it learns it was downed.
 *
 * <p>A thread of its own ticks every {@value #TICK_MILLIS} ms. A journal asks {@link #closedFor()}
 * before each write: if the last tick is older than {@code after} (the JVM was not running) or a
 * pause ended less than {@code hold} ago, the write waits. {@code hold} (the SBR's decision time
 * plus the removal margin) is long enough for the cluster's gossip to tell a downed member, which
 * then shuts down without having written; a member that was not downed writes on afterwards.
 * Standalone, the fence is always open.
 */
public final class PauseFence implements Extension {

  static final long TICK_MILLIS = 100;

  private static final Logger LOG = LoggerFactory.getLogger(PauseFence.class);

  private static final ExtensionId<PauseFence> ID = new ExtensionId<>() {
    @Override
    public PauseFence createExtension(ActorSystem<?> system) {
      return create(system.settings().config());
    }
  };

  public static PauseFence get(ActorSystem<?> system) {
    return ID.apply(system);
  }

  private final boolean enabled;
  private final long afterNanos;
  private final long holdNanos;
  private final LongSupplier nanoTime;
  private volatile long lastTick;
  private volatile long closedUntil;

  PauseFence(boolean enabled, Duration after, Duration hold, LongSupplier nanoTime) {
    this.enabled = enabled;
    this.afterNanos = after.toNanos();
    this.holdNanos = hold.toNanos();
    this.nanoTime = nanoTime;
    this.lastTick = nanoTime.getAsLong();
    this.closedUntil = lastTick;
  }

  private static PauseFence create(Config config) {
    boolean enabled = config.getBoolean("spool.cluster.enabled");
    PauseFence fence = new PauseFence(enabled, config.getDuration("spool.cluster.pause-fence.after"),
        config.getDuration("spool.cluster.pause-fence.hold"), System::nanoTime);
    if (enabled) {
      Thread ticker = new Thread(fence::tickForever, "spool-pause-fence");
      ticker.setDaemon(true); // never keeps the JVM alive
      ticker.start();
    }
    return fence;
  }

  private void tickForever() {
    while (true) {
      tick();
      try {
        TimeUnit.MILLISECONDS.sleep(TICK_MILLIS);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  /** One tick: a gap longer than {@code after} since the last one was a pause, which closes the fence for {@code hold}. */
  void tick() {
    long now = nanoTime.getAsLong();
    long gap = now - lastTick;
    if (gap > afterNanos) {
      closedUntil = now + holdNanos;
      LOG.warn("this member did not run for {} ms (SIGSTOP, GC or a frozen host): journal writes wait {} ms, so that"
          + " a member that took its queues over meanwhile is never written over", gap / 1_000_000, holdNanos / 1_000_000);
    }
    lastTick = now;
  }

  /** How long journal writes must still wait; zero when they may go ahead. */
  public Duration closedFor() {
    if (!enabled) {
      return Duration.ZERO;
    }
    long now = nanoTime.getAsLong();
    if (now - lastTick > afterNanos) { // paused, and the ticker has not run yet since
      return Duration.ofNanos(holdNanos);
    }
    long left = closedUntil - now;
    return left > 0 ? Duration.ofNanos(left) : Duration.ZERO;
  }

  /**
   * One journal's view of the fence: whether its writes wait now, and a single check scheduled for
   * when the fence may have opened. Driven on the journal actor's thread.
   */
  public static final class Gate {
    private final PauseFence fence;
    private boolean checkScheduled;

    public Gate(PauseFence fence) {
      this.fence = fence;
    }

    /**
     * Whether writes must wait now; if so and no check is pending, {@code scheduleCheck} is given
     * when to look again.
     */
    public boolean held(Consumer<Duration> scheduleCheck) {
      Duration closed = fence.closedFor();
      if (closed.isZero()) {
        return false;
      }
      if (!checkScheduled) {
        checkScheduled = true;
        scheduleCheck.accept(closed.plusMillis(TICK_MILLIS));
      }
      return true;
    }

    /** The scheduled check arrived: whether writes still wait (another check is then scheduled). */
    public boolean checked(Consumer<Duration> scheduleCheck) {
      checkScheduled = false;
      return held(scheduleCheck);
    }
  }
}
