package dev.spool.actor;

import dev.spool.Created;
import dev.spool.QueueInfo;
import dev.spool.QueueSettings;
import dev.spool.SpoolException;
import dev.spool.durable.QueueRegistry;
import dev.spool.durable.RegistryEvent;
import java.time.Duration;
import java.util.function.BiFunction;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.ActorContext;

/**
 * How the actor that decides queue definitions (the standalone {@link QueueManager}, or the
 * cluster's {@link QueueDirectory}) records them in the registry of queues: the asks, and what a
 * failed one tells the creates waiting for it. The owner does the rest once a write is stored.
 * Driven on the owner's thread.
 *
 * @param <W> a create waiting for its queue to be recorded
 * @param <C> the owner's messages
 */
final class RegistryWrites<W extends RegistryWrites.Creation, C> {

  /** A request to create a queue, which waits while its definition is recorded. */
  interface Creation extends Request<Created<QueueInfo>> {
    String name();

    QueueSettings settings();
  }

  private final ActorContext<C> context;
  private final ActorRef<QueueRegistry.Command> registry;
  private final DurableQueues<W> durable;
  private final Duration timeout;
  private final BiFunction<String, Throwable, C> defined;

  /**
   * @param defined the owner's message once the definition of a queue is stored, or failed
   * @param timeout how long a write may take: several journal round trips
   */
  RegistryWrites(ActorContext<C> context, ActorRef<QueueRegistry.Command> registry, DurableQueues<W> durable,
      Duration timeout, BiFunction<String, Throwable, C> defined) {
    this.context = context;
    this.registry = registry;
    this.durable = durable;
    this.timeout = timeout;
    this.defined = defined;
  }

  /** Records a new queue; {@code create} (if any) waits for it, and is refused while the registry cannot write. */
  void define(String name, QueueSettings settings, W create) {
    if (!durable.registryWrites()) {
      if (create != null) {
        Request.fail(create, durable.refusal());
      }
      return;
    }
    RegistryEvent.QueueDefined definition = durable.define(name, settings, create);
    context.askWithStatus(Done.class, registry, timeout, r -> new QueueRegistry.Define(definition, r),
        (done, failure) -> defined.apply(name, failure));
  }

  /**
   * The registry answered the definition of {@code name}: the stored definition with the creates
   * waiting for it, or {@code null} when nothing waited or it failed (then they were told why).
   */
  DurableQueues.Defining<W> stored(String name, Throwable failure) {
    DurableQueues.Defining<W> d = durable.defined(name, failure == null);
    if (d == null || failure == null) {
      return d;
    }
    context.getLog().warn("queue {} could not be recorded: {}", name, failure.toString());
    SpoolException e = new SpoolException.Timeout("queue '" + name + "' could not be recorded in the journal; try again");
    d.waiting().forEach(c -> Request.fail(c, e));
    return null;
  }

  /**
   * Records a queue's definition with the settings of {@code create}, which name another encryption
   * key, under the same journal ({@code incarnation}, {@code idSeed}); {@code rotated} tells the owner.
   * Refused at once while the registry cannot write.
   */
  void rotate(W create, String incarnation, long idSeed, Function<Throwable, C> rotated) {
    if (!durable.registryWrites()) {
      Request.fail(create, durable.refusal());
      return;
    }
    RegistryEvent.QueueDefined definition = new RegistryEvent.QueueDefined(create.name(), create.settings(),
        incarnation, idSeed);
    context.askWithStatus(Done.class, registry, timeout, r -> new QueueRegistry.Define(definition, r),
        (done, failure) -> rotated.apply(failure));
  }

  /** Whether the rotation for {@code create} failed: then it was told so. */
  static boolean rotationFailed(Request<?> create, String name, Throwable failure) {
    if (failure == null) {
      return false;
    }
    Request.fail(create, new SpoolException.Timeout("queue '" + name
        + "': its new encryption key could not be recorded in the journal; try again"));
    return true;
  }
}
