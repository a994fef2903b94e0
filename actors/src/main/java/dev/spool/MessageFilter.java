package dev.spool;

import java.util.HashMap;
import java.util.Map;

/**
 * Which messages a consumer wants: a type and header values that must all match exactly. Messages
 * that do not match are skipped by that consumer and count as committed for it.
 *
 * @param type the required type, or {@code null} for any
 * @param headers header values that must all be present and equal
 * @since 0.1.0
 */
public record MessageFilter(String type, Map<String, String> headers) {

  /** Matches every message. */
  public static final MessageFilter ALL = new MessageFilter(null, Map.of());

  /** Keeps copies of the collections: the record never changes. */
  public MessageFilter {
    headers = headers == null ? Map.of() : Map.copyOf(headers);
  }

  /** Messages of {@code type}. */
  public static MessageFilter type(String type) {
    return new MessageFilter(type, Map.of());
  }

  /** This filter also requiring header {@code name} to equal {@code value}. */
  public MessageFilter header(String name, String value) {
    Map<String, String> more = new HashMap<>(headers);
    more.put(name, value);
    return new MessageFilter(type, more);
  }

  /** Whether this filter lets everything through. */
  public boolean matchesAll() {
    return type == null && headers.isEmpty();
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
    return true;
  }
}
