package dev.spool.queue;

import dev.spool.Message;
import dev.spool.SpoolException;
import dev.spool.log.SegmentedLog;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import org.apache.pekko.pattern.StatusReply;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The redrives of one dead-letter queue: which dead-lettered messages a redrive moves back to their
 * source queues, grouped by source, and which are being moved already, so that two redrives over
 * the same range never move a message twice. A message leaves the queue only once its source queue
 * confirmed the append (the owner then removes it through {@link Retention#removeRedriven}).
 *
 * <p>Single-threaded: driven by the owning {@code QueueActor}, on its own thread.
 */
public final class Redrives {

  private static final Logger LOG = LoggerFactory.getLogger(Redrives.class);

  /**
   * The messages going back to one source queue, and their sequences in the dead-letter queue.
   *
   * @param messages already marked as redriven
   */
  public record Source(String queue, List<Message> messages, List<Long> sequences) {}

  private final SegmentedLog log;
  private final Function<Message, String> sourceQueue;
  private final UnaryOperator<Message> redriven;
  /** Sequences a redrive under way is moving. */
  private final Set<Long> moving = new HashSet<>();

  /**
   * @param sourceQueue the queue a dead-lettered message came from, or {@code null} for a message
   *     that was not dead-lettered
   * @param redriven a dead-lettered message as it goes back to its source queue
   */
  public Redrives(SegmentedLog log, Function<Message, String> sourceQueue, UnaryOperator<Message> redriven) {
    this.log = log;
    this.sourceQueue = sourceQueue;
    this.redriven = redriven;
  }

  /**
   * Starts a redrive of the retained dead-lettered messages with sequences in {@code [from, to]}
   * that no redrive is moving yet.
   *
   * @return what goes back to each source queue, in the order the sources first appear; empty when
   *     there is nothing to move
   * @throws SpoolException.InvalidConfiguration if the range is empty
   */
  public List<Source> start(long from, long to) {
    if (from > to) {
      throw new SpoolException.InvalidConfiguration(
          "redrive range is empty: from " + from + " is after to " + to);
    }
    Map<String, Source> bySource = new LinkedHashMap<>();
    long last = Math.min(log.lastSequence(), to);
    for (long s = Math.max(from, log.firstSequence()); s <= last; s++) {
      Message m = log.get(s);
      String source = m == null ? null : sourceQueue.apply(m);
      if (source != null && moving.add(s)) {
        Source batch = bySource.computeIfAbsent(source, q -> new Source(q, new ArrayList<>(), new ArrayList<>()));
        batch.messages().add(redriven.apply(m));
        batch.sequences().add(s);
      }
    }
    return List.copyOf(bySource.values());
  }

  /**
   * A redrive finished: {@code moved} may be removed (returned in sequence order, for one removal
   * step), and what was not moved may be redriven again.
   */
  public List<Long> finished(Collection<Long> moved, Collection<Long> notMoved) {
    moving.removeAll(moved);
    moving.removeAll(notMoved);
    return moved.stream().sorted().toList();
  }

  /** The answer to a redrive of {@code queue}, logged: how many moved, or an error if nothing could be moved. */
  public static StatusReply<Long> outcome(String queue, int moved, List<String> failures, boolean onlyFull) {
    if (!failures.isEmpty()) {
      LOG.warn("queue {}: redrive moved {} messages; some could not be moved: {}", queue, moved, failures);
    } else {
      LOG.info("queue {}: redrive moved {} messages back to their source queues", queue, moved);
    }
    if (moved == 0 && !failures.isEmpty()) {
      String message = "redrive moved nothing: " + String.join("; ", failures);
      // Full sources may take them later: QueueFull (429) says to retry, where a refusal would say not to.
      return StatusReply.error(onlyFull ? new SpoolException.QueueFull(message)
          : new SpoolException.InvalidConfiguration(message));
    }
    return StatusReply.success((long) moved);
  }
}
