package dev.spool.redis;

import dev.spool.redis.resp.RespError;

/**
 * Redis stream entry ids over Spool sequences: the entry at sequence {@code n} has the id
 * {@code n-0}. Ids are strictly increasing because sequences are, and round-trip exactly; an id's
 * second part is never used by Spool, so {@code n-1} and above fall between entries {@code n} and
 * {@code n+1}, which is what range bounds need.
 */
final class EntryIds {

  private EntryIds() {}

  static final RespError INVALID = new RespError("ERR Invalid stream ID specified as stream command argument");

  /** The id of the entry at {@code sequence}. */
  static String of(long sequence) {
    return sequence + "-0";
  }

  /** A parsed id: {@code ms} is the sequence part, {@code seq} the second part (absent: -1). */
  record Id(long ms, long seq) {

    /** The first sequence at or after this id. */
    long firstAtOrAfter() {
      return seq > 0 && ms < Long.MAX_VALUE ? ms + 1 : ms;
    }

    /** The last sequence at or before this id. */
    long lastAtOrBefore() {
      return ms;
    }

    /** The first sequence strictly after this id (the largest id has none: past every sequence). */
    long firstAfter() {
      return ms == Long.MAX_VALUE ? ms : ms + 1;
    }

    /** The sequence of the entry with exactly this id, or -1 when no entry can have it. */
    long exact() {
      return seq > 0 ? -1 : ms;
    }
  }

  /** Parses {@code ms[-seq]}; anything else is {@link #INVALID}. */
  static Id parse(String text) {
    int dash = text.indexOf('-');
    try {
      if (dash < 0) {
        return new Id(unsigned(text), -1);
      }
      return new Id(unsigned(text.substring(0, dash)), unsigned(text.substring(dash + 1)));
    } catch (NumberFormatException e) {
      throw INVALID;
    }
  }

  /** A range's start: {@code -}, an id, or {@code (id} (exclusive); the first sequence it includes. */
  static long rangeStart(String text) {
    if (text.equals("-")) {
      return 0;
    }
    if (text.equals("+")) {
      return Long.MAX_VALUE;
    }
    if (text.startsWith("(")) {
      Id id = parse(text.substring(1));
      if (id.ms == Long.MAX_VALUE) {
        throw new RespError("ERR invalid start ID for the interval");
      }
      return id.firstAfter();
    }
    return parse(text).firstAtOrAfter();
  }

  /** A range's end: {@code +}, an id, or {@code (id}; the last sequence it includes. */
  static long rangeEnd(String text) {
    if (text.equals("+")) {
      return Long.MAX_VALUE;
    }
    if (text.equals("-")) {
      return -1;
    }
    if (text.startsWith("(")) {
      Id id = parse(text.substring(1));
      if (id.ms == 0 && id.seq <= 0) {
        throw new RespError("ERR invalid end ID for the interval");
      }
      return id.seq > 0 ? id.ms : id.ms - 1;
    }
    return parse(text).lastAtOrBefore();
  }

  /** The sequences of the entries that arguments {@code from} on name exactly (ids no entry can have left out). */
  static java.util.List<Long> exactSequences(dev.spool.redis.resp.RespCommand c, int from) {
    java.util.List<Long> sequences = new java.util.ArrayList<>(c.arity() - from);
    for (int i = from; i < c.arity(); i++) {
      long exact = parse(c.argString(i)).exact();
      if (exact > 0) {
        sequences.add(exact);
      }
    }
    return sequences;
  }

  private static long unsigned(String digits) {
    if (digits.isEmpty() || digits.length() > 20 || digits.charAt(0) == '+' || digits.charAt(0) == '-') {
      throw new NumberFormatException(digits);
    }
    long value = Long.parseUnsignedLong(digits);
    // Spool sequences are positive longs: ids beyond them name nothing, so they clamp to the end.
    return value < 0 ? Long.MAX_VALUE : value;
  }
}
