package dev.spool.redis;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Redis's own command line client (Debian's redis-tools, as .ci/run installs it) against the endpoint. */
class RedisCliTest {

  static RedisTestServer server;
  static Path cli;

  @BeforeAll
  static void start() {
    Optional<Path> found = Stream.of(System.getenv("PATH").split(java.io.File.pathSeparator))
        .map(d -> Path.of(d, "redis-cli")).filter(Files::isExecutable).findFirst();
    Assumptions.assumeTrue(found.isPresent(), "redis-cli is not installed: .ci/run installs redis-tools");
    cli = found.get();
    server = RedisTestServer.start();
  }

  @AfterAll
  static void stop() throws Exception {
    if (server != null) {
      server.close();
    }
  }

  /** Runs redis-cli with {@code args} (and {@code stdin}); its standard output and error together. */
  static String run(String stdin, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of(cli.toString(), "-h", "127.0.0.1", "-p",
        String.valueOf(server.port()), "--no-auth-warning", "-a", RedisTestServer.ADMIN));
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    if (stdin != null) {
      p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
    }
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    return out.strip();
  }

  @Test
  void addsReadsAndErrorsAsRedisCliShowsThem() throws Exception {
    assertThat(run(null, "PING")).isEqualTo("PONG");
    assertThat(run(null, "XADD", "cli-s", "*", "payload", "hello world")).isEqualTo("1-0");
    assertThat(run(null, "XADD", "cli-s", "*", "user", "ann", "n", "2")).isEqualTo("2-0");
    assertThat(run(null, "XLEN", "cli-s")).isEqualTo("2");
    assertThat(run(null, "XRANGE", "cli-s", "-", "+")).isEqualTo(
        String.join("\n", "1-0", "payload", "hello world", "2-0", "user", "ann", "n", "2"));
    assertThat(run(null, "XGROUP", "CREATE", "cli-s", "g", "0")).isEqualTo("OK");
    assertThat(run(null, "XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "cli-s", ">"))
        .isEqualTo(String.join("\n", "cli-s", "1-0", "payload", "hello world"));
    assertThat(run(null, "XACK", "cli-s", "g", "1-0")).isEqualTo("1");
    assertThat(run(null, "XADD", "cli-s", "*", "payload")).isEqualTo("ERR wrong number of arguments for 'xadd' command");
    assertThat(run(null, "HGET", "h", "f")).startsWith("ERR unknown command 'HGET'");
    assertThat(run(null, "-3", "HELLO", "3")).contains("server", "redis", "proto", "3");
    assertThat(run(null, "INFO", "spool")).contains("# Spool", "streams:");
  }

  @Test
  void aPipeOfTenThousandAddsArrivesWhole() throws Exception {
    StringBuilder in = new StringBuilder();
    for (int i = 0; i < 10_000; i++) {
      in.append(new String(RawResp.encode("XADD", "cli-pipe", "*", "payload", "line " + i + " " + "p".repeat(1000)),
          StandardCharsets.UTF_8));
    }
    String out = run(in.toString(), "--pipe");
    assertThat(out).contains("errors: 0, replies: 10000");
    assertThat(run(null, "XLEN", "cli-pipe")).isEqualTo("10000");
    assertThat(run(null, "XREVRANGE", "cli-pipe", "+", "-", "COUNT", "1")).startsWith("10000-0\npayload\nline 9999 ");
  }

  @Test
  void aBlockedReadIsWokenByAnotherClient() throws Exception {
    run(null, "XADD", "cli-block", "*", "payload", "first");
    Process reader = new ProcessBuilder(cli.toString(), "-h", "127.0.0.1", "-p", String.valueOf(server.port()),
        "--no-auth-warning", "-a", RedisTestServer.ADMIN, "XREAD", "BLOCK", "10000", "STREAMS", "cli-block", "$")
        .redirectErrorStream(true).start();
    Thread.sleep(300);
    run(null, "XADD", "cli-block", "*", "payload", "second");
    assertThat(reader.waitFor(5, TimeUnit.SECONDS)).isTrue();
    String out = new String(reader.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    assertThat(out).isEqualTo(String.join("\n", "cli-block", "2-0", "payload", "second"));
  }
}
