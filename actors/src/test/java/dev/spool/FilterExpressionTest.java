package dev.spool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Example;

/**
 * Filter expressions: each one agrees with a reference evaluation written in Java over generated
 * messages; bad expressions are refused with their position; evaluation is bounded.
 */
class FilterExpressionTest {

  /** A generated message and what the reference evaluation reads of it. */
  record Sample(Message message, String type, String region, String key, Long total, boolean json) {}

  @Provide
  Arbitrary<Sample> samples() {
    Arbitrary<String> types = Arbitraries.of("order.created", "order.paid", "refund");
    Arbitrary<String> regions = Arbitraries.of("eu", "uk", "us", "").injectNull(0.3);
    Arbitrary<String> keys = Arbitraries.of("c-1", "c-22", "d-3", "").injectNull(0.2);
    Arbitrary<Long> totals = Arbitraries.longs().between(-5, 500).injectNull(0.2);
    Arbitrary<Boolean> json = Arbitraries.of(true, false);
    return Combinators.combine(types, regions, keys, totals, json).as((type, region, key, total, isJson) -> {
      String body = isJson ? (total == null ? "{\"items\":[1,2]}" : "{\"total\":" + total + ",\"items\":[1,2]}")
          : "total=" + total;
      Message m = Message.text(type, body).withContentType(isJson ? "application/json" : "text/plain");
      if (region != null) {
        m = m.withHeader("region", region);
      }
      if (key != null) {
        m = m.withKey(key);
      }
      return new Sample(m, type, region, key, isJson ? total : null, isJson);
    });
  }

  /** Expressions and their meaning in Java, including what a missing header or field means: no match. */
  private static final Map<String, Predicate<Sample>> REFERENCE = new HashMap<>();

  static {
    REFERENCE.put("type == 'order.created' && headers['region'] in ['eu', 'uk']",
        s -> s.type().equals("order.created") && ("eu".equals(s.region()) || "uk".equals(s.region())));
    REFERENCE.put("type.startsWith('order.') || key == 'd-3'",
        s -> s.type().startsWith("order.") || "d-3".equals(s.key()));
    REFERENCE.put("payload.total > 100", s -> s.total() != null && s.total() > 100);
    REFERENCE.put("has(payload.total) && payload.total >= 0 && payload.total < 10 && type != 'refund'",
        s -> s.total() != null && s.total() >= 0 && s.total() < 10 && !s.type().equals("refund"));
    REFERENCE.put("!has(headers.region) || headers.region == ''", s -> s.region() == null || s.region().isEmpty());
    REFERENCE.put("key.matches('^c-[0-9]+$') && contentType == 'application/json'",
        s -> s.key() != null && s.key().matches("^c-[0-9]+$") && s.json());
    REFERENCE.put("size(payload.items) == 2 && payload.items.all(i, i > 0)", Sample::json);
    REFERENCE.put("producer == '' && headers.size() <= 1", s -> true);
  }

  @Property(tries = 400)
  void everyExpressionAgreesWithTheReference(@ForAll("samples") Sample sample) {
    for (Map.Entry<String, Predicate<Sample>> e : REFERENCE.entrySet()) {
      MessageFilter filter = MessageFilter.expression(e.getKey());
      assertEquals(e.getValue().test(sample), filter.matches(sample.message()),
          e.getKey() + " on " + sample);
    }
  }

  @Property(tries = 200)
  void theExactMatchesAndTheExpressionMustAllHold(@ForAll("samples") Sample sample) {
    MessageFilter filter = MessageFilter.type("order.created").header("region", "eu").and("payload.total > 100");
    boolean expected = sample.type().equals("order.created") && "eu".equals(sample.region())
        && sample.total() != null && sample.total() > 100;
    assertEquals(expected, filter.matches(sample.message()), sample.toString());
  }

  @Example
  void aBadExpressionIsRefusedWithItsPosition() {
    SpoolException syntax = assertThrows(SpoolException.InvalidConfiguration.class,
        () -> FilterExpression.compile("type == 'a' &&"));
    assertTrue(syntax.getMessage().contains("at line 1, column 15"), syntax.getMessage());
    assertFalse(syntax.getMessage().contains("NUM_FLOAT"), "no grammar token names: " + syntax.getMessage());
    assertTrue(syntax.getMessage().contains("\n | type == 'a' &&\n |               ^"), syntax.getMessage());

    SpoolException unknown = assertThrows(SpoolException.InvalidConfiguration.class,
        () -> FilterExpression.compile("type == 'a' && colour == 'red'"));
    assertTrue(unknown.getMessage().contains("undeclared reference to 'colour'"), unknown.getMessage());
    assertTrue(unknown.getMessage().contains("column 16"), unknown.getMessage());

    SpoolException types = assertThrows(SpoolException.InvalidConfiguration.class,
        () -> FilterExpression.compile("type == 1"));
    assertTrue(types.getMessage().contains("no matching overload"), types.getMessage());
    assertFalse(types.getMessage().contains("candidates"), types.getMessage());

    SpoolException notBool = assertThrows(SpoolException.InvalidConfiguration.class,
        () -> FilterExpression.compile("headers['region']"));
    assertTrue(notBool.getMessage().contains("expected type 'bool'"), notBool.getMessage());

    SpoolException multiline = assertThrows(SpoolException.InvalidConfiguration.class,
        () -> FilterExpression.compile("type == 'a'\n&& key == "));
    assertTrue(multiline.getMessage().contains("line 2"), multiline.getMessage());

    for (String bad : List.of("", "   ", "x".repeat(FilterExpression.MAX_LENGTH + 1))) {
      assertThrows(SpoolException.InvalidConfiguration.class, () -> FilterExpression.compile(bad));
    }
    assertThrows(SpoolException.InvalidConfiguration.class, () -> MessageFilter.expression(null));

    SpoolException regex = assertThrows(SpoolException.InvalidConfiguration.class,
        () -> FilterExpression.compile("type.matches('[x')"));
    assertTrue(regex.getMessage().contains("column"), regex.getMessage());
  }

  @Example
  void evaluationIsBounded() {
    // Too many nodes to compile.
    String wide = String.join(" || ", java.util.Collections.nCopies(200, "type == 'a'"));
    SpoolException nodes = assertThrows(SpoolException.InvalidConfiguration.class, () -> FilterExpression.compile(wide));
    assertTrue(nodes.getMessage().contains("filter expression"), nodes.getMessage());

    // Nested comprehensions of 20 × 20 × 20 = 8,000 iterations: over the bound, so the evaluation
    // stops and the message does not match, at once.
    String list = "[" + String.join(",", java.util.Collections.nCopies(20, "1")) + "]";
    FilterExpression nested = FilterExpression.compile(list + ".all(x, " + list + ".all(y, " + list
        + ".all(z, x + y + z > 0)))");
    long started = System.nanoTime();
    assertFalse(nested.matches(Message.text("t", "x")));
    assertTrue(System.nanoTime() - started < 5_000_000_000L, "stopped by the iteration bound");
    FilterExpression small = FilterExpression.compile("[1,2,3].all(x, [1,2,3].all(y, x + y > 0))");
    assertTrue(small.matches(Message.text("t", "x")), "within the bound it evaluates");
  }

  @Example
  void payloadsThatAreNotJsonOrTooLargeOrDeepAreNull() {
    FilterExpression isNull = FilterExpression.compile("payload == null");
    FilterExpression total = FilterExpression.compile("payload.total == 5");
    Message json = Message.text("t", "{\"total\":5}").withContentType("application/json");
    assertTrue(total.matches(json));
    assertTrue(total.matches(Message.of("t", "{\"total\":5}".getBytes(java.nio.charset.StandardCharsets.UTF_8))),
        "no content type: read if it is JSON");
    assertTrue(total.matches(Message.text("t", "{\"total\":5}").withContentType("application/cloudevents+json")));
    assertTrue(total.matches(Message.text("t", "{\"total\":5}")), "text/plain, as HTTP and the CLI store JSON by default");
    assertTrue(isNull.matches(Message.text("t", "{\"total\":5}").withContentType("text/csv")));
    assertTrue(isNull.matches(Message.text("t", "{\"total\":5}").withContentType("application/octet-stream")));
    assertTrue(isNull.matches(Message.text("t", "{\"total\":5} trailing").withContentType("application/json")));
    assertTrue(isNull.matches(Message.of("t", "not json".getBytes(java.nio.charset.StandardCharsets.UTF_8))));
    String padded = "{\"total\":5,\"pad\":\"" + "x".repeat(FilterExpression.MAX_JSON_BYTES) + "\"}";
    assertTrue(isNull.matches(jsonMessage(padded)), "over 64 KiB: not read");
    String deep = "[".repeat(100) + "]".repeat(100);
    assertTrue(isNull.matches(jsonMessage(deep)), "deeper than 32: not read");
    String kib = "{\"total\":5,\"pad\":\"" + "x".repeat(1024) + "\",\"nested\":{\"a\":[1.5,true,null,\"s\"]}}";
    assertTrue(FilterExpression.compile("payload.total == 5 && payload.nested.a[0] == 1.5 && payload.nested.a[1]"
        + " && payload.nested.a[2] == null && payload.nested.a[3] == 's'").matches(jsonMessage(kib)));
    assertTrue(FilterExpression.compile("payload.big > 1.0").matches(jsonMessage("{\"big\":123456789012345678901234567890}")),
        "integers beyond 64 bits are read as doubles");
  }

  private static Message jsonMessage(String body) {
    return Message.text("t", body).withContentType("application/json");
  }

  @Example
  void numbersCompareAcrossIntegersAndDecimals() {
    FilterExpression over = FilterExpression.compile("payload.total > 100");
    FilterExpression overDecimal = FilterExpression.compile("payload.total > 100.0");
    for (String total : List.of("150", "500.5", "1e3")) {
      assertTrue(over.matches(jsonMessage("{\"total\":" + total + "}")), total);
      assertTrue(overDecimal.matches(jsonMessage("{\"total\":" + total + "}")), total);
    }
    for (String total : List.of("99", "99.5", "100")) {
      assertFalse(over.matches(jsonMessage("{\"total\":" + total + "}")), total);
    }
  }

  @Example
  void equalWhenTheirSourcesAreEqual() {
    assertEquals(FilterExpression.compile("type == 'a'"), FilterExpression.compile("type == 'a'"));
    assertEquals(MessageFilter.expression("type == 'a'"), MessageFilter.expression("type == 'a'"));
    assertFalse(MessageFilter.expression("type == 'a'").matchesAll());
    assertEquals("type == 'a'", MessageFilter.expression("type == 'a'").expression().toString());
  }
}
