package dev.spool.redis.resp;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A reply to a Redis command, independent of the protocol version: {@link RespEncoder} writes each
 * kind in RESP3 and, for the kinds RESP2 lacks, as the RESP2 shape Redis itself falls back to. Build
 * replies with the static factories ({@code Reply.ok()}, {@code Reply.bulk("v")},
 * {@code Reply.array(...)}).
 *
 * <p>Byte arrays handed to a reply become the reply's own: they are neither copied nor to be changed.
 */
public sealed interface Reply {

  /** A status line such as {@code +OK}; CR and LF are replaced by spaces, as the line cannot hold them. */
  record SimpleString(String value) implements Reply {
    public SimpleString {
      value = singleLine(value);
    }
  }

  /**
   * An error: the whole line after the {@code -}, its code first ({@code ERR ...}, {@code WRONGTYPE ...},
   * {@code NOGROUP ...}). CR and LF are replaced by spaces, since messages may quote client input.
   */
  record SimpleError(String line) implements Reply {
    public SimpleError {
      line = singleLine(line);
    }
  }

  /** A signed 64-bit integer. */
  record Int(long value) implements Reply {}

  /** A binary-safe string. */
  record BulkString(byte[] value) implements Reply {
    public BulkString {
      if (value == null) {
        throw new NullPointerException("value");
      }
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof BulkString other && Arrays.equals(value, other.value);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(value);
    }

    @Override
    public String toString() {
      return "BulkString[" + new String(value, StandardCharsets.UTF_8) + "]";
    }
  }

  /** The absent value, such as GET of a missing key: {@code $-1} in RESP2. */
  record Null() implements Reply {}

  /** The absent list, such as a blocking read that timed out: {@code *-1} in RESP2. */
  record NullArray() implements Reply {}

  /** An ordered list of replies. */
  record Array(List<Reply> items) implements Reply {
    public Array {
      items = List.copyOf(items);
    }
  }

  /** Key/value pairs in the order given; a flat array of keys and values in RESP2. */
  record Map(List<Entry> entries) implements Reply {
    public Map {
      entries = List.copyOf(entries);
    }

    /** One key and its value. */
    public record Entry(Reply key, Reply value) {
      public Entry {
        if (key == null || value == null) {
          throw new NullPointerException("map keys and values are replies, never null");
        }
      }
    }
  }

  /** An unordered collection of distinct replies; an array in RESP2. */
  record Set(List<Reply> items) implements Reply {
    public Set {
      items = List.copyOf(items);
    }
  }

  /** A floating point number; a bulk string of its digits in RESP2. */
  record Real(double value) implements Reply {}

  /** A boolean; the integer 1 or 0 in RESP2. */
  record Bool(boolean value) implements Reply {}

  /**
   * Text meant to be shown as is, with its three-letter format ({@code txt} or {@code mkd}); a plain
   * bulk string of the text in RESP2.
   */
  record Verbatim(String format, String text) implements Reply {
    public Verbatim {
      if (format.length() != 3 || !format.chars().allMatch(c -> c >= 'a' && c <= 'z')) {
        throw new IllegalArgumentException("a verbatim format is three lower-case letters: " + format);
      }
      if (text == null) {
        throw new NullPointerException("text");
      }
    }
  }

  /** Out-of-band data such as a published message; an array in RESP2. */
  record Push(List<Reply> items) implements Reply {
    public Push {
      items = List.copyOf(items);
    }
  }

  static Reply ok() {
    return new SimpleString("OK");
  }

  static Reply simple(String value) {
    return new SimpleString(value);
  }

  /** An error from its whole line after the {@code -}, e.g. {@code error("ERR syntax error")}. */
  static Reply error(String line) {
    return new SimpleError(line);
  }

  static Reply integer(long value) {
    return new Int(value);
  }

  static Reply bulk(byte[] value) {
    return new BulkString(value);
  }

  /** A bulk string of the UTF-8 bytes of {@code value}. */
  static Reply bulk(String value) {
    return new BulkString(value.getBytes(StandardCharsets.UTF_8));
  }

  static Reply nil() {
    return new Null();
  }

  static Reply nilArray() {
    return new NullArray();
  }

  static Reply array(List<? extends Reply> items) {
    return new Array(List.copyOf(items));
  }

  static Reply array(Reply... items) {
    return new Array(List.of(items));
  }

  static Reply map(List<Map.Entry> entries) {
    return new Map(entries);
  }

  /** A map from alternating keys and values: {@code map(k1, v1, k2, v2)}. */
  static Reply map(Reply... keysAndValues) {
    if (keysAndValues.length % 2 != 0) {
      throw new IllegalArgumentException("a map needs a value for every key, got " + keysAndValues.length + " replies");
    }
    List<Map.Entry> entries = new ArrayList<>(keysAndValues.length / 2);
    for (int i = 0; i < keysAndValues.length; i += 2) {
      entries.add(new Map.Entry(keysAndValues[i], keysAndValues[i + 1]));
    }
    return new Map(entries);
  }

  static Reply set(List<? extends Reply> items) {
    return new Set(List.copyOf(items));
  }

  static Reply set(Reply... items) {
    return new Set(List.of(items));
  }

  static Reply real(double value) {
    return new Real(value);
  }

  static Reply bool(boolean value) {
    return new Bool(value);
  }

  /** Plain text ({@code txt}) to be shown as is. */
  static Reply verbatim(String text) {
    return new Verbatim("txt", text);
  }

  static Reply push(List<? extends Reply> items) {
    return new Push(List.copyOf(items));
  }

  static Reply push(Reply... items) {
    return new Push(List.of(items));
  }

  private static String singleLine(String s) {
    return s.replace('\r', ' ').replace('\n', ' ');
  }
}
