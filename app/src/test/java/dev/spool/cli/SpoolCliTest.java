package dev.spool.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every command against a running service: what it prints, what {@code --json} gives, and its exit codes. */
class SpoolCliTest {

  private static CliServer server;

  @BeforeAll
  static void start() throws IOException {
    server = CliServer.start();
  }

  @AfterAll
  static void stop() throws Exception {
    server.stop();
  }

  private static String fresh(String prefix) {
    return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  private static CliServer.Run ok(String... args) {
    CliServer.Run run = server.run(args);
    assertEquals(ExitCodes.OK, run.exit(), run::toString);
    return run;
  }

  private static CliServer.Run fails(int exit, String... args) {
    CliServer.Run run = server.run(args);
    assertEquals(exit, run.exit(), run::toString);
    return run;
  }

  // --- usage, connection and exit codes

  @Test
  void helpNamesEveryCommandAndTheExitCodes() {
    CliServer.Run help = ok("--help");
    for (String command : new String[] {"status", "queues", "publish", "consume", "consumers", "stale", "dlq", "trace",
        "memory", "gc", "events", "definitions", "completion"}) {
      assertTrue(help.out().contains(command), command);
    }
    assertTrue(help.out().contains("Exit codes:"), help::toString);
    assertTrue(help.out().contains("3   not found"), help::toString);
  }

  @Test
  void aMissingCommandOrAnUnknownFlagIsAUsageError() {
    assertTrue(fails(ExitCodes.USAGE).err().contains("name a command"));
    assertTrue(fails(ExitCodes.USAGE, "queues").err().contains("list, show, create, delete or purge"));
    assertTrue(fails(ExitCodes.USAGE, "queues", "list", "--bogus").err().contains("--bogus"));
    fails(ExitCodes.USAGE, "memory", "threshold", "lots");
    fails(ExitCodes.USAGE, "consume", "q", "c", "--ack", "maybe");
  }

  @Test
  void aServiceThatIsDownIsUnavailable() throws IOException {
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0)) {
      closedPort = socket.getLocalPort();
    }
    CliServer.Run run = fails(ExitCodes.UNAVAILABLE, "--url", "http://127.0.0.1:" + closedPort, "queues", "list");
    assertTrue(run.err().startsWith("error: Unavailable: cannot reach Spool at http://127.0.0.1:" + closedPort),
        run::toString);
  }

  @Test
  void theTokenComesFromTheFlagOrTheEnvironmentBeforeTheDataDirectory(@TempDir Path elsewhere) {
    CliServer.Run wrong = fails(ExitCodes.REFUSED, "--token", "not-the-token", "queues", "list");
    assertTrue(wrong.err().startsWith("error: Unauthorized: "), wrong::toString);

    Map<String, String> env = Map.of("SPOOL_URL", server.url, "SPOOL_TOKEN", server.token);
    assertEquals(ExitCodes.OK, server.run(env, "", "queues", "list").exit());

    // No token anywhere: the API's refusal, and how to give one.
    CliServer.Run none = server.run(Map.of("SPOOL_URL", server.url, "SPOOL_DATA_DIR", elsewhere.toString()), "",
        "queues", "list");
    assertEquals(ExitCodes.REFUSED, none.exit(), none::toString);
    assertTrue(none.err().contains("no token was found"), none::toString);
    CliServer.Run flag = server.run(Map.of("SPOOL_URL", server.url), "",
        "--data-dir", server.dataDir.toString(), "queues", "list");
    assertEquals(ExitCodes.OK, flag.exit(), flag::toString);
  }

  @Test
  void statusSaysReadyWithAlarmsAndQueues() {
    CliServer.Run human = ok("status");
    assertTrue(human.out().contains("ready   ready"), human::toString);
    assertTrue(human.out().contains("alarms  none"), human::toString);
    JsonNode json = ok("status", "--json").json();
    assertEquals("ready", json.path("ready").path("status").asText());
    assertTrue(json.path("health").path("alarms").isArray());
    assertTrue(json.path("queues").asInt() >= 1, "the default queue at least");
  }

  // --- queues

  @Test
  void queuesAreCreatedListedShownAndDeleted() {
    String dlq = fresh("dead");
    String queue = fresh("orders");
    ok("queues", "create", dlq);
    CliServer.Run created = ok("queues", "create", queue, "--durability", "persistent", "--ttl", "30s",
        "--max-length", "1000", "--max-bytes", "1m", "--overflow", "drop-oldest", "--dead-letter", dlq + ":3");
    assertEquals("created queue " + queue + "\n", created.out());
    assertTrue(ok("queues", "create", queue, "--durability", "persistent", "--ttl", "PT30S", "--max-length", "1000",
        "--max-bytes", "1048576", "--overflow", "drop-oldest", "--dead-letter", dlq + ":3").out()
        .startsWith("queue exists with these settings"));

    JsonNode settings = ok("queues", "show", queue, "--json").json().path("settings");
    assertEquals("persistent", settings.path("durability").asText());
    assertEquals("PT30S", settings.path("ttl").asText());
    assertEquals(1000, settings.path("maxLength").asLong());
    assertEquals(1 << 20, settings.path("maxBytes").asLong());
    assertEquals("drop-oldest", settings.path("overflow").asText());
    assertEquals(dlq, settings.path("deadLetter").path("queue").asText());
    assertEquals(3, settings.path("deadLetter").path("maxDeliveries").asInt());
    assertTrue(ok("queues", "show", queue).out().contains("settings.deadLetter.queue"));

    JsonNode list = ok("--json", "queues", "list").json();
    assertTrue(list.findValuesAsText("name").contains(queue), list::toString);
    assertTrue(ok("queues", "list").out().lines().anyMatch(l -> l.startsWith(queue + " ") && l.contains("persistent")));

    // Other settings for the same name: the API refuses (409).
    CliServer.Run conflict = fails(ExitCodes.REFUSED, "queues", "create", queue, "--durability", "transient");
    assertTrue(conflict.err().startsWith("error: QueueAlreadyExists: "), conflict::toString);
    // A value the server refuses (400), named by its field.
    CliServer.Run invalid = fails(ExitCodes.REFUSED, "queues", "create", fresh("bad"), "--overflow", "sometimes");
    assertTrue(invalid.err().contains("overflow"), invalid::toString);
    fails(ExitCodes.USAGE, "queues", "create", fresh("bad"), "--ttl", "soon");
    fails(ExitCodes.USAGE, "queues", "create", fresh("bad"), "--dead-letter", dlq + ":many");

    assertEquals("deleted queue " + queue + "\n", ok("queues", "delete", queue).out());
    assertEquals("", ok("queues", "delete", dlq, "--json").out());
    CliServer.Run gone = fails(ExitCodes.NOT_FOUND, "queues", "show", queue);
    assertTrue(gone.err().startsWith("error: QueueNotFound: "), gone::toString);
    fails(ExitCodes.NOT_FOUND, "queues", "delete", queue);
  }

  @Test
  void aPartitionedQueueIsCreatedWithItsPartitions() {
    String queue = fresh("parts");
    ok("queues", "create", queue, "--partitions", "3");
    assertEquals(3, ok("queues", "show", queue, "--json").json().path("settings").path("partitions").asInt());
    ok("queues", "delete", queue);
  }

  // --- publish, consume, trace

  @Test
  void publishTakesArgumentsWithKeyHeadersTypeAndContentType() {
    String queue = fresh("pub");
    ok("queues", "create", queue);
    CliServer.Run published = ok("publish", queue, "first", "second", "--key", "c-7", "--header", "source=cli",
        "--header", "region=eu", "--type", "order.created", "--content-type", "text/plain; charset=utf-8");
    assertEquals("published 2 messages to " + queue + ", sequences 1..2\n", published.out());

    JsonNode trace = ok("trace", queue, "2", "--json").json();
    JsonNode message = trace.path("message");
    assertEquals("second", message.path("payload").asText());
    assertEquals("c-7", message.path("key").asText());
    assertEquals("order.created", message.path("type").asText());
    assertEquals("cli", message.path("headers").path("source").asText());
    assertEquals("eu", message.path("headers").path("region").asText());
    assertEquals("appended", trace.path("trace").get(0).path("event").asText(), trace::toString);
    CliServer.Run human = ok("trace", queue, "1");
    assertTrue(human.out().contains("payload \"first\""), human::toString);
    assertTrue(human.out().contains("appended"), human::toString);

    fails(ExitCodes.NOT_FOUND, "trace", queue, "99");
    fails(ExitCodes.NOT_FOUND, "publish", fresh("nowhere"), "x");
    fails(ExitCodes.USAGE, "publish", queue);
    fails(ExitCodes.USAGE, "publish", queue, "-", "also-this");
    ok("queues", "delete", queue);
  }

  @Test
  void publishDelaysAndPrioritizesAndTheirBadValuesAreUsageErrors() {
    String queue = fresh("sched");
    ok("queues", "create", queue, "--max-priority", "5");
    String at = java.time.Instant.now().plusSeconds(600).truncatedTo(java.time.temporal.ChronoUnit.MILLIS).toString();
    ok("publish", queue, "later", "--deliver-at", at, "--priority", "3");
    ok("publish", queue, "soon", "--delay", "10m");
    JsonNode later = ok("trace", queue, "1", "--json").json().path("message");
    assertEquals(java.time.Instant.parse(at).toEpochMilli(), later.path("deliverAt").asLong());
    assertEquals(3, later.path("priority").asInt());
    assertTrue(ok("trace", queue, "2", "--json").json().path("message").path("deliverAt").asLong()
        > System.currentTimeMillis() + 500_000);
    fails(ExitCodes.USAGE, "publish", queue, "x", "--priority", "10");
    fails(ExitCodes.USAGE, "publish", queue, "x", "--delay", "1m", "--deliver-at", at);
    fails(ExitCodes.USAGE, "publish", queue, "x", "--deliver-at", "tomorrow");
    fails(ExitCodes.USAGE, "queues", "create", fresh("bad"), "--max-priority", "0");
    fails(ExitCodes.USAGE, "queues", "create", fresh("bad"), "--max-priority", "10");
    ok("queues", "delete", queue);
  }

  @Test
  void publishesAHundredThousandLinesFromStandardInputSkippingTheBlankOnes() {
    String queue = fresh("bulk");
    ok("queues", "create", queue);
    // Every tenth line blank: empty, or white space only.
    String lines = IntStream.rangeClosed(1, 100_000)
        .mapToObj(i -> i % 10 != 0 ? "line " + i : i % 20 == 0 ? "" : " \t ").collect(Collectors.joining("\n"));
    long start = System.nanoTime();
    CliServer.Run run = server.runWithInput(lines + "\n", "publish", queue, "-", "--json");
    long ms = (System.nanoTime() - start) / 1_000_000;
    assertEquals(ExitCodes.OK, run.exit(), run::toString);
    JsonNode summary = run.json();
    assertEquals(90_000, summary.path("published").asLong());
    assertEquals(10_000, summary.path("skippedBlankLines").asLong());
    assertEquals(1, summary.path("firstSequence").asLong());
    assertEquals(90_000, summary.path("lastSequence").asLong());
    assertEquals(90_000, ok("queues", "show", queue, "--json").json().path("stats").path("depth").asLong());
    assertTrue(ms < 30_000, "took " + ms + " ms");

    assertEquals("line 9", ok("trace", queue, "9", "--json").json().path("message").path("payload").asText());
    assertEquals("line 11", ok("trace", queue, "10", "--json").json().path("message").path("payload").asText(),
        "the blank tenth line is no message");
    JsonNode last = ok("trace", queue, "90000", "--json").json();
    assertEquals("line 99999", last.path("message").path("payload").asText());
    ok("queues", "delete", queue);
  }

  @Test
  void blankLinesAreSkippedAndCountedUnlessKept() {
    String queue = fresh("blank");
    ok("queues", "create", queue);
    CliServer.Run skipped = server.runWithInput("a\n\n   \nb\n", "publish", queue, "-");
    assertEquals(ExitCodes.OK, skipped.exit(), skipped::toString);
    assertEquals("published 2 messages to " + queue + ", sequences 1..2; skipped 2 blank lines\n", skipped.out());
    assertEquals("b", ok("trace", queue, "2", "--json").json().path("message").path("payload").asText());

    CliServer.Run kept = server.runWithInput("c\n\n   \n", "publish", queue, "-", "--keep-blank-lines", "--json");
    assertEquals(ExitCodes.OK, kept.exit(), kept::toString);
    assertEquals(3, kept.json().path("published").asLong(), kept::toString);
    assertEquals(0, kept.json().path("skippedBlankLines").asLong(), kept::toString);
    assertEquals("", ok("trace", queue, "4", "--json").json().path("message").path("payload").asText());
    assertEquals("   ", ok("trace", queue, "5", "--json").json().path("message").path("payload").asText());

    CliServer.Run onlyBlank = server.runWithInput("\n\n", "publish", queue, "-");
    assertEquals(ExitCodes.OK, onlyBlank.exit(), onlyBlank::toString);
    assertEquals("published nothing to " + queue + ": the input held only 2 blank lines (--keep-blank-lines publishes"
        + " them)\n", onlyBlank.out());
    assertEquals(5, ok("queues", "show", queue, "--json").json().path("stats").path("lastSequence").asLong());
    // An argument is published as given, empty or not.
    assertEquals("published 1 message to " + queue + ", sequences 6..6\n", ok("publish", queue, "").out());
    ok("queues", "delete", queue);
  }

  @Test
  void publishReadsAFileLineByLineInBatches(@TempDir Path dir) throws IOException {
    String queue = fresh("file");
    ok("queues", "create", queue);
    Path file = dir.resolve("messages.txt");
    Files.writeString(file, "a\nb\nc\nd\ne\n");
    assertEquals("published 5 messages to " + queue + ", sequences 1..5\n",
        ok("publish", queue, "--file", file.toString(), "--batch-size", "2").out());
    CliServer.Run missing = fails(ExitCodes.FAILED, "publish", queue, "--file", dir.resolve("none.txt").toString());
    assertTrue(missing.err().startsWith("error: Input: cannot read"), missing::toString);
    ok("queues", "delete", queue);
  }

  @Test
  void aRefusedBatchSaysHowManyWerePublishedBeforeIt() {
    String queue = fresh("full");
    ok("queues", "create", queue, "--max-length", "3", "--overflow", "reject");
    CliServer.Run run = server.runWithInput("1\n2\n3\n4\n5\n", "publish", queue, "-", "--batch-size", "2");
    assertEquals(ExitCodes.REFUSED, run.exit(), run::toString);
    assertTrue(run.err().startsWith("error: QueueFull: "), run::toString);
    assertTrue(run.err().contains("(2 messages were published before this)"), run::toString);
    ok("queues", "delete", queue);
  }

  @Test
  void consumePrintsAndAcknowledgesOrLeavesMessagesUnacknowledged() throws Exception {
    String queue = fresh("work");
    ok("queues", "create", queue);
    ok("consumers", "create", queue, "billing", "--start-at", "earliest", "--ack-timeout", "1m");
    ok("publish", queue, "one", "two", "three", "--type", "job");

    CliServer.Run peek = ok("consume", queue, "billing", "-n", "2", "--ack", "none");
    assertEquals(2, peek.out().lines().count(), peek::toString);
    assertTrue(peek.out().startsWith("1  ") && peek.out().contains("type=job  \"one\""), peek::toString);

    JsonNode rest = ok("consume", queue, "billing", "--wait", "200ms", "--json").json();
    assertEquals(3, rest.path("sequence").asLong(), "the first two are in flight, unacknowledged");
    assertEquals("three", rest.path("message").path("payload").asText());
    JsonNode billing = ok("consumers", "show", queue, "billing", "--json").json();
    assertEquals(1, billing.path("acked").asLong(), billing::toString);
    assertEquals(2, billing.path("inFlight").asInt(), billing::toString);

    CliServer.Run none = ok("consume", queue, "billing", "--wait", "100ms");
    assertEquals("", none.out());
    assertTrue(none.err().contains("no messages"), none::toString);

    // --follow waits for what is published next.
    CompletableFuture<CliServer.Run> follow = CompletableFuture.supplyAsync(
        () -> server.run("consume", queue, "billing", "--follow", "-n", "1", "--wait", "1s"));
    Thread.sleep(300);
    ok("publish", queue, "four");
    CliServer.Run followed = follow.get(20, TimeUnit.SECONDS);
    assertEquals(ExitCodes.OK, followed.exit(), followed::toString);
    assertTrue(followed.out().contains("\"four\""), followed::toString);

    fails(ExitCodes.NOT_FOUND, "consume", queue, "nobody", "--wait", "100ms");
    ok("queues", "delete", queue);
  }

  @Test
  void consumeNacksWhatItPrintedForRedeliveryOrForTheDeadLetterQueue() {
    String dlq = fresh("nack-dlq");
    String queue = fresh("nack");
    ok("queues", "create", dlq);
    ok("queues", "create", queue, "--dead-letter", dlq);
    ok("consumers", "create", queue, "worker", "--start-at", "earliest", "--ack-timeout", "1m");
    String kib = "x".repeat(1024);
    ok("publish", queue, "a-" + kib, "b-" + kib);

    // Nacked with requeue: handed back at once, and redelivered as a second attempt.
    CliServer.Run nacked = ok("consume", queue, "worker", "-n", "2", "--ack", "nack");
    assertEquals(2, nacked.out().lines().count(), nacked::toString);
    assertEquals("nacked 2 messages, to be redelivered\n", nacked.err());
    JsonNode worker = ok("consumers", "show", queue, "worker", "--json").json();
    assertEquals(2, worker.path("nacked").asLong(), worker::toString);
    assertEquals(0, worker.path("inFlight").asInt(), worker::toString);
    List<JsonNode> again = ok("consume", queue, "worker", "-n", "2", "--json").jsonLines();
    // Each redelivery waits its own jittered backoff: either may come first.
    assertEquals(List.of(1L, 2L), again.stream().map(d -> d.path("sequence").asLong()).sorted().toList());
    assertEquals(List.of(2, 2), again.stream().map(d -> d.path("attempt").asInt()).toList());

    // Nacked without requeue: dead-lettered, as a handler that gives up does.
    ok("publish", queue, "poison-" + kib);
    CliServer.Run rejected = ok("consume", queue, "worker", "-n", "1", "--ack", "nack", "--requeue=false");
    assertTrue(rejected.out().startsWith("3  "), rejected::toString);
    assertTrue(rejected.err().startsWith("nacked 1 message, dead-lettered"), rejected::toString);
    assertEquals(1, ok("queues", "show", dlq, "--json").json().path("stats").path("depth").asLong());
    JsonNode shown = ok("dlq", "show", dlq, "--json").json();
    assertEquals(1, shown.path("reasons").path("values").path("rejected").asLong(), shown::toString);

    fails(ExitCodes.USAGE, "consume", queue, "worker", "--requeue=false");
    fails(ExitCodes.USAGE, "consume", queue, "worker", "--ack", "nack", "--requeue=maybe");
    fails(ExitCodes.NOT_FOUND, "consume", queue, "nobody", "--ack", "nack", "--wait", "100ms");
    ok("queues", "delete", queue);
    ok("queues", "delete", dlq);
  }

  // --- consumers and stale consumers

  @Test
  void consumersAreManaged() {
    String queue = fresh("cons");
    ok("queues", "create", queue);
    ok("publish", queue, "a", "b", "c");
    assertTrue(ok("consumers", "create", queue, "audit", "--start-at", "earliest", "--prefetch", "50",
        "--ack-mode", "explicit", "--max-deliveries", "5", "--filter-type", "x", "--filter-header", "k=v",
        "--inactive-timeout", "1h").out().startsWith("created consumer audit"));
    JsonNode audit = ok("consumers", "show", queue, "audit", "--json").json();
    assertEquals(50, audit.path("settings").path("prefetch").asInt());
    assertEquals("x", audit.path("settings").path("filter").path("type").asText());
    assertEquals("v", audit.path("settings").path("filter").path("headers").path("k").asText());
    assertEquals("PT1H", audit.path("settings").path("inactiveTimeout").asText());
    fails(ExitCodes.REFUSED, "consumers", "create", queue, "audit", "--prefetch", "7");
    fails(ExitCodes.REFUSED, "consumers", "create", queue, "bad", "--prefetch", "-1");
    ok("consumers", "create", queue, "only-b", "--start-at", "earliest", "--filter", "payload == null && key == ''"
        + " && type != 'x' && headers.size() == 0 && contentType.startsWith('text/')");
    assertEquals("payload == null && key == '' && type != 'x' && headers.size() == 0 && contentType.startsWith('text/')",
        ok("consumers", "show", queue, "only-b", "--json").json().path("settings").path("filter").path("expression")
            .asText());
    CliServer.Run badFilter = fails(ExitCodes.REFUSED, "consumers", "create", queue, "bad", "--filter", "type ==");
    assertTrue(badFilter.err().contains("column 8"), badFilter.err());
    ok("consumers", "delete", queue, "only-b");

    CliServer.Run pushed = ok("consumers", "create", queue, "hook", "--push", "https://hooks.example.com/in",
        "--push-max-outstanding", "3", "--push-ack-deadline", "PT5S", "--push-max-retries", "2");
    assertTrue(pushed.out().lines().anyMatch(l -> l.startsWith("push signing secret (shown once, keep it): ")
        && l.length() > 50), pushed.out());
    JsonNode hook = ok("consumers", "show", queue, "hook", "--json").json();
    assertEquals("https://hooks.example.com/in", hook.path("settings").path("push").path("endpoint").asText());
    assertEquals(3, hook.path("settings").path("push").path("maxOutstanding").asInt());
    assertEquals(3, hook.path("settings").path("maxDeliveries").asInt());
    assertFalse(hook.has("secret"), "shown once");
    assertFalse(ok("consumers", "create", queue, "hook", "--push", "https://hooks.example.com/in",
        "--push-max-outstanding", "3", "--push-ack-deadline", "PT5S", "--push-max-retries", "2").out()
        .contains("secret"), "not shown again");
    fails(ExitCodes.REFUSED, "consumers", "create", queue, "internal", "--push", "https://10.0.0.1/in");
    fails(ExitCodes.USAGE, "consumers", "create", queue, "half", "--push-max-retries", "2");
    ok("consumers", "delete", queue, "hook");

    ok("consumers", "create", queue, "ops", "--start-at", "earliest");
    assertTrue(ok("consumers", "list", queue).out().lines().anyMatch(l -> l.startsWith("ops ")));
    assertEquals(2, ok("consumers", "list", queue, "--json").json().size());

    assertTrue(ok("consumers", "pause", queue, "ops").out().contains("paused"));
    assertTrue(ok("consumers", "show", queue, "ops", "--json").json().path("paused").asBoolean());
    assertFalse(ok("consumers", "resume", queue, "ops", "--json").json().path("paused").asBoolean());
    assertEquals(0, ok("consumers", "seek", queue, "ops", "latest", "--json").json().path("lag").asLong());
    assertTrue(ok("consumers", "seek", queue, "ops", "earliest").out().contains("lag 3"));
    fails(ExitCodes.REFUSED, "consumers", "seek", queue, "ops", "nowhere");

    JsonNode lag = ok("consumers", "lag", queue, "--json").json();
    assertEquals(2, lag.size());
    assertTrue(ok("consumers", "lag", queue).out().contains("audit"));
    JsonNode all = ok("consumers", "lag", "--json").json();
    assertTrue(all.path("totalConsumers").asInt() >= 2, all::toString);
    assertTrue(ok("consumers", "lag").out().contains("max lag"));

    ok("consumers", "delete", queue, "ops");
    fails(ExitCodes.NOT_FOUND, "consumers", "show", queue, "ops");
    fails(ExitCodes.NOT_FOUND, "consumers", "list", fresh("nowhere"));
    ok("queues", "delete", queue);
  }

  @Test
  void staleConsumersAreListedAndCleanedUp() {
    String queue = fresh("stale");
    ok("queues", "create", queue);
    ok("consumers", "create", queue, "idle", "--start-at", "earliest");
    ok("publish", queue, "1", "2", "3", "4", "5", "6", "7", "8", "9", "10");
    JsonNode stale = ok("stale", "list", "--idle", "0s", "--json").json();
    assertTrue(stale.findValuesAsText("queue").contains(queue), stale::toString);
    assertTrue(ok("stale", "list", "--idle", "0s").out().contains(queue));
    fails(ExitCodes.REFUSED, "stale", "cleanup", "--lag-threshold", "-1");

    // Lag 10 passes a threshold of 9 that no other test's consumer reaches.
    JsonNode removed = ok("stale", "cleanup", "--idle", "0s", "--lag-threshold", "9", "--json").json();
    assertTrue(removed.path("removed").asLong() >= 1, removed::toString);
    assertEquals(removed.path("removed").asInt(), removed.path("consumers").size(), removed::toString);
    assertTrue(StreamSupport.stream(removed.path("consumers").spliterator(), false)
        .anyMatch(c -> c.path("queue").asText().equals(queue) && c.path("consumer").asText().equals("idle")
            && c.path("lag").asLong() == 10), "the answer names what it removed: " + removed);
    fails(ExitCodes.NOT_FOUND, "consumers", "show", queue, "idle");

    // The table names them too.
    ok("consumers", "create", queue, "idle-too", "--start-at", "earliest");
    CliServer.Run human = ok("stale", "cleanup", "--idle", "0s", "--lag-threshold", "9");
    assertTrue(human.out().startsWith("removed "), human::toString);
    assertTrue(human.out().lines().anyMatch(l -> l.startsWith("QUEUE ") && l.contains("CONSUMER")), human::toString);
    assertTrue(human.out().lines().anyMatch(l -> l.matches(java.util.regex.Pattern.quote(queue) + " +idle-too +10 +PT.*")),
        human::toString);
    fails(ExitCodes.NOT_FOUND, "consumers", "show", queue, "idle-too");
    ok("queues", "delete", queue);
  }

  // --- dead letters

  @Test
  void deadLetterQueuesAreListedShownAndRedriven() throws Exception {
    String dlq = fresh("dlq");
    String queue = fresh("src");
    ok("queues", "create", dlq);
    ok("queues", "create", queue, "--dead-letter", dlq);
    ok("consumers", "create", queue, "worker", "--start-at", "earliest");
    ok("publish", queue, "bad-1", "bad-2", "bad-3");
    // Rejected without requeue: what a failing worker does.
    CliServer.Run read = ok("consume", queue, "worker", "-n", "3", "--ack", "nack", "--requeue=false", "--json");
    assertEquals(3, read.out().lines().count(), read::toString);

    JsonNode dlqs = ok("dlq", "list", "--json").json();
    assertTrue(dlqs.findValuesAsText("queue").contains(dlq), dlqs::toString);
    CliServer.Run list = ok("dlq", "list");
    assertTrue(list.out().lines().anyMatch(l -> l.startsWith(dlq + " ") && l.contains(queue)), list::toString);

    JsonNode shown = ok("dlq", "show", dlq, "--json").json();
    assertEquals(3, shown.path("reasons").path("values").path("rejected").asLong(), shown::toString);
    assertEquals(3, shown.path("page").path("messages").size(), shown::toString);
    CliServer.Run human = ok("dlq", "show", dlq, "--reason", "rejected", "--limit", "2");
    assertTrue(human.out().startsWith("reasons: rejected 3"), human::toString);
    assertEquals(4, human.out().lines().count(), "reasons, header and two messages: " + human);

    CliServer.Run some = ok("dlq", "redrive", dlq, "--sequences", "1,99", "--json");
    assertEquals(1, some.json().path("moved").asLong(), some::toString);
    assertEquals("note: 1 of the 2 selected sequences were not moved: not held in " + dlq
        + ", or their source queue is gone\n", some.err());
    assertEquals("moved 2 messages from " + dlq + " back to their queues\n", ok("dlq", "redrive", dlq, "--all").out());
    // Nothing left to move: not found, saying why; --json still gives the answer.
    CliServer.Run empty = fails(ExitCodes.NOT_FOUND, "dlq", "redrive", dlq, "--all");
    assertEquals("", empty.out());
    assertEquals("error: NothingMoved: nothing to redrive: " + dlq + " holds no messages\n", empty.err());
    CliServer.Run emptyJson = fails(ExitCodes.NOT_FOUND, "dlq", "redrive", dlq, "--sequences", "1", "--json");
    assertEquals(0, emptyJson.json().path("moved").asLong(), emptyJson::toString);
    assertTrue(emptyJson.err().contains("holds no messages"), emptyJson::toString);
    fails(ExitCodes.USAGE, "dlq", "redrive", dlq);
    fails(ExitCodes.USAGE, "dlq", "redrive", dlq, "--all", "--sequences", "1");
    fails(ExitCodes.REFUSED, "dlq", "redrive", dlq, "--sequences", "0");
    fails(ExitCodes.NOT_FOUND, "dlq", "show", fresh("nowhere"));

    // A purge empties a queue and says how many went.
    ok("publish", dlq, "left-1", "left-2");
    CliServer.Run unselected = fails(ExitCodes.NOT_FOUND, "dlq", "redrive", dlq, "--sequences", "1,2");
    assertTrue(unselected.err().startsWith("error: NothingMoved: nothing moved: none of the selected sequences is held in "
        + dlq + " (" + dlq + " holds 2 messages, sequences 4..5)"), unselected::toString);
    CliServer.Run sourceless = fails(ExitCodes.NOT_FOUND, "dlq", "redrive", dlq, "--all");
    assertTrue(sourceless.err().contains("none names a source queue"), sourceless::toString);
    assertEquals("purged 2 messages from " + dlq + "\n", ok("queues", "purge", dlq).out().replace("\r", ""));
    assertEquals(0, ok("queues", "show", dlq, "--json").json().path("stats").path("depth").asLong());
    fails(ExitCodes.NOT_FOUND, "queues", "purge", fresh("nowhere"));

    // A 64 KiB payload is a short preview in the table; a queue that is no dead-letter queue is said to be so.
    ok("publish", queue, "x".repeat(64 * 1024));
    CliServer.Run notDeadLetters = ok("dlq", "show", queue);
    assertTrue(notDeadLetters.out().lines().allMatch(l -> l.length() < 400), notDeadLetters::toString);
    assertTrue(notDeadLetters.err().contains("does not look like a dead-letter queue"), notDeadLetters::toString);
    ok("queues", "delete", queue);
    ok("queues", "delete", dlq);
  }

  // --- definitions

  @Test
  void definitionsAreExportedAndImported(@TempDir Path dir) throws IOException {
    String dlq = fresh("defs-dlq");
    String queue = fresh("defs");
    ok("queues", "create", dlq);
    ok("queues", "create", queue, "--ttl", "1h", "--dead-letter", dlq + ":4");
    ok("consumers", "create", queue, "billing", "--prefetch", "20");
    JsonNode exported = ok("definitions", "export").json();
    assertTrue(exported.path("queues").findValuesAsText("name").containsAll(List.of(queue, dlq)),
        exported::toString);

    // Only this test's definitions, imported into a service that no longer has them.
    ObjectNode mine = ApiClient.JSON.createObjectNode();
    ArrayNode queues = mine.putArray("queues");
    exported.path("queues").forEach(q -> {
      if (q.path("name").asText().startsWith("defs-")) {
        queues.add(q);
      }
    });
    ArrayNode consumers = mine.putArray("consumers");
    exported.path("consumers").forEach(c -> {
      if (c.path("queue").asText().equals(queue)) {
        consumers.add(c);
      }
    });
    Path file = dir.resolve("definitions.json");
    Files.writeString(file, mine.toString());
    ok("queues", "delete", queue);
    ok("queues", "delete", dlq);

    CliServer.Run imported = ok("definitions", "import", file.toString());
    assertTrue(imported.out().startsWith("created 3, unchanged 0, refused 0"), imported::toString);
    JsonNode settings = ok("queues", "show", queue, "--json").json().path("settings");
    assertEquals("PT1H", settings.path("ttl").asText());
    assertEquals(4, settings.path("deadLetter").path("maxDeliveries").asInt());
    assertEquals(20, ok("consumers", "show", queue, "billing", "--json").json().path("settings").path("prefetch").asInt());
    JsonNode again = server.runWithInput(mine.toString(), "definitions", "import", "-", "--json").json();
    assertEquals(3, again.path("unchanged").size(), again::toString);

    // One definition in conflict: refused and reported, the others still applied.
    ok("queues", "delete", dlq);
    ((ObjectNode) queues.get(queues.get(0).path("name").asText().equals(queue) ? 0 : 1).path("settings"))
        .put("ttl", "PT2H");
    CliServer.Run conflict = server.runWithInput(mine.toString(), "definitions", "import", "-");
    assertEquals(ExitCodes.REFUSED, conflict.exit(), conflict::toString);
    assertTrue(conflict.out().contains("created queue " + dlq), conflict::toString);
    assertTrue(conflict.err().startsWith("error: QueueAlreadyExists: queue " + queue + ": "), conflict::toString);

    // A bad document is refused whole; one that is not JSON is not sent.
    CliServer.Run bad = server.runWithInput("{\"queues\":[{\"name\":\"x\",\"colour\":1}]}", "definitions", "import", "-");
    assertEquals(ExitCodes.REFUSED, bad.exit(), bad::toString);
    assertEquals(ExitCodes.FAILED, server.runWithInput("not json", "definitions", "import", "-").exit());
    assertEquals(ExitCodes.FAILED, server.runWithInput("", "definitions", "import", "-").exit());
    ok("queues", "delete", queue);
    ok("queues", "delete", dlq);
  }

  // --- memory, gc, events, completion

  @Test
  void memoryIsShownAndItsThresholdSet() {
    JsonNode memory = ok("memory", "--json").json();
    assertTrue(memory.has("totalBytes") && memory.path("queues").isArray(), memory::toString);
    assertTrue(ok("memory").out().startsWith("retained "));
    assertEquals(512L << 20, ok("memory", "threshold", "512m", "--json").json().path("thresholdBytes").asLong());
    assertEquals(512L << 20, ok("memory", "--json").json().path("thresholdBytes").asLong());
    assertEquals("memory threshold removed\n", ok("memory", "threshold", "0").out());
    fails(ExitCodes.USAGE, "memory", "threshold", "-5");
  }

  @Test
  void gcSaysHowMuchItFreed() {
    assertTrue(ok("gc", "--json").json().has("freed"));
    assertTrue(ok("gc").out().matches("freed \\d+ messages\\n"));
  }

  @Test
  void eventsFollowsTheStreamThroughATicket() throws Exception {
    CompletableFuture<CliServer.Run> events = CompletableFuture.supplyAsync(
        () -> server.run("events", "--type", "QueueCreated", "--count", "1", "--json"));
    String queue = fresh("evented");
    // The stream only has what happens once it is open: create queues until one is seen.
    for (int i = 0; !events.isDone() && i < 100; i++) {
      ok("queues", "create", queue + "-" + i);
      Thread.sleep(100);
    }
    CliServer.Run run = events.get(10, TimeUnit.SECONDS);
    assertEquals(ExitCodes.OK, run.exit(), run::toString);
    JsonNode event = run.json();
    assertEquals("QueueCreated", event.path("event").asText());
    assertTrue(event.path("data").path("queue").asText().startsWith(queue), run::toString);
    fails(ExitCodes.USAGE, "events", "--count", "0");
  }

  @Test
  void completionIsABashScript() {
    CliServer.Run run = ok("completion");
    assertTrue(run.out().startsWith("#!/usr/bin/env bash"), run.out().substring(0, 80));
    assertTrue(run.out().contains("complete -F"), "registers a completion function");
    assertTrue(run.out().contains("redrive"), "knows the subcommands");
  }
}
