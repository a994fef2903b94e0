package dev.spool;

import dev.spool.actor.ConsumerActor;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.SourceShape;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.AsyncCallback;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;
import scala.runtime.BoxedUnit;

/**
 * The stream of a {@link QueueConsumer}: one stage that subscribes to the consumer's actor (one per
 * partition for a partitioned queue), takes the batches it sends, and emits them whole
 * ({@code batches()}) or one delivery per pull ({@code source()}), straight from the batch: no
 * nested source, no stage between, and per delivery only the push. Back-pressure is the consumer's
 * protocol: a consumer sends one batch per demand signal, and the stage signals demand for the next
 * batch of a consumer as soon as it starts emitting the last one, so at most one batch per consumer
 * waits while another is emitted. It completes when every consumer it reads has ended (deleted),
 * after emitting what it holds; when it stops for any reason (cancelled, failed, closed), it tells
 * each consumer, which redelivers what the stream held unacknowledged.
 *
 * @param <T> {@link Delivery} or {@code List<Delivery>}
 */
final class ConsumerStream<T> extends GraphStage<SourceShape<T>> {

  private static final AtomicLong STREAM_IDS = new AtomicLong();

  /** A consumer actor to read, and how its deliveries are numbered in the stream (a partition's, as the queue's). */
  record Feed(ActorRef<ConsumerActor.Command> consumer, UnaryOperator<List<Delivery>> renumber) {}

  private final Outlet<T> out = Outlet.create("ConsumerStream.out");
  private final SourceShape<T> shape = SourceShape.of(out);
  private final Supplier<CompletionStage<List<Feed>>> feeds;
  private final boolean perDelivery;
  private final Set<Runnable> closers;

  /**
   * @param feeds the consumers to read, found when the stream starts (each materialization anew)
   * @param perDelivery emit single deliveries rather than batches
   * @param closers where the stream registers, while it runs, what completes it ({@link QueueConsumer#close})
   */
  private ConsumerStream(Supplier<CompletionStage<List<Feed>>> feeds, boolean perDelivery, Set<Runnable> closers) {
    this.feeds = feeds;
    this.perDelivery = perDelivery;
    this.closers = closers;
  }

  static ConsumerStream<Delivery> deliveries(Supplier<CompletionStage<List<Feed>>> feeds, Set<Runnable> closers) {
    return new ConsumerStream<>(feeds, true, closers);
  }

  static ConsumerStream<List<Delivery>> batches(Supplier<CompletionStage<List<Feed>>> feeds, Set<Runnable> closers) {
    return new ConsumerStream<>(feeds, false, closers);
  }

  @Override
  public SourceShape<T> shape() {
    return shape;
  }

  @Override
  public GraphStageLogic createLogic(Attributes attributes) {
    return new Logic();
  }

  /** A batch taken and not yet emitted, and which feed it came from. */
  private record Held(List<Delivery> deliveries, int feed) {}

  private final class Logic extends GraphStageLogic {
    private List<Feed> subscribed = List.of();
    private long[] ids = new long[0];
    private final ArrayDeque<Held> waiting = new ArrayDeque<>();
    private List<Delivery> current;
    private int next;
    private int ended;
    private Runnable closer;

    Logic() {
      super(shape);
      setHandler(out, new AbstractOutHandler() {
        @Override
        public void onPull() {
          emit();
        }
      });
    }

    @Override
    public void preStart() {
      ActorRef<ConsumerActor.StreamElement> self = Adapter.toTyped(getStageActor(message -> {
        onElement(message._2());
        return BoxedUnit.UNIT;
      }).ref());
      AsyncCallback<Done> close = createAsyncCallback(done -> completeStage());
      closer = () -> close.invoke(Done.getInstance());
      closers.add(closer);
      AsyncCallback<Object> found = createAsyncCallback(result -> onFound(result, self));
      feeds.get().whenComplete((list, failure) -> found.invoke(failure != null ? failure : list));
    }

    @SuppressWarnings("unchecked")
    private void onFound(Object result, ActorRef<ConsumerActor.StreamElement> self) {
      if (result instanceof Throwable failure) {
        failStage(failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure);
        return;
      }
      subscribed = (List<Feed>) result;
      ids = new long[subscribed.size()];
      for (int i = 0; i < ids.length; i++) {
        ids[i] = STREAM_IDS.incrementAndGet();
        subscribed.get(i).consumer().tell(new ConsumerActor.SubscribeStream(ids[i], self));
      }
    }

    private void onElement(Object element) {
      if (element instanceof ConsumerActor.Batch batch) {
        int feed = feedOf(batch.streamId());
        if (feed < 0) {
          return; // not one of ours (cannot happen: only our consumers know this stage)
        }
        waiting.add(new Held(subscribed.get(feed).renumber().apply(batch.deliveries()), feed));
        if (current == null) {
          takeNext();
        }
        emit();
      } else if (element == ConsumerActor.End.INSTANCE) {
        ended++;
        if (finished()) {
          completeStage();
        }
      }
    }

    private int feedOf(long streamId) {
      for (int i = 0; i < ids.length; i++) {
        if (ids[i] == streamId) {
          return i;
        }
      }
      return -1;
    }

    /** Makes the oldest waiting batch the one emitted, and asks its consumer for the next. */
    private void takeNext() {
      Held held = waiting.poll();
      if (held == null) {
        current = null;
        return;
      }
      current = held.deliveries();
      next = 0;
      subscribed.get(held.feed()).consumer().tell(new ConsumerActor.StreamDemand(ids[held.feed()]));
      if (current.isEmpty()) {
        takeNext();
      }
    }

    @SuppressWarnings("unchecked")
    private void emit() {
      if (current == null || !isAvailable(out)) {
        return;
      }
      if (perDelivery) {
        push(out, (T) current.get(next++));
        if (next < current.size()) {
          return;
        }
      } else {
        push(out, (T) current);
      }
      takeNext();
      if (finished()) {
        completeStage();
      }
    }

    /** Every consumer ended, and everything they sent is emitted. */
    private boolean finished() {
      return ended > 0 && ended >= subscribed.size() && current == null && waiting.isEmpty();
    }

    @Override
    public void postStop() {
      closers.remove(closer);
      for (int i = 0; i < ids.length; i++) {
        subscribed.get(i).consumer().tell(new ConsumerActor.StreamClosed(ids[i]));
      }
    }
  }
}
