package dev.spool.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code spool consumers}: a queue's consumers, their positions and lag, and what operators do to them. */
@Command(name = "consumers", mixinStandardHelpOptions = true, subcommands = ConsumersCommand.Create.class,
    description = "List, show, create, delete, pause, resume and seek consumers; show their lag.")
final class ConsumersCommand implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() {
    throw new CommandLine.ParameterException(spec.commandLine(),
        "name a subcommand: list, show, create, delete, pause, resume, seek or lag");
  }

  static String path(String queue) {
    return "api/v1/queues/" + ApiClient.segment(queue) + "/consumers";
  }

  static String path(String queue, String consumer) {
    return path(queue) + "/" + ApiClient.segment(consumer);
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "A queue's consumers with position, lag and state.")
  int list(@Parameters(paramLabel = "QUEUE", description = "the queue") String queue) {
    SpoolCli cli = SpoolCli.of(spec);
    JsonNode consumers = cli.api().get(path(queue));
    if (cli.json()) {
      Output.json(cli.out(), consumers);
      return ExitCodes.OK;
    }
    Table table = new Table("NAME", "CURSOR", "COMMITTED", "LAG", "LAG-AGE-MS", "IN-FLIGHT", "PREFETCH", "STATE",
        "PAUSED", "BREAKER", "SUBSCRIBERS");
    for (JsonNode c : consumers) {
      table.row(c.path("name").asText(), c.path("cursor").asLong(), c.path("committed").asLong(), c.path("lag").asLong(),
          c.path("lagAgeMs").asLong(), c.path("inFlight").asInt(), c.path("prefetch").asInt(),
          c.path("deliveryState").asText(), c.path("paused").asBoolean(), c.path("breaker").asText(),
          c.path("subscribers").asInt());
    }
    table.print(cli.out());
    return ExitCodes.OK;
  }

  @Command(name = "show", mixinStandardHelpOptions = true, description = "A consumer's position, state, counters and settings.")
  int show(@Parameters(paramLabel = "QUEUE", description = "the queue") String queue,
      @Parameters(paramLabel = "CONSUMER", description = "the consumer") String consumer) {
    return printConsumer(SpoolCli.of(spec).api().get(path(queue, consumer)));
  }

  @Command(name = "delete", mixinStandardHelpOptions = true,
      description = {"Delete a consumer and its position.", "With --json: prints nothing (the API answers 204)."})
  int delete(@Parameters(paramLabel = "QUEUE", description = "the queue") String queue,
      @Parameters(paramLabel = "CONSUMER", description = "the consumer") String consumer) {
    SpoolCli cli = SpoolCli.of(spec);
    cli.api().delete(path(queue, consumer));
    if (!cli.json()) {
      cli.out().println("deleted consumer " + consumer + " of " + queue);
      cli.out().flush();
    }
    return ExitCodes.OK;
  }

  @Command(name = "pause", mixinStandardHelpOptions = true, description = "Stop delivering, keeping the position.")
  int pause(@Parameters(paramLabel = "QUEUE", description = "the queue") String queue,
      @Parameters(paramLabel = "CONSUMER", description = "the consumer") String consumer) {
    return changed("paused", SpoolCli.of(spec).api().post(path(queue, consumer) + "/pause", null));
  }

  @Command(name = "resume", mixinStandardHelpOptions = true, description = "Deliver again after a pause.")
  int resume(@Parameters(paramLabel = "QUEUE", description = "the queue") String queue,
      @Parameters(paramLabel = "CONSUMER", description = "the consumer") String consumer) {
    return changed("resumed", SpoolCli.of(spec).api().post(path(queue, consumer) + "/resume", null));
  }

  @Command(name = "seek", mixinStandardHelpOptions = true,
      description = "Move the cursor; deliveries in flight are dropped and the consumer starts again from there.")
  int seek(@Parameters(paramLabel = "QUEUE", description = "the queue") String queue,
      @Parameters(paramLabel = "CONSUMER", description = "the consumer") String consumer,
      @Parameters(paramLabel = "POSITION", description = "earliest, latest, sequence:N or time:2026-01-01T00:00:00Z")
      String position) {
    ObjectNode body = ApiClient.JSON.createObjectNode().put("to", position);
    return changed("moved", SpoolCli.of(spec).api().post(path(queue, consumer) + "/seek", body));
  }

  @Command(name = "lag", mixinStandardHelpOptions = true,
      description = {"Lag of every consumer (GET /api/v1/stats/lag), or of one queue's (GET …/consumers).",
          "With --json: that API's answer."})
  int lag(@Parameters(paramLabel = "QUEUE", arity = "0..1", description = "only this queue's consumers") String queue) {
    SpoolCli cli = SpoolCli.of(spec);
    JsonNode answer = cli.api().get(queue == null ? "api/v1/stats/lag" : path(queue));
    if (cli.json()) {
      Output.json(cli.out(), answer);
      return ExitCodes.OK;
    }
    Table table = new Table("QUEUE", "CONSUMER", "LAG", "LAG-AGE-MS");
    for (JsonNode c : queue == null ? answer.path("consumers") : answer) {
      table.row(c.path("queue").asText(), c.has("consumer") ? c.path("consumer").asText() : c.path("name").asText(),
          c.path("lag").asLong(), c.path("lagAgeMs").asLong());
    }
    table.print(cli.out());
    if (queue == null) {
      cli.out().println("consumers " + answer.path("totalConsumers").asLong() + ", max lag "
          + answer.path("maxLag").asLong() + ", average lag " + answer.path("avgLag").asDouble());
      cli.out().flush();
    }
    return ExitCodes.OK;
  }

  private int changed(String what, JsonNode consumer) {
    SpoolCli cli = SpoolCli.of(spec);
    if (cli.json()) {
      Output.json(cli.out(), consumer);
    } else {
      cli.out().println(what + " consumer " + consumer.path("name").asText() + " of " + consumer.path("queue").asText()
          + ": cursor " + consumer.path("cursor").asLong() + ", lag " + consumer.path("lag").asLong()
          + (consumer.path("paused").asBoolean() ? ", paused" : ""));
      cli.out().flush();
    }
    return ExitCodes.OK;
  }

  private int printConsumer(JsonNode consumer) {
    SpoolCli cli = SpoolCli.of(spec);
    if (cli.json()) {
      Output.json(cli.out(), consumer);
    } else {
      Output.fields(cli.out(), consumer);
    }
    return ExitCodes.OK;
  }

  /** {@code spool consumers create}: {@code PUT …/consumers/{c}}; settings not given take the server's defaults. */
  @Command(name = "create", mixinStandardHelpOptions = true,
      description = {"Create a consumer. Creating it again with the same settings succeeds and changes nothing;",
          "with other settings the API refuses (exit 4)."})
  static final class Create implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "QUEUE", description = "the queue")
    String queue;

    @Parameters(index = "1", paramLabel = "CONSUMER", description = "the consumer's name")
    String consumer;

    @Option(names = "--start-at", paramLabel = "POSITION", description = "earliest, latest, sequence:N or time:ISO-8601")
    String startAt;

    @Option(names = "--ack-mode", paramLabel = "explicit|none", description = "none: settled once delivered")
    String ackMode;

    @Option(names = "--prefetch", paramLabel = "N", description = "most unacknowledged deliveries in flight")
    Integer prefetch;

    @Option(names = "--ack-timeout", paramLabel = "DURATION", converter = Converters.IsoDuration.class,
        description = "redeliver what is not acknowledged within this")
    String ackTimeout;

    @Option(names = "--max-deliveries", paramLabel = "N", description = "dead-letter after N deliveries")
    Integer maxDeliveries;

    @Option(names = "--filter-type", paramLabel = "TYPE", description = "deliver only messages of this type")
    String filterType;

    @Option(names = "--filter-header", paramLabel = "NAME=VALUE",
        description = "deliver only messages with this header (repeatable)")
    Map<String, String> filterHeaders = new LinkedHashMap<>();

    @Option(names = "--filter", paramLabel = "EXPRESSION",
        description = "deliver only messages for which this CEL expression is true, e.g."
            + " \"headers['region'] in ['eu', 'uk'] && payload.total > 100\"")
    String filterExpression;

    @Option(names = "--inactive-timeout", paramLabel = "DURATION", converter = Converters.IsoDuration.class,
        description = "remove the consumer after this long without activity")
    String inactiveTimeout;

    @Option(names = "--push", paramLabel = "URL",
        description = "push each message to this https endpoint (a push consumer); its secret is printed once")
    String pushEndpoint;

    @Option(names = "--push-max-outstanding", paramLabel = "N", description = "push requests in flight at most")
    Integer pushMaxOutstanding;

    @Option(names = "--push-ack-deadline", paramLabel = "DURATION", converter = Converters.IsoDuration.class,
        description = "how long a push request may take before it is retried")
    String pushAckDeadline;

    @Option(names = "--push-max-retries", paramLabel = "N", description = "retries before a message is dead-lettered")
    Integer pushMaxRetries;

    @Override
    public Integer call() {
      SpoolCli cli = SpoolCli.of(spec);
      ApiClient.Response created = cli.api().put(path(queue, consumer), body());
      if (cli.json()) {
        Output.json(cli.out(), created.body());
      } else {
        cli.out().println((created.status() == 201 ? "created consumer " : "consumer exists with these settings: ")
            + consumer + " of " + queue);
        if (created.body().has("secret")) {
          // Shown once: the service keeps no way to show it again to this token.
          cli.out().println("push signing secret (shown once, keep it): " + created.body().path("secret").asText());
        }
        cli.out().flush();
      }
      return ExitCodes.OK;
    }

    private ObjectNode body() {
      ObjectNode body = ApiClient.JSON.createObjectNode();
      if (startAt != null) {
        body.put("startAt", startAt);
      }
      if (ackMode != null) {
        body.put("ackMode", ackMode);
      }
      if (prefetch != null) {
        body.put("prefetch", prefetch);
      }
      if (ackTimeout != null) {
        body.put("ackTimeout", ackTimeout);
      }
      if (maxDeliveries != null) {
        body.put("maxDeliveries", maxDeliveries);
      }
      if (filterType != null || !filterHeaders.isEmpty() || filterExpression != null) {
        ObjectNode filter = body.putObject("filter");
        if (filterExpression != null) {
          filter.put("expression", filterExpression);
        }
        if (filterType != null) {
          filter.put("type", filterType);
        }
        if (!filterHeaders.isEmpty()) {
          ObjectNode headers = filter.putObject("headers");
          filterHeaders.forEach(headers::put);
        }
      }
      if (inactiveTimeout != null) {
        body.put("inactiveTimeout", inactiveTimeout);
      }
      if (pushEndpoint != null) {
        ObjectNode push = body.putObject("push").put("endpoint", pushEndpoint);
        if (pushMaxOutstanding != null) {
          push.put("maxOutstanding", pushMaxOutstanding);
        }
        if (pushAckDeadline != null) {
          push.put("ackDeadline", pushAckDeadline);
        }
        if (pushMaxRetries != null) {
          push.putObject("retry").put("maxRetries", pushMaxRetries);
        }
      } else if (pushMaxOutstanding != null || pushAckDeadline != null || pushMaxRetries != null) {
        throw new CommandLine.ParameterException(spec.commandLine(), "--push-* options need --push URL");
      }
      return body;
    }
  }
}
