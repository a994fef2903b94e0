package dev.spool.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.PrintWriter;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code spool consume}: reads through an existing consumer with long-polls and prints what it
 * gets, acknowledging each batch once it is printed, nacking it (to be redelivered, or with
 * {@code --requeue=false} dead-lettered), or leaving it unsettled.
 */
@Command(name = "consume", mixinStandardHelpOptions = true,
    description = {"Read messages through a consumer and print them.",
        "The consumer must exist: spool consumers create QUEUE CONSUMER --start-at earliest.",
        "Each line: sequence, time, attempt (from the second), type, key, headers, and the payload as a JSON string.",
        "Without --follow, stops after --count messages or at the first read that finds none within --wait.",
        "--ack nack hands each printed batch back: redelivered (after the consumer's backoff), or with",
        "--requeue=false dead-lettered to the queue's dead-letter queue (dropped when it has none).",
        "With --json: one delivery per line, as the API gives it ({\"sequence\",\"attempt\",\"message\"})."})
final class ConsumeCommand implements Callable<Integer> {

  /** How a printed delivery is settled. */
  enum Ack {
    /** Acknowledged once printed: the consumer moves on. */
    AUTO,
    /** Left unacknowledged: redelivered after the consumer's ack timeout, as if this reader had crashed. */
    NONE,
    /** Nacked once printed: redelivered, or dead-lettered without requeue, as a failing handler does. */
    NACK
  }

  /** Deliveries one read asks for at most, beside what is left of {@code --count}. */
  private static final int READ_MAX = 100;

  @Spec
  CommandSpec spec;

  @Parameters(index = "0", paramLabel = "QUEUE", description = "the queue")
  String queue;

  @Parameters(index = "1", paramLabel = "CONSUMER", description = "the consumer to read through")
  String consumer;

  @Option(names = {"-n", "--count"}, paramLabel = "N",
      description = "stop after N messages (default 10; unlimited with --follow)")
  Long count;

  @Option(names = {"-f", "--follow"}, description = "keep waiting for messages until interrupted (or --count)")
  boolean follow;

  @Option(names = "--wait", paramLabel = "DURATION", defaultValue = "5s", converter = Converters.IsoDuration.class,
      description = "how long each read waits for a first message (default ${DEFAULT-VALUE})")
  String wait;

  @Option(names = "--ack", paramLabel = "auto|none|nack", defaultValue = "auto",
      description = "auto: acknowledge what was printed; none: leave it unacknowledged; nack: hand it back"
          + " (default ${DEFAULT-VALUE})")
  Ack ack;

  @Option(names = "--requeue", arity = "0..1", negatable = true, paramLabel = "true|false",
      description = "with --ack nack: redeliver what was nacked (default), or with --requeue=false dead-letter it")
  Boolean requeue;

  @Override
  public Integer call() {
    SpoolCli cli = SpoolCli.of(spec);
    long limit = count != null ? count : follow ? Long.MAX_VALUE : 10;
    if (limit < 1) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--count must be 1 or more");
    }
    if (requeue != null && ack != Ack.NACK) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--requeue goes with --ack nack");
    }
    boolean requeued = requeue == null || requeue;
    String base = "api/v1/queues/" + ApiClient.segment(queue) + "/consumers/" + ApiClient.segment(consumer);
    Duration waitFor = Duration.parse(wait);
    long printed = 0;
    long nacked = 0;
    while (printed < limit) {
      long max = Math.min(READ_MAX, limit - printed);
      JsonNode deliveries = cli.api().post(base + "/read?max=" + max + "&wait=" + ApiClient.query(wait), null, waitFor)
          .path("deliveries");
      if (deliveries.isEmpty()) {
        if (follow) {
          continue;
        }
        break;
      }
      ArrayNode sequences = ApiClient.JSON.createArrayNode();
      for (JsonNode delivery : deliveries) {
        print(cli, delivery);
        sequences.add(delivery.path("sequence").asLong());
      }
      if (ack != Ack.NONE) {
        ObjectNode body = ApiClient.JSON.createObjectNode();
        body.set("sequences", sequences);
        if (ack == Ack.AUTO) {
          cli.api().post(base + "/ack", body);
        } else {
          body.put("requeue", requeued);
          nacked += cli.api().post(base + "/nack", body).path("nacked").asLong();
        }
      }
      printed += deliveries.size();
    }
    if (printed == 0 && !cli.json()) {
      cli.err().println("no messages within " + wait);
      cli.err().flush();
    } else if (ack == Ack.NACK && !cli.json()) {
      cli.err().println(nackSummary(printed, nacked, requeued));
      cli.err().flush();
    }
    return ExitCodes.OK;
  }

  /** What became of the printed messages: a delivery whose ack timeout passed while printing is no longer ours. */
  private String nackSummary(long printed, long nacked, boolean requeued) {
    String summary = "nacked " + Output.messages(nacked)
        + (requeued ? ", to be redelivered" : ", dead-lettered (or dropped where " + queue + " has no dead-letter queue)");
    if (nacked < printed) {
      summary += "; " + (printed - nacked) + " of the " + printed
          + " printed were no longer in flight (their ack timeout passed) and go to the consumer again";
    }
    return summary;
  }

  private static void print(SpoolCli cli, JsonNode delivery) {
    PrintWriter out = cli.out();
    if (cli.json()) {
      Output.json(out, delivery);
      return;
    }
    JsonNode m = delivery.path("message");
    StringBuilder line = new StringBuilder();
    line.append(delivery.path("sequence").asLong());
    line.append("  ").append(Instant.ofEpochMilli(m.path("timestamp").asLong()));
    if (delivery.path("attempt").asInt() > 1) {
      line.append("  attempt=").append(delivery.path("attempt").asInt());
    }
    if (!m.path("type").asText().isEmpty()) {
      line.append("  type=").append(m.path("type").asText());
    }
    if (m.hasNonNull("key")) {
      line.append("  key=").append(m.path("key").asText());
    }
    m.path("headers").fields().forEachRemaining(h -> line.append("  ").append(h.getKey()).append('=')
        .append(h.getValue().asText()));
    line.append("  ").append(payload(m));
    out.println(line);
    out.flush();
  }

  /**
   * A message's text payload as a JSON string, so that one message stays one line and where it
   * starts and ends is plain; a binary one (the API then sends base64) by its size.
   */
  static String payload(JsonNode message) {
    if (message.hasNonNull("payload")) {
      return message.path("payload").toString();
    }
    String base64 = message.path("payloadBase64").asText("");
    return "(" + Base64.getDecoder().decode(base64).length + " bytes, not text)";
  }
}
