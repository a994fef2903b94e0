package dev.spool.cli;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Option values people type, turned into the API's forms. Only the form is converted here; whether
 * a value is allowed (a ttl's bounds, a threshold's minimum) is the server's rule, and its refusal
 * names the field.
 */
final class Converters {

  private Converters() {}

  private static final Pattern SHORT_DURATION = Pattern.compile("(\\d+)(ms|s|m|h|d)");
  private static final Pattern SIZE = Pattern.compile("(\\d+)([kmg]?)(i?b)?");

  /** {@code 30s}, {@code 500ms}, {@code 5m}, {@code 2h}, {@code 7d}, or an ISO-8601 duration, as ISO-8601. */
  static final class IsoDuration implements ITypeConverter<String> {
    @Override
    public String convert(String value) {
      String v = value.trim().toLowerCase(Locale.ROOT);
      Matcher m = SHORT_DURATION.matcher(v);
      if (m.matches()) {
        long n = Long.parseLong(m.group(1));
        Duration d = switch (m.group(2)) {
          case "ms" -> Duration.ofMillis(n);
          case "s" -> Duration.ofSeconds(n);
          case "m" -> Duration.ofMinutes(n);
          case "h" -> Duration.ofHours(n);
          default -> Duration.ofDays(n);
        };
        return d.toString();
      }
      try {
        return Duration.parse(value.trim().toUpperCase(Locale.ROOT)).toString();
      } catch (RuntimeException e) {
        throw new TypeConversionException("'" + value + "' is not a duration: use 30s, 500ms, 5m, 2h, 7d or ISO-8601 (PT30S)");
      }
    }
  }

  /** A byte count: {@code 1048576}, or with a binary suffix {@code 64k}, {@code 512m}, {@code 2g}. */
  static final class ByteSize implements ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
      Matcher m = SIZE.matcher(value.trim().toLowerCase(Locale.ROOT));
      if (!m.matches()) {
        throw new TypeConversionException("'" + value + "' is not a size in bytes: use 1048576, 64k, 512m or 2g");
      }
      int shift = switch (m.group(2)) {
        case "k" -> 10;
        case "m" -> 20;
        case "g" -> 30;
        default -> 0;
      };
      try {
        long n = Long.parseLong(m.group(1));
        if (n > (Long.MAX_VALUE >> shift)) {
          throw new NumberFormatException();
        }
        return n << shift;
      } catch (NumberFormatException e) {
        throw new TypeConversionException("'" + value + "' is too large a size");
      }
    }
  }
}
