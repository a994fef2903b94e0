package dev.spool.serialization;

import dev.spool.SpoolException;
import org.apache.pekko.remote.serialization.ThrowableNotSerializableException;

/** Failures rebuilt on the receiving node, the same way whichever serializer carried them. */
final class Failures {

  private Failures() {}

  /**
   * A {@link SpoolException} of {@code code}, as the same subclass with the same message; without a
   * code this version knows, a {@link ThrowableNotSerializableException} that names the original
   * class. The sender's class name is never instantiated.
   */
  static Throwable restore(String className, String message, String code, String keyId) {
    if (code != null) {
      for (SpoolException.Code known : SpoolException.Code.values()) {
        if (known.name().equals(code)) {
          return SpoolException.restore(known, message, keyId);
        }
      }
    }
    return new ThrowableNotSerializableException(message, className == null ? "unknown" : className);
  }
}
