package dev.spool.redis;

import io.lettuce.core.api.sync.RedisCommands;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Test classes whose tests share one endpoint (each on streams of its own), with an admin
 * connection: a server started per class, not per test. Classes run one after another, so the
 * static fields hold the running class's server.
 */
abstract class SharedServerTest {

  static RedisTestServer server;
  static RedisCommands<String, String> admin;

  @BeforeAll
  static void startServer() {
    server = RedisTestServer.start();
    admin = server.connect(RedisTestServer.ADMIN).sync();
  }

  @AfterAll
  static void stopServer() throws Exception {
    server.close();
  }
}
