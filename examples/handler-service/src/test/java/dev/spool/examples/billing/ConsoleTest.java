package dev.spool.examples.billing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.http.SpoolHttp;
import dev.spool.http.SpoolHttpServer;
import dev.spool.testkit.SpoolTestKit;
import dev.spool.testkit.SpoolTestKitExtension;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.Done;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** The console and the HTTP API, served in-process from the service's own engine (on real time: HTTP has timers). */
class ConsoleTest {

  @RegisterExtension
  static final SpoolTestKitExtension spool = SpoolTestKitExtension.realTime();

  @TempDir
  Path dataDir;

  private final HttpClient client = HttpClient.newHttpClient();

  @Test
  void theServiceServesTheConsoleAndItsQueuesOnLoopback() throws Exception {
    SpoolTestKit kit = spool.kit();
    BillingService service = kit.result(BillingService.start(kit.spool(),
        (orderId, cents) -> CompletableFuture.completedFuture(Done.getInstance())));
    kit.result(service.placeOrder("order-1", 100));

    SpoolHttpServer.Binding http = kit.result(SpoolHttp.start(kit.spool(),
        SpoolHttp.Settings.defaults().withPort(0).withDataDir(dataDir)));
    try {
      assertTrue(http.url().startsWith("http://127.0.0.1:"), http.url());
      assertEquals(200, get(http.url() + "health/ready", null).statusCode());
      HttpResponse<String> page = get(http.url(), null);
      assertEquals(200, page.statusCode());
      assertTrue(page.body().contains("<title>Spool console"), page.body());

      String token = Files.readString(dataDir.resolve("admin-token")).trim();
      assertEquals(401, get(http.url() + "api/v1/queues/orders", null).statusCode());
      HttpResponse<String> orders = get(http.url() + "api/v1/queues/orders", token);
      assertEquals(200, orders.statusCode());
      assertTrue(orders.body().contains("\"orders-dlq\""), orders.body());
    } finally {
      kit.result(http.terminate());
    }
  }

  private HttpResponse<String> get(String url, String token) throws Exception {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(10));
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
  }
}
