package dev.spool.durable;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.pekko.actor.AbstractExtensionId;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.Extension;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;

/**
 * How long durable queues' journal writes and recoveries take, told to whoever listens (the HTTP
 * service's metrics turn them into histograms); with no listener, nothing is kept. Listeners are
 * called on the queue's own thread and must return at once.
 */
public final class JournalTimings implements Extension {

  /** What a listener is told. */
  public interface Listener {
    /** A journal write of {@code queue} took {@code nanos}, from sending it to the journal's answer. */
    void written(String queue, long nanos);

    /** {@code queue} was read back from its journal in {@code nanos} at start. */
    void recovered(String queue, long nanos);
  }

  /** The extension's id. */
  public static final class Id extends AbstractExtensionId<JournalTimings> {
    @Override
    public JournalTimings createExtension(ExtendedActorSystem system) {
      return new JournalTimings();
    }
  }

  public static final Id ID = new Id();

  private final List<Listener> listeners = new CopyOnWriteArrayList<>();

  private JournalTimings() {}

  public static JournalTimings get(ActorSystem<?> system) {
    return ID.get(Adapter.toClassic(system));
  }

  /** Adds {@code listener}; the returned action removes it. */
  public Runnable listen(Listener listener) {
    listeners.add(listener);
    return () -> listeners.remove(listener);
  }

  /** A write of {@code queue} ended after {@code nanos}. */
  public void written(String queue, long nanos) {
    for (Listener l : listeners) {
      l.written(queue, nanos);
    }
  }

  /** {@code queue} recovered in {@code nanos}. */
  public void recovered(String queue, long nanos) {
    for (Listener l : listeners) {
      l.recovered(queue, nanos);
    }
  }
}
