package dev.spool.redis.resp;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * Splits an inline request line into arguments exactly as Redis's {@code sdssplitargs} does, so that
 * what works against Redis from telnet or {@code redis-cli} works here: arguments are separated by
 * blanks; {@code "double quotes"} take the escapes {@code \xHH \n \r \t \b \a} and a backslash before
 * any other character stands for that character; {@code 'single quotes'} take only {@code \'}; a quote
 * may open mid-argument ({@code a"b c"} is {@code ab c}) but a closing quote must end the argument.
 * A NUL byte ends the line, as it ends the C string Redis splits.
 */
final class InlineSplitter {

  private InlineSplitter() {
  }

  /** The arguments of {@code line[0, length)}, none for a blank line. */
  static List<byte[]> split(byte[] line, int length) {
    int end = 0;
    while (end < length && line[end] != 0) {
      end++;
    }
    List<byte[]> args = new ArrayList<>();
    ByteArrayOutputStream current = new ByteArrayOutputStream();
    int p = 0;
    while (true) {
      while (p < end && isSpace(line[p])) {
        p++;
      }
      if (p == end) {
        return args;
      }
      boolean inDoubleQuotes = false;
      boolean inSingleQuotes = false;
      boolean done = false;
      current.reset();
      while (!done) {
        int c = at(line, end, p);
        int next = at(line, end, p + 1);
        if (inDoubleQuotes) {
          if (c == '\\' && next == 'x' && isHex(at(line, end, p + 2)) && isHex(at(line, end, p + 3))) {
            current.write(Character.digit(line[p + 2], 16) * 16 + Character.digit(line[p + 3], 16));
            p += 3;
          } else if (c == '\\' && next != 0) {
            p++;
            current.write(unescape(next));
          } else if (c == '"') {
            done = closeQuote(next);
          } else if (c == 0) {
            throw unbalanced();
          } else {
            current.write(c);
          }
        } else if (inSingleQuotes) {
          if (c == '\\' && next == '\'') {
            p++;
            current.write('\'');
          } else if (c == '\'') {
            done = closeQuote(next);
          } else if (c == 0) {
            throw unbalanced();
          } else {
            current.write(c);
          }
        } else {
          switch (c) {
            case ' ', '\n', '\r', '\t', 0 -> done = true;
            case '"' -> inDoubleQuotes = true;
            case '\'' -> inSingleQuotes = true;
            default -> current.write(c);
          }
        }
        if (p < end) {
          p++;
        }
      }
      args.add(current.toByteArray());
    }
  }

  /** The byte at {@code i}, or 0 past the end, as the C string Redis walks reads its terminator. */
  private static int at(byte[] line, int end, int i) {
    return i < end ? line[i] : 0;
  }

  private static boolean closeQuote(int next) {
    if (next != 0 && !isSpace(next)) {
      throw unbalanced();
    }
    return true;
  }

  private static int unescape(int c) {
    return switch (c) {
      case 'n' -> '\n';
      case 'r' -> '\r';
      case 't' -> '\t';
      case 'b' -> '\b';
      case 'a' -> 7;
      default -> c;
    };
  }

  /** C's {@code isspace} in the C locale. */
  private static boolean isSpace(int c) {
    return c == ' ' || c == '\t' || c == '\n' || c == 0x0b || c == '\f' || c == '\r';
  }

  private static boolean isHex(int c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  }

  private static RespProtocolException unbalanced() {
    return new RespProtocolException("Protocol error: unbalanced quotes in request");
  }
}
