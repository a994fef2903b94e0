package dev.spool.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Event tickets: single use, expire after their lifetime, carry the principal they were issued to. */
class EventTicketsTest {

  /** A clock the test moves by hand. */
  private static final class MovableClock extends Clock {
    private Instant now = Instant.parse("2026-11-23T12:00:00Z");

    @Override
    public java.time.ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }

  private final Principal viewer = new Principal("viewer", Set.of(Role.VIEWER), List.of(Pattern.compile(".*")));

  @Test
  void aTicketOpensOnceForItsPrincipal() {
    EventTickets tickets = new EventTickets(new MovableClock());
    String ticket = tickets.issue(viewer);
    assertEquals(Optional.of(viewer), tickets.redeem(ticket));
    assertEquals(Optional.empty(), tickets.redeem(ticket), "a used ticket must not open the stream again");
    assertEquals(Optional.empty(), tickets.redeem("made-up"));
  }

  @Test
  void aTicketExpires() {
    MovableClock clock = new MovableClock();
    EventTickets tickets = new EventTickets(clock);
    String late = tickets.issue(viewer);
    String inTime = tickets.issue(viewer);
    clock.now = clock.now.plus(EventTickets.LIFETIME).minusMillis(1);
    assertEquals(Optional.of(viewer), tickets.redeem(inTime));
    clock.now = clock.now.plus(Duration.ofMillis(1));
    assertEquals(Optional.empty(), tickets.redeem(late));
  }

  @Test
  void ticketsAreUnguessable() {
    EventTickets tickets = new EventTickets(new MovableClock());
    String a = tickets.issue(viewer);
    String b = tickets.issue(viewer);
    assertNotEquals(a, b);
    assertTrue(a.length() >= 43, "256 random bits in URL-safe base64: " + a);
  }

  @Test
  void oneTokenCannotUseUpTicketsForOthersAndExpiredOnesAreSwept() {
    MovableClock clock = new MovableClock();
    EventTickets tickets = new EventTickets(clock);
    Principal other = new Principal("other", viewer.roles(), viewer.queues());
    List<String> issued = new java.util.ArrayList<>();
    for (int i = 0; i < 10_050; i++) {
      issued.add(tickets.issue(viewer));
    }
    assertEquals(EventTickets.MAX_PER_PRINCIPAL, tickets.outstanding(), "one principal holds a bounded number");
    assertEquals(Optional.empty(), tickets.redeem(issued.get(0)), "its oldest were dropped");
    assertEquals(Optional.of(viewer), tickets.redeem(issued.get(issued.size() - 1)));
    String theirs = tickets.issue(other);
    assertEquals(Optional.of(other), tickets.redeem(theirs), "another token is not held up");
    clock.now = clock.now.plus(EventTickets.LIFETIME);
    tickets.issue(other);
    assertEquals(1, tickets.outstanding(), "expired tickets are swept when the next is issued");
  }
}
