package dev.spool.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import picocli.CommandLine.TypeConversionException;

/** What people type for durations and sizes becomes what the API takes. */
class ConvertersTest {

  private final Converters.IsoDuration duration = new Converters.IsoDuration();
  private final Converters.ByteSize size = new Converters.ByteSize();

  @Test
  void shortDurationsBecomeIso8601AndIso8601StaysAsItIs() {
    assertEquals("PT0.5S", duration.convert("500ms"));
    assertEquals("PT30S", duration.convert("30s"));
    assertEquals("PT5M", duration.convert("5m"));
    assertEquals("PT2H", duration.convert("2h"));
    assertEquals("PT168H", duration.convert("7d"));
    assertEquals("PT1M30S", duration.convert("pt1m30s"));
    assertEquals("PT0S", duration.convert("0s"));
    assertThrows(TypeConversionException.class, () -> duration.convert("soon"));
    assertThrows(TypeConversionException.class, () -> duration.convert("5 minutes"));
  }

  @Test
  void sizesTakeBinarySuffixes() {
    assertEquals(1048576L, size.convert("1048576"));
    assertEquals(64L << 10, size.convert("64k"));
    assertEquals(512L << 20, size.convert("512M"));
    assertEquals(2L << 30, size.convert("2g"));
    assertEquals(2L << 30, size.convert("2GiB"));
    assertEquals(0L, size.convert("0"));
    assertThrows(TypeConversionException.class, () -> size.convert("-1"));
    assertThrows(TypeConversionException.class, () -> size.convert("lots"));
    assertThrows(TypeConversionException.class, () -> size.convert("99999999999999999999"));
    assertThrows(TypeConversionException.class, () -> size.convert("9999999999999g"));
  }
}
