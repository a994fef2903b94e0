package dev.spool.redis.resp;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.util.ByteString;
import org.apache.pekko.util.ByteStringBuilder;
import org.junit.jupiter.api.Test;

class RespParserTest {

  private static ByteString bytes(String s) {
    return ByteString.fromString(s, StandardCharsets.ISO_8859_1);
  }

  private static List<RespCommand> parseAll(RespParser parser) {
    List<RespCommand> commands = new ArrayList<>();
    for (RespCommand c = parser.next(); c != null; c = parser.next()) {
      commands.add(c);
    }
    return commands;
  }

  private static List<RespCommand> parse(String input) {
    RespParser parser = new RespParser();
    parser.feed(bytes(input));
    return parseAll(parser);
  }

  private static String protocolError(RespParser parser, String input) {
    parser.feed(bytes(input));
    return assertThrows(RespProtocolException.class, () -> parseAll(parser)).getMessage();
  }

  private static String protocolError(String input) {
    return protocolError(new RespParser(), input);
  }

  @Test
  void multibulk() {
    assertEquals(List.of(RespCommand.of("XADD", "orders", "*", "item", "book")),
        parse("*5\r\n$4\r\nXADD\r\n$6\r\norders\r\n$1\r\n*\r\n$4\r\nitem\r\n$4\r\nbook\r\n"));
    assertEquals(List.of(RespCommand.of("SET", "", "v")), parse("*3\r\n$3\r\nSET\r\n$0\r\n\r\n$1\r\nv\r\n"));
  }

  @Test
  void multibulkSplitAtEveryByteBoundary() {
    String input = "*2\r\n$4\r\nPING\r\n$5\r\nhello\r\n*1\r\n$4\r\nPING\r\nECHO \"a b\"\r\n*0\r\n";
    List<RespCommand> expected = List.of(RespCommand.of("PING", "hello"), RespCommand.of("PING"), RespCommand.of("ECHO", "a b"));
    for (int split = 0; split <= input.length(); split++) {
      RespParser parser = new RespParser();
      parser.feed(bytes(input.substring(0, split)));
      List<RespCommand> got = parseAll(parser);
      parser.feed(bytes(input.substring(split)));
      got.addAll(parseAll(parser));
      assertEquals(expected, got, "split at " + split);
    }
    RespParser parser = new RespParser();
    List<RespCommand> got = new ArrayList<>();
    for (char c : input.toCharArray()) {
      parser.feed(bytes(String.valueOf(c)));
      got.addAll(parseAll(parser));
    }
    assertEquals(expected, got, "one byte at a time");
  }

  @Test
  void bulksAreBinarySafe() {
    byte[] all = new byte[256 + 4];
    for (int i = 0; i < 256; i++) {
      all[i] = (byte) i;
    }
    System.arraycopy("\r\n\r\n".getBytes(StandardCharsets.US_ASCII), 0, all, 256, 4);
    ByteStringBuilder in = ByteString.createBuilder();
    in.putBytes(("*2\r\n$3\r\nSET\r\n$" + all.length + "\r\n").getBytes(StandardCharsets.US_ASCII)).putBytes(all).putBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
    RespParser parser = new RespParser();
    parser.feed(in.result());
    RespCommand command = parser.next();
    assertArrayEquals(all, command.arg(1));
    assertNull(parser.next());
  }

  @Test
  void inlineCommands() {
    assertEquals(List.of(RespCommand.of("PING")), parse("PING\r\n"));
    assertEquals(List.of(RespCommand.of("set", "k", "v")), parse("set k v\n"));
    assertEquals(List.of(RespCommand.of("get", "k")), parse("  get \t k  \r\n"));
    assertEquals(List.of(RespCommand.of("a"), RespCommand.of("b")), parse("\r\n\n   \r\na\r\n\r\nb\n"), "blank lines are skipped");
    assertEquals(List.of(), parse("PING"), "no command before its line ends");
  }

  @Test
  void inlineQuotingFollowsSdssplitargs() {
    assertEquals(List.of(RespCommand.of("set", "a b", "c'd")), parse("set \"a b\" 'c\\'d'\r\n"));
    assertEquals(List.of(RespCommand.of("A")), parse("\"\\x41\"\n"));
    assertEquals(List.of(RespCommand.of("\n\r\t\b\u0007\"\\z")), parse("\"\\n\\r\\t\\b\\a\\\"\\\\\\z\"\n"));
    assertEquals(List.of(RespCommand.of("x4", "\\n")), parse("\"\\x4\" '\\n'\n"), "a backslash before an incomplete \\x stands for the x; single quotes keep it");
    assertEquals(List.of(RespCommand.of("ab c", "", "")), parse("a\"b c\" \"\" ''\n"), "a quote may open mid-argument");
    assertEquals(List.of(RespCommand.of("echo", "a")), parse("echo a\u0000 ignored\n"), "a NUL ends the line");
    byte[] high = parse("\"\\xff\\x00\"\n").get(0).arg(0);
    assertArrayEquals(new byte[] {(byte) 0xff, 0}, high);
  }

  @Test
  void unbalancedQuotes() {
    String message = "Protocol error: unbalanced quotes in request";
    assertEquals(message, protocolError("set \"a b\n"));
    assertEquals(message, protocolError("set 'a\n"));
    assertEquals(message, protocolError("set \"a\"b\n"), "a closing quote must end the argument");
    assertEquals(message, protocolError("set 'a'b\n"));
    assertEquals(message, protocolError("set \"a\\\"\n"));
  }

  @Test
  void emptyMultibulksAreSkipped() {
    assertEquals(List.of(RespCommand.of("PING")), parse("*0\r\n*-1\r\n*-5\r\n*1\r\n$4\r\nPING\r\n"));
  }

  @Test
  void malformedLengths() {
    assertEquals("Protocol error: invalid multibulk length", protocolError("*abc\r\n"));
    assertEquals("Protocol error: invalid multibulk length", protocolError("*\r\n"));
    assertEquals("Protocol error: invalid multibulk length", protocolError("*01\r\n"));
    assertEquals("Protocol error: invalid multibulk length", protocolError("*1\n"));
    assertEquals("Protocol error: invalid multibulk length", protocolError("*99999999999999999999\r\n"));
    assertEquals("Protocol error: invalid bulk length", protocolError("*1\r\n$-1\r\n"));
    assertEquals("Protocol error: invalid bulk length", protocolError("*1\r\n$x\r\n"));
    assertEquals("Protocol error: invalid bulk length", protocolError("*1\r\n$+3\r\n"));
    assertEquals("Protocol error: invalid bulk length", protocolError("*1\r\n$\r\n"));
    assertEquals("Protocol error: expected '$', got 'x'", protocolError("*1\r\nx3\r\n"));
    assertEquals("Protocol error: expected '$', got ':'", protocolError("*2\r\n$1\r\na\r\n:1\r\n"));
  }

  @Test
  void bulkDataMustEndInCrlf() {
    assertEquals("Protocol error: expected CRLF after bulk argument", protocolError("*1\r\n$3\r\nabcd\r\n"));
    assertEquals("Protocol error: expected CRLF after bulk argument", protocolError("*1\r\n$3\r\nabc\rx"));
  }

  @Test
  void bulkLengthLimit() {
    RespParser atLimit = new RespParser(5, 8, 1024);
    atLimit.feed(bytes("*1\r\n$5\r\nabcde\r\n"));
    assertEquals(RespCommand.of("abcde"), atLimit.next());
    assertEquals("Protocol error: invalid bulk length", protocolError(new RespParser(5, 8, 1024), "*1\r\n$6\r\n"));
  }

  @Test
  void argumentCountLimit() {
    RespParser atLimit = new RespParser(16, 3, 1024);
    atLimit.feed(bytes("*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"));
    assertEquals(RespCommand.of("a", "b", "c"), atLimit.next());
    assertEquals("Protocol error: invalid multibulk length", protocolError(new RespParser(16, 3, 1024), "*4\r\n"));
    assertEquals("Protocol error: invalid multibulk length", protocolError("*2147483648\r\n"));
  }

  @Test
  void inlineLengthLimit() {
    String atLimit = "x".repeat(64 * 1024);
    assertEquals(List.of(RespCommand.of(atLimit)), parse(atLimit + "\r\n"));
    assertEquals(List.of(RespCommand.of(atLimit)), parse(atLimit + "\n"));
    assertEquals("Protocol error: too big inline request", protocolError(atLimit + "x\r\n"));
    assertEquals("Protocol error: too big inline request", protocolError(atLimit + "xy"), "detected before the line ends");

    RespParser parser = new RespParser();
    for (int i = 0; i < 64; i++) {
      parser.feed(bytes("x".repeat(1024)));
      assertNull(parser.next());
    }
    parser.feed(bytes("x"));
    assertNull(parser.next(), "room for the CR");
    parser.feed(bytes("x"));
    assertEquals("Protocol error: too big inline request", assertThrows(RespProtocolException.class, parser::next).getMessage());
  }

  @Test
  void headerLinesAreLimitedToo() {
    assertEquals("Protocol error: too big mbulk count string", protocolError(new RespParser(16, 8, 16), "*" + "1".repeat(16)));
    assertEquals("Protocol error: too big bulk count string", protocolError(new RespParser(16, 8, 16), "*1\r\n$" + "1".repeat(16)));
  }

  @Test
  void aFailedParserKeepsFailing() {
    RespParser parser = new RespParser();
    parser.feed(bytes("*x\r\n*1\r\n$4\r\nPING\r\n"));
    RespProtocolException first = assertThrows(RespProtocolException.class, parser::next);
    assertSame(first, assertThrows(RespProtocolException.class, parser::next));
    assertEquals(Reply.error("ERR Protocol error: invalid multibulk length"), first.reply());
  }

  @Test
  void largeBulksAssembleInPlaceFromSmallChunks() {
    for (int size : new int[] {64 * 1024, 8 * 1024 * 1024}) {
      byte[] payload = new byte[size];
      for (int i = 0; i < size; i++) {
        payload[i] = (byte) (i * 31 + i / 251);
      }
      byte[] input = ByteString.createBuilder()
          .putBytes(("*3\r\n$4\r\nXADD\r\n$" + size + "\r\n").getBytes(StandardCharsets.US_ASCII))
          .putBytes(payload)
          .putBytes("\r\n$1\r\nx\r\n".getBytes(StandardCharsets.US_ASCII))
          .result().toArray();
      RespParser parser = new RespParser();
      RespCommand command = null;
      int maxPending = 0;
      for (int offset = 0; offset < input.length; offset += 1024) {
        assertNull(command, "complete only after the last chunk");
        parser.feed(ByteString.fromArray(input, offset, Math.min(1024, input.length - offset)));
        command = parser.next();
        maxPending = Math.max(maxPending, parser.pendingBytes());
      }
      assertTrue(maxPending <= 1024, "at most one chunk waits, saw " + maxPending);
      assertEquals(3, command.arity());
      assertArrayEquals(payload, command.arg(1));
      assertEquals("x", command.argString(2));
      assertNull(parser.next());
      assertEquals(0, parser.pendingBytes());
    }
  }

  @Test
  void pipelinedCommandsComeOutInOrder() {
    StringBuilder input = new StringBuilder();
    List<RespCommand> expected = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      String id = Integer.toString(i);
      if (i % 10 == 0) {
        input.append("XACK s g ").append(id).append("\r\n");
        expected.add(RespCommand.of("XACK", "s", "g", id));
      } else {
        input.append("*2\r\n$4\r\nINCR\r\n$").append(id.length()).append("\r\n").append(id).append("\r\n");
        expected.add(RespCommand.of("INCR", id));
      }
    }
    assertEquals(expected, parse(input.toString()));
  }

  @Test
  void limitsAreValidated() {
    assertThrows(IllegalArgumentException.class, () -> new RespParser(-1, 8, 1024));
    assertThrows(IllegalArgumentException.class, () -> new RespParser(16, 0, 1024));
    assertThrows(IllegalArgumentException.class, () -> new RespParser(16, 8, 15));
  }
}
