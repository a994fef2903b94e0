package dev.spool.http;

import static dev.spool.SpoolSettings.wholeNumber;

import com.typesafe.config.Config;
import dev.spool.Backoff;
import dev.spool.ConsumerSettings;
import dev.spool.Delivery;
import dev.spool.Message;
import dev.spool.PermanentFailure;
import dev.spool.PushSettings;
import dev.spool.PushTransport;
import dev.spool.SpoolException;
import dev.spool.queue.Partitions;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.io.TcpSO;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.util.ByteString;
import org.apache.pekko.http.javadsl.ClientTransport;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.ProductVersion;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.model.headers.UserAgent;
import org.apache.pekko.http.javadsl.settings.ClientConnectionSettings;
import org.apache.pekko.http.javadsl.settings.ConnectionPoolSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The push transport of the HTTP module: each push consumer's deliveries become {@code POST}
 * requests through Pekko HTTP's client, one bounded connection pool per endpoint and bound
 * ({@code maxOutstanding} connections at most, no pipelining, no client-side retries: the consumer
 * retries). A request carries the message in CloudEvents' HTTP binary mode (the payload as the
 * body, {@code ce-*} headers for its attributes) and a {@code Spool-Signature} header, an
 * HMAC-SHA256 over {@code <t>.<body>} with the consumer's secret, so a receiver can tell Spool sent
 * it and when. A consumer's secret is derived from the service's push key (kept owner-only under
 * the data directory) and the consumer's nonce: the journal holds no secret.
 */
public final class PushSender implements PushTransport {

  private static final Logger log = LoggerFactory.getLogger(PushSender.class);

  /** The signature header's name. */
  public static final String SIGNATURE_HEADER = "Spool-Signature";
  /** Bytes of the service's push key. */
  private static final int KEY_BYTES = 32;

  private final ActorSystem<?> system;
  private final PushPolicy policy;
  private final byte[] key;
  private final int maxConnections;
  private final Executor resolving;
  private final ClientTransport transport;
  /** The live pushers of each consumer (one per partition), by parent queue and consumer. */
  private final Map<String, Set<Pushing>> live = new ConcurrentHashMap<>();

  PushSender(ActorSystem<?> system, PushPolicy policy, byte[] key, int maxConnections) {
    this.system = system;
    this.policy = policy;
    this.key = key.clone();
    this.maxConnections = maxConnections;
    // Name lookups block: they run on the blocking-I/O pool, never on the actors' threads.
    this.resolving = system.dispatchers().lookup(DispatcherSelector.blocking());
    this.transport = ClientTransport.withCustomResolver(this::resolve);
  }

  /**
   * The sender {@code config}'s {@code spool.push} describes, its key read from (or created in)
   * {@code spool.push.key-file} under {@code dataDir}.
   */
  public static PushSender create(ActorSystem<?> system, Config config, Path dataDir) {
    Config push = config.getConfig("spool.push");
    PushPolicy policy = new PushPolicy(push.getStringList("allowed-hosts"), push.getBoolean("allow-http"));
    int maxConnections = wholeNumber(push, "max-connections-per-endpoint");
    if (maxConnections < 1 || maxConnections > PushSettings.MAX_OUTSTANDING) {
      throw new SpoolException.InvalidConfiguration("spool.push.max-connections-per-endpoint must be between 1 and "
          + PushSettings.MAX_OUTSTANDING);
    }
    Path keyFile = dataDir.resolve(push.getString("key-file"));
    PushSender sender = new PushSender(system, policy, loadOrCreateKey(keyFile), maxConnections);
    // After the consumers drained (their last pushes answered): the pools close before the system
    // goes, rather than report themselves shut down unexpectedly.
    CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseBeforeActorSystemTerminate(),
        "spool-push-pools-" + System.identityHashCode(sender),
        () -> Http.get(system.classicSystem()).shutdownAllConnectionPools().thenApply(done -> Done.getInstance()));
    return sender;
  }

  /** Checks a push consumer's endpoint against {@code spool.push} before it is created. */
  @Override
  public void check(String queue, ConsumerSettings settings) {
    if (settings.push() != null) {
      policy.checkEndpoint(settings.push().endpoint());
    }
  }

  /** The signing secret of consumer {@code consumer} of {@code queue} with {@code nonce}, as receivers get it. */
  String secret(String queue, String consumer, String nonce) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      String parent = Partitions.parentOf(queue);
      String material = "spool-push\0" + (parent != null ? parent : queue) + "\0" + consumer + "\0" + nonce;
      return Base64.getUrlEncoder().withoutPadding().encodeToString(mac.doFinal(material.getBytes(StandardCharsets.UTF_8)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("every JVM has HmacSHA256", e);
    }
  }

  /** The signature header's value for {@code body} sent at {@code epochSeconds} with {@code secret}. */
  static String signature(String secret, long epochSeconds, byte[] body) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      mac.update((epochSeconds + ".").getBytes(StandardCharsets.UTF_8));
      return "t=" + epochSeconds + ",v1=" + HexFormat.of().formatHex(mac.doFinal(body));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("every JVM has HmacSHA256", e);
    }
  }

  @Override
  public Pusher open(String queue, ConsumerSettings settings) {
    Pushing pushing = new Pushing(queue, settings);
    live.computeIfAbsent(key(queue, settings.name()), k -> ConcurrentHashMap.newKeySet()).add(pushing);
    return pushing;
  }

  /** What consumer {@code consumer} of {@code queue} is pushing now (its partitions summed), if it pushes. */
  Optional<PushState> state(String queue, String consumer) {
    Set<Pushing> all = live.get(key(queue, consumer));
    if (all == null || all.isEmpty()) {
      return Optional.empty();
    }
    PushState sum = PushState.NONE;
    for (Pushing p : all) {
      sum = sum.plus(p.state());
    }
    return Optional.of(sum);
  }

  private static String key(String queue, String consumer) {
    String parent = Partitions.parentOf(queue);
    return (parent != null ? parent : queue) + "\0" + consumer;
  }

  /**
   * A push consumer's state at one moment.
   *
   * @param inFlight requests sent and not answered
   * @param succeeded requests answered 2xx
   * @param failed requests that failed (answered otherwise, timed out, could not connect)
   * @param permanent requests answered with one of its permanent statuses
   * @param lastError the last failure, or {@code null}
   * @param lastErrorAt when it happened, or {@code null}
   * @param lastSuccessAt the last 2xx answer, or {@code null}
   * @param nextRetryAt about when the last failed message is retried (its backoff, without jitter), or {@code null}
   */
  record PushState(int inFlight, long succeeded, long failed, long permanent, String lastError, Instant lastErrorAt,
      Instant lastSuccessAt, Instant nextRetryAt) {
    static final PushState NONE = new PushState(0, 0, 0, 0, null, null, null, null);

    PushState plus(PushState o) {
      boolean theirError = lastErrorAt == null || (o.lastErrorAt != null && o.lastErrorAt.isAfter(lastErrorAt));
      return new PushState(inFlight + o.inFlight, succeeded + o.succeeded, failed + o.failed, permanent + o.permanent,
          theirError ? o.lastError : lastError, theirError ? o.lastErrorAt : lastErrorAt,
          latest(lastSuccessAt, o.lastSuccessAt), latest(nextRetryAt, o.nextRetryAt));
    }

    private static Instant latest(Instant a, Instant b) {
      return a == null ? b : b == null ? a : a.isAfter(b) ? a : b;
    }
  }

  /** One consumer's pusher (per partition). */
  private final class Pushing implements Pusher {
    private final String queue;
    private final String consumer;
    private final PushSettings push;
    private final Backoff backoff;
    private final Integer maxDeliveries;
    private final String secret;
    private final String source;
    private final ConnectionPoolSettings pool;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicLong succeeded = new AtomicLong();
    private final AtomicLong failed = new AtomicLong();
    private final AtomicLong permanent = new AtomicLong();
    private volatile String lastError;
    private volatile Instant lastErrorAt;
    private volatile Instant lastSuccessAt;
    private volatile Instant nextRetryAt;
    private volatile boolean closed;
    /** Why {@code spool.push} refuses this endpoint now (changed since the consumer was made), or null. */
    private final String refusal;

    Pushing(String queue, ConsumerSettings settings) {
      this.queue = queue;
      this.consumer = settings.name();
      this.push = settings.push();
      this.backoff = settings.backoff();
      this.maxDeliveries = settings.maxDeliveries();
      this.secret = secret(queue, consumer, push.nonce());
      this.refusal = refusal(push);
      String parent = Partitions.parentOf(queue);
      this.source = "/spool/queues/" + (parent != null ? parent : queue);
      int connections = Math.min(push.maxOutstanding(), maxConnections);
      ConnectionPoolSettings base = ConnectionPoolSettings.create(system.classicSystem());
      // An unanswered request holds its connection until the idle timeout closes it, so the deadline
      // bounds what a stuck receiver can hold.
      ClientConnectionSettings connection = base.getConnectionSettings()
          .withIdleTimeout(push.ackDeadline().plusSeconds(1))
          // Without it Nagle's algorithm holds a request's body behind its headers until the
          // receiver's delayed acknowledgement (40 ms on Linux): measured, 25 requests/s per connection.
          .withSocketOptions(List.of(TcpSO.tcpNoDelay(true)))
          .withConnectingTimeout(min(push.ackDeadline(), Duration.ofSeconds(10)))
          .withUserAgentHeader(Optional.of(UserAgent.create(ProductVersion.create("Spool-Push", ""))));
      this.pool = base.withMaxConnections(connections)
          .withMaxOpenRequests(Integer.highestOneBit(push.maxOutstanding() * 4 - 1)) // a power of two, at least twice the bound
          .withMaxRetries(0)
          // A receiver back after an outage is reached within a second or two, not after minutes of backoff.
          .withMaxConnectionBackoff(Duration.ofSeconds(2))
          .withPipeliningLimit(1)
          .withConnectionSettings(connection)
          .withTransport(transport);
    }

    @Override
    public CompletionStage<Done> push(Delivery delivery) {
      if (closed) {
        return CompletableFuture.failedFuture(new IllegalStateException("the consumer stopped"));
      }
      Message m = delivery.message();
      HttpRequest request;
      try {
        request = request(delivery, m, System.nanoTime() + push.ackDeadline().toNanos());
      } catch (RuntimeException e) {
        // The message cannot be put on the wire (a header value no HTTP header can carry): no retry will.
        return CompletableFuture.failedFuture(new PermanentFailure("cannot push: " + e.getMessage(), e));
      }
      if (refusal != null) {
        // Configuration changed since the consumer was created: retried (not dead-lettered) until it is allowed again.
        return CompletableFuture.failedFuture(failedWith(delivery, "refused: " + refusal, null));
      }
      inFlight.incrementAndGet();
      long started = System.nanoTime();
      return Http.get(system.classicSystem())
          .singleRequest(request, Http.get(system.classicSystem()).defaultClientHttpsContext(), pool,
              system.classicSystem().log())
          .thenApply(response -> {
            // The body is not read: discarded at once, or the connection would stay taken.
            response.discardEntityBytes(system);
            return response;
          })
          .toCompletableFuture()
          .orTimeout(push.ackDeadline().toMillis(), TimeUnit.MILLISECONDS)
          .handle((response, failure) -> {
            inFlight.decrementAndGet();
            if (failure != null) {
              String why = unwrap(failure) instanceof TimeoutException
                  ? "timed out: no answer within " + push.ackDeadline() : describe(failure);
              throw failedWith(delivery, why, failure);
            }
            int status = response.status().intValue();
            if (status >= 200 && status < 300) {
              succeeded.incrementAndGet();
              lastSuccessAt = Instant.now();
              nextRetryAt = null;
              return Done.getInstance();
            }
            if (push.permanentStatuses().contains(status)) {
              permanent.incrementAndGet();
              lastError = "answered " + status + " (permanent)";
              lastErrorAt = Instant.now();
              throw new PermanentFailure("push endpoint answered " + status);
            }
            throw failedWith(delivery, "answered " + status + " after "
                + Duration.ofNanos(System.nanoTime() - started).toMillis() + " ms", null);
          });
    }

    private RuntimeException failedWith(Delivery delivery, String why, Throwable cause) {
      failed.incrementAndGet();
      Instant now = Instant.now();
      lastError = why;
      lastErrorAt = now;
      boolean last = maxDeliveries != null && delivery.attempt() >= maxDeliveries;
      nextRetryAt = last || backoff == null ? null : now.plus(nominalDelay(backoff, delivery.attempt()));
      return new PushFailed("push " + why, cause);
    }

    /**
     * The request for {@code m}. Its body is produced only when a connection sends it, and refused
     * after {@code deadlineNanos}: a request that waited in the pool past its deadline (a receiver
     * that was unreachable) has been counted failed and will be retried, so it is cut off rather
     * than delivered late, next to its retry.
     */
    private HttpRequest request(Delivery delivery, Message m, long deadlineNanos) {
      byte[] body = m.payload();
      long now = Instant.now().getEpochSecond();
      List<HttpHeader> headers = new ArrayList<>();
      headers.add(RawHeader.create("ce-specversion", "1.0"));
      headers.add(RawHeader.create("ce-id", m.id().toString()));
      headers.add(RawHeader.create("ce-source", source));
      // CloudEvents requires a type: a message published without one goes as spool.message.
      headers.add(RawHeader.create("ce-type", m.type().isEmpty() ? "spool.message" : headerValue(m.type())));
      headers.add(RawHeader.create("ce-time", Instant.ofEpochMilli(m.timestamp()).toString()));
      m.key().ifPresent(k -> headers.add(RawHeader.create("ce-subject", headerValue(k))));
      headers.add(RawHeader.create("ce-spoolsequence", Long.toString(delivery.sequence())));
      headers.add(RawHeader.create("ce-spoolattempt", Integer.toString(delivery.attempt())));
      for (Map.Entry<String, String> h : m.headers().entrySet()) {
        if (h.getKey().equals("traceparent") || h.getKey().equals("tracestate")) {
          headers.add(RawHeader.create(h.getKey(), headerValue(h.getValue())));
        } else if (isToken(h.getKey())) {
          headers.add(RawHeader.create("Spool-Header-" + h.getKey(), headerValue(h.getValue())));
        }
      }
      headers.add(RawHeader.create(SIGNATURE_HEADER, signature(secret, now, body)));
      ContentType type = m.contentType().flatMap(PushSender::contentType).orElse(ContentTypes.APPLICATION_OCTET_STREAM);
      Source<ByteString, ?> content = Source.lazySource(() -> closed || System.nanoTime() > deadlineNanos
          ? Source.failed(new PushFailed("push request past its deadline before a connection took it", null))
          : Source.single(ByteString.fromArrayUnsafe(body)));
      return HttpRequest.POST(push.endpoint().toString()).withHeaders(headers)
          .withEntity(HttpEntities.create(type, body.length, content));
    }

    @Override
    public void close() {
      closed = true;
      Set<Pushing> all = live.get(key(queue, consumer));
      if (all != null) {
        all.remove(this);
        live.computeIfPresent(key(queue, consumer), (k, set) -> set.isEmpty() ? null : set);
      }
    }

    PushState state() {
      return new PushState(inFlight.get(), succeeded.get(), failed.get(), permanent.get(), lastError, lastErrorAt,
          lastSuccessAt, nextRetryAt);
    }
  }

  /** Why the policy refuses {@code push}'s endpoint now, logged once when its pusher opens; null when allowed. */
  private String refusal(PushSettings push) {
    try {
      policy.checkEndpoint(push.endpoint());
      return null;
    } catch (SpoolException.InvalidConfiguration e) {
      log.warn("A push consumer's endpoint host is refused by spool.push now ({}): its pushes fail and are retried"
          + " until it is allowed again", e.getMessage());
      return e.getMessage();
    }
  }

  /** A push that may be retried: the answer was not 2xx, or there was none. */
  static final class PushFailed extends RuntimeException {
    private static final long serialVersionUID = 1L;

    PushFailed(String message, Throwable cause) {
      super(message, cause, false, false);
    }
  }

  /** Resolves {@code host} off the actors' threads and connects only to an address the policy admits. */
  private CompletionStage<InetSocketAddress> resolve(String host, Object port) {
    return CompletableFuture.supplyAsync(() -> {
      try {
        InetAddress chosen = policy.choose(host, InetAddress.getAllByName(host));
        return new InetSocketAddress(chosen, (Integer) port);
      } catch (UnknownHostException e) {
        throw new SpoolException.InvalidConfiguration("push endpoint host " + host + " does not resolve");
      }
    }, resolving);
  }

  private static Throwable unwrap(Throwable failure) {
    return failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null
        ? failure.getCause() : failure;
  }

  /** A failure as an operator reads it: the innermost cause (the client's wrappers name no more than it). */
  private static String describe(Throwable failure) {
    Throwable root = failure;
    for (int depth = 0; root.getCause() != null && root.getCause() != root && depth < 8; depth++) {
      root = root.getCause();
    }
    String message = root.getMessage() == null ? "" : firstLine(root.getMessage());
    if (root instanceof java.net.ConnectException) {
      return "failed: cannot connect (" + message + ")";
    }
    if (root instanceof SpoolException) {
      return "failed: " + message;
    }
    if (root instanceof org.apache.pekko.stream.BufferOverflowException) {
      return "failed: more requests than connections could take (the receiver is slow or unreachable)";
    }
    return "failed: " + root.getClass().getSimpleName() + (message.isEmpty() ? "" : ": " + message);
  }

  private static String firstLine(String s) {
    int nl = s.indexOf('\n');
    String line = nl < 0 ? s : s.substring(0, nl);
    return line.length() > 300 ? line.substring(0, 300) + "…" : line;
  }

  private static Duration nominalDelay(Backoff backoff, int retry) {
    double base = backoff.initial().toNanos() * Math.pow(backoff.multiplier(), Math.max(0, retry - 1));
    return Duration.ofNanos((long) Math.min(base, backoff.max().toNanos()));
  }

  private static Duration min(Duration a, Duration b) {
    return a.compareTo(b) <= 0 ? a : b;
  }

  private static Optional<ContentType> contentType(String value) {
    try {
      return Optional.of(ContentTypes.parse(value));
    } catch (RuntimeException unparseable) {
      return Optional.empty(); // sent as application/octet-stream: the bytes are what they are
    }
  }

  /** An HTTP token (RFC 9110): what a header name may be. */
  private static boolean isToken(String name) {
    if (name.isEmpty() || name.length() > 128) {
      return false;
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
      if (!ok) {
        return false;
      }
    }
    return true;
  }

  /**
   * {@code value} as a header value: printable ASCII as it is, anything else (and {@code %})
   * percent-encoded as UTF-8, so no value can break the request or be read differently.
   */
  static String headerValue(String value) {
    StringBuilder out = null;
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c >= 0x20 && c < 0x7F && c != '%') {
        if (out != null) {
          out.append(c);
        }
        continue;
      }
      if (out == null) {
        out = new StringBuilder(value.length() + 16).append(value, 0, i);
      }
      int cp = value.codePointAt(i);
      if (Character.isSupplementaryCodePoint(cp)) {
        i++;
      }
      for (byte b : new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8)) {
        out.append('%').append(Character.toUpperCase(Character.forDigit((b >> 4) & 0xF, 16)))
            .append(Character.toUpperCase(Character.forDigit(b & 0xF, 16)));
      }
    }
    return out == null ? value : out.toString();
  }

  private static byte[] loadOrCreateKey(Path file) {
    try {
      if (Files.exists(file)) {
        byte[] key = Base64.getDecoder().decode(Files.readString(file, StandardCharsets.US_ASCII).trim());
        if (key.length < KEY_BYTES) {
          throw new SpoolException.InvalidConfiguration("the push key file " + file + " holds fewer than "
              + KEY_BYTES + " bytes");
        }
        return key;
      }
      Files.createDirectories(file.toAbsolutePath().getParent());
      byte[] key = new byte[KEY_BYTES];
      new SecureRandom().nextBytes(key);
      try {
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      } catch (UnsupportedOperationException notPosix) {
        Files.createFile(file);
      }
      Files.writeString(file, Base64.getEncoder().encodeToString(key) + "\n", StandardCharsets.US_ASCII);
      log.info("Created the push signing key {} (push consumers' secrets derive from it: keep it with the data)",
          file);
      return key;
    } catch (FileAlreadyExistsException e) {
      return loadOrCreateKey(file);
    } catch (IOException | IllegalArgumentException e) {
      throw new SpoolException.InvalidConfiguration("cannot read or create the push key file " + file + ": "
          + e.getMessage());
    }
  }
}
