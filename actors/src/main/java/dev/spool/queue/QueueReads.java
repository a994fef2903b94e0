package dev.spool.queue;

import dev.spool.HeaderCounts;
import dev.spool.Message;
import dev.spool.MessagePage;
import dev.spool.MessageQuery;
import dev.spool.MessageTrace;
import dev.spool.SpoolException;
import dev.spool.log.SegmentedLog;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Reads of one queue's log that move no cursor: browsing the retained messages, and a message's
 * delivery trace merged from what each consumer recorded of it.
 *
 * <p>Single-threaded: driven by the owning {@code QueueActor} (the log's single writer), on its own thread.
 */
public final class QueueReads {

  private final String queue;
  private final SegmentedLog log;
  private final int maxBatch;

  /** @param maxBatch the most messages one browse returns: the consumers' read batch cap */
  public QueueReads(String queue, SegmentedLog log, int maxBatch) {
    this.queue = queue;
    this.log = log;
    this.maxBatch = maxBatch;
  }

  /**
   * Up to {@code max} retained messages from sequence {@code from} on, in order, passing over the
   * released and removed ones.
   *
   * @throws SpoolException.InvalidConfiguration if {@code max} is not between 1 and the batch cap
   */
  public List<Message> browse(long from, int max) {
    if (max < 1 || max > maxBatch) {
      throw new SpoolException.InvalidConfiguration(
          "browse max must be between 1 and " + maxBatch + ", not " + max);
    }
    List<Message> out = new ArrayList<>(Math.min(max, 256));
    long last = log.lastSequence();
    for (long s = Math.max(from, log.firstSequence()); s <= last && out.size() < max; s++) {
      Message m = log.get(s);
      if (m != null) {
        out.add(m);
      }
    }
    return out;
  }

  /**
   * The sequences {@code query} may look at, {@code [low, high]}, at most {@link MessageQuery#MAX_SCAN};
   * empty ({@code high < low}) when the queue retains nothing there.
   */
  public long[] scanRange(MessageQuery query) {
    long first = log.firstSequence();
    long last = log.lastSequence();
    if (query.backward()) {
      long start = query.from() == 0 ? last : Math.min(query.from(), last);
      return new long[] {Math.max(first, start - MessageQuery.MAX_SCAN + 1), start};
    }
    long start = query.from() == 0 ? first : Math.max(query.from(), first);
    return new long[] {start, Math.min(last, start + MessageQuery.MAX_SCAN - 1)};
  }

  /**
   * The messages matching {@code query} within its {@link #scanRange}, stopping at its limit, with
   * where the scan stopped.
   */
  public MessagePage search(MessageQuery query) {
    long first = log.firstSequence();
    long last = log.lastSequence();
    long[] range = scanRange(query);
    List<Message> found = new ArrayList<>(Math.min(query.limit(), 256));
    if (range[1] < range[0]) {
      // Nothing to look at here: a forward page past the end still leads back to the newest.
      Long back = !query.backward() && last >= first && range[0] > last ? last : null;
      return new MessagePage(List.of(), first, last, range[0], range[0] - 1, true, null, back);
    }
    if (query.backward()) {
      long s = range[1];
      for (; s >= range[0] && found.size() < query.limit(); s--) {
        Message m = log.get(s);
        if (m != null && query.matches(m)) {
          found.add(m);
        }
      }
      long scannedFrom = s + 1;
      java.util.Collections.reverse(found);
      boolean complete = scannedFrom <= first;
      return new MessagePage(found, first, last, scannedFrom, range[1], complete,
          range[1] < last ? range[1] + 1 : null, complete ? null : scannedFrom - 1);
    }
    long s = range[0];
    for (; s <= range[1] && found.size() < query.limit(); s++) {
      Message m = log.get(s);
      if (m != null && query.matches(m)) {
        found.add(m);
      }
    }
    long scannedTo = s - 1;
    boolean complete = scannedTo >= last;
    return new MessagePage(found, first, last, range[0], scannedTo, complete, complete ? null : scannedTo + 1,
        range[0] > first ? range[0] - 1 : null);
  }

  /** The sequences a header count looks at: the newest {@link MessageQuery#MAX_SCAN}, {@code [low, high]}. */
  public long[] countRange() {
    long last = log.lastSequence();
    return new long[] {Math.max(log.firstSequence(), last - MessageQuery.MAX_SCAN + 1), last};
  }

  /** How many of the messages in {@link #countRange} carry each value of {@code header}. */
  public HeaderCounts countHeader(String header) {
    long[] range = countRange();
    java.util.Map<String, Long> values = new java.util.HashMap<>();
    long without = 0;
    long scanned = 0;
    for (long s = range[0]; s <= range[1]; s++) {
      Message m = log.get(s);
      if (m == null) {
        continue;
      }
      scanned++;
      String value = m.headers().get(header);
      if (value == null) {
        without++;
      } else {
        values.merge(value, 1L, Long::sum);
      }
    }
    return new HeaderCounts(header, values, without, scanned, range[0] <= log.firstSequence());
  }

  /**
   * The first cold sequence whose segment is not loaded among the first {@code max} retained
   * messages from {@code from} to {@code to}, or -1 if there is none: a read of them must load it
   * first, or it would pass over messages that are only in storage.
   */
  public long firstCold(long from, long to, long max) {
    long last = Math.min(log.lastSequence(), to);
    long counted = 0;
    for (long s = Math.max(from, log.firstSequence()); s <= last && counted < max; s++) {
      if (log.get(s) != null) {
        counted++;
      } else if (log.cold(s)) {
        return s;
      }
    }
    return -1;
  }

  /**
   * The retained message at {@code sequence}, whose trace is asked for.
   *
   * @throws SpoolException.SequenceOutOfRange if it is not retained, saying what is
   */
  public Message traced(long sequence) {
    Message m = log.get(sequence);
    if (m == null) {
      String retained = log.firstSequence() > log.lastSequence()
          ? "it retains nothing; the next message gets " + log.nextSequence()
          : "it retains " + log.firstSequence() + " to " + log.lastSequence();
      throw new SpoolException.SequenceOutOfRange("queue '" + queue + "' does not retain sequence "
          + sequence + " (released, removed or never appended; " + retained + ")");
    }
    return m;
  }

  /**
   * {@code m}'s trace: {@code appended}, then the consumers' parts merged in time order, each
   * consumer's own order kept: an entry without a time (what a consumer's position says) stays just
   * before that consumer's next timed entry, or goes last when none follows.
   */
  public static MessageTrace trace(Message m, List<List<MessageTrace.Entry>> perConsumer) {
    record Keyed(Instant key, MessageTrace.Entry entry) {}
    List<Keyed> keyed = new ArrayList<>();
    for (List<MessageTrace.Entry> part : perConsumer) {
      Instant key = Instant.MAX;
      List<Keyed> reversed = new ArrayList<>(part.size());
      for (int i = part.size() - 1; i >= 0; i--) {
        MessageTrace.Entry e = part.get(i);
        key = e.at() != null ? e.at() : key;
        reversed.add(new Keyed(key, e));
      }
      for (int i = reversed.size() - 1; i >= 0; i--) {
        keyed.add(reversed.get(i));
      }
    }
    keyed.sort(Comparator.comparing(Keyed::key)); // stable: equal times keep each consumer's order
    List<MessageTrace.Entry> entries = new ArrayList<>(keyed.size() + 1);
    entries.add(new MessageTrace.Entry("appended", null, Instant.ofEpochMilli(m.timestamp()), 0, null));
    keyed.forEach(k -> entries.add(k.entry()));
    return new MessageTrace(m, entries);
  }
}
