package dev.spool.cli;

import dev.spool.Spool;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/**
 * The {@code spool} command line: operates a Spool service through its HTTP API only, so it works
 * the same against a service on this machine or elsewhere. It holds the options every command
 * shares (where the service is, its token, {@code --json}) and maps failures to exit codes; each
 * command is a class of its own.
 */
@Command(name = "spool",
    mixinStandardHelpOptions = true,
    versionProvider = SpoolCli.Version.class,
    description = "Operate a Spool service through its HTTP API.",
    subcommands = {
        StatusCommand.class, QueuesCommand.class, PublishCommand.class, ConsumeCommand.class,
        ConsumersCommand.class, StaleCommand.class, DlqCommand.class, TraceCommand.class, MemoryCommand.class,
        GcCommand.class, EventsCommand.class, DefinitionsCommand.class, CompletionCommand.class},
    footerHeading = "%nConnection:%n",
    footer = {
        "The URL is --url, else SPOOL_URL, else " + SpoolCli.DEFAULT_URL + ".",
        "The token is --token, else SPOOL_TOKEN, else (only when the URL is a loopback address) the admin token the"
            + " service generated in its data directory: the file admin-token in --data-dir, else SPOOL_DATA_DIR,"
            + " else ./data.",
        "The token is sent only in the Authorization header and never printed."},
    exitCodeListHeading = "%nExit codes:%n",
    exitCodeList = {
        "0:ok",
        "1:any other failure (an unreadable file, an answer that is not JSON)",
        "2:usage error: unknown command, option or value",
        "3:not found: the API answered 404 (queue, consumer, message)",
        "4:refused: the API answered 400, 401, 403, 409, 413 or 429, or refused a definition of an import",
        "5:unavailable: connection refused, timeout, 5xx, or (status) not ready"})
public final class SpoolCli implements Callable<Integer> {

  static final String DEFAULT_URL = "http://127.0.0.1:8080";
  /** The service's {@code spool.http.auth.token-file} default. */
  static final String TOKEN_FILE = "admin-token";

  @Spec
  CommandSpec spec;

  @Option(names = "--url", scope = ScopeType.INHERIT, paramLabel = "URL",
      description = "The service's URL (default: SPOOL_URL, else " + DEFAULT_URL + ").")
  String url;

  @Option(names = "--token", scope = ScopeType.INHERIT, paramLabel = "TOKEN",
      description = "The bearer token (default: SPOOL_TOKEN, else the data directory's admin token on this machine).")
  String token;

  @Option(names = "--data-dir", scope = ScopeType.INHERIT, paramLabel = "DIR",
      description = "The service's data directory, for its generated admin token (default: SPOOL_DATA_DIR, else ./data).")
  Path dataDir;

  @Option(names = "--json", scope = ScopeType.INHERIT,
      description = "Print the API's JSON instead of tables, for scripts.")
  boolean json;

  @Option(names = "--timeout", scope = ScopeType.INHERIT, paramLabel = "SECONDS", defaultValue = "30",
      description = "How long a request may take (default: ${DEFAULT-VALUE} s; a consume's wait comes on top).")
  int timeoutSeconds;

  private final Map<String, String> env;
  private final InputStream stdin;
  private ApiClient api;

  /** The command line of this process: its environment and standard input. */
  public SpoolCli() {
    this(System.getenv(), System.in);
  }

  SpoolCli(Map<String, String> env, InputStream stdin) {
    this.env = env;
    this.stdin = stdin;
  }

  public static void main(String[] args) {
    System.exit(commandLine(new SpoolCli()).execute(args));
  }

  /** The command line of {@code cli}, with failures printed as {@code error: CODE: message} and mapped to exit codes. */
  static CommandLine commandLine(SpoolCli cli) {
    CommandLine commandLine = new CommandLine(cli).setCaseInsensitiveEnumValuesAllowed(true);
    commandLine.setExecutionExceptionHandler((e, cmd, parsed) -> {
      PrintWriter err = cmd.getErr();
      if (e instanceof CliException c) {
        err.println("error: " + c.code() + ": " + c.getMessage());
        err.flush();
        return c.exitCode();
      }
      err.println("error: " + e.getClass().getSimpleName() + ": " + e.getMessage());
      err.flush();
      return ExitCodes.FAILED;
    });
    return commandLine;
  }

  /** {@code spool} alone: a command is missing, which is a usage error. */
  @Override
  public Integer call() {
    throw new CommandLine.ParameterException(spec.commandLine(), "name a command");
  }

  /** The root of the command {@code spec} belongs to. */
  static SpoolCli of(CommandSpec spec) {
    return (SpoolCli) spec.root().userObject();
  }

  PrintWriter out() {
    return spec.commandLine().getOut();
  }

  PrintWriter err() {
    return spec.commandLine().getErr();
  }

  boolean json() {
    return json;
  }

  InputStream stdin() {
    return stdin;
  }

  /** The API, at the URL and with the token the options, the environment or the data directory give. */
  ApiClient api() {
    if (api == null) {
      URI base = baseUrl();
      api = new ApiClient(base, resolveToken(base), Duration.ofSeconds(Math.max(1, timeoutSeconds)));
    }
    return api;
  }

  private URI baseUrl() {
    String text = url != null ? url : env.getOrDefault("SPOOL_URL", DEFAULT_URL);
    try {
      URI uri = URI.create(text.endsWith("/") ? text : text + "/");
      if (uri.getHost() == null || !("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))) {
        throw new IllegalArgumentException("not an http(s) URL");
      }
      return uri;
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(),
          "'" + text + "' is not the service's URL, such as " + DEFAULT_URL);
    }
  }

  private String resolveToken(URI base) {
    if (token != null && !token.isBlank()) {
      return token.trim();
    }
    String fromEnv = env.get("SPOOL_TOKEN");
    if (fromEnv != null && !fromEnv.isBlank()) {
      return fromEnv.trim();
    }
    // The generated admin token is only good for the service on this machine: never sent elsewhere.
    if (!isLoopback(base.getHost())) {
      return null;
    }
    Path dir = dataDir != null ? dataDir : Path.of(env.getOrDefault("SPOOL_DATA_DIR", "./data"));
    Path file = dir.resolve(TOKEN_FILE);
    if (!Files.isReadable(file)) {
      return null;
    }
    try {
      String saved = Files.readString(file, StandardCharsets.UTF_8).trim();
      return saved.isEmpty() ? null : saved;
    } catch (IOException e) {
      throw new CliException(ExitCodes.FAILED, "TokenFile", "cannot read the admin token file " + file + ": "
          + e.getMessage(), e);
    }
  }

  private static boolean isLoopback(String host) {
    try {
      return InetAddress.getByName(host).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false;
    }
  }

  /** {@code --version}: the version of the jar this command line came in. */
  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"spool " + Spool.version()};
    }
  }
}
