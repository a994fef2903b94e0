package dev.spool.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code spool definitions}: every queue, consumer and token (as hashes) as one JSON document, to keep under version
 * control and import elsewhere ({@code GET} and {@code POST /api/v1/definitions}, admin only).
 */
@Command(name = "definitions", mixinStandardHelpOptions = true,
    description = "Export every queue, consumer and token (as hashes) as one JSON document, or import such a document.")
final class DefinitionsCommand implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() {
    throw new CommandLine.ParameterException(spec.commandLine(), "name a subcommand: export or import");
  }

  @Command(name = "export", mixinStandardHelpOptions = true,
      description = {"Print the definitions document (indented JSON, with or without --json).",
          "spool definitions export > definitions.json"})
  int export() {
    SpoolCli cli = SpoolCli.of(spec);
    JsonNode document = cli.api().get("api/v1/definitions");
    try {
      cli.out().println(ApiClient.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(document));
    } catch (IOException e) {
      throw new CliException(ExitCodes.FAILED, "NotJson", "cannot print the definitions: " + e.getMessage(), e);
    }
    cli.out().flush();
    return ExitCodes.OK;
  }

  @Command(name = "import", mixinStandardHelpOptions = true,
      description = {"Declare every token, queue and consumer of a definitions document; what exists as defined is left alone,",
          "nothing is deleted. Prints what was created, unchanged and refused; exits 4 when any was refused.",
          "A document the API finds bad (a name, a setting, an unknown field) is refused whole and changes nothing."})
  int importDocument(@Parameters(paramLabel = "FILE", description = "the document, or '-' for standard input")
      String file) {
    SpoolCli cli = SpoolCli.of(spec);
    JsonNode report = cli.api().post("api/v1/definitions", read(cli, file));
    JsonNode refused = report.path("refused");
    if (cli.json()) {
      Output.json(cli.out(), report);
    } else {
      cli.out().println("created " + report.path("created").size() + ", unchanged " + report.path("unchanged").size()
          + ", refused " + refused.size());
      for (JsonNode created : report.path("created")) {
        cli.out().println("created " + created.asText());
      }
      cli.out().flush();
    }
    for (JsonNode r : refused) {
      cli.err().println("error: " + r.path("error").asText() + ": " + r.path("definition").asText() + ": "
          + r.path("message").asText());
    }
    cli.err().flush();
    return refused.isEmpty() ? ExitCodes.OK : ExitCodes.REFUSED;
  }

  private static JsonNode read(SpoolCli cli, String file) {
    String name = file.equals("-") ? "standard input" : file;
    JsonNode document;
    try (InputStream in = file.equals("-") ? cli.stdin() : Files.newInputStream(Path.of(file))) {
      document = ApiClient.JSON.readTree(in);
    } catch (IOException e) {
      throw new CliException(ExitCodes.FAILED, "Input", "cannot read " + name + " as JSON: " + e.getMessage(), e);
    }
    if (document == null || document.isMissingNode()) {
      throw new CliException(ExitCodes.FAILED, "Input", name + " is empty: a definitions document is a JSON object");
    }
    return document;
  }
}
