package dev.spool.redis;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import io.lettuce.core.Consumer;
import io.lettuce.core.Range;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.XGroupCreateArgs;
import io.lettuce.core.XReadArgs;
import io.lettuce.core.api.sync.RedisCommands;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** One read's reply is bounded in bytes: large ranges cannot exhaust the heap, and nothing is lost. */
class ReplyBudgetTest {

  static RedisTestServer server;
  static RedisCommands<String, String> admin;

  @BeforeAll
  static void start() {
    server = RedisTestServer.start(ConfigFactory.parseString("spool.redis.max-reply-bytes = 64KiB"));
    admin = server.connect(RedisTestServer.ADMIN).sync();
    admin.xgroupCreate(XReadArgs.StreamOffset.from("budget", "0"), "g", XGroupCreateArgs.Builder.mkstream());
    for (int i = 0; i < 200; i++) {
      admin.xadd("budget", Map.of("payload", i + "-" + "k".repeat(1024)));
    }
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
  }

  @Test
  void aRangeOverTheBudgetIsRefusedAndReadInPages() {
    RedisStreamsTest.assertThatFails(() -> admin.xrange("budget", Range.create("-", "+")),
        "ERR the reply would pass spool.redis.max-reply-bytes (65536 bytes) after ");
    RedisStreamsTest.assertThatFails(() -> admin.xrevrange("budget", Range.create("-", "+")),
        "ERR the reply would pass spool.redis.max-reply-bytes");
    assertThat(admin.xrange("budget", Range.create("-", "+"), io.lettuce.core.Limit.from(20))).hasSize(20);
  }

  @Test
  void readsGiveFewerEntriesAndTheRestComeNext() {
    List<StreamMessage<String, String>> first = admin.xread(XReadArgs.Builder.count(200), XReadArgs.StreamOffset.from("budget", "0"));
    assertThat(first.size()).isBetween(20, 64);
    Set<String> seen = new HashSet<>();
    String id = null;
    long reads = 0;
    while (seen.size() < 200 && reads++ < 100) {
      List<StreamMessage<String, String>> got = admin.xreadgroup(Consumer.from("g", "c"), XReadArgs.Builder.count(200).block(1000),
          XReadArgs.StreamOffset.lastConsumed("budget"));
      assertThat(got.size()).isLessThanOrEqualTo(64);
      for (StreamMessage<String, String> m : got) {
        assertThat(seen.add(m.getId())).as("once: " + m.getId()).isTrue();
      }
      if (!got.isEmpty()) {
        admin.xack("budget", "g", got.stream().map(StreamMessage::getId).toArray(String[]::new));
      }
    }
    assertThat(seen).hasSize(200);
    assertThat(admin.xpending("budget", "g").getCount()).isZero();
  }
}
