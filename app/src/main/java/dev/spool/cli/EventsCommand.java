package dev.spool.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code spool events}: follows Spool's event stream, one line per event. Each connection is opened
 * with a fresh single-use ticket ({@code POST /api/v1/events/ticket}, then
 * {@code GET /api/v1/events?ticket=…}); when the connection drops or the service stops, it connects
 * again with a new ticket, waiting longer after each failure. Events in between are not replayed:
 * the stream is live only.
 */
@Command(name = "events", mixinStandardHelpOptions = true,
    description = {"Follow Spool's events, one line each, reconnecting when the connection drops.",
        "Queues created and deleted, memory and disk alarms, breakers, restarts … Stops after --count events, or on Ctrl-C.",
        "With --json: one {\"event\": name, \"data\": the event} per line."})
final class EventsCommand implements Callable<Integer> {

  private static final Duration FIRST_RETRY = Duration.ofMillis(500);
  private static final Duration LONGEST_RETRY = Duration.ofSeconds(10);

  @Spec
  CommandSpec spec;

  @Option(names = {"-n", "--count"}, paramLabel = "N", description = "stop after N events")
  Long count;

  @Option(names = "--type", paramLabel = "EVENT", description = "only events of this type, e.g. QueueCreated (repeatable)")
  Set<String> types = new LinkedHashSet<>();

  private long printed;

  @Override
  public Integer call() throws InterruptedException {
    if (count != null && count < 1) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--count must be 1 or more");
    }
    SpoolCli cli = SpoolCli.of(spec);
    boolean connectedBefore = false;
    Duration retry = FIRST_RETRY;
    while (true) {
      try {
        follow(cli);
        if (done()) {
          return ExitCodes.OK;
        }
        connectedBefore = true;
        retry = FIRST_RETRY;
      } catch (CliException | UncheckedIOException e) {
        // The first connection's failure is the answer; a later one is a drop to ride out.
        if (!connectedBefore || (e instanceof CliException c && c.exitCode() != ExitCodes.UNAVAILABLE)) {
          throw e;
        }
      }
      cli.err().println("events: disconnected; connecting again in " + retry.toMillis() + " ms"
          + " (events in between are not replayed)");
      cli.err().flush();
      Thread.sleep(retry.toMillis());
      retry = retry.multipliedBy(2).compareTo(LONGEST_RETRY) > 0 ? LONGEST_RETRY : retry.multipliedBy(2);
    }
  }

  private boolean done() {
    return count != null && printed >= count;
  }

  /** One connection, until it ends, breaks or enough events were printed. */
  private void follow(SpoolCli cli) {
    ApiClient api = cli.api();
    String ticket = api.post("api/v1/events/ticket", null).path("ticket").asText();
    try (Stream<String> lines = api.lines("api/v1/events?ticket=" + ApiClient.query(ticket))) {
      Iterator<String> it = lines.iterator();
      String event = "message";
      StringBuilder data = new StringBuilder();
      while (!done() && it.hasNext()) {
        String line = it.next();
        if (line.isEmpty()) {
          if (data.length() > 0 && dispatch(cli, event, data.toString())) {
            return;
          }
          event = "message";
          data.setLength(0);
        } else if (line.startsWith("event:")) {
          event = value(line);
        } else if (line.startsWith("data:")) {
          data.append(data.length() > 0 ? "\n" : "").append(value(line));
        }
        // Comment lines (":" heartbeats) and ids carry nothing to print.
      }
    }
  }

  /** Prints one event; true when it was the stream's {@code end}. */
  private boolean dispatch(SpoolCli cli, String event, String data) {
    if (event.equals("end")) {
      return true;
    }
    if (!types.isEmpty() && !types.contains(event)) {
      return false;
    }
    JsonNode json;
    try {
      json = ApiClient.JSON.readTree(data);
    } catch (IOException e) {
      throw new CliException(ExitCodes.FAILED, "NotJson", "the event " + event + " does not hold JSON", e);
    }
    if (cli.json()) {
      ObjectNode line = ApiClient.JSON.createObjectNode().put("event", event);
      line.set("data", json);
      Output.json(cli.out(), line);
    } else {
      StringBuilder line = new StringBuilder(json.path("at").asText("-")).append("  ").append(event);
      json.fields().forEachRemaining(f -> {
        if (!f.getKey().equals("at") && !f.getValue().isNull()) {
          line.append("  ").append(f.getKey()).append('=')
              .append(f.getValue().isValueNode() ? f.getValue().asText() : f.getValue().toString());
        }
      });
      cli.out().println(line);
      cli.out().flush();
    }
    printed++;
    return false;
  }

  private static String value(String line) {
    String v = line.substring(line.indexOf(':') + 1);
    return v.startsWith(" ") ? v.substring(1) : v;
  }
}
