package dev.spool.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.StringJoiner;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code spool dlq}: dead-letter queues, what is in them and why, and moving messages back. A
 * dead-letter queue is any queue some queue names as its {@code deadLetter} target.
 */
@Command(name = "dlq", mixinStandardHelpOptions = true, subcommands = DlqCommand.Redrive.class,
    description = "List dead-letter queues, show their messages with the reasons, redrive them.")
final class DlqCommand implements Callable<Integer> {

  /** The header the engine sets on a dead-lettered message to say why: rejected, max-deliveries, expired … */
  private static final String REASON = "x-death-reason";
  /** The header naming the queue a dead letter came from, where redrive sends it back. */
  static final String SOURCE = "x-death-queue";

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() {
    throw new CommandLine.ParameterException(spec.commandLine(), "name a subcommand: list, show or redrive");
  }

  @Command(name = "list", mixinStandardHelpOptions = true,
      description = {"Queues that are some queue's dead-letter target, with their depth.",
          "With --json: those queues' entries of GET /api/v1/health."})
  int list() {
    SpoolCli cli = SpoolCli.of(spec);
    ArrayNode dlqs = ApiClient.JSON.createArrayNode();
    for (JsonNode q : cli.api().get("api/v1/health").path("queues")) {
      if (!q.path("deadLetterFor").isEmpty()) {
        dlqs.add(q);
      }
    }
    if (cli.json()) {
      Output.json(cli.out(), dlqs);
      return ExitCodes.OK;
    }
    Map<String, Long> depths = new HashMap<>();
    for (JsonNode q : cli.api().get("api/v1/queues")) {
      depths.put(q.path("name").asText(), q.path("stats").path("depth").asLong());
    }
    Table table = new Table("QUEUE", "DEPTH", "DEAD-LETTER-FOR", "STATUS");
    for (JsonNode q : dlqs) {
      String sources = StreamSupport.stream(q.path("deadLetterFor").spliterator(), false).map(JsonNode::asText)
          .collect(Collectors.joining(","));
      table.row(q.path("queue").asText(), depths.get(q.path("queue").asText()), sources, q.path("status").asText());
    }
    table.print(cli.out());
    return ExitCodes.OK;
  }

  @Command(name = "show", mixinStandardHelpOptions = true,
      description = {"The newest messages of a dead-letter queue, where each came from and why, and how many carry each reason.",
          "With --json: {\"reasons\": GET …/headers/x-death-reason, \"page\": GET …/browse}."})
  int show(@Parameters(paramLabel = "QUEUE", description = "the dead-letter queue") String queue,
      @Option(names = "--limit", paramLabel = "N", defaultValue = "20",
          description = "the newest N messages (default ${DEFAULT-VALUE})") int limit,
      @Option(names = "--reason", paramLabel = "REASON", description = "only messages dead-lettered for REASON")
      String reason) {
    SpoolCli cli = SpoolCli.of(spec);
    String base = "api/v1/queues/" + ApiClient.segment(queue);
    JsonNode reasons = cli.api().get(base + "/headers/" + REASON);
    JsonNode page = cli.api().get(base + "/browse?direction=backward&limit=" + limit
        + (reason == null ? "" : "&header=" + ApiClient.query(REASON + ":" + reason)));
    if (cli.json()) {
      ObjectNode both = ApiClient.JSON.createObjectNode();
      both.set("reasons", reasons);
      both.set("page", page);
      Output.json(cli.out(), both);
      return ExitCodes.OK;
    }
    StringJoiner counts = new StringJoiner(", ");
    reasons.path("values").fields().forEachRemaining(e -> counts.add(e.getKey() + " " + e.getValue().asLong()));
    cli.out().println("reasons: " + (counts.length() == 0 ? "none" : counts) + " (of the newest "
        + Output.messages(reasons.path("scanned").asLong()) + ")");
    Table table = new Table("SEQUENCE", "DEAD-LETTERED", "FROM", "CONSUMER", "REASON", "DELIVERIES", "TYPE", "PAYLOAD");
    for (JsonNode m : page.path("messages")) {
      JsonNode h = m.path("headers");
      table.row(m.path("sequence").asLong(), h.path("x-death-time").asText(null),
          h.path("x-death-queue").asText(null), h.path("x-death-consumer").asText(null), h.path(REASON).asText(null),
          h.path("x-death-count").asText(null), m.path("type").asText(), preview(ConsumeCommand.payload(m)));
    }
    table.print(cli.out());
    if (reasons.path("values").isEmpty() && page.path("messages").size() > 0) {
      cli.err().println("note: no message of " + queue + " carries " + REASON + ": it does not look like a dead-letter"
          + " queue");
    }
    return ExitCodes.OK;
  }

  /** Most characters of a payload in the table: a row per message, whatever its size (--json has it whole). */
  static final int PREVIEW = 80;

  static String preview(String payload) {
    return payload.length() <= PREVIEW ? payload : payload.substring(0, PREVIEW - 1) + "…";
  }

  /** {@code spool dlq redrive}: {@code POST /queues/{q}/redrive} with every message or a selection. */
  @Command(name = "redrive", mixinStandardHelpOptions = true,
      description = {"Move dead-lettered messages back to the queues they came from.",
          "Exits 3 (not found) when nothing was moved, saying why: the queue holds no messages, or none of",
          "the selected sequences is held; with --json the API's answer is printed first."})
  static final class Redrive implements Callable<Integer> {

    /** Exactly one of the two. */
    static final class Selection {
      @Option(names = "--all", required = true, description = "every message of the dead-letter queue")
      boolean all;

      @Option(names = "--sequences", required = true, split = ",", paramLabel = "N",
          description = "these dead-letter sequences only (up to 1000)")
      List<Long> sequences;
    }

    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "QUEUE", description = "the dead-letter queue")
    String queue;

    @ArgGroup(multiplicity = "1")
    Selection selection;

    @Override
    public Integer call() {
      SpoolCli cli = SpoolCli.of(spec);
      ObjectNode body = ApiClient.JSON.createObjectNode();
      if (selection.sequences != null) {
        ArrayNode sequences = body.putArray("sequences");
        selection.sequences.forEach(sequences::add);
      }
      String path = "api/v1/queues/" + ApiClient.segment(queue);
      JsonNode answer = cli.api().post(path + "/redrive", body);
      long moved = answer.path("moved").asLong();
      if (cli.json()) {
        Output.json(cli.out(), answer);
      }
      if (moved == 0) {
        // A script that redrives and moves nothing has nothing to wait for: it is told so by the exit code.
        throw new CliException(ExitCodes.NOT_FOUND, "NothingMoved", whyNothingMoved(cli.api().get(path)));
      }
      if (!cli.json()) {
        cli.out().println("moved " + Output.messages(moved) + " from " + queue + " back to their queues");
        cli.out().flush();
      }
      long selected = selection.sequences == null ? 0 : selection.sequences.stream().distinct().count();
      if (moved < selected) {
        cli.err().println("note: " + (selected - moved) + " of the " + selected + " selected sequences were not moved:"
            + " not held in " + queue + ", or their source queue is gone");
        cli.err().flush();
      }
      return ExitCodes.OK;
    }

    /** Why a redrive moved nothing, from what the queue holds now. */
    private String whyNothingMoved(JsonNode info) {
      JsonNode stats = info.path("stats");
      long depth = stats.path("depth").asLong();
      if (depth == 0) {
        return "nothing to redrive: " + queue + " holds no messages";
      }
      String held = queue + " holds " + Output.messages(depth) + ", sequences " + stats.path("firstSequence").asLong()
          + ".." + stats.path("lastSequence").asLong();
      return selection.sequences != null
          ? "nothing moved: none of the selected sequences is held in " + queue + " (" + held + ")"
          : "nothing moved: " + held + ", but none names a source queue that exists (" + DlqCommand.SOURCE + ")";
    }
  }
}
