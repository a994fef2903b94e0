package dev.spool.redis;

import static dev.spool.redis.Session.arity;
import static dev.spool.redis.Session.done;
import static dev.spool.redis.Session.printable;
import static dev.spool.redis.Session.syntax;
import static dev.spool.redis.Session.upper;
import static dev.spool.redis.Session.wrongArity;

import dev.spool.Message;
import dev.spool.Names;
import dev.spool.QueueInfo;
import dev.spool.QueuePublisher;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import dev.spool.SpoolException;
import dev.spool.http.Access;
import dev.spool.redis.resp.Reply;
import dev.spool.redis.resp.RespCommand;
import dev.spool.redis.resp.RespError;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;

/** The stream commands that need no consumer group: adding, reading, trimming and deleting entries. */
final class StreamCommands {

  /** Messages one engine browse returns at most: long ranges are read in pages of this many. */
  static final int PAGE = 1000;

  /**
   * The producer id of every entry added over RESP. The engine only stores and shows it (the
   * console, traces); deduplication goes by message id. One publish carries one producer id, and
   * a stream's appender publishes many connections' adds together, so it names the endpoint rather
   * than a connection; and consecutive entries alike in all but their payload share one envelope in
   * memory, which one id per connection would split between connections.
   */
  static final String PRODUCER = "redis";

  private final Session session;
  private final Spool spool;
  private final Map<String, QueuePublisher> publishers = new ConcurrentHashMap<>();

  StreamCommands(Session session) {
    this.session = session;
    this.spool = session.spool;
  }

  // ---- XADD

  /** A trimming rule: keep at most {@code maxLength} entries, or none below {@code minSequence}. */
  record Trim(long maxLength, long minSequence) {

    /** Parses {@code MAXLEN|MINID [=|~] threshold [LIMIT count]} from {@code i}; the index after it. */
    static int parse(RespCommand c, int i, Trim[] out) {
      String strategy = upper(c, i);
      i++;
      if (i >= c.arity()) {
        throw syntax();
      }
      boolean approximate = false;
      String op = c.argString(i);
      if (op.equals("=") || op.equals("~")) {
        approximate = op.equals("~");
        i++;
        if (i >= c.arity()) {
          throw syntax();
        }
      }
      if (strategy.equals("MAXLEN")) {
        long max;
        try {
          max = c.argLong(i);
        } catch (RespError e) {
          throw new RespError("ERR value is not an integer or out of range");
        }
        if (max < 0) {
          throw new RespError("ERR The MAXLEN argument must be >= 0.");
        }
        out[0] = new Trim(max, -1);
      } else {
        out[0] = new Trim(-1, EntryIds.parse(c.argString(i)).firstAtOrAfter());
      }
      i++;
      if (i + 1 < c.arity() && upper(c, i).equals("LIMIT")) {
        long limit = c.argLong(i + 1);
        if (limit < 0) {
          throw new RespError("ERR The LIMIT argument must be >= 0.");
        }
        if (!approximate) {
          throw new RespError("ERR syntax error, LIMIT cannot be used without the special ~ option");
        }
        // Spool trims exactly, in one step: a limit on the work of an approximate trim has nothing to bound.
        i += 2;
      }
      return i;
    }

    CompletionStage<Long> apply(Spool spool, String stream) {
      return maxLength >= 0 ? spool.trim(stream, maxLength) : spool.trimBelow(stream, minSequence);
    }
  }

  CompletionStage<Reply> xadd(RespCommand c) {
    if (Session.isPlainAdd(c)) {
      return xaddAll(streamName(c, 1), List.of(c)).thenApply(replies -> replies.get(0));
    }
    if (c.arity() < 5) {
      throw wrongArity(c);
    }
    String stream = streamName(c, 1);
    boolean create = true;
    Trim[] trim = new Trim[1];
    int i = 2;
    while (i < c.arity()) {
      String option = upper(c, i);
      if (option.equals("NOMKSTREAM")) {
        create = false;
        i++;
      } else if (option.equals("MAXLEN") || option.equals("MINID")) {
        i = Trim.parse(c, i, trim);
      } else {
        break;
      }
    }
    if (i >= c.arity()) {
      throw syntax();
    }
    String idText = c.argString(i++);
    int fieldCount = c.arity() - i;
    if (fieldCount < 2 || fieldCount % 2 != 0) {
      throw wrongArity(c);
    }
    EntryIds.Id explicit = null;
    if (!idText.equals("*")) {
      String ms = idText.endsWith("-*") ? idText.substring(0, idText.length() - 2) : idText;
      explicit = EntryIds.parse(ms);
      if (explicit.ms() == 0 && explicit.seq() <= 0) {
        throw new RespError("ERR The ID specified in XADD must be greater than 0-0");
      }
    }
    session.require(Access.publish(stream), "add entries to '" + stream + "'");
    Message message = Entries.toMessage(c.args().subList(i, c.arity()));
    boolean mayCreate = create;
    EntryIds.Id id = explicit;
    CompletionStage<Void> checked = id == null ? CompletableFuture.completedFuture(null)
        : spool.queueStats(stream).handle((stats, failure) -> {
          long last = failure == null ? stats.lastSequence() : 0;
          if (id.ms() < last || (id.ms() == last && id.seq() <= 0)) {
            throw new RespError("ERR The ID specified in XADD is equal or smaller than the target stream top item");
          }
          return null;
        });
    return checked.thenCompose(x -> publish(stream, message, mayCreate)).thenCompose(sequence -> {
      if (sequence < 0) {
        return done(Reply.nil());
      }
      session.endpoint.wakeups.signal(stream);
      session.published(stream);
      Reply reply = Reply.bulk(EntryIds.of(sequence));
      return trim[0] == null ? done(reply) : trim[0].apply(spool, stream).thenApply(n -> reply);
    });
  }

  /**
   * Plain adds ({@code XADD stream * field value …}) read together, handed to the stream's
   * {@link StreamAppender}, which publishes them with other connections' adds: each gets its own
   * reply (an entry refused for its fields gets its error; the others go on).
   */
  CompletionStage<List<Reply>> xaddAll(String stream, List<RespCommand> commands) {
    streamName(commands.get(0), 1);
    session.require(Access.publish(stream), "add entries to '" + stream + "'");
    Reply[] replies = new Reply[commands.size()];
    List<Message> messages = new ArrayList<>(commands.size());
    List<Integer> positions = new ArrayList<>(commands.size());
    for (int i = 0; i < commands.size(); i++) {
      RespCommand c = commands.get(i);
      try {
        messages.add(Entries.toMessage(c.args().subList(3, c.arity())));
        positions.add(i);
      } catch (RespError e) {
        replies[i] = e.reply();
      }
    }
    if (messages.isEmpty()) {
      return CompletableFuture.completedFuture(List.of(replies));
    }
    boolean mayCreate = session.may(Access.ADMIN);
    List<CompletableFuture<Long>> sequences = session.endpoint.appenders.offer(stream, messages,
        mayCreate ? () -> createStream(stream) : null);
    List<CompletableFuture<Reply>> added = new ArrayList<>(sequences.size());
    for (CompletableFuture<Long> sequence : sequences) {
      added.add(sequence.handle((s, failure) -> failure == null ? Reply.bulk(EntryIds.of(s))
          : !mayCreate && unwrap(failure) instanceof SpoolException.QueueNotFound ? mayNotCreate(stream).reply()
          : session.errorReply("XADD", failure)));
    }
    return CompletableFuture.allOf(added.toArray(CompletableFuture[]::new)).thenApply(x -> {
      if (sequences.stream().anyMatch(s -> !s.isCompletedExceptionally())) {
        session.endpoint.wakeups.signal(stream);
        session.published(stream);
      }
      for (int k = 0; k < added.size(); k++) {
        replies[positions.get(k)] = added.get(k).getNow(null);
      }
      return List.of(replies);
    });
  }

  /** Publishes, creating the stream if allowed; -1 when it does not exist and may not be created. */
  private CompletionStage<Long> publish(String stream, Message message, boolean create) {
    return publisher(stream).publish(message).handle((sequence, failure) -> {
      if (failure == null) {
        return CompletableFuture.completedFuture(sequence);
      }
      if (!(unwrap(failure) instanceof SpoolException.QueueNotFound)) {
        return CompletableFuture.<Long>failedFuture(failure);
      }
      if (!create) {
        return CompletableFuture.completedFuture(-1L);
      }
      return createStream(stream).thenCompose(created -> publisher(stream).publish(message));
    }).thenCompose(s -> s);
  }

  /** Creates {@code stream} as a queue of the endpoint's new-stream durability (admins only). */
  CompletionStage<QueueInfo> createStream(String stream) {
    if (!session.may(Access.ADMIN)) {
      throw mayNotCreate(stream);
    }
    return spool.declareQueue(stream,
        QueueSettings.defaults().withDurability(session.endpoint.settings.newStreamDurability())
            .withRetention(session.endpoint.settings.newStreamRetention()))
        .thenApply(created -> created.value());
  }

  private static RespError mayNotCreate(String stream) {
    return new RespError("NOPERM this token may not create streams: '" + printable(stream)
        + "' does not exist (creating a stream needs the admin role)");
  }

  private QueuePublisher publisher(String stream) {
    QueuePublisher publisher = publishers.get(stream);
    if (publisher == null) {
      if (publishers.size() >= 64) {
        publishers.clear();
      }
      publisher = spool.createPublisher(stream, PRODUCER);
      publishers.put(stream, publisher);
    }
    return publisher;
  }

  // ---- reading

  CompletionStage<Reply> xlen(RespCommand c) {
    arity(c, 2, 2);
    String stream = streamName(c, 1);
    session.require(Access.viewQueue(stream), "read '" + stream + "'");
    return orMissing(spool.queueStats(stream).thenApply(s -> Reply.integer(s.depth())), Reply.integer(0));
  }

  CompletionStage<Reply> xrange(RespCommand c, boolean reverse) {
    if (c.arity() != 4 && c.arity() != 6) {
      throw c.arity() < 4 ? wrongArity(c) : syntax();
    }
    String stream = streamName(c, 1);
    long from = EntryIds.rangeStart(c.argString(reverse ? 3 : 2));
    long to = EntryIds.rangeEnd(c.argString(reverse ? 2 : 3));
    long count = Long.MAX_VALUE;
    if (c.arity() == 6) {
      if (!upper(c, 4).equals("COUNT")) {
        throw syntax();
      }
      count = Math.max(0, c.argLong(5));
    }
    session.require(Access.viewQueue(stream), "read '" + stream + "'");
    if (count == 0 || from > to) {
      return done(Reply.array());
    }
    CompletionStage<Range> read = reverse ? readBackward(stream, from, to, count)
        : readForward(stream, from, to, count);
    return orMissing(read.thenApply(range -> {
      if (range.cut()) {
        // A range cut short would look complete to the client: it asks again in pages instead.
        throw new RespError("ERR the reply would pass spool.redis.max-reply-bytes ("
            + session.endpoint.settings.maxReplyBytes() + " bytes) after " + range.messages().size()
            + " entries: read the range in pages with COUNT");
      }
      return entries(range.messages());
    }), Reply.array());
  }

  /**
   * Entries read for one reply, and whether the reply's byte budget ({@code max-reply-bytes}) cut
   * them short of what was asked: the first entry always comes, whatever its size.
   */
  record Range(List<Message> messages, boolean cut) {}

  /** Entries from {@code from} to {@code to}, at most {@code count}, oldest first. */
  CompletionStage<Range> readForward(String stream, long from, long to, long count) {
    return forward(stream, Math.max(1, from), to, count, new ArrayList<>(), new long[1]);
  }

  private boolean fits(List<Message> out, long[] bytes, Message m) {
    bytes[0] += m.sizeBytes();
    return out.isEmpty() || bytes[0] <= session.endpoint.settings.maxReplyBytes();
  }

  private CompletionStage<Range> forward(String stream, long from, long to, long count, List<Message> out,
      long[] bytes) {
    int page = (int) Math.min(PAGE, count - out.size());
    return spool.browse(stream, from, page).thenCompose(messages -> {
      long next = from;
      for (Message m : messages) {
        if (m.sequence() > to || out.size() >= count) {
          return CompletableFuture.completedFuture(new Range(out, false));
        }
        if (!fits(out, bytes, m)) {
          return CompletableFuture.completedFuture(new Range(out, true));
        }
        out.add(m);
        next = m.sequence() + 1;
      }
      if (messages.size() < page || out.size() >= count || next > to) {
        return CompletableFuture.completedFuture(new Range(out, false));
      }
      return forward(stream, next, to, count, out, bytes);
    });
  }

  /** Entries from {@code to} down to {@code from}, at most {@code count}, newest first. */
  CompletionStage<Range> readBackward(String stream, long from, long to, long count) {
    return spool.queueStats(stream).thenCompose(stats -> {
      long hi = Math.min(to, stats.lastSequence());
      long lo = Math.max(Math.max(1, from), stats.firstSequence());
      return backward(stream, lo, hi, count, new ArrayList<>(), new long[1]);
    });
  }

  private CompletionStage<Range> backward(String stream, long lo, long hi, long count, List<Message> out,
      long[] bytes) {
    if (hi < lo || out.size() >= count) {
      return CompletableFuture.completedFuture(new Range(out, false));
    }
    long start = Math.max(lo, hi - Math.min(PAGE, count - out.size()) + 1);
    return spool.browse(stream, start, (int) (hi - start + 1)).thenCompose(messages -> {
      List<Message> window = new ArrayList<>();
      for (Message m : messages) {
        if (m.sequence() >= start && m.sequence() <= hi) {
          window.add(m);
        }
      }
      Collections.reverse(window);
      for (Message m : window) {
        if (out.size() >= count) {
          break;
        }
        if (!fits(out, bytes, m)) {
          return CompletableFuture.completedFuture(new Range(out, true));
        }
        out.add(m);
      }
      return backward(stream, lo, start - 1, count, out, bytes);
    });
  }

  CompletionStage<Reply> xread(RespCommand c) {
    long count = PAGE;
    long block = -1;
    int i = 1;
    while (i < c.arity()) {
      String option = upper(c, i);
      if (option.equals("COUNT") && i + 1 < c.arity()) {
        long asked = c.argLong(i + 1);
        count = asked <= 0 ? PAGE : Math.min(asked, PAGE * 10L);
        i += 2;
      } else if (option.equals("BLOCK") && i + 1 < c.arity()) {
        block = blockMillis(c, i + 1);
        i += 2;
      } else if (option.equals("STREAMS")) {
        i++;
        break;
      } else {
        throw syntax();
      }
    }
    int rest = c.arity() - i;
    if (rest <= 0 || i > c.arity() || !upper(c, i - 1).equals("STREAMS")) {
      throw rest <= 0 && i <= c.arity() && upper(c, i - 1).equals("STREAMS") ? wrongArity(c) : syntax();
    }
    if (rest % 2 != 0) {
      throw new RespError("ERR Unbalanced 'xread' list of streams: for each stream key an ID or '$' must be"
          + " specified.");
    }
    int n = rest / 2;
    List<String> streams = new ArrayList<>(n);
    List<String> ids = new ArrayList<>(n);
    for (int k = 0; k < n; k++) {
      String stream = streamName(c, i + k);
      session.require(Access.viewQueue(stream), "read '" + stream + "'");
      streams.add(stream);
      ids.add(c.argString(i + n + k));
    }
    long max = count;
    boolean blocking = block >= 0;
    long deadline = block < 0 ? -1 : block == 0 ? Long.MAX_VALUE : System.currentTimeMillis() + block;
    return resolveAfter(streams, ids).thenCompose(after -> readLoop(streams, after, max, deadline, blocking));
  }

  /** The sequence each stream is read after: an id as given, {@code $} the last now, {@code +} before the last. */
  private CompletionStage<long[]> resolveAfter(List<String> streams, List<String> ids) {
    long[] after = new long[streams.size()];
    List<CompletableFuture<?>> lookups = new ArrayList<>();
    for (int k = 0; k < streams.size(); k++) {
      String id = ids.get(k);
      int index = k;
      if (id.equals("$") || id.equals("+")) {
        boolean last = id.equals("+");
        lookups.add(spool.queueStats(streams.get(k)).handle((stats, failure) -> {
          long top = failure == null ? stats.lastSequence() : 0;
          after[index] = last ? Math.max(0, top - 1) : top;
          return null;
        }).toCompletableFuture());
      } else {
        EntryIds.Id parsed = EntryIds.parse(id);
        after[k] = parsed.firstAfter() - 1;
      }
    }
    return CompletableFuture.allOf(lookups.toArray(CompletableFuture[]::new)).thenApply(x -> after);
  }

  private CompletionStage<Reply> readLoop(List<String> streams, long[] after, long count, long deadline,
      boolean blocking) {
    List<CompletableFuture<List<Message>>> reads = new ArrayList<>();
    for (int k = 0; k < streams.size(); k++) {
      // XREAD gives at most COUNT entries anyway: one cut by the byte budget is read on from its last id.
      reads.add(orMissing(readForward(streams.get(k), after[k] + 1, Long.MAX_VALUE, count)
          .thenApply(Range::messages), List.<Message>of()).toCompletableFuture());
    }
    return CompletableFuture.allOf(reads.toArray(CompletableFuture[]::new)).thenCompose(x -> {
      List<Reply> keys = new ArrayList<>();
      List<Reply> values = new ArrayList<>();
      for (int k = 0; k < streams.size(); k++) {
        List<Message> got = reads.get(k).join();
        if (!got.isEmpty()) {
          keys.add(Reply.bulk(streams.get(k)));
          values.add(entries(got));
        }
      }
      if (!keys.isEmpty()) {
        return done(keyed(keys, values));
      }
      long now = System.currentTimeMillis();
      if (!blocking || now >= deadline) {
        return done(Reply.nilArray());
      }
      return session.endpoint.wakeups.next(streams, Duration.ofMillis(deadline - now))
          .thenCompose(woken -> readLoop(streams, after, count, deadline, true));
    });
  }

  /** Per-stream results: a map in RESP3, an array of [key, value] pairs in RESP2, as Redis answers. */
  Reply keyed(List<Reply> keys, List<Reply> values) {
    List<Reply> out = new ArrayList<>();
    if (session.protocol() == 3) {
      for (int k = 0; k < keys.size(); k++) {
        out.add(keys.get(k));
        out.add(values.get(k));
      }
      return Reply.map(out.toArray(Reply[]::new));
    }
    for (int k = 0; k < keys.size(); k++) {
      out.add(Reply.array(keys.get(k), values.get(k)));
    }
    return Reply.array(out);
  }

  static long blockMillis(RespCommand c, int i) {
    long block;
    try {
      block = c.argLong(i);
    } catch (RespError e) {
      throw new RespError("ERR timeout is not an integer or out of range");
    }
    if (block < 0) {
      throw new RespError("ERR timeout is negative");
    }
    return block;
  }

  // ---- trimming and deleting

  CompletionStage<Reply> xtrim(RespCommand c) {
    if (c.arity() < 4) {
      throw wrongArity(c);
    }
    String stream = streamName(c, 1);
    String strategy = upper(c, 2);
    if (!strategy.equals("MAXLEN") && !strategy.equals("MINID")) {
      throw syntax();
    }
    Trim[] trim = new Trim[1];
    int end = Trim.parse(c, 2, trim);
    if (end != c.arity()) {
      throw syntax();
    }
    session.require(Access.publish(stream), "trim '" + stream + "'");
    return orMissing(trim[0].apply(spool, stream).thenApply(Reply::integer), Reply.integer(0));
  }

  CompletionStage<Reply> xdel(RespCommand c) {
    if (c.arity() < 3) {
      throw wrongArity(c);
    }
    String stream = streamName(c, 1);
    List<Long> sequences = EntryIds.exactSequences(c, 2);
    session.require(Access.publish(stream), "delete entries of '" + stream + "'");
    if (sequences.isEmpty()) {
      return done(Reply.integer(0));
    }
    return orMissing(spool.deleteMessages(stream, sequences).thenApply(Reply::integer), Reply.integer(0));
  }

  CompletionStage<Reply> del(RespCommand c) {
    if (c.arity() < 2) {
      throw wrongArity(c);
    }
    session.require(Access.ADMIN, "delete streams (that needs the admin role)");
    List<CompletableFuture<Integer>> deletes = new ArrayList<>();
    for (int i = 1; i < c.arity(); i++) {
      String stream = c.argString(i);
      if (!validName(stream)) {
        deletes.add(CompletableFuture.completedFuture(0));
        continue;
      }
      deletes.add(spool.deleteQueue(stream).handle((d, failure) -> {
        if (failure == null) {
          session.endpoint.groups.tell(new ConsumerGroups.Drop(stream, null));
          session.endpoint.appenders.forget(stream);
          return 1;
        }
        if (unwrap(failure) instanceof SpoolException.QueueNotFound) {
          return 0;
        }
        throw new CompletionException(failure);
      }).toCompletableFuture());
    }
    return CompletableFuture.allOf(deletes.toArray(CompletableFuture[]::new))
        .thenApply(x -> Reply.integer(deletes.stream().mapToInt(CompletableFuture::join).sum()));
  }

  CompletionStage<Reply> exists(RespCommand c) {
    if (c.arity() < 2) {
      throw wrongArity(c);
    }
    List<CompletableFuture<Integer>> checks = new ArrayList<>();
    for (int i = 1; i < c.arity(); i++) {
      String stream = c.argString(i);
      if (!validName(stream)) {
        checks.add(CompletableFuture.completedFuture(0));
        continue;
      }
      session.require(Access.viewQueue(stream), "read '" + stream + "'");
      checks.add(existing(stream).thenApply(found -> found ? 1 : 0).toCompletableFuture());
    }
    return CompletableFuture.allOf(checks.toArray(CompletableFuture[]::new))
        .thenApply(x -> Reply.integer(checks.stream().mapToInt(CompletableFuture::join).sum()));
  }

  CompletionStage<Reply> type(RespCommand c) {
    arity(c, 2, 2);
    String stream = c.argString(1);
    if (!validName(stream)) {
      return done(Reply.simple("none"));
    }
    session.require(Access.viewQueue(stream), "read '" + stream + "'");
    return existing(stream).thenApply(found -> Reply.simple(found ? "stream" : "none"));
  }

  private CompletionStage<Boolean> existing(String stream) {
    return spool.queueStats(stream).handle((s, failure) -> {
      if (failure == null) {
        return true;
      }
      if (unwrap(failure) instanceof SpoolException.QueueNotFound) {
        return false;
      }
      throw new CompletionException(failure);
    });
  }

  // ---- XINFO STREAM

  CompletionStage<Reply> xinfoStream(RespCommand c) {
    if (c.arity() > 3 && upper(c, 3).equals("FULL")) {
      throw new RespError("ERR Spool answers XINFO STREAM without FULL: XINFO GROUPS, XINFO CONSUMERS and XPENDING"
          + " give the groups, consumers and pending entries");
    }
    arity(c, 3, 3);
    String stream = streamName(c, 2);
    session.require(Access.viewQueue(stream), "read '" + stream + "'");
    CompletionStage<QueueInfo> info = spool.queueInfo(stream).handle((q, failure) -> {
      if (failure != null && unwrap(failure) instanceof SpoolException.QueueNotFound) {
        throw new RespError("ERR no such key");
      }
      if (failure != null) {
        throw new CompletionException(failure);
      }
      return q;
    });
    return info.thenCompose(q -> {
      var stats = q.stats();
      CompletionStage<List<Message>> first = readForward(stream, stats.firstSequence(), Long.MAX_VALUE, 1)
          .thenApply(Range::messages);
      CompletionStage<List<Message>> last = readBackward(stream, 1, Long.MAX_VALUE, 1).thenApply(Range::messages);
      return first.thenCombine(last, (f, l) -> {
        QueueSettings.DeadLetter dead = q.settings().deadLetter();
        return Reply.map(
            Reply.bulk("length"), Reply.integer(stats.depth()),
            Reply.bulk("radix-tree-keys"), Reply.integer(0),
            Reply.bulk("radix-tree-nodes"), Reply.integer(0),
            Reply.bulk("last-generated-id"), Reply.bulk(EntryIds.of(stats.lastSequence())),
            Reply.bulk("max-deleted-entry-id"), Reply.bulk("0-0"),
            Reply.bulk("entries-added"), Reply.integer(stats.lastSequence()),
            Reply.bulk("recorded-first-entry-id"),
            Reply.bulk(EntryIds.of(f.isEmpty() ? 0 : f.get(0).sequence())),
            Reply.bulk("groups"), Reply.integer(stats.consumers()),
            Reply.bulk("first-entry"), f.isEmpty() ? Reply.nil() : entry(f.get(0)),
            Reply.bulk("last-entry"), l.isEmpty() ? Reply.nil() : entry(l.get(0)),
            Reply.bulk("spool-durability"), Reply.bulk(q.settings().durability().name().toLowerCase()),
            Reply.bulk("spool-bytes"), Reply.integer(stats.bytes()),
            Reply.bulk("spool-expired"), Reply.integer(stats.expired()),
            Reply.bulk("spool-dropped"), Reply.integer(stats.dropped()),
            Reply.bulk("spool-dead-lettered"), Reply.integer(stats.deadLettered()),
            Reply.bulk("spool-dead-letter-queue"), dead == null || dead.queue() == null || dead.queue().isBlank() ? Reply.nil()
                : Reply.bulk(dead.queue()));
      });
    });
  }

  // ---- shared

  Reply entry(Message m) {
    List<Reply> fields = new ArrayList<>();
    for (byte[] f : Entries.fields(m)) {
      fields.add(Reply.bulk(f));
    }
    return Reply.array(Reply.bulk(EntryIds.of(m.sequence())), Reply.array(fields));
  }

  Reply entries(List<Message> messages) {
    List<Reply> out = new ArrayList<>(messages.size());
    for (Message m : messages) {
      out.add(entry(m));
    }
    return Reply.array(out);
  }

  /** Argument {@code i} as a stream name, which must be a valid Spool queue name. */
  static String streamName(RespCommand c, int i) {
    String name = c.argString(i);
    if (!validName(name)) {
      throw new RespError("ERR invalid stream name '" + printable(name)
          + "': Spool streams are queues, named with 1 to 128 of A-Z, a-z, 0-9, '.', '_' or '-'");
    }
    return name;
  }

  static boolean validName(String name) {
    try {
      Names.requireValid("stream", name);
      return true;
    } catch (SpoolException e) {
      return false;
    }
  }

  /** {@code stage}, or {@code otherwise} when the stream does not exist. */
  static <T> CompletionStage<T> orMissing(CompletionStage<T> stage, T otherwise) {
    return stage.handle((value, failure) -> {
      if (failure == null) {
        return value;
      }
      if (unwrap(failure) instanceof SpoolException.QueueNotFound) {
        return otherwise;
      }
      throw failure instanceof CompletionException ? (CompletionException) failure : new CompletionException(failure);
    });
  }

  static Throwable unwrap(Throwable t) {
    while (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

}
