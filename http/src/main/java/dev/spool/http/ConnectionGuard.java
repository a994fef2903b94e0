package dev.spool.http;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.stream.Attributes;
import org.apache.pekko.stream.BidiShape;
import org.apache.pekko.stream.Inlet;
import org.apache.pekko.stream.Outlet;
import org.apache.pekko.stream.TLSProtocol.SendBytes;
import org.apache.pekko.stream.TLSProtocol.SessionBytes;
import org.apache.pekko.stream.TLSProtocol.SslTlsInbound;
import org.apache.pekko.stream.TLSProtocol.SslTlsOutbound;
import org.apache.pekko.stream.UniqueKillSwitch;
import org.apache.pekko.stream.stage.AbstractInHandler;
import org.apache.pekko.stream.stage.AbstractOutHandler;
import org.apache.pekko.stream.stage.AsyncCallback;
import org.apache.pekko.stream.stage.GraphStage;
import org.apache.pekko.stream.stage.GraphStageLogic;
import org.apache.pekko.stream.stage.TimerGraphStageLogic;
import org.apache.pekko.util.ByteString;

/**
 * One connection's watch over its request heads and idle time. It sits between Pekko's HTTP parser
 * and TLS, so it sees plaintext: the first byte of a request starts the head deadline, and the
 * request handler tells it (through the connection's {@link Handle}) when the head was parsed and
 * when the response was sent. A head that is not complete by the deadline is answered 408 and the
 * connection closed — bytes trickling in do not extend it; a connection that sends nothing, or sits
 * idle between requests past the idle timeout, closes quietly.
 *
 * <p>Runs on the connection's stream; the {@link Handle}'s phase is the one state shared with the
 * listener and the request handler, and changes by compare-and-set so that an eviction and a
 * request arriving cannot both win.
 */
final class ConnectionGuard extends GraphStage<BidiShape<SslTlsOutbound, SslTlsOutbound, SslTlsInbound, SslTlsInbound>> {

  /** Where a connection is between its requests. */
  enum Phase {
    /** Accepted, no byte yet: the head deadline runs from the opening. */
    OPENED,
    /** Bytes of a request head have arrived, the head is not complete. */
    HEAD,
    /** A request is being answered (its body, the handler, a long-poll or an event stream). */
    REQUEST,
    /** Kept alive between requests. */
    IDLE,
    /** Closing: evicted, timed out, or the server is stopping. */
    CLOSING
  }

  /** What a connection is served for. */
  enum Mode {
    /** Everything. */
    FULL,
    /** Accepted over {@code max}: health checks only, one request. */
    HEALTH_ONLY,
    /** Over the client address's limit: health checks only, one request, anything else 429. */
    OVER_CLIENT_LIMIT
  }

  private enum Signal { REQUEST, IDLE, CLOSE }

  /**
   * A connection as the listener and the request handler see it: its client, what it is served for,
   * and its phase. Thread-safe.
   */
  static final class Handle {
    final InetAddress client;
    final Mode mode;
    final AtomicReference<Phase> phase = new AtomicReference<>(Phase.OPENED);
    private volatile boolean terminating;
    private volatile boolean closeBeforeStart;
    private volatile AsyncCallback<Signal> signals;
    private volatile UniqueKillSwitch responses;
    private volatile UniqueKillSwitch beforeFirstByte;

    Handle(InetAddress client, Mode mode) {
      this.client = client;
      this.mode = mode;
    }

    /** The kill switch that closes the connection before its HTTP stack is built. */
    void started(UniqueKillSwitch beforeFirstByte) {
      this.beforeFirstByte = beforeFirstByte;
      if (closeBeforeStart) {
        beforeFirstByte.shutdown();
      }
    }

    /** Closes the connection if it has not sent a byte by now (its header timeout). */
    void silentTooLong() {
      if (phase.compareAndSet(Phase.OPENED, Phase.CLOSING)) {
        signal(Signal.CLOSE);
      }
    }

    /** The kill switch that ends the connection's response stream (set once it runs). */
    void responses(UniqueKillSwitch responses) {
      this.responses = responses;
    }

    /** A request head was parsed: no deadline while it is answered. */
    void requestStarted() {
      phase.set(Phase.REQUEST);
      signal(Signal.REQUEST);
    }

    /** The response went out in full: idle from now, or closed if the server is stopping. */
    void responseDone() {
      if (terminating && phase.compareAndSet(Phase.REQUEST, Phase.CLOSING)) {
        // Ending the response stream lets Pekko finish writing what it has and then close.
        UniqueKillSwitch switch_ = responses;
        if (switch_ != null) {
          switch_.shutdown();
        } else {
          signal(Signal.CLOSE);
        }
      } else if (phase.compareAndSet(Phase.REQUEST, Phase.IDLE)) {
        signal(Signal.IDLE);
      }
    }

    /** Whether responses on this connection should carry {@code Connection: close}. */
    boolean closeAfterResponse() {
      return terminating || mode != Mode.FULL;
    }

    boolean terminating() {
      return terminating;
    }

    /**
     * Closes the connection if nothing is asked of it now (no byte since it opened, or idle
     * between requests; with {@code midHead}, also a head in progress). False if it is busy.
     */
    boolean evict(boolean midHead) {
      if (phase.compareAndSet(Phase.OPENED, Phase.CLOSING) || phase.compareAndSet(Phase.IDLE, Phase.CLOSING)
          || (midHead && phase.compareAndSet(Phase.HEAD, Phase.CLOSING))) {
        signal(Signal.CLOSE);
        return true;
      }
      return false;
    }

    /**
     * The server is stopping: a connection without a request closes now (also one whose head is
     * still arriving, as Pekko's own termination does), a busy one after its response.
     */
    void terminate() {
      terminating = true;
      evict(true);
    }

    /** Closes the connection whatever it is doing (the termination deadline passed). */
    void forceClose() {
      phase.set(Phase.CLOSING);
      signal(Signal.CLOSE);
    }

    private void signal(Signal signal) {
      AsyncCallback<Signal> s = signals;
      if (s != null) {
        s.invoke(signal);
      } else if (signal == Signal.CLOSE) {
        closeBeforeStart = true;
        UniqueKillSwitch beforeStack = beforeFirstByte;
        if (beforeStack != null) {
          beforeStack.shutdown();
        }
      }
    }
  }

  private final Inlet<SslTlsOutbound> fromServer = Inlet.create("ConnectionGuard.fromServer");
  private final Outlet<SslTlsOutbound> toClient = Outlet.create("ConnectionGuard.toClient");
  private final Inlet<SslTlsInbound> fromClient = Inlet.create("ConnectionGuard.fromClient");
  private final Outlet<SslTlsInbound> toServer = Outlet.create("ConnectionGuard.toServer");
  private final BidiShape<SslTlsOutbound, SslTlsOutbound, SslTlsInbound, SslTlsInbound> shape =
      new BidiShape<>(fromServer, toClient, fromClient, toServer);

  private final Handle handle;
  private final Duration headerTimeout;
  private final long openedAt;
  private final Duration idleTimeout;
  private final ByteString requestTimeout;

  /**
   * @param handle the connection
   * @param headerTimeout how long a head may take from its first byte (from the opening, for the first)
   * @param openedAt when the connection opened ({@link System#nanoTime()})
   * @param idleTimeout how long the connection may wait for its next request
   * @param requestTimeout the complete 408 response, written as it is
   */
  ConnectionGuard(Handle handle, Duration headerTimeout, long openedAt, Duration idleTimeout,
      ByteString requestTimeout) {
    this.handle = handle;
    this.headerTimeout = headerTimeout;
    this.openedAt = openedAt;
    this.idleTimeout = idleTimeout;
    this.requestTimeout = requestTimeout;
  }

  @Override
  public BidiShape<SslTlsOutbound, SslTlsOutbound, SslTlsInbound, SslTlsInbound> shape() {
    return shape;
  }

  private static final String HEAD_TIMER = "head";
  private static final String IDLE_TIMER = "idle";

  @Override
  public GraphStageLogic createLogic(Attributes inheritedAttributes) {
    return new TimerGraphStageLogic(shape) {
      {
        setHandler(fromServer, new AbstractInHandler() {
          @Override
          public void onPush() {
            // Pekko answering before a head was parsed (a malformed or oversized head): answered.
            if (handle.phase.compareAndSet(Phase.HEAD, Phase.REQUEST)
                || handle.phase.compareAndSet(Phase.OPENED, Phase.REQUEST)) {
              cancelTimer(HEAD_TIMER);
            }
            push(toClient, grab(fromServer));
          }
        });
        setHandler(toClient, new AbstractOutHandler() {
          @Override
          public void onPull() {
            pull(fromServer);
          }
        });
        setHandler(fromClient, new AbstractInHandler() {
          @Override
          public void onPush() {
            SslTlsInbound in = grab(fromClient);
            if (in instanceof SessionBytes bytes && !bytes.bytes().isEmpty()) {
              arrived();
            }
            push(toServer, in);
          }
        });
        setHandler(toServer, new AbstractOutHandler() {
          @Override
          public void onPull() {
            pull(fromClient);
          }
        });
      }

      @Override
      public void preStart() {
        handle.signals = createAsyncCallback(this::onSignal);
        if (handle.closeBeforeStart) {
          completeStage();
          return;
        }
        // The first head's deadline runs from the opening, before this stage was built.
        Duration left = headerTimeout.minusNanos(System.nanoTime() - openedAt);
        scheduleOnce(HEAD_TIMER, left.isNegative() ? Duration.ZERO : left);
      }

      /** Bytes from the client: the start of a head ends an idle wait and starts the head deadline. */
      private void arrived() {
        if (handle.phase.compareAndSet(Phase.IDLE, Phase.HEAD)) {
          cancelTimer(IDLE_TIMER);
          scheduleOnce(HEAD_TIMER, headerTimeout);
        } else {
          // The first request's deadline already runs from the opening.
          handle.phase.compareAndSet(Phase.OPENED, Phase.HEAD);
        }
      }

      private void onSignal(Signal signal) {
        switch (signal) {
          case REQUEST -> cancelTimer(HEAD_TIMER);
          case IDLE -> {
            if (handle.phase.get() == Phase.IDLE) {
              scheduleOnce(IDLE_TIMER, idleTimeout);
            }
          }
          case CLOSE -> completeStage();
        }
      }

      @Override
      public void onTimer(Object key) {
        if (HEAD_TIMER.equals(key)) {
          if (handle.phase.compareAndSet(Phase.HEAD, Phase.CLOSING)) {
            // No response is in progress (none is, before a head is parsed): the 408 is the only one.
            emit(toClient, new SendBytes(requestTimeout), () -> completeStage());
          } else if (handle.phase.compareAndSet(Phase.OPENED, Phase.CLOSING)
              || handle.phase.get() == Phase.CLOSING) {
            // Also a close signalled in the instant before this stage started.
            completeStage();
          }
        } else if (IDLE_TIMER.equals(key) && handle.phase.compareAndSet(Phase.IDLE, Phase.CLOSING)) {
          completeStage();
        }
      }
    };
  }

  /**
   * {@code response} as HTTP/1.1 bytes with {@code Connection: close}: for the answers written below
   * Pekko's renderer (the 408 for a head that never completed). Strict entities only.
   */
  static ByteString render(HttpResponse response) {
    ByteString body = ((HttpEntity.Strict) response.entity()).getData();
    StringBuilder head = new StringBuilder(512)
        .append("HTTP/1.1 ").append(response.status().intValue()).append(' ').append(response.status().reason())
        .append("\r\nServer: Spool\r\nConnection: close\r\nContent-Type: ").append(response.entity().getContentType())
        .append("\r\nContent-Length: ").append(body.size()).append("\r\n");
    for (HttpHeader h : response.getHeaders()) {
      head.append(h.name()).append(": ").append(h.value()).append("\r\n");
    }
    head.append("\r\n");
    return ByteString.fromString(head.toString(), StandardCharsets.US_ASCII).concat(body);
  }
}
