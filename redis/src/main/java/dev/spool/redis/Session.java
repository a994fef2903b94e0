package dev.spool.redis;

import dev.spool.Spool;
import dev.spool.SpoolException;
import dev.spool.http.Access;
import dev.spool.http.Principal;
import dev.spool.redis.resp.Reply;
import dev.spool.redis.resp.RespCommand;
import dev.spool.redis.resp.RespEncoder;
import dev.spool.redis.resp.RespError;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.util.ByteString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection: who it is (after {@code AUTH}), which protocol it speaks, and its commands,
 * answered in the order they came. Commands are handed in by the connection's stream, one at a time
 * on the stream's thread; each runs once the one before it has finished, except that an
 * {@code XADD} following an {@code XADD} to a stream already written starts at once (the stream's
 * {@link StreamAppender} publishes adds in the order they are offered), so pipelined publishes
 * overlap as Redis clients expect.
 */
final class Session {

  private static final Logger log = LoggerFactory.getLogger(Session.class);

  /** Bytes to write to the client, and whether the connection closes after them. */
  record Result(ByteString bytes, boolean close) {}

  static final String REDIS_VERSION = "7.2.0";

  final Endpoint endpoint;
  final Spool spool;
  final long id;
  final String remote;
  private final StreamCommands streams;
  private final GroupCommands groups;
  private volatile int protocol = 2;
  private volatile Principal principal;
  private volatile String clientName = "";
  private final Set<String> published = ConcurrentHashMap.newKeySet();

  private CompletableFuture<?> tail = CompletableFuture.completedFuture(null);
  private boolean tailIsAdd;
  private AtomicBoolean tailStarted = new AtomicBoolean(true);

  Session(Endpoint endpoint, String remote) {
    this.endpoint = endpoint;
    this.spool = endpoint.spool;
    this.id = endpoint.clientIds.incrementAndGet();
    this.remote = remote;
    this.streams = new StreamCommands(this);
    this.groups = new GroupCommands(this, streams);
  }

  /** Consecutive plain {@code XADD key * …} commands to one stream, read together: offered to its appender together. */
  record AddBatch(String stream, List<RespCommand> commands) {
    /** The most adds one batch takes (a read of pipelined 1 KiB adds holds about 60). */
    static final int MAX = 1000;
  }

  /** {@code XADD key * field value …}: no options, a generated id; offered to the stream's appender as soon as it runs. */
  static boolean isPlainAdd(RespCommand c) {
    return c.arity() >= 5 && (c.arity() - 3) % 2 == 0 && c.arg(2).length == 1 && c.arg(2)[0] == '*'
        && c.name().equals("XADD");
  }

  /** Takes the next command; completes with its reply. Called in order, on one thread. */
  CompletionStage<Result> submit(RespCommand command) {
    endpoint.commands.incrementAndGet();
    String name = command.name();
    boolean add = principal != null && isPlainAdd(command);
    CompletableFuture<Reply> reply = schedule(add, add ? command.argString(1) : null, () -> run(command, name));
    return reply.handle((r, failure) -> {
      Reply out = failure == null ? r : errorReply(name, failure);
      if (out instanceof Reply.SimpleError) {
        endpoint.errors.incrementAndGet();
      }
      return new Result(RespEncoder.encode(out, protocol), name.equals("QUIT"));
    });
  }

  /** Takes a batch of adds; completes with their replies, in order, written together. */
  CompletionStage<Result> submit(AddBatch batch) {
    endpoint.commands.addAndGet(batch.commands().size());
    boolean add = principal != null;
    CompletableFuture<List<Reply>> replies = schedule(add, batch.stream(), () -> {
      if (principal == null) {
        List<Reply> refused = new ArrayList<>();
        batch.commands().forEach(c -> refused.add(Reply.error("NOAUTH Authentication required.")));
        return CompletableFuture.completedFuture(refused);
      }
      try {
        return streams.xaddAll(batch.stream(), batch.commands()).toCompletableFuture();
      } catch (RuntimeException e) {
        return CompletableFuture.failedFuture(e);
      }
    });
    return replies.handle((list, failure) -> {
      org.apache.pekko.util.ByteStringBuilder out = new org.apache.pekko.util.ByteStringBuilder();
      for (int i = 0; i < batch.commands().size(); i++) {
        Reply r = failure == null ? list.get(i) : errorReply("XADD", failure);
        if (r instanceof Reply.SimpleError) {
          endpoint.errors.incrementAndGet();
        }
        RespEncoder.encodeInto(out, r, protocol);
      }
      return new Result(out.result(), false);
    });
  }

  /**
   * Runs {@code command} once the one before it has finished — or at once when both are plain adds
   * to the same stream and the one before has started: a plain add is offered to the stream's
   * appender synchronously when it runs (no lookup first), and the appender publishes in the order
   * offered, so it may start while the one before it waits for its confirmation.
   */
  private <T> CompletableFuture<T> schedule(boolean add, String stream,
      java.util.function.Supplier<CompletableFuture<T>> command) {
    AtomicBoolean started = new AtomicBoolean();
    CompletableFuture<T> reply;
    if (add && tailIsAdd && tailStarted.get() && published.contains(stream)) {
      reply = command.get();
      started.set(true);
    } else {
      reply = tail.handle((x, e) -> null).thenCompose(x -> {
        CompletableFuture<T> r = command.get();
        started.set(true);
        return r;
      });
    }
    tail = reply;
    tailIsAdd = add;
    tailStarted = started;
    return reply;
  }

  /** A protocol error's reply: the connection closes after it, as Redis closes it. */
  Result protocolError(String message) {
    endpoint.errors.incrementAndGet();
    return new Result(RespEncoder.encode(Reply.error("ERR " + message), protocol), true);
  }

  private CompletableFuture<Reply> run(RespCommand command, String name) {
    try {
      return execute(command, name).toCompletableFuture();
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  private CompletionStage<Reply> execute(RespCommand c, String name) {
    switch (name) {
      case "AUTH":
        return done(auth(c));
      case "HELLO":
        return done(hello(c));
      case "QUIT":
        return done(Reply.ok());
      default:
        break;
    }
    if (principal == null) {
      throw new RespError("NOAUTH Authentication required.");
    }
    switch (name) {
      case "PING":
        return done(ping(c));
      case "ECHO":
        arity(c, 2, 2);
        return done(Reply.bulk(c.arg(1)));
      case "SELECT":
        arity(c, 2, 2);
        if (c.argLong(1) != 0) {
          throw new RespError("ERR DB index is out of range");
        }
        return done(Reply.ok());
      case "RESET":
        protocol = 2;
        clientName = "";
        return done(Reply.simple("RESET"));
      case "CLIENT":
        return done(client(c));
      case "INFO":
        return info(c);
      case "COMMAND":
        return done(command(c));
      case "CONFIG":
        return done(config(c));
      case "XADD":
        return streams.xadd(c);
      case "XLEN":
        return streams.xlen(c);
      case "XRANGE":
        return streams.xrange(c, false);
      case "XREVRANGE":
        return streams.xrange(c, true);
      case "XREAD":
        return streams.xread(c);
      case "XTRIM":
        return streams.xtrim(c);
      case "XDEL":
        return streams.xdel(c);
      case "DEL":
      case "UNLINK":
        return streams.del(c);
      case "EXISTS":
        return streams.exists(c);
      case "TYPE":
        return streams.type(c);
      case "XGROUP":
        return groups.xgroup(c);
      case "XREADGROUP":
        return groups.xreadgroup(c);
      case "XACK":
        return groups.xack(c);
      case "XPENDING":
        return groups.xpending(c);
      case "XCLAIM":
        return groups.xclaim(c);
      case "XAUTOCLAIM":
        return groups.xautoclaim(c);
      case "XINFO":
        return xinfo(c);
      default:
        throw new RespError(unknown(c));
    }
  }

  // ---- connection

  private Reply auth(RespCommand c) {
    arity(c, 2, 3);
    authenticate(c.arity() == 3 ? c.argString(1) : null, c.argString(c.arity() - 1));
    return Reply.ok();
  }

  private void authenticate(String user, String token) {
    Optional<Principal> found = endpoint.authenticator.authenticate(token);
    if (found.isEmpty() || (user != null && !user.equals("default") && !user.equals(found.get().name()))) {
      log.info("RESP client {} from {} failed to authenticate", id, remote);
      throw new RespError("WRONGPASS invalid username-password pair or user is disabled.");
    }
    principal = found.get();
  }

  private Reply hello(RespCommand c) {
    int version = protocol;
    int i = 1;
    if (c.arity() > 1) {
      long asked;
      try {
        asked = c.argLong(1);
      } catch (RespError e) {
        throw new RespError("ERR Protocol version is not an integer or out of range");
      }
      if (asked != 2 && asked != 3) {
        throw new RespError("NOPROTO unsupported protocol version");
      }
      version = (int) asked;
      i = 2;
    }
    String setName = null;
    while (i < c.arity()) {
      String option = upper(c, i);
      if (option.equals("AUTH") && i + 2 < c.arity()) {
        authenticate(c.argString(i + 1), c.argString(i + 2));
        i += 3;
      } else if (option.equals("SETNAME") && i + 1 < c.arity()) {
        setName = checkedName(c.argString(i + 1));
        i += 2;
      } else {
        throw new RespError("ERR Syntax error in HELLO option '" + printable(c.argString(i)) + "'");
      }
    }
    if (principal == null) {
      throw new RespError("NOAUTH HELLO must be called with the client already authenticated, otherwise the"
          + " HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the"
          + " RESP protocol version at the same time");
    }
    if (setName != null) {
      clientName = setName;
    }
    protocol = version;
    return Reply.map(Reply.bulk("server"), Reply.bulk("redis"), Reply.bulk("version"), Reply.bulk(REDIS_VERSION),
        Reply.bulk("proto"), Reply.integer(version), Reply.bulk("id"), Reply.integer(id),
        Reply.bulk("mode"), Reply.bulk("standalone"), Reply.bulk("role"), Reply.bulk("master"),
        Reply.bulk("modules"), Reply.array());
  }

  private Reply ping(RespCommand c) {
    arity(c, 1, 2);
    return c.arity() == 2 ? Reply.bulk(c.arg(1)) : Reply.simple("PONG");
  }

  private Reply client(RespCommand c) {
    arity(c, 2, Integer.MAX_VALUE);
    switch (upper(c, 1)) {
      case "ID":
        return Reply.integer(id);
      case "SETNAME":
        arity(c, 3, 3);
        clientName = checkedName(c.argString(2));
        return Reply.ok();
      case "GETNAME":
        return clientName.isEmpty() ? Reply.nil() : Reply.bulk(clientName);
      case "SETINFO":
        arity(c, 4, 4);
        String attribute = upper(c, 2);
        if (!attribute.equals("LIB-NAME") && !attribute.equals("LIB-VER")) {
          throw new RespError("ERR Unrecognized option '" + printable(c.argString(2)) + "'");
        }
        return Reply.ok();
      case "INFO":
        return Reply.verbatim(clientLine() + "\n");
      default:
        throw new RespError("ERR unknown subcommand '" + printable(c.argString(1))
            + "'. Try CLIENT HELP. (Spool answers CLIENT ID, SETNAME, GETNAME, SETINFO and INFO.)");
    }
  }

  private String clientLine() {
    return "id=" + id + " addr=" + remote + " name=" + clientName + " db=0 resp=" + protocol
        + " user=" + (principal == null ? "" : principal.name());
  }

  private static String checkedName(String name) {
    for (int i = 0; i < name.length(); i++) {
      char ch = name.charAt(i);
      if (ch < '!' || ch > '~') {
        throw new RespError("ERR Client names cannot contain spaces, newlines or special characters.");
      }
    }
    return name;
  }

  private CompletionStage<Reply> info(RespCommand c) {
    Set<String> sections = new java.util.HashSet<>();
    for (int i = 1; i < c.arity(); i++) {
      sections.add(c.argString(i).toLowerCase(Locale.ROOT));
    }
    boolean all = sections.isEmpty() || sections.contains("all") || sections.contains("everything")
        || sections.contains("default");
    StringBuilder out = new StringBuilder();
    if (all || sections.contains("server")) {
      out.append("# Server\r\n")
          .append("redis_version:").append(REDIS_VERSION).append("\r\n")
          .append("spool_version:").append(Spool.version()).append("\r\n")
          .append("redis_mode:standalone\r\n")
          .append("process_id:").append(ProcessHandle.current().pid()).append("\r\n")
          .append("tcp_port:").append(endpoint.port).append("\r\n")
          .append("uptime_in_seconds:").append((System.currentTimeMillis() - endpoint.startedAt) / 1000).append("\r\n")
          .append("\r\n");
    }
    if (all || sections.contains("clients")) {
      out.append("# Clients\r\n")
          .append("connected_clients:").append(endpoint.connections.get()).append("\r\n")
          .append("maxclients:").append(endpoint.settings.maxConnections()).append("\r\n\r\n");
    }
    if (all || sections.contains("stats")) {
      out.append("# Stats\r\n")
          .append("total_connections_received:").append(endpoint.connectionsAccepted.get()).append("\r\n")
          .append("rejected_connections:").append(endpoint.connectionsRefused.get()).append("\r\n")
          .append("total_commands_processed:").append(endpoint.commands.get()).append("\r\n")
          .append("total_error_replies:").append(endpoint.errors.get()).append("\r\n\r\n");
    }
    if (!(all || sections.contains("spool") || sections.contains("keyspace"))) {
      return done(Reply.verbatim(out.toString()));
    }
    return spool.listQueues().thenCombine(spool.memoryStats(), (queues, memory) -> {
      long depth = queues.stream().mapToLong(q -> q.stats().depth()).sum();
      long dead = queues.stream().mapToLong(q -> q.stats().deadLettered()).sum();
      long expired = queues.stream().mapToLong(q -> q.stats().expired()).sum();
      if (all || sections.contains("spool")) {
        out.append("# Spool\r\n")
            .append("streams:").append(queues.size()).append("\r\n")
            .append("entries:").append(depth).append("\r\n")
            .append("dead_lettered:").append(dead).append("\r\n")
            .append("expired:").append(expired).append("\r\n")
            .append("memory_used_bytes:").append(memory.totalBytes()).append("\r\n")
            .append("new_stream_durability:")
            .append(endpoint.settings.newStreamDurability().name().toLowerCase(Locale.ROOT)).append("\r\n\r\n");
      }
      if (all || sections.contains("keyspace")) {
        out.append("# Keyspace\r\n");
        if (!queues.isEmpty()) {
          out.append("db0:keys=").append(queues.size()).append(",expires=0,avg_ttl=0\r\n");
        }
        out.append("\r\n");
      }
      return Reply.verbatim(out.toString());
    });
  }

  private Reply command(RespCommand c) {
    if (c.arity() == 1) {
      List<Reply> all = new ArrayList<>();
      for (CommandTable.Spec spec : CommandTable.ALL) {
        all.add(spec.reply());
      }
      return Reply.array(all);
    }
    switch (upper(c, 1)) {
      case "COUNT":
        return Reply.integer(CommandTable.ALL.size());
      case "INFO": {
        List<Reply> out = new ArrayList<>();
        for (int i = 2; i < c.arity(); i++) {
          out.add(CommandTable.find(c.argString(i)).map(CommandTable.Spec::reply).orElse(Reply.nil()));
        }
        return Reply.array(out);
      }
      case "DOCS":
        // Documentation is Redis's own; clients that ask for hints (redis-cli) do without.
        return Reply.map();
      default:
        throw new RespError("ERR unknown subcommand '" + printable(c.argString(1))
            + "'. Spool answers COMMAND, COMMAND COUNT, COMMAND INFO and COMMAND DOCS.");
    }
  }

  private Reply config(RespCommand c) {
    arity(c, 2, Integer.MAX_VALUE);
    if (upper(c, 1).equals("GET")) {
      // Tools read a few settings before a run (redis-benchmark: save, appendonly); Spool has none of
      // Redis's settings, and says so with an empty answer rather than a failure.
      return protocol == 3 ? Reply.map() : Reply.array();
    }
    throw new RespError("ERR Spool is configured through its own settings (application.conf), not CONFIG "
        + printable(c.argString(1)));
  }

  private CompletionStage<Reply> xinfo(RespCommand c) {
    arity(c, 2, Integer.MAX_VALUE);
    switch (upper(c, 1)) {
      case "STREAM":
        return streams.xinfoStream(c);
      case "GROUPS":
        return groups.xinfoGroups(c);
      case "CONSUMERS":
        return groups.xinfoConsumers(c);
      case "HELP":
        return done(Reply.array(Reply.simple("XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"),
            Reply.simple("CONSUMERS <key> <groupname>"), Reply.simple("GROUPS <key>"),
            Reply.simple("STREAM <key> [FULL [COUNT <count>]]")));
      default:
        throw new RespError("ERR unknown subcommand '" + printable(c.argString(1)) + "'. Try XINFO HELP.");
    }
  }

  // ---- shared by the command classes

  int protocol() {
    return protocol;
  }

  /** Fails with NOPERM unless the token may do {@code access}. */
  void require(Access access, String what) {
    if (!principal.may(access)) {
      throw new RespError("NOPERM this token may not " + what);
    }
  }

  boolean may(Access access) {
    return principal.may(access);
  }

  /** Notes that this connection has published to {@code stream}: its next publishes may overlap. */
  void published(String stream) {
    if (published.size() < 1024) {
      published.add(stream);
    }
  }

  static CompletionStage<Reply> done(Reply reply) {
    return CompletableFuture.completedFuture(reply);
  }

  static String upper(RespCommand c, int i) {
    return c.argString(i).toUpperCase(Locale.ROOT);
  }

  /** Fails with Redis's arity error unless the command has from {@code min} to {@code max} arguments. */
  static void arity(RespCommand c, int min, int max) {
    if (c.arity() < min || c.arity() > max) {
      throw wrongArity(c);
    }
  }

  static RespError wrongArity(RespCommand c) {
    return new RespError("ERR wrong number of arguments for '" + printable(c.argString(0).toLowerCase(Locale.ROOT))
        + "' command");
  }

  static RespError syntax() {
    return new RespError("ERR syntax error");
  }

  /** A client-supplied text made safe and short for an error line. */
  static String printable(String s) {
    String cut = s.length() > 64 ? s.substring(0, 64) + "..." : s;
    StringBuilder out = new StringBuilder(cut.length());
    for (int i = 0; i < cut.length(); i++) {
      char ch = cut.charAt(i);
      out.append(ch < ' ' || ch == 0x7f ? '?' : ch);
    }
    return out.toString();
  }

  private static String unknown(RespCommand c) {
    StringBuilder out = new StringBuilder("ERR unknown command '").append(printable(c.argString(0)))
        .append("', with args beginning with: ");
    for (int i = 1; i < Math.min(c.arity(), 4); i++) {
      out.append('\'').append(printable(c.argString(i))).append("' ");
    }
    return out.append("(Spool speaks the Redis Streams commands)").toString();
  }

  /** The reply for a failed command. */
  Reply errorReply(String command, Throwable failure) {
    Throwable cause = failure;
    while ((cause instanceof CompletionException || cause instanceof java.util.concurrent.ExecutionException)
        && cause.getCause() != null) {
      cause = cause.getCause();
    }
    if (cause instanceof RespError) {
      return ((RespError) cause).reply();
    }
    if (cause instanceof SpoolException.QueueFull) {
      return Reply.error("OOM " + cause.getMessage());
    }
    if (cause instanceof SpoolException) {
      return Reply.error("ERR " + cause.getMessage());
    }
    log.warn("RESP command {} of client {} failed", command, id, cause);
    return Reply.error("ERR internal error: " + cause.getClass().getSimpleName());
  }

  static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
