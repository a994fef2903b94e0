package dev.spool.http;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.exc.StreamReadException;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.KeyDeserializer;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.deser.std.StdScalarDeserializer;
import com.fasterxml.jackson.databind.deser.std.StringDeserializer;
import com.fasterxml.jackson.databind.ser.std.StdSerializer;
import com.fasterxml.jackson.databind.type.LogicalType;
import dev.spool.QueueSettings;
import dev.spool.SpoolException;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.Map;

/**
 * JSON in and out. Reading is strict so that a typo never passes silently: unknown fields, wrong
 * types (no {@code "42"} for a number, no {@code 1.5} for a whole number, no number for a string)
 * and trailing content are {@code InvalidConfiguration} errors whose message names the field. A
 * body that is not well-formed UTF-8, or a string escaping half a surrogate pair (D800 alone), is
 * refused too: either would otherwise be stored rewritten (as {@code ?} or NUL).
 */
final class Json {

  static final ObjectMapper MAPPER = mapper();

  private Json() {}

  private static ObjectMapper mapper() {
    SimpleModule engineTypes = new SimpleModule("spool")
        .addSerializer(Instant.class, new ToStringSerializer<>(Instant.class))
        .addSerializer(Duration.class, new ToStringSerializer<>(Duration.class))
        .addSerializer(QueueSettings.class, new StdSerializer<>(QueueSettings.class) {
          @Override
          public void serialize(QueueSettings value, JsonGenerator gen, SerializerProvider provider) throws IOException {
            provider.defaultSerializeValue(Views.QueueSettingsView.of(value), gen);
          }
        })
        .addDeserializer(String.class, new WellFormedStrings())
        .addKeyDeserializer(String.class, new WellFormedKeys());
    ObjectMapper mapper = JsonMapper.builder()
        .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
        .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
        .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
        .enable(DeserializationFeature.FAIL_ON_NUMBERS_FOR_ENUMS)
        .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
        .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
        .defaultPropertyInclusion(JsonInclude.Value.construct(JsonInclude.Include.NON_NULL, JsonInclude.Include.NON_NULL))
        .addModule(engineTypes)
        .build();
    // Strings stay strings: a number or boolean where text is expected is a mistake to report.
    mapper.coercionConfigFor(LogicalType.Textual)
        .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
        .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
        .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail);
    return mapper;
  }

  /** Parses {@code body} as {@code type}; an empty body reads as {@code {}}. */
  static <T> T read(byte[] body, Class<T> type) {
    int invalid = invalidUtf8At(body);
    if (invalid >= 0) {
      throw new SpoolException.InvalidConfiguration("the body is not well-formed UTF-8 (byte " + invalid
          + " starts an invalid, overlong or truncated sequence)");
    }
    try {
      T value = MAPPER.readValue(body.length == 0 ? EMPTY_OBJECT : body, type);
      if (value == null) {
        throw new SpoolException.InvalidConfiguration("the body must be a JSON object, not null");
      }
      return value;
    } catch (UnrecognizedPropertyException e) {
      throw new SpoolException.InvalidConfiguration("unknown field '" + path(e) + "'");
    } catch (MismatchedInputException e) {
      String path = path(e);
      if (path.isEmpty()) {
        throw new SpoolException.InvalidConfiguration("the body must be " + describe(e.getTargetType()));
      }
      throw new SpoolException.InvalidConfiguration("field '" + path + "' must be " + describe(e.getTargetType()));
    } catch (com.fasterxml.jackson.core.exc.InputCoercionException e) {
      com.fasterxml.jackson.core.JsonParser parser = e.getProcessor();
      throw outOfRange(parser != null && parser.getParsingContext() != null
          ? parser.getParsingContext().getCurrentName() : null, e);
    } catch (StreamReadException e) {
      throw new SpoolException.InvalidConfiguration("malformed JSON at line " + e.getLocation().getLineNr()
          + ", column " + e.getLocation().getColumnNr() + ": " + firstLine(e.getOriginalMessage()));
    } catch (JsonMappingException e) {
      // A request record's own check (its compact constructor) already names the field.
      if (e.getCause() instanceof SpoolException checked) {
        throw checked;
      }
      if (e.getCause() instanceof com.fasterxml.jackson.core.exc.InputCoercionException coercion) {
        throw outOfRange(path(e), coercion);
      }
      throw new SpoolException.InvalidConfiguration("field '" + path(e) + "': " + firstLine(e.getOriginalMessage()));
    } catch (IOException e) {
      throw new SpoolException.InvalidConfiguration("unreadable body: " + firstLine(e.getMessage()));
    }
  }

  /** Well-formed JSON with a number too large for its field: said as such, not in the parser's words. */
  private static SpoolException outOfRange(String field, com.fasterxml.jackson.core.exc.InputCoercionException e) {
    return new SpoolException.InvalidConfiguration((field == null || field.isEmpty() ? "a number" : "field '" + field
        + "'") + " is out of range" + (e.getTargetType() == Integer.TYPE || e.getTargetType() == Integer.class
            ? " (a 32-bit integer)" : ""));
  }

    /** {@code value} as JSON bytes. */
  static byte[] write(Object value) {
    try {
      return MAPPER.writeValueAsBytes(value);
    } catch (JsonProcessingException e) {
      // Only our own view records are written: failing here is a bug, not bad input.
      throw new IllegalStateException("cannot write " + value.getClass().getSimpleName() + " as JSON", e);
    }
  }

  private static final byte[] EMPTY_OBJECT = {'{', '}'};

  /**
   * The offset of the first sequence in {@code bytes} that is not well-formed UTF-8 (RFC 3629,
   * table 3-7: no overlong forms such as {@code C0 80}, no encoded surrogates, nothing above
   * U+10FFFF, nothing truncated), or -1. Jackson decodes some of these without complaint.
   */
  static int invalidUtf8At(byte[] bytes) {
    int i = 0;
    while (i < bytes.length) {
      int b = bytes[i];
      if (b >= 0) {
        i++;
        continue;
      }
      b &= 0xFF;
      int length;
      int low = 0x80;
      int high = 0xBF;
      if (b >= 0xC2 && b <= 0xDF) {
        length = 2;
      } else if (b >= 0xE0 && b <= 0xEF) {
        length = 3;
        low = b == 0xE0 ? 0xA0 : low;
        high = b == 0xED ? 0x9F : high;
      } else if (b >= 0xF0 && b <= 0xF4) {
        length = 4;
        low = b == 0xF0 ? 0x90 : low;
        high = b == 0xF4 ? 0x8F : high;
      } else {
        return i;
      }
      if (i + length > bytes.length) {
        return i;
      }
      int second = bytes[i + 1] & 0xFF;
      if (second < low || second > high) {
        return i;
      }
      for (int k = 2; k < length; k++) {
        if ((bytes[i + k] & 0xC0) != 0x80) {
          return i;
        }
      }
      i += length;
    }
    return -1;
  }

  /** Whether {@code s} pairs every surrogate: a lone one cannot be stored as UTF-8. */
  static boolean wellFormed(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        return false;
      }
    }
    return true;
  }

  private static final String LONE_SURROGATE = "holds a lone surrogate (half of a \\uD800-\\uDFFF pair), "
      + "which is not text";

  /** Jackson's own string reading (with its coercion checks), then the surrogate check. */
  private static final class WellFormedStrings extends StdScalarDeserializer<String> {
    WellFormedStrings() {
      super(String.class);
    }

    @Override
    public String deserialize(JsonParser p, DeserializationContext context) throws IOException {
      String value = StringDeserializer.instance.deserialize(p, context);
      if (value != null && !wellFormed(value)) {
        throw JsonMappingException.from(p, LONE_SURROGATE);
      }
      return value;
    }

    @Override
    public LogicalType logicalType() {
      return LogicalType.Textual;
    }
  }

  /** Map keys (message headers' names) checked as strings are. */
  private static final class WellFormedKeys extends KeyDeserializer {
    @Override
    public Object deserializeKey(String key, DeserializationContext context) throws IOException {
      if (!wellFormed(key)) {
        throw JsonMappingException.from(context, "a key " + LONE_SURROGATE);
      }
      return key;
    }
  }

  private static String path(JsonMappingException e) {
    StringBuilder path = new StringBuilder();
    for (JsonMappingException.Reference ref : e.getPath()) {
      if (ref.getFieldName() != null) {
        if (path.length() > 0) {
          path.append('.');
        }
        path.append(ref.getFieldName());
      } else if (ref.getIndex() >= 0) {
        path.append('[').append(ref.getIndex()).append(']');
      }
    }
    return path.toString();
  }

  private static String describe(Class<?> type) {
    if (type == null) {
      return "of another type";
    }
    if (type == String.class) {
      return "a string";
    }
    if (type == Integer.class || type == int.class || type == Long.class || type == long.class) {
      return "a whole number";
    }
    if (type == Double.class || type == double.class) {
      return "a number";
    }
    if (type == Boolean.class || type == boolean.class) {
      return "true or false";
    }
    if (Collection.class.isAssignableFrom(type) || type.isArray()) {
      return "an array";
    }
    if (Map.class.isAssignableFrom(type) || type.isRecord()) {
      return "an object";
    }
    return "of another type";
  }

  private static String firstLine(String message) {
    if (message == null) {
      return "";
    }
    String line = message.lines().findFirst().orElse("");
    return line.length() > 200 ? line.substring(0, 200) + "…" : line;
  }

  /** Writes a value as its {@code toString()}: ISO-8601 for instants and durations. */
  private static final class ToStringSerializer<T> extends StdSerializer<T> {
    ToStringSerializer(Class<T> type) {
      super(type);
    }

    @Override
    public void serialize(T value, JsonGenerator gen, SerializerProvider provider) throws IOException {
      gen.writeString(value.toString());
    }
  }
}
