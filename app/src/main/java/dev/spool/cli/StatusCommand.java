package dev.spool.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code spool status}: readiness, alarms and how many queues there are, in one look. */
@Command(name = "status", mixinStandardHelpOptions = true,
    description = {"Readiness (/health/ready), alarms (/api/v1/health) and the queues' count and health.",
        "Exits 5 when the service is not ready, after printing why.",
        "With --json: {\"ready\": /health/ready's answer, \"health\": /api/v1/health's, \"queues\": count}."})
final class StatusCommand implements Callable<Integer> {

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() {
    SpoolCli cli = SpoolCli.of(spec);
    ApiClient api = cli.api();
    ApiClient.Response ready = api.getAnyStatus("health/ready");
    JsonNode health = api.get("api/v1/health");
    int queues = api.get("api/v1/queues").size();
    boolean isReady = ready.status() == 200;
    if (cli.json()) {
      ObjectNode all = ApiClient.JSON.createObjectNode();
      all.set("ready", ready.body());
      all.set("health", health);
      all.put("queues", queues);
      Output.json(cli.out(), all);
    } else {
      print(cli.out(), api, ready.body(), health, queues);
    }
    return isReady ? ExitCodes.OK : ExitCodes.UNAVAILABLE;
  }

  private static void print(PrintWriter out, ApiClient api, JsonNode ready, JsonNode health, int queues) {
    out.println("url     " + api.base());
    out.println("ready   " + ready.path("status").asText("unknown"));
    for (JsonNode reason : ready.path("reasons")) {
      String journal = reason.hasNonNull("queue") ? "queue " + reason.path("queue").asText()
          : "registry " + reason.path("registry").asText();
      out.println("        " + journal + ": " + reason.path("journal").asText() + " since "
          + reason.path("since").asText() + ": " + reason.path("detail").asText());
    }
    JsonNode alarms = health.path("alarms");
    out.println("alarms  " + (alarms.isEmpty() ? "none" : alarms.size()));
    for (JsonNode alarm : alarms) {
      out.println("        " + alarm.path("severity").asText() + " " + alarm.path("kind").asText()
          + (alarm.hasNonNull("queue") ? " (" + alarm.path("queue").asText() + ")" : "") + ": "
          + alarm.path("message").asText());
    }
    Map<String, Integer> byStatus = new TreeMap<>();
    for (JsonNode q : health.path("queues")) {
      byStatus.merge(q.path("status").asText(), 1, Integer::sum);
    }
    String summary = byStatus.entrySet().stream().map(e -> e.getValue() + " " + e.getKey())
        .collect(Collectors.joining(", "));
    out.println("queues  " + queues + (summary.isEmpty() ? "" : " (" + summary + ")"));
    for (JsonNode q : health.path("queues")) {
      if (!"ok".equals(q.path("status").asText())) {
        out.println("        " + q.path("queue").asText() + ": " + q.path("status").asText() + ": "
            + q.path("reason").asText());
      }
    }
    out.flush();
  }
}
