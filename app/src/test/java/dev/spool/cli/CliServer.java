package dev.spool.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spool.app.Main;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.CoordinatedShutdown;
import picocli.CommandLine;

/**
 * The service as an operator runs it ({@link Main#init}, no tokens configured, so it generates an
 * admin token into its data directory) on a free port, and the command line run in-process against
 * it with captured output. The command line finds the URL and token as it would on the service's
 * machine: {@code SPOOL_URL} and the data directory's token file.
 */
final class CliServer {

  /**
   * One run of the command line.
   *
   * @param exit its exit code
   * @param out what it printed on standard output
   * @param err what it printed on standard error
   */
  record Run(int exit, String out, String err) {
    JsonNode json() {
      try {
        return ApiClient.JSON.readTree(out);
      } catch (IOException e) {
        throw new AssertionError("not JSON (exit " + exit + "): " + out + err, e);
      }
    }

    /** Standard output as one JSON document per line, as {@code consume --json} prints deliveries. */
    java.util.List<JsonNode> jsonLines() {
      return out.lines().map(line -> {
        try {
          return ApiClient.JSON.readTree(line);
        } catch (IOException e) {
          throw new AssertionError("not JSON (exit " + exit + "): " + line, e);
        }
      }).toList();
    }

    @Override
    public String toString() {
      return "exit " + exit + "\n--- out\n" + out + "--- err\n" + err;
    }
  }

  final Main.Service service;
  final Path dataDir;
  final String url;
  final String token;

  private CliServer(Main.Service service, Path dataDir, String token) {
    this.service = service;
    this.dataDir = dataDir;
    this.url = service.http().url();
    this.token = token;
  }

  /** The service with no tokens configured: it generates an admin token into its data directory. */
  static CliServer start() throws IOException {
    Path dataDir = Files.createTempDirectory("spool-cli-test");
    Main.Service service = Main.init(config(dataDir, ConfigFactory.empty()));
    return new CliServer(service, dataDir, Files.readString(dataDir.resolve(SpoolCli.TOKEN_FILE)).trim());
  }

  /** The service with {@code tokens} configured (as {@code spool.http.auth.tokens}); {@code admin} is one of them. */
  static CliServer startWithTokens(Config tokens, String admin) throws IOException {
    Path dataDir = Files.createTempDirectory("spool-cli-test");
    return new CliServer(Main.init(config(dataDir, tokens)), dataDir, admin);
  }

  private static Config config(Path dataDir, Config overrides) {
    return ConfigFactory.load(overrides
        .withFallback(ConfigFactory.parseMap(Map.of("spool.data-dir", dataDir.toString(), "spool.http.port", 0)))
        .withFallback(ConfigFactory.parseResourcesAnySyntax("application")));
  }

  /** The environment of a shell on the service's machine: the URL, and the data directory holding the token. */
  Map<String, String> env() {
    Map<String, String> env = new HashMap<>();
    env.put("SPOOL_URL", url);
    env.put("SPOOL_DATA_DIR", dataDir.toString());
    return env;
  }

  Run run(String... args) {
    return run(env(), "", args);
  }

  Run runWithInput(String stdin, String... args) {
    return run(env(), stdin, args);
  }

  /** Runs the command line; its output never holds the (admin) token, whatever it did. */
  Run run(Map<String, String> env, String stdin, String... args) {
    SpoolCli cli = new SpoolCli(env, new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
    CommandLine commandLine = SpoolCli.commandLine(cli);
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    commandLine.setOut(new PrintWriter(out, true));
    commandLine.setErr(new PrintWriter(err, true));
    Run run = new Run(commandLine.execute(args), out.toString(), err.toString());
    if (run.out.contains(token) || run.err.contains(token)) {
      throw new AssertionError("the token was printed: " + String.join(" ", args));
    }
    return run;
  }

  void stop() throws Exception {
    CoordinatedShutdown.get(service.spool().system()).runAll(CoordinatedShutdown.unknownReason())
        .toCompletableFuture().get(30, TimeUnit.SECONDS);
    try (var files = Files.walk(dataDir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> {
        try {
          Files.delete(p);
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    }
  }
}
