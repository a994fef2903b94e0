package dev.spool.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code spool publish}: messages from the arguments, from standard input's lines or a file's, sent
 * in batches (each all-or-none on the server) as they are read, so that input of any length takes
 * constant memory.
 */
@Command(name = "publish", mixinStandardHelpOptions = true,
    description = {"Publish messages from the arguments, standard input or a file.",
        "Each argument is one message; with '-' each line of standard input is one, with --file each line of the file.",
        "Blank lines (empty or only white space) are skipped unless --keep-blank-lines is given.",
        "Prints how many were published, their sequence range and how many blank lines were skipped.",
        "With --json: {\"published\": n, \"firstSequence\": a, \"lastSequence\": b, \"skippedBlankLines\": k}.",
        "A refused batch stops the publish; the messages of earlier batches stay published, and the error says how many."})
final class PublishCommand implements Callable<Integer> {

  /**
   * Text gathered into one request at most, besides the batch size: half the server's default body
   * limit ({@code spool.http.max-body}, 8 MiB), leaving room for the JSON around the payloads.
   */
  private static final int MAX_BATCH_CHARS = 4 * 1024 * 1024;

  @Spec
  CommandSpec spec;

  @Parameters(index = "0", paramLabel = "QUEUE", description = "the queue")
  String queue;

  @Parameters(index = "1..*", paramLabel = "PAYLOAD", description = "one message each, or '-' for standard input's lines")
  List<String> payloads = List.of();

  @Option(names = "--file", paramLabel = "FILE", description = "publish each line of FILE")
  Path file;

  @Option(names = "--key", paramLabel = "KEY", description = "the messages' key")
  String key;

  @Option(names = "--header", paramLabel = "NAME=VALUE", description = "a header of every message (repeatable)")
  Map<String, String> headers = new LinkedHashMap<>();

  @Option(names = "--type", paramLabel = "TYPE", description = "the messages' type")
  String type;

  @Option(names = "--content-type", paramLabel = "MIME", description = "the payload's content type (default text/plain)")
  String contentType;

  @Option(names = "--priority", paramLabel = "0-9",
      description = "the messages' priority: higher first on a queue with a maximum priority")
  Integer priority;

  @Option(names = "--delay", paramLabel = "DURATION", converter = Converters.IsoDuration.class,
      description = "deliver the messages no sooner than this after they are appended, e.g. 10m")
  String delay;

  @Option(names = "--deliver-at", paramLabel = "INSTANT",
      description = "deliver the messages no sooner than this ISO-8601 instant, e.g. 2026-12-01T09:00:00Z")
  String deliverAt;

  @Option(names = "--keep-blank-lines",
      description = "publish blank lines of the input as messages too (by default they are skipped and counted)")
  boolean keepBlankLines;

  @Option(names = "--batch-size", paramLabel = "N", defaultValue = "500",
      description = "messages per request (default ${DEFAULT-VALUE})")
  int batchSize;

  private long published;
  /** Blank input lines left out; stays 0 for arguments, which are published as given. */
  private long skippedBlankLines;
  private long firstSequence = Long.MAX_VALUE;
  private long lastSequence = Long.MIN_VALUE;

  @Override
  public Integer call() {
    SpoolCli cli = SpoolCli.of(spec);
    if (batchSize < 1) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--batch-size must be 1 or more");
    }
    if (priority != null && (priority < 0 || priority > 9)) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--priority must be between 0 and 9");
    }
    if (delay != null && deliverAt != null) {
      throw new CommandLine.ParameterException(spec.commandLine(), "give --delay or --deliver-at, not both");
    }
    if (deliverAt != null) {
      try {
        java.time.Instant.parse(deliverAt);
      } catch (java.time.format.DateTimeParseException e) {
        throw new CommandLine.ParameterException(spec.commandLine(),
            "--deliver-at must be an ISO-8601 instant such as 2026-12-01T09:00:00Z, not '" + deliverAt + "'");
      }
    }
    boolean fromStdin = payloads.contains("-");
    int sources = (fromStdin ? 1 : 0) + (file != null ? 1 : 0) + (!fromStdin && !payloads.isEmpty() ? 1 : 0);
    if (sources != 1 || (fromStdin && payloads.size() > 1)) {
      throw new CommandLine.ParameterException(spec.commandLine(),
          "give the messages one way: as arguments, '-' for standard input, or --file");
    }
    String path = "api/v1/queues/" + ApiClient.segment(queue) + "/messages";
    try {
      if (fromStdin) {
        publishLines(cli.api(), path, new InputStreamReader(cli.stdin(), StandardCharsets.UTF_8));
      } else if (file != null) {
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
          publishLines(cli.api(), path, reader);
        }
      } else {
        publish(cli.api(), path, payloads.iterator(), false);
      }
    } catch (IOException | UncheckedIOException e) {
      CliException failure = new CliException(ExitCodes.FAILED, "Input",
          "cannot read " + (file != null ? file : "standard input") + ": " + e.getMessage(), e);
      throw published == 0 ? failure : failure.withContext(publishedBefore());
    } catch (CliException e) {
      throw published == 0 ? e : e.withContext(publishedBefore());
    }
    print(cli);
    return ExitCodes.OK;
  }

  /**
   * Each line a message. A blank line is almost always a trailing newline too many or a spacer in a
   * file, not a message worth delivering: left out and counted, unless {@code --keep-blank-lines}.
   */
  private void publishLines(ApiClient api, String path, Reader reader) {
    publish(api, path, new BufferedReader(reader).lines().iterator(), !keepBlankLines);
  }

  private void publish(ApiClient api, String path, Iterator<String> messages, boolean skipBlank) {
    ArrayNode batch = ApiClient.JSON.createArrayNode();
    long chars = 0;
    while (messages.hasNext()) {
      String payload = messages.next();
      if (skipBlank && payload.isBlank()) {
        skippedBlankLines++;
        continue;
      }
      batch.add(message(payload));
      chars += payload.length();
      if (batch.size() >= batchSize || chars >= MAX_BATCH_CHARS) {
        send(api, path, batch);
        batch = ApiClient.JSON.createArrayNode();
        chars = 0;
      }
    }
    if (!batch.isEmpty()) {
      send(api, path, batch);
    }
  }

  private ObjectNode message(String payload) {
    ObjectNode m = ApiClient.JSON.createObjectNode();
    if (type != null) {
      m.put("type", type);
    }
    if (key != null) {
      m.put("key", key);
    }
    if (!headers.isEmpty()) {
      ObjectNode h = m.putObject("headers");
      headers.forEach(h::put);
    }
    if (contentType != null) {
      m.put("contentType", contentType);
    }
    if (priority != null) {
      m.put("priority", priority);
    }
    if (deliverAt != null) {
      m.put("deliverAt", deliverAt);
    }
    if (delay != null) {
      m.put("delay", delay);
    }
    return m.put("payload", payload);
  }

  private void send(ApiClient api, String path, ArrayNode batch) {
    ObjectNode body = ApiClient.JSON.createObjectNode();
    body.set("messages", batch);
    JsonNode answer = api.post(path, body);
    for (JsonNode sequence : answer.path("sequences")) {
      firstSequence = Math.min(firstSequence, sequence.asLong());
      lastSequence = Math.max(lastSequence, sequence.asLong());
    }
    published += batch.size();
  }

  private String blankLines() {
    return skippedBlankLines + (skippedBlankLines == 1 ? " blank line" : " blank lines");
  }

  private String publishedBefore() {
    return published + (published == 1 ? " message was" : " messages were") + " published before this";
  }

  private void print(SpoolCli cli) {
    if (cli.json()) {
      ObjectNode summary = ApiClient.JSON.createObjectNode().put("published", published);
      if (published > 0) {
        summary.put("firstSequence", firstSequence).put("lastSequence", lastSequence);
      }
      summary.put("skippedBlankLines", skippedBlankLines);
      Output.json(cli.out(), summary);
    } else if (published == 0) {
      cli.out().println("published nothing to " + queue + ": the input "
          + (skippedBlankLines == 0 ? "was empty" : "held only " + blankLines() + " (--keep-blank-lines publishes them)"));
    } else {
      cli.out().println("published " + published + (published == 1 ? " message" : " messages") + " to " + queue
          + ", sequences " + firstSequence + ".." + lastSequence
          + (skippedBlankLines == 0 ? "" : "; skipped " + blankLines()));
    }
    cli.out().flush();
  }
}
