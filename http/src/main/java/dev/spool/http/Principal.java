package dev.spool.http;

import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Who made a request: the holder of a bearer token, with its roles and the queues its producer and
 * consumer roles apply to.
 *
 * @param name the token's name; messages published through it carry this as their producer id
 * @param roles what it may do
 * @param queues compiled queue patterns
 */
public record Principal(String name, Set<Role> roles, List<Pattern> queues) {

  /** Whether this principal may do {@code access}. */
  public boolean may(Access access) {
    if (roles.contains(Role.ADMIN)) {
      return true;
    }
    return switch (access.kind()) {
      case ADMIN -> false;
      case VIEW -> roles.contains(Role.VIEWER);
      case VIEW_QUEUE -> roles.contains(Role.VIEWER)
          || (roles.contains(Role.PRODUCER) || roles.contains(Role.CONSUMER)) && matches(access.queue());
      case PUBLISH -> roles.contains(Role.PRODUCER) && matches(access.queue());
      case CONSUME -> roles.contains(Role.CONSUMER) && matches(access.queue());
    };
  }

  /** A partition ({@code queue#p}) is granted with its queue. */
  private boolean matches(String queue) {
    String parent = dev.spool.queue.Partitions.parentOf(queue);
    return matchesName(parent != null ? parent : queue);
  }

  private boolean matchesName(String queue) {
    for (Pattern p : queues) {
      if (p.matcher(queue).matches()) {
        return true;
      }
    }
    return false;
  }

  /** A queue pattern with {@code *} wildcards as a regular expression; every other character is literal. */
  static Pattern compile(String glob) {
    return Pattern.compile(Arrays.stream(glob.split("\\*", -1)).map(Pattern::quote).collect(Collectors.joining(".*")));
  }

  /**
   * The queue patterns as configured ({@code orders-*}): {@link #compile} read backwards. A pattern
   * that {@code compile} did not make is given as its regular expression.
   */
  public List<String> patterns() {
    return queues.stream().map(Principal::glob).toList();
  }

  private static String glob(Pattern pattern) {
    String regex = pattern.pattern();
    StringBuilder glob = new StringBuilder();
    int i = 0;
    while (i < regex.length()) {
      if (regex.startsWith("\\Q", i)) {
        int end = regex.indexOf("\\E", i + 2);
        if (end < 0) {
          return regex;
        }
        glob.append(regex, i + 2, end);
        i = end + 2;
      } else if (regex.startsWith("\\\\E", i)) { // Pattern.quote's escape for a literal \E
        glob.append("\\E");
        i += 3;
      } else if (regex.startsWith(".*", i)) {
        glob.append('*');
        i += 2;
      } else {
        return regex;
      }
    }
    return glob.toString();
  }

  @Override
  public String toString() {
    return "Principal[" + name + ", " + roles + "]";
  }
}
