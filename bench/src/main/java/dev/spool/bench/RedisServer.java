package dev.spool.bench;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A {@code redis-server} child process, the Redis Streams peer of the durable and redis suites: on a
 * free loopback port, in a temporary directory, with an append-only file and the given
 * {@code appendfsync} or with no persistence at all, never RDB snapshots, not daemonized.
 * {@link #close()} stops it and removes the directory, so a failed run leaves no server behind.
 */
final class RedisServer implements AutoCloseable {

  private final Process process;
  private final Path dir;
  private final int port;
  // stops the server should the JVM end before close(), e.g. on SIGTERM or System.exit
  private final Thread onExit;

  private RedisServer(Process process, Path dir, int port) {
    this.process = process;
    this.dir = dir;
    this.port = port;
    this.onExit = new Thread(process::destroyForcibly, "redis-server-stop");
    Runtime.getRuntime().addShutdownHook(onExit);
  }

  /** {@code SPOOL_BENCH_REDIS_SERVER}, else {@code redis-server} on the {@code PATH}; empty when neither is there. */
  static Optional<Path> binary() {
    String chosen = System.getenv("SPOOL_BENCH_REDIS_SERVER");
    if (chosen != null && !chosen.isBlank()) {
      return Optional.of(Path.of(chosen)).filter(Files::isExecutable);
    }
    return onPath("redis-server");
  }

  /** The executable {@code name} in a directory of the {@code PATH}; empty when none has it. */
  static Optional<Path> onPath(String name) {
    String path = System.getenv("PATH");
    return path == null ? Optional.empty() : Arrays.stream(path.split(java.io.File.pathSeparator))
        .filter(d -> !d.isEmpty()).map(d -> Path.of(d, name)).filter(Files::isExecutable).findFirst();
  }

  /** Starts a server with an append-only file fsynced as {@code appendfsync} says, and waits until it answers {@code PING}. */
  static RedisServer start(Path binary, String appendfsync) throws IOException, InterruptedException {
    return start(binary, List.of("--appendonly", "yes", "--appendfsync", appendfsync));
  }

  /** Starts a server that keeps everything in memory only, and waits until it answers {@code PING}. */
  static RedisServer inMemory(Path binary) throws IOException, InterruptedException {
    return start(binary, List.of("--appendonly", "no"));
  }

  private static RedisServer start(Path binary, List<String> persistence) throws IOException, InterruptedException {
    Path dir = Files.createTempDirectory("spool-bench-redis");
    int port = freePort();
    List<String> command = new ArrayList<>(List.of(binary.toString(), "--port", String.valueOf(port),
        "--bind", "127.0.0.1", "--dir", dir.toString(), "--save", "", "--daemonize", "no"));
    command.addAll(persistence);
    Process process;
    try {
      process = new ProcessBuilder(command)
          .redirectErrorStream(true).redirectOutput(dir.resolve("redis.log").toFile()).start();
    } catch (IOException e) {
      DurableBench.deleteRecursively(dir);
      throw e;
    }
    RedisServer server = new RedisServer(process, dir, port);
    try {
      server.awaitPing();
      return server;
    } catch (IOException | InterruptedException | RuntimeException e) {
      server.close();
      throw e;
    }
  }

  int port() {
    return port;
  }

  private void awaitPing() throws IOException, InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      if (!process.isAlive()) {
        throw new IOException("redis-server exited with " + process.exitValue() + ": " + log());
      }
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 500);
        OutputStream out = s.getOutputStream();
        out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        InputStream in = s.getInputStream();
        byte[] reply = in.readNBytes(7);
        if (new String(reply, StandardCharsets.US_ASCII).equals("+PONG\r\n")) {
          return;
        }
      } catch (IOException notYet) {
        // still starting, or loading its append-only file
      }
      if (System.nanoTime() > deadline) {
        throw new IOException("redis-server did not answer PING within 10 s: " + log());
      }
      Thread.sleep(50);
    }
  }

  private String log() {
    try {
      String log = Files.readString(dir.resolve("redis.log"));
      return log.length() > 2000 ? log.substring(log.length() - 2000) : log;
    } catch (IOException e) {
      return "(no log)";
    }
  }

  private static int freePort() throws IOException {
    // The port may be taken again before redis-server binds it; start() then fails with its log.
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  /** SIGTERM (Redis flushes its append-only file and exits), SIGKILL after 10 s, then the directory goes. */
  @Override
  public void close() throws InterruptedException {
    try {
      Runtime.getRuntime().removeShutdownHook(onExit);
    } catch (IllegalStateException shuttingDown) {
      // the hook is running or will run; stop it here all the same
    }
    process.destroy();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      process.waitFor(10, TimeUnit.SECONDS);
    }
    DurableBench.deleteRecursively(dir);
  }
}
