package dev.spool.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code spool stale}: consumers nobody reads through any more, and removing them. */
@Command(name = "stale", mixinStandardHelpOptions = true, description = "List and remove stale consumers.")
final class StaleCommand implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() {
    throw new CommandLine.ParameterException(spec.commandLine(), "name a subcommand: list or cleanup");
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "Consumers idle for at least --idle.")
  int list(@Option(names = "--idle", paramLabel = "DURATION", converter = Converters.IsoDuration.class,
      description = "idle this long (default: the server's spool.janitor.stale-after)") String idle) {
    SpoolCli cli = SpoolCli.of(spec);
    JsonNode stale = cli.api().get("api/v1/consumers/stale" + (idle == null ? "" : "?idle=" + ApiClient.query(idle)));
    if (cli.json()) {
      Output.json(cli.out(), stale);
      return ExitCodes.OK;
    }
    Table table = new Table("QUEUE", "CONSUMER", "LAG", "IDLE-FOR", "LAST-ACTIVITY");
    for (JsonNode s : stale) {
      table.row(s.path("queue").asText(), s.path("consumer").asText(), s.path("lag").asLong(),
          s.path("idleFor").asText(), s.path("lastActivity").asText());
    }
    table.print(cli.out());
    return ExitCodes.OK;
  }

  @Command(name = "cleanup", mixinStandardHelpOptions = true,
      description = {"Remove consumers stale for --idle whose lag exceeds --lag-threshold.",
          "Prints how many were removed and, when the service names them, which (queue, consumer, lag, idle for).",
          "With --json: the API's answer, {\"removed\": n, \"consumers\": [...]}."})
  int cleanup(
      @Option(names = "--idle", paramLabel = "DURATION", converter = Converters.IsoDuration.class,
          description = "stale this long (default: the server's spool.janitor.stale-after)") String idle,
      @Option(names = "--lag-threshold", paramLabel = "N", description = "only those lagging more than N (default 0)")
      Long lagThreshold) {
    SpoolCli cli = SpoolCli.of(spec);
    ObjectNode body = ApiClient.JSON.createObjectNode();
    if (idle != null) {
      body.put("idle", idle);
    }
    if (lagThreshold != null) {
      body.put("lagThreshold", lagThreshold);
    }
    JsonNode removed = cli.api().post("api/v1/consumers/stale/cleanup", body);
    if (cli.json()) {
      Output.json(cli.out(), removed);
    } else {
      long count = removed.path("removed").asLong();
      cli.out().println("removed " + count + (count == 1 ? " stale consumer" : " stale consumers"));
      // A service from before the answer named them gives the count alone.
      if (removed.path("consumers").isArray() && !removed.path("consumers").isEmpty()) {
        Table table = new Table("QUEUE", "CONSUMER", "LAG", "IDLE-FOR");
        for (JsonNode c : removed.path("consumers")) {
          table.row(c.path("queue").asText(), c.path("consumer").asText(), c.path("lag").asLong(),
              c.path("idleFor").asText());
        }
        table.print(cli.out());
      }
      cli.out().flush();
    }
    return ExitCodes.OK;
  }
}
