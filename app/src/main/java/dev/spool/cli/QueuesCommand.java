package dev.spool.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code spool queues}: list, show, create, delete and purge queues. */
@Command(name = "queues", mixinStandardHelpOptions = true, subcommands = QueuesCommand.Create.class,
    description = "List, show, create, delete and purge queues.")
final class QueuesCommand implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() {
    throw new CommandLine.ParameterException(spec.commandLine(), "name a subcommand: list, show, create, delete or purge");
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "Every queue with its depth and settings.")
  int list() {
    SpoolCli cli = SpoolCli.of(spec);
    JsonNode queues = cli.api().get("api/v1/queues");
    if (cli.json()) {
      Output.json(cli.out(), queues);
      return ExitCodes.OK;
    }
    Table table = new Table("NAME", "DURABILITY", "DEPTH", "BYTES", "FIRST", "LAST", "CONSUMERS", "PARTITIONS",
        "DEAD-LETTER");
    for (JsonNode q : queues) {
      JsonNode settings = q.path("settings");
      JsonNode stats = q.path("stats");
      table.row(q.path("name").asText(), settings.path("durability").asText(), stats.path("depth").asLong(),
          stats.path("bytes").asLong(), stats.path("firstSequence").asLong(), stats.path("lastSequence").asLong(),
          stats.path("consumers").asLong(), settings.path("partitions").asInt(1),
          settings.path("deadLetter").path("queue").asText(null));
    }
    table.print(cli.out());
    return ExitCodes.OK;
  }

  @Command(name = "show", mixinStandardHelpOptions = true, description = "A queue's settings and figures.")
  int show(@Parameters(paramLabel = "QUEUE", description = "the queue") String queue) {
    SpoolCli cli = SpoolCli.of(spec);
    JsonNode info = cli.api().get("api/v1/queues/" + ApiClient.segment(queue));
    if (cli.json()) {
      Output.json(cli.out(), info);
    } else {
      Output.fields(cli.out(), info);
    }
    return ExitCodes.OK;
  }

  @Command(name = "delete", mixinStandardHelpOptions = true,
      description = {"Delete a queue with its messages and consumers.", "With --json: prints nothing (the API answers 204)."})
  int delete(@Parameters(paramLabel = "QUEUE", description = "the queue") String queue) {
    SpoolCli cli = SpoolCli.of(spec);
    cli.api().delete("api/v1/queues/" + ApiClient.segment(queue));
    if (!cli.json()) {
      cli.out().println("deleted queue " + queue);
      cli.out().flush();
    }
    return ExitCodes.OK;
  }

  @Command(name = "purge", mixinStandardHelpOptions = true,
      description = {"Remove every message a queue retains, keeping its settings and consumers (admin).",
          "Consumers count what they had not acknowledged as dropped. With --json: {\"purged\": n}."})
  int purge(@Parameters(paramLabel = "QUEUE", description = "the queue") String queue) {
    SpoolCli cli = SpoolCli.of(spec);
    JsonNode purged = cli.api().deleteForAnswer("api/v1/queues/" + ApiClient.segment(queue) + "/messages");
    if (cli.json()) {
      Output.json(cli.out(), purged);
    } else {
      cli.out().println("purged " + Output.messages(purged.path("purged").asLong()) + " from " + queue);
    }
    cli.out().flush();
    return ExitCodes.OK;
  }

  /** {@code spool queues create}: {@code PUT /queues/{q}} with the settings given; absent ones take the server's defaults. */
  @Command(name = "create", mixinStandardHelpOptions = true,
      description = {"Create a queue. Creating it again with the same settings succeeds and changes nothing;",
          "with other settings the API refuses (exit 4). Settings not given take the server's defaults."})
  static final class Create implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "QUEUE", description = "the queue's name")
    String queue;

    @Option(names = "--durability", paramLabel = "transient|persistent", description = "persistent queues are journaled")
    String durability;

    @Option(names = "--ttl", paramLabel = "DURATION", converter = Converters.IsoDuration.class,
        description = "how long a message lives, e.g. 30s, 5m, 7d or PT30S")
    String ttl;

    @Option(names = "--max-length", paramLabel = "N", description = "most messages retained (0: unbounded)")
    Long maxLength;

    @Option(names = "--max-bytes", paramLabel = "SIZE", converter = Converters.ByteSize.class,
        description = "most bytes retained, e.g. 64m (0: unbounded)")
    Long maxBytes;

    @Option(names = "--overflow", paramLabel = "reject|drop-oldest",
        description = "what a publish past the bounds does")
    String overflow;

    @Option(names = "--dead-letter", paramLabel = "QUEUE[:MAX_DELIVERIES]",
        description = "where failed messages go, and after how many deliveries")
    String deadLetter;

    @Option(names = "--partitions", paramLabel = "N", description = "split the queue into N partitions")
    Integer partitions;

    @Option(names = "--max-priority", paramLabel = "1-9",
        description = "deliver higher message priorities first, up to this one")
    Integer maxPriority;

    @Option(names = "--retention", paramLabel = "DURATION", converter = Converters.IsoDuration.class,
        description = "keep acknowledged messages this long")
    String retention;

    @Option(names = "--dedup-window", paramLabel = "DURATION", converter = Converters.IsoDuration.class,
        description = "drop a message whose id was seen within this")
    String dedupWindow;

    @Option(names = "--compression", paramLabel = "CODEC", description = "compression at rest (persistent queues)")
    String compression;

    @Override
    public Integer call() {
      SpoolCli cli = SpoolCli.of(spec);
      if (maxPriority != null && (maxPriority < 1 || maxPriority > 9)) {
        throw new CommandLine.ParameterException(spec.commandLine(), "--max-priority must be between 1 and 9");
      }
      ApiClient.Response created = cli.api().put("api/v1/queues/" + ApiClient.segment(queue), body());
      if (cli.json()) {
        Output.json(cli.out(), created.body());
      } else {
        cli.out().println((created.status() == 201 ? "created queue " : "queue exists with these settings: ") + queue);
        cli.out().flush();
      }
      return ExitCodes.OK;
    }

    private ObjectNode body() {
      ObjectNode body = ApiClient.JSON.createObjectNode();
      putIfGiven(body, "durability", durability);
      putIfGiven(body, "ttl", ttl);
      if (maxLength != null) {
        body.put("maxLength", maxLength);
      }
      if (maxBytes != null) {
        body.put("maxBytes", maxBytes);
      }
      putIfGiven(body, "overflow", overflow);
      if (deadLetter != null) {
        body.set("deadLetter", deadLetter(deadLetter));
      }
      if (partitions != null) {
        body.put("partitions", partitions);
      }
      if (maxPriority != null) {
        body.put("maxPriority", maxPriority);
      }
      putIfGiven(body, "retention", retention);
      putIfGiven(body, "dedupWindow", dedupWindow);
      putIfGiven(body, "compression", compression);
      return body;
    }

    private ObjectNode deadLetter(String value) {
      ObjectNode dl = ApiClient.JSON.createObjectNode();
      int colon = value.lastIndexOf(':');
      if (colon < 0) {
        return dl.put("queue", value);
      }
      dl.put("queue", value.substring(0, colon));
      try {
        return dl.put("maxDeliveries", Integer.parseInt(value.substring(colon + 1)));
      } catch (NumberFormatException e) {
        throw new CommandLine.ParameterException(spec.commandLine(), "--dead-letter is QUEUE or QUEUE:MAX_DELIVERIES,"
            + " with a whole number after the colon, not '" + value + "'");
      }
    }

    private static void putIfGiven(ObjectNode body, String field, String value) {
      if (value != null) {
        body.put(field, value);
      }
    }
  }
}
