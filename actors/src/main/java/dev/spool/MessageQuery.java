package dev.spool;

import java.time.Instant;
import java.util.Objects;

/**
 * A page of a queue's retained messages, optionally those matching a key, a type, a header and a
 * time range, read forward or backward from a sequence; moves no cursor. One query scans at most
 * {@link #MAX_SCAN} sequences, so that a search of a large queue stays bounded: the answer says
 * where it stopped ({@link MessagePage}), and the next query goes on from there.
 *
 * @param from the sequence to start at, inclusive; 0 for the first retained (forward) or the last (backward)
 * @param backward whether to read toward lower sequences (the answer is still in ascending order)
 * @param limit the most messages to answer, 1 to {@link #MAX_LIMIT}
 * @param key only messages with this key, or {@code null}
 * @param type only messages of this type, or {@code null}
 * @param headerName only messages with this header (valued {@code headerValue}), or {@code null}
 * @param headerValue the header's value; {@code null} for any value
 * @param since only messages appended at or after this, or {@code null}
 * @param until only messages appended at or before this, or {@code null}
 * @since 0.1.0
 */
public record MessageQuery(long from, boolean backward, int limit, String key, String type, String headerName,
    String headerValue, Instant since, Instant until) {

  /** Sequences one query looks at, at most. */
  public static final int MAX_SCAN = 10_000;
  /** Messages one query answers, at most. */
  public static final int MAX_LIMIT = 1000;

  /** @throws SpoolException.InvalidConfiguration if a bound is out of range */
  public MessageQuery {
    if (from < 0) {
      throw new SpoolException.InvalidConfiguration("a query starts at sequence 1 or later (0 for the default), not "
          + from);
    }
    if (limit < 1 || limit > MAX_LIMIT) {
      throw new SpoolException.InvalidConfiguration("a query's limit must be between 1 and " + MAX_LIMIT + ", not "
          + limit);
    }
    if (headerValue != null && headerName == null) {
      throw new SpoolException.InvalidConfiguration("a header value needs a header name");
    }
    if (since != null && until != null && since.isAfter(until)) {
      throw new SpoolException.InvalidConfiguration("a query's time range ends (" + until + ") before it starts ("
          + since + ")");
    }
  }

  /** Every message, {@code limit} at a time, forward from {@code from}. */
  public static MessageQuery page(long from, int limit) {
    return new MessageQuery(from, false, limit, null, null, null, null, null, null);
  }

  /** Whether {@code m} matches this query's conditions. */
  public boolean matches(Message m) {
    return (key == null || key.equals(m.key().orElse(null)))
        && (type == null || type.equals(m.type()))
        && (headerName == null || headerMatches(m))
        && (since == null || m.timestamp() >= since.toEpochMilli())
        && (until == null || m.timestamp() <= until.toEpochMilli());
  }

  private boolean headerMatches(Message m) {
    String value = m.headers().get(headerName);
    return value != null && (headerValue == null || Objects.equals(headerValue, value));
  }
}
