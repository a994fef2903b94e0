package dev.spool;

import java.util.HashMap;
import java.util.Map;

/**
 * Which messages a consumer wants: a type and header values that must all match exactly, and an
 * expression ({@link FilterExpression}) that must hold. The exact matches are checked first, as
 * the fast path; the expression only for messages that pass them. Messages that do not match are
 * skipped by that consumer and count as committed for it.
 *
 * @param type the required type, or {@code null} for any
 * @param headers header values that must all be present and equal
 * @param expression an expression that must be true, or {@code null} for none
 * @since 0.1.0
 */
public record MessageFilter(String type, Map<String, String> headers, FilterExpression expression) {

  /** Matches every message. */
  public static final MessageFilter ALL = new MessageFilter(null, Map.of(), null);

  /** Keeps copies of the collections: the record never changes. */
  public MessageFilter {
    headers = headers == null ? Map.of() : Map.copyOf(headers);
  }

  /** Exact matches only. */
  public MessageFilter(String type, Map<String, String> headers) {
    this(type, headers, null);
  }

  /**
   * Messages for which {@code expression} holds, e.g. {@code type == 'order.created' &&
   * headers['region'] in ['eu', 'uk']}.
   *
   * @throws SpoolException.InvalidConfiguration for an expression that does not compile, naming where
   */
  public static MessageFilter expression(String expression) {
    return new MessageFilter(null, Map.of(), FilterExpression.compile(expression));
  }

  /** This filter also requiring {@code expression} to hold (replacing an expression it had). */
  public MessageFilter and(String expression) {
    return new MessageFilter(type, headers, FilterExpression.compile(expression));
  }

  /** Messages of {@code type}. */
  public static MessageFilter type(String type) {
    return new MessageFilter(type, Map.of());
  }

  /** This filter also requiring header {@code name} to equal {@code value}. */
  public MessageFilter header(String name, String value) {
    Map<String, String> more = new HashMap<>(headers);
    more.put(name, value);
    return new MessageFilter(type, more, expression);
  }

  /** Whether this filter lets everything through. */
  public boolean matchesAll() {
    return type == null && headers.isEmpty() && expression == null;
  }

  /** Whether {@code message} passes. */
  public boolean matches(Message message) {
    if (type != null && !type.equals(message.type())) {
      return false;
    }
    for (Map.Entry<String, String> h : headers.entrySet()) {
      if (!h.getValue().equals(message.headers().get(h.getKey()))) {
        return false;
      }
    }
    return expression == null || expression.matches(message);
  }
}
