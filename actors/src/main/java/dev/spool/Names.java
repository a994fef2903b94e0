package dev.spool;

/**
 * Validation of queue and consumer names (semantics.md, "Names").
 *
 * @since 0.1.0
 */
public final class Names {

  private Names() {}

  /** Throws {@link SpoolException.InvalidName} unless {@code name} is a valid user-chosen name. */
  public static String requireValid(String kind, String name) {
    if (!valid(name)) {
      throw new SpoolException.InvalidName(kind + " name " + describe(name)
          + " is invalid: use 1 to 128 characters of A-Z, a-z, 0-9, '.', '_' or '-'");
    }
    return name;
  }

  /** 1 to 128 of {@code [A-Za-z0-9._-]}: a loop, as this runs on every request that names a queue. */
  /**
   * {@code name} if it names a queue or a partition of one ({@code queue#p}, which is read like a
   * queue but never created or deleted on its own); else {@code InvalidName}.
   */
  public static String requireValidQueueOrPartition(String name) {
    int at = name == null ? -1 : name.lastIndexOf('#');
    if (at > 0 && at < name.length() - 1 && at >= name.length() - 4 && valid(name.substring(0, at))
        && name.substring(at + 1).chars().allMatch(c -> c >= '0' && c <= '9')) {
      return name;
    }
    return requireValid("queue", name);
  }

  private static boolean valid(String name) {
    if (name == null || name.isEmpty() || name.length() > 128) {
      return false;
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || c == '.' || c == '_' || c == '-';
      if (!ok) {
        return false;
      }
    }
    return true;
  }

  private static String describe(String name) {
    if (name == null) {
      return "(none)";
    }
    if (name.startsWith("$")) {
      return "'" + truncate(name) + "' (names starting with '$' are reserved for Spool)";
    }
    if (name.indexOf('#') > 0) {
      return "'" + truncate(name) + "' ('#' names a partition of a partitioned queue, which is created with its queue)";
    }
    return "'" + truncate(name) + "'";
  }

  private static String truncate(String s) {
    return s.length() > 40 ? s.substring(0, 40) + "…" : s;
  }
}
