package dev.spool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Test helpers for completion stages. */
public final class Await {

  private Await() {}

  public static <T> T result(CompletionStage<T> stage) {
    return result(stage, 15);
  }

  public static <T> T result(CompletionStage<T> stage, int seconds) {
    try {
      return stage.toCompletableFuture().get(seconds, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw new AssertionError("stage failed: " + e.getCause(), e.getCause());
    } catch (InterruptedException | TimeoutException e) {
      throw new AssertionError("stage did not complete in " + seconds + " s", e);
    }
  }

  /** Asserts that {@code stage} fails with a {@link SpoolException} of {@code code}, and returns it. */
  public static SpoolException failure(CompletionStage<?> stage, SpoolException.Code code) {
    try {
      Object value = stage.toCompletableFuture().get(15, TimeUnit.SECONDS);
      return fail("expected " + code + " but got " + value);
    } catch (ExecutionException e) {
      SpoolException se = assertInstanceOf(SpoolException.class, e.getCause(), "failure type");
      assertEquals(code, se.code(), se.getMessage());
      return se;
    } catch (InterruptedException | TimeoutException e) {
      throw new AssertionError("stage did not complete", e);
    }
  }

  /** Asserts that {@code stage} fails, and returns why. */
  public static Throwable failureOf(CompletionStage<?> stage) {
    try {
      Object value = stage.toCompletableFuture().get(15, TimeUnit.SECONDS);
      return fail("expected a failure but got " + value);
    } catch (ExecutionException e) {
      return e.getCause();
    } catch (InterruptedException | TimeoutException e) {
      throw new AssertionError("stage did not complete", e);
    }
  }
}
