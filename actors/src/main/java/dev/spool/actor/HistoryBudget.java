package dev.spool.actor;

import dev.spool.queue.HistoryRecorder;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.AbstractExtensionId;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.Extension;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;

/**
 * The samples every queue's history holds in one actor system, against {@code spool.history.max-bytes}:
 * a history grows only while the total fits (see {@link HistoryRecorder}). Queues on many threads
 * share it, hence the atomic count.
 */
public final class HistoryBudget implements Extension {

  /** The heap one sample takes, with its place in its ring: measured at 80 to 96 bytes. */
  public static final int SAMPLE_BYTES = 96;

  /** The extension's id. */
  public static final class Id extends AbstractExtensionId<HistoryBudget> {
    @Override
    public HistoryBudget createExtension(ExtendedActorSystem system) {
      return new HistoryBudget();
    }
  }

  public static final Id ID = new Id();

  private final AtomicLong samples = new AtomicLong();

  private HistoryBudget() {}

  public static HistoryBudget get(ActorSystem<?> system) {
    return ID.get(Adapter.toClassic(system));
  }

  /** What one queue's recorder draws on, within {@code maxBytes} over all of them (0 for no bound). */
  HistoryRecorder.Allowance allowance(long maxBytes) {
    long max = maxBytes <= 0 ? Long.MAX_VALUE : maxBytes / SAMPLE_BYTES;
    return new HistoryRecorder.Allowance() {
      @Override
      public boolean grow() {
        long now;
        do {
          now = samples.get();
          if (now >= max) {
            return false;
          }
        } while (!samples.compareAndSet(now, now + 1));
        return true;
      }

      @Override
      public void growAnyway() {
        samples.incrementAndGet();
      }

      @Override
      public void release(long count) {
        samples.addAndGet(-count);
      }
    };
  }

  /** The heap the histories take now, about. */
  public long bytes() {
    return samples.get() * SAMPLE_BYTES;
  }
}
