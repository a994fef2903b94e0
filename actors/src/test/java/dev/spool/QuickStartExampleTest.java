package dev.spool;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class QuickStartExampleTest {

  @Test
  void theReadmeQuickStartRunsAndBothConsumersGetTheMessage() {
    assertEquals(List.of(
            "billing got #1 order.created {\"id\":7}",
            "shipping got #1 order.created {\"id\":7}",
            "billing lag: 0"),
        QuickStartExample.run());
  }
}
