package dev.spool;

import java.util.regex.Pattern;

/** Validation of queue and consumer names (semantics.md, "Names"). */
public final class Names {

  private static final Pattern VALID = Pattern.compile("[A-Za-z0-9._-]{1,128}");

  private Names() {}

  /** Throws {@link SpoolException.InvalidName} unless {@code name} is a valid user-chosen name. */
  public static String requireValid(String kind, String name) {
    if (name == null || !VALID.matcher(name).matches()) {
      throw new SpoolException.InvalidName(kind + " name " + describe(name)
          + " is invalid: use 1 to 128 characters of A-Z, a-z, 0-9, '.', '_' or '-'");
    }
    return name;
  }

  private static String describe(String name) {
    if (name == null) {
      return "(none)";
    }
    if (name.startsWith("$")) {
      return "'" + truncate(name) + "' (names starting with '$' are reserved for Spool)";
    }
    return "'" + truncate(name) + "'";
  }

  private static String truncate(String s) {
    return s.length() > 40 ? s.substring(0, 40) + "…" : s;
  }
}
