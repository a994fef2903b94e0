package dev.spool.http;

import dev.spool.SpoolException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Short-lived, single-use tickets for the event stream. A browser's {@code EventSource} cannot send
 * an {@code Authorization} header, so the console first asks for a ticket with its bearer token and
 * then opens {@code GET /api/v1/events?ticket=…}. A ticket rather than the token in the URL: a URL
 * may end up in a proxy's log or the browser's history, and a ticket found there has expired or been
 * used already. A ticket carries the principal it was issued to, so it grants no more than the token.
 *
 * <p>Thread-safe: issued and redeemed from any route thread.
 */
final class EventTickets {

  /** Long enough for a page to open the stream after asking, short enough to be useless once logged. */
  static final Duration LIFETIME = Duration.ofSeconds(30);

  /** Bounds memory if a client asks for tickets and never uses them; expired ones are swept first. */
  private static final int MAX_OUTSTANDING = 10_000;

  private record Issued(Principal principal, Instant expiresAt) {}

  private final Map<String, Issued> outstanding = new ConcurrentHashMap<>();
  private final SecureRandom random = new SecureRandom();
  private final Clock clock;

  EventTickets(Clock clock) {
    this.clock = clock;
  }

  /** A new ticket for {@code principal}. */
  String issue(Principal principal) {
    Instant now = clock.instant();
    if (outstanding.size() >= MAX_OUTSTANDING) {
      outstanding.values().removeIf(i -> !i.expiresAt.isAfter(now));
      if (outstanding.size() >= MAX_OUTSTANDING) {
        throw new SpoolException.InvalidConfiguration(
            "too many unused event tickets; open the stream with the ones already issued");
      }
    }
    byte[] bytes = new byte[32];
    random.nextBytes(bytes);
    String ticket = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    outstanding.put(ticket, new Issued(principal, now.plus(LIFETIME)));
    return ticket;
  }

  /** The principal of a ticket that was issued, has not expired and was not used before; it is used up now. */
  Optional<Principal> redeem(String ticket) {
    Issued issued = outstanding.remove(ticket);
    if (issued == null || !issued.expiresAt.isAfter(clock.instant())) {
      return Optional.empty();
    }
    return Optional.of(issued.principal);
  }
}
