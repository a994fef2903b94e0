package dev.spool.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spool.QueueSettings;
import dev.spool.Spool;
import java.time.Duration;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Each test gets an engine of its own on the class's actor system. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SpoolTestKitExtensionTest {

  @RegisterExtension
  static final SpoolTestKitExtension spool = new SpoolTestKitExtension();

  private static Spool firstEngine;

  @Test
  @Order(1)
  void aTestGetsTheKitAndItsEngineAsParameters(SpoolTestKit kit, Spool engine) {
    assertSame(kit, spool.kit());
    assertSame(kit.spool(), engine);
    assertTrue(kit.isManualTime());
    kit.createQueue("orders", QueueSettings.defaults().withMaxLength(10));
    kit.publishText("orders", "t", "a", "b");
    firstEngine = engine;
  }

  @Test
  @Order(2)
  void theNextTestStartsOnAnEmptyEngineOfItsOwn(SpoolTestKit kit) {
    // The same name with other settings: QueueAlreadyExists if the first test's engine were still there.
    kit.createQueue("orders", QueueSettings.defaults().withTtl(Duration.ofMinutes(1)));
    assertEquals(0, kit.result(kit.spool().queueStats("orders")).depth());
    assertSame(firstEngine.system(), kit.system(), "one actor system per class");
    boolean stopped = kit.result(firstEngine.listQueues().handle((queues, failure) -> failure != null));
    assertTrue(stopped, "the first test's engine was stopped");
  }
}
