package dev.spool.redis.resp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class RespCommandTest {

  @Test
  void nameIsUpperCasedAscii() {
    assertEquals("XREADGROUP", RespCommand.of("xReadGroup").name());
    assertEquals("\u00e9X", new RespCommand(List.of(new byte[] {(byte) 0xe9, 'x'})).name(), "non-ASCII bytes are left alone");
  }

  @Test
  void argumentAccessors() {
    RespCommand command = RespCommand.of("XADD", "stream", "h\u00e9", "42");
    assertEquals(4, command.arity());
    assertEquals("h\u00e9", command.argString(2));
    assertEquals(3, command.arg(2).length);
    assertEquals(42, command.argLong(3));
  }

  @Test
  void argLongReadsAsStrictlyAsRedis() {
    RespCommand command = RespCommand.of("X", "0", "-7", "9223372036854775807", "-9223372036854775808");
    assertEquals(0, command.argLong(1));
    assertEquals(-7, command.argLong(2));
    assertEquals(Long.MAX_VALUE, command.argLong(3));
    assertEquals(Long.MIN_VALUE, command.argLong(4));
    for (String bad : List.of("", "-", "-0", "01", "+1", " 1", "1 ", "1.0", "12a", "9223372036854775808", "-9223372036854775809")) {
      RespError e = assertThrows(RespError.class, () -> RespCommand.of("X", bad).argLong(1), bad);
      assertEquals(Reply.error("ERR value is not an integer or out of range"), e.reply());
    }
  }

  @Test
  void commandsCompareByContent() {
    assertEquals(RespCommand.of("GET", "k"), RespCommand.of("GET", "k"));
    assertEquals(RespCommand.of("GET", "k").hashCode(), RespCommand.of("GET", "k").hashCode());
    assertNotEquals(RespCommand.of("GET", "k"), RespCommand.of("GET", "j"));
    assertThrows(IllegalArgumentException.class, () -> new RespCommand(List.of()));
  }
}
