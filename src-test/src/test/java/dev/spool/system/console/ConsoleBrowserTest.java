package dev.spool.system.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.deque.html.axecore.results.Results;
import com.deque.html.axecore.results.Rule;
import com.deque.html.axecore.selenium.AxeBuilder;
import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import dev.spool.system.TestServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * An operator's walks through the console in Debian's headless Chromium: triage on the overview (a
 * stuck consumer and its reason, a dead-lettering queue, the dead-letter queues listed), a queue's
 * consumers and their actions reflected at once, dead letters redriven by selection with the count
 * told, messages paged both ways and searched, a selection that survives the refresh, and every
 * page checked by axe-core and for overflow at desktop and phone widths. Payloads holding markup
 * show as text, and nothing is refused by the Content-Security-Policy. Screenshots of every page at
 * both widths go to {@code target/console-screenshots/} for review.
 *
 * <p>The server judges a consumer stuck after {@code spool.health.stuck-after} and samples history
 * every {@code spool.history.interval}; the test shortens both through system properties, which the
 * service's configuration loading reads over its files.
 *
 * <p>Skipped, saying why, where Debian's {@code chromium} and {@code chromium-driver} are not installed;
 * never a downloaded browser.
 */
@Tag("browser")
class ConsoleBrowserTest {

  private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
  /** Surefire runs in the module's directory, so this is src-test/target/console-screenshots. */
  private static final Path SCREENSHOTS = Path.of("target", "console-screenshots");
  private static final Duration WAIT = Duration.ofSeconds(20);
  /**
   * The server's judgement and sampling, shortened so the test sees them: a consumer is stuck after a
   * minute by default, and the history samples every five seconds.
   */
  private static final Map<String, String> QUICK_HEALTH = Map.of("spool.health.stuck-after", "2s",
      "spool.history.interval", "1s", "spool.push.allowed-hosts.0", "127.0.0.1", "spool.push.allow-http", "on");
  private static final int DESKTOP = 1280;
  private static final int PHONE = 390;

  private static TestServer server;
  private static ChromeDriver browser;
  private static Path profile;

  private static final boolean INSTALLED = Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);

  @BeforeAll
  static void start() throws IOException {
    if (!INSTALLED) {
      return;
    }
    // System properties override the service's configuration files (ConfigFactory.load reads them).
    QUICK_HEALTH.forEach(System::setProperty);
    ConfigFactory.invalidateCaches();
    try {
      server = TestServer.start();
    } finally {
      QUICK_HEALTH.keySet().forEach(System::clearProperty);
      ConfigFactory.invalidateCaches();
    }
    profile = Files.createTempDirectory("spool-console-chromium");
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    // Without the networking flags Chromium keeps calling Google's hosts, which this machine refuses.
    options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--user-data-dir=" + profile, "--window-size=" + DESKTOP + ",1000");
    // The page's console messages, to catch anything the Content-Security-Policy refused.
    options.setCapability("goog:loggingPrefs", Map.of(LogType.BROWSER, "ALL"));
    ChromeDriverService service = new ChromeDriverService.Builder()
        .usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
    browser = new ChromeDriver(service, options);
    Files.createDirectories(SCREENSHOTS);
  }

  /**
   * Each test, rather than the class, is skipped: Surefire reports a class aborted in
   * {@code @BeforeAll} as zero tests, hiding the reason.
   */
  @BeforeEach
  void requireChromium() {
    assumeTrue(INSTALLED, "console browser test skipped: Debian's Chromium is not installed (" + CHROMIUM + ", "
        + CHROMEDRIVER + "); install it with: apt-get install -y chromium chromium-driver");
    width(DESKTOP, 1000);
  }

  @AfterAll
  static void stop() throws Exception {
    try {
      if (browser != null) {
        List<String> refused = browser.manage().logs().get(LogType.BROWSER).getAll().stream().map(LogEntry::getMessage)
            .filter(m -> m.contains("Content Security Policy") || m.contains("Refused")).toList();
        assertTrue(refused.isEmpty(), "the console works within its CSP: " + refused);
      }
    } finally {
      try {
        if (browser != null) {
          browser.quit();
        }
      } finally {
        if (server != null) {
          server.close();
        }
        if (profile != null) {
          try (Stream<Path> files = Files.walk(profile)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
          }
        }
      }
    }
  }

  @Test
  void anOperatorWatchesAQueueDrainAndMemoryRunLow() throws IOException {
    String queue = "orders-console";
    browser.get(server.uri("/?token=" + TestServer.ADMIN).toString());
    WebDriverWait wait = waiting();
    wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("nav")));
    assertFalse(browser.getCurrentUrl().contains("token"), "the token is stripped from the URL: " + browser.getCurrentUrl());
    assertEquals(TestServer.ADMIN, js("return sessionStorage.getItem('spool.token')"));
    assertEquals("Overview — Spool console", browser.getTitle());

    // Create a queue through the overview's form, with Enter; the success is told next to the form.
    browser.findElement(By.id("new-queue-name")).sendKeys(queue + "\n");
    waitForText(wait, "tr[data-queue='" + queue + "'] .depth", "0");
    waitForText(wait, "#queues-section .feedback-ok", "queue " + queue + " created");
    assertEquals(200, server.get("/api/v1/queues/" + queue).status(), "the queue exists in Spool");
    click(wait, By.linkText(queue));

    // The new page's heading has the focus, and the title names the queue.
    wait.until(ExpectedConditions.textToBe(By.id("queue-name"), queue));
    assertEquals(queue + " — Spool console", browser.getTitle());
    assertEquals("H1", js("return document.activeElement.tagName"), "focus moves to the new page's heading");

    // Publish through the form; one payload is markup that must not run or render.
    String markup = "<script>window.pwned = true</script><b id=\"injected\">bold</b>";
    publish(wait, "test.markup", markup, "1");
    publish(wait, "test.plain", "hello", "2");
    assertEquals(2, server.get("/api/v1/queues/" + queue).json().path("stats").path("depth").asLong());

    // A consumer from the earliest message lags by both.
    browser.findElement(By.id("new-consumer-name")).sendKeys("billing");
    browser.findElement(By.id("create-consumer")).click();
    String lag = "tr[data-consumer='billing'] .lag";
    waitForText(wait, lag, "2");

    // An auditor that reads nothing yet keeps the messages to browse: what every consumer acknowledged is released.
    assertEquals(201, server.put("/api/v1/queues/" + queue + "/consumers/audit", "{}").status());
    JsonNode read = server.post("/api/v1/queues/" + queue + "/consumers/billing/read?max=10&wait=PT2S", null).json();
    assertEquals(2, read.path("deliveries").size(), read.toString());
    long last = read.path("deliveries").get(1).path("sequence").asLong();
    assertEquals(200, server.post("/api/v1/queues/" + queue + "/consumers/billing/ack", "{\"upTo\":" + last + "}").status());
    waitForText(wait, lag, "0");
    assertTrue(texts("tr[data-consumer='billing'] .state").get(0).startsWith("caught up"));

    // Browse: the markup payload is text, nothing was injected or run.
    click(wait, By.linkText("Browse messages"));
    wait.until(d -> texts("#messages td.payload").size() == 2);
    assertEquals(markup, texts("#messages td.payload").get(0));
    assertTrue(browser.findElements(By.id("injected")).isEmpty(), "the payload's <b> must not become an element");
    assertEquals(Boolean.TRUE, js("return window.pwned === undefined"), "the payload's <script> must not run");

    // A message's trace: appended, delivered to billing, acked.
    click(wait, By.cssSelector("tr[data-sequence='1'] a.open-message"));
    wait.until(d -> !texts("#trace tr.trace-acked").isEmpty());
    List<String> steps = texts("#trace tr td:first-child");
    assertTrue(steps.containsAll(List.of("appended", "delivered", "acked")), steps.toString());
    assertEquals(markup, texts("#message-payload").get(0));
    click(wait, By.id("copy-id"));
    waitForText(wait, "#message-section .feedback-ok", "id copied");

    // Memory runs low: a retained message elsewhere, then a threshold below what is held.
    browser.get(server.uri("/#/events").toString());
    wait.until(ExpectedConditions.presenceOfElementLocated(By.id("events-list")));
    wait.until(d -> "live".equals(js("return document.body.dataset.events")));
    assertEquals(201, server.put("/api/v1/queues/orders-memory", "{}").status());
    assertEquals(201, server.post("/api/v1/queues/orders-memory/messages", "{\"payload\":\"kept\"}").status());
    assertEquals(200, server.put("/api/v1/stats/memory/threshold", "{\"bytes\":1}").status());
    try {
      wait.until(d -> !texts("#events-list li[data-type='MemoryLow']").isEmpty());
      browser.findElement(By.id("events-filter")).sendKeys("MemoryLow");
      assertEquals(texts("#events-list li[data-type='MemoryLow']"), texts("#events-list li"), "the filter keeps only MemoryLow");

      // The overview: the memory alarm in the banner, the gauge past its threshold, the rate chart from the
      // server's history, so it has samples straight after a reload.
      browser.get(server.uri("/#/").toString());
      wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("memory-text"), "UNDER PRESSURE"));
      wait.until(d -> !texts("#alarm-list li[data-kind='memory']").isEmpty());
      assertEquals(Boolean.FALSE, js("return document.getElementById('alarms').hidden"));
      assertEquals(Boolean.TRUE, js("const m = document.getElementById('memory-meter');"
          + " return m.max === 1 && m.value > m.high"));
      browser.navigate().refresh();
      wait.until(d -> ((Number) js("const c = Chart.getChart('rates-chart'); return c ? c.data.labels.length : 0")).intValue() > 0);
      assertEquals(1L, ((Number) js("return Object.keys(Chart.instances).length")).longValue(), "no chart leaks");
    } finally {
      assertEquals(200, server.put("/api/v1/stats/memory/threshold", "{\"bytes\":0}").status());
    }

    // The threshold is typed in MiB and told back in the same unit.
    browser.findElement(By.id("threshold-amount")).sendKeys("64\n");
    waitForText(wait, "#memory .feedback-ok", "threshold set to 64.0 MiB");
    assertEquals(64L * 1024 * 1024, server.get("/api/v1/stats/memory").json().path("thresholdBytes").asLong());
    assertEquals(200, server.put("/api/v1/stats/memory/threshold", "{\"bytes\":0}").status());

    // Deleting the queue asks first, then lands on the overview saying so, with no error.
    browser.get(server.uri("/#/queue/" + queue).toString());
    wait.until(d -> !texts("#consumers tr[data-consumer]").isEmpty());
    click(wait, By.id("delete-queue"));
    wait.until(d -> texts("#confirm-what").stream().anyMatch(t -> t.contains("cannot be undone")));
    browser.findElement(By.id("confirm-ok")).click();
    waitForText(wait, "#global-feedback .feedback-ok", "queue " + queue + " deleted");
    assertEquals("Overview", browser.findElement(By.tagName("h1")).getText());
    pause(Duration.ofMillis(2500));
    assertEquals("", text("#status"), "no error after the delete");
    assertEquals("", text("#global-feedback .feedback-error"));
    assertEquals(404, server.get("/api/v1/queues/" + queue).status());
  }

  @Test
  void aPushConsumerShowsWhereItPushesAndWhyItFails() {
    String queue = "orders-pushed";
    assertEquals(201, server.put("/api/v1/queues/" + queue, "{}").status());
    // Nothing listens on the discard port: every push fails to connect and is retried.
    assertEquals(201, server.put("/api/v1/queues/" + queue + "/consumers/webhook", "{\"push\":{\"endpoint\":"
        + "\"http://127.0.0.1:9/hooks/orders\",\"retry\":{\"maxRetries\":100,\"initialDelay\":\"PT5S\"}}}").status());
    publishBatch(queue, 3, i -> "{\"payload\":\"m" + i + "\"}");
    open("/queue/" + queue);
    WebDriverWait wait = waiting();
    wait.until(d -> text("tr[data-consumer='webhook'] .push").contains("pushes to 127.0.0.1:9"));
    wait.until(d -> text("tr[data-consumer='webhook'] .push-error").contains("failed"));
    assertTrue(text("tr[data-consumer='webhook'] .push-error").contains("retry in"),
        text("tr[data-consumer='webhook'] .push-error"));
    screenshot("push-consumer", DESKTOP);
  }

  @Test
  void aStuckConsumerShowsAsStuckWithItsReasonAndAPauseShowsAtOnce() {
    String queue = "orders-stuck";
    assertEquals(201, server.put("/api/v1/queues/" + queue, "{}").status());
    assertEquals(201, server.put("/api/v1/queues/" + queue + "/consumers/billing", "{}").status());
    assertEquals(201, server.put("/api/v1/queues/" + queue + "/consumers/reports", "{}").status());
    publishBatch(queue, 5, i -> "{\"payload\":\"m" + i + "\"}");

    // Messages wait and nothing reads them: stuck, with the reason in words, on the overview and the queue.
    open("/");
    WebDriverWait wait = waiting();
    wait.until(d -> List.of("stuck").equals(texts("tr[data-queue='" + queue + "'] .status .badge")));
    assertFalse(text("tr[data-queue='" + queue + "'] .status .reason").isBlank(), "the overview says why");
    click(wait, By.linkText(queue));
    wait.until(d -> List.of("stuck").equals(texts("tr[data-consumer='billing'] .status .badge")));
    String reason = text("tr[data-consumer='billing'] .status .reason");
    assertFalse(reason.isBlank(), "the consumer's row says why it is stuck");
    assertTrue(reason.matches(".*\\d.*"), "the reason counts what waits: " + reason);
    assertEquals(Boolean.TRUE, js("return document.querySelector('#consumers-section').compareDocumentPosition("
        + "document.querySelector('#history')) === Node.DOCUMENT_POSITION_FOLLOWING"), "consumers come first");
    assertEquals("5", text("tr[data-consumer='billing'] .lag"));
    assertEquals(Boolean.TRUE, js("const m = document.querySelector(\"tr[data-consumer='billing'] meter.lagbar\");"
        + " return m.value > m.high && m.optimum < m.low"), "nothing read is the lag bar's worst region, not its best");

    // A pause shows at once, well within a refresh cycle, though focus stays in the table.
    By pauseButton = By.cssSelector("tr[data-consumer='billing'] button.pause");
    click(wait, pauseButton);
    new WebDriverWait(browser, Duration.ofMillis(1500)).ignoring(StaleElementReferenceException.class)
        .until(d -> List.of("Resume").equals(texts("tr[data-consumer='billing'] button.resume"))
            && text("tr[data-consumer='billing'] .state").contains("paused"));
    assertEquals("pause-billing", js("return document.activeElement.dataset.key"), "focus stays on the pause/resume button");
    assertTrue(server.get("/api/v1/queues/" + queue + "/consumers/billing").json().path("paused").asBoolean());
    waitForText(wait, "#consumers-section .feedback-ok", "billing paused");
    click(wait, By.cssSelector("tr[data-consumer='billing'] button.resume"));
    new WebDriverWait(browser, Duration.ofMillis(1500)).ignoring(StaleElementReferenceException.class)
        .until(d -> List.of("Pause").equals(texts("tr[data-consumer='billing'] button.pause")));

    // Seek with nothing typed does not rewind: it asks for a sequence.
    long cursor = server.get("/api/v1/queues/" + queue + "/consumers/reports").json().path("cursor").asLong();
    click(wait, By.cssSelector("tr[data-consumer='reports'] button.seek-button"));
    wait.until(d -> text("#consumers-section .feedback-error").contains("type a sequence"));
    assertEquals(cursor, server.get("/api/v1/queues/" + queue + "/consumers/reports").json().path("cursor").asLong());

    // A selection in a row and the text typed in a field outlive more than two refreshes.
    WebElement sequence = browser.findElement(By.cssSelector("tr[data-consumer='billing'] input.seek-sequence"));
    sequence.sendKeys("3");
    js("const cell = document.querySelector(\"tr[data-consumer='reports'] th\");"
        + " const range = document.createRange(); range.selectNodeContents(cell);"
        + " const s = window.getSelection(); s.removeAllRanges(); s.addRange(range);");
    assertEquals("reports", js("return window.getSelection().toString()"));
    pause(Duration.ofMillis(5000));
    assertEquals("reports", js("return window.getSelection().toString()"), "the refresh keeps the selection");
    assertEquals(Boolean.TRUE, js("return window.getSelection().anchorNode.isConnected"));
    js("window.getSelection().removeAllRanges()");
    pause(Duration.ofMillis(2500));
    assertEquals("3", browser.findElement(By.cssSelector("tr[data-consumer='billing'] input.seek-sequence")).getAttribute("value"),
        "the refresh keeps what is typed");
  }

  @Test
  void aDeadLetteringQueueIsFlaggedAndASelectionOfItsDeadLettersRedriven() {
    String source = "orders-flaky";
    String dlq = "orders-flaky-dlq";
    assertEquals(201, server.put("/api/v1/queues/" + dlq, "{}").status());
    // Retention keeps the source's messages after they were dead-lettered, for the link to their trace.
    assertEquals(201, server.put("/api/v1/queues/" + source,
        "{\"retention\":\"PT10M\",\"deadLetter\":{\"queue\":\"" + dlq + "\",\"maxDeliveries\":1}}").status());
    assertEquals(201, server.put("/api/v1/queues/" + source + "/consumers/worker", "{}").status());
    publishBatch(source, 4, i -> "{\"type\":\"order.poison\",\"payload\":\"{\\\"order\\\":" + i + "}\",\"contentType\":\"application/json\"}");
    JsonNode read = server.post("/api/v1/queues/" + source + "/consumers/worker/read?max=4&wait=PT2S", null).json();
    assertEquals(4, read.path("deliveries").size(), read.toString());
    assertEquals(200, server.post("/api/v1/queues/" + source + "/consumers/worker/nack",
        "{\"sequences\":[1,2,3,4],\"requeue\":false}").status());

    // The overview flags the source and marks and lists its dead-letter queue.
    open("/");
    WebDriverWait wait = waiting();
    wait.until(d -> List.of("dead-lettering").equals(texts("tr[data-queue='" + source + "'] .status .badge")));
    assertEquals(1, texts("tr[data-queue='" + dlq + "'] .dlq-tag").size(), "the dead-letter queue is marked");
    wait.until(d -> List.of("4").equals(texts("#dead-letter-queues li[data-dlq='" + dlq + "'] .dlq-depth")));
    click(wait, By.cssSelector("#dead-letter-queues li[data-dlq='" + dlq + "'] a"));

    // One line per dead letter: source, reason, attempts, type and payload, with a link to the source's trace.
    wait.until(d -> texts("#dead-letter-rows tr[data-sequence]").size() == 4);
    assertEquals("Dead letters in " + dlq + " — Spool console", browser.getTitle());
    assertEquals(List.of("rejected", "rejected", "rejected", "rejected"), texts("#dead-letter-rows .reason"));
    assertEquals(List.of("1", "1", "1", "1"), texts("#dead-letter-rows .attempts"));
    assertEquals("order.poison", texts("#dead-letter-rows .type").get(0));
    assertEquals("{\"order\":1}", texts("#dead-letter-rows .payload").get(0));
    assertEquals("#/message/" + source + "/1",
        js("return document.querySelector('#dead-letter-rows tr .source-link').getAttribute('href')"));
    new Select(browser.findElement(By.id("reason-filter"))).selectByValue("rejected");
    wait.until(d -> texts("#dead-letter-rows tr[data-sequence]").size() == 4);

    // The page fetches its messages on opening, paging and acting, not on every refresh.
    js("window.browseCalls = 0; const f = window.fetch;"
        + " window.fetch = (u, o) => { if (String(u).includes('/browse')) window.browseCalls++; return f(u, o); };");
    pause(Duration.ofMillis(4500));
    assertEquals(0L, ((Number) js("return window.browseCalls")).longValue(), "no refetch of the dead letters per refresh");

    // Redrive three of them: asked first, then the count moved is told.
    for (String seq : List.of("1", "2", "3")) {
      browser.findElement(By.cssSelector("#dead-letter-rows tr[data-sequence='" + seq + "'] input.select")).click();
    }
    waitForText(wait, "#redrive-selected", "Redrive selected (3)");
    browser.findElement(By.id("redrive-selected")).click();
    wait.until(d -> text("#confirm-what").contains(source));
    assertTrue(text("#confirm-title").contains("3 selected"), text("#confirm-title"));
    browser.findElement(By.id("confirm-ok")).click();
    waitForText(wait, "#dead-letters .feedback-ok", "3 messages moved to " + source);
    wait.until(d -> texts("#dead-letter-rows tr[data-sequence]").size() == 1);
    assertEquals(1, server.get("/api/v1/queues/" + dlq).json().path("stats").path("depth").asLong());
    assertEquals(7, server.get("/api/v1/queues/" + source).json().path("stats").path("lastSequence").asLong(),
        "redrive published the three again to their source queue");

    // The remaining dead letter leads to its source message's trace.
    click(wait, By.cssSelector("#dead-letter-rows .source-link"));
    wait.until(d -> !texts("#trace tr").isEmpty());
    assertEquals("Message 4 in " + source + " — Spool console", browser.getTitle());
    assertTrue(texts("#trace tr td:first-child").contains("dead-lettered"), texts("#trace tr td:first-child").toString());
    assertEquals("{\n  \"order\": 4\n}", text("#message-payload"), "a JSON payload is pretty-printed");
  }

  @Test
  void messagesPageBothWaysAndAreSearchedWithinABoundedScan() {
    String queue = "orders-pages";
    assertEquals(201, server.put("/api/v1/queues/" + queue, "{}").status());
    publishBatch(queue, 120, i -> "{\"key\":\"customer-" + (i % 10) + "\",\"type\":\"" + (i % 2 == 0 ? "order.created" : "order.paid")
        + "\",\"headers\":{\"tenant\":\"" + (i <= 60 ? "acme" : "globex") + "\"},\"payload\":\"p" + i + "\"}");

    open("/messages/" + queue);
    WebDriverWait wait = waiting();
    wait.until(d -> sequences().size() == 50);
    assertEquals(List.of(1L, 50L), firstAndLast());
    click(wait, By.cssSelector("#messages-pager .page-next"));
    wait.until(d -> firstAndLast().equals(List.of(51L, 100L)));
    click(wait, By.cssSelector("#messages-pager .page-newest"));
    wait.until(d -> firstAndLast().equals(List.of(71L, 120L)));
    click(wait, By.cssSelector("#messages-pager .page-previous"));
    wait.until(d -> firstAndLast().equals(List.of(21L, 70L)));
    assertTrue(browser.findElement(By.cssSelector("#messages-pager .page-next")).isEnabled());

    // By key, then by type and header together.
    browser.findElement(By.id("search-key")).sendKeys("customer-3\n");
    wait.until(d -> sequences().equals(List.of(3L, 13L, 23L, 33L, 43L, 53L, 63L, 73L, 83L, 93L, 103L, 113L)));
    assertEquals(List.of("customer-3"), texts("#messages td.key").stream().distinct().toList());
    browser.findElement(By.id("search-key")).clear();
    browser.findElement(By.id("search-type")).sendKeys("order.created");
    browser.findElement(By.id("search-header")).sendKeys("tenant:globex");
    browser.findElement(By.id("search")).click();
    wait.until(d -> sequences().size() == 30 && sequences().get(0) == 62L);
    assertEquals(List.of("order.created"), texts("#messages td.type").stream().distinct().toList());
    screenshot("messages-search", DESKTOP);

    // By time: nothing was published before an hour ago.
    browser.findElement(By.id("search-type")).clear();
    browser.findElement(By.id("search-header")).clear();
    js("const hourAgo = new Date(Date.now() - 3_600_000 - new Date().getTimezoneOffset() * 60_000);"
        + " document.getElementById('search-until').value = hourAgo.toISOString().slice(0, 19);");
    browser.findElement(By.id("search")).click();
    wait.until(d -> sequences().isEmpty() && !texts("#messages td.muted").isEmpty());
    js("document.getElementById('search-until').value = ''");
    browser.findElement(By.id("search")).click();
    wait.until(d -> sequences().size() == 50);

    // A search whose match lies past one request's scan bound says there is more to scan, and Next finds it.
    String haystack = "orders-haystack";
    assertEquals(201, server.put("/api/v1/queues/" + haystack, "{}").status());
    publishBatch(haystack, 10_000, i -> "{\"payload\":\"h\"}");
    publishBatch(haystack, 1, i -> "{\"key\":\"needle\",\"payload\":\"found\"}");
    open("/messages/" + haystack);
    wait.until(d -> sequences().size() == 50);
    browser.findElement(By.id("search-key")).sendKeys("needle\n");
    wait.until(d -> text("#messages-pager .scan-info").contains("more to scan"));
    assertTrue(sequences().isEmpty(), "nothing matched within the first scan");
    click(wait, By.cssSelector("#messages-pager .page-next"));
    wait.until(d -> sequences().equals(List.of(10_001L)));
  }

  @Test
  void everyPageIsAxeCleanAndFitsAPhone() {
    String queue = "orders-a11y";
    String dlq = "orders-a11y-dlq";
    assertEquals(201, server.put("/api/v1/queues/" + dlq, "{}").status());
    assertEquals(201, server.put("/api/v1/queues/" + queue,
        "{\"ttl\":\"PT10M\",\"deadLetter\":{\"queue\":\"" + dlq + "\",\"maxDeliveries\":1}}").status());
    assertEquals(201, server.put("/api/v1/queues/" + queue + "/consumers/billing-with-a-long-consumer-name", "{}").status());
    assertEquals(201, server.put("/api/v1/queues/" + queue + "/consumers/paused-one", "{}").status());
    assertEquals(200, server.post("/api/v1/queues/" + queue + "/consumers/paused-one/pause", null).status());
    publishBatch(queue, 3, i -> "{\"type\":\"order.created\",\"key\":\"customer-with-a-long-key-" + i
        + "\",\"contentType\":\"application/json\",\"payload\":\"{\\\"order\\\":" + i + ",\\\"note\\\":\\\"" + "x".repeat(300) + "\\\"}\"}");
    server.post("/api/v1/queues/" + queue + "/consumers/billing-with-a-long-consumer-name/read?max=1&wait=PT2S", null);
    assertEquals(200, server.post("/api/v1/queues/" + queue + "/consumers/billing-with-a-long-consumer-name/nack",
        "{\"sequences\":[1],\"requeue\":false}").status());

    record Page(String name, String hash, String ready) {}
    List<Page> pages = List.of(
        new Page("overview", "/", "tr[data-queue='" + queue + "'] .badge"),
        new Page("queue", "/queue/" + queue, "tr[data-consumer='paused-one'] .badge"),
        new Page("dead-letter-queues", "/dead-letters", "li[data-dlq='" + dlq + "']"),
        new Page("dead-letters", "/dead-letters/" + dlq, "#dead-letter-rows tr[data-sequence]"),
        new Page("messages", "/messages/" + queue, "#messages tr[data-sequence]"),
        new Page("message", "/message/" + dlq + "/1", "#trace tr"),
        new Page("events", "/events", "body[data-events='live'] #events-list"));
    List<String> problems = new ArrayList<>();
    for (int width : List.of(DESKTOP, PHONE)) {
      width(width, 900);
      for (Page page : pages) {
        open(page.hash());
        waiting().until(d -> !texts(page.ready()).isEmpty());
        check(page.name(), width, problems);
      }
      // The confirmation dialog, open over the queue's page.
      open("/queue/" + queue);
      waiting().until(d -> !texts("tr[data-consumer] .badge").isEmpty());
      click(waiting(), By.id("delete-queue"));
      waiting().until(ExpectedConditions.visibilityOfElementLocated(By.id("confirm-ok")));
      check("confirm-delete", width, problems);
      browser.findElement(By.id("confirm-cancel")).click();
      // Signed out: the sign-in page.
      click(waiting(), By.id("sign-out"));
      waiting().until(ExpectedConditions.visibilityOfElementLocated(By.id("token-input")));
      check("sign-in", width, problems);
      browser.findElement(By.id("token-input")).sendKeys(TestServer.ADMIN + "\n");
      waiting().until(ExpectedConditions.visibilityOfElementLocated(By.id("nav")));
    }
    assertEquals(List.of(), problems);
    assertEquals(200, server.get("/api/v1/queues/" + queue).status(), "cancel kept the queue");
  }

  @Test
  void aPartitionedQueueShowsItsPartitionsAndItsConsumersSummedLag() {
    String queue = "orders-split";
    open("/");
    WebDriverWait wait = waiting();
    wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("new-queue-name")));
    browser.findElement(By.id("new-queue-name")).sendKeys(queue);
    browser.findElement(By.id("new-queue-partitions")).sendKeys("3");
    browser.findElement(By.id("create-queue")).click();
    waitForText(wait, "tr[data-queue='" + queue + "'] .depth", "0");
    assertEquals(3, server.get("/api/v1/queues/" + queue).json().path("settings").path("partitions").asInt());
    assertEquals(201, server.put("/api/v1/queues/" + queue + "/consumers/billing", "{}").status());
    publishBatch(queue, 30, i -> "{\"key\":\"customer-" + i + "\",\"payload\":\"" + "x".repeat(1024) + "\"}");
    // The overview's worst lag is the consumer's over all partitions.
    waitForText(wait, "tr[data-queue='" + queue + "'] .worst-lag", "30");
    assertEquals(List.of(), texts("tr[data-queue^='" + queue + "#']"), "partitions are not listed as queues");

    click(wait, By.linkText(queue));
    waitForText(wait, "#queue-partitions", "3");
    wait.until(d -> texts("#partitions tr[data-partition]").size() == 3);
    List<String> depths = texts("#partitions .depth");
    assertEquals(30, depths.stream().mapToInt(Integer::parseInt).sum(), "the partitions' depths add up: " + depths);
    waitForText(wait, "#queue-depth", "30");
    assertEquals(List.of(queue + "#0", queue + "#1", queue + "#2"), texts("#queue-health + .links a[href^='#/messages/']"),
        "a partitioned queue is browsed partition by partition");
    click(wait, By.cssSelector("#partitions tr[data-partition='" + queue + "#1'] a"));
    wait.until(ExpectedConditions.textToBe(By.id("queue-name"), queue + "#1"));
    waitForText(wait, "#queue-partitions", "1");
    assertTrue(browser.findElements(By.id("delete-queue")).isEmpty(), "a partition is not deleted on its own");
    assertTrue(browser.findElements(By.id("new-consumer-form")).isEmpty(), "nor given consumers");
  }

  /**
   * Each token sees only the actions it may take, by the server's rules: a viewer none at all, a
   * producer of orders-* the publish form of its queue, a consumer of orders-* its consumers'
   * controls, an admin everything; hidden, not disabled.
   */
  @Test
  void eachTokenSeesOnlyTheActionsItMayTake() {
    String queue = "orders-roles";
    String dlq = "orders-roles-dlq";
    assertEquals(201, server.put("/api/v1/queues/" + dlq, "{}").status());
    assertEquals(201, server.put("/api/v1/queues/" + queue,
        "{\"deadLetter\":{\"queue\":\"" + dlq + "\",\"maxDeliveries\":1}}").status());
    assertEquals(201, server.put("/api/v1/queues/" + queue + "/consumers/billing", "{}").status());
    publishBatch(queue, 2, i -> "{\"payload\":\"" + "x".repeat(1024) + "\"}");
    assertEquals(1, server.post("/api/v1/queues/" + queue + "/consumers/billing/read?max=1&wait=PT2S", null).json()
        .path("deliveries").size());
    assertEquals(200, server.post("/api/v1/queues/" + queue + "/consumers/billing/nack",
        "{\"sequences\":[1],\"requeue\":false}").status());
    String consumerRow = "tr[data-consumer='billing'] .badge";
    List<String> adminOnly = List.of("#new-queue-form", "#threshold-form", "#gc");
    List<String> queueActions = List.of("#new-consumer-form", "#publish-form", "#delete-queue",
        "tr[data-consumer='billing'] button.pause", "tr[data-consumer='billing'] .seek-button",
        "tr[data-consumer='billing'] .delete-consumer");
    List<String> redrive = List.of("#redrive-all", "#redrive-selected", "#select-page", "#dead-letter-rows input.select");
    try {
      // A viewer reads everything and changes nothing: no form and no button on the overview or the queue.
      signInAs(TestServer.VIEWER);
      waitForText(waiting(), "#whoami", "viewer (viewer)");
      waiting().until(d -> !texts("tr[data-queue='" + queue + "'] .badge").isEmpty());
      assertEquals(List.of(), present(adminOnly));
      assertEquals(0L, count("main form, main button"), "the viewer's overview holds no action");
      open("/queue/" + queue);
      waiting().until(d -> !texts(consumerRow).isEmpty());
      assertEquals(List.of(), present(queueActions));
      assertEquals(0L, count("main form, main button"), "the viewer's queue page holds no action");
      open("/dead-letters/" + dlq);
      waiting().until(d -> texts("#dead-letter-rows tr[data-sequence]").size() == 1);
      assertEquals(List.of(), present(redrive));

      // A producer of orders-*: its queue's publish form, nothing else; no service-wide pages.
      signInAs(TestServer.PRODUCER);
      waitForText(waiting(), "#whoami", "orders-producer (producer)");
      waiting().until(ExpectedConditions.visibilityOfElementLocated(By.id("open-queue-form")));
      assertTrue(text("#own-queues").contains("orders-*"), text("#own-queues"));
      assertEquals(List.of(), texts("#nav a:not([hidden])").stream().filter(t -> !t.equals("Overview")).toList(),
          "no link to the pages a producer may not read");
      List<String> problems = new ArrayList<>();
      check("producer-overview", DESKTOP, problems);
      width(PHONE, 900);
      check("producer-overview", PHONE, problems);
      width(DESKTOP, 1000);
      assertEquals(List.of(), problems);
      browser.findElement(By.id("open-queue-name")).sendKeys(queue + "\n");
      waiting().until(d -> !texts(consumerRow).isEmpty());
      assertEquals(List.of("#publish-form"), present(queueActions));
      browser.findElement(By.id("publish-payload")).sendKeys("from the producer");
      browser.findElement(By.id("publish")).click();
      waitForText(waiting(), "section:has(#publish-form) .feedback-ok", "published as sequence 3");

      // A consumer of orders-*: creates and steers consumers, deletes none, publishes nothing.
      signInAs(TestServer.CONSUMER);
      waitForText(waiting(), "#whoami", "orders-consumer (consumer)");
      open("/queue/" + queue);
      waiting().until(d -> !texts(consumerRow).isEmpty());
      assertEquals(List.of("#new-consumer-form", "tr[data-consumer='billing'] button.pause",
          "tr[data-consumer='billing'] .seek-button"), present(queueActions));

      // An admin sees every action.
      signInAs(TestServer.ADMIN);
      waitForText(waiting(), "#whoami", "admin (admin)");
      waiting().until(d -> !texts("tr[data-queue='" + queue + "'] .badge").isEmpty());
      assertEquals(adminOnly, present(adminOnly));
      open("/queue/" + queue);
      waiting().until(d -> !texts(consumerRow).isEmpty());
      assertEquals(queueActions, present(queueActions));
      open("/dead-letters/" + dlq);
      waiting().until(d -> texts("#dead-letter-rows tr[data-sequence]").size() == 1);
      assertEquals(redrive, present(redrive));
    } finally {
      signInAs(TestServer.ADMIN);
    }
  }

  /** Signs the console in with token, as the link printed at first start does, on the overview. */
  private static void signInAs(String token) {
    browser.get(server.uri("/?token=" + token + "#/").toString());
    waiting().until(ExpectedConditions.visibilityOfElementLocated(By.id("nav")));
  }

  /** Those of the selectors that select something on the page, in their order. */
  private static List<String> present(List<String> selectors) {
    return selectors.stream().filter(css -> count(css) > 0).toList();
  }

  private static long count(String css) {
    return ((Number) js("return document.querySelectorAll(arguments[0]).length", css)).longValue();
  }

  /**
   * axe-core's serious and critical violations and any sideways overflow of the page, added to
   * problems; a full-page screenshot either way.
   */
  private static void check(String page, int width, List<String> problems) {
    Results results = new AxeBuilder().analyze(browser);
    for (Rule rule : results.getViolations()) {
      if ("serious".equals(rule.getImpact()) || "critical".equals(rule.getImpact())) {
        problems.add(page + " at " + width + " px: " + rule.getId() + " (" + rule.getImpact() + ") " + rule.getHelp() + ": "
            + rule.getNodes().stream().map(n -> n.getTarget() + " " + n.getFailureSummary()).collect(Collectors.joining("; ")));
      }
    }
    long scrollWidth = ((Number) js("return document.documentElement.scrollWidth")).longValue();
    long innerWidth = ((Number) js("return window.innerWidth")).longValue();
    if (scrollWidth > innerWidth) {
      problems.add(page + " at " + width + " px overflows sideways: " + scrollWidth + " > " + innerWidth);
    }
    screenshot(page, width);
  }

  /** The page's width (and height), as a device of that size shows it: Chrome's own windows are wider than a phone. */
  private static void width(int width, int height) {
    browser.executeCdpCommand("Emulation.setDeviceMetricsOverride",
        Map.of("width", width, "height", height, "deviceScaleFactor", 1, "mobile", width < 600));
  }

  /** Opens a console page: through its address once signed in (quicker than loading the console again). */
  private static void open(String hash) {
    boolean signedIn = browser.getCurrentUrl().startsWith(server.uri("/").toString())
        && js("return sessionStorage.getItem('spool.token')") != null
        && !browser.findElements(By.cssSelector("#nav:not([hidden])")).isEmpty();
    if (signedIn && !("#" + hash).equals(js("return location.hash"))) {
      js("location.hash = arguments[0]", "#" + hash);
    } else if (signedIn) {
      browser.navigate().refresh();
    } else {
      browser.get(server.uri("/?token=" + TestServer.ADMIN + "#" + hash).toString());
    }
  }

  private static void publishBatch(String queue, int count, java.util.function.IntFunction<String> message) {
    StringBuilder batch = new StringBuilder("{\"messages\":[");
    for (int i = 1; i <= count; i++) {
      batch.append(i == 1 ? "" : ",").append(message.apply(i));
    }
    TestServer.Response answer = server.post("/api/v1/queues/" + queue + "/messages", batch.append("]}").toString());
    assertEquals(201, answer.status(), answer.body());
  }

  private void publish(WebDriverWait wait, String type, String payload, String depthAfter) {
    WebElement typeField = browser.findElement(By.id("publish-type"));
    typeField.clear();
    typeField.sendKeys(type);
    WebElement payloadField = browser.findElement(By.id("publish-payload"));
    payloadField.clear();
    payloadField.sendKeys(payload);
    browser.findElement(By.id("publish")).click();
    waitForText(wait, "#queue-depth", depthAfter);
  }

  /** The sequences on the messages page, in order. */
  private static List<Long> sequences() {
    return texts("#messages tr[data-sequence] a.open-message").stream().map(Long::parseLong).toList();
  }

  private static List<Long> firstAndLast() {
    List<Long> s = sequences();
    return s.isEmpty() ? List.of() : List.of(s.get(0), s.get(s.size() - 1));
  }

  /** Waits that ride out the page's refresh, which replaces elements every two seconds. */
  private static WebDriverWait waiting() {
    WebDriverWait wait = new WebDriverWait(browser, WAIT);
    wait.ignoring(StaleElementReferenceException.class);
    return wait;
  }

  /** Clicks what {@code by} finds, finding it again if a refresh replaced it in between. */
  private static void click(WebDriverWait wait, By by) {
    wait.until(d -> {
      d.findElement(by).click();
      return true;
    });
  }

  private static void waitForText(WebDriverWait wait, String css, String expected) {
    wait.until(d -> List.of(expected).equals(texts(css)));
  }

  /** The text of the first element {@code css} selects ("" when none). */
  private static String text(String css) {
    List<String> all = texts(css);
    return all.isEmpty() ? "" : all.get(0);
  }

  /** The text of every element {@code css} selects, read in one go inside the page, so never stale. */
  @SuppressWarnings("unchecked")
  private static List<String> texts(String css) {
    return (List<String>) js("return Array.from(document.querySelectorAll(arguments[0]), e => e.textContent)", css);
  }

  private static Object js(String script, Object... args) {
    return ((JavascriptExecutor) browser).executeScript(script, args);
  }

  /** Lets the page refresh a few times while the test watches what must not change. */
  private static void pause(Duration duration) {
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** The whole page, not only what the viewport shows, at the given width. */
  private static void screenshot(String name, int width) {
    long height = ((Number) js("return document.documentElement.scrollHeight")).longValue();
    long viewport = ((Number) js("return window.innerHeight")).longValue();
    width(width, (int) Math.min(Math.max(height, viewport), 6000));
    try {
      Files.write(SCREENSHOTS.resolve(name + "-" + width + ".png"), browser.getScreenshotAs(OutputType.BYTES));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } finally {
      width(width, (int) viewport);
    }
  }
}
