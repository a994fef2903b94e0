package dev.spool;

import java.util.Locale;

/**
 * How a persistent queue's sealed segments are compressed before they are stored. A transient
 * queue stores nothing, so it is always {@link #NONE}.
 *
 * @since 0.1.0
 */
public enum Compression {
  /** Stored as serialized: for payloads that are compressed or encrypted already. */
  NONE,
  /** LZ4: compresses and decompresses at memory speed; the default of persistent queues. */
  LZ4,
  /** Zstandard: a better ratio than LZ4 for more CPU, for large cold backlogs. */
  ZSTD;

  /** Its name in configuration and the HTTP API: {@code none}, {@code lz4} or {@code zstd}. */
  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The compression named {@code text} ({@code none}, {@code lz4} or {@code zstd}, any case). */
  public static Compression parse(String text) {
    if (text != null) {
      for (Compression c : values()) {
        if (c.wireName().equalsIgnoreCase(text.trim())) {
          return c;
        }
      }
    }
    throw new SpoolException.InvalidConfiguration("compression must be none, lz4 or zstd, not '"
        + (text == null ? "null" : text.length() > 40 ? text.substring(0, 40) + "…" : text) + "'");
  }
}
