package dev.spool.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code spool gc}: frees now what every consumer has acknowledged, rather than at the janitor's next tick. */
@Command(name = "gc", mixinStandardHelpOptions = true,
    description = "Free what every consumer has acknowledged, now. Prints how many messages were freed.")
final class GcCommand implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() {
    SpoolCli cli = SpoolCli.of(spec);
    JsonNode freed = cli.api().post("api/v1/gc", null);
    if (cli.json()) {
      Output.json(cli.out(), freed);
    } else {
      cli.out().println("freed " + Output.messages(freed.path("freed").asLong()));
      cli.out().flush();
    }
    return ExitCodes.OK;
  }
}
