package dev.spool.examples.billing;

import java.util.concurrent.CompletionStage;
import org.apache.pekko.Done;

/** Where the money goes: the service's one dependency, a fake in its tests. */
public interface PaymentGateway {

  /** Charges {@code cents} for {@code orderId}; fails if the charge did not go through. */
  CompletionStage<Done> charge(String orderId, long cents);
}
