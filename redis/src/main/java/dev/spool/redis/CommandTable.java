package dev.spool.redis;

import dev.spool.redis.resp.Reply;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/** The commands Spool answers, as {@code COMMAND} describes them (name, arity, flags, key positions). */
final class CommandTable {

  private CommandTable() {}

  /** One command: arity negative for "at least", flags, and its first key, last key and step. */
  record Spec(String name, int arity, List<String> flags, int firstKey, int lastKey, int step) {
    Reply reply() {
      return Reply.array(Reply.bulk(name), Reply.integer(arity),
          Reply.set(flags.stream().map(Reply::simple).toList()),
          Reply.integer(firstKey), Reply.integer(lastKey), Reply.integer(step));
    }
  }

  static final List<Spec> ALL = List.of(
      new Spec("auth", -2, List.of("noscript", "loading", "stale", "fast", "no_auth"), 0, 0, 0),
      new Spec("hello", -1, List.of("noscript", "loading", "stale", "fast", "no_auth"), 0, 0, 0),
      new Spec("ping", -1, List.of("fast"), 0, 0, 0),
      new Spec("echo", 2, List.of("fast"), 0, 0, 0),
      new Spec("select", 2, List.of("loading", "stale", "fast"), 0, 0, 0),
      new Spec("quit", -1, List.of("noscript", "loading", "stale", "fast", "no_auth"), 0, 0, 0),
      new Spec("reset", 1, List.of("noscript", "loading", "stale", "fast", "no_auth"), 0, 0, 0),
      new Spec("client", -2, List.of(), 0, 0, 0),
      new Spec("info", -1, List.of("loading", "stale"), 0, 0, 0),
      new Spec("command", -1, List.of("loading", "stale"), 0, 0, 0),
      new Spec("config", -2, List.of(), 0, 0, 0),
      new Spec("xadd", -5, List.of("write", "denyoom", "fast"), 1, 1, 1),
      new Spec("xlen", 2, List.of("readonly", "fast"), 1, 1, 1),
      new Spec("xrange", -4, List.of("readonly"), 1, 1, 1),
      new Spec("xrevrange", -4, List.of("readonly"), 1, 1, 1),
      new Spec("xread", -4, List.of("readonly", "blocking", "movablekeys"), 0, 0, 1),
      new Spec("xreadgroup", -7, List.of("write", "blocking", "movablekeys"), 0, 0, 1),
      new Spec("xack", -4, List.of("write", "fast"), 1, 1, 1),
      new Spec("xpending", -3, List.of("readonly"), 1, 1, 1),
      new Spec("xclaim", -6, List.of("write", "fast"), 1, 1, 1),
      new Spec("xautoclaim", -6, List.of("write", "fast"), 1, 1, 1),
      new Spec("xgroup", -2, List.of(), 0, 0, 0),
      new Spec("xinfo", -2, List.of(), 0, 0, 0),
      new Spec("xtrim", -4, List.of("write"), 1, 1, 1),
      new Spec("xdel", -3, List.of("write", "fast"), 1, 1, 1),
      new Spec("del", -2, List.of("write"), 1, -1, 1),
      new Spec("unlink", -2, List.of("write", "fast"), 1, -1, 1),
      new Spec("exists", -2, List.of("readonly", "fast"), 1, -1, 1),
      new Spec("type", 2, List.of("readonly", "fast"), 1, 1, 1));

  static Optional<Spec> find(String name) {
    String lower = name.toLowerCase(Locale.ROOT);
    return ALL.stream().filter(s -> s.name().equals(lower)).findFirst();
  }
}
