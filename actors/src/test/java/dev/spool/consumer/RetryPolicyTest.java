package dev.spool.consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import dev.spool.Backoff;
import dev.spool.ConsumerSettings;
import dev.spool.QueueSettings;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class RetryPolicyTest {

  private static final Backoff DOUBLING = Backoff.exponential(Duration.ofMillis(100), Duration.ofMillis(1000), 2.0, 0);

  private static RetryPolicy policy(Integer maxDeliveries, QueueSettings.DeadLetter deadLetter) {
    ConsumerSettings settings = ConsumerSettings.named("c").backoff(DOUBLING);
    return new RetryPolicy(maxDeliveries == null ? settings : settings.maxDeliveries(maxDeliveries), deadLetter);
  }

  @Test
  void redeliversUntilTheLastAttemptThenGivesUp() {
    RetryPolicy retry = policy(3, null);
    assertNull(retry.giveUpReason(1, true));
    assertNull(retry.giveUpReason(2, true));
    assertEquals("max-deliveries", retry.giveUpReason(3, true));
    assertEquals("rejected", retry.giveUpReason(1, false), "a nack without requeue gives up at once");
  }

  @Test
  void theConsumersLimitWinsOverTheDeadLetterQueuesAndNeitherMeansNever() {
    QueueSettings.DeadLetter deadLetter = new QueueSettings.DeadLetter("orders-dlq", 5);
    assertEquals(2, policy(2, deadLetter).maxDeliveries());
    assertEquals(5, policy(null, deadLetter).maxDeliveries());
    assertEquals("orders-dlq", policy(null, deadLetter).deadLetterQueue());
    assertEquals(Integer.MAX_VALUE, policy(null, null).maxDeliveries());
    assertNull(policy(null, null).deadLetterQueue());
    assertNull(policy(null, null).giveUpReason(1_000_000, true));
  }

  @Test
  void backoffDoublesPerAttemptUpToItsCap() {
    RetryPolicy retry = policy(null, null);
    assertEquals(List.of(100L, 200L, 400L, 800L, 1000L, 1000L),
        List.of(1, 2, 3, 4, 5, 6).stream().map(a -> retry.backoff(a).toMillis()).toList());
  }

  @Test
  void historyKeepsTheMostRecentAttemptsOfEachMessage() {
    RetryPolicy retry = policy(null, null);
    for (int attempt = 1; attempt <= 20; attempt++) {
      retry.failed(7, attempt, 1_000 + attempt, "failed", RetryPolicy.describe(new IllegalStateException("boom")));
    }
    retry.failed(8, 1, 2_000, "nacked", null);
    List<RetryPolicy.Attempt> history = retry.history(7);
    assertEquals(RetryPolicy.MAX_HISTORY, history.size());
    assertEquals(5, history.get(0).attempt(), "the oldest attempts go first");
    assertEquals(20, history.get(history.size() - 1).attempt());
    assertEquals("IllegalStateException: boom", history.get(0).error());
    retry.forget(7);
    assertNull(retry.history(7));
    assertEquals(1, retry.remembered());
    retry.forgetAll();
    assertEquals(0, retry.remembered());
  }

  @Test
  void describesAFailureShortlyWithoutItsStack() {
    assertNull(RetryPolicy.describe(null));
    assertEquals("IllegalStateException", RetryPolicy.describe(new IllegalStateException()));
    String longMessage = RetryPolicy.describe(new RuntimeException("x".repeat(500)));
    assertEquals(201, longMessage.length());
  }
}
