package dev.spool.redis;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.Consumer;
import io.lettuce.core.Limit;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.XAutoClaimArgs;
import io.lettuce.core.XGroupCreateArgs;
import io.lettuce.core.XPendingArgs;
import io.lettuce.core.XReadArgs;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.models.stream.PendingMessage;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * One consumer-group script through Lettuce against Redis itself ({@code redis-server} from the
 * PATH, as {@code .ci/run} installs it) and against Spool: every observable result must be the
 * same, entry ids aside (each side's ids are replaced by the entry's ordinal).
 */
class RedisCompatibilityTest {

  @Test
  void aConsumerGroupScriptGivesTheSameResultsOnRedisAndOnSpool() throws Exception {
    Optional<Path> redisServer = Stream.of(System.getenv("PATH").split(java.io.File.pathSeparator))
        .map(d -> Path.of(d, "redis-server")).filter(Files::isExecutable).findFirst();
    Assumptions.assumeTrue(redisServer.isPresent(), "redis-server is not installed: .ci/run installs it");
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Path dir = Files.createTempDirectory("spool-redis-peer");
    Process redis = new ProcessBuilder(redisServer.get().toString(), "--port", String.valueOf(port),
        "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir.toString())
        .redirectErrorStream(true).redirectOutput(dir.resolve("redis.log").toFile()).start();
    RedisClient peer = RedisClient.create(RedisURI.create("127.0.0.1", port));
    try (RedisTestServer spool = RedisTestServer.start()) {
      RedisCommands<String, String> onRedis = connect(peer);
      List<String> expected = script(onRedis);
      List<String> actual = script(spool.connect(RedisTestServer.ADMIN).sync());
      assertThat(actual).containsExactlyElementsOf(expected);
    } finally {
      peer.shutdown(Duration.ZERO, Duration.ofSeconds(2));
      redis.destroyForcibly();
    }
  }

  private static RedisCommands<String, String> connect(RedisClient client) throws Exception {
    long until = System.currentTimeMillis() + 10_000;
    while (true) {
      try {
        return client.connect().sync();
      } catch (RuntimeException e) {
        if (System.currentTimeMillis() > until) {
          throw e;
        }
        Thread.sleep(50);
      }
    }
  }

  /** The script: each step's result as text, ids replaced by ordinals. */
  private static List<String> script(RedisCommands<String, String> r) throws InterruptedException {
    List<String> out = new ArrayList<>();
    Map<String, String> ordinals = new LinkedHashMap<>();
    String s = "compat-stream";
    out.add("create " + r.xgroupCreate(XReadArgs.StreamOffset.from(s, "$"), "g", XGroupCreateArgs.Builder.mkstream()));
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      Map<String, String> fields = new LinkedHashMap<>();
      fields.put("payload", "v" + i + "x".repeat(1024));
      String id = r.xadd(s, fields);
      ordinals.put(id, "#" + i);
      ids.add(id);
    }
    Map<String, String> two = new LinkedHashMap<>();
    two.put("kind", "order");
    two.put("amount", "7");
    String sixth = r.xadd(s, two);
    ordinals.put(sixth, "#6");
    ids.add(sixth);
    out.add("xlen " + r.xlen(s));
    out.add("alice " + entries(r.xreadgroup(Consumer.from("g", "alice"), XReadArgs.Builder.count(2),
        XReadArgs.StreamOffset.lastConsumed(s)), ordinals));
    out.add("bob " + entries(r.xreadgroup(Consumer.from("g", "bob"), XReadArgs.StreamOffset.lastConsumed(s)), ordinals));
    out.add("empty " + entries(r.xreadgroup(Consumer.from("g", "carol"), XReadArgs.StreamOffset.lastConsumed(s)), ordinals));
    var summary = r.xpending(s, "g");
    out.add("pending " + summary.getCount() + " " + ordinals.get(summary.getMessageIds().getLower().getValue()) + ".."
        + ordinals.get(summary.getMessageIds().getUpper().getValue()) + " " + new java.util.TreeMap<>(summary.getConsumerMessageCount()));
    out.add("ack " + r.xack(s, "g", ids.get(0), ids.get(0), ids.get(5)));
    out.add("claim " + entries(r.xclaim(s, Consumer.from("g", "bob"), 0, ids.get(1)), ordinals));
    out.add("history " + entries(r.xreadgroup(Consumer.from("g", "alice"), XReadArgs.StreamOffset.from(s, "0")), ordinals));
    out.add("pending-bob " + pending(r.xpending(s, XPendingArgs.Builder.xpending(Consumer.from("g", "bob"),
        io.lettuce.core.Range.create("-", "+"), Limit.from(10))), ordinals));
    var auto = r.xautoclaim(s, XAutoClaimArgs.Builder.xautoclaim(Consumer.from("g", "carol"), Duration.ZERO, "0-0").count(2));
    out.add("autoclaim " + entries(auto.getMessages(), ordinals) + " next=" + ordinals.getOrDefault(auto.getId(), auto.getId()));
    out.add("pending-all " + pending(r.xpending(s, XPendingArgs.Builder.xpending(Consumer.from("g", "carol"),
        io.lettuce.core.Range.create("-", "+"), Limit.from(10))), ordinals));
    out.add("consumers " + ConsumerGroupsTest.infoMaps(r.xinfoConsumers(s, "g")).stream()
        .map(m -> m.get("name") + ":" + m.get("pending")).toList());
    out.add("range " + entries(r.xrange(s, io.lettuce.core.Range.create(ids.get(2), ids.get(4))), ordinals));
    out.add("revrange " + entries(r.xrevrange(s, io.lettuce.core.Range.create("-", "+"), Limit.from(2)), ordinals));
    out.add("xdel " + r.xdel(s, ids.get(3), "999999999999-0"));
    out.add("ack-rest " + r.xack(s, "g", ids.toArray(String[]::new)));
    Map<String, Object> group = ConsumerGroupsTest.infoMaps(r.xinfoGroups(s)).get(0);
    out.add("group " + group.get("name") + " consumers=" + group.get("consumers") + " pending=" + group.get("pending")
        + " last=" + ordinals.get(String.valueOf(group.get("last-delivered-id"))) + " lag=" + group.get("lag"));
    out.add("delconsumer " + r.xgroupDelconsumer(s, Consumer.from("g", "carol")));
    out.add("trim " + r.xtrim(s, 2) + " xlen " + r.xlen(s));
    out.add("type " + r.type(s) + " exists " + r.exists(s, "compat-none"));
    out.add("destroy " + r.xgroupDestroy(s, "g") + " " + r.xgroupDestroy(s, "g"));
    out.add("del " + r.del(s) + " exists " + r.exists(s));
    return out;
  }

  private static String entries(List<StreamMessage<String, String>> messages, Map<String, String> ordinals) {
    List<String> out = new ArrayList<>();
    for (StreamMessage<String, String> m : messages) {
      Map<String, String> body = m.getBody();
      String shown = body == null ? "nil" : body.entrySet().stream()
          .map(e -> e.getKey() + "=" + (e.getValue().length() > 8 ? e.getValue().substring(0, 8) : e.getValue()))
          .toList().toString();
      out.add(ordinals.getOrDefault(m.getId(), "?") + shown);
    }
    return out.toString();
  }

  private static String pending(List<PendingMessage> list, Map<String, String> ordinals) {
    return list.stream().map(p -> ordinals.get(p.getId()) + "/" + p.getConsumer() + "/" + p.getRedeliveryCount())
        .toList().toString();
  }

}
