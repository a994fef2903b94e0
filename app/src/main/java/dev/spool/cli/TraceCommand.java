package dev.spool.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code spool trace}: one message and what happened to it, consumer by consumer. */
@Command(name = "trace", mixinStandardHelpOptions = true,
    description = "One message and its delivery trace: appended, delivered, acked, nacked, dead-lettered …")
final class TraceCommand implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @Parameters(index = "0", paramLabel = "QUEUE", description = "the queue")
  String queue;

  @Parameters(index = "1", paramLabel = "SEQUENCE", description = "the message's sequence")
  long sequence;

  @Override
  public Integer call() {
    SpoolCli cli = SpoolCli.of(spec);
    JsonNode trace = cli.api().get("api/v1/queues/" + ApiClient.segment(queue) + "/messages/" + sequence);
    if (cli.json()) {
      Output.json(cli.out(), trace);
      return ExitCodes.OK;
    }
    PrintWriter out = cli.out();
    JsonNode m = trace.path("message");
    out.println("message " + m.path("sequence").asLong() + " of " + queue + ": id " + m.path("id").asText()
        + ", published " + Instant.ofEpochMilli(m.path("timestamp").asLong()) + " by " + m.path("producerId").asText()
        + (m.path("type").asText().isEmpty() ? "" : ", type " + m.path("type").asText())
        + (m.hasNonNull("key") ? ", key " + m.path("key").asText() : ""));
    out.println("payload " + ConsumeCommand.payload(m));
    Table table = new Table("EVENT", "CONSUMER", "AT", "ATTEMPT", "SUBSCRIBER");
    for (JsonNode e : trace.path("trace")) {
      table.row(e.path("event").asText(), e.path("consumer").asText(null), e.path("at").asText(null),
          e.path("attempt").asInt(), e.path("subscriber").asText(null));
    }
    table.print(out);
    return ExitCodes.OK;
  }
}
