package dev.spool.http;

import dev.spool.SpoolException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Which hosts push consumers may call ({@code spool.push.allowed-hosts}): a push is a request the
 * server makes on a token holder's behalf, so it must not become a way to reach what only the
 * server can reach. A pattern is {@code *} (any host whose addresses are public), {@code
 * *.example.com} (that domain's hosts, public addresses), an exact host name (whatever it resolves
 * to, private addresses included: listing it by name is the operator's consent), or an IP address or
 * CIDR block such as {@code 10.1.0.0/16} (those addresses). Loopback, link-local, private (RFC 1918,
 * unique-local IPv6, shared 100.64/10), unspecified and multicast addresses are refused unless an
 * exact name or an address pattern lists them. Names are checked when a consumer is created;
 * addresses when a connection is made, with the address the connection then uses, so a name that
 * resolves elsewhere by then is caught.
 */
final class PushPolicy {

  private final List<String> anyPublicSuffixes = new ArrayList<>();
  private final List<String> exactNames = new ArrayList<>();
  private final List<Block> blocks = new ArrayList<>();
  private boolean anyPublic;
  private final boolean allowHttp;

  /** A CIDR block. */
  private record Block(byte[] network, int bits) {
    boolean contains(InetAddress address) {
      byte[] a = address.getAddress();
      if (a.length != network.length) {
        return false;
      }
      int full = bits / 8;
      for (int i = 0; i < full; i++) {
        if (a[i] != network[i]) {
          return false;
        }
      }
      int rest = bits % 8;
      if (rest == 0) {
        return true;
      }
      int mask = (0xFF << (8 - rest)) & 0xFF;
      return (a[full] & mask) == (network[full] & mask);
    }
  }

  PushPolicy(List<String> patterns, boolean allowHttp) {
    this.allowHttp = allowHttp;
    for (String raw : patterns) {
      String p = raw == null ? "" : raw.trim().toLowerCase(Locale.ROOT);
      if (p.isEmpty()) {
        throw new SpoolException.InvalidConfiguration("spool.push.allowed-hosts: an empty pattern");
      }
      if (p.equals("*")) {
        anyPublic = true;
      } else if (p.startsWith("*.")) {
        anyPublicSuffixes.add(p.substring(1));
      } else if (p.contains("*")) {
        throw new SpoolException.InvalidConfiguration("spool.push.allowed-hosts: '" + raw
            + "' may use * only as the whole pattern or as its first label (*.example.com)");
      } else if (looksLikeAddress(p)) {
        blocks.add(block(raw, p));
      } else {
        exactNames.add(p);
      }
    }
  }

  /** Whether plain {@code http} endpoints are accepted ({@code spool.push.allow-http}). */
  boolean allowHttp() {
    return allowHttp;
  }

  /**
   * Checks an endpoint when a push consumer is created: its scheme, and that some pattern admits
   * its host.
   *
   * @throws SpoolException.InvalidConfiguration if it is refused, saying why
   */
  void checkEndpoint(URI endpoint) {
    if ("http".equalsIgnoreCase(endpoint.getScheme()) && !allowHttp) {
      throw new SpoolException.InvalidConfiguration(
          "push endpoint must be https (plain http needs spool.push.allow-http = on)");
    }
    String host = host(endpoint);
    if (looksLikeAddress(host)) {
      InetAddress address;
      try {
        address = literal(host);
      } catch (SpoolException.InvalidConfiguration e) {
        throw new SpoolException.InvalidConfiguration("push endpoint host " + host
            + " is not allowed: neither a host name nor an IP address spool.push.allowed-hosts could admit");
      }
      if (!admits(host, address)) {
        throw new SpoolException.InvalidConfiguration("push endpoint host " + host
            + " is not allowed: " + (isPublic(address) ? "no pattern of spool.push.allowed-hosts matches it"
            : "a loopback, link-local or private address must be listed in spool.push.allowed-hosts"));
      }
      return;
    }
    if (!nameMatches(host)) {
      throw new SpoolException.InvalidConfiguration("push endpoint host " + host
          + " is not allowed: no pattern of spool.push.allowed-hosts matches it");
    }
    // Always loopback (RFC 6761): refused now rather than at every connection, unless listed by name.
    if ((host.equals("localhost") || host.endsWith(".localhost")) && !exactNames.contains(host)) {
      throw new SpoolException.InvalidConfiguration("push endpoint host " + host
          + " is not allowed: a loopback name must be listed in spool.push.allowed-hosts");
    }
  }

  /**
   * The first of {@code addresses} that {@code host} may be reached at.
   *
   * @throws SpoolException.InvalidConfiguration if none may, saying why
   */
  InetAddress choose(String host, InetAddress[] addresses) {
    String h = host.toLowerCase(Locale.ROOT);
    for (InetAddress address : addresses) {
      if (admits(h, address)) {
        return address;
      }
    }
    throw new SpoolException.InvalidConfiguration("push to " + host + " refused: it resolves to "
        + (addresses.length == 0 ? "nothing" : addresses[0].getHostAddress())
        + ", which spool.push.allowed-hosts does not admit (loopback, link-local and private addresses"
        + " must be listed by name or address)");
  }

  private boolean admits(String host, InetAddress address) {
    for (Block block : blocks) {
      if (block.contains(address)) {
        return true;
      }
    }
    if (exactNames.contains(host)) {
      return true;
    }
    return isPublic(address) && nameMatches(host);
  }

  private boolean nameMatches(String host) {
    if (anyPublic || exactNames.contains(host)) {
      return true;
    }
    for (String suffix : anyPublicSuffixes) {
      if (host.endsWith(suffix) && host.length() > suffix.length()) {
        return true;
      }
    }
    return false;
  }

  /** Whether {@code address} is on the public internet: none of the ranges a server can reach but outsiders cannot. */
  static boolean isPublic(InetAddress address) {
    if (address.isLoopbackAddress() || address.isLinkLocalAddress() || address.isSiteLocalAddress()
        || address.isAnyLocalAddress() || address.isMulticastAddress()) {
      return false;
    }
    byte[] a = address.getAddress();
    if (address instanceof Inet4Address) {
      int first = a[0] & 0xFF;
      int second = a[1] & 0xFF;
      return first != 0 // "this network"
          && !(first == 100 && second >= 64 && second <= 127) // shared address space (carrier NAT)
          && !(first == 192 && second == 0 && (a[2] & 0xFF) == 0) // IETF protocol assignments
          && !(first == 198 && (second == 18 || second == 19)) // benchmarking
          && first < 240; // reserved and broadcast
    }
    if (address instanceof Inet6Address) {
      int first16 = ((a[0] & 0xFF) << 8) | (a[1] & 0xFF);
      if ((a[0] & 0xFE) == 0xFC // unique local fc00::/7
          || (first16 == 0x0100 && zeros(a, 2, 8)) // discard-only 100::/64
          || (first16 == 0x2001 && (a[2] & 0xFF) == 0x0d && (a[3] & 0xFF) == 0xb8) // documentation 2001:db8::/32
          || (first16 == 0x2001 && a[2] == 0 && a[3] == 0) // Teredo 2001::/32: a tunnel to anywhere
          || (first16 == 0x0064 && (a[2] & 0xFF) == 0xff && (a[3] & 0xFF) == 0x9b && a[4] == 0 && a[5] == 1)) { // local NAT64
        return false;
      }
      // Forms that carry an IPv4 address, judged by it: ::a.b.c.d and ::ffff:a.b.c.d (compatible,
      // mapped), 64:ff9b::a.b.c.d (NAT64), 2002:aabb:ccdd:: (6to4).
      if (zeros(a, 0, 10) && ((a[10] == 0 && a[11] == 0) || ((a[10] & 0xFF) == 0xFF && (a[11] & 0xFF) == 0xFF))) {
        return isPublicV4(a[12], a[13], a[14], a[15]);
      }
      if (first16 == 0x0064 && (a[2] & 0xFF) == 0xff && (a[3] & 0xFF) == 0x9b && zeros(a, 4, 12)) {
        return isPublicV4(a[12], a[13], a[14], a[15]);
      }
      if (first16 == 0x2002) {
        return isPublicV4(a[2], a[3], a[4], a[5]);
      }
    }
    return true;
  }

  private static boolean zeros(byte[] a, int from, int to) {
    for (int i = from; i < to; i++) {
      if (a[i] != 0) {
        return false;
      }
    }
    return true;
  }

  private static boolean isPublicV4(byte b0, byte b1, byte b2, byte b3) {
    try {
      return isPublic(InetAddress.getByAddress(new byte[] {b0, b1, b2, b3}));
    } catch (UnknownHostException e) {
      return false;
    }
  }

  static String host(URI endpoint) {
    String host = endpoint.getHost().toLowerCase(Locale.ROOT);
    return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
  }

  private static boolean looksLikeAddress(String p) {
    String bare = p.contains("/") ? p.substring(0, p.indexOf('/')) : p;
    return bare.contains(":") || bare.matches("[0-9.]+");
  }

  private static Block block(String raw, String p) {
    int slash = p.indexOf('/');
    InetAddress network = literal(slash < 0 ? p : p.substring(0, slash));
    int max = network.getAddress().length * 8;
    int bits = max;
    if (slash >= 0) {
      try {
        bits = Integer.parseInt(p.substring(slash + 1));
      } catch (NumberFormatException e) {
        bits = -1;
      }
      if (bits < 0 || bits > max) {
        throw new SpoolException.InvalidConfiguration("spool.push.allowed-hosts: '" + raw
            + "' has a prefix length outside 0 to " + max);
      }
    }
    return new Block(network.getAddress(), bits);
  }

  /** An IP literal, parsed without any lookup. */
  private static InetAddress literal(String text) {
    String t = text.startsWith("[") && text.endsWith("]") ? text.substring(1, text.length() - 1) : text;
    boolean v4 = t.matches("\\d{1,3}(\\.\\d{1,3}){3}");
    boolean v6 = t.contains(":") && t.matches("[0-9a-fA-F:.%]+");
    if (!v4 && !v6) {
      throw new SpoolException.InvalidConfiguration("'" + text + "' is not an IP address");
    }
    try {
      return InetAddress.getByName(t); // a literal: parsed, never resolved
    } catch (UnknownHostException e) {
      throw new SpoolException.InvalidConfiguration("'" + text + "' is not an IP address");
    }
  }
}
