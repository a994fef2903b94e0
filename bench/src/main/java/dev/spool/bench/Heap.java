package dev.spool.bench;

import java.lang.management.ManagementFactory;

/** The heap the suites measure: what is still used once garbage is collected. */
final class Heap {

  private Heap() {}

  /** Used heap after full collections; repeated until it settles, since actors finish work in between. */
  static long usedAfterGc() throws InterruptedException {
    long used = Long.MAX_VALUE;
    for (int i = 0; i < 5; i++) {
      System.gc();
      Thread.sleep(100);
      long now = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
      if (Math.abs(now - used) < 64 * 1024) {
        return Math.min(now, used);
      }
      used = now;
    }
    return used;
  }
}
