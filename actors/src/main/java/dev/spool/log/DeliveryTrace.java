package dev.spool.log;

import java.util.ArrayList;
import java.util.List;

/**
 * One consumer's most recent delivery events (delivered, acked, nacked, failed, timed out,
 * dead-lettered …) in a bounded ring of primitive arrays: recording costs a few array stores and
 * allocates only while the arrays grow to the capacity, and the memory is bounded whatever the
 * traffic. The arrays are allocated on the first event, so an idle consumer costs nothing.
 *
 * <p>Older events are overwritten; the owner derives what the ring no longer holds from its
 * position (a sequence at or below the committed position was acknowledged).
 *
 * <p>Single-threaded: owned by one consumer actor. It outlives restarts of that actor.
 */
public final class DeliveryTrace {

  /** What happened to a delivery. */
  public enum Kind {
    DELIVERED("delivered"),
    ACKED("acked"),
    NACKED("nacked"),
    FAILED("failed"),
    TIMED_OUT("timed-out"),
    DEAD_LETTERED("dead-lettered"),
    DROPPED("dropped"),
    EXPIRED("expired");

    private static final Kind[] VALUES = values();
    private final String wireName;

    Kind(String wireName) {
      this.wireName = wireName;
    }

    /** The name used in JSON and the console, e.g. {@code timed-out}. */
    public String wireName() {
      return wireName;
    }

    /** Whether it settles the message for the consumer. */
    public boolean ends() {
      return this == ACKED || this == DEAD_LETTERED || this == DROPPED || this == EXPIRED;
    }
  }

  /**
   * One recorded event.
   *
   * @param sequence the message
   * @param atMillis when, epoch milliseconds
   * @param kind what happened
   * @param attempt the delivery attempt it concerns
   * @param owner the subscriber it concerns (the consumer's own numbering), or -1
   */
  public record Event(long sequence, long atMillis, Kind kind, int attempt, long owner) {}

  private final int capacity;
  private long[] sequences;
  private long[] times;
  private long[] owners;
  private int[] attempts;
  private byte[] kinds;
  private long recorded;
  /** Where the next event goes: {@code recorded % capacity}, kept so as not to divide per event. */
  private int slot;

  /** @param capacity events kept; 0 records nothing */
  public DeliveryTrace(int capacity) {
    if (capacity < 0) {
      throw new IllegalArgumentException("trace capacity must not be negative: " + capacity);
    }
    this.capacity = capacity;
  }

  /** Records an event, overwriting the oldest when full. */
  public void record(long sequence, long atMillis, Kind kind, int attempt, long owner) {
    if (capacity == 0) {
      return;
    }
    if (sequences == null || (slot == sequences.length && slot < capacity)) {
      grow();
    }
    int i = slot;
    slot = i + 1 == capacity ? 0 : i + 1;
    recorded++;
    sequences[i] = sequence;
    times[i] = atMillis;
    kinds[i] = (byte) kind.ordinal();
    attempts[i] = attempt;
    owners[i] = owner;
  }

  /**
   * Starts small and doubles up to the capacity, so that a consumer that sees few deliveries (most
   * of ten thousand on one queue) does not hold the whole ring. Until the ring is full nothing
   * wraps, so the events keep their order when copied.
   */
  private void grow() {
    int length = sequences == null ? Math.min(capacity, 16) : Math.min(capacity, sequences.length * 2);
    sequences = sequences == null ? new long[length] : java.util.Arrays.copyOf(sequences, length);
    times = times == null ? new long[length] : java.util.Arrays.copyOf(times, length);
    owners = owners == null ? new long[length] : java.util.Arrays.copyOf(owners, length);
    attempts = attempts == null ? new int[length] : java.util.Arrays.copyOf(attempts, length);
    kinds = kinds == null ? new byte[length] : java.util.Arrays.copyOf(kinds, length);
  }

  /** The events still held for {@code sequence}, oldest first. */
  public List<Event> eventsOf(long sequence) {
    List<Event> out = new ArrayList<>();
    if (sequences == null) {
      return out;
    }
    long held = Math.min(recorded, capacity);
    for (long n = recorded - held; n < recorded; n++) {
      int i = (int) (n % capacity);
      if (sequences[i] == sequence) {
        out.add(new Event(sequence, times[i], Kind.VALUES[kinds[i]], attempts[i], owners[i]));
      }
    }
    return out;
  }

  /** Events recorded since creation, including those overwritten. */
  public long recorded() {
    return recorded;
  }
}
