package dev.spool.examples.billing;

import com.typesafe.config.ConfigFactory;
import dev.spool.Spool;
import dev.spool.http.SpoolHttp;
import java.util.concurrent.CompletableFuture;
import org.apache.pekko.Done;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the billing service with Spool embedded, and Spool's console in the same process:
 * {@code mvn -B compile exec:java}, then open the {@code Spool console: http://127.0.0.1:8080/?token=…}
 * line it prints. Stop it with Ctrl-C.
 */
public final class Main {

  private static final Logger log = LoggerFactory.getLogger(Main.class);

  private Main() {}

  public static void main(String[] args) {
    Spool spool = Spool.start(ConfigFactory.load());
    PaymentGateway gateway = (orderId, cents) -> {
      if (cents < 0) { // refused every time: retried, then dead-lettered to orders-dlq
        return CompletableFuture.failedFuture(new IllegalArgumentException("a negative amount for " + orderId));
      }
      log.info("charged {} cents for {}", cents, orderId);
      return CompletableFuture.completedFuture(Done.getInstance());
    };
    BillingService service = BillingService.start(spool, gateway).toCompletableFuture().join();
    // The HTTP API and the console, on loopback with a generated admin token (printed once).
    SpoolHttp.start(spool).toCompletableFuture().join();
    for (int i = 1; i <= 10; i++) {
      service.placeOrder("order-" + i, 100L * i).toCompletableFuture().join();
    }
    service.placeOrder("order-x", -1).toCompletableFuture().join();
    spool.system().getWhenTerminated().toCompletableFuture().join();
  }
}
