package dev.spool.redis.resp;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One request as the client sent it: {@code args.get(0)} is the command name, the rest its
 * arguments, all binary-safe. The arrays belong to the command and are not to be changed.
 */
public record RespCommand(List<byte[]> args) {

  public RespCommand {
    if (args.isEmpty()) {
      throw new IllegalArgumentException("a command has at least its name");
    }
    args = List.copyOf(args);
  }

  /** A command from text arguments, UTF-8 encoded. */
  public static RespCommand of(String... args) {
    List<byte[]> bytes = new ArrayList<>(args.length);
    for (String arg : args) {
      bytes.add(arg.getBytes(StandardCharsets.UTF_8));
    }
    return new RespCommand(bytes);
  }

  /** The command name in upper case, for matching: Redis command names are case-insensitive ASCII. */
  public String name() {
    byte[] name = args.get(0);
    char[] chars = new char[name.length];
    for (int i = 0; i < name.length; i++) {
      int b = name[i] & 0xff;
      chars[i] = (char) (b >= 'a' && b <= 'z' ? b - ('a' - 'A') : b);
    }
    return new String(chars);
  }

  /** The number of arguments counting the name, as Redis counts a command's arity. */
  public int arity() {
    return args.size();
  }

  /** Argument {@code i}; 0 is the name. */
  public byte[] arg(int i) {
    return args.get(i);
  }

  /** Argument {@code i} decoded as UTF-8. */
  public String argString(int i) {
    return new String(args.get(i), StandardCharsets.UTF_8);
  }

  /**
   * Argument {@code i} as a 64-bit integer, read as strictly as Redis reads one (no sign but '-', no
   * leading zeros, no spaces).
   *
   * @throws RespError {@code ERR value is not an integer or out of range} otherwise
   */
  public long argLong(int i) {
    byte[] arg = args.get(i);
    try {
      return RespParser.parseLong(arg, 0, arg.length);
    } catch (NumberFormatException e) {
      throw new RespError("ERR value is not an integer or out of range");
    }
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof RespCommand other) || other.args.size() != args.size()) {
      return false;
    }
    for (int i = 0; i < args.size(); i++) {
      if (!Arrays.equals(args.get(i), other.args.get(i))) {
        return false;
      }
    }
    return true;
  }

  @Override
  public int hashCode() {
    int hash = 1;
    for (byte[] arg : args) {
      hash = 31 * hash + Arrays.hashCode(arg);
    }
    return hash;
  }

  @Override
  public String toString() {
    List<String> text = new ArrayList<>(args.size());
    for (int i = 0; i < args.size(); i++) {
      text.add(argString(i));
    }
    return "RespCommand" + text;
  }
}
