package dev.spool.redis;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import io.lettuce.core.Consumer;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.XGroupCreateArgs;
import io.lettuce.core.XReadArgs;
import io.lettuce.core.api.sync.RedisCommands;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The connection commands, the connection limit, and group options the other tests leave out. */
class ConnectionCommandsTest {

  static RedisTestServer server;
  static RedisCommands<String, String> admin;

  @BeforeAll
  static void start() {
    server = RedisTestServer.start(ConfigFactory.parseString("spool.redis.max-connections = 6"));
    admin = server.connect(RedisTestServer.ADMIN).sync();
  }

  @AfterAll
  static void stop() throws Exception {
    server.close();
  }

  @Test
  void helloClientInfoAndCommandAnswerAsRedisDoes() throws Exception {
    try (RawResp raw = server.raw()) {
      assertThat(raw.call("HELLO", "3").toString()).startsWith("-NOAUTH HELLO must be called with the client already"
          + " authenticated");
      assertThat(raw.call("HELLO", "4", "AUTH", "default", RedisTestServer.ADMIN)).hasToString(
          "-NOPROTO unsupported protocol version");
      @SuppressWarnings("unchecked")
      List<Object> hello = (List<Object>) raw.call("HELLO", "3", "AUTH", "viewer", RedisTestServer.VIEWER,
          "SETNAME", "my-app");
      assertThat(hello).containsSequence("proto", 3L).contains("server", "redis", "version", Session.REDIS_VERSION);
      // RESP3 from now on: a null is "_", a map "%".
      assertThat(raw.call("CLIENT", "GETNAME")).isEqualTo("my-app");
      assertThat(raw.call("CLIENT", "SETNAME", "has space")).hasToString(
          "-ERR Client names cannot contain spaces, newlines or special characters.");
      assertThat(raw.call("CLIENT", "ID")).isInstanceOf(Long.class);
      assertThat(raw.call("CLIENT", "SETINFO", "lib-name", "test")).isEqualTo("OK");
      assertThat(raw.call("ECHO", "hi")).isEqualTo("hi");
      assertThat(raw.call("PING", "x")).isEqualTo("x");
      assertThat(raw.call("SELECT", "0")).isEqualTo("OK");
      assertThat(raw.call("COMMAND", "COUNT")).isEqualTo((long) CommandTable.ALL.size());
      assertThat(raw.call("INFO", "server").toString()).contains("redis_version:" + Session.REDIS_VERSION,
          "spool_version:");
      assertThat(raw.call("CONFIG", "GET", "save")).isEqualTo(List.of());
      assertThat(raw.call("CONFIG", "SET", "save", "").toString()).startsWith("-ERR Spool is configured through");
      // A viewer reads but does not write.
      assertThat(raw.call("XADD", "v-s", "*", "payload", "x").toString()).startsWith("-NOPERM");
      assertThat(raw.call("XLEN", "v-s")).isEqualTo(0L);
      assertThat(raw.call("RESET")).isEqualTo("RESET");
      assertThat(raw.call("QUIT")).isEqualTo("OK");
      assertThat(raw.closedByServer()).isTrue();
    }
  }

  @Test
  void connectionsBeyondTheLimitAreRefusedWithRedisError() throws Exception {
    List<RawResp> open = new java.util.ArrayList<>();
    try {
      Object refused = null;
      for (int i = 0; i < 8 && refused == null; i++) {
        RawResp c = server.raw();
        open.add(c);
        Object reply = c.call("PING");
        if (reply instanceof RawResp.Err && reply.toString().contains("max number of clients")) {
          refused = reply;
        }
      }
      assertThat(refused).hasToString("-ERR max number of clients reached");
    } finally {
      for (RawResp c : open) {
        c.close();
      }
    }
    // Closed ones free their places.
    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5)).untilAsserted(() -> {
      try (RawResp again = server.raw()) {
        assertThat(again.call("PING")).hasToString("-NOAUTH Authentication required.");
      }
    });
  }

  @Test
  void groupOptionsNoackSetidCreateconsumerAndSeveralStreams() throws Exception {
    admin.xgroupCreate(XReadArgs.StreamOffset.from("o-a", "0"), "g", XGroupCreateArgs.Builder.mkstream());
    admin.xgroupCreate(XReadArgs.StreamOffset.from("o-b", "0"), "g", XGroupCreateArgs.Builder.mkstream());
    for (int i = 0; i < 3; i++) {
      admin.xadd("o-a", Map.of("payload", "a" + i));
      admin.xadd("o-b", Map.of("payload", "b" + i));
    }
    // NOACK: read, nothing pending.
    List<StreamMessage<String, String>> noack = admin.xreadgroup(Consumer.from("g", "c"),
        XReadArgs.Builder.noack(true).count(1), XReadArgs.StreamOffset.lastConsumed("o-a"));
    assertThat(noack).extracting(StreamMessage::getId).containsExactly("1-0");
    assertThat(admin.xpending("o-a", "g").getCount()).isZero();
    // Two streams in one read.
    List<StreamMessage<String, String>> both = admin.xreadgroup(Consumer.from("g", "c"),
        XReadArgs.StreamOffset.lastConsumed("o-a"), XReadArgs.StreamOffset.lastConsumed("o-b"));
    assertThat(both).extracting(m -> m.getStream() + "/" + m.getId())
        .containsExactly("o-a/2-0", "o-a/3-0", "o-b/1-0", "o-b/2-0", "o-b/3-0");
    // SETID back to the start: the group reads again from the first entry.
    assertThat(admin.xgroupSetid(XReadArgs.StreamOffset.from("o-a", "0"), "g")).isEqualTo("OK");
    assertThat(admin.xreadgroup(Consumer.from("g", "d"), XReadArgs.Builder.count(1),
        XReadArgs.StreamOffset.lastConsumed("o-a"))).extracting(StreamMessage::getId).containsExactly("1-0");
    assertThat(admin.xgroupCreateconsumer("o-a", Consumer.from("g", "e"))).isTrue();
    assertThat(admin.xgroupCreateconsumer("o-a", Consumer.from("g", "e"))).isFalse();
    assertThat(ConsumerGroupsTest.infoMaps(admin.xinfoConsumers("o-a", "g"))).extracting(m -> m.get("name"))
        .contains("c", "d", "e");
  }

  @Test
  void aBlockedGroupReadIsWokenByAnAddOnAnotherConnection() throws Exception {
    admin.xgroupCreate(XReadArgs.StreamOffset.from("o-block", "$"), "g", XGroupCreateArgs.Builder.mkstream());
    var reader = server.connect(RedisTestServer.ADMIN).async();
    var pending = reader.xreadgroup(Consumer.from("g", "waiter"), XReadArgs.Builder.block(10_000),
        XReadArgs.StreamOffset.lastConsumed("o-block"));
    Thread.sleep(300);
    assertThat(pending.isDone()).isFalse();
    long sent = System.nanoTime();
    server.spool.createPublisher("o-block", "java").publish(dev.spool.Message.text("t", "from java"))
        .toCompletableFuture().get(5, TimeUnit.SECONDS);
    List<StreamMessage<String, String>> got = pending.get(5, TimeUnit.SECONDS);
    assertThat((System.nanoTime() - sent) / 1_000_000).isLessThan(1_000);
    assertThat(got).extracting(m -> m.getBody().get("payload")).containsExactly("from java");
    assertThat(admin.xpending("o-block", "g").getConsumerMessageCount()).containsEntry("waiter", 1L);
  }
}
