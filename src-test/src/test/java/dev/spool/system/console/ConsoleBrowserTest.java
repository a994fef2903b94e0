package dev.spool.system.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.spool.system.TestServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
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
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * An operator's walk through the console in Debian's headless Chromium: sign in with the token URL,
 * create a queue, publish through the form and see the depth rise, create a consumer, read and ack
 * through the API and see its lag fall to 0, open a message's trace, and see a {@code MemoryLow}
 * event arrive over the ticketed event stream. A payload holding markup must show as text. On a
 * dead-letter queue, each message's origin and reason show, and its button redrives it.
 * Screenshots go to {@code target/console-screenshots/} for review.
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
  private static final Duration WAIT = Duration.ofSeconds(15);

  private static TestServer server;
  private static WebDriver browser;
  private static Path profile;

  private static final boolean INSTALLED = Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);

  @BeforeAll
  static void start() throws IOException {
    if (!INSTALLED) {
      return;
    }
    server = TestServer.start();
    profile = Files.createTempDirectory("spool-console-chromium");
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    // Without the networking flags Chromium keeps calling Google's hosts, which this machine refuses.
    options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--user-data-dir=" + profile, "--window-size=1280,1000");
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
  }

  @AfterAll
  static void stop() throws Exception {
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

  @Test
  void anOperatorWatchesAQueueDrainAndMemoryRunLow() throws IOException {
    String queue = "orders-console";
    browser.get(server.uri("/?token=" + TestServer.ADMIN).toString());
    WebDriverWait wait = waiting();
    wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("nav")));
    assertFalse(browser.getCurrentUrl().contains("token"), "the token is stripped from the URL: " + browser.getCurrentUrl());
    assertEquals(TestServer.ADMIN, js("return sessionStorage.getItem('spool.token')"));

    // Create a queue through the overview's form.
    browser.findElement(By.id("new-queue-name")).sendKeys(queue);
    browser.findElement(By.id("create-queue")).click();
    waitForText(wait, "tr[data-queue='" + queue + "'] .depth", "0");
    assertEquals(200, server.get("/api/v1/queues/" + queue).status(), "the queue exists in Spool");
    click(wait, By.linkText(queue));

    // Publish through the form; one payload is markup that must not run or render.
    wait.until(ExpectedConditions.textToBe(By.id("queue-name"), queue));
    String markup = "<script>window.pwned = true</script><b id=\"injected\">bold</b>";
    publish(wait, "test.markup", markup, "1");
    publish(wait, "test.plain", "hello", "2");
    assertEquals(2, server.get("/api/v1/queues/" + queue).json().path("stats").path("depth").asLong());
    screenshot("1-queue-published");

    // A consumer from the earliest message lags by both.
    browser.findElement(By.id("new-consumer-name")).sendKeys("billing");
    browser.findElement(By.id("create-consumer")).click();
    String lag = "tr[data-consumer='billing'] .lag";
    waitForText(wait, lag, "2");

    // An auditor that reads nothing yet keeps the messages to browse: what every consumer acknowledged is released.
    assertEquals(201, server.put("/api/v1/queues/" + queue + "/consumers/audit", "{}").status());
    // Read and ack through the API; the page's lag falls to 0.
    JsonNode read = server.post("/api/v1/queues/" + queue + "/consumers/billing/read?max=10&wait=PT2S", null).json();
    assertEquals(2, read.path("deliveries").size(), read.toString());
    long last = read.path("deliveries").get(1).path("sequence").asLong();
    assertEquals(200, server.post("/api/v1/queues/" + queue + "/consumers/billing/ack", "{\"upTo\":" + last + "}").status());
    waitForText(wait, lag, "0");
    assertTrue(texts("tr[data-consumer='billing'] .state").get(0).startsWith("caught up"));
    screenshot("2-queue-lag-zero");

    // Browse: the markup payload is text, nothing was injected or run.
    click(wait, By.linkText("Browse messages"));
    wait.until(d -> texts("#messages td.payload").size() == 2);
    assertEquals(markup, texts("#messages td.payload").get(0));
    assertTrue(browser.findElements(By.id("injected")).isEmpty(), "the payload's <b> must not become an element");
    assertEquals(Boolean.TRUE, js("return window.pwned === undefined"), "the payload's <script> must not run");
    screenshot("3-messages");

    // A message's trace: appended, delivered to billing, acked.
    click(wait, By.cssSelector("tr[data-sequence='1'] a.open-message"));
    wait.until(d -> !texts("#trace tr.trace-acked").isEmpty());
    List<String> steps = texts("#trace tr td:first-child");
    assertTrue(steps.containsAll(List.of("appended", "delivered", "acked")), steps.toString());
    assertEquals(markup, texts("#message-payload").get(0));
    screenshot("4-message-trace");

    // Memory runs low: a retained message elsewhere, then a threshold below what is held.
    browser.get(server.uri("/#/events").toString());
    wait.until(ExpectedConditions.presenceOfElementLocated(By.id("events-list")));
    wait.until(d -> "live".equals(js("return document.body.dataset.events")));
    assertEquals(201, server.put("/api/v1/queues/orders-memory", "{}").status());
    assertEquals(201, server.post("/api/v1/queues/orders-memory/messages", "{\"payload\":\"kept\"}").status());
    assertEquals(200, server.put("/api/v1/stats/memory/threshold", "{\"bytes\":1}").status());
    wait.until(d -> !texts("#events-list li[data-type='MemoryLow']").isEmpty());
    assertTrue(texts("#events-list li").size() > texts("#events-list li[data-type='MemoryLow']").size(),
        "other events (QueueCreated) show too before filtering");
    browser.findElement(By.id("events-filter")).sendKeys("MemoryLow");
    assertEquals(texts("#events-list li[data-type='MemoryLow']"), texts("#events-list li"), "the filter keeps only MemoryLow");
    screenshot("5-events-memory-low");

    // The overview: both queues, the memory gauge past its threshold, the rate chart drawn by Chart.js.
    browser.get(server.uri("/#/").toString());
    wait.until(ExpectedConditions.textToBePresentInElementLocated(By.id("memory-text"), "UNDER PRESSURE"));
    assertEquals(Boolean.TRUE, js("return Chart.getChart('rates-chart') !== undefined"));
    // the chart gets data points as the console refreshes, and only one chart is ever alive
    wait.until(d -> ((Number) js("return Chart.getChart('rates-chart').data.labels.length")).intValue() > 1);
    browser.get(server.uri("/#/events").toString());
    browser.get(server.uri("/#/").toString());
    wait.until(d -> js("return Chart.getChart('rates-chart') !== undefined"));
    assertEquals(1L, ((Number) js("return Object.keys(Chart.instances).length")).longValue(), "no chart leaks");
    // the gauge warns against the threshold, in bytes
    assertEquals(Boolean.TRUE, js("const m = document.getElementById('memory-meter');"
        + " return m.max === 1 && m.value > m.high"));
    wait.until(ExpectedConditions.presenceOfElementLocated(By.cssSelector("tr[data-queue='orders-memory']")));
    screenshot("6-overview");
    assertEquals(200, server.put("/api/v1/stats/memory/threshold", "{\"bytes\":0}").status());

    List<String> refused = browser.manage().logs().get(LogType.BROWSER).getAll().stream().map(LogEntry::getMessage)
        .filter(m -> m.contains("Content Security Policy") || m.contains("Refused")).toList();
    assertTrue(refused.isEmpty(), "the console works within its CSP: " + refused);
  }

  @Test
  void aDeadLetterQueueShowsWhyAndRedrives() throws IOException {
    String source = "orders-flaky";
    String dlq = "orders-flaky-dlq";
    assertEquals(201, server.put("/api/v1/queues/" + dlq, "{}").status());
    assertEquals(201, server.put("/api/v1/queues/" + source,
        "{\"deadLetter\":{\"queue\":\"" + dlq + "\",\"maxDeliveries\":1}}").status());
    assertEquals(201, server.put("/api/v1/queues/" + source + "/consumers/worker", "{}").status());
    assertEquals(201, server.post("/api/v1/queues/" + source + "/messages", "{\"payload\":\"poison\"}").status());
    JsonNode read = server.post("/api/v1/queues/" + source + "/consumers/worker/read?max=1&wait=PT2S", null).json();
    long sequence = read.path("deliveries").get(0).path("sequence").asLong();
    assertEquals(200, server.post("/api/v1/queues/" + source + "/consumers/worker/nack",
        "{\"sequences\":[" + sequence + "],\"requeue\":false}").status());

    browser.get(server.uri("/?token=" + TestServer.ADMIN + "#/queue/" + dlq).toString());
    WebDriverWait wait = waiting();
    wait.until(d -> !texts("#dead-letters tr[data-sequence]").isEmpty());
    List<String> cells = texts("#dead-letters tr[data-sequence] td");
    assertEquals(source + " / worker", cells.get(1), cells.toString());
    assertFalse(cells.get(2).isBlank() || cells.get(2).equals("–"), "the reason is shown: " + cells);
    screenshot("7-dead-letters");

    click(wait, By.cssSelector("#dead-letters tr[data-sequence] button"));
    waitForText(wait, "#queue-depth", "0");
    assertEquals(2, server.get("/api/v1/queues/" + source).json().path("stats").path("lastSequence").asLong(),
        "redrive published the message to its source queue again");
  }

  @Test
  void aPartitionedQueueShowsItsPartitionsAndItsConsumersSummedLag() throws IOException {
    String queue = "orders-split";
    browser.get(server.uri("/?token=" + TestServer.ADMIN).toString());
    WebDriverWait wait = waiting();
    wait.until(ExpectedConditions.visibilityOfElementLocated(By.id("new-queue-name")));
    browser.findElement(By.id("new-queue-name")).sendKeys(queue);
    browser.findElement(By.id("new-queue-partitions")).sendKeys("3");
    browser.findElement(By.id("create-queue")).click();
    waitForText(wait, "tr[data-queue='" + queue + "'] .depth", "0");
    assertEquals(3, server.get("/api/v1/queues/" + queue).json().path("settings").path("partitions").asInt());
    assertEquals(201, server.put("/api/v1/queues/" + queue + "/consumers/billing", "{}").status());
    StringBuilder batch = new StringBuilder("{\"messages\":[");
    for (int i = 0; i < 30; i++) {
      batch.append(i == 0 ? "" : ",").append("{\"key\":\"customer-").append(i).append("\",\"payload\":\"")
          .append("x".repeat(1024)).append("\"}");
    }
    assertEquals(201, server.post("/api/v1/queues/" + queue + "/messages", batch.append("]}").toString()).status());
    // The overview's worst lag is the consumer's over all partitions.
    waitForText(wait, "tr[data-queue='" + queue + "'] .worst-lag", "30");
    assertEquals(List.of(), texts("tr[data-queue^='" + queue + "#']"), "partitions are not listed as queues");

    click(wait, By.linkText(queue));
    waitForText(wait, "#queue-partitions", "3");
    wait.until(d -> texts("#partitions tr[data-partition]").size() == 3);
    List<String> depths = texts("#partitions .depth");
    assertEquals(30, depths.stream().mapToInt(Integer::parseInt).sum(), "the partitions' depths add up: " + depths);
    waitForText(wait, "#queue-depth", "30");
    screenshot("8-partitioned-queue");
    click(wait, By.linkText(queue + "#1"));
    wait.until(ExpectedConditions.textToBe(By.id("queue-name"), queue + "#1"));
    waitForText(wait, "#queue-partitions", "1");
    assertFalse(browser.findElement(By.id("delete-queue")).isDisplayed(), "a partition is not deleted on its own");
    assertTrue(browser.findElements(By.id("new-consumer-form")).isEmpty(), "nor given consumers");
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

  /** The text of every element {@code css} selects, read in one go inside the page, so never stale. */
  @SuppressWarnings("unchecked")
  private static List<String> texts(String css) {
    return (List<String>) js("return Array.from(document.querySelectorAll(arguments[0]), e => e.textContent)", css);
  }

  private static Object js(String script, Object... args) {
    return ((JavascriptExecutor) browser).executeScript(script, args);
  }

  private static void screenshot(String name) throws IOException {
    Path shot = ((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE).toPath();
    Files.move(shot, SCREENSHOTS.resolve(name + ".png"), StandardCopyOption.REPLACE_EXISTING);
  }
}
