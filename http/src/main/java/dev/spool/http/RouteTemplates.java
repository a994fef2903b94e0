package dev.spool.http;

/**
 * A request path as its route template ({@code /api/v1/queues/{queue}/consumers/{consumer}/read}),
 * so that metrics per route have one series per route, never one per queue, consumer or sequence
 * a client makes up. Paths outside the API's shapes become {@code other}.
 */
final class RouteTemplates {

  private static final java.util.Set<String> CONSUMER_ACTIONS = java.util.Set.of("read", "ack", "nack", "seek",
      "pause", "resume", "stream");

  private RouteTemplates() {}

  static String of(String path) {
    String[] p = path.split("/", -1);
    // p[0] is the empty string before the leading slash
    if (p.length >= 3 && p[1].equals("api") && p[2].equals("v1")) {
      if (p.length >= 5 && p[3].equals("queues")) {
        return queue(p);
      }
      return p.length <= 6 && known(p, 3) ? path : "other";
    }
    if (path.equals("/") || path.equals("/metrics") || path.equals("/health/live") || path.equals("/health/ready")) {
      return path;
    }
    return path.startsWith("/console/") ? "/console/{file}" : "other";
  }

  private static String queue(String[] p) {
    StringBuilder t = new StringBuilder("/api/v1/queues/{queue}");
    if (p.length == 5) {
      return t.toString();
    }
    switch (p[5]) {
      case "consumers" -> {
        t.append("/consumers");
        if (p.length >= 7) {
          t.append("/{consumer}");
        }
        if (p.length == 8 && CONSUMER_ACTIONS.contains(p[7])) {
          t.append('/').append(p[7]);
        } else if (p.length == 9 && p[7].equals("push") && p[8].equals("secret")) {
          t.append("/push/secret");
        } else if (p.length >= 8) {
          return "other";
        }
      }
      case "messages" -> {
        t.append("/messages");
        if (p.length == 7) {
          t.append("/{sequence}");
        } else if (p.length > 7) {
          return "other";
        }
      }
      case "headers" -> {
        if (p.length != 7) {
          return "other";
        }
        t.append("/headers/{header}");
      }
      case "redrive", "browse", "history", "health", "requests" -> {
        if (p.length != 6) {
          return "other";
        }
        t.append('/').append(p[5]);
      }
      default -> {
        return "other";
      }
    }
    return t.toString();
  }

  /** Whether the segments from {@code from} on are all fixed words of the API (no client-chosen names). */
  private static boolean known(String[] p, int from) {
    for (int i = from; i < p.length; i++) {
      switch (p[i]) {
        case "queues", "stats", "memory", "threshold", "lag", "gc", "consumers", "stale", "cleanup", "events", "ticket",
            "cluster", "health", "definitions", "openapi.json", "whoami" -> { }
        default -> {
          return false;
        }
      }
    }
    return p.length > from;
  }
}
