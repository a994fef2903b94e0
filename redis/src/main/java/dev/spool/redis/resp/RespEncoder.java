package dev.spool.redis.resp;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.pekko.util.ByteString;
import org.apache.pekko.util.ByteStringBuilder;

/**
 * Writes {@link Reply replies} in RESP2 or RESP3, the version a connection chose with HELLO. RESP3's
 * extra kinds fall back to what Redis sends a RESP2 client: maps and sets as arrays, doubles as bulk
 * strings, booleans as 1 or 0, both nulls as their RESP2 null forms. Stateless and thread-safe.
 */
public final class RespEncoder {

  private static final byte[] CRLF = {'\r', '\n'};

  private RespEncoder() {
  }

  /** The reply's bytes in {@code protocol} 2 or 3. */
  public static ByteString encode(Reply reply, int protocol) {
    ByteStringBuilder out = ByteString.createBuilder();
    encodeInto(out, reply, protocol);
    return out.result();
  }

  /** Appends the reply's bytes, so that several pipelined replies go out in one write. */
  public static void encodeInto(ByteStringBuilder out, Reply reply, int protocol) {
    if (protocol != 2 && protocol != 3) {
      throw new IllegalArgumentException("protocol is 2 or 3, got " + protocol);
    }
    write(out, reply, protocol == 3);
  }

  private static void write(ByteStringBuilder out, Reply reply, boolean resp3) {
    if (reply instanceof Reply.SimpleString s) {
      line(out, '+', s.value());
    } else if (reply instanceof Reply.SimpleError e) {
      line(out, '-', e.line());
    } else if (reply instanceof Reply.Int i) {
      line(out, ':', Long.toString(i.value()));
    } else if (reply instanceof Reply.BulkString b) {
      bulk(out, b.value());
    } else if (reply instanceof Reply.Null) {
      line(out, resp3 ? '_' : '$', resp3 ? "" : "-1");
    } else if (reply instanceof Reply.NullArray) {
      line(out, resp3 ? '_' : '*', resp3 ? "" : "-1");
    } else if (reply instanceof Reply.Array a) {
      aggregate(out, '*', a.items(), resp3);
    } else if (reply instanceof Reply.Set s) {
      aggregate(out, resp3 ? '~' : '*', s.items(), resp3);
    } else if (reply instanceof Reply.Push p) {
      aggregate(out, resp3 ? '>' : '*', p.items(), resp3);
    } else if (reply instanceof Reply.Map m) {
      List<Reply.Map.Entry> entries = m.entries();
      line(out, resp3 ? '%' : '*', Integer.toString(resp3 ? entries.size() : 2 * entries.size()));
      for (Reply.Map.Entry entry : entries) {
        write(out, entry.key(), resp3);
        write(out, entry.value(), resp3);
      }
    } else if (reply instanceof Reply.Real d) {
      if (resp3) {
        line(out, ',', formatDouble(d.value()));
      } else {
        bulk(out, formatDouble(d.value()).getBytes(StandardCharsets.US_ASCII));
      }
    } else if (reply instanceof Reply.Bool b) {
      if (resp3) {
        line(out, '#', b.value() ? "t" : "f");
      } else {
        line(out, ':', b.value() ? "1" : "0");
      }
    } else if (reply instanceof Reply.Verbatim v) {
      byte[] text = v.text().getBytes(StandardCharsets.UTF_8);
      if (resp3) {
        line(out, '=', Integer.toString(text.length + 4));
        out.putBytes(v.format().getBytes(StandardCharsets.US_ASCII)).putByte((byte) ':').putBytes(text).putBytes(CRLF);
      } else {
        bulk(out, text);
      }
    } else {
      throw new IllegalArgumentException("no encoding for " + reply.getClass().getName());
    }
  }

  private static void aggregate(ByteStringBuilder out, char type, List<Reply> items, boolean resp3) {
    line(out, type, Integer.toString(items.size()));
    for (Reply item : items) {
      write(out, item, resp3);
    }
  }

  private static void bulk(ByteStringBuilder out, byte[] value) {
    line(out, '$', Integer.toString(value.length));
    out.putBytes(value).putBytes(CRLF);
  }

  private static void line(ByteStringBuilder out, char type, String text) {
    out.putByte((byte) type).putBytes(text.getBytes(StandardCharsets.UTF_8)).putBytes(CRLF);
  }

  /**
   * Integral values without a fraction, as Redis prints them ({@code 3}, not {@code 3.0}); others in
   * Java's shortest round-tripping form, which RESP3's double grammar accepts.
   */
  static String formatDouble(double d) {
    if (Double.isNaN(d)) {
      return "nan";
    }
    if (Double.isInfinite(d)) {
      return d > 0 ? "inf" : "-inf";
    }
    // Below 2^53 every integral double is exact as a long.
    if (d == Math.rint(d) && Math.abs(d) < 0x1p53) {
      return Long.toString((long) d);
    }
    return Double.toString(d);
  }
}
