package dev.spool;

import java.time.Instant;
import java.time.format.DateTimeParseException;

/**
 * Where a new consumer starts, or where {@code seek} moves it.
 *
 * @since 0.1.0
 */
public sealed interface StartPosition {

  /** The oldest retained message: a new consumer sees everything the queue still holds. */
  static StartPosition earliest() {
    return Earliest.INSTANCE;
  }

  /** Only messages appended from now on. */
  static StartPosition latest() {
    return Latest.INSTANCE;
  }

  /** The message with this sequence (or the oldest retained one, if it was already freed). */
  static StartPosition sequence(long sequence) {
    if (sequence < 1) {
      throw new SpoolException.InvalidConfiguration("a start sequence must be 1 or more, not " + sequence);
    }
    return new AtSequence(sequence);
  }

  /** The first message appended at or after {@code time}. */
  static StartPosition time(Instant time) {
    if (time == null) {
      throw new SpoolException.InvalidConfiguration("a start time is required");
    }
    Limits.epochMillis("start time", time);
    return new AtTime(time);
  }

  /** Parses the wire form: {@code earliest}, {@code latest}, {@code sequence:N} or {@code time:ISO-8601}. */
  static StartPosition parse(String text) {
    if (text == null) {
      throw new SpoolException.InvalidConfiguration("a start position is required");
    }
    if (text.equals("earliest")) {
      return earliest();
    }
    if (text.equals("latest")) {
      return latest();
    }
    try {
      if (text.startsWith("sequence:")) {
        return sequence(Long.parseLong(text.substring("sequence:".length())));
      }
      if (text.startsWith("time:")) {
        return time(Instant.parse(text.substring("time:".length())));
      }
    } catch (NumberFormatException | DateTimeParseException e) {
      // fall through to the error below
    }
    throw new SpoolException.InvalidConfiguration("'" + text
        + "' is not a start position: use earliest, latest, sequence:N or time:2026-01-01T00:00:00Z");
  }

  /** The oldest retained message. */
  enum Earliest implements StartPosition {
    /** The only instance. */
    INSTANCE;

    @Override
    public String toString() {
      return "earliest";
    }
  }

  /** After the newest message. */
  enum Latest implements StartPosition {
    /** The only instance. */
    INSTANCE;

    @Override
    public String toString() {
      return "latest";
    }
  }

  /** A sequence. */
  record AtSequence(long sequence) implements StartPosition {
    @Override
    public String toString() {
      return "sequence:" + sequence;
    }
  }

  /** An append time. */
  record AtTime(Instant time) implements StartPosition {
    @Override
    public String toString() {
      return "time:" + time;
    }
  }
}
