package dev.spool.http;

import dev.spool.SpoolHealth;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@code spool.definitions} left unapplied at this start (a refused block, conflicts, refused
 * tokens): raised as an alarm in {@code /api/v1/health} and counted in {@code /metrics}, so that a
 * declared state that is not in effect is seen, not only logged. Cleared by a start without them.
 */
final class DefinitionProblems {

  private volatile List<String> problems = List.of();

  synchronized void set(List<String> found) {
    problems = List.copyOf(found);
  }

  synchronized void add(List<String> found) {
    List<String> next = new ArrayList<>(problems);
    next.addAll(found);
    problems = List.copyOf(next);
  }

  int count() {
    return problems.size();
  }

  /** One alarm naming every problem, or none. */
  List<SpoolHealth.Alarm> alarms() {
    List<String> now = problems;
    if (now.isEmpty()) {
      return List.of();
    }
    return List.of(new SpoolHealth.Alarm("definitions", "warning", null, "spool.definitions is not fully in effect ("
        + now.size() + (now.size() == 1 ? " problem" : " problems") + "): " + String.join("; ", now)));
  }
}
