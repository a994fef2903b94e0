package dev.spool.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.spool.Message;
import dev.spool.QueueSettings;
import io.lettuce.core.Consumer;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.XAddArgs;
import io.lettuce.core.XReadArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Streams without groups through Lettuce and raw RESP: adding, reading, blocking, trimming, deleting. */
class RedisStreamsTest extends SharedServerTest {

  static String kib(int n, char c) {
    return String.valueOf(c).repeat(n * 1024);
  }

  @Test
  void entriesOfOneKibibyteGoInAndComeOutInOrderWithIdsThatRoundTrip() {
    List<String> ids = new java.util.ArrayList<>();
    for (int i = 0; i < 50; i++) {
      ids.add(admin.xadd("s-basic", Map.of("payload", i + kib(1, 'x'))));
    }
    assertThat(ids.get(0)).isEqualTo("1-0");
    assertThat(ids.stream().map(EntryIds::parse).map(EntryIds.Id::ms).toList()).isSorted().doesNotHaveDuplicates();
    assertThat(admin.xlen("s-basic")).isEqualTo(50);
    List<StreamMessage<String, String>> all = admin.xrange("s-basic", io.lettuce.core.Range.create("-", "+"));
    assertThat(all).hasSize(50);
    assertThat(all.get(7).getId()).isEqualTo(ids.get(7));
    assertThat(all.get(7).getBody().get("payload")).isEqualTo(7 + kib(1, 'x'));
    // An id given back selects exactly its entry; exclusive bounds and COUNT as Redis has them.
    List<StreamMessage<String, String>> one = admin.xrange("s-basic", io.lettuce.core.Range.create(ids.get(9), ids.get(9)));
    assertThat(one).extracting(StreamMessage::getId).containsExactly(ids.get(9));
    List<StreamMessage<String, String>> rev = admin.xrevrange("s-basic", io.lettuce.core.Range.create("-", "+"),
        io.lettuce.core.Limit.from(3));
    assertThat(rev).extracting(StreamMessage::getId).containsExactly(ids.get(49), ids.get(48), ids.get(47));
    assertThat(admin.xrange("s-basic", io.lettuce.core.Range.create("(" + ids.get(47), "+")))
        .extracting(StreamMessage::getId).containsExactly(ids.get(48), ids.get(49));
  }

  @Test
  void entriesOfSixtyFourKibibytesRoundTripThroughRangesReadsAndGroups() {
    List<String> values = new java.util.ArrayList<>();
    java.util.Random random = new java.util.Random(64);
    for (int i = 0; i < 40; i++) {
      byte[] bytes = new byte[64 * 1024];
      random.nextBytes(bytes);
      // Lettuce's String codec takes text: random bytes in Base64, so no two entries share content.
      values.add(java.util.Base64.getEncoder().encodeToString(bytes).substring(0, 64 * 1024));
    }
    admin.xgroupCreate(XReadArgs.StreamOffset.from("s-64k", "0"), "g", io.lettuce.core.XGroupCreateArgs.Builder.mkstream());
    for (String v : values) {
      admin.xadd("s-64k", Map.of("payload", v));
    }
    assertThat(admin.xrange("s-64k", io.lettuce.core.Range.create("-", "+"))).extracting(m -> m.getBody().get("payload"))
        .containsExactlyElementsOf(values);
    List<String> read = new java.util.ArrayList<>();
    while (read.size() < values.size()) {
      List<StreamMessage<String, String>> got = admin.xreadgroup(Consumer.from("g", "c"),
          XReadArgs.Builder.count(7).block(1000), XReadArgs.StreamOffset.lastConsumed("s-64k"));
      assertThat(got).isNotEmpty();
      got.forEach(m -> read.add(m.getBody().get("payload")));
      admin.xack("s-64k", "g", got.stream().map(StreamMessage::getId).toArray(String[]::new));
    }
    assertThat(read).containsExactlyElementsOf(values);
    assertThat(admin.xpending("s-64k", "g").getCount()).isZero();
  }

  @Test
  void severalFieldsAreAJsonObjectForHttpAndJavaUsersAndRawPayloadsComeBackAsOneField() throws Exception {
    Map<String, String> fields = new LinkedHashMap<>();
    fields.put("user", "ann");
    fields.put("amount", "12.50");
    fields.put("note", "ünïcode \"quoted\"");
    String id = admin.xadd("s-fields", fields);
    Message stored = server.spool.browse("s-fields", 1, 1).toCompletableFuture().get().get(0);
    assertThat(stored.contentType()).contains("application/json");
    assertThat(stored.payloadAsString()).isEqualTo("{\"user\":\"ann\",\"amount\":\"12.50\",\"note\":\"ünïcode \\\"quoted\\\"\"}");
    assertThat(admin.xrange("s-fields", io.lettuce.core.Range.create(id, id)).get(0).getBody())
        .containsExactlyEntriesOf(fields);
    // A message published through the Java API (as HTTP publishes) reads as the field payload.
    long seq = server.spool.createPublisher("s-fields", "java").publish(Message.text("t", "plain text"))
        .toCompletableFuture().get();
    assertThat(admin.xrange("s-fields", io.lettuce.core.Range.create(EntryIds.of(seq), "+")).get(0).getBody())
        .containsExactly(Map.entry("payload", "plain text"));
    // JSON with a charset parameter is JSON; an empty object is no fields at all, so it reads as its payload.
    long withCharset = server.spool.createPublisher("s-fields", "java").publish(Message.text("t", "{\"s\":7}")
        .withContentType("application/json; charset=utf-8")).toCompletableFuture().get();
    assertThat(admin.xrange("s-fields", io.lettuce.core.Range.create(EntryIds.of(withCharset), "+")).get(0).getBody())
        .containsExactly(Map.entry("s", "7"));
    long empty = server.spool.createPublisher("s-fields", "java").publish(Message.text("t", "{}")
        .withContentType("application/json")).toCompletableFuture().get();
    assertThat(admin.xrange("s-fields", io.lettuce.core.Range.create(EntryIds.of(empty), "+")).get(0).getBody())
        .containsExactly(Map.entry("payload", "{}"));
  }

  @Test
  void blockedReadsAreWokenByAnAddOnAnotherConnection() throws Exception {
    admin.xadd("s-block", Map.of("payload", "before"));
    var reader = server.connect(RedisTestServer.ADMIN).async();
    var pending = reader.xread(XReadArgs.Builder.block(10_000), XReadArgs.StreamOffset.latest("s-block"));
    Thread.sleep(200);
    assertThat(pending.isDone()).isFalse();
    long sent = System.nanoTime();
    admin.xadd("s-block", Map.of("payload", "after"));
    List<StreamMessage<String, String>> got = pending.get(5, java.util.concurrent.TimeUnit.SECONDS);
    assertThat((System.nanoTime() - sent) / 1_000_000).isLessThan(1_000);
    assertThat(got).extracting(m -> m.getBody().get("payload")).containsExactly("after");
    // A block that times out answers with a null array.
    assertThat(admin.xread(XReadArgs.Builder.block(100), XReadArgs.StreamOffset.latest("s-block"))).isEmpty();
  }

  @Test
  void trimmingAndDeletingRemoveEntriesAndXlenFollows() {
    for (int i = 0; i < 20; i++) {
      admin.xadd("s-trim", Map.of("payload", "m" + i));
    }
    assertThat(admin.xtrim("s-trim", 15)).isEqualTo(5);
    assertThat(admin.xlen("s-trim")).isEqualTo(15);
    assertThat(admin.xdel("s-trim", "6-0", "7-0", "999-0")).isEqualTo(2);
    assertThat(admin.xlen("s-trim")).isEqualTo(13);
    assertThat(admin.xrange("s-trim", io.lettuce.core.Range.create("-", "+"))).extracting(StreamMessage::getId)
        .doesNotContain("1-0", "5-0", "6-0", "7-0").contains("8-0", "20-0");
    admin.xadd("s-trim", XAddArgs.Builder.maxlen(5), Map.of("payload", "capped"));
    assertThat(admin.xlen("s-trim")).isEqualTo(5);
    assertThat(admin.xtrim("s-trim", io.lettuce.core.XTrimArgs.Builder.minId("19-0"))).isEqualTo(2);
    assertThat(admin.xlen("s-trim")).isEqualTo(3);
  }

  @Test
  void keysCommandsSeeStreamsAsQueues() throws Exception {
    server.spool.createQueue("s-keys", QueueSettings.defaults()).toCompletableFuture().get();
    assertThat(admin.exists("s-keys", "s-none", "s-keys")).isEqualTo(2);
    assertThat(admin.type("s-keys")).isEqualTo("stream");
    assertThat(admin.type("s-none")).isEqualTo("none");
    assertThat(admin.del("s-keys", "s-none")).isEqualTo(1);
    assertThat(admin.exists("s-keys")).isZero();
  }

  @Test
  void explicitIdsAreCheckedAsRedisChecksThem() throws Exception {
    try (RawResp raw = server.raw()) {
      raw.call("AUTH", RedisTestServer.ADMIN);
      assertThat(raw.call("XADD", "s-ids", "*", "payload", "a")).isEqualTo("1-0");
      assertThat(raw.call("XADD", "s-ids", "1-0", "payload", "b")).hasToString(
          "-ERR The ID specified in XADD is equal or smaller than the target stream top item");
      assertThat(raw.call("XADD", "s-ids", "0-0", "payload", "b")).hasToString(
          "-ERR The ID specified in XADD must be greater than 0-0");
      assertThat(raw.call("XADD", "s-ids", "2-0", "payload", "b")).isEqualTo("2-0");
      assertThat(raw.call("XADD", "s-ids", "NOMKSTREAM", "*", "payload", "b")).isEqualTo("3-0");
      assertThat(raw.call("XADD", "s-missing", "NOMKSTREAM", "*", "payload", "b")).isNull();
      assertThat(raw.call("EXISTS", "s-missing")).isEqualTo(0L);
    }
  }

  @Test
  void badInputGetsRedisErrorsAndChangesNothing() throws Exception {
    try (RawResp raw = server.raw()) {
      assertThat(raw.call("PING")).hasToString("-NOAUTH Authentication required.");
      assertThat(raw.call("AUTH", "wrong")).hasToString(
          "-WRONGPASS invalid username-password pair or user is disabled.");
      assertThat(raw.call("AUTH", RedisTestServer.ADMIN)).isEqualTo("OK");
      assertThat(raw.call("XADD", "s-bad", "*", "payload")).hasToString(
          "-ERR wrong number of arguments for 'xadd' command");
      assertThat(raw.call("XADD", "s-bad", "*", "a", "1", "a", "2").toString()).startsWith("-ERR field 'a' appears twice");
      assertThat(raw.call("XADD", "s-bad", "MAXLEN", "-1", "*", "a", "1")).hasToString(
          "-ERR The MAXLEN argument must be >= 0.");
      assertThat(raw.call("XADD", "bad name", "*", "a", "1").toString()).startsWith("-ERR invalid stream name");
      assertThat(raw.call("XADD", "s-bad", "12x", "a", "1")).hasToString(
          "-ERR Invalid stream ID specified as stream command argument");
      assertThat(raw.call("XLEN")).hasToString("-ERR wrong number of arguments for 'xlen' command");
      assertThat(raw.call("XRANGE", "s-bad", "-", "+", "COUNT", "x")).hasToString(
          "-ERR value is not an integer or out of range");
      assertThat(raw.call("XREAD", "STREAMS", "s-bad")).hasToString(
          "-ERR Unbalanced 'xread' list of streams: for each stream key an ID or '$' must be specified.");
      assertThat(raw.call("XREAD", "BLOCK", "-5", "STREAMS", "s-bad", "0")).hasToString("-ERR timeout is negative");
      assertThat(raw.call("XRANGE", "s-bad", "-", "+", "COUNT", "99999999999")).isEqualTo(List.of());
      assertThat(raw.call("GET", "k").toString()).startsWith("-ERR unknown command 'GET', with args beginning with: 'k'");
      assertThat(raw.call("SELECT", "1")).hasToString("-ERR DB index is out of range");
      assertThat(raw.call("XRANGE", "s-bad", "(18446744073709551615-18446744073709551615", "+")).hasToString(
          "-ERR invalid start ID for the interval");
      assertThat(raw.call("XRANGE", "s-bad", "-", "(0-0")).hasToString("-ERR invalid end ID for the interval");
      assertThat(raw.call("XRANGE", "s-bad", "+", "-")).isEqualTo(List.of());
      assertThat(raw.call("XREVRANGE", "s-bad", "-", "+")).isEqualTo(List.of());
      assertThat(raw.call("XINFO", "STREAM", "s-bad", "FULL").toString()).startsWith(
          "-ERR Spool answers XINFO STREAM without FULL");
      assertThat(raw.call("EXISTS", "s-bad")).isEqualTo(0L);
      // Still one connection, still answering.
      assertThat(raw.call("PING")).isEqualTo("PONG");
    }
  }

  @Test
  void malformedRespIsAnsweredWithAProtocolErrorAndTheConnectionClosed() throws Exception {
    try (RawResp raw = server.raw()) {
      raw.send("*1\r\n$4\r\nPING\r\n*x\r\n");
      assertThat(raw.read()).isEqualTo("NOAUTH Authentication required.".isEmpty() ? null : new RawResp.Err(
          "NOAUTH Authentication required."));
      assertThat(raw.read()).hasToString("-ERR Protocol error: invalid multibulk length");
      assertThat(raw.closedByServer()).isTrue();
    }
  }

  @Test
  void aClientThatSendsHalfACommandAndWaitsHoldsUpNoOneElse() throws Exception {
    try (RawResp half = server.raw(); RawResp other = server.raw()) {
      half.send("*3\r\n$4\r\nAUTH\r\n$5\r\nadmin\r\n$10\r\nadmin-tok");
      assertThat(other.call("AUTH", RedisTestServer.ADMIN)).isEqualTo("OK");
      assertThat(other.call("PING")).isEqualTo("PONG");
      half.timeout(300);
      assertThat(half.closedByServer()).isFalse();
    }
  }

  @Test
  void pipelinedAddsKeepTheirOrder() throws Exception {
    StatefulRedisConnection<String, String> connection = server.connect(RedisTestServer.ADMIN);
    connection.setAutoFlushCommands(false);
    var async = connection.async();
    List<io.lettuce.core.RedisFuture<String>> futures = new java.util.ArrayList<>();
    for (int i = 0; i < 2_000; i++) {
      futures.add(async.xadd("s-pipe", Map.of("payload", "n" + i)));
    }
    connection.flushCommands();
    List<String> ids = new java.util.ArrayList<>();
    for (var f : futures) {
      ids.add(f.get(20, java.util.concurrent.TimeUnit.SECONDS));
    }
    connection.setAutoFlushCommands(true);
    assertThat(ids).hasSize(2_000);
    assertThat(ids.stream().map(EntryIds::parse).map(EntryIds.Id::ms).toList()).isSorted().doesNotHaveDuplicates();
    assertThat(admin.xlen("s-pipe")).isEqualTo(2_000);
    List<StreamMessage<String, String>> all = admin.xrange("s-pipe", io.lettuce.core.Range.create("-", "+"));
    for (int i = 0; i < all.size(); i++) {
      assertThat(all.get(i).getBody().get("payload")).isEqualTo("n" + i);
    }
  }

  @Test
  void addsSentInOneWriteArePublishedTogetherYetAnsweredOneByOneWithTheirOwnErrors() throws Exception {
    try (RawResp raw = server.raw()) {
      java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
      out.writeBytes(RawResp.encode("AUTH", RedisTestServer.ADMIN));
      for (int i = 0; i < 100; i++) {
        out.writeBytes(i == 50 ? RawResp.encode("XADD", "s-batch", "*", "a", "1", "a", "2")
            : RawResp.encode("XADD", "s-batch", "*", "payload", "b" + i + kib(1, 'b')));
      }
      out.writeBytes(RawResp.encode("XLEN", "s-batch"));
      raw.send(out.toByteArray());
      assertThat(raw.read()).isEqualTo("OK");
      long expected = 1;
      for (int i = 0; i < 100; i++) {
        Object reply = raw.read();
        if (i == 50) {
          assertThat(reply.toString()).startsWith("-ERR field 'a' appears twice");
        } else {
          assertThat(reply).isEqualTo(EntryIds.of(expected++));
        }
      }
      assertThat(raw.read()).isEqualTo(99L);
    }
    List<StreamMessage<String, String>> all = admin.xrange("s-batch", io.lettuce.core.Range.create("-", "+"));
    assertThat(all.get(50).getBody().get("payload")).startsWith("b51");
  }

  @Test
  void tokensKeepToTheirRolesAndQueues() throws Exception {
    RedisCommands<String, String> producer = server.connect(RedisTestServer.PRODUCER).sync();
    server.spool.createQueue("orders-a", QueueSettings.defaults()).toCompletableFuture().get();
    assertThat(producer.xadd("orders-a", Map.of("payload", "x"))).isEqualTo("1-0");
    assertThatFails(() -> producer.xadd("other", Map.of("payload", "x")), "NOPERM this token may not add entries to 'other'");
    assertThatFails(() -> producer.xadd("orders-new", Map.of("payload", "x")), "NOPERM this token may not create streams");
    assertThatFails(() -> producer.xreadgroup(Consumer.from("g", "c"), XReadArgs.StreamOffset.lastConsumed("orders-a")),
        "NOPERM this token may not read from 'orders-a'");
    assertThatFails(() -> producer.del("orders-a"), "NOPERM this token may not delete streams");
  }

  static void assertThatFails(Runnable call, String start) {
    try {
      call.run();
      throw new AssertionError("expected an error starting with " + start);
    } catch (RedisCommandExecutionException e) {
      assertThat(e.getMessage()).startsWith(start);
    }
  }
}
