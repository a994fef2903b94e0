package dev.spool.redis;

import com.typesafe.config.Config;
import dev.spool.Spool;
import dev.spool.SpoolException;
import dev.spool.http.Authenticator;
import dev.spool.http.SpoolHttpServer;
import dev.spool.redis.resp.RespCommand;
import dev.spool.redis.resp.RespParser;
import dev.spool.redis.resp.RespProtocolException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.javadsl.Tcp;
import org.apache.pekko.util.ByteString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Redis Streams endpoint: a RESP2/RESP3 server on Pekko Streams' TCP whose streams are Spool
 * queues and whose consumer groups are Spool consumers. Each connection is a stream of bytes
 * parsed into commands, answered in order by its {@link Session}, with at most
 * {@code max-pipeline} commands read ahead: a client that pipelines further waits on TCP.
 *
 * @since 0.1.0
 */
public final class RedisServer {

  private static final Logger log = LoggerFactory.getLogger(RedisServer.class);
  private static final AtomicLong INSTANCES = new AtomicLong();
  /** The longest inline command line (what telnet and redis-cli's raw mode send), as Redis's own. */
  private static final int MAX_INLINE = 64 * 1024;
  /** Replies of pipelined commands are written together up to this many bytes. */
  private static final long WRITE_BATCH = 64 * 1024;

  private RedisServer() {}

  /** A running endpoint: where it listens, and how to stop it (CoordinatedShutdown also does). */
  public static final class Binding {
    private final Tcp.ServerBinding binding;
    private final RedisSettings settings;
    private final Endpoint endpoint;

    private Binding(Tcp.ServerBinding binding, RedisSettings settings, Endpoint endpoint) {
      this.binding = binding;
      this.settings = settings;
      this.endpoint = endpoint;
    }

    /** Registers the endpoint's connection and command counts in {@code meters} (the service's /metrics). */
    public void register(MeterRegistry meters) {
      Gauge.builder("spool.redis.connections", endpoint.connections, AtomicInteger::get)
          .description("Connections to the Redis Streams endpoint open now").register(meters);
      FunctionCounter.builder("spool.redis.connections.accepted", endpoint.connectionsAccepted, AtomicLong::get)
          .description("Connections the Redis Streams endpoint accepted").register(meters);
      FunctionCounter.builder("spool.redis.connections.refused", endpoint.connectionsRefused, AtomicLong::get)
          .description("Connections refused for max-connections").register(meters);
      FunctionCounter.builder("spool.redis.commands", endpoint.commands, AtomicLong::get)
          .description("Commands the Redis Streams endpoint answered").register(meters);
      FunctionCounter.builder("spool.redis.error.replies", endpoint.errors, AtomicLong::get)
          .description("Commands answered with an error reply").register(meters);
    }

    /** The port bound (useful with {@code spool.redis.port = 0}). */
    public int port() {
      return binding.localAddress().getPort();
    }

    public String host() {
      return settings.host();
    }

    /** Stops accepting connections; open ones go on until their clients close them. */
    public CompletionStage<Done> unbind() {
      return binding.unbind().thenApply(x -> Done.getInstance());
    }
  }

  /**
   * Starts the endpoint when {@code spool.redis.enabled} is on (else completes with empty), taking
   * the tokens {@code authenticator} accepts. Fails with {@code InvalidConfiguration} for settings it
   * cannot serve with.
   */
  public static CompletionStage<java.util.Optional<Binding>> startIfEnabled(Spool spool, Config config,
      Authenticator authenticator) {
    return startIfEnabled(spool, config, authenticator, null);
  }

  /** As {@link #startIfEnabled(Spool, Config, Authenticator)}, registering the endpoint's meters in {@code meters}. */
  public static CompletionStage<java.util.Optional<Binding>> startIfEnabled(Spool spool, Config config,
      Authenticator authenticator, MeterRegistry meters) {
    RedisSettings settings;
    try {
      settings = RedisSettings.create(config);
    } catch (SpoolException e) {
      return CompletableFuture.failedFuture(e);
    }
    if (!settings.enabled()) {
      return CompletableFuture.completedFuture(java.util.Optional.empty());
    }
    return start(spool, settings, authenticator).thenApply(binding -> {
      if (meters != null) {
        binding.register(meters);
      }
      return java.util.Optional.of(binding);
    });
  }

  /** Starts the endpoint with {@code settings}, whatever their {@code enabled}. */
  public static CompletionStage<Binding> start(Spool spool, RedisSettings settings, Authenticator authenticator) {
    SSLContext tls;
    try {
      tls = settings.tls().enabled() ? SpoolHttpServer.sslContext(settings.tls()) : null;
    } catch (SpoolException e) {
      return CompletableFuture.failedFuture(new SpoolException.InvalidConfiguration(
          "spool.redis.tls: " + e.getMessage()));
    }
    ActorSystem<?> system = spool.system();
    ActorRef<ConsumerGroups.Command> groups = system.systemActorOf(
        ConsumerGroups.create(System::currentTimeMillis), "spool-redis-groups-" + INSTANCES.incrementAndGet(),
        Props.empty());
    Endpoint endpoint = new Endpoint(spool, settings, authenticator, groups,
        new Wakeups(system.scheduler(), system.executionContext()));
    Tcp tcp = Tcp.get(system);
    Source<Tcp.IncomingConnection, CompletionStage<Tcp.ServerBinding>> connections = tls == null
        ? tcp.bind(settings.host(), settings.port())
        : tcp.bindWithTls(settings.host(), settings.port(), () -> {
          SSLEngine engine = tls.createSSLEngine();
          engine.setUseClientMode(false);
          return engine;
        });
    CompletionStage<Tcp.ServerBinding> bound = connections
        .to(Sink.foreach(connection -> accept(endpoint, connection)))
        .run(system);
    return bound.thenApply(b -> {
      Binding binding = new Binding(b, settings, endpoint);
      endpoint.port = binding.port();
      CoordinatedShutdown.get(system).addTask(CoordinatedShutdown.PhaseServiceUnbind(),
          "spool-redis-unbind-" + binding.port(), binding::unbind);
      log.info("Redis Streams endpoint listening on {}:{} (tls {}, {} connections, new streams {})",
          settings.host(), binding.port(), tls == null ? "off" : "on", settings.maxConnections(),
          settings.newStreamDurability().name().toLowerCase(java.util.Locale.ROOT));
      return binding;
    });
  }

  private static void accept(Endpoint endpoint, Tcp.IncomingConnection connection) {
    InetSocketAddress remote = connection.remoteAddress();
    String address = remote.getAddress().getHostAddress() + ":" + remote.getPort();
    ActorSystem<?> system = endpoint.spool.system();
    if (endpoint.connections.incrementAndGet() > endpoint.settings.maxConnections()) {
      endpoint.connections.decrementAndGet();
      endpoint.connectionsRefused.incrementAndGet();
      connection.handleWith(Flow.fromSinkAndSource(Sink.ignore(),
          Source.single(ByteString.fromString("-ERR max number of clients reached\r\n"))), system);
      return;
    }
    endpoint.connectionsAccepted.incrementAndGet();
    Session session = new Session(endpoint, address);
    log.debug("RESP client {} connected from {}", session.id, address);
    connection.handleWith(flow(session, endpoint.settings).watchTermination((nu, done) -> {
      done.whenComplete((d, failure) -> {
        endpoint.connections.decrementAndGet();
        if (failure == null || failure instanceof org.apache.pekko.stream.StreamTcpException) {
          log.debug("RESP client {} disconnected{}", session.id, failure == null ? "" : ": " + failure);
        } else {
          // Not the network: the connection's own stream failed, and its client saw only a reset.
          log.warn("RESP client {} from {} dropped: {}", session.id, address, failure.toString());
        }
      });
      return NotUsed.getInstance();
    }), system);
  }

  /**
   * Adds a parsed command to what one read gave, joining consecutive plain {@code XADD key * …} to
   * the same stream into one batch: a pipelining client's adds are offered together to the stream's
   * appender, published together (one journal write for a persistent stream), still answered one
   * reply each, in order.
   */
  private static void add(List<Object> out, RespCommand command) {
    if (Session.isPlainAdd(command) && !out.isEmpty()) {
      Object last = out.get(out.size() - 1);
      String stream = command.argString(1);
      if (last instanceof Session.AddBatch && ((Session.AddBatch) last).stream().equals(stream)
          && ((Session.AddBatch) last).commands().size() < Session.AddBatch.MAX) {
        ((Session.AddBatch) last).commands().add(command);
        return;
      }
      if (last instanceof RespCommand && Session.isPlainAdd((RespCommand) last)
          && ((RespCommand) last).argString(1).equals(stream)) {
        List<RespCommand> commands = new ArrayList<>();
        commands.add((RespCommand) last);
        commands.add(command);
        out.set(out.size() - 1, new Session.AddBatch(stream, commands));
        return;
      }
    }
    out.add(command);
  }

  /** One connection: bytes in, commands parsed, answered in order, replies out; closes after QUIT or a protocol error. */
  static Flow<ByteString, ByteString, NotUsed> flow(Session session, RedisSettings settings) {
    return Flow.of(ByteString.class)
        .<Object>statefulMapConcat(() -> {
          RespParser parser = new RespParser(settings.maxArgumentBytes(), settings.maxArguments(), MAX_INLINE);
          return bytes -> {
            List<Object> out = new ArrayList<>();
            try {
              parser.feed(bytes);
              RespCommand command;
              while ((command = parser.next()) != null) {
                add(out, command);
              }
            } catch (RespProtocolException e) {
              out.add(e);
            }
            return out;
          };
        })
        .mapAsync(settings.maxPipeline(), item -> {
          if (item instanceof RespCommand) {
            return session.submit((RespCommand) item);
          }
          if (item instanceof Session.AddBatch) {
            return session.submit((Session.AddBatch) item);
          }
          return CompletableFuture.completedFuture(session.protocolError(((RespProtocolException) item).getMessage()));
        })
        .takeWhile(result -> !result.close(), true)
        .map(Session.Result::bytes)
        .batchWeighted(WRITE_BATCH, bytes -> (long) bytes.size(), bytes -> bytes, ByteString::concat);
  }
}
