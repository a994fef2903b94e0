package dev.spool.redis;

import static dev.spool.redis.RedisStreamsTest.assertThatFails;
import static org.assertj.core.api.Assertions.assertThat;

import dev.spool.QueueSettings;
import io.lettuce.core.Consumer;
import io.lettuce.core.Limit;
import io.lettuce.core.models.stream.PendingMessage;
import io.lettuce.core.models.stream.PendingMessages;
import io.lettuce.core.Range;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.XAutoClaimArgs;
import io.lettuce.core.XClaimArgs;
import io.lettuce.core.XGroupCreateArgs;
import io.lettuce.core.XPendingArgs;
import io.lettuce.core.XReadArgs;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Consumer groups through Lettuce: reading, pending lists, claims, dead letters, lag, many consumers at once. */
class ConsumerGroupsTest extends SharedServerTest {

  static List<Map<String, Object>> infoMaps(List<Object> info) {
    List<Map<String, Object>> out = new ArrayList<>();
    for (Object o : info) {
      @SuppressWarnings("unchecked")
      List<Object> flat = (List<Object>) o;
      Map<String, Object> m = new java.util.LinkedHashMap<>();
      for (int i = 0; i < flat.size(); i += 2) {
        m.put(String.valueOf(flat.get(i)), flat.get(i + 1));
      }
      out.add(m);
    }
    return out;
  }

  @Test
  void aGroupDeliversEachEntryToOneConsumerAndKeepsItPendingUntilAcknowledged() {
    assertThat(admin.xgroupCreate(XReadArgs.StreamOffset.from("g-basic", "$"), "workers",
        XGroupCreateArgs.Builder.mkstream())).isEqualTo("OK");
    assertThatFails(() -> admin.xgroupCreate(XReadArgs.StreamOffset.from("g-basic", "$"), "workers"),
        "BUSYGROUP Consumer Group name already exists");
    for (int i = 0; i < 10; i++) {
      admin.xadd("g-basic", Map.of("payload", "m" + i + RedisStreamsTest.kib(1, 'p')));
    }
    List<StreamMessage<String, String>> a = admin.xreadgroup(Consumer.from("workers", "alice"),
        XReadArgs.Builder.count(4), XReadArgs.StreamOffset.lastConsumed("g-basic"));
    List<StreamMessage<String, String>> b = admin.xreadgroup(Consumer.from("workers", "bob"),
        XReadArgs.StreamOffset.lastConsumed("g-basic"));
    assertThat(a).extracting(StreamMessage::getId).containsExactly("1-0", "2-0", "3-0", "4-0");
    assertThat(b).extracting(StreamMessage::getId).containsExactly("5-0", "6-0", "7-0", "8-0", "9-0", "10-0");
    PendingMessages summary = admin.xpending("g-basic", "workers");
    assertThat(summary.getCount()).isEqualTo(10);
    assertThat(summary.getMessageIds().getLower().getValue()).isEqualTo("1-0");
    assertThat(summary.getMessageIds().getUpper().getValue()).isEqualTo("10-0");
    assertThat(summary.getConsumerMessageCount()).containsEntry("alice", 4L).containsEntry("bob", 6L);
    List<PendingMessage> alices = admin.xpending("g-basic", XPendingArgs.Builder.xpending(
        Consumer.from("workers", "alice"), Range.create("-", "+"), Limit.from(10)));
    assertThat(alices).extracting(PendingMessage::getId).containsExactly("1-0", "2-0", "3-0", "4-0");
    assertThat(alices.get(0).getRedeliveryCount()).isEqualTo(1);
    // Her own history, read again, counts one more delivery.
    List<StreamMessage<String, String>> history = admin.xreadgroup(Consumer.from("workers", "alice"),
        XReadArgs.StreamOffset.from("g-basic", "0"));
    assertThat(history).extracting(StreamMessage::getId).containsExactly("1-0", "2-0", "3-0", "4-0");
    assertThat(admin.xack("g-basic", "workers", "1-0", "2-0", "2-0", "99-0")).isEqualTo(2);
    assertThat(admin.xpending("g-basic", "workers").getCount()).isEqualTo(8);
    Map<String, Object> group = infoMaps(admin.xinfoGroups("g-basic")).get(0);
    assertThat(group).containsEntry("name", "workers").containsEntry("consumers", 2L).containsEntry("pending", 8L)
        .containsEntry("last-delivered-id", "10-0").containsEntry("lag", 0L).containsEntry("spool-lag", 8L);
    assertThat(infoMaps(admin.xinfoConsumers("g-basic", "workers"))).extracting(m -> m.get("name") + "=" + m.get("pending"))
        .containsExactly("alice=2", "bob=6");
    // Nothing new: an empty read, and a blocking one that times out.
    assertThat(admin.xreadgroup(Consumer.from("workers", "carol"), XReadArgs.StreamOffset.lastConsumed("g-basic"))).isEmpty();
    assertThat(admin.xreadgroup(Consumer.from("workers", "carol"), XReadArgs.Builder.block(100),
        XReadArgs.StreamOffset.lastConsumed("g-basic"))).isEmpty();
  }

  @Test
  void claimsMoveIdleEntriesAndCountDeliveriesAndTooManyDeadLetterThem() throws Exception {
    server.spool.createQueue("g-claim-dlq", QueueSettings.defaults()).toCompletableFuture().get();
    server.spool.createQueue("g-claim", QueueSettings.defaults().withDeadLetter("g-claim-dlq", 3))
        .toCompletableFuture().get();
    admin.xgroupCreate(XReadArgs.StreamOffset.from("g-claim", "0"), "g");
    for (int i = 0; i < 5; i++) {
      admin.xadd("g-claim", Map.of("payload", "c" + i));
    }
    admin.xreadgroup(Consumer.from("g", "dead-worker"), XReadArgs.StreamOffset.lastConsumed("g-claim"));
    // Not idle long enough: nothing moves.
    assertThat(admin.xclaim("g-claim", Consumer.from("g", "rescuer"), 60_000, "1-0")).isEmpty();
    Thread.sleep(50);
    List<StreamMessage<String, String>> claimed = admin.xclaim("g-claim", Consumer.from("g", "rescuer"), 20, "1-0", "2-0");
    assertThat(claimed).extracting(StreamMessage::getId).containsExactly("1-0", "2-0");
    assertThat(claimed.get(0).getBody()).containsEntry("payload", "c0");
    List<PendingMessage> pending = admin.xpending("g-claim", XPendingArgs.Builder.xpending(
        Consumer.from("g", "rescuer"), Range.create("-", "+"), Limit.from(10)));
    assertThat(pending).extracting(PendingMessage::getRedeliveryCount).containsExactly(2L, 2L);
    // JUSTID keeps the count.
    Thread.sleep(30);
    assertThat(admin.xclaim("g-claim", Consumer.from("g", "other"), XClaimArgs.Builder.justid().minIdleTime(20), "1-0"))
        .extracting(StreamMessage::getId).containsExactly("1-0");
    // The queue gives an entry up after 3 deliveries: this claim of 1-0 (its 3rd) is allowed; the
    // automatic claim below would be its 4th, and dead-letters it instead (2-0 to 5-0 move, at their 3rd or 2nd).
    Thread.sleep(30);
    assertThat(admin.xclaim("g-claim", Consumer.from("g", "rescuer"), 20, "1-0")).hasSize(1);
    Thread.sleep(30);
    var auto = admin.xautoclaim("g-claim", XAutoClaimArgs.Builder.xautoclaim(Consumer.from("g", "auto"),
        Duration.ofMillis(20), "0-0").count(10));
    assertThat(auto.getMessages()).extracting(StreamMessage::getId).containsExactly("2-0", "3-0", "4-0", "5-0");
    assertThat(auto.getId()).isEqualTo("0-0");
    List<Object> raw = rawAutoclaim();
    assertThat(raw).isNotNull();
    await(() -> admin.xlen("g-claim-dlq") == 2);
    assertThat(admin.xrange("g-claim-dlq", Range.create("-", "+"))).extracting(m -> m.getBody().get("payload"))
        .containsExactly("c0", "c1");
    assertThat(admin.xpending("g-claim", "g").getCount()).isEqualTo(3);
  }

  private List<Object> rawAutoclaim() throws Exception {
    try (RawResp raw = server.raw()) {
      raw.call("AUTH", RedisTestServer.ADMIN);
      Thread.sleep(30);
      @SuppressWarnings("unchecked")
      List<Object> reply = (List<Object>) raw.call("XAUTOCLAIM", "g-claim", "g", "auto", "20", "0", "COUNT", "1");
      // 2-0 was delivered three times: a 4th gives it up, reported where Redis reports deleted ids.
      assertThat(reply.get(1)).isEqualTo(List.of());
      assertThat(reply.get(2)).isEqualTo(List.of("2-0"));
      return reply;
    }
  }

  static void await(java.util.function.BooleanSupplier condition) {
    org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(condition::getAsBoolean);
  }

  @Test
  void lagStaysExactAfterEntriesAreDeleted() {
    admin.xgroupCreate(XReadArgs.StreamOffset.from("g-lag", "0"), "g", XGroupCreateArgs.Builder.mkstream());
    for (int i = 0; i < 10; i++) {
      admin.xadd("g-lag", Map.of("payload", "l" + i));
    }
    admin.xreadgroup(Consumer.from("g", "c"), XReadArgs.Builder.count(3), XReadArgs.StreamOffset.lastConsumed("g-lag"));
    admin.xack("g-lag", "g", "1-0", "2-0");
    // Redis's lag counts what the group has not been delivered yet; spool-lag also what it has not acknowledged.
    assertThat(infoMaps(admin.xinfoGroups("g-lag")).get(0)).containsEntry("lag", 7L).containsEntry("spool-lag", 8L);
    assertThat(admin.xdel("g-lag", "5-0", "6-0", "7-0")).isEqualTo(3);
    assertThat(infoMaps(admin.xinfoGroups("g-lag")).get(0)).containsEntry("lag", 4L).containsEntry("spool-lag", 5L);
    admin.xack("g-lag", "g", "3-0");
    List<StreamMessage<String, String>> rest = admin.xreadgroup(Consumer.from("g", "c"),
        XReadArgs.StreamOffset.lastConsumed("g-lag"));
    assertThat(rest).extracting(StreamMessage::getId).containsExactly("4-0", "8-0", "9-0", "10-0");
    assertThat(infoMaps(admin.xinfoGroups("g-lag")).get(0)).containsEntry("lag", 0L).containsEntry("spool-lag", 4L);
  }

  @Test
  void deletingAConsumerHandsItsPendingEntriesBackToTheGroup() {
    admin.xgroupCreate(XReadArgs.StreamOffset.from("g-del", "0"), "g", XGroupCreateArgs.Builder.mkstream());
    admin.xadd("g-del", Map.of("payload", "x"));
    admin.xadd("g-del", Map.of("payload", "y"));
    admin.xreadgroup(Consumer.from("g", "leaving"), XReadArgs.StreamOffset.lastConsumed("g-del"));
    assertThat(admin.xgroupDelconsumer("g-del", Consumer.from("g", "leaving"))).isEqualTo(2);
    await(() -> !admin.xreadgroup(Consumer.from("g", "staying"), XReadArgs.StreamOffset.lastConsumed("g-del")).isEmpty()
        || admin.xpending("g-del", "g").getCount() == 2);
    assertThat(admin.xgroupDestroy("g-del", "g")).isTrue();
    assertThat(admin.xgroupDestroy("g-del", "g")).isFalse();
  }

  @Test
  void aForcedClaimOfAnIdNotInTheStreamCreatesNothing() throws Exception {
    admin.xgroupCreate(XReadArgs.StreamOffset.from("g-force", "0"), "g", XGroupCreateArgs.Builder.mkstream());
    admin.xadd("g-force", Map.of("payload", "only"));
    assertThat(admin.xclaim("g-force", Consumer.from("g", "c"), XClaimArgs.Builder.justid().force(), "99-0")).isEmpty();
    assertThat(admin.xclaim("g-force", Consumer.from("g", "c"), XClaimArgs.Builder.justid().force(), "1-0"))
        .extracting(StreamMessage::getId).containsExactly("1-0");
    assertThat(admin.xpending("g-force", "g").getCount()).isEqualTo(1);
  }

  @Test
  void groupErrorsAreRedisErrors() throws Exception {
    try (RawResp raw = server.raw()) {
      raw.call("AUTH", RedisTestServer.ADMIN);
      assertThat(raw.call("XREADGROUP", "GROUP", "nope", "c", "STREAMS", "g-none", ">")).hasToString(
          "-NOGROUP No such key 'g-none' or consumer group 'nope' in XREADGROUP with GROUP option");
      assertThat(raw.call("XGROUP", "CREATE", "g-none", "g", "$").toString()).startsWith(
          "-ERR The XGROUP subcommand requires the key to exist.");
      assertThat(raw.call("XPENDING", "g-none", "g").toString()).startsWith("-NOGROUP");
      assertThat(raw.call("XACK", "g-none", "g", "1-0")).isEqualTo(0L);
      assertThat(raw.call("XREADGROUP", "GROUP", "g", "c", "STREAMS", "g-none")).hasToString(
          "-ERR wrong number of arguments for 'xreadgroup' command");
      assertThat(raw.call("XAUTOCLAIM", "g-none", "g", "c", "10", "0", "COUNT", "0").toString())
          .startsWith("-ERR COUNT must be > 0");
      assertThat(raw.call("XCLAIM", "g-none", "g", "c", "x", "1-0")).hasToString(
          "-ERR Invalid min-idle-time argument for XCLAIM");
      assertThat(raw.call("XGROUP", "NOPE").toString()).startsWith("-ERR unknown subcommand 'NOPE'");
      assertThat(raw.call("XINFO", "GROUPS", "g-none")).hasToString("-ERR no such key");
    }
  }

  @Test
  void manyConsumersOnManyConnectionsReadEveryEntryOnceAndAcknowledgeAll() throws Exception {
    admin.xgroupCreate(XReadArgs.StreamOffset.from("g-many", "0"), "g", XGroupCreateArgs.Builder.mkstream());
    int total = 2_000;
    ExecutorService pool = Executors.newFixedThreadPool(6);
    Map<String, String> seen = new ConcurrentHashMap<>();
    List<Future<?>> work = new ArrayList<>();
    work.add(pool.submit(() -> {
      RedisCommands<String, String> producer = server.connect(RedisTestServer.ADMIN).sync();
      for (int i = 0; i < total; i++) {
        producer.xadd("g-many", Map.of("payload", "e" + i + RedisStreamsTest.kib(1, 'z')));
      }
      return null;
    }));
    for (int w = 0; w < 4; w++) {
      String name = "w" + w;
      work.add(pool.submit(() -> {
        RedisCommands<String, String> c = server.connect(RedisTestServer.ADMIN).sync();
        long until = System.currentTimeMillis() + 60_000;
        while (seen.size() < total && System.currentTimeMillis() < until) {
          List<StreamMessage<String, String>> got = c.xreadgroup(Consumer.from("g", name),
              XReadArgs.Builder.count(50).block(200), XReadArgs.StreamOffset.lastConsumed("g-many"));
          for (StreamMessage<String, String> m : got) {
            String was = seen.putIfAbsent(m.getId(), name);
            assertThat(was).as("delivered twice: " + m.getId()).isNull();
          }
          if (!got.isEmpty()) {
            c.xack("g-many", "g", got.stream().map(StreamMessage::getId).toArray(String[]::new));
          }
        }
        return null;
      }));
    }
    for (Future<?> f : work) {
      f.get(90, TimeUnit.SECONDS);
    }
    pool.shutdownNow();
    assertThat(seen).hasSize(total);
    assertThat(admin.xpending("g-many", "g").getCount()).isZero();
    assertThat(infoMaps(admin.xinfoGroups("g-many")).get(0)).containsEntry("lag", 0L);
  }
}
