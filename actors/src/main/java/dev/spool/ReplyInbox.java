package dev.spool;

import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.Done;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.UniqueKillSwitch;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.stream.javadsl.Sink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the replies to this Spool's requests arrive ({@link QueuePublisher#request}): one transient
 * queue, {@code reply-} and 20 random hex digits, created at the first request and deleted when
 * Spool shuts down, read by one consumer without acknowledgements. A request carries the queue in
 * its {@code reply-to} header and a fresh {@code correlation-id}; the first reply with that id
 * completes it, a later one is dropped. Requests awaiting a reply are bounded ({@link #MAX_PENDING}),
 * and each is forgotten when its timeout passes. Replies nobody awaits expire with the queue's ttl.
 */
final class ReplyInbox {

  private static final Logger log = LoggerFactory.getLogger(ReplyInbox.class);

  /** The headers of a request and its reply. */
  static final String REPLY_TO = "reply-to";
  static final String CORRELATION_ID = "correlation-id";

  /** Requests awaiting a reply at once; more are refused with {@code QueueFull}. */
  static final int MAX_PENDING = 10_000;
  /** The longest a request may wait for its reply. */
  static final Duration MAX_TIMEOUT = Duration.ofMinutes(10);
  /** A reply queue keeps what no request awaits (late or unknown replies) at most this long, and this many. */
  private static final Duration REPLY_TTL = Duration.ofMinutes(1);
  private static final long REPLY_MAX_LENGTH = 10_000;

  private final Spool spool;
  private final ActorSystem<?> system;
  private final String queue;
  private final ConcurrentHashMap<String, CompletableFuture<Message>> pending = new ConcurrentHashMap<>();
  private CompletableFuture<Done> started;
  private UniqueKillSwitch reader;
  private boolean closed;

  ReplyInbox(Spool spool, ActorSystem<?> system) {
    this.spool = spool;
    this.system = system;
    byte[] random = new byte[10];
    new SecureRandom().nextBytes(random);
    this.queue = "reply-" + HexFormat.of().formatHex(random);
  }

  /** The reply queue's name. */
  String queue() {
    return queue;
  }

  /** Requests awaiting their reply now. */
  int waiting() {
    return pending.size();
  }

  /** Publishes {@code message} through {@code publisher} as a request; completes with its first reply. */
  CompletionStage<Message> request(QueuePublisher publisher, Message message, Duration timeout) {
    if (message == null) {
      return Spool.failed(new SpoolException.InvalidConfiguration("a request needs a message"));
    }
    if (timeout == null || timeout.isNegative() || timeout.isZero() || timeout.compareTo(MAX_TIMEOUT) > 0) {
      return Spool.failed(new SpoolException.InvalidConfiguration("a request's timeout must be positive and at most "
          + MAX_TIMEOUT + ", not " + timeout));
    }
    if (pending.size() >= MAX_PENDING) {
      return Spool.failed(new SpoolException.QueueFull(MAX_PENDING + " requests already await their replies"));
    }
    String id = UUID.randomUUID().toString();
    CompletableFuture<Message> reply = new CompletableFuture<>();
    pending.put(id, reply);
    Cancellable timer = system.scheduler().scheduleOnce(timeout, () -> {
      if (pending.remove(id, reply)) {
        reply.completeExceptionally(new SpoolException.Timeout("no reply to the request on " + publisher.queue()
            + " within " + timeout));
      }
    }, system.executionContext());
    reply.whenComplete((r, failure) -> timer.cancel());
    start().thenCompose(ready -> publisher.publish(message.withHeader(REPLY_TO, queue).withHeader(CORRELATION_ID, id)))
        .whenComplete((sequence, failure) -> {
          if (failure != null && pending.remove(id, reply)) {
            reply.completeExceptionally(failure);
          }
        });
    // The caller's stage: completing it cannot complete the inbox's own.
    return reply.thenApply(m -> m);
  }

  /** The reply queue and its reader, made once; a failed start is tried again by the next request. */
  private synchronized CompletionStage<Done> start() {
    if (closed) {
      return Spool.failed(new SpoolException.ShuttingDown());
    }
    if (started != null && !started.isCompletedExceptionally()) {
      return started;
    }
    QueueSettings settings = QueueSettings.defaults().withTtl(REPLY_TTL).withMaxLength(REPLY_MAX_LENGTH)
        .withOverflow(Overflow.DROP_OLDEST);
    ConsumerSettings reading = ConsumerSettings.named("requester").ackMode(AckMode.NONE);
    started = spool.declareQueue(queue, settings)
        .thenCompose(created -> spool.declareConsumer(queue, reading))
        .thenApply(created -> {
          synchronized (this) {
            if (!closed) {
              reader = spool.consumer(queue, "requester").source()
                  .viaMat(KillSwitches.single(), Keep.right())
                  .toMat(Sink.foreach(d -> deliver(d.message())), Keep.left())
                  .run(system);
            }
          }
          return Done.getInstance();
        })
        .toCompletableFuture();
    return started;
  }

  /** A reply arrived: it completes the request it names, if that still waits. */
  void deliver(Message reply) {
    String id = reply.headers().get(CORRELATION_ID);
    CompletableFuture<Message> request = id == null ? null : pending.remove(id);
    if (request == null) {
      log.debug("reply queue {}: a reply to no waiting request (late, or answered already)", queue);
      return;
    }
    request.complete(reply);
  }

  /** Fails what still waits, stops reading and deletes the reply queue (when it was made). */
  CompletionStage<Done> close() {
    boolean made;
    synchronized (this) {
      closed = true;
      made = started != null;
      if (reader != null) {
        reader.shutdown();
      }
    }
    pending.forEach((id, request) -> {
      if (pending.remove(id, request)) {
        request.completeExceptionally(new SpoolException.ShuttingDown());
      }
    });
    if (!made) {
      return java.util.concurrent.CompletableFuture.completedFuture(Done.getInstance());
    }
    return spool.deleteQueue(queue).handle((done, failure) -> Done.getInstance());
  }
}
