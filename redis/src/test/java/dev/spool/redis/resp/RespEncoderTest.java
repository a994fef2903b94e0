package dev.spool.redis.resp;

import static dev.spool.redis.resp.Reply.array;
import static dev.spool.redis.resp.Reply.bulk;
import static dev.spool.redis.resp.Reply.integer;
import static dev.spool.redis.resp.Reply.simple;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.apache.pekko.util.ByteString;
import org.apache.pekko.util.ByteStringBuilder;
import org.junit.jupiter.api.Test;

/** Encodings checked byte for byte against the examples of the RESP2 and RESP3 specifications. */
class RespEncoderTest {

  private static void assertEncodes(String resp2, String resp3, Reply reply) {
    assertEquals(resp2, RespEncoder.encode(reply, 2).utf8String(), "RESP2");
    assertEquals(resp3, RespEncoder.encode(reply, 3).utf8String(), "RESP3");
  }

  @Test
  void simpleStringsAndErrors() {
    assertEncodes("+OK\r\n", "+OK\r\n", Reply.ok());
    assertEncodes("+PONG\r\n", "+PONG\r\n", simple("PONG"));
    assertEncodes("-ERR unknown command 'foobar'\r\n", "-ERR unknown command 'foobar'\r\n", Reply.error("ERR unknown command 'foobar'"));
    assertEncodes("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
        Reply.error("WRONGTYPE Operation against a key holding the wrong kind of value"));
  }

  @Test
  void lineBreaksInSimpleStringsAndErrorsBecomeSpaces() {
    assertEncodes("-ERR no such key 'a  b c'\r\n", "-ERR no such key 'a  b c'\r\n", Reply.error("ERR no such key 'a\r\nb\nc'"));
    assertEncodes("+x y\r\n", "+x y\r\n", simple("x\ry"));
    assertEquals("-ERR bad  input\r\n", RespEncoder.encode(new RespError("ERR bad\r\ninput").reply(), 2).utf8String());
  }

  @Test
  void integers() {
    assertEncodes(":0\r\n", ":0\r\n", integer(0));
    assertEncodes(":1000\r\n", ":1000\r\n", integer(1000));
    assertEncodes(":-9223372036854775808\r\n", ":-9223372036854775808\r\n", integer(Long.MIN_VALUE));
  }

  @Test
  void bulkStrings() {
    assertEncodes("$5\r\nhello\r\n", "$5\r\nhello\r\n", bulk("hello"));
    assertEncodes("$0\r\n\r\n", "$0\r\n\r\n", bulk(""));
    assertEncodes("$4\r\nh\u00e9!\r\n", "$4\r\nh\u00e9!\r\n", bulk("h\u00e9!"));
  }

  @Test
  void bulkStringsAreBinarySafe() {
    byte[] all = new byte[256];
    for (int i = 0; i < 256; i++) {
      all[i] = (byte) i;
    }
    for (int protocol = 2; protocol <= 3; protocol++) {
      byte[] encoded = RespEncoder.encode(bulk(all), protocol).toArray();
      byte[] header = "$256\r\n".getBytes(StandardCharsets.US_ASCII);
      assertEquals(header.length + 256 + 2, encoded.length);
      assertArrayEquals(header, Arrays.copyOfRange(encoded, 0, header.length));
      assertArrayEquals(all, Arrays.copyOfRange(encoded, header.length, header.length + 256));
      assertEquals('\r', encoded[encoded.length - 2]);
      assertEquals('\n', encoded[encoded.length - 1]);
    }
  }

  @Test
  void nulls() {
    assertEncodes("$-1\r\n", "_\r\n", Reply.nil());
    assertEncodes("*-1\r\n", "_\r\n", Reply.nilArray());
  }

  @Test
  void arrays() {
    assertEncodes("*0\r\n", "*0\r\n", array());
    assertEncodes("*2\r\n$5\r\nhello\r\n$5\r\nworld\r\n", "*2\r\n$5\r\nhello\r\n$5\r\nworld\r\n", array(bulk("hello"), bulk("world")));
    assertEncodes("*3\r\n:1\r\n:2\r\n:3\r\n", "*3\r\n:1\r\n:2\r\n:3\r\n", array(List.of(integer(1), integer(2), integer(3))));
    String mixed = "*5\r\n:1\r\n:2\r\n:3\r\n:4\r\n$5\r\nhello\r\n";
    assertEncodes(mixed, mixed, array(integer(1), integer(2), integer(3), integer(4), bulk("hello")));
    String nested = "*2\r\n*3\r\n:1\r\n:2\r\n:3\r\n*2\r\n+Hello\r\n-World\r\n";
    assertEncodes(nested, nested, array(array(integer(1), integer(2), integer(3)), array(simple("Hello"), Reply.error("World"))));
    assertEncodes("*3\r\n$5\r\nhello\r\n$-1\r\n$5\r\nworld\r\n", "*3\r\n$5\r\nhello\r\n_\r\n$5\r\nworld\r\n",
        array(bulk("hello"), Reply.nil(), bulk("world")));
  }

  @Test
  void mapsAreFlatArraysInResp2() {
    assertEncodes("*4\r\n+first\r\n:1\r\n+second\r\n:2\r\n", "%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n",
        Reply.map(simple("first"), integer(1), simple("second"), integer(2)));
    assertEncodes("*2\r\n$3\r\nkey\r\n*1\r\n:7\r\n", "%1\r\n$3\r\nkey\r\n~1\r\n:7\r\n",
        Reply.map(List.of(new Reply.Map.Entry(bulk("key"), Reply.set(integer(7))))));
    assertEncodes("*0\r\n", "%0\r\n", Reply.map());
    assertThrows(IllegalArgumentException.class, () -> Reply.map(bulk("key")));
  }

  @Test
  void setsAndPushes() {
    assertEncodes("*2\r\n+a\r\n+b\r\n", "~2\r\n+a\r\n+b\r\n", Reply.set(List.of(simple("a"), simple("b"))));
    assertEncodes("*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n", ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
        Reply.push(bulk("message"), bulk("ch"), bulk("hi")));
  }

  @Test
  void doubles() {
    assertEncodes("$4\r\n1.23\r\n", ",1.23\r\n", Reply.real(1.23));
    assertEncodes("$2\r\n10\r\n", ",10\r\n", Reply.real(10.0));
    assertEncodes("$4\r\n-0.5\r\n", ",-0.5\r\n", Reply.real(-0.5));
    assertEncodes("$3\r\ninf\r\n", ",inf\r\n", Reply.real(Double.POSITIVE_INFINITY));
    assertEncodes("$4\r\n-inf\r\n", ",-inf\r\n", Reply.real(Double.NEGATIVE_INFINITY));
    assertEncodes("$3\r\nnan\r\n", ",nan\r\n", Reply.real(Double.NaN));
    assertEquals(1e300, Double.parseDouble(RespEncoder.formatDouble(1e300)));
  }

  @Test
  void booleans() {
    assertEncodes(":1\r\n", "#t\r\n", Reply.bool(true));
    assertEncodes(":0\r\n", "#f\r\n", Reply.bool(false));
  }

  @Test
  void verbatimStrings() {
    assertEncodes("$11\r\nSome string\r\n", "=15\r\ntxt:Some string\r\n", Reply.verbatim("Some string"));
    assertEncodes("$2\r\n# \r\n", "=6\r\nmkd:# \r\n", new Reply.Verbatim("mkd", "# "));
    assertThrows(IllegalArgumentException.class, () -> new Reply.Verbatim("text", "x"));
  }

  @Test
  void encodeIntoBatchesReplies() {
    ByteStringBuilder out = ByteString.createBuilder();
    RespEncoder.encodeInto(out, Reply.ok(), 3);
    RespEncoder.encodeInto(out, integer(2), 3);
    RespEncoder.encodeInto(out, Reply.nil(), 3);
    assertEquals("+OK\r\n:2\r\n_\r\n", out.result().utf8String());
  }

  @Test
  void onlyProtocolsTwoAndThree() {
    assertThrows(IllegalArgumentException.class, () -> RespEncoder.encode(Reply.ok(), 1));
    assertThrows(IllegalArgumentException.class, () -> RespEncoder.encode(Reply.ok(), 4));
  }

  @Test
  void repliesCompareByContent() {
    assertEquals(array(bulk("a"), Reply.nil()), array(bulk("a".getBytes(StandardCharsets.UTF_8)), Reply.nil()));
    assertEquals(bulk("a").hashCode(), bulk("a").hashCode());
  }
}
