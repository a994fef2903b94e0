package dev.spool.redis;

import static dev.spool.redis.Session.arity;
import static dev.spool.redis.Session.done;
import static dev.spool.redis.Session.printable;
import static dev.spool.redis.Session.syntax;
import static dev.spool.redis.Session.upper;
import static dev.spool.redis.Session.wrongArity;
import static dev.spool.redis.StreamCommands.streamName;
import static dev.spool.redis.StreamCommands.unwrap;

import dev.spool.ConsumerInfo;
import dev.spool.ConsumerSettings;
import dev.spool.Delivery;
import dev.spool.Limits;
import dev.spool.Message;
import dev.spool.Names;
import dev.spool.QueueConsumer;
import dev.spool.QueueSettings;
import dev.spool.Spool;
import dev.spool.SpoolException;
import dev.spool.StartPosition;
import dev.spool.http.Access;
import dev.spool.redis.resp.Reply;
import dev.spool.redis.resp.RespCommand;
import dev.spool.redis.resp.RespError;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.javadsl.AskPattern;

/**
 * The consumer group commands. A group is a Spool consumer of the stream's queue (its cursor, lag,
 * in-flight deliveries and dead-lettering are Spool's); the group's consumers and their pending
 * entries lists live in {@link ConsumerGroups}.
 */
final class GroupCommands {

  /** XAUTOCLAIM's and XREADGROUP's largest COUNT. */
  static final int MAX_COUNT = 10_000;

  private final Session session;
  private final Spool spool;
  private final StreamCommands streams;
  private final Map<String, QueueConsumer> handles = new java.util.concurrent.ConcurrentHashMap<>();

  GroupCommands(Session session, StreamCommands streams) {
    this.session = session;
    this.spool = session.spool;
    this.streams = streams;
  }

  // ---- XGROUP

  CompletionStage<Reply> xgroup(RespCommand c) {
    arity(c, 2, Integer.MAX_VALUE);
    String sub = upper(c, 1);
    switch (sub) {
      case "CREATE":
        return create(c);
      case "SETID": {
        if (c.arity() != 5 && c.arity() != 7) {
          throw wrongArity(c);
        }
        String stream = streamName(c, 2);
        String group = c.argString(3);
        session.require(Access.consume(stream), "steer consumers of '" + stream + "'");
        StartPosition at = position(c.argString(4));
        return noGroup(handle(stream, validGroup(group)).seek(at), stream, group, "")
            .thenApply(d -> Reply.ok());
      }
      case "DESTROY": {
        arity(c, 4, 4);
        String stream = streamName(c, 2);
        String group = c.argString(3);
        session.require(Access.ADMIN, "destroy consumer groups (that needs the admin role)");
        if (!StreamCommands.validName(group)) {
          return done(Reply.integer(0));
        }
        return spool.deleteConsumer(stream, group).handle((d, failure) -> {
          if (failure == null) {
            session.endpoint.groups.tell(new ConsumerGroups.Drop(stream, group));
            return Reply.integer(1);
          }
          Throwable cause = unwrap(failure);
          if (cause instanceof SpoolException.ConsumerNotFound) {
            return Reply.integer(0);
          }
          if (cause instanceof SpoolException.QueueNotFound) {
            throw keyRequired();
          }
          throw new CompletionException(cause);
        });
      }
      case "CREATECONSUMER": {
        arity(c, 5, 5);
        String stream = streamName(c, 2);
        String group = c.argString(3);
        String consumer = c.argString(4);
        session.require(Access.consume(stream), "read from '" + stream + "'");
        return info(stream, group, "").thenCompose(i -> apply(stream, group, true,
            (entries, now) -> entries.createConsumer(consumer, now))).thenApply(created -> Reply.integer(created ? 1 : 0));
      }
      case "DELCONSUMER": {
        arity(c, 5, 5);
        String stream = streamName(c, 2);
        String group = c.argString(3);
        String consumer = c.argString(4);
        session.require(Access.consume(stream), "read from '" + stream + "'");
        return info(stream, group, "").thenCompose(i -> apply(stream, group, false,
            (entries, now) -> entries.deleteConsumer(consumer))).thenCompose(owned -> {
              if (owned == null || owned.isEmpty()) {
                return done(Reply.integer(0));
              }
              // Redis drops a deleted consumer's pending entries unacknowledged; Spool hands them back
              // to the group, so no entry read by it is lost.
              return handle(stream, group).nack(owned, true).thenApply(n -> Reply.integer(owned.size()));
            });
      }
      case "HELP":
        return done(Reply.array(Reply.simple("XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"),
            Reply.simple("CREATE <key> <groupname> <id|$> [option]"),
            Reply.simple("CREATECONSUMER <key> <groupname> <consumer>"),
            Reply.simple("DELCONSUMER <key> <groupname> <consumer>"),
            Reply.simple("DESTROY <key> <groupname>"),
            Reply.simple("SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]")));
      default:
        throw new RespError("ERR unknown subcommand '" + printable(c.argString(1)) + "'. Try XGROUP HELP.");
    }
  }

  private CompletionStage<Reply> create(RespCommand c) {
    if (c.arity() < 5) {
      throw wrongArity(c);
    }
    String stream = streamName(c, 2);
    String group = validGroup(c.argString(3));
    StartPosition at = position(c.argString(4));
    boolean make = false;
    for (int i = 5; i < c.arity(); i++) {
      String option = upper(c, i);
      if (option.equals("MKSTREAM")) {
        make = true;
      } else if (option.equals("ENTRIESREAD") && i + 1 < c.arity()) {
        c.argLong(++i);
      } else {
        throw syntax();
      }
    }
    session.require(Access.consume(stream), "create consumer groups of '" + stream + "'");
    ConsumerSettings settings = ConsumerSettings.named(group).startAt(at)
        // Redis keeps an entry pending until it is acknowledged or claimed: Spool's deadline is as
        // far off as its timers go, a last resort for entries a group forgot.
        .ackTimeout(Limits.MAX_TIMER)
        .prefetch(session.endpoint.settings.maxPending());
    boolean mayCreate = make;
    CompletionStage<Void> exists = spool.queueStats(stream).handle((s, failure) -> {
      if (failure == null) {
        return CompletableFuture.<Void>completedFuture(null);
      }
      if (unwrap(failure) instanceof SpoolException.QueueNotFound) {
        if (!mayCreate) {
          throw keyRequired();
        }
        return streams.createStream(stream).thenApply(q -> (Void) null);
      }
      throw new CompletionException(failure);
    }).thenCompose(x -> x);
    return exists.thenCompose(x -> spool.declareConsumer(stream, settings)).handle((created, failure) -> {
      if (failure == null && created.created()) {
        return Reply.ok();
      }
      if (failure == null || unwrap(failure) instanceof SpoolException.ConsumerAlreadyExists) {
        throw new RespError("BUSYGROUP Consumer Group name already exists");
      }
      throw new CompletionException(unwrap(failure));
    });
  }

  private static RespError keyRequired() {
    return new RespError("ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want"
        + " to use the MKSTREAM option to create an empty stream automatically.");
  }

  private static StartPosition position(String id) {
    if (id.equals("$")) {
      return StartPosition.latest();
    }
    long first = EntryIds.parse(id).firstAfter();
    return first <= 1 ? StartPosition.earliest() : StartPosition.sequence(first);
  }

  private static String validGroup(String group) {
    try {
      return Names.requireValid("consumer group", group);
    } catch (SpoolException e) {
      throw new RespError("ERR invalid consumer group name '" + printable(group)
          + "': Spool groups are consumers, named with 1 to 128 of A-Z, a-z, 0-9, '.', '_' or '-'");
    }
  }

  // ---- XREADGROUP

  /** One stream of an XREADGROUP: its name and {@code >} (new entries) or the id after which to read history. */
  private record Target(String stream, boolean fresh, long after) {}

  CompletionStage<Reply> xreadgroup(RespCommand c) {
    if (c.arity() < 7) {
      throw wrongArity(c);
    }
    if (!upper(c, 1).equals("GROUP")) {
      throw syntax();
    }
    String group = c.argString(2);
    String consumer = c.argString(3);
    long count = 0;
    long block = -1;
    boolean noAck = false;
    int i = 4;
    while (i < c.arity() && !upper(c, i).equals("STREAMS")) {
      String option = upper(c, i);
      if (option.equals("COUNT") && i + 1 < c.arity()) {
        count = c.argLong(i + 1);
        i += 2;
      } else if (option.equals("BLOCK") && i + 1 < c.arity()) {
        block = StreamCommands.blockMillis(c, i + 1);
        i += 2;
      } else if (option.equals("NOACK")) {
        noAck = true;
        i++;
      } else {
        throw syntax();
      }
    }
    i++;
    int rest = c.arity() - i;
    if (rest <= 0) {
      throw syntax();
    }
    if (rest % 2 != 0) {
      throw new RespError("ERR Unbalanced 'xreadgroup' list of streams: for each stream key an ID or '>' must be"
          + " specified.");
    }
    int n = rest / 2;
    List<Target> targets = new ArrayList<>();
    for (int k = 0; k < n; k++) {
      String stream = streamName(c, i + k);
      String id = c.argString(i + n + k);
      session.require(Access.consume(stream), "read from '" + stream + "'");
      targets.add(id.equals(">") ? new Target(stream, true, 0) : new Target(stream, false,
          EntryIds.parse(id).firstAfter() - 1));
    }
    int max = (int) (count <= 0 ? Math.min(MAX_COUNT, session.endpoint.settings.maxPending())
        : Math.min(count, MAX_COUNT));
    boolean acknowledge = noAck;
    long deadline = block < 0 ? -1 : block == 0 ? Long.MAX_VALUE : System.currentTimeMillis() + block;
    if (targets.size() == 1 && targets.get(0).fresh() && block >= 0) {
      return readNew(targets.get(0).stream(), group, consumer, max, deadline, acknowledge)
          .thenApply(got -> got.isEmpty() ? Reply.nilArray() : keyed(targets.get(0).stream(), got));
    }
    return readAll(targets, group, consumer, max, deadline, acknowledge);
  }

  /** Reads every target once; when nothing new came and the read blocks, looks again until the deadline. */
  private CompletionStage<Reply> readAll(List<Target> targets, String group, String consumer, int max,
      long deadline, boolean noAck) {
    List<CompletableFuture<Reply>> reads = new ArrayList<>();
    for (Target t : targets) {
      reads.add((t.fresh() ? readNew(t.stream(), group, consumer, max, -1, noAck).thenApply(streams::entries)
          : history(t.stream(), group, consumer, t.after(), max)).toCompletableFuture());
    }
    return CompletableFuture.allOf(reads.toArray(CompletableFuture[]::new)).thenCompose(x -> {
      List<Reply> keys = new ArrayList<>();
      List<Reply> values = new ArrayList<>();
      for (int k = 0; k < targets.size(); k++) {
        Reply got = reads.get(k).join();
        if (!targets.get(k).fresh() || !((Reply.Array) got).items().isEmpty()) {
          keys.add(Reply.bulk(targets.get(k).stream()));
          values.add(got);
        }
      }
      if (!keys.isEmpty()) {
        return done(streams.keyed(keys, values));
      }
      long now = System.currentTimeMillis();
      if (deadline < 0 || now >= deadline) {
        return done(Reply.nilArray());
      }
      return session.endpoint.wakeups.next(targets.stream().map(Target::stream).toList(),
          Duration.ofMillis(deadline - now)).thenCompose(w -> readAll(targets, group, consumer, max, deadline, noAck));
    });
  }

  private Reply keyed(String stream, List<Message> messages) {
    return streams.keyed(List.of(Reply.bulk(stream)), List.of(streams.entries(messages)));
  }

  /**
   * New entries for {@code consumer}: Spool's consumer delivers them (waiting until {@code deadline}
   * when it is not -1), and they are recorded as the consumer's pending entries before the reply —
   * also when the client has gone meanwhile, so that they can be claimed.
   */
  private CompletionStage<List<Message>> readNew(String stream, String group, String consumer, int max,
      long deadline, boolean noAck) {
    QueueConsumer handle = handle(stream, group);
    long now = System.currentTimeMillis();
    Duration wait = deadline < 0 || deadline <= now ? Duration.ZERO
        : Duration.ofMillis(Math.min(deadline - now, spool.settings().consumer().maxReadWait().toMillis()));
    return noGroup(handle.readBatch(max, wait), stream, group, " in XREADGROUP with GROUP option")
        .thenCompose(all -> {
          // The reply's byte budget: deliveries past it go back to the group for the next read.
          List<Delivery> deliveries = all;
          long bytes = 0;
          for (int i = 0; i < all.size(); i++) {
            bytes += all.get(i).message().sizeBytes();
            if (i > 0 && bytes > session.endpoint.settings.maxReplyBytes()) {
              deliveries = all.subList(0, i);
              handle.nack(all.subList(i, all.size()).stream().map(Delivery::sequence).toList(), true);
              break;
            }
          }
          List<Long> sequences = new ArrayList<>(deliveries.size());
          List<Integer> attempts = new ArrayList<>(deliveries.size());
          List<Message> messages = new ArrayList<>(deliveries.size());
          for (Delivery d : deliveries) {
            sequences.add(d.sequence());
            attempts.add(d.attempt());
            messages.add(d.message());
          }
          CompletionStage<?> recorded;
          if (noAck && !sequences.isEmpty()) {
            recorded = handle.acknowledgeSequences(sequences);
          } else if (sequences.isEmpty()) {
            // Only a look: waits, so that a refused new consumer name answers with its error.
            recorded = apply(stream, group, true, (entries, t) -> {
              entries.seen(consumer, t);
              return null;
            });
          } else {
            // Recorded without waiting: this connection's next command to the list (an XACK) comes after it.
            session.endpoint.groups.tell(new ConsumerGroups.Run(new ConsumerGroups.Group(stream, group),
                (entries, t) -> {
                  entries.delivered(consumer, sequences, attempts, t);
                  return null;
                }, true));
            recorded = CompletableFuture.completedFuture(null);
          }
          return recorded.thenCompose(r -> {
            if (messages.isEmpty() && deadline >= 0 && System.currentTimeMillis() < deadline) {
              return readNew(stream, group, consumer, max, deadline, noAck);
            }
            return CompletableFuture.completedFuture(messages);
          });
        });
  }

  /** The consumer's own pending entries after {@code after}; deleted ones come with no fields, as Redis gives them. */
  private CompletionStage<Reply> history(String stream, String group, String consumer, long after, int max) {
    return info(stream, group, " in XREADGROUP with GROUP option")
        .thenCompose(i -> apply(stream, group, true, (entries, now) -> entries.history(consumer, after, max, now)))
        .thenCompose(sequences -> fetch(stream, sequences).thenApply(found -> {
          List<Reply> out = new ArrayList<>();
          for (long sequence : sequences) {
            Message m = found.get(sequence);
            out.add(m != null ? streams.entry(m) : Reply.array(Reply.bulk(EntryIds.of(sequence)), Reply.nilArray()));
          }
          return Reply.array(out);
        }));
  }

  // ---- XACK

  CompletionStage<Reply> xack(RespCommand c) {
    if (c.arity() < 4) {
      throw wrongArity(c);
    }
    String stream = streamName(c, 1);
    String group = c.argString(2);
    List<Long> sequences = EntryIds.exactSequences(c, 3);
    session.require(Access.consume(stream), "acknowledge entries of '" + stream + "'");
    if (sequences.isEmpty() || !StreamCommands.validName(group)) {
      return done(Reply.integer(0));
    }
    // The list and Spool's consumer settle at once, each answering on its own.
    CompletionStage<Integer> pending = apply(stream, group, false, (entries, now) -> entries.acknowledge(sequences));
    CompletionStage<Integer> acked = handle(stream, group).acknowledgeSequences(sequences).handle((r, failure) -> {
      if (failure != null) {
        Throwable cause = unwrap(failure);
        if (cause instanceof SpoolException.QueueNotFound || cause instanceof SpoolException.ConsumerNotFound) {
          return 0;
        }
        throw new CompletionException(cause);
      }
      return r.acked();
    });
    return pending.thenCombine(acked, (p, a) -> Reply.integer(Math.max(p, a)));
  }

  // ---- XPENDING

  CompletionStage<Reply> xpending(RespCommand c) {
    if (c.arity() < 3) {
      throw wrongArity(c);
    }
    String stream = streamName(c, 1);
    String group = c.argString(2);
    session.require(Access.viewQueue(stream), "read '" + stream + "'");
    if (c.arity() == 3) {
      return info(stream, group, "").thenCompose(i -> apply(stream, group, false, (entries, now) -> entries.summary()))
          .thenApply(s -> {
            if (s.count() == 0) {
              return Reply.array(Reply.integer(0), Reply.nil(), Reply.nil(), Reply.nilArray());
            }
            List<Reply> per = new ArrayList<>();
            s.perConsumer().forEach((name, n) -> per.add(Reply.array(Reply.bulk(name), Reply.bulk(String.valueOf(n)))));
            return Reply.array(Reply.integer(s.count()), Reply.bulk(EntryIds.of(s.lowest())),
                Reply.bulk(EntryIds.of(s.highest())), Reply.array(per));
          });
    }
    int i = 3;
    long minIdle = 0;
    if (upper(c, i).equals("IDLE")) {
      if (c.arity() < 5) {
        throw syntax();
      }
      minIdle = Math.max(0, c.argLong(i + 1));
      i += 2;
    }
    if (c.arity() - i != 3 && c.arity() - i != 4) {
      throw syntax();
    }
    long from = EntryIds.rangeStart(c.argString(i));
    long to = EntryIds.rangeEnd(c.argString(i + 1));
    long count = Math.max(0, Math.min(c.argLong(i + 2), MAX_COUNT));
    String owner = c.arity() - i == 4 ? c.argString(i + 3) : null;
    long idle = minIdle;
    return info(stream, group, "").thenCompose(x -> apply(stream, group, false,
        (entries, now) -> entries.range(from, to, (int) count, owner, idle, now))).thenApply(list -> {
          List<Reply> out = new ArrayList<>();
          for (PendingEntries.Pending p : list) {
            out.add(Reply.array(Reply.bulk(EntryIds.of(p.sequence())), Reply.bulk(p.consumer()),
                Reply.integer(p.idleMs()), Reply.integer(p.deliveries())));
          }
          return Reply.array(out);
        });
  }

  // ---- XCLAIM, XAUTOCLAIM

  CompletionStage<Reply> xclaim(RespCommand c) {
    if (c.arity() < 6) {
      throw wrongArity(c);
    }
    String stream = streamName(c, 1);
    String group = c.argString(2);
    String consumer = c.argString(3);
    long minIdle = minIdle(c, 4, "XCLAIM");
    List<Long> sequences = new ArrayList<>();
    int i = 5;
    for (; i < c.arity(); i++) {
      String arg = c.argString(i);
      if (!arg.isEmpty() && !Character.isDigit(arg.charAt(0))) {
        break;
      }
      long exact = EntryIds.parse(arg).exact();
      if (exact > 0) {
        sequences.add(exact);
      }
    }
    long idle = -1;
    long retry = -1;
    boolean force = false;
    boolean justId = false;
    long now = System.currentTimeMillis();
    for (; i < c.arity(); i++) {
      String option = upper(c, i);
      if (option.equals("FORCE")) {
        force = true;
      } else if (option.equals("JUSTID")) {
        justId = true;
      } else if (option.equals("IDLE") && i + 1 < c.arity()) {
        idle = Math.max(0, c.argLong(++i));
      } else if (option.equals("TIME") && i + 1 < c.arity()) {
        idle = Math.max(0, now - c.argLong(++i));
      } else if (option.equals("RETRYCOUNT") && i + 1 < c.arity()) {
        retry = Math.max(0, c.argLong(++i));
      } else if (option.equals("LASTID") && i + 1 < c.arity()) {
        EntryIds.parse(c.argString(++i));
      } else {
        throw new RespError("ERR Unrecognized XCLAIM option '" + printable(c.argString(i)) + "'");
      }
    }
    session.require(Access.consume(stream), "claim entries of '" + stream + "'");
    long setIdle = idle;
    long setRetry = retry;
    boolean forced = force;
    boolean onlyIds = justId;
    // FORCE creates pending entries only for ids still in the stream, as Redis does.
    CompletionStage<java.util.Set<Long>> creatable = forced
        ? fetch(stream, sequences).thenApply(found -> java.util.Set.copyOf(found.keySet()))
        : CompletableFuture.completedFuture(java.util.Set.of());
    return maxDeliveries(stream, group).thenCompose(limit -> creatable.thenCompose(mayCreate -> apply(stream, group, true,
        (entries, t) -> entries.claim(consumer, sequences, minIdle, t, setIdle, setRetry, mayCreate, onlyIds, limit))))
        .thenCompose(claimed -> settleExhausted(stream, group, claimed.exhausted())
            .thenCompose(x -> claimedReply(stream, group, claimed.claimed(), onlyIds)))
        .thenApply(r -> Reply.array(r.entries));
  }

  CompletionStage<Reply> xautoclaim(RespCommand c) {
    if (c.arity() < 6) {
      throw wrongArity(c);
    }
    String stream = streamName(c, 1);
    String group = c.argString(2);
    String consumer = c.argString(3);
    long minIdle = minIdle(c, 4, "XAUTOCLAIM");
    long start = EntryIds.rangeStart(c.argString(5));
    int count = 100;
    boolean justId = false;
    for (int i = 6; i < c.arity(); i++) {
      String option = upper(c, i);
      if (option.equals("COUNT") && i + 1 < c.arity()) {
        long asked;
        try {
          asked = c.argLong(++i);
        } catch (RespError e) {
          throw new RespError("ERR COUNT must be > 0");
        }
        if (asked <= 0 || asked > MAX_COUNT) {
          throw new RespError("ERR COUNT must be > 0 and at most " + MAX_COUNT);
        }
        count = (int) asked;
      } else if (option.equals("JUSTID")) {
        justId = true;
      } else {
        throw syntax();
      }
    }
    session.require(Access.consume(stream), "claim entries of '" + stream + "'");
    int max = count;
    boolean onlyIds = justId;
    return maxDeliveries(stream, group).thenCompose(limit -> apply(stream, group, true,
        (entries, t) -> entries.autoClaim(consumer, minIdle, start, max, t, onlyIds, limit)))
        .thenCompose(auto -> settleExhausted(stream, group, auto.claimed().exhausted())
            .thenCompose(x -> claimedReply(stream, group, auto.claimed().claimed(), onlyIds))
            .thenApply(r -> {
              List<Reply> deleted = new ArrayList<>();
              for (long s : auto.claimed().exhausted()) {
                deleted.add(Reply.bulk(EntryIds.of(s)));
              }
              for (long s : r.missing) {
                deleted.add(Reply.bulk(EntryIds.of(s)));
              }
              return Reply.array(Reply.bulk(auto.next() == 0 ? "0-0" : EntryIds.of(auto.next())),
                  Reply.array(r.entries), Reply.array(deleted));
            }));
  }

  private static long minIdle(RespCommand c, int i, String command) {
    try {
      return Math.max(0, c.argLong(i));
    } catch (RespError e) {
      throw new RespError("ERR Invalid min-idle-time argument for " + command);
    }
  }

  /** The deliveries after which the group gives an entry up: its own setting, else its queue's, else none (0). */
  private CompletionStage<Integer> maxDeliveries(String stream, String group) {
    return info(stream, group, "").thenCompose(info -> {
      if (info.settings().maxDeliveries() != null) {
        return CompletableFuture.completedFuture(info.settings().maxDeliveries());
      }
      return spool.queueInfo(stream).thenApply(q -> {
        QueueSettings.DeadLetter dead = q.settings().deadLetter();
        return dead == null ? 0 : dead.maxDeliveries();
      });
    });
  }

  /** Entries claimed too often are given up on: dead-lettered when the stream has a dead-letter queue. */
  private CompletionStage<?> settleExhausted(String stream, String group, List<Long> exhausted) {
    return exhausted.isEmpty() ? CompletableFuture.completedFuture(null)
        : handle(stream, group).nack(exhausted, false);
  }

  private record ClaimReply(List<Reply> entries, List<Long> missing) {}

  /** The claimed entries (or their ids); entries deleted from the stream meanwhile leave the list, as in Redis. */
  private CompletionStage<ClaimReply> claimedReply(String stream, String group, List<PendingEntries.Pending> claimed,
      boolean justId) {
    List<Long> sequences = claimed.stream().map(PendingEntries.Pending::sequence).toList();
    if (justId) {
      return CompletableFuture.completedFuture(new ClaimReply(
          sequences.stream().map(s -> (Reply) Reply.bulk(EntryIds.of(s))).toList(), List.of()));
    }
    return fetch(stream, sequences).thenCompose(found -> {
      List<Reply> entries = new ArrayList<>();
      List<Long> missing = new ArrayList<>();
      for (long s : sequences) {
        Message m = found.get(s);
        if (m == null) {
          missing.add(s);
        } else {
          entries.add(streams.entry(m));
        }
      }
      if (missing.isEmpty()) {
        return CompletableFuture.completedFuture(new ClaimReply(entries, missing));
      }
      return apply(stream, group, false, (e, now) -> {
        missing.forEach(e::forget);
        return null;
      }).thenCompose(x -> handle(stream, group).acknowledgeSequences(missing).handle((r, f) -> null))
          .thenApply(x -> new ClaimReply(entries, missing));
    });
  }

  // ---- XINFO GROUPS, CONSUMERS

  CompletionStage<Reply> xinfoGroups(RespCommand c) {
    arity(c, 3, 3);
    String stream = streamName(c, 2);
    session.require(Access.viewQueue(stream), "read '" + stream + "'");
    return spool.listConsumers(stream).handle((list, failure) -> {
      if (failure != null && unwrap(failure) instanceof SpoolException.QueueNotFound) {
        throw new RespError("ERR no such key");
      }
      if (failure != null) {
        throw new CompletionException(unwrap(failure));
      }
      return list;
    }).thenCompose(list -> {
      List<CompletableFuture<Reply>> groups = new ArrayList<>();
      for (ConsumerInfo info : list) {
        groups.add(apply(stream, info.name(), false,
            (entries, now) -> new int[] {entries.consumerCount(), entries.size()})
            .thenApply(counts -> Reply.map(
                Reply.bulk("name"), Reply.bulk(info.name()),
                Reply.bulk("consumers"), Reply.integer(counts[0]),
                Reply.bulk("pending"), Reply.integer(Math.max(counts[1], info.inFlight())),
                Reply.bulk("last-delivered-id"), Reply.bulk(EntryIds.of(Math.max(0, info.cursor() - 1))),
                Reply.bulk("entries-read"), Reply.integer(Math.max(0, info.cursor() - 1)),
                Reply.bulk("lag"), Reply.integer(info.undelivered()),
                Reply.bulk("spool-lag"), Reply.integer(info.lag()),
                Reply.bulk("spool-dead-lettered"), Reply.integer(info.counters().deadLettered()),
                Reply.bulk("spool-expired"), Reply.integer(info.counters().expired())))
            .toCompletableFuture());
      }
      return CompletableFuture.allOf(groups.toArray(CompletableFuture[]::new))
          .thenApply(x -> Reply.array(groups.stream().map(CompletableFuture::join).toList()));
    });
  }

  CompletionStage<Reply> xinfoConsumers(RespCommand c) {
    arity(c, 4, 4);
    String stream = streamName(c, 2);
    String group = c.argString(3);
    session.require(Access.viewQueue(stream), "read '" + stream + "'");
    return info(stream, group, "").thenCompose(i -> apply(stream, group, false, (entries, now) -> entries.consumers(now)))
        .thenApply(list -> Reply.array(list.stream().map(v -> Reply.map(
            Reply.bulk("name"), Reply.bulk(v.name()),
            Reply.bulk("pending"), Reply.integer(v.pending()),
            Reply.bulk("idle"), Reply.integer(v.idleMs()),
            Reply.bulk("inactive"), Reply.integer(v.inactiveMs()))).toList()));
  }

  // ---- shared

  /**
   * The connection's handle on a group's Spool consumer: kept, so that reads and acks go straight
   * to the consumer's actor once it is located rather than being routed by name each time.
   */
  private QueueConsumer handle(String stream, String group) {
    String key = stream + '\u0000' + group;
    QueueConsumer handle = handles.get(key);
    if (handle == null) {
      if (handles.size() >= 64) {
        handles.clear();
      }
      handle = spool.consumer(stream, group);
      handles.put(key, handle);
    }
    return handle;
  }

  /** The group's Spool consumer, or NOGROUP. */
  private CompletionStage<ConsumerInfo> info(String stream, String group, String where) {
    if (!StreamCommands.validName(group)) {
      throw noGroupError(stream, group, where);
    }
    return noGroup(spool.consumerInfo(stream, group), stream, group, where);
  }

  private static <T> CompletionStage<T> noGroup(CompletionStage<T> stage, String stream, String group, String where) {
    return stage.handle((value, failure) -> {
      if (failure == null) {
        return value;
      }
      Throwable cause = unwrap(failure);
      if (cause instanceof SpoolException.QueueNotFound || cause instanceof SpoolException.ConsumerNotFound) {
        throw noGroupError(stream, group, where);
      }
      throw new CompletionException(cause);
    });
  }

  private static RespError noGroupError(String stream, String group, String where) {
    return new RespError("NOGROUP No such key '" + printable(stream) + "' or consumer group '" + printable(group)
        + "'" + where);
  }

  private <T> CompletionStage<T> apply(String stream, String group, boolean create, ConsumerGroups.Step<T> step) {
    var system = spool.system();
    return AskPattern.askWithStatus(session.endpoint.groups,
        replyTo -> new ConsumerGroups.Apply<>(new ConsumerGroups.Group(stream, group), step, create, replyTo),
        spool.settings().askTimeout(), system.scheduler());
  }

  /** The messages at {@code sequences} that still exist. */
  private CompletionStage<Map<Long, Message>> fetch(String stream, List<Long> sequences) {
    Map<Long, Message> found = new HashMap<>();
    List<CompletableFuture<List<Message>>> reads = new ArrayList<>();
    for (long s : sequences) {
      reads.add(spool.browse(stream, s, 1).toCompletableFuture());
    }
    return CompletableFuture.allOf(reads.toArray(CompletableFuture[]::new)).handle((x, failure) -> {
      for (int k = 0; k < sequences.size(); k++) {
        CompletableFuture<List<Message>> read = reads.get(k);
        if (!read.isCompletedExceptionally() && !read.join().isEmpty()
            && read.join().get(0).sequence() == sequences.get(k)) {
          found.put(sequences.get(k), read.join().get(0));
        }
      }
      return found;
    });
  }
}
