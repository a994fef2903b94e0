package dev.spool;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import dev.cel.bundle.Cel;
import dev.cel.bundle.CelFactory;
import dev.cel.common.CelIssue;
import dev.cel.common.CelOptions;
import dev.cel.common.CelValidationException;
import dev.cel.common.CelValidationResult;
import dev.cel.common.types.MapType;
import dev.cel.common.types.SimpleType;
import dev.cel.common.values.NullValue;
import dev.cel.parser.CelStandardMacro;
import dev.cel.runtime.CelEvaluationException;
import dev.cel.runtime.CelRuntime;
import dev.cel.validator.CelValidator;
import dev.cel.validator.CelValidatorFactory;
import dev.cel.validator.validators.RegexLiteralValidator;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * A consumer's filter as an expression in Google's Common Expression Language (CEL) over a
 * message: {@code type}, {@code key}, {@code producer} and {@code contentType} (strings, empty when
 * unset), {@code headers} (a map of strings) and {@code payload} (a JSON payload's value: objects,
 * arrays, strings, numbers, booleans; {@code null} for a payload that is not JSON or larger than
 * {@link #MAX_JSON_BYTES}; a payload is read as JSON when its content type is JSON, text/plain or
 * none). Numbers compare across integers and decimals, as JSON has one kind. For example {@code type == 'order.created' && headers['region'] in
 * ['eu', 'uk'] && payload.total > 100}.
 *
 * <p>Compiled once, when the consumer is defined: a syntax or type error is refused with its line
 * and column. Evaluation is bounded: at most {@link #MAX_LENGTH} characters and {@link #MAX_NODES}
 * nodes, macros ({@code all}, {@code exists}, {@code map}, {@code filter}) iterate at most
 * {@link #MAX_ITERATIONS} times in all, regular expressions are RE2 (linear time), and there are
 * no loops, side effects or calls out. A message for which the expression fails (a missing header
 * or field, a value of another type) does not match, as it would not under the exact-match filter.
 * Equal when their sources are equal.
 *
 * @since 0.1.0
 */
public final class FilterExpression {

  /** Longest expression, in characters: enough for a filter, too little to hide work in. */
  public static final int MAX_LENGTH = 2048;
  /** Most nodes of an expression's syntax tree. */
  public static final int MAX_NODES = 256;
  /** Most iterations of all comprehension macros in one evaluation. */
  public static final int MAX_ITERATIONS = 1000;
  /** Largest JSON payload whose fields an expression reads; a larger payload is {@code null} to it. */
  public static final int MAX_JSON_BYTES = 64 * 1024;
  /** Deepest JSON nesting read; a deeper payload is {@code null} to an expression. */
  private static final int MAX_JSON_DEPTH = 32;

  private static final Cel CEL = CelFactory.standardCelBuilder()
      .setOptions(CelOptions.current()
          .maxExpressionCodePointSize(MAX_LENGTH)
          .maxParseRecursionDepth(32)
          .maxParseExpressionNodeCount(MAX_NODES)
          .comprehensionMaxIterations(MAX_ITERATIONS)
          // JSON has one kind of number: payload.total > 100 holds for 500.5 as for 150.
          .enableHeterogeneousNumericComparisons(true)
          .build())
      .setStandardMacros(CelStandardMacro.STANDARD_MACROS)
      .addVar("type", SimpleType.STRING)
      .addVar("key", SimpleType.STRING)
      .addVar("producer", SimpleType.STRING)
      .addVar("contentType", SimpleType.STRING)
      .addVar("headers", MapType.create(SimpleType.STRING, SimpleType.STRING))
      .addVar("payload", SimpleType.DYN)
      .setResultType(SimpleType.BOOL)
      .build();

  /** A regular expression literal that does not compile is refused with the expression, not met per message. */
  private static final CelValidator VALIDATOR = CelValidatorFactory.standardCelValidatorBuilder(CEL)
      .addAstValidators(RegexLiteralValidator.INSTANCE).build();

  private static final JsonFactory JSON = JsonFactory.builder()
      .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_JSON_DEPTH).build()).build();

  private final String source;
  private final CelRuntime.Program program;
  /** Whether the expression names {@code payload}: only then is a payload parsed. */
  private final boolean readsPayload;

  private FilterExpression(String source, CelRuntime.Program program, boolean readsPayload) {
    this.source = source;
    this.program = program;
    this.readsPayload = readsPayload;
  }

  /**
   * {@code source} compiled.
   *
   * @throws SpoolException.InvalidConfiguration naming the first problem's line and column, with
   *     the expression and a caret under the position
   */
  public static FilterExpression compile(String source) {
    if (source == null || source.isBlank()) {
      throw new SpoolException.InvalidConfiguration("filter expression is empty");
    }
    if (source.codePointCount(0, source.length()) > MAX_LENGTH) {
      throw new SpoolException.InvalidConfiguration("filter expression is longer than " + MAX_LENGTH + " characters");
    }
    CelValidationResult result;
    try {
      result = CEL.compile(source);
    } catch (RuntimeException e) {
      throw new SpoolException.InvalidConfiguration("filter expression cannot be compiled: " + e.getMessage());
    }
    if (!result.hasError()) {
      try {
        result = VALIDATOR.validate(result.getAst());
      } catch (CelValidationException | RuntimeException e) {
        throw new SpoolException.InvalidConfiguration("filter expression cannot be compiled: " + e.getMessage());
      }
    }
    if (result.hasError()) {
      CelIssue first = result.getErrors().get(0);
      int line = first.getSourceLocation().getLine();
      int column = first.getSourceLocation().getColumn();
      throw new SpoolException.InvalidConfiguration("filter expression: " + readable(first.getMessage())
          + (line > 0 ? " at line " + line + ", column " + (column + 1) : "") + caret(source, line, column));
    }
    try {
      return new FilterExpression(source, CEL.createProgram(result.getAst()), source.contains("payload"));
    } catch (Exception e) {
      throw new SpoolException.InvalidConfiguration("filter expression: " + e.getMessage());
    }
  }

  /** The parser's message without the grammar's token names or the checker's candidate overloads. */
  private static String readable(String message) {
    return message.replaceAll(" expecting \\{[^}]*\\}", "").replaceAll(" \\(candidates: .*\\)$", "");
  }

  /** The offending line with a caret under the column, as a reader of the error wants to see it. */
  private static String caret(String source, int line, int column) {
    String[] lines = source.split("\n", -1);
    if (line < 1 || line > lines.length || column < 0) {
      return "";
    }
    String text = lines[line - 1];
    return "\n | " + text + "\n | " + " ".repeat(Math.min(column, text.length())) + "^";
  }

  /** The expression as written. */
  public String source() {
    return source;
  }

  /** Whether {@code message} passes: the expression is {@code true} for it. */
  public boolean matches(Message message) {
    Object[] payload = new Object[1]; // parsed at most once, and only if the expression reads it
    try {
      Object result = program.eval(name -> Optional.ofNullable(switch (name) {
        case "type" -> message.type();
        case "key" -> message.key().orElse("");
        case "producer" -> message.producerId() == null ? "" : message.producerId();
        case "contentType" -> message.contentType().orElse("");
        case "headers" -> message.headers();
        case "payload" -> {
          if (payload[0] == null) {
            payload[0] = readsPayload ? json(message) : NullValue.NULL_VALUE;
          }
          yield payload[0];
        }
        default -> null;
      }));
      return Boolean.TRUE.equals(result);
    } catch (CelEvaluationException | RuntimeException e) {
      // A missing header or field, or a value of another type: the message is not one it wants.
      return false;
    }
  }

  /** A JSON payload as CEL values, or CEL's null when it is not JSON, too large or too deep. */
  static Object json(Message message) {
    String contentType = message.contentType().orElse("").toLowerCase(Locale.ROOT);
    // Text is read too: a JSON body published without a content type is stored as text/plain.
    boolean candidate = contentType.isEmpty() || contentType.startsWith("application/json")
        || contentType.contains("+json") || contentType.startsWith("text/plain");
    byte[] bytes = message.payload();
    if (bytes.length == 0 || bytes.length > MAX_JSON_BYTES || !candidate) {
      return NullValue.NULL_VALUE;
    }
    try (JsonParser parser = JSON.createParser(bytes)) {
      JsonToken first = parser.nextToken();
      if (first == null) {
        return NullValue.NULL_VALUE;
      }
      Object value = value(parser, first);
      return parser.nextToken() == null ? value : NullValue.NULL_VALUE;
    } catch (IOException | RuntimeException notJson) {
      return NullValue.NULL_VALUE;
    }
  }

  private static Object value(JsonParser parser, JsonToken token) throws IOException {
    return switch (token) {
      case START_OBJECT -> {
        Map<String, Object> object = new HashMap<>();
        for (JsonToken t = parser.nextToken(); t != JsonToken.END_OBJECT; t = parser.nextToken()) {
          String name = parser.currentName();
          object.put(name, value(parser, parser.nextToken()));
        }
        yield object;
      }
      case START_ARRAY -> {
        List<Object> array = new ArrayList<>();
        for (JsonToken t = parser.nextToken(); t != JsonToken.END_ARRAY; t = parser.nextToken()) {
          array.add(value(parser, t));
        }
        yield array;
      }
      case VALUE_STRING -> parser.getText();
      // CEL's int is 64-bit: larger integers are read as doubles, as JSON numbers are anyway.
      case VALUE_NUMBER_INT -> parser.getNumberType() == JsonParser.NumberType.BIG_INTEGER
          ? parser.getDoubleValue() : (Object) parser.getLongValue();
      case VALUE_NUMBER_FLOAT -> parser.getDoubleValue();
      case VALUE_TRUE -> Boolean.TRUE;
      case VALUE_FALSE -> Boolean.FALSE;
      case VALUE_NULL -> NullValue.NULL_VALUE;
      default -> throw new IOException("unexpected " + token);
    };
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof FilterExpression other && source.equals(other.source);
  }

  @Override
  public int hashCode() {
    return source.hashCode();
  }

  @Override
  public String toString() {
    return source;
  }
}
