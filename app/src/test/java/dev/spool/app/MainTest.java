package dev.spool.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import dev.spool.Delivery;
import dev.spool.Message;
import dev.spool.Spool;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MainTest {

  /** The service's configuration with its data directory in {@code dir}. */
  static Config config(Path dir) {
    return ConfigFactory.load(ConfigFactory.parseMap(Map.of("spool.data-dir", dir.toString()))
        .withFallback(ConfigFactory.parseResourcesAnySyntax("application")));
  }

  @Test
  void theServiceStartsWithItsDefaultQueueServesItAndShutsDownCleanly(@TempDir Path dir) throws Exception {
    Spool spool = Main.init(config(dir));
    assertEquals("default", spool.queueInfo("default").toCompletableFuture().get(10, TimeUnit.SECONDS).name());

    long seq = spool.createPublisher("svc").publish(Message.text("job", "hello"))
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
    List<Delivery> got = spool.createConsumer("worker").readBatch(10, Duration.ofSeconds(5))
        .toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertEquals(List.of(seq), got.stream().map(Delivery::sequence).toList());
    assertEquals("hello", got.get(0).message().payloadAsString());

    CoordinatedShutdown.get(spool.system()).runAll(CoordinatedShutdown.unknownReason())
        .toCompletableFuture().get(30, TimeUnit.SECONDS);
    spool.system().getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    assertTrue(spool.system().getWhenTerminated().toCompletableFuture().isDone());
  }
}
