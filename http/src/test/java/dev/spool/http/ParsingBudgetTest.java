package dev.spool.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The heap budget of bodies being parsed: bounded under concurrency, one body always admitted. */
class ParsingBudgetTest {

  @Test
  void bodiesPastTheBudgetWaitAndOneIsAlwaysAdmitted() {
    ParsingBudget budget = new ParsingBudget(100);
    long first = budget.tryAcquire(10);
    assertEquals(10 * ParsingBudget.COST_PER_BODY_BYTE, first);
    long second = budget.tryAcquire(10);
    assertEquals(40, second);
    assertEquals(0, budget.tryAcquire(10), "120 of 100 would be taken");
    budget.release(first);
    assertEquals(40, budget.tryAcquire(10), "room again once a parse is done");

    ParsingBudget small = new ParsingBudget(10);
    assertEquals(400, small.tryAcquire(100), "alone, a body larger than the budget is still parsed");
    assertEquals(0, small.tryAcquire(1), "but nothing beside it");
  }

  @Test
  void concurrentParsesNeverTakeMoreThanTheBudget() throws Exception {
    ParsingBudget budget = new ParsingBudget(1_000);
    AtomicLong inUse = new AtomicLong();
    AtomicLong most = new AtomicLong();
    CountDownLatch start = new CountDownLatch(1);
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < 8; t++) {
      Thread thread = new Thread(() -> {
        try {
          start.await();
        } catch (InterruptedException e) {
          return;
        }
        for (int i = 0; i < 20_000; i++) {
          long cost = budget.tryAcquire(60);
          if (cost > 0) {
            most.accumulateAndGet(inUse.addAndGet(cost), Math::max);
            inUse.addAndGet(-cost);
            budget.release(cost);
          }
        }
      });
      thread.start();
      threads.add(thread);
    }
    start.countDown();
    for (Thread thread : threads) {
      thread.join();
    }
    assertTrue(most.get() <= 1_000, "at most the budget at once: " + most.get());
    assertTrue(most.get() >= 480, "and it was used concurrently: " + most.get());
    assertEquals(240, budget.tryAcquire(60), "everything was given back");
  }
}
