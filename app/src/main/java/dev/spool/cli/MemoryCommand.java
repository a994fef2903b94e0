package dev.spool.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code spool memory}: retained messages and bytes against the memory threshold, and setting the threshold. */
@Command(name = "memory", mixinStandardHelpOptions = true,
    description = "Retained messages and bytes, per queue and in all, against the memory threshold.")
final class MemoryCommand implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() {
    SpoolCli cli = SpoolCli.of(spec);
    JsonNode memory = cli.api().get("api/v1/stats/memory");
    if (cli.json()) {
      Output.json(cli.out(), memory);
      return ExitCodes.OK;
    }
    PrintWriter out = cli.out();
    long threshold = memory.path("thresholdBytes").asLong();
    out.println("retained   " + memory.path("totalMessages").asLong() + " messages, "
        + memory.path("totalBytes").asLong() + " bytes");
    out.println("threshold  " + (threshold == 0 ? "none" : threshold + " bytes")
        + (memory.path("underPressure").asBoolean() ? " (under pressure)" : ""));
    Table table = new Table("QUEUE", "MESSAGES", "BYTES");
    for (JsonNode q : memory.path("queues")) {
      table.row(q.path("queue").asText(), q.path("messages").asLong(), q.path("bytes").asLong());
    }
    table.print(out);
    return ExitCodes.OK;
  }

  @Command(name = "threshold", mixinStandardHelpOptions = true,
      description = "Set the memory threshold over every queue (0 for none).")
  int threshold(@Parameters(paramLabel = "SIZE", converter = Converters.ByteSize.class,
      description = "bytes, e.g. 536870912 or 512m") long bytes) {
    SpoolCli cli = SpoolCli.of(spec);
    ObjectNode body = ApiClient.JSON.createObjectNode().put("bytes", bytes);
    JsonNode set = cli.api().put("api/v1/stats/memory/threshold", body).body();
    if (cli.json()) {
      Output.json(cli.out(), set);
    } else {
      long threshold = set.path("thresholdBytes").asLong();
      cli.out().println("memory threshold " + (threshold == 0 ? "removed" : "set to " + threshold + " bytes"));
      cli.out().flush();
    }
    return ExitCodes.OK;
  }
}
