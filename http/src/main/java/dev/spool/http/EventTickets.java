package dev.spool.http;

import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Base64;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;

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

  /**
   * Unused tickets one principal may hold: a console needs one at a time. Past it the principal's
   * oldest is dropped, so one token can never use up tickets for everyone else.
   */
  static final int MAX_PER_PRINCIPAL = 16;

  private record Issued(String ticket, Principal principal, Instant expiresAt) {}

  /** Outstanding tickets by value, and per principal in issue order. Guarded by {@code this}. */
  private final Map<String, Issued> outstanding = new HashMap<>();
  private final Map<String, ArrayDeque<Issued>> byPrincipal = new HashMap<>();
  private final SecureRandom random = new SecureRandom();
  private final Clock clock;

  EventTickets(Clock clock) {
    this.clock = clock;
  }

  /** A new ticket for {@code principal}; never refused. */
  synchronized String issue(Principal principal) {
    Instant now = clock.instant();
    sweep(now);
    ArrayDeque<Issued> own = byPrincipal.computeIfAbsent(principal.name(), n -> new ArrayDeque<>());
    while (own.size() >= MAX_PER_PRINCIPAL) {
      outstanding.remove(own.pollFirst().ticket());
    }
    byte[] bytes = new byte[32];
    random.nextBytes(bytes);
    String ticket = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    Issued issued = new Issued(ticket, principal, now.plus(LIFETIME));
    outstanding.put(ticket, issued);
    own.addLast(issued);
    return ticket;
  }

  /** The principal of a ticket that was issued, has not expired and was not used before; it is used up now. */
  synchronized Optional<Principal> redeem(String ticket) {
    Issued issued = outstanding.remove(ticket);
    if (issued == null) {
      return Optional.empty();
    }
    ArrayDeque<Issued> own = byPrincipal.get(issued.principal().name());
    own.remove(issued);
    if (own.isEmpty()) {
      byPrincipal.remove(issued.principal().name());
    }
    return issued.expiresAt().isAfter(clock.instant()) ? Optional.of(issued.principal()) : Optional.empty();
  }

  /** Unused tickets held now (for tests). */
  synchronized int outstanding() {
    return outstanding.size();
  }

  /** Drops expired tickets: each principal's deque is in issue order, so expired ones lead. */
  private void sweep(Instant now) {
    for (Iterator<ArrayDeque<Issued>> it = byPrincipal.values().iterator(); it.hasNext(); ) {
      ArrayDeque<Issued> own = it.next();
      while (!own.isEmpty() && !own.peekFirst().expiresAt().isAfter(now)) {
        outstanding.remove(own.pollFirst().ticket());
      }
      if (own.isEmpty()) {
        it.remove();
      }
    }
  }
}
